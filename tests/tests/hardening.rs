//! Protocol v3's hardening, each tried as the attack it stops, on the .so:
//! flash stake cannot dilute a committee, a late resolution gives the same
//! verdict, a dispute costs a bond, turns follow stake, a commitment cannot
//! be made again for another round or task, an on-curve bump has its own
//! error; and the thresholds at their exact boundaries.

use gradual_interface::{
    builders,
    error::GradualError,
    merkle::{tree_of, BUCKET_LEAVES},
    pda::{find_distribution_address, find_node_address},
    state::{Account, Distribution, DISTRIBUTION_APPROVED, DISTRIBUTION_REJECTED},
    Address, ID,
};
use gradual_tests::{custom, fixtures::*, oracle, Flow, TestContext, SOL};
use solana_keypair::Keypair;
use solana_signer::Signer;

const BOND: u64 = SOL / 10;
const AUDIT_OPENS: u64 = SUBMISSION_WINDOW;
const AUDIT_CLOSES: u64 = SUBMISSION_WINDOW + AUDIT_WINDOW;
const DISTRIBUTION_WINDOW: u64 = 20;

type World = ProvedTask;

/// Nodes with `stakes`, all of which proved round 0; the clock at round 2's start.
fn proved(stakes: &[u64], min_audit_seats: u16) -> World {
    ProvedTask::new(stakes, min_audit_seats)
}

/// The measured attack: 4 nodes of 10 SOL, quorum 8 seats. In the last slot
/// of round 1 one transaction stakes 10,000 SOL in a new node and asks to
/// unstake; at round 2's first slot it withdraws it all. The committee of
/// an honest raise must still share out only the 40 SOL of round 0.
#[test]
fn flash_stake_cannot_dilute_an_audit_committee() {
    let mut ctx = TestContext::new();
    let creator = ctx.funded_keypair(1_000 * SOL);
    let mut config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    config.args.min_audit_seats = 8;
    let task = ctx.create_task(&creator, &config);
    let nodes: Vec<NodeFixture> = (0..4).map(|_| NodeFixture::new(&mut ctx, &task, 10 * SOL)).collect();
    let operators: Vec<&Keypair> = nodes.iter().map(|node| &node.operator).collect();
    ctx.warp_to_round(&task, 1, 0);
    for operator in &operators {
        ctx.send_ok(commit_proof(&task, &operator.pubkey(), 0, ([7; 32], b"cid")), &[*operator]);
    }
    ctx.warp_to_round(&task, 1, ROUND_LENGTH - 1);
    let whale = ctx.funded_keypair(10_001 * SOL);
    let stake = builders::stake(&whale.pubkey(), &task, 10_000 * SOL, b"u");
    let unstake = builders::request_unstake(&whale.pubkey(), &task);
    ctx.send_with_flow(&[stake, unstake], &[&whale], Flow::deposit(10_000 * SOL)).expect("flash stake");
    ctx.warp_to_round(&task, 2, 0);
    ctx.withdraw(&whale, &task, 10_000 * SOL);
    for operator in &operators {
        ctx.send_ok(reveal_proof(&task, &operator.pubkey(), 0, ([7; 32], b"cid")), &[*operator]);
    }

    ctx.warp_to_round(&task, 2, AUDIT_OPENS);
    let audit = ctx.raise_audit(&nodes[0].operator, &task, &nodes[3].node, 0);
    let record = ctx.audit(&audit);
    assert_eq!(record.committee_stake, 40 * SOL, "only round 0's stake shares the seats");
    assert_eq!(record.invalid_weight, 16, "the raiser's 64 * 10 / 40 seats");
    ctx.warp_to_votes(&audit);
    for voter in &nodes[1..3] {
        ctx.vote_audit(&voter.operator, &task, &audit, false);
    }
    assert_eq!(ctx.audit(&audit).invalid_weight, 48, "no honest voter is left off the committee");
    ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    let (_, to_raiser, _) = oracle::slash(10 * SOL, 1_000);
    ctx.resolve_audit(&audit, BOND + to_raiser);
    assert_ne!(ctx.node(&nodes[3].node).total_slashed, 0, "the cheater is slashed");
}

