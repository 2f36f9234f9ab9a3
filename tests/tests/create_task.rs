//! CreateTask: success, every validation error, address checks, pre-funding.

use gradual_interface::{
    builders::{self, CreateTaskConfig},
    error::GradualError,
    pda::find_task_address,
    state::{
        Account, Task, MAX_FAILED_DISTRIBUTIONS, MIN_AUDIT_BOND, MIN_UNSTAKE_COOLDOWN_ROUNDS,
        UNUSED_CHECKPOINT,
    },
};
use gradual_tests::{custom, fixtures::*, Flow, TestContext, SOL};
use solana_account::Account as SolanaAccount;
use solana_keypair::Keypair;
use solana_signer::Signer;

fn setup() -> (TestContext, Keypair, CreateTaskConfig) {
    let mut ctx = TestContext::new();
    let creator = ctx.funded_keypair(1_000 * SOL);
    let config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    (ctx, creator, config)
}

#[test]
fn creates_the_task_with_every_field() {
    let (mut ctx, creator, config) = setup();
    let creator_before = ctx.lamports(&creator.pubkey());
    let task_address = ctx.create_task(&creator, &config);

    let task = ctx.task(&task_address);
    let rent = ctx.svm.minimum_balance_for_rent_exemption(Task::LEN);
    assert_eq!(ctx.lamports(&task_address), rent + INITIAL_BOUNTY);
    assert_eq!(ctx.lamports(&creator.pubkey()), creator_before - rent - INITIAL_BOUNTY);
    assert_eq!(task.creator, creator.pubkey().to_bytes());
    assert_eq!(task.manager, creator.pubkey().to_bytes());
    assert_eq!(task.task_id, 7);
    assert_eq!(task.start_slot, config.args.start_slot);
    assert_eq!(task.round_length, ROUND_LENGTH);
    assert_eq!(task.bounty_pool, INITIAL_BOUNTY);
    assert_eq!(task.total_funded, INITIAL_BOUNTY);
    assert_eq!(task.node_count, 0);
    assert_eq!(task.bump, find_task_address(&creator.pubkey(), 7).1);
    assert_eq!(task.executable_sha256, [0xab; 32]);
    assert_eq!(task.executable_locator(), b"builtin:hello");
    assert_eq!(task.description(), b"stores Hello, World! every round");
    assert_eq!(*task.params_for(0).unwrap(), round_params());
    assert_eq!(task.params_history[1].from_round, UNUSED_CHECKPOINT);
    assert!(task.is_active());
}

