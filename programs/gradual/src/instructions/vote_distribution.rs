use gradual_interface::event::{Event, ListVoted};
use gradual_interface::{error::GradualError, round::list_round, state::DISTRIBUTION_PROPOSED};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit, lamports},
};

/// Adds the voter's stake for the list's round to one side of the list. The
/// first dispute of an attempt posts the bond that makes disputes cost
/// something. Writes the voter's node and the distribution, and moves
/// lamports only for that first dispute.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, voter_account, distribution_account, system_program] = accounts::exact::<4>(accounts)?;
    // 1. signers and program ids
    accounts::signer(operator)?;
    accounts::system_program(system_program)?;
    // 2. the voter's node (operated by the signer) and a list of its task
    let mut voter = accounts::node_mut(voter_account)?;
    if voter.operator != *operator.address().as_array() {
        return fail(GradualError::OperatorMismatch);
    }
    let mut distribution = accounts::distribution_mut(distribution_account)?;
    if voter.task != distribution.task {
        return fail(GradualError::NodeTaskMismatch);
    }
    if distribution.proposer == *voter_account.address().as_array() {
        return fail(GradualError::ProposerCannotVote);
    }

    let valid = match data {
        [0] => false,
        [1] => true,
        _ => return fail(GradualError::InvalidInstructionData),
    };
    if distribution.status != DISTRIBUTION_PROPOSED {
        return fail(GradualError::DistributionNotOpenForVotes);
    }
    let slot = accounts::current_slot()?;
    if slot < distribution.vote_start || slot >= distribution.vote_end {
        return fail(GradualError::OutsideDistributionAuditWindow);
    }
    // A list stands unless disputed, so nodes vote only to dispute or to answer
    // a dispute. Disputes close at the window's half, rounded up: every
    // dispute leaves at least the second half to answer it.
    if !valid && slot >= distribution.dispute_end().ok_or(GradualError::ArithmeticOverflow)? {
        return fail(GradualError::DisputeWindowClosed);
    }
    let weight = voter.stake_for_round(distribution.round);
    if weight < distribution.min_stake {
        return fail(GradualError::StakeNotActiveForRound);
    }
    // The attempt's vote falls in round r + 3 + a: one vote per list and attempt.
    let vote_round =
        list_round(distribution.round, distribution.attempt).ok_or(GradualError::ArithmeticOverflow)?;
    voter.record_distribution_vote(vote_round, distribution_account.address().as_array())?;

    let side = if valid { &mut distribution.valid_weight } else { &mut distribution.invalid_weight };
    *side = side.checked_add(weight).ok_or(GradualError::ArithmeticOverflow)?;
    distribution.voter_count =
        distribution.voter_count.checked_add(1).ok_or(GradualError::ArithmeticOverflow)?;

    // The first dispute posts a bond as large as the proposer's: forfeited if
    // the list stands, so no node can fail rounds for free.
    let mut event = ListVoted {
        head: ListVoted::head_with(u8::from(valid)),
        task: distribution.task,
        voter: *voter_account.address().as_array(),
        round: distribution.round,
        weight,
        dispute_bond: 0,
    };
    if valid || distribution.dispute_bond != 0 {
        emit(&event);
        return Ok(());
    }
    accounts::writable(operator)?;
    let bond = distribution.bond;
    event.dispute_bond = bond;
    emit(&event);
    distribution.dispute_bond = bond;
    distribution.disputer_operator = *operator.address().as_array();
    drop((voter, distribution));
    lamports::pay_in(operator, distribution_account, bond)
}