/// The counted stake of a round, against the nodes' own stake for it:
/// joining and leaving move the count from the next round only, and a
/// slash from the round after it.
#[test]
fn counted_stake_is_the_stake_that_counts_in_each_round() {
    let mut world = proved(&[2 * SOL, 3 * SOL, 4 * SOL], 1);
    let task = world.task;
    let sum_for = |world: &World, extra: &[Address], round: u64| -> u64 {
        let nodes = world.nodes.iter().map(|node| node.node).chain(extra.iter().copied());
        nodes
            .filter(|node| world.ctx.exists(node))
            .map(|node| world.ctx.node(&node).stake_for_round(round))
            .sum()
    };
    // Round 2: node 0 leaves, a newcomer joins with 5 SOL, node 1 tops up 1 SOL.
    world.ctx.send_ok(
        builders::request_unstake(&world.nodes[0].operator.pubkey(), &task),
        &[&world.nodes[0].operator],
    );
    let newcomer = NodeFixture::new(&mut world.ctx, &task, 5 * SOL);
    let top_up = world.nodes[1].operator.insecure_clone();
    world.ctx.stake(&top_up, &task, SOL);
    // And node 2 is slashed for round 0.
    world.ctx.warp_to_round(&task, 2, AUDIT_OPENS);
    let audit = world.ctx.raise_audit(&world.nodes[1].operator, &task, &world.nodes[2].node, 0);
    world.ctx.warp_to_round(&task, 2, AUDIT_CLOSES);
    let (slashed, to_raiser, _) = oracle::slash(4 * SOL, 1_000);
    world.ctx.resolve_audit(&audit, BOND + to_raiser);
    let stored = world.ctx.task(&task);
    // Everything done in round 2 counts from round 3; the slash lowers
    // node 2's own stake for round 0 but not the round's count.
    for round in 0..=2 {
        assert_eq!(stored.counted_stake_for(round), 9 * SOL, "round {round}");
    }
    assert_eq!(stored.counted_stake_for(3), sum_for(&world, &[newcomer.node], 3));
    assert_eq!(stored.counted_stake_for(3), 3 * SOL + SOL + 4 * SOL - slashed + 5 * SOL);
}

/// An audit nobody voted on: resolved at `window_end` or 600 slots later,
/// after its seed slot has left `SlotHashes`, the raiser's seats and the
/// verdict are the same.
#[test]
fn a_late_resolution_gives_the_same_verdict() {
    for delay in [0, 600] {
        let mut world = proved(&[10 * SOL, 10 * SOL, 10 * SOL, 10 * SOL], 8);
        world.ctx.warp_to_round(&world.task, 2, AUDIT_OPENS);
        let audit = world.ctx.raise_audit(&world.nodes[0].operator, &world.task, &world.nodes[3].node, 0);
        let window_end = world.ctx.audit(&audit).window_end;
        world.ctx.warp_to_slot(window_end + delay);
        let (_, to_raiser, _) = oracle::slash(10 * SOL, 1_000);
        world.ctx.resolve_audit(&audit, BOND + to_raiser);
        assert_ne!(world.ctx.node(&world.nodes[3].node).total_slashed, 0, "upheld {delay} slots late");
    }
}

