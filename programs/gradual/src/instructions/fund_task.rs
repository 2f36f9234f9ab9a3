use gradual_interface::event::{Event, TaskFunded};
use gradual_interface::{error::GradualError, instruction::read_u64_exact};
use pinocchio::{AccountView, ProgramResult};

use crate::{
    fail,
    shared::{accounts, events::emit, lamports::pay_in, tokens::Escrow},
};

pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    // A token task adds `[mint, token program, vault, funder's tokens]`.
    let ([funder, task_account, system_program], tokens) = accounts::with_tokens::<3, 4>(accounts)?;
    // 1. signers and writable accounts
    accounts::signer(funder)?;
    accounts::writable(funder)?;
    // 2. program ids
    accounts::system_program(system_program)?;
    // 3. the task
    let task = accounts::task_mut(task_account)?;
    let tokens = accounts::tokens_if(task.pays_in_tokens(), tokens)?;

    let amount = read_u64_exact(data)?;
    if amount == 0 {
        return fail(GradualError::ZeroAmount);
    }
    // What arrives is at most `amount`: overflow is refused before anything moves.
    if task.bounty_pool.checked_add(amount).is_none() || task.total_funded.checked_add(amount).is_none() {
        return fail(GradualError::ArithmeticOverflow);
    }
    let arrived = match tokens {
        Some(tokens) => {
            let escrow = Escrow::appended(&task, tokens)?;
            drop(task);
            escrow.deposit(funder, amount)?
        }
        None => {
            drop(task);
            pay_in(funder, task_account, amount)?;
            amount
        }
    };
    let mut task = accounts::task_mut(task_account)?;
    task.bounty_pool = task.bounty_pool.checked_add(arrived).ok_or(GradualError::ArithmeticOverflow)?;
    task.total_funded = task.total_funded.checked_add(arrived).ok_or(GradualError::ArithmeticOverflow)?;
    emit(&TaskFunded {
        head: TaskFunded::head_with(0),
        task: *task_account.address().as_array(),
        funder: *funder.address().as_array(),
        amount: arrived,
        bounty_pool: task.bounty_pool,
    });
    Ok(())
}
