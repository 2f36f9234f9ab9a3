//! RequestUnstake and WithdrawStake: the cooldown, partial and full
//! withdrawal, and closing the node.

use gradual_interface::{builders, error::GradualError, state::NOT_EXITING};
use gradual_tests::{custom, fixtures::*, Flow, TestContext, SOL};
use solana_instruction_error::InstructionError;
use solana_signer::Signer;

#[test]
fn stake_counts_through_the_round_of_the_request_and_unlocks_after_the_cooldown() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let node = NodeFixture::new(&mut ctx, &fixture.task, 3 * SOL);
    let operator = &node.operator;

    ctx.warp_to_round(&fixture.task, 2, 40);
    ctx.send_ok(builders::request_unstake(&operator.pubkey(), &fixture.task), &[operator]);
    let stored = ctx.node(&node.node);
    assert_eq!(stored.exit_round, 3);
    assert_eq!(stored.stake_for_round(2), 3 * SOL);
    assert_eq!(stored.stake_for_round(3), 0);

    // Round 2's work is still committed in round 3 and revealed in round 4.
    ctx.warp_to_round(&fixture.task, 3, 0);
    let commit = |round| commit_proof(&fixture.task, &operator.pubkey(), round, ([2; 32], b"c"));
    ctx.send_ok(commit(2), &[operator]);
    ctx.warp_to_round(&fixture.task, 4, 0);
    ctx.expect_error(commit(3), &[operator], custom(GradualError::StakeNotActiveForRound));
    ctx.send_ok(reveal_proof(&fixture.task, &operator.pubkey(), 2, ([2; 32], b"c")), &[operator]);

    // Cooldown 3: rounds 3, 4 and 5 must pass; round 6 is the first that unlocks.
    let withdraw = |amount| builders::withdraw_stake(&operator.pubkey(), &fixture.task, amount);
    ctx.warp_to_round(&fixture.task, 5, ROUND_LENGTH - 1);
    ctx.expect_error(withdraw(SOL), &[operator], custom(GradualError::CooldownNotElapsed));
    ctx.warp_to_round(&fixture.task, 6, 0);
    ctx.send_flow_ok(withdraw(SOL), &[operator], Flow::payout(SOL));
    assert_eq!(ctx.node(&node.node).total_stake(), 2 * SOL);
    assert_eq!(ctx.task(&fixture.task).node_count, 1);

    let operator_before = ctx.lamports(&operator.pubkey());
    let node_lamports = ctx.lamports(&node.node);
    ctx.withdraw(operator, &fixture.task, 2 * SOL);
    assert_eq!(ctx.lamports(&operator.pubkey()), operator_before + node_lamports);
    assert_eq!(ctx.task(&fixture.task).node_count, 0);
}

#[test]
fn stake_that_never_counted_can_leave_at_once() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    ctx.warp_to_round(&fixture.task, 1, 3);
    let node = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    ctx.send_ok(builders::request_unstake(&node.operator.pubkey(), &fixture.task), &[&node.operator]);
    assert_eq!(ctx.node(&node.node).exit_round, ctx.node(&node.node).joined_round);
    ctx.withdraw(&node.operator, &fixture.task, 2 * SOL);
}

#[test]
fn withdrawal_needs_an_unstake_request_and_a_valid_amount() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let node = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    let operator = &node.operator;
    let withdraw = |amount| builders::withdraw_stake(&operator.pubkey(), &fixture.task, amount);
    ctx.expect_error(withdraw(SOL), &[operator], custom(GradualError::NodeNotExiting));

    ctx.warp_to_round(&fixture.task, 0, 1);
    let request = builders::request_unstake(&operator.pubkey(), &fixture.task);
    ctx.send_ok(request.clone(), &[operator]);
    ctx.expect_error(request, &[operator], custom(GradualError::NodeExiting));
    let top_up = builders::stake(&operator.pubkey(), &fixture.task, SOL, b"u");
    ctx.expect_error(top_up, &[operator], custom(GradualError::NodeExiting));

    ctx.warp_to_round(&fixture.task, 4, 0);
    ctx.expect_error(withdraw(0), &[operator], custom(GradualError::ZeroAmount));
    ctx.expect_error(withdraw(2 * SOL + 1), &[operator], custom(GradualError::InsufficientStake));
    ctx.expect_error(withdraw(u64::MAX), &[operator], custom(GradualError::InsufficientStake));
}

