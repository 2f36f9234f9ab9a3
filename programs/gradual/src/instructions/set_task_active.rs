use gradual_interface::error::GradualError;
use gradual_interface::event::{Event, TaskActiveSet};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit},
};

pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [manager, task_account] = accounts::exact::<2>(accounts)?;
    // 1. the signing manager and its task
    let mut task = accounts::task_as_manager(manager, task_account)?;

    let active = match data {
        [0] => 0,
        [1] => 1,
        _ => return fail(GradualError::InvalidInstructionData),
    };
    if task.is_active == active {
        return fail(GradualError::TaskStateUnchanged);
    }
    task.is_active = active;
    emit(&TaskActiveSet { head: TaskActiveSet::head_with(active), task: *task_account.address().as_array() });
    Ok(())
}
