use gradual_interface::error::GradualError;
use gradual_interface::event::{Event, UnstakeRequested};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit},
};

/// The node's stake stops counting from the next round; the cooldown starts.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, node_account, task_account] = accounts::exact::<3>(accounts)?;
    // 1. the signing operator, its node and the node's task
    accounts::signer(operator)?;
    let mut node = accounts::node_mut(node_account)?;
    let mut task = accounts::task_mut(task_account)?;
    accounts::node_of(&node, task_account, operator)?;

    if !data.is_empty() {
        return fail(GradualError::InvalidInstructionData);
    }
    if node.is_exiting() {
        return fail(GradualError::NodeExiting);
    }
    let slot = accounts::current_slot()?;
    node.exit_round = task.timeline().next_round_at(slot);
    task.count_stake_exiting(slot, node.total_stake())?;
    emit(&UnstakeRequested {
        head: UnstakeRequested::head_with(0),
        task: *task_account.address().as_array(),
        node: *node_account.address().as_array(),
        exit_round: node.exit_round,
        total_stake: node.total_stake(),
    });
    Ok(())
}
