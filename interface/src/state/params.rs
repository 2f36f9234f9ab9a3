use bytemuck::{Pod, Zeroable};

use crate::error::GradualError;

/// Longest distribution window: the proposer seed is the hash of the slot
/// before the window, and the `SlotHashes` sysvar keeps only 512 slots.
pub const MAX_DISTRIBUTION_WINDOW: u64 = 500;
/// Shortest distribution window: the entitled set doubles every eighth of it
/// and must reach every node in the last eighth.
pub const MIN_DISTRIBUTION_WINDOW: u64 = crate::selection::WIDENING_STEPS;
/// Shortest audit window: raises use its first half, votes all of it.
pub const MIN_AUDIT_WINDOW: u64 = 2;
/// Longest audit window: its vote half (at most 500 slots) must end while the
/// committee seed, the hash of the last raise slot, is in `SlotHashes`.
pub const MAX_AUDIT_WINDOW: u64 = 1_000;

/// Basis points in 100%.
pub const MAX_BASIS_POINTS: u16 = 10_000;

/// The smallest audit bond: the rent-exempt minimum of an account with no
/// data (128 bytes of overhead at 3,480 lamports per byte-year, for two
/// years). A refunded bond then always leaves its recipient rent-exempt,
/// even a wallet emptied to 0 lamports, so no resolution can be blocked.
pub const MIN_AUDIT_BOND: u64 = 890_880;

/// The parameters a manager may change. A change takes effect from the next
/// round; the round under way keeps the parameters it started with.
///
/// A round's work is judged by the rules fixed when it began: round `r`'s
/// commitment window (in round `r + 1`), reveal window and audit window (in
/// round `r + 2`) use round `r`'s parameters, as do its amounts (bounty,
/// minimum stake, bond, slash rate). Distribution windows use the parameters
/// of the round they lie in.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct RoundParams {
    /// Lamports the round's distribution list may pay out.
    pub bounty_per_round: u64,
    /// Slots from a round's start during which the previous round's proofs are submitted.
    pub submission_window: u64,
    /// Slots after the submission window during which audits are raised and voted.
    pub audit_window: u64,
    /// Slots from a round's start during which round `r - 3`'s list is proposed.
    pub distribution_window: u64,
    /// Slots after the distribution window during which that list is voted on.
    pub distribution_audit_window: u64,
    /// Lamports a node must have staked for its stake to count in a round.
    pub min_stake: u64,
    /// Lamports an auditor deposits to raise an audit.
    pub audit_bond: u64,
    /// Share of an upheld audit's target's stake that is slashed, in basis points.
    pub slash_rate_bps: u16,
    pub _padding: [u8; 6],
}

const _: () = assert!(core::mem::size_of::<RoundParams>() == 64);

/// A round's length unless its creator says otherwise: 40 slots, 16 s at 400 ms.
pub const DEFAULT_ROUND_LENGTH: u64 = 40;

impl RoundParams {
    /// The windows, stake and slashing a task gets unless its creator says
    /// otherwise (`gradual task create`, `gradual simulate`).
    pub const fn defaults(bounty_per_round: u64) -> Self {
        const SOL: u64 = 1_000_000_000;
        Self {
            bounty_per_round,
            submission_window: 8,
            audit_window: 12,
            distribution_window: 8,
            distribution_audit_window: 12,
            min_stake: SOL,
            audit_bond: SOL / 10,
            slash_rate_bps: 1_000,
            _padding: [0; 6],
        }
    }
}

impl RoundParams {
    /// Checks every parameter against the task's round length.
    pub fn validate(&self, round_length: u64) -> Result<(), GradualError> {
        if self._padding != [0; 6] {
            return Err(GradualError::NonZeroPadding);
        }
        if self.bounty_per_round == 0 {
            return Err(GradualError::ZeroBountyPerRound);
        }
        if self.submission_window == 0
            || self.audit_window == 0
            || self.distribution_window == 0
            || self.distribution_audit_window == 0
        {
            return Err(GradualError::ZeroWindow);
        }
        let submission_span = self
            .submission_window
            .checked_add(self.audit_window)
            .ok_or(GradualError::SubmissionWindowsExceedRound)?;
        if submission_span > round_length {
            return Err(GradualError::SubmissionWindowsExceedRound);
        }
        let distribution_span = self
            .distribution_window
            .checked_add(self.distribution_audit_window)
            .ok_or(GradualError::DistributionWindowsExceedRound)?;
        if distribution_span > round_length {
            return Err(GradualError::DistributionWindowsExceedRound);
        }
        if !(MIN_DISTRIBUTION_WINDOW..=MAX_DISTRIBUTION_WINDOW).contains(&self.distribution_window) {
            return Err(GradualError::InvalidDistributionWindow);
        }
        if self.audit_window < MIN_AUDIT_WINDOW || self.distribution_audit_window < MIN_AUDIT_WINDOW {
            return Err(GradualError::AuditWindowTooShort);
        }
        if self.audit_window > MAX_AUDIT_WINDOW {
            return Err(GradualError::AuditWindowTooLong);
        }
        if self.min_stake == 0 {
            return Err(GradualError::ZeroMinimumStake);
        }
        if self.slash_rate_bps > MAX_BASIS_POINTS {
            return Err(GradualError::SlashRateTooHigh);
        }
        if self.audit_bond < MIN_AUDIT_BOND {
            return Err(GradualError::AuditBondBelowRent);
        }
        Ok(())
    }

