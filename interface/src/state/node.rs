use bytemuck::{Pod, Zeroable};

use super::{Account, AccountKind, RoundMark, RoundSet};
use crate::error::GradualError;

pub const MAX_SERVICE_URL_LEN: usize = 128;
pub const MAX_PROOF_LOCATOR_LEN: usize = 64;
/// Recent rounds' submissions kept in the node account, indexed by `round % SUBMISSION_RING`.
pub const SUBMISSION_RING: usize = 8;
/// Stake checkpoints kept: enough to answer "stake for round r" for every
/// round a vote can still concern, back to `current - 3 - MAX_FAILED_DISTRIBUTIONS`
/// (see `PARAMS_HISTORY` for the count).
pub const STAKE_HISTORY: usize = 11;
/// `exit_round` of a node that has not asked to unstake.
pub const NOT_EXITING: u64 = u64::MAX;

/// Total stake counted from `from_round` on.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct StakeCheckpoint {
    pub from_round: u64,
    pub total: u64,
}

/// Submission flag: the entry holds a commitment to a proof.
pub const SUBMISSION_FILLED: u8 = 1;
/// Submission flag: the proof was revealed and matched its commitment.
pub const SUBMISSION_REVEALED: u8 = 8;
/// Submission flag: an audit was raised against this proof.
pub const SUBMISSION_AUDITED: u8 = 2;
/// Submission flag: an upheld audit excluded this proof from the round's
/// rewards and slashed the node.
pub const SUBMISSION_EXCLUDED: u8 = 4;
/// Audit votes (raises included) a node may cast per audited round.
pub const VOTES_PER_ROUND: usize = 8;
/// Distribution lists a node can vote on in one round: one per round whose
/// attempt falls in it, at most `MAX_FAILED_DISTRIBUTIONS + 1`.
pub const DISTRIBUTION_VOTES: usize = 8;

/// One vote this node cast, in an audit of `round`. An all-zero `audit` is an empty entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct VoteRecord {
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub audit: [u8; 32],
    pub round: u64,
}

/// One round's proof: committed in round `r + 1`, revealed in round `r + 2`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct Submission {
    pub round: u64,
    /// Slot at which the commitment landed.
    pub slot: u64,
    /// `proof_commitment(digest, locator, (task, node, round), salt)`.
    pub commitment: [u8; 32],
    /// Digest of the round's full result, once revealed.
    pub digest: [u8; 32],
    pub flags: u8,
    pub locator_len: u8,
    pub _padding: [u8; 6],
    /// Where auditors fetch the full result (e.g. a content id).
    pub locator: [u8; MAX_PROOF_LOCATOR_LEN],
}

const _: () = assert!(core::mem::size_of::<Submission>() == 152);

impl Submission {
    pub fn holds_round(&self, round: u64) -> bool {
        self.flags & SUBMISSION_FILLED != 0 && self.round == round
    }

    pub fn is_revealed(&self) -> bool {
        self.flags & SUBMISSION_REVEALED != 0
    }

    pub fn locator(&self) -> &[u8] {
        super::text(&self.locator, self.locator_len)
    }
}

/// A node: one operator's stake and recent work in one task.
///
/// PDA seeds: `["node", task, operator]`.
///
/// The account's lamports are its rent-exempt minimum plus its latest stake total.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaAccount))]
pub struct Node {
    pub discriminator: u8,
    pub version: u8,
    pub bump: u8,
    pub service_url_len: u8,
    /// 1 when the stake is in the task's mint (held in the task's vault), 0 for lamports.
    pub stake_in_tokens: u8,
    pub _padding: [u8; 3],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub operator: [u8; 32],
    /// First round the node's stake ever counted in.
    pub joined_round: u64,
    /// First round the node's stake no longer counts in; `NOT_EXITING` until it asks to unstake.
    pub exit_round: u64,
    /// Audits raised against this node and not yet resolved.
    pub open_audits: u64,
    /// Lamports ever slashed from this node.
    pub total_slashed: u64,
    /// Oldest first; the last used entry is the current total.
    pub stake_history: [StakeCheckpoint; STAKE_HISTORY],
    pub service_url: [u8; MAX_SERVICE_URL_LEN],
    pub submissions: [Submission; SUBMISSION_RING],
    /// Votes in recent audits; entries of other rounds are free for reuse.
    pub votes: [VoteRecord; VOTES_PER_ROUND],
    /// Votes on distribution lists, keyed by the round the vote was cast in.
    pub distribution_votes: [VoteRecord; DISTRIBUTION_VOTES],
    /// Rounds whose reward was claimed or which an upheld audit excluded.
    pub claimed_rounds: RoundSet,
}

