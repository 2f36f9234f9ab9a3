use gradual_interface::event::{Event, ListResolved};
use gradual_interface::{
    error::GradualError,
    state::{DISTRIBUTION_APPROVED, DISTRIBUTION_FAILED, DISTRIBUTION_PROPOSED, DISTRIBUTION_REJECTED},
};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit, lamports},
};

/// Settles a list after its vote window. Approved: the proposer's bond goes
/// back, a dispute's bond goes to the pool, and the total stays reserved for
/// claims. Rejected: the dispute's bond goes back, the proposer's bond and
/// the total go to the pool, and the next attempt may propose; after the
/// last allowed attempt the round fails and pays nothing.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [distribution_account, task_account, proposer_operator, disputer_operator] =
        accounts::exact::<4>(accounts)?;
    // 1. writable accounts
    accounts::writable(proposer_operator)?;
    accounts::writable(disputer_operator)?;
    // 2. the distribution and the accounts it names
    let mut distribution = accounts::distribution_mut(distribution_account)?;
    let mut task = accounts::task_mut(task_account)?;
    if distribution.task != *task_account.address().as_array()
        || distribution.proposer_operator != *proposer_operator.address().as_array()
        || distribution.disputer_operator != *disputer_operator.address().as_array()
    {
        return fail(GradualError::DistributionAccountMismatch);
    }

    if !data.is_empty() {
        return fail(GradualError::InvalidInstructionData);
    }
    if distribution.status != DISTRIBUTION_PROPOSED {
        return fail(GradualError::DistributionNotOpenForVotes);
    }
    if accounts::current_slot()? < distribution.vote_end {
        return fail(GradualError::DistributionVoteOpen);
    }

    let (bond, dispute_bond) = (distribution.bond, distribution.dispute_bond);
    distribution.bond = 0;
    distribution.dispute_bond = 0;
    let mut event = ListResolved {
        head: ListResolved::head_with(DISTRIBUTION_APPROVED),
        task: distribution.task,
        proposer_operator: distribution.proposer_operator,
        disputer_operator: distribution.disputer_operator,
        round: distribution.round,
        to_proposer: bond,
        to_disputer: 0,
        to_pool: dispute_bond,
        tokens_returned: 0,
    };
    if !distribution.is_rejected() {
        // The list stands: a dispute's bond is forfeited to the pool.
        distribution.status = DISTRIBUTION_APPROVED;
        task.add_pool_lamports(dispute_bond)?;
        drop((distribution, task));
        emit(&event);
        lamports::pay_out(distribution_account, task_account, dispute_bond)?;
        return lamports::pay_out(distribution_account, proposer_operator, bond);
    }
    let reserved = distribution.reserved;
    let returned = bond.checked_add(reserved).ok_or(GradualError::ArithmeticOverflow)?;
    let in_tokens = distribution.reserve_in_tokens != 0;
    distribution.reserved = 0;
    distribution.status = if distribution.attempt >= task.allowed_failed_distributions {
        DISTRIBUTION_FAILED
    } else {
        DISTRIBUTION_REJECTED
    };
    // A token task's reserve never left its vault: only the bond moves.
    let moved = if in_tokens { bond } else { returned };
    task.bounty_pool = task.bounty_pool.checked_add(reserved).ok_or(GradualError::ArithmeticOverflow)?;
    task.add_pool_lamports(bond)?;
    event.head.flag = distribution.status;
    (event.to_proposer, event.to_disputer, event.to_pool) = (0, dispute_bond, moved);
    event.tokens_returned = if in_tokens { reserved } else { 0 };
    emit(&event);
    drop((distribution, task));
    lamports::pay_out(distribution_account, disputer_operator, dispute_bond)?;
    lamports::pay_out(distribution_account, task_account, moved)
}
