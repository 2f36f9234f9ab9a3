//! What each upheld audit took from the own node. The chain keeps only the
//! node's running total (`total_slashed`), and the stake history a slash
//! rewrites, so a round's loss is what the total grew by when that round's
//! proof was excluded, as seen from one snapshot to the next. Slashes from
//! before this process first looked are unknown.

use std::collections::{BTreeMap, BTreeSet};

use gradual_interface::state::{Node, SUBMISSION_EXCLUDED, SUBMISSION_FILLED};

#[derive(Default)]
pub struct Losses {
    /// `total_slashed` and the excluded rounds at the last look.
    seen: Option<(u64, BTreeSet<u64>)>,
    by_round: BTreeMap<u64, u64>,
}

impl Losses {
    /// Takes in the node as it is now.
    pub fn observe(&mut self, node: &Node) {
        let excluded: BTreeSet<u64> = node
            .submissions
            .iter()
            .filter(|entry| entry.flags & SUBMISSION_FILLED != 0 && entry.flags & SUBMISSION_EXCLUDED != 0)
            .map(|entry| entry.round)
            .collect();
        if let Some((total, known)) = &self.seen {
            let new: Vec<u64> = excluded.difference(known).copied().collect();
            let taken = node.total_slashed.saturating_sub(*total);
            // Each resolution excludes one round and slashes once, in one
            // transaction; two seen at once cannot be told apart.
            if let ([round], true) = (new.as_slice(), taken > 0) {
                self.by_round.insert(*round, taken);
            }
        }
        if let Some(oldest) = node.submissions.iter().map(|entry| entry.round).min() {
            self.by_round.retain(|round, _| *round >= oldest);
        }
        self.seen = Some((node.total_slashed, excluded));
    }

    /// What `round`'s slash took, if it was seen.
    pub fn of(&self, round: u64) -> Option<u64> {
        self.by_round.get(&round).copied()
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use gradual_interface::state::{Node, SUBMISSION_RING};

    use super::*;

    fn node(total_slashed: u64, excluded: &[u64]) -> Node {
        let mut node: Node = bytemuck::Zeroable::zeroed();
        node.total_slashed = total_slashed;
        for round in 0..SUBMISSION_RING as u64 {
            let entry = &mut node.submissions[round as usize];
            entry.round = round;
            entry.flags = SUBMISSION_FILLED;
            if excluded.contains(&round) {
                entry.flags |= SUBMISSION_EXCLUDED;
            }
        }
        node
    }

    #[test]
    fn each_slash_seen_is_the_growth_of_the_total() {
        let mut losses = Losses::default();
        losses.observe(&node(0, &[]));
        losses.observe(&node(100, &[2]));
        losses.observe(&node(100, &[2]));
        losses.observe(&node(190, &[2, 3]));
        assert_eq!((losses.of(2), losses.of(3), losses.of(4)), (Some(100), Some(90), None));
    }

    #[test]
    fn slashes_from_before_the_first_look_or_seen_together_are_unknown() {
        let mut losses = Losses::default();
        losses.observe(&node(100, &[1]));
        losses.observe(&node(271, &[1, 2, 3]));
        assert_eq!((losses.of(1), losses.of(2), losses.of(3)), (None, None, None));
        // An exclusion whose slash took nothing (no stake left) records nothing.
        losses.observe(&node(271, &[1, 2, 3, 4]));
        assert_eq!(losses.of(4), None);
    }
}
