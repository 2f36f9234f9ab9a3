use gradual_interface::error::GradualError;
use pinocchio::{AccountView, ProgramResult};

use crate::{fail, shared::accounts};

pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [manager, task_account] = accounts::exact::<2>(accounts)?;
    // 1. signers
    accounts::signer(manager)?;
    // 2. the task and its manager
    let mut task = accounts::task_mut(task_account)?;
    if task.manager != *manager.address().as_array() {
        return fail(GradualError::ManagerMismatch);
    }

    let active = match data {
        [0] => 0,
        [1] => 1,
        _ => return fail(GradualError::InvalidInstructionData),
    };
    if task.is_active == active {
        return fail(GradualError::TaskStateUnchanged);
    }
    task.is_active = active;
    Ok(())
}
