//! RaiseAudit, VoteAudit and ResolveAudit on the .so: the success paths, the
//! vote thresholds, window edges, and security tests 4, 7, 8, 9, 10 and 12.

use gradual_interface::{
    builders,
    error::GradualError,
    pda::find_audit_address,
    state::{SUBMISSION_AUDITED, SUBMISSION_EXCLUDED},
    Address,
};
use gradual_tests::{custom, fixtures::*, oracle, Flow, TestContext, SOL};
use solana_keypair::Keypair;
use solana_signer::Signer;

const BOND: u64 = SOL / 10;
const SLASH_RATE_BPS: u128 = 1_000;
/// Round 2's audit window (for round 0's proofs, revealed in round 2): offsets [20, 50).
const AUDIT_OPENS: u64 = SUBMISSION_WINDOW;
/// Raises only in the first half of the window: offsets [20, 35).
const RAISES_CLOSE: u64 = SUBMISSION_WINDOW + AUDIT_WINDOW / 2;
const AUDIT_CLOSES: u64 = SUBMISSION_WINDOW + AUDIT_WINDOW;

type Audited = ProvedTask;

/// A task whose nodes (stakes in SOL as given) all submitted round 0's proof;
/// the clock is at the opening of round 2's audit window, where they are revealed.
fn audited(stakes: &[u64], min_audit_seats: u16) -> Audited {
    let mut world = ProvedTask::new(stakes, min_audit_seats);
    world.ctx.warp_to_round(&world.task, 2, AUDIT_OPENS);
    world
}

fn slash_of(stake: u64) -> (u64, u64) {
    let slashed = (u128::from(stake) * SLASH_RATE_BPS / 10_000) as u64;
    (slashed, slashed / 2)
}

#[test]
fn an_upheld_audit_slashes_excludes_and_rewards_the_raiser() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL, 3 * SOL, 4 * SOL, 5 * SOL], 2);
    let (raiser, target) = (&nodes[0], &nodes[3]);
    let raiser_before = ctx.lamports(&raiser.operator.pubkey());
    let audit = ctx.raise_audit(&raiser.operator, &task, &target.node, 0);
    // Each voter's seats on the audit's committee of 64, out of 14 SOL; the
    // raiser's are the whole part of its share, 64 * 2 / 14 = 9.14.
    let seats: Vec<u64> = nodes
        .iter()
        .zip([2, 3, 4, 5])
        .map(|(node, stake)| {
            committee_seats(&ctx, &task, (&target.node, 0), &node.node, (stake * SOL, 14 * SOL))
        })
        .collect();
    assert!(seats[1] >= 13 && seats[2] >= 18, "{seats:?}: 64 * stake / 14, rounded either way");
    let raiser_seats = oracle::raiser_seats(2 * SOL, 14 * SOL, 64);
    assert_eq!(raiser_seats, 9);
    // The raise counts the raiser's seats; the committee is drawn at the first vote.
    let record = ctx.audit(&audit);
    assert_eq!((record.invalid_weight, record.valid_weight, record.voter_count), (9, 0, 1));
    assert_eq!((record.committee_stake, record.committee_seats), (14 * SOL, 64));
    assert_eq!(record.committee_seed, [0; 32], "drawn at the first vote");
    assert_eq!(record.bond, BOND);
    assert_eq!(ctx.node(&target.node).open_audits, 1);
    assert_ne!(ctx.node(&target.node).submission(0).unwrap().flags & SUBMISSION_AUDITED, 0);

    ctx.warp_to_votes(&audit);
    ctx.vote_audit(&nodes[1].operator, &task, &audit, false);
    ctx.vote_audit(&nodes[2].operator, &task, &audit, false);
    let record = ctx.audit(&audit);
    // The raise is the raiser's vote: its seats count with the others'.
    assert_eq!(
        (record.invalid_weight, record.valid_weight, record.voter_count),
        (raiser_seats + seats[1] + seats[2], 0, 3)
    );

    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    let pool_before = ctx.task(&task).bounty_pool;
    let (slashed, share) = slash_of(5 * SOL);
    ctx.resolve_audit(&audit, BOND + share);

    let target_node = ctx.node(&target.node);
    assert_eq!(target_node.total_stake(), 5 * SOL - slashed);
    assert_eq!(target_node.total_slashed, slashed);
    assert_eq!(target_node.open_audits, 0);
    assert_ne!(target_node.submission(0).unwrap().flags & SUBMISSION_EXCLUDED, 0);
    assert_eq!(ctx.task(&task).bounty_pool, pool_before + slashed - share);
    assert!(!ctx.exists(&audit), "the audit closes");
    // Bond and rent came back; the share is the raiser's gain.
    assert_eq!(ctx.lamports(&raiser.operator.pubkey()), raiser_before + share);
}

