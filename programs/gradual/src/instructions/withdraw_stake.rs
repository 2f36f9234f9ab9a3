use gradual_interface::event::{Event, StakeWithdrawn};
use gradual_interface::{
    error::GradualError,
    instruction::read_u64_exact,
    state::{Node, StakeRemoval},
};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit, lamports, tokens::Escrow},
};

/// A node may withdraw once its stake never counted, or once
/// `unstake_cooldown_rounds` whole rounds have passed since its last active
/// round; never while an audit against it is open.
fn cooldown_elapsed(node: &Node, current_round: Option<u64>, cooldown: u64) -> bool {
    if node.exit_round <= node.joined_round {
        return true;
    }
    match (current_round, node.exit_round.checked_add(cooldown)) {
        (Some(round), Some(unlock_round)) => round >= unlock_round,
        _ => false,
    }
}

pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    // Stake in the task's mint adds `[mint, token program, vault, operator's tokens]`.
    let ([operator, node_account, task_account], tokens) = accounts::with_tokens::<3, 4>(accounts)?;
    // 1. signers and writable accounts
    accounts::signer(operator)?;
    accounts::writable(operator)?;
    // 2. the node, its task and its operator
    let mut node = accounts::node_mut(node_account)?;
    let mut task = accounts::task_mut(task_account)?;
    accounts::node_of(&node, task_account, operator)?;

    let amount = read_u64_exact(data)?;
    // Zero is allowed only to close a node that a slash has emptied.
    if amount == 0 && node.total_stake() != 0 {
        return fail(GradualError::ZeroAmount);
    }
    if !node.is_exiting() {
        return fail(GradualError::NodeNotExiting);
    }
    let slot = accounts::current_slot()?;
    let current_round = task.timeline().round_at(slot);
    if !cooldown_elapsed(&node, current_round, task.unstake_cooldown_rounds) {
        return fail(GradualError::CooldownNotElapsed);
    }
    if node.open_audits != 0 {
        return fail(GradualError::OpenAuditsPending);
    }
    if amount > node.total_stake() {
        return fail(GradualError::InsufficientStake);
    }

    let closing = amount == node.total_stake();
    let removal = if closing { StakeRemoval::Closed } else { StakeRemoval::FromExitingNode };
    task.count_stake_removed(slot, amount, removal)?;
    let escrow = match accounts::tokens_if(node.stake_in_tokens != 0, tokens)? {
        Some(tokens) => Some(Escrow::appended(&task, tokens)?),
        None => None,
    };
    drop(task);
    let mut event = StakeWithdrawn {
        head: StakeWithdrawn::head_with(u8::from(closing)),
        task: *task_account.address().as_array(),
        node: *node_account.address().as_array(),
        operator: *operator.address().as_array(),
        amount,
        paid: amount,
    };
    if !closing {
        node.remove_stake(amount)?;
    }
    drop(node);
    match &escrow {
        // `paid` is what reached the operator's token account; the node's rent is returned, not stated.
        Some(escrow) => event.paid = escrow.pay_out(task_account, operator.address().as_array(), amount)?,
        None if closing => event.paid = node_account.lamports(),
        None => {}
    }
    emit(&event);
    match (closing, escrow.is_some()) {
        (true, _) => lamports::close(node_account, operator),
        (false, true) => Ok(()),
        (false, false) => lamports::pay_out(node_account, operator, amount),
    }
}
