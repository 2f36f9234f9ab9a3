//! The distribution list as a Merkle tree of `(node, amount)` leaves.
//!
//! A leaf is 40 bytes, `node ‖ amount LE`. Leaves are taken in runs of up
//! to four, **buckets**; a bucket hashes as `sha256` of its leaves
//! concatenated (40 to 160 bytes), and an inner node as `sha256(left ‖
//! right)`, 64 bytes. A level with an odd count pairs its last hash with 32
//! zero bytes. No bucket can pass as an inner node or the reverse without a
//! sha256 collision between messages of different lengths.
//!
//! Why buckets: the syscall charges 85 CU a call and half a CU a byte, so
//! hashing four leaves at once (165 CU) replaces a leaf hash per leaf and
//! two levels (339 CU). A proof gives the left/right order by the bucket's
//! index, one bit a level, which is cheaper on SBF than comparing hashes.

use solana_sha256_hasher::hashv;

/// Bytes of one leaf: the node's address, then the amount.
pub const LEAF_LEN: usize = 40;
/// Leaves hashed together at the bottom of the tree.
pub const BUCKET_LEAVES: usize = 4;
/// Deepest proof a claim accepts: 2^21 buckets, 2^23 leaves, the most that
/// fits one transaction with a full bucket (tests/tests/capacity.rs).
pub const MAX_PROOF_DEPTH: usize = 21;

pub type Hash = [u8; 32];
pub type Leaf = [u8; LEAF_LEN];

/// What an odd level's last hash is paired with.
pub const EMPTY_SIBLING: Hash = [0; 32];

pub fn leaf(node: &[u8; 32], amount: u64) -> Leaf {
    let mut leaf = [0; LEAF_LEN];
    let (node_part, amount_part) = leaf.split_at_mut(32);
    node_part.copy_from_slice(node);
    amount_part.copy_from_slice(&amount.to_le_bytes());
    leaf
}

/// The node and amount of a 40-byte leaf.
pub fn parse_leaf(leaf: &[u8]) -> Option<(&[u8; 32], u64)> {
    let (node, amount) = leaf.split_first_chunk::<32>()?;
    Some((node, u64::from_le_bytes(amount.try_into().ok()?)))
}

/// The hash of a bucket: its leaves' bytes, concatenated.
pub fn bucket_hash(leaves: &[u8]) -> Hash {
    hashv(&[leaves]).to_bytes()
}

pub fn inner_hash(left: &Hash, right: &Hash) -> Hash {
    hashv(&[left, right]).to_bytes()
}

/// Whether the bucket's leaves (1 to 4 of them, concatenated), at `index`
/// among the buckets, lead to `root` through `siblings` (bottom level
/// first). Bit `k` of `index` says whether level `k`'s sibling is on the
/// left; bits beyond the proof's depth must be zero.
pub fn verify(root: &Hash, bucket: &[u8], index: u64, siblings: &[Hash]) -> bool {
    let whole_leaves = bucket.len().is_multiple_of(LEAF_LEN);
    let sized = (LEAF_LEN..=LEAF_LEN * BUCKET_LEAVES).contains(&bucket.len());
    if !whole_leaves || !sized || siblings.len() > MAX_PROOF_DEPTH || index >> siblings.len() != 0 {
        return false;
    }
    fold_proof(&Path { bucket, index, siblings }) == *root
}

/// A proof's parts, passed by reference: SBF calls take at most five
/// registers of arguments.
struct Path<'a> {
    bucket: &'a [u8],
    index: u64,
    siblings: &'a [Hash],
}

