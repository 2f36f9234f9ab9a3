//! SubmitProof: window edges (security test 12), exactly once (test 4), the
//! checks on who may submit, and commit-reveal: every way around it fails.

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

/// The commitment to `operator`'s proof of `round` (digest `[round; 32]`).
fn submit(operator: &Keypair, world_task: &gradual_interface::Address, round: u64) -> Instruction {
    commit_proof(world_task, &operator.pubkey(), round, ([round as u8; 32], b"bafy"))
}

/// The reveal of `operator`'s proof of `round`, as `submit` committed it.
fn reveal(operator: &Keypair, world_task: &gradual_interface::Address, round: u64) -> Instruction {
    reveal_proof(world_task, &operator.pubkey(), round, ([round as u8; 32], b"bafy"))
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
    let again = commit_proof(&fixture.task, &node.operator.pubkey(), 0, ([9; 32], b"other"));
    ctx.expect_error(again, &[&node.operator], custom(GradualError::AlreadySubmitted));
    let (first, _) = proof_parts(&fixture.task, &node.operator.pubkey(), 0, ([0; 32], b"bafy"));
    assert_eq!(ctx.node(&node.node).submission(0).unwrap().commitment, first);
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
    let operator = node.operator.pubkey();
    for round in 0..10u64 {
        // Round `round`'s commitment with round `round - 1`'s reveal, in one instruction.
        ctx.warp_to_round(&fixture.task, round + 1, 1);
        let (commitment, _) = proof_parts(&fixture.task, &operator, round, ([round as u8; 32], b"bafy"));
        let revealed = round.checked_sub(1).map(|previous| {
            proof_parts(&fixture.task, &operator, previous, ([previous as u8; 32], b"bafy")).1
        });
        let both =
            builders::submit_proof(&operator, &fixture.task, round, Some(commitment), revealed.as_ref());
        ctx.send_ok(both, &[&node.operator]);
    }
    let stored = ctx.node(&node.node);
    for round in 2..9u64 {
        assert_eq!(stored.proof(round).unwrap().digest, [round as u8; 32]);
    }
    assert!(
        stored.submission(9).is_some() && stored.proof(9).is_none(),
        "round 9 is committed, not revealed"
    );
    assert!(
        stored.submission(0).is_none() && stored.submission(1).is_none(),
        "overwritten by rounds 8 and 9"
    );
}

#[test]
fn revealed_locators_must_fit() {
    let World { mut ctx, fixture, node } = world();
    let operator = &node.operator;
    for (locator, error) in [
        (&b""[..], Some(GradualError::InvalidProofLocator)),
        (&[b'x'; 65][..], Some(GradualError::InvalidProofLocator)),
        (&[b'x'; 64][..], None),
    ] {
        let World { mut ctx, fixture, node } = world();
        let operator = &node.operator;
        ctx.warp_to_round(&fixture.task, 1, 0);
        ctx.send_ok(commit_proof(&fixture.task, &operator.pubkey(), 0, ([1; 32], locator)), &[operator]);
        ctx.warp_to_round(&fixture.task, 2, 0);
        let open = reveal_proof(&fixture.task, &operator.pubkey(), 0, ([1; 32], locator));
        match error {
            Some(error) => ctx.expect_error(open, &[operator], custom(error)),
            None => {
                ctx.send_ok(open, &[operator]);
            }
        }
    }
    ctx.warp_to_round(&fixture.task, 1, 0);
    let mut trailing = commit_proof(&fixture.task, &operator.pubkey(), 0, ([1; 32], b"ok"));
    trailing.data.push(0);
    ctx.expect_error(trailing, &[operator], custom(GradualError::InvalidInstructionData));
}

