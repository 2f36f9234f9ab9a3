//! A round's proof: committed in round `r + 1`, revealed in round `r + 2`.

use solana_sha256_hasher::hashv;

/// What a node commits to in round `r + 1` and reveals in round `r + 2`:
/// binding the node means another node's commitment or reveal is worth
/// nothing to a copier, and the salt keeps a small space of results from
/// being guessed off the commitment.
pub fn proof_commitment(digest: &[u8; 32], locator: &[u8], node: &[u8; 32], salt: &[u8; 32]) -> [u8; 32] {
    // Fixed-size fields first, the locator last: the total length fixes its
    // length, and every slice costs the syscall at least 10 CU.
    hashv(&[digest, node, salt, locator]).to_bytes()
}
