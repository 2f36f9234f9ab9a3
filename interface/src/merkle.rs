//! The distribution list as a Merkle tree of `(node, amount)` leaves.
//!
//! Hashing is domain-separated by length: a leaf is
//! `sha256(0x00 ‖ node ‖ amount LE)`, 41 bytes hashed, and an inner node
//! `sha256(low ‖ high)`, 64 bytes, with its two children in byte order. A
//! proof is just the sibling hashes, and no leaf can pass as an inner node
//! or the reverse without a sha256 collision between messages of different
//! lengths. (An inner prefix byte would cost a third syscall slice, about
//! 13 CU a level.) A level with an odd count carries its last hash up unchanged.

use solana_sha256_hasher::hashv;

pub const LEAF_PREFIX: u8 = 0;
/// Deepest proof a claim accepts: 2^24 leaves, far beyond one transaction's
/// worth of proof (depth 20, about a million leaves, is what fits).
pub const MAX_PROOF_DEPTH: usize = 24;

pub type Hash = [u8; 32];

pub fn leaf_hash(node: &[u8; 32], amount: u64) -> Hash {
    // One 41-byte slice: on SBF, cheaper than three (the syscall charges at
    // least 10 CU a slice); for inner nodes the 64-byte copy costs more than it saves.
    let mut message = [LEAF_PREFIX; 41];
    let (node_part, amount_part) = message.split_at_mut(33);
    if let Some(node_slot) = node_part.get_mut(1..) {
        node_slot.copy_from_slice(node);
    }
    amount_part.copy_from_slice(&amount.to_le_bytes());
    hashv(&[&message]).to_bytes()
}

pub fn inner_hash(a: &Hash, b: &Hash) -> Hash {
    let (low, high) = if precedes(a, b) { (a, b) } else { (b, a) };
    hashv(&[low, high]).to_bytes()
}

/// `a <= b` in byte order, compared eight bytes at a time: on SBF the
/// derived byte-by-byte compare of two 32-byte arrays costs more.
fn precedes(a: &Hash, b: &Hash) -> bool {
    // Hashes differ in their first byte 255 times in 256.
    if a[0] != b[0] {
        return a[0] < b[0];
    }
    for (left, right) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let word = |bytes: &[u8]| u64::from_be_bytes(bytes.try_into().unwrap_or([0; 8]));
        let (left, right) = (word(left), word(right));
        if left != right {
            return left < right;
        }
    }
    true
}

/// Whether `proof` (sibling hashes, leaf level first) leads from `leaf` to `root`.
pub fn verify(root: &Hash, leaf: Hash, proof: &[Hash]) -> bool {
    if proof.len() > MAX_PROOF_DEPTH {
        return false;
    }
    fold_proof(leaf, proof) == *root
}

/// The root that `proof` leads to from `leaf`. On SBF each level costs the
/// sha256 syscall plus about 20 instructions: two buffers are taken in
/// turns, each level hashing into the other one, and the syscall's slice
/// lengths are written once; the safe version copied every hash and spilled
/// registers, about 37 instructions a level.
#[cfg(target_arch = "bpf")]
#[inline(never)] // its own call frame: the loop's pointers stay in registers
fn fold_proof(leaf: Hash, proof: &[Hash]) -> Hash {
    let mut buffers = [leaf, [0; 32]];
    let base = buffers.as_mut_ptr();
    let (mut current, mut next) = (base, base.wrapping_add(1));
    let mut slices: [(*const Hash, u64); 2] = [(current, 32), (current, 32)];
    for sibling in proof {
        // SAFETY: `current` and `next` point into `buffers`, at different
        // elements, for the whole loop; `sibling` borrows `proof`.
        unsafe {
            let (low, high) = if precedes(&*current, sibling) {
                (current as *const Hash, sibling as *const Hash)
            } else {
                (sibling as *const Hash, current as *const Hash)
            };
            slices[0].0 = low;
            slices[1].0 = high;
            // Two (pointer, length) pairs, the layout the syscall reads;
            // `next` is 32 writable bytes that alias neither input.
            solana_define_syscall::definitions::sol_sha256(slices.as_ptr() as *const u8, 2, next as *mut u8);
        }
        core::mem::swap(&mut current, &mut next);
    }
    // SAFETY: `current` points into `buffers`, still alive.
    unsafe { *current }
}

#[cfg(not(target_arch = "bpf"))]
fn fold_proof(leaf: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(leaf, |hash, sibling| inner_hash(&hash, sibling))
}

#[cfg(feature = "std")]
mod tree {
    use super::*;
    use std::vec::Vec;

    /// A whole tree, for the proposer and the auditors who recompute it.
    #[derive(Clone, Debug)]
    pub struct MerkleTree {
        levels: Vec<Vec<Hash>>,
    }

    impl MerkleTree {
        pub fn new(leaves: Vec<Hash>) -> Self {
            let mut levels = std::vec![leaves];
            while levels.last().is_some_and(|level| level.len() > 1) {
                let below = levels.last().map(Vec::as_slice).unwrap_or_default();
                let above = below
                    .chunks(2)
                    .map(|pair| match pair {
                        [a, b] => inner_hash(a, b),
                        [single] => *single,
                        _ => unreachable!("chunks(2) yields one or two"),
                    })
                    .collect();
                levels.push(above);
            }
            Self { levels }
        }

        /// The root; all zeros for an empty list.
        pub fn root(&self) -> Hash {
            self.levels.last().and_then(|level| level.first()).copied().unwrap_or([0; 32])
        }

        pub fn len(&self) -> usize {
            self.levels.first().map_or(0, Vec::len)
        }

        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }

        /// The proof of the leaf at `index`.
        pub fn proof(&self, mut index: usize) -> Option<Vec<Hash>> {
            if index >= self.len() {
                return None;
            }
            let mut proof = Vec::new();
            for level in &self.levels[..self.levels.len().saturating_sub(1)] {
                if let Some(sibling) = level.get(index ^ 1) {
                    proof.push(*sibling);
                }
                index /= 2;
            }
            Some(proof)
        }
    }

    /// The default distribution rule for a round: the round's bounty split
    /// equally, rounded down, among the eligible nodes (those that submitted
    /// for the round and were not excluded by an upheld audit). Leaves are in
    /// ascending node-address order. Returns the leaves and their total; the
    /// dust (`bounty - total`, at most `n - 1` lamports) stays in the pool.
    pub fn equal_split(bounty: u64, eligible: &[[u8; 32]]) -> (Vec<([u8; 32], u64)>, u64) {
        let mut nodes = eligible.to_vec();
        nodes.sort_unstable();
        nodes.dedup();
        let count = u64::try_from(nodes.len()).unwrap_or(u64::MAX);
        let share = bounty.checked_div(count).unwrap_or(0);
        let total = share.saturating_mul(count);
        (nodes.into_iter().map(|node| (node, share)).collect(), total)
    }

    /// The tree of a distribution list.
    pub fn tree_of(leaves: &[([u8; 32], u64)]) -> MerkleTree {
        MerkleTree::new(leaves.iter().map(|(node, amount)| leaf_hash(node, *amount)).collect())
    }
}

#[cfg(feature = "std")]
pub use tree::*;

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn node(byte: u8) -> [u8; 32] {
        [byte; 32]
    }

    #[test]
    fn every_leaf_of_every_size_verifies() {
        for size in 1..=33u8 {
            let leaves: Vec<([u8; 32], u64)> = (0..size).map(|i| (node(i), u64::from(i) * 7)).collect();
            let tree = tree_of(&leaves);
            for (index, (address, amount)) in leaves.iter().enumerate() {
                let proof = tree.proof(index).unwrap();
                assert!(
                    verify(&tree.root(), leaf_hash(address, *amount), &proof),
                    "size {size} index {index}"
                );
            }
        }
    }

    #[test]
    fn a_leaf_cannot_pass_as_an_inner_node() {
        let tree = tree_of(&[(node(1), 5), (node(2), 6)]);
        // The "leaf" an attacker would need is the pair of child hashes: it
        // hashes with the leaf prefix, so it never equals the inner hash.
        let children = [leaf_hash(&node(1), 5), leaf_hash(&node(2), 6)];
        assert_ne!(hashv(&[&[LEAF_PREFIX], &children[0], &children[1]]).to_bytes(), tree.root());
        // A proof cut short (stopping at an inner node) fails.
        let four = tree_of(&[(node(1), 5), (node(2), 6), (node(3), 7), (node(4), 8)]);
        let proof = four.proof(0).unwrap();
        assert!(verify(&four.root(), leaf_hash(&node(1), 5), &proof));
        assert!(!verify(&four.root(), leaf_hash(&node(1), 5), &proof[..1]));
    }

    #[test]
    fn precedes_is_byte_order() {
        let mut samples = std::vec![[0u8; 32], [255; 32]];
        for index in [0, 7, 8, 15, 31] {
            for value in [1u8, 128, 255] {
                let mut hash = [0u8; 32];
                hash[index] = value;
                samples.push(hash);
                hash[0] = 1;
                samples.push(hash);
            }
        }
        for a in &samples {
            for b in &samples {
                assert_eq!(precedes(a, b), a <= b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn the_equal_split_rounds_down_and_keeps_the_dust() {
        let (leaves, total) = equal_split(100, &[node(3), node(1), node(2)]);
        assert_eq!(leaves, std::vec![(node(1), 33), (node(2), 33), (node(3), 33)]);
        assert_eq!(total, 99);
        assert_eq!(equal_split(100, &[]), (Vec::new(), 0));
        let (leaves, total) = equal_split(2, &[node(1), node(2), node(3)]);
        assert_eq!(total, 0);
        assert!(leaves.iter().all(|(_, amount)| *amount == 0));
    }

    proptest! {
        #[test]
        fn random_lists_verify_and_any_flipped_bit_fails(
            amounts in prop::collection::vec(any::<u64>(), 1..200),
            pick in any::<prop::sample::Index>(),
            bit in 0usize..(8 * 40),
        ) {
            let leaves: Vec<([u8; 32], u64)> = amounts
                .iter()
                .enumerate()
                .map(|(i, amount)| {
                    let mut address = [0u8; 32];
                    address[..8].copy_from_slice(&(i as u64).to_le_bytes());
                    (address, *amount)
                })
                .collect();
            let tree = tree_of(&leaves);
            let index = pick.index(leaves.len());
            let (address, amount) = leaves[index];
            let proof = tree.proof(index).unwrap();
            prop_assert!(verify(&tree.root(), leaf_hash(&address, amount), &proof));

            // One bit of the leaf (address or amount) flipped.
            let mut address_bad = address;
            let mut amount_bad = amount;
            if bit < 256 {
                address_bad[bit / 8] ^= 1 << (bit % 8);
            } else {
                amount_bad ^= 1 << ((bit - 256) % 64);
            }
            prop_assert!(!verify(&tree.root(), leaf_hash(&address_bad, amount_bad), &proof));

            // One bit of the proof flipped.
            if !proof.is_empty() {
                let mut proof_bad = proof.clone();
                let which = bit % proof_bad.len();
                proof_bad[which][bit % 32] ^= 1 << (bit % 8);
                prop_assert!(!verify(&tree.root(), leaf_hash(&address, amount), &proof_bad));
            }
        }
    }
}
