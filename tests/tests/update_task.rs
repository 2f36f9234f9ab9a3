//! UpdateTask: new parameters apply from the next round, never to the round
//! under way (security test 13).

use gradual_interface::{builders, error::GradualError};
use gradual_tests::{custom, fixtures::*, TestContext, SOL};
use solana_instruction_error::InstructionError;
use solana_signer::Signer;

#[test]
fn a_change_during_round_r_applies_from_round_r_plus_one() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let early = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    let late = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);

    // During round 1: shorten the submission window and double the minimum stake.
    ctx.warp_to_round(&fixture.task, 1, 5);
    let mut changed = round_params();
    changed.submission_window = 5;
    changed.min_stake = 3 * SOL;
    changed.bounty_per_round = 9 * SOL;
    let manager = &fixture.creator;
    ctx.send_ok(builders::update_task(&manager.pubkey(), &fixture.task, &changed), &[manager]);

    let task = ctx.task(&fixture.task);
    assert_eq!(*task.params_for(1).unwrap(), round_params(), "round 1 keeps its parameters");
    assert_eq!(*task.params_for(2).unwrap(), changed);

    // Round 1's own window is still 20 slots: a round-0 proof at offset 15 lands.
    ctx.warp_to_round(&fixture.task, 1, 15);
    let submit = |operator: &solana_keypair::Keypair, round| {
        commit_proof(&fixture.task, &operator.pubkey(), round, ([3; 32], b"cid"))
    };
    ctx.send_ok(submit(&early.operator, 0), &[&early.operator]);

    // Round 1's work was under way when the change came: its proofs keep round
    // 1's 20-slot window and round 1's minimum stake (2 SOL), although they are
    // submitted in round 2. Offset 15 of round 2 lands.
    ctx.warp_to_round(&fixture.task, 2, 15);
    ctx.send_ok(submit(&late.operator, 1), &[&late.operator]);

    // Round 2's proofs (submitted in round 3) have round 2's 5-slot window and
    // need round 2's minimum of 3 SOL: offset 5 is outside the window, offset
    // 4 inside it, where the stake check refuses.
    ctx.warp_to_round(&fixture.task, 3, 5);
    ctx.expect_error(
        submit(&late.operator, 2),
        &[&late.operator],
        custom(GradualError::OutsideSubmissionWindow),
    );
    ctx.warp_to_round(&fixture.task, 3, 4);
    ctx.expect_error(
        submit(&late.operator, 2),
        &[&late.operator],
        custom(GradualError::StakeNotActiveForRound),
    );
}

/// Adversarial review: a manager could shrink the window for work already
/// under way, at the last slot of the round. A round's proofs are judged by
/// the windows fixed before its work began.
#[test]
fn a_last_moment_change_cannot_shrink_the_window_of_work_under_way() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let node = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    ctx.warp_to_round(&fixture.task, 0, ROUND_LENGTH - 1);
    let mut shrunk = round_params();
    shrunk.submission_window = 1;
    let manager = &fixture.creator;
    ctx.send_ok(builders::update_task(&manager.pubkey(), &fixture.task, &shrunk), &[manager]);
    // Round 0's proof, at offset 10 of round 1: inside round 0's 20-slot window.
    ctx.warp_to_round(&fixture.task, 1, 10);
    ctx.send_ok(
        commit_proof(&fixture.task, &node.operator.pubkey(), 0, ([3; 32], b"cid")),
        &[&node.operator],
    );
}

#[test]
fn before_the_start_a_change_replaces_round_zero() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let mut changed = round_params();
    changed.bounty_per_round = 5 * SOL;
    ctx.send_ok(
        builders::update_task(&fixture.creator.pubkey(), &fixture.task, &changed),
        &[&fixture.creator],
    );
    assert_eq!(*ctx.task(&fixture.task).params_for(0).unwrap(), changed);
}

#[test]
fn repeated_changes_in_one_round_keep_the_last() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    ctx.warp_to_round(&fixture.task, 3, 0);
    let manager = &fixture.creator;
    for bounty in [3 * SOL, 4 * SOL, 5 * SOL] {
        let mut changed = round_params();
        changed.bounty_per_round = bounty;
        ctx.send_ok(builders::update_task(&manager.pubkey(), &fixture.task, &changed), &[manager]);
    }
    let task = ctx.task(&fixture.task);
    assert_eq!(task.params_for(3).unwrap().bounty_per_round, BOUNTY_PER_ROUND);
    assert_eq!(task.params_for(4).unwrap().bounty_per_round, 5 * SOL);
}

#[test]
fn invalid_parameters_and_strangers_are_refused() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let manager = &fixture.creator;
    let mut bad = round_params();
    bad.submission_window = ROUND_LENGTH;
    let update = builders::update_task(&manager.pubkey(), &fixture.task, &bad);
    ctx.expect_error(update, &[manager], custom(GradualError::SubmissionWindowsExceedRound));
    bad = round_params();
    bad.slash_rate_bps = 10_001;
    let update = builders::update_task(&manager.pubkey(), &fixture.task, &bad);
    ctx.expect_error(update, &[manager], custom(GradualError::SlashRateTooHigh));

    let stranger = ctx.funded_keypair(SOL);
    let update = builders::update_task(&stranger.pubkey(), &fixture.task, &round_params());
    ctx.expect_error(update, &[&stranger], custom(GradualError::ManagerMismatch));

    let mut unsigned = builders::update_task(&manager.pubkey(), &fixture.task, &round_params());
    unsigned.accounts[0].is_signer = false;
    ctx.expect_error(unsigned, &[], InstructionError::MissingRequiredSignature);

    let mut short = builders::update_task(&manager.pubkey(), &fixture.task, &round_params());
    short.data.pop();
    ctx.expect_error(short, &[manager], custom(GradualError::InvalidInstructionData));
}
