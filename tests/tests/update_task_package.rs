//! UpdateTaskPackage: a new package runs from the next round on; every
//! round before it keeps the package it ran until nothing can still audit
//! or distribute it.

use gradual_interface::{
    builders,
    error::GradualError,
    state::{MAX_EXECUTABLE_LOCATOR_LEN, NO_SCHEDULED_PACKAGE, PACKAGE_SETTLE_ROUNDS},
};
use gradual_tests::{custom, fixtures::*, TestContext, SOL};
use solana_instruction_error::InstructionError;
use solana_signer::Signer;

fn schedule(ctx: &mut TestContext, fixture: &TaskFixture, sha256: [u8; 32], locator: &[u8]) -> u64 {
    let manager = &fixture.creator;
    ctx.send_ok(builders::update_task_package(&manager.pubkey(), &fixture.task, &sha256, locator), &[manager])
}

#[test]
fn a_package_scheduled_in_round_r_runs_from_round_r_plus_one() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let created = ctx.task(&fixture.task);
    assert_eq!(created.next_executable_from_round, NO_SCHEDULED_PACKAGE, "a new task schedules nothing");
    let original = (created.executable_sha256, created.executable_locator().to_vec());

    ctx.warp_to_round(&fixture.task, 2, 5);
    schedule(&mut ctx, &fixture, [7; 32], b"https://example.com/v2.tar");
    let task = ctx.task(&fixture.task);
    assert_eq!(task.next_executable_from_round, 3);
    for round in 0..=2 {
        let (sha256, locator) = task.executable_for(round);
        assert_eq!((sha256, locator.to_vec()), original, "round {round} keeps its package");
    }
    assert_eq!(task.executable_for(3), ([7; 32], &b"https://example.com/v2.tar"[..]));
    assert_eq!(task.executable_for(1_000).0, [7; 32]);
}

#[test]
fn before_the_start_a_package_replaces_round_zeros() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    schedule(&mut ctx, &fixture, [7; 32], b"v2");
    assert_eq!(ctx.task(&fixture.task).executable_for(0).0, [7; 32]);
}

#[test]
fn a_package_not_yet_in_effect_is_replaced() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    ctx.warp_to_round(&fixture.task, 4, 0);
    schedule(&mut ctx, &fixture, [7; 32], b"v2");
    schedule(&mut ctx, &fixture, [8; 32], b"v3");
    let task = ctx.task(&fixture.task);
    assert_eq!(task.next_executable_from_round, 5);
    assert_eq!(task.executable_for(5), ([8; 32], &b"v3"[..]));
}

/// Round `s` ran the scheduled package: until round `s + PACKAGE_SETTLE_ROUNDS`
/// its audits or distribution attempts may still need it, and the package
/// before it serves the rounds before `s`. A new schedule in round
/// `s + PACKAGE_SETTLE_ROUNDS - 1` (from round `s + PACKAGE_SETTLE_ROUNDS`) is
/// refused; one round later it is taken, and the scheduled package becomes
/// the task's own.
#[test]
fn a_package_in_effect_is_replaced_only_once_it_has_settled() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    ctx.warp_to_round(&fixture.task, 1, 0);
    schedule(&mut ctx, &fixture, [7; 32], b"v2");
    let from = 2;

    let manager = &fixture.creator;
    let last_refused = from + PACKAGE_SETTLE_ROUNDS - 1;
    ctx.warp_to_round(&fixture.task, last_refused, ROUND_LENGTH - 1);
    let update = builders::update_task_package(&manager.pubkey(), &fixture.task, &[9; 32], b"v3");
    ctx.expect_error(update, &[manager], custom(GradualError::PackageChangePending));

    ctx.warp_to_round(&fixture.task, last_refused + 1, 0);
    schedule(&mut ctx, &fixture, [9; 32], b"v3");
    let task = ctx.task(&fixture.task);
    assert_eq!((task.executable_sha256, task.executable_locator()), ([7; 32], &b"v2"[..]));
    assert_eq!(task.next_executable_from_round, last_refused + 2);
    assert_eq!(task.executable_for(last_refused + 1).0, [7; 32]);
    assert_eq!(task.executable_for(last_refused + 2).0, [9; 32]);
}

#[test]
fn bad_locators_and_strangers_are_refused() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let manager = &fixture.creator;
    let update =
        |locator: &[u8]| builders::update_task_package(&manager.pubkey(), &fixture.task, &[7; 32], locator);
    ctx.expect_error(update(b""), &[manager], custom(GradualError::InvalidExecutableLocator));
    let longest = vec![b'a'; MAX_EXECUTABLE_LOCATOR_LEN];
    ctx.send_ok(update(&longest), &[manager]);
    let too_long = vec![b'a'; MAX_EXECUTABLE_LOCATOR_LEN + 1];
    ctx.expect_error(update(&too_long), &[manager], custom(GradualError::InvalidExecutableLocator));

    let stranger = ctx.funded_keypair(SOL);
    let update = builders::update_task_package(&stranger.pubkey(), &fixture.task, &[7; 32], b"v2");
    ctx.expect_error(update, &[&stranger], custom(GradualError::ManagerMismatch));

    let mut unsigned = builders::update_task_package(&manager.pubkey(), &fixture.task, &[7; 32], b"v2");
    unsigned.accounts[0].is_signer = false;
    ctx.expect_error(unsigned, &[], InstructionError::MissingRequiredSignature);

    let mut trailing = builders::update_task_package(&manager.pubkey(), &fixture.task, &[7; 32], b"v2");
    trailing.data.push(0);
    ctx.expect_error(trailing, &[manager], custom(GradualError::InvalidInstructionData));
    let mut short = builders::update_task_package(&manager.pubkey(), &fixture.task, &[7; 32], b"v2");
    short.data.truncate(20);
    ctx.expect_error(short, &[manager], custom(GradualError::InvalidInstructionData));
}