const _: () = assert!(core::mem::size_of::<Node>() == 2280);
const _: () = assert!(core::mem::align_of::<Node>() == 8);

impl Account for Node {
    const KIND: AccountKind = AccountKind::Node;
}

impl Node {
    /// All lamports staked, including stake that counts only from a later round.
    pub fn total_stake(&self) -> u64 {
        self.stake_history[STAKE_HISTORY - 1].total
    }

    /// Stake that counts in `round`: zero from the exit round on.
    pub fn stake_for_round(&self, round: u64) -> u64 {
        if round >= self.exit_round {
            return 0;
        }
        total_for_round(&self.stake_history, round)
    }

    /// Adds `amount` counting from `from_round`, which is never earlier than
    /// any checkpoint already recorded.
    pub fn add_stake(&mut self, amount: u64, from_round: u64) -> Result<(), GradualError> {
        let total = self.total_stake().checked_add(amount).ok_or(GradualError::ArithmeticOverflow)?;
        set_total_from(&mut self.stake_history, from_round, total);
        Ok(())
    }

    /// Removes `amount` from every checkpoint (withdrawals and slashes), so no
    /// round's stake exceeds what the account still holds.
    pub fn remove_stake(&mut self, amount: u64) -> Result<(), GradualError> {
        if amount > self.total_stake() {
            return Err(GradualError::InsufficientStake);
        }
        for checkpoint in &mut self.stake_history {
            checkpoint.total = checkpoint.total.saturating_sub(amount);
        }
        Ok(())
    }

    pub fn is_exiting(&self) -> bool {
        self.exit_round != NOT_EXITING
    }

    pub fn service_url(&self) -> &[u8] {
        super::text(&self.service_url, self.service_url_len)
    }

    /// The ring entry that holds (or would hold) `round`'s proof.
    pub fn submission_slot(&self, round: u64) -> &Submission {
        &self.submissions[ring_index(round)]
    }

    pub fn submission_slot_mut(&mut self, round: u64) -> &mut Submission {
        &mut self.submissions[ring_index(round)]
    }

    /// Records this node's vote in `audit` of `round`: once per audit, at
    /// most `VOTES_PER_ROUND` per round.
    pub fn record_vote(&mut self, round: u64, audit: &[u8; 32]) -> Result<(), GradualError> {
        record_in(&mut self.votes, round, audit)
    }

    /// Records this node's vote on `distribution` during `vote_round`: once
    /// per list and attempt.
    pub fn record_distribution_vote(
        &mut self,
        vote_round: u64,
        distribution: &[u8; 32],
    ) -> Result<(), GradualError> {
        record_in(&mut self.distribution_votes, vote_round, distribution)
    }

    /// Marks `round`'s reward claimed; fails if it already was (or was
    /// excluded, which marks it too).
    pub fn mark_claimed(&mut self, round: u64) -> Result<(), GradualError> {
        self.claimed_rounds.mark(round).map_err(|marked| match marked {
            RoundMark::AlreadyMarked => GradualError::AlreadyClaimed,
            RoundMark::TooOld => GradualError::ClaimPeriodOver,
        })
    }

    /// The commitment for `round`, revealed or not, if the ring still holds it.
    pub fn submission(&self, round: u64) -> Option<&Submission> {
        let entry = self.submission_slot(round);
        entry.holds_round(round).then_some(entry)
    }

    /// The revealed proof for `round`: what audits, lists and claims count.
    pub fn proof(&self, round: u64) -> Option<&Submission> {
        self.submission(round).filter(|entry| entry.is_revealed())
    }
}

/// Records a vote for `key` under `round` in `ring`: refused if already
/// there; entries under other rounds are free for reuse.
fn record_in(ring: &mut [VoteRecord], round: u64, key: &[u8; 32]) -> Result<(), GradualError> {
    let mut free = None;
    for (index, vote) in ring.iter().enumerate() {
        if vote.audit != [0; 32] && vote.round == round {
            if vote.audit == *key {
                return Err(GradualError::AlreadyVoted);
            }
        } else if free.is_none() {
            free = Some(index);
        }
    }
    let index = free.ok_or(GradualError::VoteLimitReached)?;
    ring[index] = VoteRecord { audit: *key, round };
    Ok(())
}

/// The total of the newest checkpoint at or before `round`; 0 before the first.
pub fn total_for_round(history: &[StakeCheckpoint; STAKE_HISTORY], round: u64) -> u64 {
    history
        .iter()
        .rev()
        .find(|checkpoint| checkpoint.from_round <= round)
        .map_or(0, |checkpoint| checkpoint.total)
}

