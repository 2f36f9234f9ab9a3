use gradual_interface::event::{Event, TaskFunded};
use gradual_interface::{error::GradualError, instruction::read_u64_exact};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit, lamports::pay_in},
};

pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [funder, task_account, system_program] = accounts::exact::<3>(accounts)?;
    // 1. signers and writable accounts
    accounts::signer(funder)?;
    accounts::writable(funder)?;
    // 2. program ids
    accounts::system_program(system_program)?;
    // 3. the task
    let mut task = accounts::task_mut(task_account)?;

    let amount = read_u64_exact(data)?;
    if amount == 0 {
        return fail(GradualError::ZeroAmount);
    }
    task.bounty_pool = task.bounty_pool.checked_add(amount).ok_or(GradualError::ArithmeticOverflow)?;
    task.total_funded = task.total_funded.checked_add(amount).ok_or(GradualError::ArithmeticOverflow)?;
    emit(&TaskFunded {
        head: TaskFunded::head_with(0),
        task: *task_account.address().as_array(),
        funder: *funder.address().as_array(),
        amount,
        bounty_pool: task.bounty_pool,
    });
    drop(task);
    pay_in(funder, task_account, amount)
}
