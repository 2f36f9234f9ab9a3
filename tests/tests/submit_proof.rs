//! SubmitProof: window edges (security test 12), exactly once (test 4) and
//! the checks on who may submit.

use gradual_interface::{builders, error::GradualError, pda::find_node_address};
use gradual_tests::{custom, fixtures::*, TestContext, SOL};
use solana_instruction::Instruction;
use solana_instruction_error::InstructionError;
use solana_keypair::Keypair;
use solana_signer::Signer;

struct World {
    ctx: TestContext,
    fixture: TaskFixture,
    node: NodeFixture,
}

fn world() -> World {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let node = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    World { ctx, fixture, node }
}

fn submit(operator: &Keypair, world_task: &gradual_interface::Address, round: u64) -> Instruction {
    builders::submit_proof(&operator.pubkey(), world_task, round, [round as u8; 32], b"bafy")
}

#[test]
fn the_window_is_the_first_submission_window_slots_of_the_next_round() {
    // Round r's proof: slots [start(r+1), start(r+1) + 20). Check end-1, end, end+1.
    for (offset, lands) in
        [(0, true), (SUBMISSION_WINDOW - 1, true), (SUBMISSION_WINDOW, false), (SUBMISSION_WINDOW + 1, false)]
    {
        let World { mut ctx, fixture, node } = world();
        ctx.warp_to_round(&fixture.task, 3, offset);
        let instruction = submit(&node.operator, &fixture.task, 2);
        if lands {
            ctx.send_ok(instruction, &[&node.operator]);
            assert!(ctx.node(&node.node).submission(2).is_some());
        } else {
            ctx.expect_error(instruction, &[&node.operator], custom(GradualError::OutsideSubmissionWindow));
        }
    }
}

#[test]
fn across_a_round_rollover_only_the_new_rounds_proof_fits() {
    let World { mut ctx, fixture, node } = world();
    // Last slot of round 2: round 2's proof is too early, round 1's too late.
    ctx.warp_to_round(&fixture.task, 2, ROUND_LENGTH - 1);
    ctx.expect_error(
        submit(&node.operator, &fixture.task, 2),
        &[&node.operator],
        custom(GradualError::OutsideSubmissionWindow),
    );
    ctx.expect_error(
        submit(&node.operator, &fixture.task, 1),
        &[&node.operator],
        custom(GradualError::OutsideSubmissionWindow),
    );
    // First slot of round 3.
    ctx.warp_to_round(&fixture.task, 3, 0);
    ctx.expect_error(
        submit(&node.operator, &fixture.task, 1),
        &[&node.operator],
        custom(GradualError::OutsideSubmissionWindow),
    );
    ctx.expect_error(
        submit(&node.operator, &fixture.task, 3),
        &[&node.operator],
        custom(GradualError::OutsideSubmissionWindow),
    );
    ctx.send_ok(submit(&node.operator, &fixture.task, 2), &[&node.operator]);
}

#[test]
fn nothing_can_be_submitted_before_the_first_round_ends() {
    let World { mut ctx, fixture, node } = world();
    ctx.expect_error(
        submit(&node.operator, &fixture.task, 0),
        &[&node.operator],
        custom(GradualError::OutsideSubmissionWindow),
    );
    ctx.warp_to_round(&fixture.task, 0, 0);
    ctx.expect_error(
        submit(&node.operator, &fixture.task, 0),
        &[&node.operator],
        custom(GradualError::OutsideSubmissionWindow),
    );
    ctx.expect_error(
        submit(&node.operator, &fixture.task, u64::MAX),
        &[&node.operator],
        custom(GradualError::OutsideSubmissionWindow),
    );
}

#[test]
fn a_node_submits_once_per_round() {
    let World { mut ctx, fixture, node } = world();
    ctx.warp_to_round(&fixture.task, 1, 0);
    ctx.send_ok(submit(&node.operator, &fixture.task, 0), &[&node.operator]);
    let again = builders::submit_proof(&node.operator.pubkey(), &fixture.task, 0, [9; 32], b"other");
    ctx.expect_error(again, &[&node.operator], custom(GradualError::AlreadySubmitted));
    assert_eq!(ctx.node(&node.node).submission(0).unwrap().digest, [0; 32]);
    // Twice in one transaction fails as a whole.
    let World { mut ctx, fixture, node } = world();
    ctx.warp_to_round(&fixture.task, 1, 0);
    let twice = [submit(&node.operator, &fixture.task, 0), submit(&node.operator, &fixture.task, 0)];
    ctx.expect_error_all(&twice, &[&node.operator], 1, custom(GradualError::AlreadySubmitted));
    assert!(ctx.node(&node.node).submission(0).is_none());
}

#[test]
fn the_ring_keeps_each_rounds_proof_in_its_own_entry() {
    let World { mut ctx, fixture, node } = world();
    for round in 0..10u64 {
        ctx.warp_to_round(&fixture.task, round + 1, 1);
        ctx.send_ok(submit(&node.operator, &fixture.task, round), &[&node.operator]);
    }
    let stored = ctx.node(&node.node);
    for round in 2..10u64 {
        assert_eq!(stored.submission(round).unwrap().digest, [round as u8; 32]);
    }
    assert!(
        stored.submission(0).is_none() && stored.submission(1).is_none(),
        "overwritten by rounds 8 and 9"
    );
}

#[test]
fn locators_must_fit() {
    let World { mut ctx, fixture, node } = world();
    ctx.warp_to_round(&fixture.task, 1, 0);
    let operator = &node.operator;
    let with_locator =
        |locator: &[u8]| builders::submit_proof(&operator.pubkey(), &fixture.task, 0, [1; 32], locator);
    ctx.expect_error(with_locator(b""), &[operator], custom(GradualError::InvalidProofLocator));
    ctx.expect_error(with_locator(&[b'x'; 65]), &[operator], custom(GradualError::InvalidProofLocator));
    let mut trailing = with_locator(b"ok");
    trailing.data.push(0);
    ctx.expect_error(trailing, &[operator], custom(GradualError::InvalidInstructionData));
    ctx.send_ok(with_locator(&[b'x'; 64]), &[operator]);
}

#[test]
fn only_the_nodes_operator_submits_and_only_for_its_task() {
    let World { mut ctx, fixture, node } = world();
    let second_creator = ctx.funded_keypair(100 * SOL);
    let mut config = task_config(ctx.slot() + START_DELAY, &second_creator.pubkey());
    config.args.task_id = 8;
    let other_task = ctx.create_task(&second_creator, &config);
    ctx.warp_to_round(&fixture.task, 1, 0);

    let thief = ctx.funded_keypair(SOL);
    let mut stolen = submit(&thief, &fixture.task, 0);
    stolen.accounts[1].pubkey = node.node;
    ctx.expect_error(stolen, &[&thief], custom(GradualError::OperatorMismatch));

    let mut wrong_task = submit(&node.operator, &other_task, 0);
    wrong_task.accounts[1].pubkey = node.node;
    ctx.expect_error(wrong_task, &[&node.operator], custom(GradualError::NodeTaskMismatch));

    let unstaked = find_node_address(&fixture.task, &thief.pubkey()).0;
    let mut missing = submit(&thief, &fixture.task, 0);
    missing.accounts[1].pubkey = unstaked;
    ctx.expect_error(missing, &[&thief], custom(GradualError::InvalidNodeAccount));

    let mut unsigned = submit(&node.operator, &fixture.task, 0);
    unsigned.accounts[0].is_signer = false;
    ctx.expect_error(unsigned, &[], InstructionError::MissingRequiredSignature);
}