/// The root that `siblings` lead to from the bucket. On SBF each level costs
/// the sha256 syscall plus about 13 instructions. Two hash buffers take
/// turns (the loop is unrolled by two so that neither is swapped). Each has
/// the syscall's slices laid out as `[it, sibling, it]`: starting at the
/// first pair puts it on the left, at the second on the right, so a level
/// stores one pointer and picks its start by the index bit, with no branch.
#[cfg(target_arch = "bpf")]
#[inline(never)] // its own call frame: the loop's pointers stay in registers
fn fold_proof(path: &Path) -> Hash {
    use solana_define_syscall::definitions::sol_sha256;
    type Slice = (*const u8, u64);
    // Written by the syscall before any read, so left uninitialised.
    let mut hashes = core::mem::MaybeUninit::<[Hash; 2]>::uninit();
    let first = hashes.as_mut_ptr() as *mut u8;
    let second = first.wrapping_add(32);
    let mut from_first: [Slice; 3] = [(first, 32), (first, 32), (first, 32)];
    let mut from_second: [Slice; 3] = [(second, 32), (second, 32), (second, 32)];
    let bucket: [Slice; 1] = [(path.bucket.as_ptr(), path.bucket.len() as u64)];
    let mut index = path.index as usize;
    // SAFETY (every call): the slices point into `hashes`, `path.bucket` and
    // `path.siblings`, all alive; the output is 32 writable bytes of
    // `hashes` that no input of the same call points at.
    unsafe { sol_sha256(bucket.as_ptr() as *const u8, 1, first) };
    let mut siblings = path.siblings.iter();
    loop {
        let Some(sibling) = siblings.next() else { return unsafe { *(first as *const Hash) } };
        from_first[1].0 = sibling.as_ptr();
        let start = from_first.as_ptr().wrapping_add(index & 1);
        unsafe { sol_sha256(start as *const u8, 2, second) };
        index >>= 1;
        let Some(sibling) = siblings.next() else { return unsafe { *(second as *const Hash) } };
        from_second[1].0 = sibling.as_ptr();
        let start = from_second.as_ptr().wrapping_add(index & 1);
        unsafe { sol_sha256(start as *const u8, 2, first) };
        index >>= 1;
    }
}

#[cfg(not(target_arch = "bpf"))]
fn fold_proof(&Path { bucket, index, siblings }: &Path) -> Hash {
    let mut hash = bucket_hash(bucket);
    for (level, sibling) in siblings.iter().enumerate() {
        hash = if index >> level & 1 == 0 { inner_hash(&hash, sibling) } else { inner_hash(sibling, &hash) };
    }
    hash
}

#[cfg(feature = "std")]
mod tree {
    use super::*;
    use std::vec::Vec;