/// Stake the target adds after the audited round does not raise its slash:
/// the cut is taken from the round's stake, not the current one.
#[test]
fn a_slash_is_taken_from_the_audited_rounds_stake() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL, 2 * SOL], 1);
    let (raiser, target) = (&nodes[0], &nodes[1]);
    // Round 1: the target adds 8 SOL, which counts only from round 2.
    ctx.stake(&target.operator, &task, 8 * SOL);
    assert_eq!(ctx.node(&target.node).stake_for_round(0), 2 * SOL);
    let audit = ctx.raise_audit(&raiser.operator, &task, &target.node, 0);
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    let (slashed, share) = slash_of(2 * SOL);
    ctx.resolve_audit(&audit, BOND + share);
    let target_node = ctx.node(&target.node);
    assert_eq!(target_node.total_slashed, slashed, "10% of round 0's 2 SOL, not of the 10 SOL held now");
    assert_eq!(target_node.total_stake(), 10 * SOL - slashed);
}

#[test]
fn a_rejected_audit_forfeits_the_bond_to_the_target() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL, 3 * SOL, 4 * SOL], 1);
    let (raiser, target) = (&nodes[0], &nodes[1]);
    let raiser_before = ctx.lamports(&raiser.operator.pubkey());
    let target_before = ctx.lamports(&target.operator.pubkey());
    let audit = ctx.raise_audit(&raiser.operator, &task, &target.node, 0);
    ctx.warp_to_votes(&audit);
    ctx.vote_audit(&nodes[2].operator, &task, &audit, true);
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    ctx.resolve_audit(&audit, BOND);
    assert_eq!(
        ctx.lamports(&raiser.operator.pubkey()),
        raiser_before - BOND,
        "a frivolous audit costs its bond"
    );
    assert_eq!(ctx.lamports(&target.operator.pubkey()), target_before + BOND);
    let target_node = ctx.node(&target.node);
    assert_eq!(target_node.total_stake(), 3 * SOL);
    assert_eq!(target_node.submission(0).unwrap().flags & SUBMISSION_EXCLUDED, 0);
    assert_eq!(target_node.open_audits, 0);
}

/// The raiser (invalid) against one valid voter, stakes in SOL. A filler
/// node makes the total 64 SOL, so that on a committee of 64 seats every
/// SOL is exactly one seat and no draw is involved.
fn contest(raiser_sol: u64, defender_sol: u64, min_seats: u16) -> bool {
    let stakes = [raiser_sol * SOL, defender_sol * SOL, SOL, SOL, (62 - raiser_sol - defender_sol) * SOL];
    let Audited { mut ctx, task, nodes, .. } = audited(&stakes, min_seats);
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[3].node, 0);
    ctx.warp_to_votes(&audit);
    ctx.vote_audit(&nodes[1].operator, &task, &audit, true);
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    let record = ctx.audit(&audit);
    assert_eq!((record.invalid_weight, record.valid_weight), (raiser_sol, defender_sol));
    let upheld = oracle::audit_upheld(record.invalid_weight, record.valid_weight, min_seats);
    let payout = if upheld { BOND + slash_of(SOL).1 } else { BOND };
    ctx.resolve_audit(&audit, payout);
    let slashed = ctx.node(&nodes[3].node).total_slashed != 0;
    assert_eq!(slashed, upheld);
    slashed
}

