//! Seeds of every program-derived address.

/// Task: `["task", creator, task_id as u64 little-endian]`.
pub const TASK_SEED: &[u8] = b"task";
/// Node: `["node", task, operator]`.
pub const NODE_SEED: &[u8] = b"node";
/// Audit: `["audit", target node, round as u64 little-endian]`.
pub const AUDIT_SEED: &[u8] = b"audit";
/// Distribution: `["distribution", task, round as u64 little-endian]`.
pub const DISTRIBUTION_SEED: &[u8] = b"distribution";

#[cfg(feature = "std")]
mod find {
    use super::*;
    use crate::{Address, ID};

    /// The task PDA and its bump.
    pub fn find_task_address(creator: &Address, task_id: u64) -> (Address, u8) {
        Address::find_program_address(&[TASK_SEED, creator.as_ref(), &task_id.to_le_bytes()], &ID)
    }

    /// The audit PDA for `target`'s proof of `round`, and its bump.
    pub fn find_audit_address(target: &Address, round: u64) -> (Address, u8) {
        Address::find_program_address(&[AUDIT_SEED, target.as_ref(), &round.to_le_bytes()], &ID)
    }

    /// The distribution PDA of `task`'s `round`, and its bump.
    pub fn find_distribution_address(task: &Address, round: u64) -> (Address, u8) {
        Address::find_program_address(&[DISTRIBUTION_SEED, task.as_ref(), &round.to_le_bytes()], &ID)
    }

    /// The node PDA and its bump.
    pub fn find_node_address(task: &Address, operator: &Address) -> (Address, u8) {
        Address::find_program_address(&[NODE_SEED, task.as_ref(), operator.as_ref()], &ID)
    }
}

#[cfg(feature = "std")]
pub use find::*;
