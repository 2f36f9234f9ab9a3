//! The round timeline, in slots. Round `r` covers
//! `[start_slot + r * round_length, start_slot + (r + 1) * round_length)`.

/// Round `r`'s proofs are committed in round `r + 1` and revealed, then
/// audited, in round `r + 2`.
pub const AUDIT_LAG: u64 = 2;
/// Attempt `a` of round `r`'s list is proposed and voted on in round `r + 3 + a`.
pub const LIST_LAG: u64 = 3;

/// The round in which round `round`'s proofs are audited (and revealed).
pub fn audit_round(round: u64) -> Option<u64> {
    round.checked_add(AUDIT_LAG)
}

/// The round whose proofs are audited in round `current`, if any.
pub fn audited_in(current: u64) -> Option<u64> {
    current.checked_sub(AUDIT_LAG)
}

/// The round in which attempt `attempt` of round `listed`'s list is proposed and voted on.
pub fn list_round(listed: u64, attempt: u8) -> Option<u64> {
    listed.checked_add(LIST_LAG)?.checked_add(u64::from(attempt))
}

/// The round whose list's attempt `attempt` falls in round `current`, if any.
pub fn listed_in(current: u64, attempt: u8) -> Option<u64> {
    current.checked_sub(LIST_LAG)?.checked_sub(u64::from(attempt))
}

/// The first round after every attempt at round `listed`'s list: a list not
/// approved by then never will be.
pub fn attempts_end(listed: u64, allowed_failed: u8) -> Option<u64> {
    list_round(listed, allowed_failed)?.checked_add(1)
}

/// The first round after round `listed`'s claims close.
pub fn claims_end(listed: u64, allowed_failed: u8) -> Option<u64> {
    attempts_end(listed, allowed_failed)?.checked_add(crate::state::CLAIM_PERIOD_ROUNDS)
}

/// The oldest round worth remembering during round `current`: every
/// earlier round's claims closed before this round began.
pub fn oldest_open(current: u64, allowed_failed: u8) -> u64 {
    let span = u64::from(allowed_failed)
        .saturating_add(LIST_LAG + 1)
        .saturating_add(crate::state::CLAIM_PERIOD_ROUNDS);
    current.saturating_sub(span)
}

/// Where a slot falls on a task's timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeline {
    pub start_slot: u64,
    pub round_length: u64,
}

impl Timeline {
    /// The round under way at `slot`, or `None` before the first round starts.
    pub fn round_at(&self, slot: u64) -> Option<u64> {
        let elapsed = slot.checked_sub(self.start_slot)?;
        elapsed.checked_div(self.round_length)
    }

    /// The number of rounds that have begun by `slot`: 0 before the start,
    /// `r + 1` during round `r`. Stake added at `slot` counts from this round on.
    pub fn next_round_at(&self, slot: u64) -> u64 {
        self.round_at(slot).map_or(0, |round| round.saturating_add(1))
    }

    /// The round under way at `slot` and how many slots of it have passed.
    pub fn position_at(&self, slot: u64) -> Option<(u64, u64)> {
        let elapsed = slot.checked_sub(self.start_slot)?;
        Some((elapsed.checked_div(self.round_length)?, elapsed.checked_rem(self.round_length)?))
    }

    /// The first slot of `round`, if it fits in a `u64`.
    pub fn round_start(&self, round: u64) -> Option<u64> {
        crate::math::checked_mul(round, self.round_length)?.checked_add(self.start_slot)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    const TIMELINE: Timeline = Timeline { start_slot: 100, round_length: 10 };

    #[test]
    fn rounds_start_at_start_slot() {
        assert_eq!(TIMELINE.round_at(99), None);
        assert_eq!(TIMELINE.round_at(100), Some(0));
        assert_eq!(TIMELINE.round_at(109), Some(0));
        assert_eq!(TIMELINE.round_at(110), Some(1));
        assert_eq!(TIMELINE.next_round_at(0), 0);
        assert_eq!(TIMELINE.next_round_at(105), 1);
        assert_eq!(TIMELINE.position_at(123), Some((2, 3)));
        assert_eq!(TIMELINE.round_start(2), Some(120));
        assert_eq!(TIMELINE.round_start(u64::MAX), None);
    }

    #[test]
    fn each_round_has_its_place_in_the_timeline() {
        assert_eq!(audit_round(5), Some(7));
        assert_eq!(audited_in(7), Some(5));
        assert_eq!(audited_in(1), None);
        assert_eq!(list_round(5, 2), Some(10));
        assert_eq!(listed_in(10, 2), Some(5));
        assert_eq!(listed_in(4, 2), None);
        assert_eq!(attempts_end(5, 2), Some(11));
        assert_eq!(claims_end(5, 2), Some(11 + crate::state::CLAIM_PERIOD_ROUNDS));
        // The round before the oldest kept closed its claims before this round began.
        let current = 40;
        let oldest = oldest_open(current, 2);
        assert_eq!(claims_end(oldest - 1, 2), Some(current - 1));
        assert_eq!(claims_end(oldest, 2), Some(current));
        assert_eq!(list_round(u64::MAX, 1), None);
    }

    #[test]
    fn zero_round_length_is_not_a_panic() {
        let broken = Timeline { start_slot: 0, round_length: 0 };
        assert_eq!(broken.round_at(5), None);
        assert_eq!(broken.position_at(5), None);
    }
}
