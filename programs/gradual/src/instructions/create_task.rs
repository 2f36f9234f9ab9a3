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
    shared::{accounts, create::create_program_account, events::emit, memory::copy_text},
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
    if args._padding != [0; 2] {
        return Err(GradualError::NonZeroPadding);
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
    let [creator, task_account, system_program] = accounts::exact::<3>(accounts)?;
    // 1. signers and writable accounts
    accounts::signer(creator)?;
    accounts::writable(creator)?;
    accounts::writable(task_account)?;
    // 2. program ids
    accounts::system_program(system_program)?;

    let data = Data::try_from(data)?;
    let args = &data.args;
    validate(args, accounts::current_slot()?)?;

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
    let rent =
        create_program_account(creator, task_account, Task::LEN, args.initial_bounty, Signer::from(&seeds))?;
    let deposited = task_account.lamports().checked_sub(rent).ok_or(GradualError::ArithmeticOverflow)?;

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
    task.bounty_pool = deposited;
    task.total_funded = deposited;
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
    emit(&TaskCreated {
        head: TaskCreated::head_with(0),
        task: *task_account.address().as_array(),
        creator: task.creator,
        manager: task.manager,
        start_slot: task.start_slot,
        deposited,
    });
    Ok(())
}