#[test]
fn every_invalid_parameter_has_its_own_error() {
    type Break = fn(&mut CreateTaskConfig, u64);
    let cases: Vec<(Break, GradualError)> = vec![
        (|c, _| c.args.initial_bounty = 0, GradualError::ZeroAmount),
        (|c, _| c.args.round_length = 0, GradualError::ZeroRoundLength),
        (|c, _| c.args.params.bounty_per_round = 0, GradualError::ZeroBountyPerRound),
        (|c, _| c.args.params.submission_window = 0, GradualError::ZeroWindow),
        (|c, _| c.args.params.audit_window = 0, GradualError::ZeroWindow),
        (|c, _| c.args.params.distribution_window = 0, GradualError::ZeroWindow),
        (|c, _| c.args.params.distribution_audit_window = 0, GradualError::ZeroWindow),
        (|c, _| c.args.params.audit_window = 81, GradualError::SubmissionWindowsExceedRound),
        (|c, _| c.args.params.distribution_audit_window = 81, GradualError::DistributionWindowsExceedRound),
        (|c, _| c.args.params.min_stake = 0, GradualError::ZeroMinimumStake),
        (|c, _| c.args.min_audit_seats = 0, GradualError::ZeroMinimumSeats),
        (
            |c, _| {
                c.args.round_length = 1_000;
                c.args.params.distribution_window = 501;
            },
            GradualError::InvalidDistributionWindow,
        ),
        (|c, _| c.args.params.distribution_window = 7, GradualError::InvalidDistributionWindow),
        (|c, _| c.args.params.audit_window = 1, GradualError::AuditWindowTooShort),
        (|c, _| c.args.params.distribution_audit_window = 1, GradualError::AuditWindowTooShort),
        (
            |c, _| {
                c.args.round_length = 2_000;
                c.args.params.audit_window = 1_001;
            },
            GradualError::AuditWindowTooLong,
        ),
        (|c, _| c.args.audit_committee_seats = 0, GradualError::InvalidCommitteeSeats),
        (
            |c, _| {
                c.args.min_audit_seats = 5;
                c.args.audit_committee_seats = 4;
            },
            GradualError::InvalidCommitteeSeats,
        ),
        (|c, _| c.args.params.slash_rate_bps = 10_001, GradualError::SlashRateTooHigh),
        (|c, _| c.args.params.audit_bond = 0, GradualError::AuditBondBelowRent),
        (|c, _| c.args.params.audit_bond = MIN_AUDIT_BOND - 1, GradualError::AuditBondBelowRent),
        (
            |c, _| c.args.unstake_cooldown_rounds = MIN_UNSTAKE_COOLDOWN_ROUNDS - 1,
            GradualError::UnstakeCooldownTooShort,
        ),
        (|c, now| c.args.start_slot = now - 1, GradualError::StartSlotInPast),
        (
            |c, _| c.args.allowed_failed_distributions = MAX_FAILED_DISTRIBUTIONS + 1,
            GradualError::TooManyFailedDistributions,
        ),
        (|c, _| c.args.manager = [0; 32], GradualError::InvalidManager),
        (|c, _| c.args._padding[0] = 1, GradualError::NonZeroPadding),
        (|c, _| c.args.params._padding[0] = 1, GradualError::NonZeroPadding),
        (|c, _| c.name.clear(), GradualError::InvalidName),
        (|c, _| c.name = vec![b'n'; 33], GradualError::InvalidName),
        (|c, _| c.description = vec![b'd'; 193], GradualError::InvalidDescription),
        (|c, _| c.executable_locator.clear(), GradualError::InvalidExecutableLocator),
        (|c, _| c.executable_locator = vec![b'l'; 129], GradualError::InvalidExecutableLocator),
    ];
    let (mut ctx, creator, config) = setup();
    let now = ctx.slot();
    for (break_it, expected) in cases {
        let mut broken = config.clone();
        break_it(&mut broken, now);
        ctx.expect_error(builders::create_task(&creator.pubkey(), &broken), &[&creator], custom(expected));
    }
}

#[test]
fn limits_are_inclusive() {
    let (mut ctx, creator, mut config) = setup();
    config.name = vec![b'n'; 32];
    config.description = vec![b'd'; 192];
    config.executable_locator = vec![b'l'; 128];
    config.args.params.audit_window = 80;
    config.args.params.distribution_audit_window = 80;
    config.args.params.slash_rate_bps = 10_000;
    config.args.start_slot = ctx.slot();
    config.args.allowed_failed_distributions = MAX_FAILED_DISTRIBUTIONS;
    config.args.unstake_cooldown_rounds = MIN_UNSTAKE_COOLDOWN_ROUNDS;
    let task = ctx.create_task(&creator, &config);
    assert_eq!(ctx.task(&task).name(), &[b'n'; 32][..]);
    assert_eq!(ctx.task(&task).description().len(), 192);
}

#[test]
fn truncated_or_padded_data_is_rejected() {
    let (mut ctx, creator, config) = setup();
    let instruction = builders::create_task(&creator.pubkey(), &config);
    for cut in [1, 2, 100, instruction.data.len() - 1] {
        let mut short = instruction.clone();
        short.data.truncate(cut);
        ctx.expect_error(short, &[&creator], custom(GradualError::InvalidInstructionData));
    }
    let mut long = instruction;
    long.data.push(0);
    ctx.expect_error(long, &[&creator], custom(GradualError::InvalidInstructionData));
}

