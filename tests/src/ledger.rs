use std::collections::BTreeMap;

use gradual_interface::{
    state::{tracked_lamports, Account, Distribution, Node, Task},
    token::token_amount,
    Address,
};
use litesvm::LiteSVM;

/// What the tests moved into and out of the program, counted from the
/// instructions they sent, independently of the program's own bookkeeping:
/// lamports, and each mint's base units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    pub deposited: u128,
    pub paid_out: u128,
    /// Per mint: (deposited, paid out).
    pub tokens: BTreeMap<[u8; 32], (u128, u128)>,
    /// Tokens sent straight to a vault, which no task tracks, by vault.
    pub donated: BTreeMap<[u8; 32], u128>,
}

impl Ledger {
    pub fn deposit(&mut self, lamports: u64) {
        self.deposited += u128::from(lamports);
    }

    pub fn pay_out(&mut self, lamports: u64) {
        self.paid_out += u128::from(lamports);
    }

    pub fn deposit_tokens(&mut self, mint: &Address, amount: u64) {
        self.tokens.entry(mint.to_bytes()).or_default().0 += u128::from(amount);
    }

    /// Tokens sent to `vault` outside the program: untracked, they leave
    /// with the vault's whole balance when its task closes.
    pub fn donate_tokens(&mut self, mint: &Address, vault: &Address, amount: u64) {
        self.deposit_tokens(mint, amount);
        *self.donated.entry(vault.to_bytes()).or_default() += u128::from(amount);
    }

    pub fn pay_out_tokens(&mut self, mint: &Address, amount: u64) {
        self.tokens.entry(mint.to_bytes()).or_default().1 += u128::from(amount);
    }
}

/// Conservation (design decision 7), per asset. Lamports: every program
/// account is rent-exempt and holds exactly its rent plus what it tracks (a
/// task its bounty pool or, paying in a mint, its forfeited lamports; a node
/// its lamport stake; an audit its bond; a distribution its bonds and its
/// lamport reserve), and the tracked lamports add up to deposits minus
/// payouts. Tokens: each token task's vault holds exactly its bounty pool,
/// its lists' reserves and its nodes' stake in the mint, and each mint's
/// vaults add up to that mint's deposits minus payouts.
pub fn check_conservation(svm: &LiteSVM, ledger: &Ledger, forged: &[Address]) {
    let mut tracked: u128 = 0;
    // Each task's `total_stake`, `node_count` and newest counted stake
    // against its nodes' accounts: all stake, accounts, stake not exiting.
    type Counts = (u64, u64, u64);
    let mut node_stakes: BTreeMap<[u8; 32], Counts> = Default::default();
    let mut task_counts: Vec<(Address, [u8; 32], Counts)> = Vec::new();
    let mut token_tasks: Vec<(Address, Task)> = Vec::new();
    let mut token_reserves: BTreeMap<[u8; 32], u128> = Default::default();
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
            if task.pays_in_tokens() {
                token_tasks.push((address, task));
            }
        } else if let Some(list) =
            Distribution::read(&account.data).filter(|list| list.reserve_in_tokens != 0)
        {
            *token_reserves.entry(list.task).or_default() += u128::from(list.reserved);
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
    check_vaults(svm, ledger, &token_tasks, &token_reserves);
}

fn check_vaults(
    svm: &LiteSVM,
    ledger: &Ledger,
    token_tasks: &[(Address, Task)],
    reserves: &BTreeMap<[u8; 32], u128>,
) {
    let mut held: BTreeMap<[u8; 32], u128> = ledger.tokens.keys().map(|mint| (*mint, 0)).collect();
    for (address, task) in token_tasks {
        let vault = Address::new_from_array(task.vault);
        let account =
            svm.get_account(&vault).unwrap_or_else(|| panic!("{address}: its vault {vault} is gone"));
        let balance = u128::from(token_amount(&account.data).expect("the vault is a token account"));
        let stake = if task.stakes_in_tokens() { u128::from(task.total_stake) } else { 0 };
        let donated = ledger.donated.get(&task.vault).copied().unwrap_or(0);
        let expected = u128::from(task.bounty_pool)
            + reserves.get(&address.to_bytes()).copied().unwrap_or(0)
            + stake
            + donated;
        assert_eq!(
            balance, expected,
            "{address}: its vault holds {balance}, but pool + reserves + token stake (+ {donated} sent to it) are {expected}"
        );
        *held.entry(task.mint).or_default() += balance;
    }
    for (mint, balance) in held {
        let (deposited, paid_out) = ledger.tokens.get(&mint).copied().unwrap_or_default();
        assert_eq!(
            balance,
            deposited - paid_out,
            "vaults of mint {} hold {balance}, but deposits minus payouts are {}",
            Address::new_from_array(mint),
            deposited - paid_out
        );
    }
}