    /// What a claim carries: the bucket holding the claimed leaf, the
    /// leaf's place in it, and the path from the bucket to the root.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Proof {
        pub bucket_index: u32,
        pub position: u8,
        pub bucket: Vec<Leaf>,
        pub siblings: Vec<Hash>,
    }

    impl Proof {
        pub fn verify(&self, root: &Hash) -> bool {
            verify(root, &self.bucket.concat(), u64::from(self.bucket_index), &self.siblings)
        }

        /// The claimed leaf's node and amount.
        pub fn claimed(&self) -> Option<(&[u8; 32], u64)> {
            parse_leaf(self.bucket.get(usize::from(self.position))?)
        }
    }

    /// A whole tree, for the proposer and the auditors who recompute it.
    #[derive(Clone, Debug)]
    pub struct MerkleTree {
        leaves: Vec<Leaf>,
        /// Bucket hashes first, the root's level last.
        levels: Vec<Vec<Hash>>,
    }

    impl MerkleTree {
        pub fn new(leaves: Vec<Leaf>) -> Self {
            let buckets: Vec<Hash> =
                leaves.chunks(BUCKET_LEAVES).map(|bucket| bucket_hash(&bucket.concat())).collect();
            let mut levels = std::vec![buckets];
            while levels.last().is_some_and(|level| level.len() > 1) {
                let below = levels.last().map(Vec::as_slice).unwrap_or_default();
                let above = below
                    .chunks(2)
                    .map(|pair| match pair {
                        [left, right] => inner_hash(left, right),
                        [last] => inner_hash(last, &EMPTY_SIBLING),
                        _ => unreachable!("chunks(2) yields one or two"),
                    })
                    .collect();
                levels.push(above);
            }
            Self { leaves, levels }
        }

        /// The root; all zeros for an empty list.
        pub fn root(&self) -> Hash {
            self.levels.last().and_then(|level| level.first()).copied().unwrap_or([0; 32])
        }

        pub fn len(&self) -> usize {
            self.leaves.len()
        }

        pub fn is_empty(&self) -> bool {
            self.leaves.is_empty()
        }

        /// The proof of the leaf at `index`.
        pub fn proof(&self, index: usize) -> Option<Proof> {
            if index >= self.len() {
                return None;
            }
            let bucket_index = index / BUCKET_LEAVES;
            let bucket = self.leaves.chunks(BUCKET_LEAVES).nth(bucket_index)?.to_vec();
            let mut siblings = Vec::new();
            let mut at = bucket_index;
            for level in &self.levels[..self.levels.len().saturating_sub(1)] {
                siblings.push(level.get(at ^ 1).copied().unwrap_or(EMPTY_SIBLING));
                at /= 2;
            }
            Some(Proof {
                bucket_index: u32::try_from(bucket_index).ok()?,
                position: u8::try_from(index % BUCKET_LEAVES).ok()?,
                bucket,
                siblings,
            })
        }
    }

    /// A rule that pays per node, not per stake: the round's bounty split
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

    /// The default distribution rule for a round: the round's bounty shared
    /// out by stake, rounded down, among the eligible nodes (those that
    /// submitted for the round and were not excluded by an upheld audit),
    /// each given as `(node, stake for the round)`. Leaves are in ascending
    /// node-address order, a node listed twice counted once. Returns the
    /// leaves and their total; the dust (`bounty - total`, below one
    /// lamport per node) stays in the pool. Stake split over many accounts
    /// is paid the same as in one.
    pub fn stake_split(bounty: u64, eligible: &[([u8; 32], u64)]) -> (Vec<([u8; 32], u64)>, u64) {
        let mut nodes = eligible.to_vec();
        nodes.sort_unstable_by_key(|(node, _)| *node);
        nodes.dedup_by_key(|(node, _)| *node);
        let stake: u128 = nodes.iter().map(|(_, stake)| u128::from(*stake)).sum();
        let share = |node_stake: u64| {
            let exact =
                u128::from(bounty).checked_mul(u128::from(node_stake)).and_then(|p| p.checked_div(stake));
            exact.and_then(|exact| u64::try_from(exact).ok()).unwrap_or(0)
        };
        let leaves: Vec<([u8; 32], u64)> =
            nodes.into_iter().map(|(node, stake)| (node, share(stake))).collect();
        let total = leaves.iter().map(|(_, amount)| *amount).sum();
        (leaves, total)
    }

    /// The tree of a distribution list.
    pub fn tree_of(leaves: &[([u8; 32], u64)]) -> MerkleTree {
        MerkleTree::new(leaves.iter().map(|(node, amount)| leaf(node, *amount)).collect())
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
        for size in 1..=70u8 {
            let leaves: Vec<([u8; 32], u64)> = (0..size).map(|i| (node(i), u64::from(i) * 7)).collect();
            let tree = tree_of(&leaves);
            for (index, (address, amount)) in leaves.iter().enumerate() {
                let proof = tree.proof(index).unwrap();
                assert!(proof.verify(&tree.root()), "size {size} index {index}");
                assert_eq!(proof.claimed(), Some((address, *amount)));
            }
        }
    }

    #[test]
    fn a_bucket_cannot_pass_as_an_inner_node_nor_the_reverse() {
        let leaves: Vec<([u8; 32], u64)> = (0..16u8).map(|i| (node(i), 5)).collect();
        let tree = tree_of(&leaves);
        let proof = tree.proof(0).unwrap();
        assert!(proof.verify(&tree.root()));
        // A proof cut short stops at an inner node, whose 64-byte preimage
        // is no whole number of leaves.
        let cut = Proof { siblings: proof.siblings[..1].to_vec(), ..proof.clone() };
        assert!(!cut.verify(&tree.root()));
        let inner = [bucket_hash(&proof.bucket.concat()), proof.siblings[0]].concat();
        assert!(!verify(&tree.root(), &inner, 0, &proof.siblings[1..]));
        // The index bits beyond the depth must be zero: no second address.
        assert!(!verify(&tree.root(), &proof.bucket.concat(), 4, &proof.siblings));
        // Five leaves are not a bucket.
        let five: Vec<u8> = (0..5).flat_map(|i| leaf(&node(i), 5)).collect();
        assert!(!verify(&bucket_hash(&five), &five, 0, &[]));
    }

    /// The measured sybil: 128 accounts of 1 SOL (24% of the stake) beside
    /// 4 honest nodes of 101 SOL. Per node they took 97% of the bounty;
    /// by stake they take their 24%.
    #[test]
    fn splitting_stake_wins_nothing_under_the_default_rule() {
        const SOL: u64 = 1_000_000_000;
        let node_of = |i: u32| {
            let mut node = [0u8; 32];
            node[..4].copy_from_slice(&i.to_le_bytes());
            node
        };
        let mut eligible: Vec<([u8; 32], u64)> = (0..128).map(|i| (node_of(i), SOL)).collect();
        eligible.extend((128..132).map(|i| (node_of(i), 101 * SOL)));
        let bounty = 10 * SOL;
        let paid_to_sybil = |leaves: &[([u8; 32], u64)]| -> u64 {
            leaves
                .iter()
                .filter(|(node, _)| eligible[..128].iter().any(|(s, _)| s == node))
                .map(|l| l.1)
                .sum()
        };
        let by_node: Vec<[u8; 32]> = eligible.iter().map(|(node, _)| *node).collect();
        let per_node = paid_to_sybil(&equal_split(bounty, &by_node).0);
        let (by_stake, total) = stake_split(bounty, &eligible);
        let per_stake = paid_to_sybil(&by_stake);
        assert_eq!(per_node * 132, bounty * 128 - (bounty % 132) * 128, "128 of 132 shares, 97%");
        assert_eq!(per_stake, 128 * (bounty / 532), "128 of 532 SOL, 24%, each account rounded down");
        assert!(total <= bounty && bounty - total < 132, "dust below one lamport a node");
        let one_account = stake_split(bounty, &[(node_of(0), 128 * SOL), (node_of(1), 404 * SOL)]).0;
        let whole = one_account[0].1;
        assert!(
            whole >= per_stake && whole - per_stake < 128,
            "held in one account: the same but for rounding"
        );
    }

    #[test]
    fn the_order_of_a_pair_is_the_index_bit() {
        let tree = tree_of(&[(node(1), 5), (node(2), 6), (node(3), 7), (node(4), 8), (node(5), 9)]);
        let proof = tree.proof(4).unwrap();
        assert_eq!((proof.bucket_index, proof.position, proof.bucket.len()), (1, 0, 1));
        // The last bucket is the right child; as a left child it fails.
        assert!(verify(&tree.root(), &proof.bucket.concat(), 1, &proof.siblings));
        assert!(!verify(&tree.root(), &proof.bucket.concat(), 0, &proof.siblings));
    }

    #[test]
    fn an_odd_level_pairs_with_zeros() {
        let tree = tree_of(&[(node(1), 5), (node(2), 6), (node(3), 7), (node(4), 8), (node(5), 9)]);
        let first = bucket_hash(
            &[leaf(&node(1), 5), leaf(&node(2), 6), leaf(&node(3), 7), leaf(&node(4), 8)].concat(),
        );
        let second = bucket_hash(&leaf(&node(5), 9));
        assert_eq!(tree.root(), inner_hash(&first, &second));
        let three: Vec<([u8; 32], u64)> = (0..9u8).map(|i| (node(i), 1)).collect();
        let tree = tree_of(&three);
        let proof = tree.proof(8).unwrap();
        assert_eq!(proof.siblings[0], EMPTY_SIBLING);
        assert!(proof.verify(&tree.root()));
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
            bit in 0usize..(8 * 160),
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
            let proof = tree.proof(index).unwrap();
            prop_assert!(proof.verify(&tree.root()));

            // One bit of the bucket (any leaf's address or amount) flipped.
            let mut bucket = proof.bucket.concat();
            let at = bit % (bucket.len() * 8);
            bucket[at / 8] ^= 1 << (at % 8);
            prop_assert!(!verify(&tree.root(), &bucket, u64::from(proof.bucket_index), &proof.siblings));

            // One bit of a sibling or of the index flipped.
            if !proof.siblings.is_empty() {
                let mut bad = proof.clone();
                let which = bit % bad.siblings.len();
                bad.siblings[which][bit % 32] ^= 1 << (bit % 8);
                prop_assert!(!bad.verify(&tree.root()));
                let mut bad = proof.clone();
                bad.bucket_index ^= 1 << (bit % bad.siblings.len());
                prop_assert!(!bad.verify(&tree.root()));
            }
        }
    }
}
