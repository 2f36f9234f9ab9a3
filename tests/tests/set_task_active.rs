//! SetTaskActive: the manager pauses and resumes; a paused task takes no
//! new stake and no submissions.

use gradual_interface::{builders, error::GradualError};
use gradual_tests::{custom, fixtures::*, TestContext, SOL};
use solana_instruction_error::InstructionError;
use solana_signer::Signer;

#[test]
fn pausing_stops_stake_and_submissions_until_resumed() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let node = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    let manager = &fixture.creator;

    ctx.send_ok(builders::set_task_active(&manager.pubkey(), &fixture.task, false), &[manager]);
    assert!(!ctx.task(&fixture.task).is_active());

    let newcomer = ctx.funded_keypair(10 * SOL);
    let stake = builders::stake(&newcomer.pubkey(), &fixture.task, 2 * SOL, b"http://n");
    ctx.expect_error(stake, &[&newcomer], custom(GradualError::TaskPaused));
    let top_up = builders::stake(&node.operator.pubkey(), &fixture.task, SOL, b"http://n");
    ctx.expect_error(top_up, &[&node.operator], custom(GradualError::TaskPaused));

    ctx.warp_to_round(&fixture.task, 1, 0);
    let submit = || commit_proof(&fixture.task, &node.operator.pubkey(), 0, ([1; 32], b"cid"));
    ctx.expect_error(submit(), &[&node.operator], custom(GradualError::TaskPaused));

    ctx.send_ok(builders::set_task_active(&manager.pubkey(), &fixture.task, true), &[manager]);
    ctx.send_ok(submit(), &[&node.operator]);
    ctx.stake(&newcomer, &fixture.task, 2 * SOL);
}

#[test]
fn only_the_manager_changes_the_state_and_only_to_a_new_one() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let stranger = ctx.funded_keypair(SOL);
    let by_stranger = builders::set_task_active(&stranger.pubkey(), &fixture.task, false);
    ctx.expect_error(by_stranger, &[&stranger], custom(GradualError::ManagerMismatch));

    let mut unsigned = builders::set_task_active(&fixture.creator.pubkey(), &fixture.task, false);
    unsigned.accounts[0].is_signer = false;
    ctx.expect_error(unsigned, &[], InstructionError::MissingRequiredSignature);

    let already_active = builders::set_task_active(&fixture.creator.pubkey(), &fixture.task, true);
    ctx.expect_error(already_active, &[&fixture.creator], custom(GradualError::TaskStateUnchanged));

    let mut bad_flag = builders::set_task_active(&fixture.creator.pubkey(), &fixture.task, true);
    bad_flag.data[1] = 2;
    ctx.expect_error(bad_flag, &[&fixture.creator], custom(GradualError::InvalidInstructionData));
}