#[test]
fn the_vote_threshold_is_strictly_more_invalid_seats() {
    assert!(!contest(2, 2, 1), "equal seats are rejected");
    assert!(contest(3, 2, 1), "one seat more invalid is upheld");
    assert!(!contest(2, 3, 1), "one seat more valid is rejected");
}

/// The quorum is met at exactly `min_audit_seats` seats voting, not one fewer.
#[test]
fn the_quorum_is_met_at_exactly_min_seats() {
    assert!(contest(5, 2, 7), "7 seats voting, quorum 7: upheld");
    assert!(!contest(5, 2, 8), "7 seats voting, quorum 8: rejected");
    assert!(!contest(4, 2, 7), "6 seats voting, quorum 7: rejected");
}

/// The quorum counts seats: 64 SOL on 64 seats, one seat a SOL, and a
/// quorum of 35 seats. The raiser's 20 and a voter's 10 are not enough,
/// however clear the majority; another 10 against them still carry it.
#[test]
fn too_few_seats_reject_even_a_clear_majority() {
    const STAKES: [u64; 5] = [20 * SOL, 10 * SOL, 10 * SOL, SOL, 23 * SOL];
    let Audited { mut ctx, task, nodes, .. } = audited(&STAKES, 35);
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[3].node, 0);
    ctx.warp_to_votes(&audit);
    ctx.vote_audit(&nodes[1].operator, &task, &audit, false);
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    assert_eq!((ctx.audit(&audit).invalid_weight, ctx.audit(&audit).valid_weight), (30, 0));
    ctx.resolve_audit(&audit, BOND);
    assert_eq!(ctx.node(&nodes[3].node).total_slashed, 0);

    let Audited { mut ctx, task, nodes, .. } = audited(&STAKES, 35);
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[3].node, 0);
    ctx.warp_to_votes(&audit);
    ctx.vote_audit(&nodes[1].operator, &task, &audit, false);
    ctx.vote_audit(&nodes[2].operator, &task, &audit, true);
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    ctx.resolve_audit(&audit, BOND + slash_of(SOL).1);
    assert_ne!(ctx.node(&nodes[3].node).total_slashed, 0, "30 seats against 10, 40 voting");
}

#[test]
fn raising_voting_and_resolving_respect_the_window_edges() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL, 2 * SOL, 3 * SOL], 1);
    let raise = || builders::raise_audit(&nodes[0].operator.pubkey(), &task, &nodes[1].node, 0);
    for (round, offset) in [(2, AUDIT_OPENS - 1), (2, RAISES_CLOSE), (2, AUDIT_CLOSES), (3, AUDIT_OPENS)] {
        ctx.warp_to_round(&task, round, offset);
        ctx.expect_error(raise(), &[&nodes[0].operator], custom(GradualError::OutsideAuditWindow));
    }

    // The last slot for raises still leaves half the window for votes, which
    // open only once raises close.
    ctx.warp_to_round(&task, 2, RAISES_CLOSE - 1);
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[1].node, 0);
    let early_vote = builders::vote_audit(&nodes[2].operator.pubkey(), &task, &audit, true);
    ctx.expect_error(early_vote, &[&nodes[2].operator], custom(GradualError::OutsideAuditWindow));
    assert_eq!(ctx.audit(&audit).votes_from, ctx.task(&task).start_slot + 2 * ROUND_LENGTH + RAISES_CLOSE);
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES - 1);
    ctx.vote_audit(&nodes[2].operator, &task, &audit, true);
    let record = ctx.audit(&audit);
    let resolve = builders::resolve_audit(
        &audit,
        &task,
        &nodes[1].node,
        &nodes[0].operator.pubkey(),
        &nodes[1].operator.pubkey(),
    );
    ctx.expect_error(resolve.clone(), &[], custom(GradualError::AuditWindowOpen));
    ctx.warp_to_slot(record.window_end);
    let late_vote = builders::vote_audit(&nodes[2].operator.pubkey(), &task, &audit, false);
    ctx.expect_error(late_vote, &[&nodes[2].operator], custom(GradualError::OutsideAuditWindow));
    ctx.send_flow_ok(resolve, &[], Flow::payout(BOND));
    // Once resolved, the raise window is over: a second raise fails on the
    // window before it reaches the proof's audited flag (protocol 4.5, 7.1).
    let again = builders::raise_audit(&nodes[2].operator.pubkey(), &task, &nodes[1].node, 0);
    ctx.expect_error(again, &[&nodes[2].operator], custom(GradualError::OutsideAuditWindow));
}

