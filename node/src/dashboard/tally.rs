//! Every node's proofs of each round, counted. A count over every node each
//! snapshot costs O(nodes) cache misses; instead each refresh's changed
//! nodes move the counts, and only a full read counts again from scratch.

use std::collections::{BTreeSet, HashMap};

use gradual_interface::{
    state::{
        Node, SUBMISSION_AUDITED, SUBMISSION_EXCLUDED, SUBMISSION_FILLED, SUBMISSION_REVEALED,
        SUBMISSION_RING,
    },
    Address,
};

use crate::world::World;

/// One round's proofs over every node.
#[derive(Default)]
pub struct Tally {
    pub committed: u64,
    pub revealed: u64,
    pub audited: u64,
    pub excluded: BTreeSet<Address>,
}

/// A node's ring as counted: each entry's round and flags.
type Counted = [(u64, u8); SUBMISSION_RING];

#[derive(Default)]
pub struct Tallies {
    by_node: HashMap<Address, Counted>,
    by_round: HashMap<u64, Tally>,
    /// `World::refreshes` when last brought up to date.
    synced_at: Option<u64>,
    /// Rounds before this are no longer counted.
    floor: u64,
}

impl Tallies {
    /// Brings the counts up to `world`'s last refresh: from the nodes it
    /// changed if the previous refresh was counted, else from every node.
    pub fn sync(&mut self, world: &World) {
        let refreshes = world.refreshes();
        if self.synced_at == Some(refreshes) {
            return;
        }
        let follows = self.synced_at.is_some_and(|at| at.wrapping_add(1) == refreshes);
        match world.changed_nodes().filter(|_| follows) {
            Some(changed) => {
                for address in changed {
                    self.replace(address, world.node_cache.get(address).map(|node| &**node));
                }
            }
            None => {
                self.by_node.clear();
                self.by_round.clear();
                for address in world.node_list() {
                    self.replace(address, world.node_cache.get(address).map(|node| &**node));
                }
            }
        }
        self.synced_at = Some(refreshes);
        debug_assert!(self.counts_every_node(world), "the dashboard's counts drifted from the node accounts");
    }

    /// Whether the counts are those of a count from scratch (debug builds
    /// check this after every sync, so every test that runs a node does).
    fn counts_every_node(&self, world: &World) -> bool {
        let mut again = Tallies { floor: self.floor, ..Tallies::default() };
        for address in world.node_list() {
            again.replace(address, world.node_cache.get(address).map(|node| &**node));
        }
        let held = |tallies: &Tallies| {
            let mut rounds: Vec<(u64, u64, u64, u64, Vec<Address>)> = tallies
                .by_round
                .iter()
                .filter(|(_, tally)| tally.committed > 0)
                .map(|(round, tally)| {
                    (
                        *round,
                        tally.committed,
                        tally.revealed,
                        tally.audited,
                        tally.excluded.iter().copied().collect(),
                    )
                })
                .collect();
            rounds.sort_unstable();
            rounds
        };
        held(self) == held(&again)
    }

    pub fn of(&self, round: u64) -> Option<&Tally> {
        self.by_round.get(&round)
    }

    /// Forgets the counts of rounds before `round`, and counts them no more.
    pub fn forget_before(&mut self, round: u64) {
        self.floor = self.floor.max(round);
        let floor = self.floor;
        self.by_round.retain(|kept, _| *kept >= floor);
    }

    fn replace(&mut self, address: &Address, node: Option<&Node>) {
        if let Some(counted) = self.by_node.remove(address) {
            for (round, flags) in counted {
                self.count(address, (round, flags), false);
            }
        }
        let Some(node) = node else { return };
        let counted: Counted = std::array::from_fn(|place| {
            node.submissions.get(place).map_or((0, 0), |entry| (entry.round, entry.flags))
        });
        for entry in counted {
            self.count(address, entry, true);
        }
        self.by_node.insert(*address, counted);
    }

    fn count(&mut self, address: &Address, (round, flags): (u64, u8), add: bool) {
        if flags & SUBMISSION_FILLED == 0 || round < self.floor {
            return;
        }
        let tally = self.by_round.entry(round).or_default();
        let step = |count: &mut u64, flag: u8| {
            if flags & flag != 0 {
                *count = if add { count.saturating_add(1) } else { count.saturating_sub(1) };
            }
        };
        step(&mut tally.committed, SUBMISSION_FILLED);
        step(&mut tally.revealed, SUBMISSION_REVEALED);
        step(&mut tally.audited, SUBMISSION_AUDITED);
        if flags & SUBMISSION_EXCLUDED != 0 {
            if add {
                tally.excluded.insert(*address);
            } else {
                tally.excluded.remove(address);
            }
        }
    }
}
