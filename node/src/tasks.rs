//! Tasks: the four parts of a Koii task (work, proof, audit, distribution).

use gradual_interface::merkle::equal_split;

pub trait Task {
    /// Does round `round`'s work; the result is what the node serves to auditors.
    fn work(&self, round: u64) -> Result<Vec<u8>, String>;

    /// The 32-byte digest submitted on-chain for a result.
    fn proof(&self, result: &[u8]) -> [u8; 32] {
        solana_sha256_hasher::hash(result).to_bytes()
    }

    /// Whether another node's `result` is valid work for `round` and matches its `digest`.
    fn audit(&self, round: u64, result: &[u8], digest: &[u8; 32]) -> bool;

    /// Round's payees: by default the bounty split equally, rounded down,
    /// among the eligible nodes (see `gradual_interface::merkle::equal_split`).
    fn distribution(&self, bounty: u64, eligible: &[[u8; 32]]) -> Vec<([u8; 32], u64)> {
        equal_split(bounty, eligible).0
    }
}

/// The node stores "Hello, World!" and auditors check exactly that.
pub struct Hello;

pub const HELLO: &[u8] = b"Hello, World!";

impl Task for Hello {
    fn work(&self, _round: u64) -> Result<Vec<u8>, String> {
        Ok(HELLO.to_vec())
    }

    fn audit(&self, _round: u64, result: &[u8], digest: &[u8; 32]) -> bool {
        result == HELLO && self.proof(result) == *digest
    }
}
