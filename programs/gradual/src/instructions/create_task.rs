use gradual_interface::event::{Event, TaskCreated};
use gradual_interface::{
    error::GradualError,
    instruction::{expect_end, read_fixed, read_text, CreateTaskArgs},
    pda::TASK_SEED,
    state::{
        Account, ParamsCheckpoint, Task, ACCOUNT_VERSION, MAX_DESCRIPTION_LEN, MAX_EXECUTABLE_LOCATOR_LEN,
        MAX_FAILED_DISTRIBUTIONS, MAX_NAME_LEN, MIN_UNSTAKE_COOLDOWN_ROUNDS, NO_SCHEDULED_PACKAGE,
        UNUSED_CHECKPOINT,
    },
    ID,
};
use pinocchio::{
    cpi::{Seed, Signer},
    AccountView, Address, ProgramResult,
};

use crate::{
    fail,
    shared::{
        accounts,
        create::create_program_account,
        events::emit,
        memory::copy_text,
        tokens::{self, Escrow},
    },
};

struct Data<'a> {
    args: CreateTaskArgs,
    name: &'a [u8],
    description: &'a [u8],
    executable_locator: &'a [u8],
}

impl<'a> TryFrom<&'a [u8]> for Data<'a> {
    type Error = GradualError;

    fn try_from(data: &'a [u8]) -> Result<Self, GradualError> {
        let (args, rest) = read_fixed::<CreateTaskArgs>(data)?;
        let (name, rest) = read_text(rest)?;
        let (description, rest) = read_text(rest)?;
        let (executable_locator, rest) = read_text(rest)?;
        expect_end(rest)?;
        Ok(Self { args, name, description, executable_locator })
    }
}

fn validate(args: &CreateTaskArgs, slot: u64) -> Result<(), GradualError> {
    if args._padding != [0; 1] {
        return Err(GradualError::NonZeroPadding);
    }
    if args.stake_in_lamports > 1 {
        return Err(GradualError::InvalidStakeAsset);
    }
    if args.initial_bounty == 0 {
        return Err(GradualError::ZeroAmount);
    }
    if args.round_length == 0 {
        return Err(GradualError::ZeroRoundLength);
    }
    args.params.validate(args.round_length)?;
    if args.unstake_cooldown_rounds < MIN_UNSTAKE_COOLDOWN_ROUNDS {
        return Err(GradualError::UnstakeCooldownTooShort);
    }
    if args.start_slot < slot {
        return Err(GradualError::StartSlotInPast);
    }
    if args.allowed_failed_distributions > MAX_FAILED_DISTRIBUTIONS {
        return Err(GradualError::TooManyFailedDistributions);
    }
    if args.manager == [0; 32] {
        return Err(GradualError::InvalidManager);
    }
    if args.min_audit_seats == 0 {
        return Err(GradualError::ZeroMinimumSeats);
    }
    if args.audit_committee_seats < args.min_audit_seats {
        return Err(GradualError::InvalidCommitteeSeats);
    }
    Ok(())
}

pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    // A token task adds `[mint, token program, vault, creator's tokens, associated token program]`.
    let ([creator, task_account, system_program], tokens) = accounts::with_tokens::<3, 5>(accounts)?;
    // 1. signers and writable accounts
    accounts::signer(creator)?;
    accounts::writable(creator)?;
    accounts::writable(task_account)?;
    // 2. program ids
    accounts::system_program(system_program)?;

    let data = Data::try_from(data)?;
    let args = &data.args;
    validate(args, accounts::current_slot()?)?;
    if tokens.is_none() && args.stake_in_lamports != 0 {
        return fail(GradualError::InvalidStakeAsset);
    }

    // 3. the task's address
    let task_id = args.task_id.to_le_bytes();
    let bump = [args.bump];
    let expected =
        Address::derive_address(&[TASK_SEED, creator.address().as_ref(), &task_id], Some(args.bump), &ID);
    if *task_account.address() != expected {
        return fail(GradualError::InvalidTaskAddress);
    }

    if data.name.is_empty() || data.name.len() > MAX_NAME_LEN {
        return fail(GradualError::InvalidName);
    }
    if data.description.len() > MAX_DESCRIPTION_LEN {
        return fail(GradualError::InvalidDescription);
    }
    if data.executable_locator.is_empty() || data.executable_locator.len() > MAX_EXECUTABLE_LOCATOR_LEN {
        return fail(GradualError::InvalidExecutableLocator);
    }

    let seeds = [
        Seed::from(TASK_SEED),
        Seed::from(creator.address().as_ref()),
        Seed::from(&task_id),
        Seed::from(&bump),
    ];
    let lamport_bounty = if tokens.is_some() { 0 } else { args.initial_bounty };
    let rent =
        create_program_account(creator, task_account, Task::LEN, lamport_bounty, Signer::from(&seeds))?;
    let lamports = task_account.lamports().checked_sub(rent).ok_or(GradualError::ArithmeticOverflow)?;
    let decimals = match tokens {
        Some([mint, token_program, vault, _, associated_token_program]) => {
            let decimals = tokens::check_mint(mint, token_program)?;
            tokens::create_vault(
                creator,
                task_account,
                [mint, token_program, vault],
                [system_program, associated_token_program],
            )?;
            decimals
        }
        None => 0,
    };

    // The account is new and zeroed: only non-zero fields are written.
    let mut task = accounts::fresh_mut::<Task>(task_account)?;
    task.discriminator = Task::KIND as u8;
    task.version = ACCOUNT_VERSION;
    task.bump = args.bump;
    task.is_active = 1;
    task.allowed_failed_distributions = args.allowed_failed_distributions;
    task.creator = *creator.address().as_array();
    task.manager = args.manager;
    task.task_id = args.task_id;
    task.start_slot = args.start_slot;
    task.round_length = args.round_length;
    task.unstake_cooldown_rounds = args.unstake_cooldown_rounds;
    task.min_audit_seats = args.min_audit_seats;
    task.audit_committee_seats = args.audit_committee_seats;
    if let Some([mint, token_program, vault, ..]) = tokens {
        task.mint = *mint.address().as_array();
        task.token_program = *token_program.address().as_array();
        task.vault = *vault.address().as_array();
        task.decimals = decimals;
        task.stake_in_lamports = args.stake_in_lamports;
        task.forfeited_lamports = lamports;
    } else {
        task.bounty_pool = lamports;
        task.total_funded = lamports;
    }
    task.executable_sha256 = args.executable_sha256;
    task.next_executable_from_round = NO_SCHEDULED_PACKAGE;
    task.params_history[0] = ParamsCheckpoint { from_round: 0, params: args.params };
    for checkpoint in &mut task.params_history[1..] {
        checkpoint.from_round = UNUSED_CHECKPOINT;
    }
    task.name_len = copy_text(&mut task.name, data.name).ok_or(GradualError::InvalidName)?;
    task.description_len = copy_text(&mut task.description, data.description).unwrap_or(0);
    task.executable_locator_len = copy_text(&mut task.executable_locator, data.executable_locator)
        .ok_or(GradualError::InvalidExecutableLocator)?;
    let mut event = TaskCreated {
        head: TaskCreated::head_with(0),
        task: *task_account.address().as_array(),
        creator: task.creator,
        manager: task.manager,
        start_slot: task.start_slot,
        deposited: lamports,
    };
    if let Some([mint, token_program, vault, creator_tokens, _]) = tokens {
        let escrow = Escrow::of(&task, [mint, token_program, vault, creator_tokens])?;
        drop(task);
        event.deposited = escrow.deposit(creator, args.initial_bounty)?;
        let mut task = accounts::task_mut(task_account)?;
        task.bounty_pool = event.deposited;
        task.total_funded = event.deposited;
    }
    emit(&event);
    Ok(())
}
