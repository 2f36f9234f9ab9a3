//! A round's proof: committed in round `r + 1`, revealed in round `r + 2`.

use solana_sha256_hasher::hashv;

/// What a node commits to in round `r + 1` and reveals in round `r + 2`.
/// Binding the node means another node's commitment or reveal is worth
/// nothing to a copier; binding the task and the round means a commitment
/// made once cannot be made again for another round or task; the salt keeps
/// a small space of results from being guessed off the commitment.
pub fn proof_commitment(
    digest: &[u8; 32],
    locator: &[u8],
    (task, node, round): (&[u8; 32], &[u8; 32], u64),
    salt: &[u8; 32],
) -> [u8; 32] {
    // Fixed-size fields first, the locator last: the total length fixes its
    // length, and every slice costs the syscall at least 10 CU.
    hashv(&[digest, task, node, &round.to_le_bytes(), salt, locator]).to_bytes()
}
