use gradual_interface::event::{Event, ListExpired};
use gradual_interface::{
    error::GradualError,
    round::attempts_end,
    state::{DISTRIBUTION_APPROVED, DISTRIBUTION_FAILED, DISTRIBUTION_REJECTED},
};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit, lamports},
};

/// Closes a distribution whose business is done: approved and past its claim
/// period, failed, or rejected with no attempt left. What is left of its
/// reserve returns to the pool; its rent returns to whoever paid it.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [distribution_account, task_account, payer] = accounts::exact::<3>(accounts)?;
    // 1. writable accounts
    accounts::writable(payer)?;
    // 2. the distribution and the accounts it names
    let distribution = *accounts::distribution_mut(distribution_account)?;
    let mut task = accounts::task_mut(task_account)?;
    if distribution.task != *task_account.address().as_array()
        || distribution.payer != *payer.address().as_array()
    {
        return fail(GradualError::DistributionAccountMismatch);
    }

    if !data.is_empty() {
        return fail(GradualError::InvalidInstructionData);
    }
    let slot = accounts::current_slot()?;
    // A rejected round with no attempt left is over once its last attempt's round is.
    let attempts_over = attempts_end(distribution.round, task.allowed_failed_distributions)
        .and_then(|round| task.timeline().round_start(round))
        .is_some_and(|end| slot >= end);
    let expired = match distribution.status {
        DISTRIBUTION_APPROVED => slot >= distribution.claim_deadline,
        DISTRIBUTION_FAILED => true,
        DISTRIBUTION_REJECTED => attempts_over,
        _ => false,
    };
    if !expired {
        return fail(GradualError::DistributionNotExpired);
    }

    task.bounty_pool =
        task.bounty_pool.checked_add(distribution.reserved).ok_or(GradualError::ArithmeticOverflow)?;
    task.add_pool_lamports(distribution.bond)?;
    // A token list's reserve never left the vault: only the bond moves.
    let (moved, tokens_returned) = if distribution.reserve_in_tokens != 0 {
        (distribution.bond, distribution.reserved)
    } else {
        (distribution.reserved.checked_add(distribution.bond).ok_or(GradualError::ArithmeticOverflow)?, 0)
    };
    task.open_distributions =
        task.open_distributions.checked_sub(1).ok_or(GradualError::ArithmeticOverflow)?;
    drop(task);
    let rent = distribution_account.lamports().checked_sub(moved).ok_or(GradualError::ArithmeticOverflow)?;
    emit(&ListExpired {
        head: ListExpired::head_with(distribution.status),
        task: distribution.task,
        payer: distribution.payer,
        round: distribution.round,
        returned: moved,
        rent,
        tokens_returned,
    });
    lamports::pay_out(distribution_account, task_account, moved)?;
    lamports::close(distribution_account, payer)
}