#[test]
fn open_audits_block_withdrawal() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let node = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    ctx.warp_to_round(&fixture.task, 0, 1);
    ctx.send_ok(builders::request_unstake(&node.operator.pubkey(), &fixture.task), &[&node.operator]);
    ctx.warp_to_round(&fixture.task, 5, 0);
    // Audits arrive in part 2; here the counter is set directly to check the rule.
    let mut account = ctx.svm.get_account(&node.node).unwrap();
    let offset = std::mem::offset_of!(gradual_interface::state::Node, open_audits);
    account.data[offset..offset + 8].copy_from_slice(&1u64.to_le_bytes());
    ctx.svm.set_account(node.node, account).unwrap();
    let withdraw = builders::withdraw_stake(&node.operator.pubkey(), &fixture.task, SOL);
    ctx.expect_error(withdraw, &[&node.operator], custom(GradualError::OpenAuditsPending));
}

#[test]
fn only_the_operator_unstakes_and_withdraws() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let node = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    let thief = ctx.funded_keypair(SOL);

    let mut request = builders::request_unstake(&thief.pubkey(), &fixture.task);
    request.accounts[1].pubkey = node.node;
    ctx.expect_error(request, &[&thief], custom(GradualError::OperatorMismatch));
    let mut unsigned = builders::request_unstake(&node.operator.pubkey(), &fixture.task);
    unsigned.accounts[0].is_signer = false;
    ctx.expect_error(unsigned, &[], InstructionError::MissingRequiredSignature);

    ctx.warp_to_round(&fixture.task, 0, 1);
    ctx.send_ok(builders::request_unstake(&node.operator.pubkey(), &fixture.task), &[&node.operator]);
    ctx.warp_to_round(&fixture.task, 5, 0);
    let mut steal = builders::withdraw_stake(&thief.pubkey(), &fixture.task, SOL);
    steal.accounts[1].pubkey = node.node;
    ctx.expect_error(steal, &[&thief], custom(GradualError::OperatorMismatch));
    let mut unsigned = builders::withdraw_stake(&node.operator.pubkey(), &fixture.task, SOL);
    unsigned.accounts[0].is_signer = false;
    ctx.expect_error(unsigned, &[], InstructionError::MissingRequiredSignature);
}

#[test]
fn a_closed_node_cannot_be_reused_in_the_same_transaction_or_later() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let node = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    let operator = &node.operator;
    ctx.warp_to_round(&fixture.task, 1, 0);
    ctx.send_ok(commit_proof(&fixture.task, &operator.pubkey(), 0, ([1; 32], b"c")), &[operator]);
    ctx.send_ok(builders::request_unstake(&operator.pubkey(), &fixture.task), &[operator]);
    ctx.warp_to_round(&fixture.task, 5, 0);

    // Close, then try to use the closed account in the same transaction.
    let close = builders::withdraw_stake(&operator.pubkey(), &fixture.task, 2 * SOL);
    let reuse = builders::request_unstake(&operator.pubkey(), &fixture.task);
    ctx.expect_error_all(&[close.clone(), reuse], &[operator], 1, custom(GradualError::InvalidNodeAccount));

    // Close and re-stake in one transaction: a fresh node, exiting state and
    // old proofs gone, its stake counting only from the next round.
    let restake = builders::stake(&operator.pubkey(), &fixture.task, 2 * SOL, b"u");
    let flow = Flow::default().with_lamports(2 * SOL, 2 * SOL);
    ctx.send_with_flow(&[close, restake], &[operator], flow).expect("close and re-stake");
    let fresh = ctx.node(&node.node);
    assert_eq!(fresh.exit_round, NOT_EXITING);
    assert_eq!(fresh.joined_round, 6);
    assert!(fresh.submission(0).is_none());
    assert_eq!(ctx.task(&fixture.task).node_count, 1);
    let resubmit = commit_proof(&fixture.task, &operator.pubkey(), 4, ([1; 32], b"c"));
    ctx.warp_to_round(&fixture.task, 5, 1);
    ctx.expect_error(resubmit, &[operator], custom(GradualError::StakeNotActiveForRound));
}
