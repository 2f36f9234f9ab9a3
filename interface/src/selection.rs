//! Who may propose round `r`'s distribution list, checked on-chain in O(1).
//!
//! Attempt `a` of round `r` happens in round `s = r + 2 + a`. Its seed is
//! `sha256("gradual-proposer" ‖ H ‖ r ‖ a)`, where `H` is the hash of the
//! last slot before round `s` began (from the `SlotHashes` sysvar). Round
//! `r`'s stake was fixed before round `r` began, two rounds earlier, so no
//! node can choose its address to suit the seed, and nobody but the slot's
//! leader influences `H`.
//!
//! A node's score is the first 8 bytes of `sha256(seed ‖ node)`. During the
//! first eighth of the distribution window a node is entitled when its score
//! is below `u64::MAX / node_count` (one node expected); the bound doubles
//! every eighth of the window, and in the last eighth every node is
//! entitled. So the set widens until someone proposes: the rule stays live.

use solana_sha256_hasher::hashv;

/// How many times the entitled set doubles across the distribution window.
pub const WIDENING_STEPS: u64 = 8;

pub fn proposal_seed(slot_hash: &[u8; 32], round: u64, attempt: u8) -> [u8; 32] {
    hashv(&[b"gradual-proposer", slot_hash, &round.to_le_bytes(), &[attempt]]).to_bytes()
}

pub fn score(seed: &[u8; 32], node: &[u8; 32]) -> u64 {
    let hash = hashv(&[seed, node]).to_bytes();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(first)
}

/// Whether `node` may propose `offset` slots into a distribution window of
/// `window` slots, in a task of `node_count` nodes.
pub fn is_entitled(seed: &[u8; 32], node: &[u8; 32], node_count: u64, offset: u64, window: u64) -> bool {
    let step = (window / WIDENING_STEPS).max(1);
    let level = offset.checked_div(step).unwrap_or(u64::MAX);
    if level >= WIDENING_STEPS.saturating_sub(1) {
        return true;
    }
    let base = u64::MAX.checked_div(node_count).unwrap_or(u64::MAX);
    let bound = if base.leading_zeros() as u64 >= level { base << level } else { u64::MAX };
    score(seed, node) < bound
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn the_set_widens_to_everyone() {
        let seed = proposal_seed(&[9; 32], 4, 0);
        let nodes: std::vec::Vec<[u8; 32]> = (0..1_000u32)
            .map(|i| {
                let mut node = [0u8; 32];
                node[..4].copy_from_slice(&i.to_le_bytes());
                node
            })
            .collect();
        let window = 80;
        let mut previous = 0;
        for offset in (0..window).step_by(10) {
            let entitled =
                nodes.iter().filter(|node| is_entitled(&seed, node, 1_000, offset, window)).count();
            assert!(entitled >= previous, "the set never shrinks");
            previous = entitled;
        }
        assert_eq!(previous, 1_000, "everyone in the last eighth");
        let first = nodes.iter().filter(|node| is_entitled(&seed, node, 1_000, 0, window)).count();
        assert!(first < 10, "about one node at first, got {first}");
    }

    #[test]
    fn another_attempt_draws_another_set() {
        let node = [7u8; 32];
        let scores: std::vec::Vec<u64> =
            (0..4).map(|attempt| score(&proposal_seed(&[1; 32], 3, attempt), &node)).collect();
        assert!(scores.windows(2).all(|pair| pair[0] != pair[1]));
    }
}