/// Commit-reveal: each way a copier could use what it sees fails.
#[test]
fn a_reveal_must_open_this_nodes_own_commitment_in_time() {
    let World { mut ctx, fixture, node } = world();
    let task = fixture.task;
    let copier = NodeFixture::new(&mut ctx, &task, 2 * SOL);
    let honest = node.operator.pubkey();
    ctx.warp_to_round(&task, 1, 0);
    ctx.send_ok(submit(&node.operator, &task, 0), &[&node.operator]);
    // The copier commits to exactly what the honest node committed: it can see that much.
    let copied = ctx.node(&node.node).submission(0).unwrap().commitment;
    let copy = builders::submit_proof(&copier.operator.pubkey(), &task, 0, Some(copied), None);
    ctx.send_ok(copy, &[&copier.operator]);

    ctx.warp_to_round(&task, 2, 0);
    // A reveal without a commitment: a node that committed nothing for round 0.
    let idle = NodeFixture::new(&mut ctx, &task, 2 * SOL);
    let unopened = reveal_proof(&task, &idle.operator.pubkey(), 0, ([0; 32], b"bafy"));
    ctx.expect_error(unopened, &[&idle.operator], custom(GradualError::NothingToReveal));
    // A wrong salt.
    let (_, mut salted) = proof_parts(&task, &honest, 0, ([0; 32], b"bafy"));
    salted.salt[0] ^= 1;
    let wrong_salt = builders::submit_proof(&honest, &task, 1, None, Some(&salted));
    ctx.expect_error(wrong_salt, &[&node.operator], custom(GradualError::RevealMismatch));
    // The copier reveals the honest node's proof, word for word, after the
    // deadline: the commitment binds the honest node, so it does not open.
    let (_, honest_reveal) = proof_parts(&task, &honest, 0, ([0; 32], b"bafy"));
    let stolen = builders::submit_proof(&copier.operator.pubkey(), &task, 1, None, Some(&honest_reveal));
    ctx.expect_error(stolen, &[&copier.operator], custom(GradualError::RevealMismatch));
    // The honest reveal opens; a second one has nothing left to open.
    ctx.send_ok(reveal(&node.operator, &task, 0), &[&node.operator]);
    assert_eq!(ctx.node(&node.node).proof(0).unwrap().digest, [0; 32]);
    ctx.expect_error(
        reveal(&node.operator, &task, 0),
        &[&node.operator],
        custom(GradualError::NothingToReveal),
    );
    assert!(ctx.node(&copier.node).proof(0).is_none(), "the copier's round 0 never counts");

    // A late reveal: round 0's reveal after round 2's submission window.
    let World { mut ctx, fixture, node } = world();
    ctx.warp_to_round(&fixture.task, 1, 0);
    ctx.send_ok(submit(&node.operator, &fixture.task, 0), &[&node.operator]);
    ctx.warp_to_round(&fixture.task, 2, SUBMISSION_WINDOW);
    let late = reveal(&node.operator, &fixture.task, 0);
    ctx.expect_error(late, &[&node.operator], custom(GradualError::OutsideSubmissionWindow));
    ctx.warp_to_round(&fixture.task, 3, 0);
    let later = builders::submit_proof(
        &node.operator.pubkey(),
        &fixture.task,
        2,
        None,
        Some(&proof_parts(&fixture.task, &node.operator.pubkey(), 0, ([0; 32], b"bafy")).1),
    );
    ctx.expect_error(later, &[&node.operator], custom(GradualError::NothingToReveal));
    assert!(ctx.node(&node.node).proof(0).is_none());
}

#[test]
fn a_submission_names_its_parts() {
    let World { mut ctx, fixture, node } = world();
    ctx.warp_to_round(&fixture.task, 1, 0);
    let operator = node.operator.pubkey();
    let neither = builders::submit_proof(&operator, &fixture.task, 0, None, None);
    ctx.expect_error(neither, &[&node.operator], custom(GradualError::InvalidSubmissionParts));
    let mut unknown = submit(&node.operator, &fixture.task, 0);
    unknown.data[9] |= 4;
    ctx.expect_error(unknown, &[&node.operator], custom(GradualError::InvalidSubmissionParts));
    // A commitment-only instruction that carries reveal bytes is refused.
    let mut stray = submit(&node.operator, &fixture.task, 0);
    stray.data[49] = 1;
    ctx.expect_error(stray, &[&node.operator], custom(GradualError::InvalidSubmissionParts));
    // Round 0 has no round before it to reveal.
    let reveal_nothing = builders::submit_proof(
        &operator,
        &fixture.task,
        0,
        None,
        Some(&builders::Reveal { digest: [1; 32], locator: b"x".to_vec(), salt: [2; 32] }),
    );
    ctx.expect_error(reveal_nothing, &[&node.operator], custom(GradualError::NothingToReveal));
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

/// Round r's reveal closes with round r's own submission window, where its
/// audits open, even when a later update gave round r + 1 a longer window.
#[test]
fn a_reveal_closes_with_its_own_rounds_window() {
    let World { mut ctx, fixture, node } = world();
    let mut longer = round_params();
    longer.submission_window = SUBMISSION_WINDOW + 10;
    let manager = &fixture.creator;
    ctx.warp_to_round(&fixture.task, 0, 1);
    ctx.send_ok(builders::update_task(&manager.pubkey(), &fixture.task, &longer), &[manager]);
    ctx.warp_to_round(&fixture.task, 1, 0);
    ctx.send_ok(submit(&node.operator, &fixture.task, 0), &[&node.operator]);
    // Round 2, offset 25: inside round 1's 30-slot window, past round 0's 20.
    ctx.warp_to_round(&fixture.task, 2, SUBMISSION_WINDOW + 5);
    let late = reveal(&node.operator, &fixture.task, 0);
    ctx.expect_error(late, &[&node.operator], custom(GradualError::OutsideSubmissionWindow));
    ctx.send_ok(submit(&node.operator, &fixture.task, 1), &[&node.operator]);
    assert!(ctx.node(&node.node).proof(0).is_none());
}