/// Round 0's list by the default rule, proposed by node 0 when `gift`
/// lamports already sit at the list's address; the clock at the start of
/// its vote window.
fn proposed(world: &mut World, gift: u64) -> Vec<([u8; 32], u64)> {
    let addresses: Vec<Address> = world.nodes.iter().map(|node| node.node).collect();
    let leaves = default_list(&world.ctx, &world.task, 0, &addresses);
    world.ctx.warp_to_round(&world.task, 3, DISTRIBUTION_WINDOW - 1);
    let operator = world.nodes[0].operator.insecure_clone();
    let proposal = builders::propose_distribution(&operator.pubkey(), &world.task, &proposal_of(0, &leaves));
    // A gift above rent joins the program's accounts: it enters the ledger now.
    let rent = world.ctx.svm.minimum_balance_for_rent_exemption(Distribution::LEN);
    world.ctx.send_flow_ok(proposal, &[&operator], Flow::deposit(BOND + gift.saturating_sub(rent)));
    let vote_start = world.ctx.distribution(&find_distribution_address(&world.task, 0).0).vote_start;
    world.ctx.warp_to_slot(vote_start);
    leaves
}

/// The measured attack, answered: a 3-SOL node disputes an honest 2-SOL
/// proposer's list and another honest node answers. The list stands and the
/// disputer's bond goes to the pool; a second dispute posts nothing more.
#[test]
fn a_dispute_that_fails_costs_its_bond() {
    let mut world = proved(&[2 * SOL, 3 * SOL, 2 * SOL, SOL], 1);
    proposed(&mut world, 0);
    let list = find_distribution_address(&world.task, 0).0;
    let disputer = world.nodes[1].operator.insecure_clone();
    let disputer_before = world.ctx.lamports(&disputer.pubkey());
    world.ctx.vote_distribution(&disputer, &world.task, 0, false);
    let record = world.ctx.distribution(&list);
    assert_eq!((record.dispute_bond, record.disputer_operator), (BOND, disputer.pubkey().to_bytes()));
    let second = world.nodes[3].operator.insecure_clone();
    world.ctx.vote_distribution(&second, &world.task, 0, false);
    assert_eq!(world.ctx.distribution(&list).dispute_bond, BOND, "only the first dispute posts a bond");
    let answer = world.nodes[2].operator.insecure_clone();
    world.ctx.vote_distribution(&answer, &world.task, 0, true);
    let record = world.ctx.distribution(&list);
    assert_eq!((record.valid_weight, record.invalid_weight), (4 * SOL, 4 * SOL), "an exact tie");

    world.ctx.warp_to_slot(record.vote_end);
    let pool_before = world.ctx.task(&world.task).bounty_pool;
    world.ctx.resolve_distribution(&world.task, 0);
    let record = world.ctx.distribution(&list);
    assert_eq!(record.status, DISTRIBUTION_APPROVED, "a tie stands");
    assert_eq!(world.ctx.task(&world.task).bounty_pool, pool_before + BOND, "the dispute's bond to the pool");
    assert_eq!(world.ctx.lamports(&disputer.pubkey()), disputer_before - BOND);
}

/// One lamport more against the list than for it rejects it, and the
/// disputer's bond comes back.
#[test]
fn one_lamport_more_against_rejects_and_refunds_the_dispute() {
    let mut world = proved(&[2 * SOL, 2 * SOL + 1], 1);
    proposed(&mut world, 0);
    let disputer = world.nodes[1].operator.insecure_clone();
    let disputer_before = world.ctx.lamports(&disputer.pubkey());
    world.ctx.vote_distribution(&disputer, &world.task, 0, false);
    let list = find_distribution_address(&world.task, 0).0;
    world.ctx.warp_to_slot(world.ctx.distribution(&list).vote_end);
    world.ctx.resolve_distribution(&world.task, 0);
    assert_eq!(world.ctx.distribution(&list).status, DISTRIBUTION_REJECTED);
    assert_eq!(world.ctx.lamports(&disputer.pubkey()), disputer_before, "the bond came back");
}

