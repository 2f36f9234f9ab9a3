use bytemuck::{Pod, Zeroable};

use super::{Account, AccountKind};
use crate::math::checked_mul;

/// Share of a slash paid to the node that raised the upheld audit, in basis
/// points; the rest goes to the bounty pool.
pub const WHISTLEBLOWER_SHARE_BPS: u64 = 5_000;

/// An audit of one node's proof for one round, holding the raiser's bond.
///
/// PDA seeds: `["audit", target node, round (u64 LE)]`.
///
/// The account's lamports are its rent-exempt minimum plus `bond`. It closes
/// when resolved, its rent going back to `raiser_operator`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaAccount))]
pub struct Audit {
    pub discriminator: u8,
    pub version: u8,
    pub bump: u8,
    pub _padding: u8,
    /// Seats on the committee, from the task.
    pub committee_seats: u16,
    pub _padding2: [u8; 2],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    /// The audited node account.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub target: [u8; 32],
    /// The node account that raised the audit.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub raiser: [u8; 32],
    /// The wallet that paid the bond and rent, and gets them back.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub raiser_operator: [u8; 32],
    pub round: u64,
    /// First slot after the raise window: votes from it.
    pub votes_from: u64,
    /// First slot after the audit window: votes before it, resolution from it.
    pub window_end: u64,
    pub bond: u64,
    /// Round `round`'s minimum stake: a voter needs this much stake in that round.
    pub min_stake: u64,
    /// Round `round`'s slash rate.
    pub slash_rate_bps: u16,
    /// The task's `min_audit_seats` when the audit was raised.
    pub min_seats: u16,
    pub voter_count: u32,
    /// Seats behind "invalid".
    pub invalid_weight: u64,
    /// Seats behind "valid".
    pub valid_weight: u64,
    /// Seeds the voters' seats (`selection::committee_seed`); all zero
    /// until the first vote fixes it from the hash of `votes_from - 1`.
    pub committee_seed: [u8; 32],
    /// The stake that counted in the audited round (`Task::counted_stake_for`): seats are shared out of it.
    pub committee_stake: u64,
    /// The raiser's stake in the audited round: the whole part of its share
    /// of the seats is its "invalid" vote, counted at the raise.
    pub raiser_stake: u64,
}

const _: () = assert!(core::mem::size_of::<Audit>() == 248);
const _: () = assert!(core::mem::align_of::<Audit>() == 8);

impl Account for Audit {
    const KIND: AccountKind = AccountKind::Audit;
}

impl Audit {
    /// Upheld: strictly more seats behind "invalid" than behind "valid", with
    /// at least `min_seats` seats voting. A tie is rejected. The quorum counts
    /// seats, not accounts, so splitting stake over accounts cannot meet it.
    pub fn is_upheld(&self) -> bool {
        let voted = self.invalid_weight.saturating_add(self.valid_weight);
        voted >= u64::from(self.min_seats) && self.invalid_weight > self.valid_weight
    }

    /// The seats `voter`, with `stake` for the audited round, holds on the
    /// committee drawn from `seed`: none for the target, or below the
    /// audit's minimum stake.
    pub fn seats(&self, seed: &[u8; 32], voter: &[u8; 32], stake: u64) -> u64 {
        if *voter == self.target || stake < self.min_stake {
            return 0;
        }
        crate::selection::committee_seats(seed, voter, stake, self.committee_stake, self.committee_seats)
    }

    /// What an upheld audit slashes from `target`: the slash rate of the
    /// stake that backed the audited round, never more than is left.
    pub fn slash_of(&self, target: &super::Node) -> Option<SlashSplit> {
        let stake = target.stake_for_round(self.round).min(target.total_stake());
        split_slash(stake, self.slash_rate_bps)
    }

    /// Lamports the resolution pays out of the program, rent aside: if
    /// upheld, the bond and the raiser's share of the slash to the raiser's
    /// operator (the rest of the slash stays, in the pool); if rejected, the
    /// bond to the target's operator.
    pub fn paid_out(&self, target: &super::Node) -> Option<u64> {
        if !self.is_upheld() {
            return Some(self.bond);
        }
        self.bond.checked_add(self.slash_of(target)?.to_raiser)
    }
}

