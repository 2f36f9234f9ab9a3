use gradual_interface::{state::tracked_lamports, Address};
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
    for (address, account) in svm.get_program_accounts(&gradual_interface::ID) {
        if forged.contains(&address) {
            continue;
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
    assert_eq!(
        tracked,
        ledger.deposited - ledger.paid_out,
        "program accounts hold {tracked}, but deposits minus payouts are {}",
        ledger.deposited - ledger.paid_out
    );
}