    /// Whether `offset` slots into a round falls inside its submission window.
    pub fn in_submission_window(&self, offset: u64) -> bool {
        offset < self.submission_window
    }

    /// Offsets `[start, raise_end)` of a round at which audits may be raised:
    /// the first half of the audit window (rounded up), so that every audit
    /// has at least the second half for votes.
    pub fn audit_raise_window(&self) -> Option<(u64, u64)> {
        let raise_slots = self.audit_window.checked_sub(self.audit_window / 2)?;
        Some((self.submission_window, self.submission_window.checked_add(raise_slots)?))
    }

    /// The first offset after the audit window.
    pub fn audit_window_end(&self) -> Option<u64> {
        self.submission_window.checked_add(self.audit_window)
    }
}

/// Parameters in force from `from_round` until the next checkpoint.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct ParamsCheckpoint {
    /// First round these parameters govern; `u64::MAX` marks an unused slot.
    pub from_round: u64,
    pub params: RoundParams,
}

const _: () = assert!(core::mem::size_of::<ParamsCheckpoint>() == 72);

/// How many parameter sets a task keeps. Lookups reach back `3 + F` rounds
/// from the current one `c` (attempt `F` of round `c - 3 - F`'s list is
/// made in round `c`, with `F` at most `MAX_FAILED_DISTRIBUTIONS` = 5), and
/// the newest checkpoint is for `c + 1`: with at most one new checkpoint per
/// round, ten cover that; eleven leave one spare.
pub const PARAMS_HISTORY: usize = 11;

/// A checkpoint slot that holds nothing.
pub const UNUSED_CHECKPOINT: u64 = u64::MAX;

/// Finds the parameters governing `round`: the latest checkpoint at or before it.
pub fn params_for_round(
    history: &[ParamsCheckpoint; PARAMS_HISTORY],
    round: u64,
) -> Result<&RoundParams, GradualError> {
    checkpoint_for_round(history, round).map(|checkpoint| &checkpoint.params)
}

/// The latest checkpoint at or before `round`.
pub fn checkpoint_for_round(
    history: &[ParamsCheckpoint; PARAMS_HISTORY],
    round: u64,
) -> Result<&ParamsCheckpoint, GradualError> {
    // An unused checkpoint starts at u64::MAX, after every round but that
    // one, which reads as the round before it.
    let round = round.min(UNUSED_CHECKPOINT - 1);
    let mut best: Option<&ParamsCheckpoint> = None;
    for checkpoint in history {
        if checkpoint.from_round <= round && best.is_none_or(|best| checkpoint.from_round > best.from_round) {
            best = Some(checkpoint);
        }
    }
    best.ok_or(GradualError::RoundParamsUnavailable)
}

