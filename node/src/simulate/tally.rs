//! What `simulate` tallies of the runtimes' transactions, audits and lists,
//! watching through the world's observer: its report and its conservation
//! check read it; `node run` has none.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use gradual_interface::Address;

use crate::world::{Observer, SentTx};

#[derive(Default)]
pub struct Tally {
    /// Compute units of every landed transaction, by kind.
    pub compute_units: BTreeMap<&'static str, Vec<u64>>,
    /// Lamports moved into and out of the program, as the senders expected.
    pub deposited: u128,
    pub paid_out: u128,
    /// Audits raised against each node.
    pub audits_against: BTreeMap<Address, u64>,
    /// Transactions the chain refused, by kind: each still costs its signer a fee on a cluster.
    pub refused: BTreeMap<&'static str, u64>,
    /// Wall time spent sending transactions, for benchmarks.
    pub send_time: Duration,
    /// The root each node computed for each round's list, proposing or judging one.
    pub roots: BTreeMap<u64, BTreeMap<Address, [u8; 32]>>,
}

impl Tally {
    /// A transaction `simulate` sent itself (creating the task, staking).
    pub fn landed(&mut self, kind: &'static str, units: u64, deposit: u64) {
        self.compute_units.entry(kind).or_default().push(units);
        self.deposited = self.deposited.saturating_add(u128::from(deposit));
    }

    pub fn refused(&mut self, kind: &'static str) {
        let count = self.refused.entry(kind).or_default();
        *count = count.saturating_add(1);
    }
}

/// The tally, shared by the world's observer and the simulation reading it.
#[derive(Clone, Default)]
pub struct SharedTally(Arc<Mutex<Tally>>);

impl SharedTally {
    pub fn get(&self) -> MutexGuard<'_, Tally> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Observer for SharedTally {
    fn sent(&mut self, sent: &SentTx) {
        let mut tally = self.get();
        match sent.units {
            Some(units) => {
                tally.landed(sent.kind, units, sent.deposit);
                tally.paid_out = tally.paid_out.saturating_add(u128::from(sent.payout));
            }
            None => tally.refused(sent.kind),
        }
    }

    fn sending_took(&mut self, took: Duration) {
        let mut tally = self.get();
        tally.send_time = tally.send_time.saturating_add(took);
    }

    fn raised(&mut self, target: &Address) {
        let mut tally = self.get();
        let against = tally.audits_against.entry(*target).or_default();
        *against = against.saturating_add(1);
    }

    fn computed_root(&mut self, round: u64, node: &Address, root: [u8; 32]) {
        self.get().roots.entry(round).or_default().insert(*node, root);
    }
}