#[test]
fn one_audit_per_proof_and_one_vote_per_node() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL, 2 * SOL, 2 * SOL, 2 * SOL], 1);
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[1].node, 0);
    let again = builders::raise_audit(&nodes[2].operator.pubkey(), &task, &nodes[1].node, 0);
    ctx.expect_error(again, &[&nodes[2].operator], custom(GradualError::AlreadyAudited));

    ctx.warp_to_votes(&audit);
    ctx.vote_audit(&nodes[2].operator, &task, &audit, false);
    let twice = builders::vote_audit(&nodes[2].operator.pubkey(), &task, &audit, true);
    ctx.expect_error(twice, &[&nodes[2].operator], custom(GradualError::AlreadyVoted));
    let raiser_votes = builders::vote_audit(&nodes[0].operator.pubkey(), &task, &audit, false);
    ctx.expect_error(raiser_votes, &[&nodes[0].operator], custom(GradualError::AlreadyVoted));
    // Twice in one transaction fails as a whole.
    let vote = builders::vote_audit(&nodes[3].operator.pubkey(), &task, &audit, false);
    ctx.expect_error_all(&[vote.clone(), vote], &[&nodes[3].operator], 1, custom(GradualError::AlreadyVoted));
}

#[test]
fn nobody_audits_or_judges_their_own_proof() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL, 2 * SOL], 1);
    let own = builders::raise_audit(&nodes[0].operator.pubkey(), &task, &nodes[0].node, 0);
    ctx.expect_error(own, &[&nodes[0].operator], custom(GradualError::SelfAudit));
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[1].node, 0);
    let defend = builders::vote_audit(&nodes[1].operator.pubkey(), &task, &audit, true);
    ctx.expect_error(defend, &[&nodes[1].operator], custom(GradualError::SelfAudit));
}

#[test]
fn a_proof_must_exist_and_the_raiser_must_have_had_stake() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL], 1);
    // Joined during round 2: no stake in round 0, no right to raise on it.
    let late = NodeFixture::new(&mut ctx, &task, 5 * SOL);
    let by_late = builders::raise_audit(&late.operator.pubkey(), &task, &nodes[0].node, 0);
    ctx.expect_error(by_late, &[&late.operator], custom(GradualError::StakeNotActiveForRound));
    let against_late = builders::raise_audit(&nodes[0].operator.pubkey(), &task, &late.node, 0);
    ctx.expect_error(against_late, &[&nodes[0].operator], custom(GradualError::NoSubmissionForRound));
}