/// Records `params` as governing rounds from `from_round` on: replaces a
/// checkpoint already scheduled for that round, or else the oldest one.
pub fn schedule_params(
    history: &mut [ParamsCheckpoint; PARAMS_HISTORY],
    from_round: u64,
    params: RoundParams,
) {
    let mut target = 0;
    for (index, checkpoint) in history.iter().enumerate() {
        if checkpoint.from_round == from_round {
            target = index;
            break;
        }
        let oldest = &history[target];
        let is_older = checkpoint.from_round == UNUSED_CHECKPOINT
            || (oldest.from_round != UNUSED_CHECKPOINT && checkpoint.from_round < oldest.from_round);
        if is_older {
            target = index;
        }
    }
    history[target] = ParamsCheckpoint { from_round, params };
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn params(bounty: u64) -> RoundParams {
        RoundParams {
            bounty_per_round: bounty,
            submission_window: 3,
            audit_window: 3,
            distribution_window: 8,
            distribution_audit_window: 3,
            min_stake: 10,
            audit_bond: MIN_AUDIT_BOND,
            slash_rate_bps: 1_000,
            _padding: [0; 6],
        }
    }

    #[test]
    fn a_new_checkpoint_takes_the_last_unused_entry() {
        let mut history = empty_history(params(1));
        schedule_params(&mut history, 5, params(2));
        assert_eq!(
            history[PARAMS_HISTORY - 1].from_round,
            5,
            "protocol 3.4: the unused entry with the highest index"
        );
        schedule_params(&mut history, 7, params(3));
        assert_eq!(history[PARAMS_HISTORY - 2].from_round, 7);
        schedule_params(&mut history, 5, params(4));
        assert_eq!(history[PARAMS_HISTORY - 1].params, params(4), "the same from_round is replaced in place");
    }

    fn empty_history(initial: RoundParams) -> [ParamsCheckpoint; PARAMS_HISTORY] {
        let unused = ParamsCheckpoint { from_round: UNUSED_CHECKPOINT, params: RoundParams::default() };
        let mut history = [unused; PARAMS_HISTORY];
        history[0] = ParamsCheckpoint { from_round: 0, params: initial };
        history
    }

    #[test]
    fn lookups_find_the_latest_checkpoint_at_or_before_the_round() {
        let mut history = empty_history(params(1));
        schedule_params(&mut history, 3, params(2));
        schedule_params(&mut history, 5, params(3));
        assert_eq!(params_for_round(&history, 0).unwrap().bounty_per_round, 1);
        assert_eq!(params_for_round(&history, 2).unwrap().bounty_per_round, 1);
        assert_eq!(params_for_round(&history, 3).unwrap().bounty_per_round, 2);
        assert_eq!(params_for_round(&history, 4).unwrap().bounty_per_round, 2);
        assert_eq!(params_for_round(&history, 9).unwrap().bounty_per_round, 3);
    }

    #[test]
    fn rescheduling_the_same_round_overwrites_it() {
        let mut history = empty_history(params(1));
        schedule_params(&mut history, 4, params(2));
        schedule_params(&mut history, 4, params(7));
        assert_eq!(params_for_round(&history, 4).unwrap().bounty_per_round, 7);
        assert_eq!(history.iter().filter(|c| c.from_round != UNUSED_CHECKPOINT).count(), 2);
    }

    #[test]
    fn one_change_per_round_keeps_every_round_a_lookup_can_reach() {
        let mut history = empty_history(params(100));
        for round in 1..50u64 {
            schedule_params(&mut history, round, params(100 + round));
            // Scheduled during round - 1; lookups reach back ten rounds from there.
            for back in 0..PARAMS_HISTORY as u64 {
                let wanted = round.saturating_sub(back);
                let found = params_for_round(&history, wanted).unwrap().bounty_per_round;
                assert_eq!(found, 100 + wanted, "round {wanted} after scheduling {round}");
            }
        }
        assert_eq!(params_for_round(&history, 30), Err(GradualError::RoundParamsUnavailable));
    }

    #[test]
    fn validation_names_each_fault() {
        let round_length = 12;
        assert_eq!(params(1).validate(round_length), Ok(()));
        type Break = fn(&mut RoundParams);
        let cases: [(Break, GradualError); 11] = [
            (|p| p.bounty_per_round = 0, GradualError::ZeroBountyPerRound),
            (|p| p.audit_window = 0, GradualError::ZeroWindow),
            (|p| p.submission_window = 10, GradualError::SubmissionWindowsExceedRound),
            (|p| p.distribution_window = u64::MAX, GradualError::DistributionWindowsExceedRound),
            (|p| p.distribution_window = 7, GradualError::InvalidDistributionWindow),
            (|p| p.audit_window = 1, GradualError::AuditWindowTooShort),
            (|p| p.min_stake = 0, GradualError::ZeroMinimumStake),
            (|p| p.slash_rate_bps = 10_001, GradualError::SlashRateTooHigh),
            (|p| p.audit_bond = 0, GradualError::AuditBondBelowRent),
            (|p| p.audit_bond = MIN_AUDIT_BOND - 1, GradualError::AuditBondBelowRent),
            (|p| p._padding[5] = 1, GradualError::NonZeroPadding),
        ];
        for (break_it, expected) in cases {
            let mut broken = params(1);
            break_it(&mut broken);
            assert_eq!(broken.validate(round_length), Err(expected));
        }
        let mut exact_fit = params(1);
        exact_fit.submission_window = 9;
        assert_eq!(exact_fit.validate(round_length), Ok(()));
    }
}
