use gradual_interface::{
    state::{tracked_lamports, Account, Node, Task},
    Address,
};
use litesvm::LiteSVM;

/// Lamports the tests moved into and out of the program, counted from the
/// instructions they sent, independently of the program's own bookkeeping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    pub deposited: u128,
    pub paid_out: u128,
}

impl Ledger {
    pub fn deposit(&mut self, lamports: u64) {
        self.deposited += u128::from(lamports);
    }

    pub fn pay_out(&mut self, lamports: u64) {
        self.paid_out += u128::from(lamports);
    }
}

/// Conservation (design decision 7): every program account is rent-exempt
/// and holds exactly its rent plus what it tracks (a task its bounty pool, a
/// node its stake, an audit its bond, a distribution its proposer's bond and
/// the reserve for claims), and the tracked lamports add up to deposits minus
/// payouts.
pub fn check_conservation(svm: &LiteSVM, ledger: &Ledger, forged: &[Address]) {
    let mut tracked: u128 = 0;
    // Each task's `total_stake`, `node_count` and newest counted stake
    // against its nodes' accounts: all stake, accounts, stake not exiting.
    type Counts = (u64, u64, u64);
    let mut node_stakes: std::collections::BTreeMap<[u8; 32], Counts> = Default::default();
    let mut task_counts: Vec<(Address, [u8; 32], Counts)> = Vec::new();
    for (address, account) in svm.get_program_accounts(&gradual_interface::ID) {
        if forged.contains(&address) {
            continue;
        }
        if let Some(node) = Node::read(&account.data) {
            let counted = node_stakes.entry(node.task).or_default();
            let not_exiting = if node.is_exiting() { 0 } else { node.total_stake() };
            *counted = (counted.0 + node.total_stake(), counted.1 + 1, counted.2 + not_exiting);
        } else if let Some(task) = Task::read(&account.data) {
            let newest = task.counted_stake[task.counted_stake.len() - 1].total;
            task_counts.push((address, address.to_bytes(), (task.total_stake, task.node_count, newest)));
        }
        let rent = svm.minimum_balance_for_rent_exemption(account.data.len());
        assert!(account.lamports >= rent, "{address} is below rent exemption");
        let held = account.lamports - rent;
        let expected = tracked_lamports(&account.data).unwrap_or_else(|| {
            panic!("{address} is owned by the program but is not a task, node, audit or distribution")
        });
        assert_eq!(held, expected, "{address}: lamports above rent differ from what it tracks");
        tracked += u128::from(held);
    }
    for (address, key, recorded) in task_counts {
        let counted = node_stakes.get(&key).copied().unwrap_or_default();
        assert_eq!(
            recorded, counted,
            "{address}: (total_stake, node_count, newest counted stake) differ from its nodes"
        );
    }
    assert_eq!(
        tracked,
        ledger.deposited - ledger.paid_out,
        "program accounts hold {tracked}, but deposits minus payouts are {}",
        ledger.deposited - ledger.paid_out
    );
}