#[test]
fn stake_added_after_the_round_opened_has_no_vote_weight() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let task = fixture.task;
    let raiser = NodeFixture::new(&mut ctx, &task, 2 * SOL);
    let target = NodeFixture::new(&mut ctx, &task, 2 * SOL);
    let voter = NodeFixture::new(&mut ctx, &task, SOL);
    // During round 0 the voter quadruples its stake, and a newcomer joins.
    ctx.warp_to_round(&task, 0, 10);
    let top_up = builders::stake(&voter.operator.pubkey(), &task, 4 * SOL, b"u");
    ctx.send_flow_ok(top_up, &[&voter.operator], Flow::deposit(4 * SOL));
    let newcomer = NodeFixture::new(&mut ctx, &task, 10 * SOL);
    prove_round(&mut ctx, &task, &[&target.operator], 0, [1; 32]);
    ctx.warp_to_round(&task, 2, AUDIT_OPENS);
    let audit = ctx.raise_audit(&raiser.operator, &task, &target.node, 0);
    ctx.warp_to_votes(&audit);
    ctx.vote_audit(&voter.operator, &task, &audit, true);
    // Seats share out the 5 SOL that counted in round 0, by round 0's stake.
    let expected = committee_seats(&ctx, &task, (&target.node, 0), &voter.node, (SOL, 5 * SOL));
    assert_eq!(ctx.audit(&audit).valid_weight, expected, "only the stake active in round 0 counts");
    assert_eq!(ctx.audit(&audit).committee_stake, 5 * SOL);
    let by_newcomer = builders::vote_audit(&newcomer.operator.pubkey(), &task, &audit, true);
    ctx.expect_error(by_newcomer, &[&newcomer.operator], custom(GradualError::StakeNotActiveForRound));
}

#[test]
fn leaving_does_not_escape_a_slash() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL, 3 * SOL], 1);
    let cheater = &nodes[1];
    // The cheater asks to leave before anyone audits it.
    ctx.send_ok(builders::request_unstake(&cheater.operator.pubkey(), &task), &[&cheater.operator]);
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &cheater.node, 0);
    let withdraw = |amount| builders::withdraw_stake(&cheater.operator.pubkey(), &task, amount);
    ctx.expect_error(withdraw(3 * SOL), &[&cheater.operator], custom(GradualError::CooldownNotElapsed));
    // Even after the cooldown (exit in round 3, three rounds), the open audit holds the stake.
    ctx.warp_to_round(&task, 6, 0);
    ctx.expect_error(withdraw(3 * SOL), &[&cheater.operator], custom(GradualError::OpenAuditsPending));
    let (slashed, share) = slash_of(3 * SOL);
    ctx.resolve_audit(&audit, BOND + share);
    ctx.withdraw(&cheater.operator, &task, 3 * SOL - slashed);
}

#[test]
fn a_full_slash_takes_exactly_the_stake_and_the_bounty_stays_recoverable() {
    let mut ctx = TestContext::new();
    let creator = ctx.funded_keypair(1_000 * SOL);
    let mut config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    config.args.params.slash_rate_bps = 10_000;
    let task = ctx.create_task(&creator, &config);
    let nodes: Vec<NodeFixture> = (0..3).map(|_| NodeFixture::new(&mut ctx, &task, 2 * SOL + 1)).collect();
    let operators: Vec<&Keypair> = nodes.iter().map(|node| &node.operator).collect();
    prove_round(&mut ctx, &task, &operators, 0, [1; 32]);
    // Every node audits the next one: every node is slashed completely.
    ctx.warp_to_round(&task, 2, AUDIT_OPENS);
    let audits: Vec<Address> = (0..3)
        .map(|index| ctx.raise_audit(&nodes[index].operator, &task, &nodes[(index + 1) % 3].node, 0))
        .collect();
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    let slashed = 2 * SOL + 1;
    let share = slashed / 2;
    for audit in &audits {
        ctx.resolve_audit(audit, BOND + share);
    }
    for node in &nodes {
        let stored = ctx.node(&node.node);
        assert_eq!(stored.total_stake(), 0);
        assert_eq!(stored.total_slashed, 2 * SOL + 1, "slashed once, and never more than the stake");
    }
    // Everyone leaves; emptied nodes close with a zero withdrawal; the creator
    // recovers the bounty with the pool's share of the slashes.
    for node in &nodes {
        ctx.send_ok(builders::request_unstake(&node.operator.pubkey(), &task), &[&node.operator]);
    }
    ctx.warp_to_round(&task, 6, 0);
    for node in &nodes {
        ctx.withdraw(&node.operator, &task, 0);
    }
    ctx.send_ok(builders::set_task_active(&creator.pubkey(), &task, false), &[&creator]);
    let pool = ctx.task(&task).bounty_pool;
    assert_eq!(pool, INITIAL_BOUNTY + 3 * (2 * SOL + 1 - share));
    ctx.close_task(&creator, &task);
}

