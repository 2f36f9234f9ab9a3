use gradual_interface::error::GradualError;
use pinocchio::{AccountView, ProgramResult};

use crate::{fail, shared::accounts};

/// The node's stake stops counting from the next round; the cooldown starts.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, node_account, task_account] = accounts::exact::<3>(accounts)?;
    // 1. signers
    accounts::signer(operator)?;
    // 2. the node, its task and its operator
    let mut node = accounts::node_mut(node_account)?;
    let task = accounts::task(task_account)?;
    accounts::node_of(&node, task_account, operator)?;

    if !data.is_empty() {
        return fail(GradualError::InvalidInstructionData);
    }
    if node.is_exiting() {
        return fail(GradualError::NodeExiting);
    }
    node.exit_round = task.timeline().next_round_at(accounts::current_slot()?);
    Ok(())
}
