//! The protocol's rules written again from `docs/protocol.md`, apart from
//! the interface crate, so that tests predict verdicts, seats, turns and
//! payouts without calling the code they test. Plain `u128` arithmetic.

use solana_sha256_hasher::hashv;

/// Basis points in 100%, and the raiser's share of a slash.
const BASIS_POINTS: u128 = 10_000;
const WHISTLEBLOWER_BPS: u128 = 5_000;

/// First 8 bytes of `sha256(seed ‖ node)`, little-endian.
pub fn score(seed: &[u8; 32], node: &[u8; 32]) -> u64 {
    let hash = hashv(&[seed, node]).to_bytes();
    u64::from_le_bytes(hash[..8].try_into().expect("8 bytes"))
}

pub fn committee_seed(slot_hash: &[u8; 32], target: &[u8; 32], round: u64) -> [u8; 32] {
    hashv(&[b"gradual-committee", slot_hash, target, &round.to_le_bytes()]).to_bytes()
}

pub fn proposal_seed(slot_hash: &[u8; 32], round: u64, attempt: u8) -> [u8; 32] {
    hashv(&[b"gradual-proposer", slot_hash, &round.to_le_bytes(), &[attempt]]).to_bytes()
}

/// `(stake, total)` reduced until `total` fits in 32 bits, stake capped at total.
fn reduced(stake: u64, total: u64) -> (u128, u128) {
    let bits = 64 - total.leading_zeros();
    let shift = bits.saturating_sub(32);
    (u128::from(stake.min(total) >> shift), u128::from(total >> shift))
}

/// `floor(seats * stake / total)` and the remainder, after the 32-bit reduction.
fn share(stake: u64, total: u64, seats: u16) -> Option<(u128, u128, u128)> {
    let (stake, total) = reduced(stake, total);
    (total != 0).then(|| {
        let share = u128::from(seats) * stake;
        (share / total, share % total, total)
    })
}

/// A voter's seats: the whole part of its share, plus one with the
/// probability of the fraction, drawn from its score.
pub fn voter_seats(seed: &[u8; 32], node: &[u8; 32], stake: u64, total: u64, seats: u16) -> u64 {
    let Some((whole, fraction, total)) = share(stake, total, seats) else { return 0 };
    let threshold = (fraction << 32) / total;
    let extra = u128::from(score(seed, node) >> 32) < threshold;
    u64::try_from(whole).expect("seats fit") + u64::from(extra)
}

/// The raiser's seats: the whole part alone.
pub fn raiser_seats(stake: u64, total: u64, seats: u16) -> u64 {
    share(stake, total, seats).map_or(0, |(whole, _, _)| u64::try_from(whole).expect("seats fit"))
}

/// Whether a node holding `stake` of `total` may propose at `offset` of a `window`.
pub fn entitled(
    seed: &[u8; 32],
    node: &[u8; 32],
    (stake, total): (u64, u64),
    offset: u64,
    window: u64,
) -> bool {
    let level = offset / (window / 8).max(1);
    if level >= 7 {
        return true;
    }
    let (stake, total) = reduced(stake, total);
    let base = (stake << 32).checked_div(total).unwrap_or(0);
    u128::from(score(seed, node) >> 32) < base << level
}

/// An audit is upheld with at least `min_seats` seats voting and strictly
/// more of them behind "invalid".
pub fn audit_upheld(invalid: u64, valid: u64, min_seats: u16) -> bool {
    invalid + valid >= u64::from(min_seats) && invalid > valid
}

/// A list stands unless strictly more stake voted against it.
pub fn list_stands(valid: u64, invalid: u64) -> bool {
    invalid <= valid
}

/// `(slashed, to_raiser, to_pool)` of a slash of `stake` at `rate_bps`.
pub fn slash(stake: u64, rate_bps: u16) -> (u64, u64, u64) {
    let slashed = u128::from(stake) * u128::from(rate_bps) / BASIS_POINTS;
    let to_raiser = slashed * WHISTLEBLOWER_BPS / BASIS_POINTS;
    let as_u64 = |value: u128| u64::try_from(value).expect("within the stake");
    (as_u64(slashed), as_u64(to_raiser), as_u64(slashed - to_raiser))
}

/// The default rule: the bounty shared out by stake, rounded down, among
/// `(node, stake)`, in address order, each node once.
pub fn stake_split(bounty: u64, eligible: &[([u8; 32], u64)]) -> Vec<([u8; 32], u64)> {
    let mut nodes: std::collections::BTreeMap<[u8; 32], u64> = Default::default();
    for (node, stake) in eligible {
        nodes.entry(*node).or_insert(*stake);
    }
    let total: u128 = nodes.values().map(|stake| u128::from(*stake)).sum();
    nodes
        .into_iter()
        .map(|(node, stake)| {
            let amount = (u128::from(bounty) * u128::from(stake)).checked_div(total).unwrap_or(0);
            (node, u64::try_from(amount).expect("within the bounty"))
        })
        .collect()
}