/// `amount * bps / 10_000`, rounded down, without a 128-bit product.
pub fn basis_points_of(amount: u64, bps: u64) -> Option<u64> {
    let whole = checked_mul(amount / 10_000, bps)?;
    let part = checked_mul(amount % 10_000, bps)? / 10_000;
    whole.checked_add(part)
}

/// How an upheld audit's slash of `stake` at `slash_rate_bps` is split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlashSplit {
    pub slashed: u64,
    pub to_raiser: u64,
    pub to_pool: u64,
}

pub fn split_slash(stake: u64, slash_rate_bps: u16) -> Option<SlashSplit> {
    let slashed = basis_points_of(stake, u64::from(slash_rate_bps))?;
    let to_raiser = basis_points_of(slashed, WHISTLEBLOWER_SHARE_BPS)?;
    Some(SlashSplit { slashed, to_raiser, to_pool: slashed.checked_sub(to_raiser)? })
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn basis_points_round_down_and_never_exceed_the_amount() {
        for amount in [0, 1, 9_999, 10_000, 10_001, 123_456_789, u64::MAX - 1, u64::MAX] {
            for bps in [0, 1, 2_500, 9_999, 10_000] {
                let exact = (u128::from(amount) * u128::from(bps) / 10_000) as u64;
                assert_eq!(basis_points_of(amount, bps), Some(exact), "{amount} at {bps}");
            }
        }
    }

    #[test]
    fn a_slash_splits_without_losing_a_lamport() {
        for stake in [0, 1, 3, 1_000_000_001, u64::MAX] {
            for rate in [0, 1, 1_000, 10_000] {
                let split = split_slash(stake, rate).unwrap();
                assert!(split.slashed <= stake);
                assert_eq!(split.to_raiser + split.to_pool, split.slashed);
            }
        }
        assert_eq!(split_slash(1_000, 10_000).unwrap().slashed, 1_000);
    }

    #[test]
    fn the_target_and_stake_below_the_minimum_hold_no_seat() {
        let mut audit = Audit::zeroed();
        audit.target = [7; 32];
        audit.min_stake = 100;
        audit.committee_stake = 1_000;
        audit.committee_seats = 64;
        let seed = [3; 32];
        assert_eq!(audit.seats(&seed, &[7; 32], 1_000), 0, "the target");
        assert_eq!(audit.seats(&seed, &[8; 32], 99), 0, "below the minimum");
        assert_eq!(audit.seats(&seed, &[8; 32], 1_000), 64, "all the counted stake holds every seat");
    }

    #[test]
    fn a_resolution_pays_out_the_bond_and_the_raisers_share_only_when_upheld() {
        let mut audit = Audit::zeroed();
        audit.bond = 50;
        audit.slash_rate_bps = 1_000;
        audit.round = 3;
        let mut target = super::super::Node::zeroed();
        target.exit_round = u64::MAX;
        target.add_stake(10_000, 0).unwrap();
        assert_eq!(audit.paid_out(&target), Some(50), "rejected: the bond, to the target");
        audit.min_seats = 1;
        audit.invalid_weight = 2;
        // 10% of 10,000 slashed, half of it to the raiser.
        assert_eq!(audit.slash_of(&target).map(|split| split.slashed), Some(1_000));
        assert_eq!(audit.paid_out(&target), Some(550));
    }

    #[test]
    fn ties_and_too_few_seats_are_rejected() {
        let mut audit = Audit::zeroed();
        audit.min_seats = 22;
        audit.voter_count = 2;
        audit.invalid_weight = 10;
        audit.valid_weight = 10;
        assert!(!audit.is_upheld(), "a tie");
        audit.invalid_weight = 11;
        assert!(!audit.is_upheld(), "21 seats voted, 22 needed");
        audit.invalid_weight = 12;
        assert!(audit.is_upheld());
        audit.voter_count = 1;
        assert!(audit.is_upheld(), "however many accounts hold the seats");
    }
}