/// Turns follow stake: a 1-SOL node beside a 15-SOL node is entitled at the
/// window's start about one time in 16, not one in 2 as by node count.
/// Draw worlds until the count rule would let the small node in and the
/// stake rule does not; the program must refuse it and take the big one.
#[test]
fn proposer_turns_follow_stake() {
    let (mut world, small, big) = (0..60)
        .find_map(|_| {
            let world = proved(&[SOL, 15 * SOL], 1);
            let seed = proposal_seed(&world.ctx, &world.task, 0, 0);
            let at_start = |index: usize, stake: u64| {
                oracle::entitled(
                    &seed,
                    &world.nodes[index].node.to_bytes(),
                    (stake, 16 * SOL),
                    0,
                    DISTRIBUTION_WINDOW,
                )
            };
            let by_count = oracle::score(&seed, &world.nodes[0].node.to_bytes()) < u64::MAX / 2;
            (by_count && !at_start(0, SOL) && at_start(1, 15 * SOL)).then_some((world, 0, 1))
        })
        .expect("in 60 worlds, one where the two rules disagree");
    let addresses: Vec<Address> = world.nodes.iter().map(|node| node.node).collect();
    let leaves = default_list(&world.ctx, &world.task, 0, &addresses);
    assert_eq!(leaves.iter().map(|(_, amount)| amount).collect::<Vec<_>>().len(), 2);
    world.ctx.warp_to_round(&world.task, 3, 0);
    let operator = world.nodes[small].operator.insecure_clone();
    let refused = builders::propose_distribution(&operator.pubkey(), &world.task, &proposal_of(0, &leaves));
    world.ctx.expect_error(refused, &[&operator], custom(GradualError::NotEntitledToPropose));
    let operator = world.nodes[big].operator.insecure_clone();
    world.ctx.propose(&operator, &world.task, &proposal_of(0, &leaves));
    // The default rule pays by stake: 1/16 and 15/16 of the bounty.
    let small_leaf = leaves.iter().find(|(node, _)| *node == world.nodes[small].node.to_bytes()).unwrap();
    assert_eq!(small_leaf.1, BOUNTY_PER_ROUND / 16);
}

/// A commitment binds its task and round: a node's own earlier commitment,
/// made again for the next round, no longer opens with the old reveal.
#[test]
fn a_commitment_made_again_for_another_round_does_not_reveal() {
    let mut world = proved(&[2 * SOL], 1);
    let (task, operator) = (world.task, world.nodes[0].operator.insecure_clone());
    let (old_commitment, old_reveal) = proof_parts(&task, &operator.pubkey(), 0, ([7; 32], b"cid"));
    world.ctx.warp_to_round(&task, 2, 0);
    let replay = builders::submit_proof(&operator.pubkey(), &task, 1, Some(old_commitment), None);
    world.ctx.send_ok(replay, &[&operator]);
    world.ctx.warp_to_round(&task, 3, 0);
    let reveal = builders::submit_proof(&operator.pubkey(), &task, 2, None, Some(&old_reveal));
    world.ctx.expect_error(reveal, &[&operator], custom(GradualError::RevealMismatch));
    // The same opening, bound to round 1, does reveal.
    let (_, round_one) = proof_parts(&task, &operator.pubkey(), 1, ([7; 32], b"cid"));
    let mismatched = builders::submit_proof(&operator.pubkey(), &task, 2, None, Some(&round_one));
    world.ctx.expect_error(mismatched, &[&operator], custom(GradualError::RevealMismatch));
}

/// The first node bump (from 255 down) whose address is on the curve.
fn on_curve_node(task: &Address, operator: &Address) -> (Address, u8) {
    (0..=255u8)
        .rev()
        .find_map(|bump| {
            let seeds: [&[u8]; 4] = [b"node", task.as_ref(), operator.as_ref(), &[bump]];
            if Address::create_program_address(&seeds, &ID).is_ok() {
                return None;
            }
            let hash = solana_sha256_hasher::hashv(&[
                seeds[0],
                seeds[1],
                seeds[2],
                seeds[3],
                ID.as_ref(),
                b"ProgramDerivedAddress",
            ]);
            Some((Address::new_from_array(hash.to_bytes()), bump))
        })
        .expect("about half of all bumps are on the curve")
}

