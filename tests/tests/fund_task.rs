//! FundTask: anyone adds to the bounty; amounts are checked.

use gradual_interface::{builders, error::GradualError};
use gradual_tests::{custom, fixtures::*, TestContext, SOL};
use solana_instruction_error::InstructionError;
use solana_signer::Signer;

#[test]
fn anyone_can_fund_even_a_paused_task() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let stranger = ctx.funded_keypair(10 * SOL);
    let before = ctx.lamports(&stranger.pubkey());
    ctx.fund(&stranger, &fixture.task, 3 * SOL);
    assert_eq!(ctx.lamports(&stranger.pubkey()), before - 3 * SOL);
    let task = ctx.task(&fixture.task);
    assert_eq!(task.bounty_pool, INITIAL_BOUNTY + 3 * SOL);
    assert_eq!(task.total_funded, INITIAL_BOUNTY + 3 * SOL);

    ctx.send_ok(
        builders::set_task_active(&fixture.creator.pubkey(), &fixture.task, false),
        &[&fixture.creator],
    );
    ctx.fund(&stranger, &fixture.task, 1);
    assert_eq!(ctx.task(&fixture.task).bounty_pool, INITIAL_BOUNTY + 3 * SOL + 1);
}

#[test]
fn zero_overflowing_and_unaffordable_amounts_fail() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let funder = ctx.funded_keypair(SOL);
    let fund = |amount| builders::fund_task(&funder.pubkey(), &fixture.task, amount);
    ctx.expect_error(fund(0), &[&funder], custom(GradualError::ZeroAmount));
    ctx.expect_error(fund(u64::MAX), &[&funder], custom(GradualError::ArithmeticOverflow));
    ctx.expect_error(fund(2 * SOL), &[&funder], custom(GradualError::InsufficientFunds));
    let mut short = fund(1);
    short.data.pop();
    ctx.expect_error(short, &[&funder], custom(GradualError::InvalidInstructionData));
}

#[test]
fn the_funder_must_sign() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let funder = ctx.funded_keypair(SOL);
    let mut instruction = builders::fund_task(&funder.pubkey(), &fixture.task, 1);
    instruction.accounts[0].is_signer = false;
    ctx.expect_error(instruction, &[], InstructionError::MissingRequiredSignature);
}
