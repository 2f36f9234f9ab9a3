//! The whole part-1 lifecycle on the real .so: create, fund, stake, submit,
//! update, pause, unstake, withdraw, close.

use gradual_interface::{builders, state::NOT_EXITING};
use gradual_tests::{fixtures::*, TestContext, SOL};
use solana_signer::Signer;

#[test]
fn a_task_runs_from_creation_to_close() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let task = ctx.task(&fixture.task);
    assert_eq!(task.name(), b"hello");
    assert_eq!(task.bounty_pool, INITIAL_BOUNTY);
    assert!(task.is_active());

    ctx.fund(&fixture.creator, &fixture.task, 3 * SOL);
    assert_eq!(ctx.task(&fixture.task).bounty_pool, INITIAL_BOUNTY + 3 * SOL);

    let node = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    let stored = ctx.node(&node.node);
    assert_eq!(stored.total_stake(), 2 * SOL);
    assert_eq!(stored.joined_round, 0);
    assert_eq!(stored.exit_round, NOT_EXITING);
    assert_eq!(ctx.task(&fixture.task).node_count, 1);

    // Work in round 0, commit to its proof in round 1's submission window,
    // reveal it in round 2's.
    let proof = ([7; 32], &b"bafy-round-0"[..]);
    ctx.warp_to_round(&fixture.task, 1, 0);
    ctx.send_ok(commit_proof(&fixture.task, &node.operator.pubkey(), 0, proof), &[&node.operator]);
    assert!(ctx.node(&node.node).proof(0).is_none(), "committed, not yet revealed");
    ctx.send_ok(builders::request_unstake(&node.operator.pubkey(), &fixture.task), &[&node.operator]);
    assert_eq!(ctx.node(&node.node).exit_round, 2);
    ctx.warp_to_round(&fixture.task, 2, 0);
    ctx.send_ok(reveal_proof(&fixture.task, &node.operator.pubkey(), 0, proof), &[&node.operator]);
    let revealed = *ctx.node(&node.node).proof(0).expect("round 0 proof revealed");
    assert_eq!(revealed.digest, [7; 32]);
    assert_eq!(revealed.locator(), b"bafy-round-0");

    ctx.warp_to_round(&fixture.task, 5, 0);
    let operator_before = ctx.lamports(&node.operator.pubkey());
    let node_lamports = ctx.lamports(&node.node);
    ctx.withdraw(&node.operator, &fixture.task, 2 * SOL);
    assert!(!ctx.exists(&node.node));
    assert_eq!(ctx.lamports(&node.operator.pubkey()), operator_before + node_lamports);
    assert_eq!(ctx.task(&fixture.task).node_count, 0);

    ctx.send_ok(
        builders::set_task_active(&fixture.creator.pubkey(), &fixture.task, false),
        &[&fixture.creator],
    );
    let creator_before = ctx.lamports(&fixture.creator.pubkey());
    let task_lamports = ctx.lamports(&fixture.task);
    ctx.close_task(&fixture.creator, &fixture.task);
    assert!(!ctx.exists(&fixture.task));
    assert_eq!(ctx.lamports(&fixture.creator.pubkey()), creator_before + task_lamports);
}
