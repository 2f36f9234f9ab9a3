//! Lists that build an approved distribution's root, kept by that root with
//! each node's place in them: found once, then every claim against the list
//! is a lookup and a Merkle path, not a search and a tree built again.

use std::collections::HashMap;

use gradual_interface::{
    merkle::{tree_of, Hash, MerkleTree, Proof},
    Address,
};

use crate::tasks::Leaves;

pub struct ApprovedList {
    leaves: Leaves,
    tree: MerkleTree,
    index: HashMap<[u8; 32], usize>,
}

impl ApprovedList {
    /// `leaves` with their tree, if it builds `root`.
    pub fn matching(leaves: Leaves, tree: Option<MerkleTree>, root: &Hash) -> Option<Self> {
        let tree = tree.unwrap_or_else(|| tree_of(&leaves));
        if tree.root() != *root {
            return None;
        }
        let index = leaves.iter().enumerate().map(|(place, (node, _))| (*node, place)).collect();
        Some(Self { leaves, tree, index })
    }

    /// Each leaf in order, with whether its own Merkle proof verifies
    /// against `root`: what a claim of it would show the program.
    pub fn checked_leaves(&self, root: &Hash) -> Vec<(([u8; 32], u64), bool)> {
        let checks = (0..self.leaves.len()).map(|place| {
            self.tree.proof(place).is_some_and(|proof| {
                proof.verify(root)
                    && proof.claimed() == self.leaves.get(place).map(|(node, amount)| (node, *amount))
            })
        });
        self.leaves.iter().copied().zip(checks).collect()
    }

    /// `node`'s amount and Merkle proof, if the list pays it.
    pub fn claim(&self, node: &Address) -> Option<(u64, Proof)> {
        let place = *self.index.get(&node.to_bytes())?;
        let (_, amount) = self.leaves.get(place)?;
        Some((*amount, self.tree.proof(place)?))
    }
}