#[test]
fn auditing_your_own_second_node_only_loses_money() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL, 2 * SOL], 1);
    // One operator runs both nodes: the raise pays half the slash back, the
    // other half and nothing more leaves for the pool.
    let (slashed, share) = slash_of(2 * SOL);
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[1].node, 0);
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    let held_before = ctx.lamports(&nodes[0].operator.pubkey()) + ctx.node(&nodes[1].node).total_stake();
    ctx.resolve_audit(&audit, BOND + share);
    let held_after = ctx.lamports(&nodes[0].operator.pubkey()) + ctx.node(&nodes[1].node).total_stake();
    let rent = ctx.svm.minimum_balance_for_rent_exemption(
        <gradual_interface::state::Audit as gradual_interface::state::Account>::LEN,
    );
    assert_eq!(held_after, held_before + BOND + rent - (slashed - share));
    assert!(slashed - share > 0);
}

#[test]
fn a_node_casts_at_most_eight_audit_votes_per_round() {
    let stakes = vec![2 * SOL; 11];
    let Audited { mut ctx, task, nodes, .. } = audited(&stakes, 1);
    let busy = &nodes[0];
    // Eight raises use up the busy node's votes for round 0.
    for target in &nodes[1..9] {
        ctx.raise_audit(&busy.operator, &task, &target.node, 0);
    }
    let ninth = builders::raise_audit(&busy.operator.pubkey(), &task, &nodes[9].node, 0);
    ctx.expect_error(ninth, &[&busy.operator], custom(GradualError::VoteLimitReached));
    let other = ctx.raise_audit(&nodes[10].operator, &task, &nodes[9].node, 0);
    ctx.warp_to_votes(&other);
    let vote = builders::vote_audit(&busy.operator.pubkey(), &task, &other, false);
    ctx.expect_error(vote, &[&busy.operator], custom(GradualError::VoteLimitReached));
    assert_eq!(other, find_audit_address(&nodes[9].node, 0).0);
}

#[test]
fn resolution_checks_every_account_against_the_audit() {
    let Audited { mut ctx, task, nodes, creator } = audited(&[2 * SOL, 2 * SOL, 2 * SOL], 1);
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[1].node, 0);
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    let good = || {
        builders::resolve_audit(
            &audit,
            &task,
            &nodes[1].node,
            &nodes[0].operator.pubkey(),
            &nodes[1].operator.pubkey(),
        )
    };
    let mut wrong_raiser = good();
    wrong_raiser.accounts[3].pubkey = nodes[2].operator.pubkey();
    ctx.expect_error(wrong_raiser, &[], custom(GradualError::AuditAccountMismatch));
    let mut wrong_target_operator = good();
    wrong_target_operator.accounts[4].pubkey = creator.pubkey();
    ctx.expect_error(wrong_target_operator, &[], custom(GradualError::AuditAccountMismatch));
    let mut wrong_target = good();
    wrong_target.accounts[2].pubkey = nodes[2].node;
    ctx.expect_error(wrong_target, &[], custom(GradualError::AuditAccountMismatch));
    // Unopposed, the raiser's own vote upholds it (one voter is the minimum here).
    ctx.send_flow_ok(good(), &[], Flow::payout(BOND + slash_of(2 * SOL).1));
    ctx.expect_error(good(), &[], custom(GradualError::InvalidAuditAccount));
}