#[test]
fn the_task_address_must_be_the_creators_pda() {
    let (mut ctx, creator, config) = setup();
    // Another creator's PDA.
    let other = Keypair::new();
    let mut instruction = builders::create_task(&creator.pubkey(), &config);
    instruction.accounts[1].pubkey = find_task_address(&other.pubkey(), 7).0;
    ctx.expect_error(instruction, &[&creator], custom(GradualError::InvalidTaskAddress));
    // Another task id's PDA.
    let mut instruction = builders::create_task(&creator.pubkey(), &config);
    instruction.accounts[1].pubkey = find_task_address(&creator.pubkey(), 8).0;
    ctx.expect_error(instruction, &[&creator], custom(GradualError::InvalidTaskAddress));
    // A bump that is not the one the address was made with.
    let mut instruction = builders::create_task(&creator.pubkey(), &config);
    let bump_offset = 1 + 169;
    instruction.data[bump_offset] = instruction.data[bump_offset].wrapping_sub(1);
    ctx.expect_error(instruction, &[&creator], custom(GradualError::InvalidTaskAddress));
}

#[test]
fn a_task_cannot_be_created_twice() {
    let (mut ctx, creator, config) = setup();
    ctx.create_task(&creator, &config);
    ctx.expect_error(
        builders::create_task(&creator.pubkey(), &config),
        &[&creator],
        custom(GradualError::AccountAlreadyInUse),
    );
}

#[test]
fn lamports_sent_to_the_address_beforehand_are_not_lost() {
    let rent = TestContext::new().svm.minimum_balance_for_rent_exemption(Task::LEN);
    // Below rent they lower what the creator pays; above it they join the bounty.
    for (prefund, extra_bounty) in [(1_000_000, 0), (rent + 5, 5)] {
        let (mut ctx, creator, config) = setup();
        let (task_address, _) = find_task_address(&creator.pubkey(), 7);
        let griefer = ctx.funded_keypair(SOL);
        let transfer = system_transfer(&griefer.pubkey(), &task_address, prefund);
        ctx.send_ok(transfer, &[&griefer]);
        let creator_before = ctx.lamports(&creator.pubkey());
        let instruction = builders::create_task(&creator.pubkey(), &config);
        ctx.send_flow_ok(instruction, &[&creator], Flow::deposit(INITIAL_BOUNTY + extra_bounty));
        assert_eq!(ctx.task(&task_address).bounty_pool, INITIAL_BOUNTY + extra_bounty);
        let paid = creator_before - ctx.lamports(&creator.pubkey());
        assert_eq!(paid, INITIAL_BOUNTY + rent.saturating_sub(prefund));
    }
}

#[test]
fn an_address_owned_by_another_program_is_refused() {
    let (mut ctx, creator, config) = setup();
    let (task_address, _) = find_task_address(&creator.pubkey(), 7);
    let squatter = SolanaAccount {
        lamports: SOL,
        data: vec![0; 8],
        owner: Keypair::new().pubkey(),
        executable: false,
        rent_epoch: 0,
    };
    ctx.svm.set_account(task_address, squatter).unwrap();
    ctx.expect_error(
        builders::create_task(&creator.pubkey(), &config),
        &[&creator],
        custom(GradualError::AccountAlreadyInUse),
    );
}

#[test]
fn amounts_beyond_the_creators_means_fail_cleanly() {
    let (mut ctx, _, config) = setup();
    let poor = ctx.funded_keypair(SOL);
    let mut config = config;
    config.args.manager = poor.pubkey().to_bytes();
    config.args.initial_bounty = 2 * SOL;
    let instruction = builders::create_task(&poor.pubkey(), &config);
    ctx.expect_error(instruction, &[&poor], custom(GradualError::InsufficientFunds));
    config.args.initial_bounty = u64::MAX;
    let instruction = builders::create_task(&poor.pubkey(), &config);
    ctx.expect_error(instruction, &[&poor], custom(GradualError::ArithmeticOverflow));
}