/// Records `total` as counting from `from_round`, never earlier than the
/// newest checkpoint: that checkpoint is updated if it has the same round,
/// otherwise the oldest is dropped to make room.
pub fn set_total_from(history: &mut [StakeCheckpoint; STAKE_HISTORY], from_round: u64, total: u64) {
    if history[STAKE_HISTORY - 1].from_round == from_round {
        history[STAKE_HISTORY - 1].total = total;
    } else {
        history.rotate_left(1);
        history[STAKE_HISTORY - 1] = StakeCheckpoint { from_round, total };
    }
}

fn ring_index(round: u64) -> usize {
    round.checked_rem(SUBMISSION_RING as u64).unwrap_or(0) as usize
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn fresh_node() -> Node {
        let mut node = Node::zeroed();
        node.exit_round = NOT_EXITING;
        node
    }

    #[test]
    fn stake_counts_only_from_its_round() {
        let mut node = fresh_node();
        node.add_stake(100, 3).unwrap();
        node.add_stake(50, 5).unwrap();
        node.add_stake(25, 5).unwrap();
        assert_eq!(node.stake_for_round(2), 0);
        assert_eq!(node.stake_for_round(3), 100);
        assert_eq!(node.stake_for_round(4), 100);
        assert_eq!(node.stake_for_round(5), 175);
        assert_eq!(node.total_stake(), 175);
    }

    #[test]
    fn one_top_up_per_round_keeps_every_round_a_vote_can_reach() {
        let mut node = fresh_node();
        for round in 1..40u64 {
            node.add_stake(round, round + 1).unwrap();
            let current = round;
            for back in 0..(STAKE_HISTORY as u64 - 1) {
                let wanted = current.saturating_sub(back);
                let expected: u64 = (1..wanted).sum();
                assert_eq!(node.stake_for_round(wanted), expected, "round {wanted} at {current}");
            }
        }
    }

    #[test]
    fn exit_and_removal() {
        let mut node = fresh_node();
        node.add_stake(100, 0).unwrap();
        node.add_stake(40, 2).unwrap();
        node.remove_stake(120).unwrap();
        assert_eq!(node.stake_for_round(1), 0);
        assert_eq!(node.stake_for_round(2), 20);
        assert_eq!(node.remove_stake(21), Err(GradualError::InsufficientStake));
        node.exit_round = 4;
        assert_eq!(node.stake_for_round(3), 20);
        assert_eq!(node.stake_for_round(4), 0);
        assert_eq!(node.add_stake(u64::MAX, 5), Err(GradualError::ArithmeticOverflow));
    }

    #[test]
    fn votes_are_once_per_audit_and_limited_per_round() {
        let mut node = fresh_node();
        for index in 0..VOTES_PER_ROUND {
            node.record_vote(5, &[index as u8 + 1; 32]).unwrap();
        }
        assert_eq!(node.record_vote(5, &[1; 32]), Err(GradualError::AlreadyVoted));
        assert_eq!(node.record_vote(5, &[99; 32]), Err(GradualError::VoteLimitReached));
        // A later round reuses the entries of earlier rounds.
        node.record_vote(6, &[1; 32]).unwrap();
        assert_eq!(node.record_vote(6, &[1; 32]), Err(GradualError::AlreadyVoted));
    }

    #[test]
    fn claims_are_once_per_round_across_a_sliding_window() {
        let mut node = fresh_node();
        node.mark_claimed(3).unwrap();
        assert_eq!(node.mark_claimed(3), Err(GradualError::AlreadyClaimed));
        node.mark_claimed(100).unwrap();
        assert_eq!(node.mark_claimed(100), Err(GradualError::AlreadyClaimed));
        node.mark_claimed(90).unwrap();
        assert_eq!(node.mark_claimed(3), Err(GradualError::ClaimPeriodOver));
        node.mark_claimed(1_000_000).unwrap();
        assert_eq!(node.mark_claimed(1_000_000), Err(GradualError::AlreadyClaimed));
    }

    #[test]
    fn ring_holds_recent_rounds_only() {
        let mut node = fresh_node();
        let entry = node.submission_slot_mut(3);
        entry.round = 3;
        entry.flags = SUBMISSION_FILLED;
        assert!(node.submission(3).is_some());
        assert!(node.submission(3 + SUBMISSION_RING as u64).is_none());
        assert!(node.submission(0).is_none());
    }
}
