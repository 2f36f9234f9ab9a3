use gradual_interface::error::GradualError;
use pinocchio::{AccountView, ProgramResult};

use crate::{fail, shared::accounts};

/// The node's stake stops counting from the next round; the cooldown starts.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, node_account, task_account] = accounts::exact::<3>(accounts)?;
    // 1. the signing operator, its node and the node's task
    let (mut node, task) = accounts::node_as_operator(operator, node_account, task_account)?;

    if !data.is_empty() {
        return fail(GradualError::InvalidInstructionData);
    }
    if node.is_exiting() {
        return fail(GradualError::NodeExiting);
    }
    node.exit_round = task.timeline().next_round_at(accounts::current_slot()?);
    Ok(())
}