#[test]
fn an_audited_node_cannot_add_stake_until_the_audit_resolves() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL, 2 * SOL], 1);
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[1].node, 0);
    let top_up = || builders::stake(&nodes[1].operator.pubkey(), &task, SOL, b"u");
    ctx.expect_error(top_up(), &[&nodes[1].operator], custom(GradualError::OpenAuditsPending));
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    ctx.resolve_audit(&audit, BOND + slash_of(2 * SOL).1);
    ctx.send_flow_ok(top_up(), &[&nodes[1].operator], Flow::deposit(SOL));
}

/// Votes on an audit come only from its committee: a node without a seat is
/// refused, and one with a seat adds its seats, not its stake.
#[test]
fn only_the_committee_votes() {
    let stakes: Vec<u64> = [2, 2, 90].into_iter().chain([1; 12]).map(|sol| sol * SOL).collect();
    let total: u64 = stakes.iter().sum();
    let Audited { mut ctx, task, nodes, .. } = audited(&stakes, 1);
    let target = nodes[1].node;
    let seats_of = |ctx: &TestContext, index: usize| {
        committee_seats(ctx, &task, (&target, 0), &nodes[index].node, (stakes[index], total))
    };
    // 64 seats over 106 SOL: a 1-SOL node holds one seat or none, by the draw.
    let without =
        (3..nodes.len()).find(|index| seats_of(&ctx, *index) == 0).expect("a 1-SOL node without a seat");
    let with = (3..nodes.len()).find(|index| seats_of(&ctx, *index) == 1).expect("a 1-SOL node with a seat");
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &target, 0);
    ctx.warp_to_votes(&audit);
    let refused = builders::vote_audit(&nodes[without].operator.pubkey(), &task, &audit, false);
    ctx.expect_error(refused, &[&nodes[without].operator], custom(GradualError::NotOnCommittee));
    ctx.vote_audit(&nodes[with].operator, &task, &audit, false);
    ctx.vote_audit(&nodes[2].operator, &task, &audit, true);
    let record = ctx.audit(&audit);
    let raiser = oracle::raiser_seats(stakes[0], total, 64);
    assert_eq!(record.invalid_weight, raiser + 1, "the raiser's whole seat and the voter's one");
    assert_eq!(record.valid_weight, seats_of(&ctx, 2));
    assert!((54..=55).contains(&record.valid_weight), "90/106 of 64 seats");
}

/// Nothing done after a round begins moves its committees: stake added or
/// nodes opened in the raise round change neither the seats' denominator
/// nor anyone's weight, and a node cannot pick its address after the seed.
#[test]
fn committees_cannot_be_ground_by_restaking_or_new_keys() {
    let Audited { mut ctx, task, nodes, .. } = audited(&[2 * SOL, 2 * SOL, 2 * SOL], 1);
    let total = 6 * SOL;
    // Round 2, before the raise: a node stakes ten times more, and fresh keys join.
    ctx.stake(&nodes[2].operator, &task, 20 * SOL);
    let fresh: Vec<NodeFixture> = (0..5).map(|_| NodeFixture::new(&mut ctx, &task, 10 * SOL)).collect();
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[1].node, 0);
    let record = ctx.audit(&audit);
    assert_eq!(record.committee_stake, total, "the stake when round 2 began");
    ctx.warp_to_votes(&audit);
    ctx.vote_audit(&nodes[2].operator, &task, &audit, true);
    let expected = committee_seats(&ctx, &task, (&nodes[1].node, 0), &nodes[2].node, (2 * SOL, total));
    assert_eq!(ctx.audit(&audit).valid_weight, expected, "round 0's 2 SOL, not the 22 SOL staked now");
    for node in &fresh {
        let vote = builders::vote_audit(&node.operator.pubkey(), &task, &audit, false);
        ctx.expect_error(vote, &[&node.operator], custom(GradualError::StakeNotActiveForRound));
    }
}