#[test]
fn an_on_curve_bump_has_its_own_error() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let operator = ctx.funded_keypair(10 * SOL);
    let (address, bump) = on_curve_node(&fixture.task, &operator.pubkey());
    let mut stake = builders::stake(&operator.pubkey(), &fixture.task, SOL, b"u");
    stake.accounts[2].pubkey = address;
    stake.data[9] = bump;
    ctx.expect_error(stake, &[&operator], custom(GradualError::BumpOnCurve));
    assert_ne!(address, find_node_address(&fixture.task, &operator.pubkey()).0);
}

/// Claims from a list of 20 leaves (5 buckets, 3 levels) at positions that
/// take every side at every level.
#[test]
fn claims_verify_multi_level_proofs() {
    let mut world = proved(&[2 * SOL, 2 * SOL, 2 * SOL, 2 * SOL], 1);
    let positions = [0usize, 5, 14, 19];
    let mut leaves: Vec<([u8; 32], u64)> = (0..20u8).map(|i| ([0xF0 ^ i; 32], 1_000)).collect();
    for (node, position) in world.nodes.iter().zip(positions) {
        leaves[position] = (node.node.to_bytes(), 100_000_000);
    }
    let total: u64 = leaves.iter().map(|(_, amount)| amount).sum();
    let tree = tree_of(&leaves);
    let proposal = gradual_interface::builders::Proposal::of(0, &leaves, b"http://127.0.0.1/l".to_vec());
    assert_eq!(proposal.total, total);
    world.ctx.warp_to_round(&world.task, 3, DISTRIBUTION_WINDOW - 1);
    let proposer = world.nodes[0].operator.insecure_clone();
    world.ctx.propose(&proposer, &world.task, &proposal);
    let list = find_distribution_address(&world.task, 0).0;
    world.ctx.warp_to_slot(world.ctx.distribution(&list).vote_end);
    world.ctx.resolve_distribution(&world.task, 0);
    for (node, position) in world.nodes.iter().zip(positions) {
        let proof = tree.proof(position).unwrap();
        assert_eq!((proof.siblings.len(), usize::from(proof.position)), (3, position % BUCKET_LEAVES));
        let operator = node.operator.insecure_clone();
        // A changed sibling at the top level fails.
        let mut changed = proof.clone();
        changed.siblings[2][0] ^= 1;
        let forged = builders::claim_reward(&operator.pubkey(), &world.task, 0, 100_000_000, &changed);
        world.ctx.expect_error(forged, &[&operator], custom(GradualError::InvalidProof));
        world.ctx.claim(&operator, &world.task, 0, 100_000_000, &proof);
    }
}

/// Lamports sent to a list's address before its first proposal go to the
/// pool: the proposer's bond, and so a dispute's, stay the round's
/// `audit_bond`, and nobody can price disputes out of reach.
#[test]
fn a_pre_funded_list_cannot_raise_the_price_of_a_dispute() {
    let mut world = proved(&[2 * SOL, 3 * SOL], 1);
    let griefer = world.ctx.funded_keypair(60 * SOL);
    let list = find_distribution_address(&world.task, 0).0;
    let transfer = system_transfer(&griefer.pubkey(), &list, 50 * SOL);
    world.ctx.send_with_flow(&[transfer], &[&griefer], Flow::deposit(0)).expect("a plain transfer");
    let pool_before = world.ctx.task(&world.task).bounty_pool;
    let leaves = proposed(&mut world, 50 * SOL);
    let record = world.ctx.distribution(&list);
    assert_eq!(record.bond, BOND);
    let total: u64 = leaves.iter().map(|(_, amount)| amount).sum();
    let rent = world.ctx.svm.minimum_balance_for_rent_exemption(Distribution::LEN);
    assert_eq!(world.ctx.task(&world.task).bounty_pool, pool_before + 50 * SOL - rent - total);
    let disputer = world.nodes[1].operator.insecure_clone();
    let before = world.ctx.lamports(&disputer.pubkey());
    world.ctx.vote_distribution(&disputer, &world.task, 0, false);
    assert_eq!(world.ctx.lamports(&disputer.pubkey()), before - BOND);
}
