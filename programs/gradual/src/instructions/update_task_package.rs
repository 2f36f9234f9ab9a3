use gradual_interface::event::{Event, PackageUpdated};
use gradual_interface::instruction::{expect_end, read_fixed, read_text};
use pinocchio::{AccountView, ProgramResult};

use crate::shared::{accounts, events::emit};

/// Schedules a new package from the next round on; the round under way (or,
/// before the start, nothing) keeps the package it has.
pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [manager, task_account] = accounts::exact::<2>(accounts)?;
    // 1. the signing manager and its task
    let mut task = accounts::task_as_manager(manager, task_account)?;

    let (sha256, rest) = read_fixed::<[u8; 32]>(data)?;
    let (locator, rest) = read_text(rest)?;
    expect_end(rest)?;

    let from_round = task.timeline().next_round_at(accounts::current_slot()?);
    task.schedule_package(from_round, sha256, locator)?;
    emit(&PackageUpdated {
        head: PackageUpdated::head_with(0),
        task: *task_account.address().as_array(),
        sha256,
        from_round,
    });
    Ok(())
}
