use bytemuck::{Pod, Zeroable};

use super::{Account, AccountKind};
use crate::error::GradualError;

pub const MAX_LIST_URL_LEN: usize = 128;
/// Rounds after the last possible attempt during which approved rewards can
/// be claimed; then `ExpireDistribution` returns what is left to the pool.
pub const CLAIM_PERIOD_ROUNDS: u64 = 8;

/// A proposal is open for votes.
pub const DISTRIBUTION_PROPOSED: u8 = 1;
/// The last proposal was rejected; the next attempt may propose.
pub const DISTRIBUTION_REJECTED: u8 = 2;
/// The list is approved; its total is held for claims.
pub const DISTRIBUTION_APPROVED: u8 = 3;
/// Every allowed attempt was rejected; the round pays nothing.
pub const DISTRIBUTION_FAILED: u8 = 4;

/// Round `round`'s distribution list: its Merkle root and the lamports
/// reserved for it, then the claims against it.
///
/// PDA seeds: `["distribution", task, round (u64 LE)]`.
///
/// The account's lamports are its rent-exempt minimum plus `bond`,
/// `dispute_bond` and `reserved`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaAccount))]
pub struct Distribution {
    pub discriminator: u8,
    pub version: u8,
    pub bump: u8,
    pub status: u8,
    /// The attempt of the current (or last) proposal: attempt `a` is made in round `round + 3 + a`.
    pub attempt: u8,
    pub url_len: u8,
    /// 1 when `reserved` is in the task's mint (held in the task's vault), 0 for lamports.
    pub reserve_in_tokens: u8,
    pub _padding: [u8; 1],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    /// The proposing node of the current (or last) attempt.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub proposer: [u8; 32],
    /// Its operator, who posted the bond.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub proposer_operator: [u8; 32],
    /// Who paid the rent, and gets it back when the account closes.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub payer: [u8; 32],
    pub round: u64,
    /// Proposer-selection seed of the current attempt.
    pub seed: [u8; 32],
    pub root: [u8; 32],
    /// sha256 of the full list as served at `url`.
    pub content_hash: [u8; 32],
    pub total: u64,
    pub leaf_count: u64,
    pub claimed: u64,
    /// The proposer's bond, held until the proposal resolves.
    pub bond: u64,
    /// Lamports held for claims: `total` while proposed or approved, less claims.
    pub reserved: u64,
    /// Round `round`'s minimum stake: a voter needs this much stake in that round.
    pub min_stake: u64,
    /// Votes from this slot...
    pub vote_start: u64,
    /// ...until (not including) this one; resolution from here on.
    pub vote_end: u64,
    /// First slot at which approved rewards can no longer be claimed.
    pub claim_deadline: u64,
    /// Stake behind the list, the proposer's included.
    pub valid_weight: u64,
    /// Stake against it.
    pub invalid_weight: u64,
    pub voter_count: u32,
    pub _padding2: [u8; 4],
    /// The wallet that posted the current attempt's dispute bond; the
    /// proposer's operator while nobody disputed.
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub disputer_operator: [u8; 32],
    /// The first dispute's bond, held until the proposal resolves: forfeited
    /// to the pool if the list stands, returned if it is rejected.
    pub dispute_bond: u64,
    /// Where the full list is served.
    pub url: [u8; MAX_LIST_URL_LEN],
}

const _: () = assert!(core::mem::size_of::<Distribution>() == 504);
const _: () = assert!(core::mem::align_of::<Distribution>() == 8);

impl Account for Distribution {
    const KIND: AccountKind = AccountKind::Distribution;
}

impl Distribution {
    /// Rejected: strictly more stake against than for; a tie stands. Unlike an audit, no
    /// number of voters is required: a quorum protects a target from being
    /// slashed by a few, but for a list it only let a greedy proposer through
    /// when too few voted, however much stake voted against it.
    pub fn is_rejected(&self) -> bool {
        self.invalid_weight > self.valid_weight
    }

    /// The first slot at which "invalid" votes (disputes) are refused: the
    /// vote window's first half, rounded up, takes them.
    pub fn dispute_end(&self) -> Option<u64> {
        let length = self.vote_end.checked_sub(self.vote_start)?;
        self.vote_start.checked_add(length.checked_sub(length / 2)?)
    }

    pub fn url(&self) -> &[u8] {
        super::text(&self.url, self.url_len)
    }

    /// Records a claim of `amount`, never beyond the approved total.
    pub fn record_claim(&mut self, amount: u64) -> Result<(), GradualError> {
        let claimed = self.claimed.checked_add(amount).ok_or(GradualError::ArithmeticOverflow)?;
        if claimed > self.total || amount > self.reserved {
            return Err(GradualError::ClaimExceedsTotal);
        }
        self.claimed = claimed;
        self.reserved = self.reserved.checked_sub(amount).ok_or(GradualError::ArithmeticOverflow)?;
        Ok(())
    }
}
