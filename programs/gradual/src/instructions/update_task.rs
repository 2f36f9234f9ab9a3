use gradual_interface::event::{Event, TaskUpdated};
use gradual_interface::{
    instruction::{expect_end, read_fixed},
    state::{schedule_params, RoundParams},
};
use pinocchio::{AccountView, ProgramResult};

use crate::shared::{accounts, events::emit};

/// Schedules new round parameters from the next round on; the round under
/// way (or, before the start, nothing) keeps what it has.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [manager, task_account] = accounts::exact::<2>(accounts)?;
    // 1. the signing manager and its task
    let mut task = accounts::task_as_manager(manager, task_account)?;

    let (params, rest) = read_fixed::<RoundParams>(data)?;
    expect_end(rest)?;
    params.validate(task.round_length)?;

    let from_round = task.timeline().next_round_at(accounts::current_slot()?);
    schedule_params(&mut task.params_history, from_round, params);
    emit(&TaskUpdated {
        head: TaskUpdated::head_with(0),
        task: *task_account.address().as_array(),
        from_round,
    });
    Ok(())
}
