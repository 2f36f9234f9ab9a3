//! CloseTask: only when no node is staked and the task is paused or can no
//! longer fund a round; a closed task cannot be revived (security test 14).

use gradual_interface::{builders, error::GradualError};
use gradual_tests::{custom, fixtures::*, TestContext, SOL};
use solana_instruction_error::InstructionError;
use solana_signer::Signer;

#[test]
fn a_task_with_nodes_or_a_funded_active_task_stays_open() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let creator = &fixture.creator;
    let close = || builders::close_task(&creator.pubkey(), &fixture.task);
    ctx.expect_error(close(), &[creator], custom(GradualError::TaskNotFinished));

    let node = NodeFixture::new(&mut ctx, &fixture.task, SOL);
    ctx.send_ok(builders::set_task_active(&creator.pubkey(), &fixture.task, false), &[creator]);
    ctx.expect_error(close(), &[creator], custom(GradualError::TaskHasStake));

    ctx.send_ok(builders::request_unstake(&node.operator.pubkey(), &fixture.task), &[&node.operator]);
    ctx.withdraw(&node.operator, &fixture.task, SOL);
    let before = ctx.lamports(&creator.pubkey());
    let held = ctx.lamports(&fixture.task);
    ctx.close_task(creator, &fixture.task);
    assert_eq!(ctx.lamports(&creator.pubkey()), before + held);
    assert!(!ctx.exists(&fixture.task));
}

#[test]
fn an_active_task_that_cannot_fund_a_round_is_finished() {
    let mut ctx = TestContext::new();
    let creator = ctx.funded_keypair(100 * SOL);
    let mut config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    config.args.initial_bounty = BOUNTY_PER_ROUND - 1;
    let task = ctx.create_task(&creator, &config);
    ctx.close_task(&creator, &task);
}

#[test]
fn only_the_creator_closes() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    ctx.send_ok(
        builders::set_task_active(&fixture.creator.pubkey(), &fixture.task, false),
        &[&fixture.creator],
    );
    let stranger = ctx.funded_keypair(SOL);
    let by_stranger = builders::close_task(&stranger.pubkey(), &fixture.task);
    ctx.expect_error(by_stranger, &[&stranger], custom(GradualError::CreatorMismatch));
    let mut unsigned = builders::close_task(&fixture.creator.pubkey(), &fixture.task);
    unsigned.accounts[0].is_signer = false;
    ctx.expect_error(unsigned, &[], InstructionError::MissingRequiredSignature);
}

#[test]
fn a_closed_task_cannot_be_used_again() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let creator = &fixture.creator;
    ctx.send_ok(builders::set_task_active(&creator.pubkey(), &fixture.task, false), &[creator]);

    // Closing and funding in one transaction: the closed account is already gone.
    let close = builders::close_task(&creator.pubkey(), &fixture.task);
    let fund = builders::fund_task(&creator.pubkey(), &fixture.task, SOL);
    ctx.expect_error_all(&[close, fund.clone()], &[creator], 1, custom(GradualError::InvalidTaskAccount));

    ctx.close_task(creator, &fixture.task);
    ctx.expect_error(fund, &[creator], custom(GradualError::InvalidTaskAccount));
    let operator = ctx.funded_keypair(10 * SOL);
    let stake = builders::stake(&operator.pubkey(), &fixture.task, SOL, b"u");
    ctx.expect_error(stake, &[&operator], custom(GradualError::InvalidTaskAccount));

    // Lamports sent to the dead address do not bring the task back.
    ctx.send_ok(system_transfer(&operator.pubkey(), &fixture.task, SOL), &[&operator]);
    let fund = builders::fund_task(&creator.pubkey(), &fixture.task, SOL);
    ctx.expect_error(fund, &[creator], custom(GradualError::InvalidTaskAccount));
}
