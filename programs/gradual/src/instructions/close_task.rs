use gradual_interface::error::GradualError;
use gradual_interface::event::{Event, TaskClosed};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit, lamports, tokens::Escrow},
};

/// The creator takes back the unallocated bounty and the rent once no node
/// is staked and the task is paused or can no longer fund a round.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    // A token task adds `[mint, token program, vault, creator's tokens]`.
    let ([creator, task_account], tokens) = accounts::with_tokens::<2, 4>(accounts)?;
    // 1. signers and writable accounts
    accounts::signer(creator)?;
    accounts::writable(creator)?;
    // 2. the task and its creator
    let task = accounts::task_mut(task_account)?;
    if task.creator != *creator.address().as_array() {
        return fail(GradualError::CreatorMismatch);
    }

    if !data.is_empty() {
        return fail(GradualError::InvalidInstructionData);
    }
    if task.node_count != 0 {
        return fail(GradualError::TaskHasStake);
    }
    if task.open_distributions != 0 {
        return fail(GradualError::TaskHasOpenDistributions);
    }
    if task.is_active() {
        let current_round = task.timeline().round_at(accounts::current_slot()?).unwrap_or(0);
        if task.bounty_pool >= task.params_for(current_round)?.bounty_per_round {
            return fail(GradualError::TaskNotFinished);
        }
    }
    let mut event = TaskClosed {
        head: TaskClosed::head_with(0),
        task: *task_account.address().as_array(),
        creator: *creator.address().as_array(),
        refunded: 0,
        tokens_refunded: 0,
        tokens_received: 0,
    };
    // The vault's whole balance, tokens sent to it directly included, goes
    // back with its rent; withheld transfer fees must be harvested first.
    if let Some(tokens) = accounts::tokens_if(task.pays_in_tokens(), tokens)? {
        let escrow = Escrow::appended(&task, tokens)?;
        drop(task);
        (event.tokens_refunded, event.tokens_received) =
            escrow.empty_and_close(task_account, creator.address().as_array(), creator)?;
    } else {
        drop(task);
    }
    event.refunded = task_account.lamports();
    emit(&event);
    lamports::close(task_account, creator)
}
