//! ProposeDistribution, VoteDistribution, ResolveDistribution, ClaimReward and
//! ExpireDistribution on the .so: success paths, a rejected list followed by
//! an approved one, the failed-attempts limit, double and forged claims,
//! over-total lists, window edges and a claim at depth 20.

use gradual_interface::{
    builders::{self, Proposal},
    error::GradualError,
    merkle::{tree_of, Proof},
    pda::find_distribution_address,
    state::{
        DISTRIBUTION_APPROVED, DISTRIBUTION_FAILED, DISTRIBUTION_PROPOSED, DISTRIBUTION_REJECTED,
        MIN_AUDIT_BOND,
    },
    Address,
};
use gradual_tests::{custom, fixtures::*, oracle, Flow, TestContext, SOL};
use solana_keypair::Keypair;
use solana_signer::Signer;

const DISTRIBUTION_WINDOW: u64 = 20;
const DISTRIBUTION_AUDIT_WINDOW: u64 = 30;
const BOND: u64 = SOL / 10;

struct Paid {
    ctx: TestContext,
    creator: Keypair,
    task: Address,
    nodes: Vec<NodeFixture>,
}

impl Paid {
    fn addresses(&self) -> Vec<Address> {
        self.nodes.iter().map(|node| node.node).collect()
    }

    /// Moves to the first slot of `round`'s attempt at which one of the nodes
    /// is entitled, skipping `skip`; returns that node's index.
    fn warp_to_proposer(&mut self, round: u64, attempt: u8, skip: &[usize]) -> usize {
        let candidates: Vec<Address> = self
            .addresses()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !skip.contains(i))
            .map(|(_, a)| a)
            .collect();
        let (offset, index) = first_entitled(&self.ctx, &self.task, round, attempt, &candidates);
        self.ctx.warp_to_round(&self.task, round + 3 + u64::from(attempt), offset);
        let chosen = candidates[index];
        self.addresses().iter().position(|address| *address == chosen).expect("a node")
    }

    fn distribution(&self, round: u64) -> Address {
        find_distribution_address(&self.task, round).0
    }

    fn vote_start(&self, round: u64, attempt: u8) -> (u64, u64) {
        let round_start = |r: u64| self.ctx.task(&self.task).start_slot + r * ROUND_LENGTH;
        let start = round_start(round + 3 + u64::from(attempt)) + DISTRIBUTION_WINDOW;
        (start, start + DISTRIBUTION_AUDIT_WINDOW)
    }
}

/// `count` nodes with 2 SOL each, all of which submitted round 0's proof.
fn paid(count: usize, min_seats: u16) -> Paid {
    let mut ctx = TestContext::new();
    let creator = ctx.funded_keypair(1_000 * SOL);
    let mut config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    config.args.min_audit_seats = min_seats;
    let task = ctx.create_task(&creator, &config);
    let nodes: Vec<NodeFixture> = (0..count).map(|_| NodeFixture::new(&mut ctx, &task, 2 * SOL)).collect();
    let operators: Vec<&Keypair> = nodes.iter().map(|node| &node.operator).collect();
    prove_round(&mut ctx, &task, &operators, 0, [3; 32]);
    Paid { ctx, creator, task, nodes }
}

/// Node 0 audits node 2's round-0 proof, unopposed: upheld, node 2 excluded.
fn exclude_node_two(world: &mut Paid) {
    world.ctx.warp_to_round(&world.task, 2, SUBMISSION_WINDOW);
    let raiser = world.nodes[0].operator.insecure_clone();
    let audit = world.ctx.raise_audit(&raiser, &world.task, &world.nodes[2].node, 0);
    world.ctx.warp_to_round(&world.task, 2, SUBMISSION_WINDOW + AUDIT_WINDOW);
    world.ctx.resolve_audit(&audit, BOND + (2 * SOL / 10) / 2);
}

fn claim_all(world: &mut Paid, round: u64, leaves: &[([u8; 32], u64)]) {
    let tree = tree_of(leaves);
    for (index, (address, amount)) in leaves.iter().enumerate() {
        let node = world.nodes.iter().find(|node| node.node.to_bytes() == *address).expect("a listed node");
        let before = world.ctx.lamports(&node.operator.pubkey());
        let proof = tree.proof(index).unwrap();
        let operator = node.operator.insecure_clone();
        world.ctx.claim(&operator, &world.task, round, *amount, &proof);
        assert_eq!(world.ctx.lamports(&operator.pubkey()), before + amount);
    }
}

/// The first entitled node proposes round 0's list paying itself the whole
/// round; every other node votes against it. The clock ends at the vote's
/// end. Returns the cheater's index and keypair.
fn greedy_list_voted_down(world: &mut Paid) -> (usize, Keypair) {
    let cheat = world.warp_to_proposer(0, 0, &[]);
    let greedy = vec![(world.nodes[cheat].node.to_bytes(), BOUNTY_PER_ROUND)];
    let cheater = world.nodes[cheat].operator.insecure_clone();
    world.ctx.propose(&cheater, &world.task, &proposal_of(0, &greedy));
    let (vote_start, vote_end) = world.vote_start(0, 0);
    world.ctx.warp_to_slot(vote_start);
    for node in world.nodes.iter().enumerate().filter(|(i, _)| *i != cheat).map(|(_, n)| n) {
        world.ctx.vote_distribution(&node.operator, &world.task, 0, false);
    }
    world.ctx.warp_to_slot(vote_end);
    (cheat, cheater)
}

#[test]
fn a_list_is_proposed_approved_claimed_and_expired() {
    let mut world = paid(3, 1);
    let leaves = default_list(&world.ctx, &world.task, 0, &world.addresses());
    assert_eq!(leaves.len(), 3);
    assert!(leaves.iter().all(|(_, amount)| *amount == BOUNTY_PER_ROUND / 3));
    let pool_before = world.ctx.task(&world.task).bounty_pool;

    let proposer = world.warp_to_proposer(0, 0, &[]);
    let operator = world.nodes[proposer].operator.insecure_clone();
    let proposal = proposal_of(0, &leaves);
    world.ctx.propose(&operator, &world.task, &proposal);
    let address = world.distribution(0);
    let record = world.ctx.distribution(&address);
    assert_eq!(record.status, DISTRIBUTION_PROPOSED);
    assert_eq!((record.total, record.leaf_count, record.root), (proposal.total, 3, proposal.root));
    assert_eq!(record.url(), proposal.url.as_slice());
    assert_eq!(
        world.ctx.task(&world.task).bounty_pool,
        pool_before - proposal.total,
        "the total is reserved"
    );
    assert_eq!(world.ctx.task(&world.task).open_distributions, 1);

    let (vote_start, vote_end) = world.vote_start(0, 0);
    world.ctx.warp_to_slot(vote_start);
    for node in world.nodes.iter().enumerate().filter(|(i, _)| *i != proposer).map(|(_, node)| node) {
        world.ctx.vote_distribution(&node.operator, &world.task, 0, true);
    }
    world.ctx.warp_to_slot(vote_end);
    world.ctx.resolve_distribution(&world.task, 0);
    assert_eq!(world.ctx.distribution(&address).status, DISTRIBUTION_APPROVED);

    claim_all(&mut world, 0, &leaves);
    let record = world.ctx.distribution(&address);
    assert_eq!(record.claimed, proposal.total);
    assert_eq!(record.reserved, 0);

    // After the claim period the account closes; its rent goes to the payer.
    world.ctx.expect_error(
        builders::expire_distribution(&world.task, 0, &operator.pubkey()),
        &[],
        custom(GradualError::DistributionNotExpired),
    );
    world.ctx.warp_to_slot(record.claim_deadline);
    let payer_before = world.ctx.lamports(&operator.pubkey());
    let rent = world.ctx.lamports(&address);
    world.ctx.expire_distribution(&world.task, 0);
    assert!(!world.ctx.exists(&address));
    assert_eq!(world.ctx.lamports(&operator.pubkey()), payer_before + rent);
    assert_eq!(world.ctx.task(&world.task).open_distributions, 0);
    // The dust of the equal split never left the pool.
    assert_eq!(world.ctx.task(&world.task).bounty_pool, pool_before - proposal.total);
}

#[test]
fn a_rejected_list_is_followed_by_an_approved_one() {
    let mut world = paid(4, 2);
    let honest = default_list(&world.ctx, &world.task, 0, &world.addresses());
    let (cheat, cheater) = greedy_list_voted_down(&mut world);
    let pool_before = world.ctx.task(&world.task).bounty_pool;
    let cheater_before = world.ctx.lamports(&cheater.pubkey());
    let address = world.distribution(0);
    let disputer = Address::new_from_array(world.ctx.distribution(&address).disputer_operator);
    let first_disputer =
        world.nodes.iter().find(|n| n.operator.pubkey() == disputer).expect("a node's operator");
    let disputer_before = world.ctx.lamports(&first_disputer.operator.pubkey());
    world.ctx.resolve_distribution(&world.task, 0);
    let record = world.ctx.distribution(&address);
    assert_eq!(record.status, DISTRIBUTION_REJECTED);
    assert_eq!(world.ctx.lamports(&disputer), disputer_before + BOND, "the dispute's bond comes back");
    assert_eq!(
        world.ctx.task(&world.task).bounty_pool,
        pool_before + BOUNTY_PER_ROUND + BOND,
        "total and bond to the pool"
    );
    assert_eq!(world.ctx.lamports(&cheater.pubkey()), cheater_before, "the bond is lost");
    // The same attempt cannot be re-proposed; the next attempt (round 4) can.
    let retry = builders::propose_distribution(&cheater.pubkey(), &world.task, &proposal_of(0, &honest));
    world.ctx.expect_error(retry, &[&cheater], custom(GradualError::OutsideDistributionWindow));

    let honest_proposer = world.warp_to_proposer(0, 1, &[cheat]);
    let operator = world.nodes[honest_proposer].operator.insecure_clone();
    world.ctx.propose(&operator, &world.task, &proposal_of(0, &honest));
    let (_, vote_end) = world.vote_start(0, 1);
    world.ctx.warp_to_slot(vote_end);
    world.ctx.resolve_distribution(&world.task, 0);
    let record = world.ctx.distribution(&address);
    assert_eq!((record.status, record.attempt), (DISTRIBUTION_APPROVED, 1));
    claim_all(&mut world, 0, &honest);
}

/// Adversarial review: `min_audit_seats` used to gate the rejection of lists
/// too, so with a high value a greedy list was approved although two thirds
/// of the stake voted against it. A list's verdict is the stake alone.
#[test]
fn most_stake_against_rejects_a_list_whatever_min_audit_seats() {
    let mut world = paid(3, 5);
    greedy_list_voted_down(&mut world);
    let record = world.ctx.distribution(&world.distribution(0));
    assert!(record.voter_count < 5, "fewer voters than the task's min_audit_seats");
    assert_eq!(record.invalid_weight, 2 * record.valid_weight, "two thirds of the stake against");
    world.ctx.resolve_distribution(&world.task, 0);
    assert_eq!(world.ctx.distribution(&world.distribution(0)).status, DISTRIBUTION_REJECTED);
}

#[test]
fn after_the_allowed_failures_the_round_pays_nothing() {
    let mut world = paid(3, 1);
    // Every attempt's list is voted down by everyone else (2 of 3 nodes).
    for attempt in 0..=2u8 {
        let proposer = world.warp_to_proposer(0, attempt, &[]);
        let operator = world.nodes[proposer].operator.insecure_clone();
        let greedy = vec![(world.nodes[proposer].node.to_bytes(), BOUNTY_PER_ROUND)];
        world.ctx.propose(&operator, &world.task, &proposal_of(0, &greedy));
        let (vote_start, vote_end) = world.vote_start(0, attempt);
        world.ctx.warp_to_slot(vote_start);
        for node in world.nodes.iter().enumerate().filter(|(i, _)| *i != proposer).map(|(_, n)| n) {
            world.ctx.vote_distribution(&node.operator, &world.task, 0, false);
        }
        world.ctx.warp_to_slot(vote_end);
        world.ctx.resolve_distribution(&world.task, 0);
    }
    let address = world.distribution(0);
    assert_eq!(world.ctx.distribution(&address).status, DISTRIBUTION_FAILED);
    // A fourth attempt (round 6) is refused; the account expires at once.
    world.ctx.warp_to_round(&world.task, 6, 0);
    let leaves = default_list(&world.ctx, &world.task, 0, &world.addresses());
    let operator = world.nodes[0].operator.insecure_clone();
    let late = builders::propose_distribution(&operator.pubkey(), &world.task, &proposal_of(0, &leaves));
    world.ctx.expect_error(late, &[&operator], custom(GradualError::OutsideDistributionWindow));
    world.ctx.expire_distribution(&world.task, 0);
    assert!(!world.ctx.exists(&address));
}

#[test]
fn claims_are_paid_once_and_only_against_a_true_proof() {
    let mut world = paid(3, 1);
    let leaves = default_list(&world.ctx, &world.task, 0, &world.addresses());
    let tree = tree_of(&leaves);
    let proposer = world.warp_to_proposer(0, 0, &[]);
    let operator = world.nodes[proposer].operator.insecure_clone();
    world.ctx.propose(&operator, &world.task, &proposal_of(0, &leaves));
    let claim_of = |world: &Paid, index: usize, amount: u64, proof: &Proof| {
        let node = world.nodes.iter().find(|node| node.node.to_bytes() == leaves[index].0).unwrap();
        (
            node.operator.insecure_clone(),
            builders::claim_reward(&node.operator.pubkey(), &world.task, 0, amount, proof),
        )
    };
    let (claimer, early) = claim_of(&world, 0, leaves[0].1, &tree.proof(0).unwrap());
    world.ctx.expect_error(early, &[&claimer], custom(GradualError::DistributionNotApproved));
    let (_, vote_end) = world.vote_start(0, 0);
    world.ctx.warp_to_slot(vote_end);
    world.ctx.resolve_distribution(&world.task, 0);

    // Another node's proof, another amount, a tampered proof: all refused.
    let (claimer, wrong_proof) = claim_of(&world, 0, leaves[0].1, &tree.proof(1).unwrap());
    world.ctx.expect_error(wrong_proof, &[&claimer], custom(GradualError::InvalidProof));
    let (claimer, more) = claim_of(&world, 0, leaves[0].1 + 1, &tree.proof(0).unwrap());
    world.ctx.expect_error(more, &[&claimer], custom(GradualError::InvalidProof));
    let mut tampered = tree.proof(0).unwrap();
    tampered.bucket[1][0] ^= 1; // a neighbour's leaf in the bucket
    let (claimer, bad) = claim_of(&world, 0, leaves[0].1, &tampered);
    world.ctx.expect_error(bad, &[&claimer], custom(GradualError::InvalidProof));
    // A node claiming with someone else's leaf and proof.
    let thief = world
        .nodes
        .iter()
        .find(|node| node.node.to_bytes() != leaves[1].0)
        .unwrap()
        .operator
        .insecure_clone();
    let stolen =
        builders::claim_reward(&thief.pubkey(), &world.task, 0, leaves[1].1, &tree.proof(1).unwrap());
    world.ctx.expect_error(stolen, &[&thief], custom(GradualError::InvalidProof));

    // Once, and not twice in one transaction either.
    let (claimer, first) = claim_of(&world, 0, leaves[0].1, &tree.proof(0).unwrap());
    world.ctx.expect_error_all(
        &[first.clone(), first.clone()],
        &[&claimer],
        1,
        custom(GradualError::AlreadyClaimed),
    );
    world.ctx.send_flow_ok(first.clone(), &[&claimer], Flow::payout(leaves[0].1));
    world.ctx.expect_error(first, &[&claimer], custom(GradualError::AlreadyClaimed));

    // Claims close at the deadline.
    let deadline = world.ctx.distribution(&world.distribution(0)).claim_deadline;
    world.ctx.warp_to_slot(deadline - 1);
    let (claimer, second) = claim_of(&world, 1, leaves[1].1, &tree.proof(1).unwrap());
    world.ctx.send_flow_ok(second, &[&claimer], Flow::payout(leaves[1].1));
    world.ctx.warp_to_slot(deadline);
    let (claimer, late) = claim_of(&world, 2, leaves[2].1, &tree.proof(2).unwrap());
    world.ctx.expect_error(late, &[&claimer], custom(GradualError::ClaimPeriodOver));
    world.ctx.expire_distribution(&world.task, 0);
}

#[test]
fn totals_are_capped_by_the_bounty_the_pool_and_the_claims() {
    let mut world = paid(3, 1);
    let proposer = world.warp_to_proposer(0, 0, &[]);
    let operator = world.nodes[proposer].operator.insecure_clone();
    let over_bounty =
        Proposal { total: BOUNTY_PER_ROUND + 1, ..proposal_of(0, &[([1; 32], BOUNTY_PER_ROUND + 1)]) };
    let instruction = builders::propose_distribution(&operator.pubkey(), &world.task, &over_bounty);
    world.ctx.expect_error(instruction, &[&operator], custom(GradualError::TotalExceedsBounty));
    let no_leaves = Proposal { leaf_count: 0, ..proposal_of(0, &[([1; 32], 5)]) };
    let instruction = builders::propose_distribution(&operator.pubkey(), &world.task, &no_leaves);
    world.ctx.expect_error(instruction, &[&operator], custom(GradualError::InvalidDistributionList));

    // A list whose leaves add up to more than its declared total: approved
    // unopposed, but claims stop at the total.
    let leaves: Vec<([u8; 32], u64)> =
        world.nodes.iter().map(|node| (node.node.to_bytes(), SOL / 2)).collect();
    let understated = Proposal { total: SOL, ..proposal_of(0, &leaves) };
    world.ctx.propose(&operator, &world.task, &understated);
    let (_, vote_end) = world.vote_start(0, 0);
    world.ctx.warp_to_slot(vote_end);
    world.ctx.resolve_distribution(&world.task, 0);
    let tree = tree_of(&leaves);
    for (index, node) in world.nodes.iter().enumerate().take(2) {
        let operator = node.operator.insecure_clone();
        world.ctx.claim(&operator, &world.task, 0, SOL / 2, &tree.proof(index).unwrap());
    }
    let third = world.nodes[2].operator.insecure_clone();
    let over = builders::claim_reward(&third.pubkey(), &world.task, 0, SOL / 2, &tree.proof(2).unwrap());
    world.ctx.expect_error(over, &[&third], custom(GradualError::ClaimExceedsTotal));
}

#[test]
fn a_total_beyond_the_pool_is_refused() {
    let mut ctx = TestContext::new();
    let creator = ctx.funded_keypair(1_000 * SOL);
    let mut config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    config.args.initial_bounty = BOUNTY_PER_ROUND / 2;
    let task = ctx.create_task(&creator, &config);
    let node = NodeFixture::new(&mut ctx, &task, 2 * SOL);
    prove_round(&mut ctx, &task, &[&node.operator], 0, [3; 32]);
    let (offset, _) = first_entitled(&ctx, &task, 0, 0, &[node.node]);
    ctx.warp_to_round(&task, 3, offset);
    let leaves = [(node.node.to_bytes(), BOUNTY_PER_ROUND)];
    let instruction =
        builders::propose_distribution(&node.operator.pubkey(), &task, &proposal_of(0, &leaves));
    ctx.expect_error(instruction, &[&node.operator], custom(GradualError::TotalExceedsBounty));
    let affordable = [(node.node.to_bytes(), BOUNTY_PER_ROUND / 2)];
    ctx.propose(&node.operator, &task, &proposal_of(0, &affordable));
    assert_eq!(ctx.task(&task).bounty_pool, 0);
}

#[test]
fn proposing_voting_and_resolving_respect_the_windows_and_the_selection() {
    let mut world = paid(5, 1);
    let leaves = default_list(&world.ctx, &world.task, 0, &world.addresses());
    let proposal = proposal_of(0, &leaves);
    let propose = |world: &Paid, index: usize| {
        let operator = world.nodes[index].operator.insecure_clone();
        (builders::propose_distribution(&operator.pubkey(), &world.task, &proposal), operator)
    };
    // Round 2 is too early for round 0's list; the last slot of the window is
    // open to everyone; the slot after it is too late.
    world.ctx.warp_to_round(&world.task, 2, 0);
    let (early, operator) = propose(&world, 0);
    world.ctx.expect_error(early, &[&operator], custom(GradualError::OutsideDistributionWindow));
    world.ctx.warp_to_round(&world.task, 3, DISTRIBUTION_WINDOW);
    let (late, operator) = propose(&world, 0);
    world.ctx.expect_error(late, &[&operator], custom(GradualError::OutsideDistributionWindow));

    // At the start of the window only the selected few may propose.
    let seed = proposal_seed(&world.ctx, &world.task, 0, 0);
    let entitled_at_zero = |index: usize| {
        let node = world.nodes[index].node.to_bytes();
        oracle::entitled(&seed, &node, (2 * SOL, 10 * SOL), 0, DISTRIBUTION_WINDOW)
    };
    if let Some(outsider) = (0..5).find(|index| !entitled_at_zero(*index)) {
        world.ctx.warp_to_round(&world.task, 3, 0);
        let (instruction, operator) = propose(&world, outsider);
        world.ctx.expect_error(instruction, &[&operator], custom(GradualError::NotEntitledToPropose));
    }
    world.ctx.warp_to_round(&world.task, 3, DISTRIBUTION_WINDOW - 1);
    let (instruction, operator) = propose(&world, 0);
    world.ctx.send_flow_ok(instruction, &[&operator], Flow::deposit(BOND));

    // Votes: [vote_start, vote_end); the proposer never votes; once per node.
    let (vote_start, vote_end) = world.vote_start(0, 0);
    let vote = |world: &Paid, index: usize, valid: bool| {
        let operator = world.nodes[index].operator.insecure_clone();
        (builders::vote_distribution(&operator.pubkey(), &world.task, 0, valid), operator)
    };
    world.ctx.warp_to_slot(vote_start - 1);
    let (instruction, operator) = vote(&world, 1, true);
    world.ctx.expect_error(instruction, &[&operator], custom(GradualError::OutsideDistributionAuditWindow));
    world.ctx.warp_to_slot(vote_start);
    let (instruction, operator) = vote(&world, 0, true);
    world.ctx.expect_error(instruction, &[&operator], custom(GradualError::ProposerCannotVote));
    let (instruction, operator) = vote(&world, 1, true);
    world.ctx.send_ok(instruction.clone(), &[&operator]);
    world.ctx.expect_error(instruction, &[&operator], custom(GradualError::AlreadyVoted));
    // Disputes in the first half, rounded up (15 of 30 slots); answers to the end.
    let dispute_end = vote_start + DISTRIBUTION_AUDIT_WINDOW - DISTRIBUTION_AUDIT_WINDOW / 2;
    assert_eq!(world.ctx.distribution(&world.distribution(0)).dispute_end(), Some(dispute_end));
    world.ctx.warp_to_slot(dispute_end);
    let (instruction, operator) = vote(&world, 2, false);
    world.ctx.expect_error(instruction, &[&operator], custom(GradualError::DisputeWindowClosed));
    world.ctx.warp_to_slot(dispute_end - 1);
    let (instruction, operator) = vote(&world, 2, false);
    world.ctx.send_flow_ok(instruction, &[&operator], Flow::deposit(BOND));
    world.ctx.warp_to_slot(vote_end - 1);
    let (instruction, operator) = vote(&world, 4, true);
    world.ctx.send_ok(instruction, &[&operator]);
    let (proposer, disputer) = (world.nodes[0].operator.pubkey(), world.nodes[2].operator.pubkey());
    let wrong_disputer = builders::resolve_distribution(&world.task, 0, &proposer, &proposer);
    let resolve = builders::resolve_distribution(&world.task, 0, &proposer, &disputer);
    world.ctx.expect_error(wrong_disputer, &[], custom(GradualError::DistributionAccountMismatch));
    world.ctx.expect_error(resolve.clone(), &[], custom(GradualError::DistributionVoteOpen));
    world.ctx.warp_to_slot(vote_end);
    let (instruction, operator) = vote(&world, 3, true);
    world.ctx.expect_error(instruction, &[&operator], custom(GradualError::OutsideDistributionAuditWindow));
    world.ctx.send_flow_ok(resolve.clone(), &[], Flow::payout(BOND));
    world.ctx.expect_error(resolve, &[], custom(GradualError::DistributionNotOpenForVotes));
}

#[test]
fn an_excluded_node_is_left_out_and_a_reopened_node_cannot_claim_again() {
    let mut world = paid(3, 1);
    exclude_node_two(&mut world);
    let leaves = default_list(&world.ctx, &world.task, 0, &world.addresses());
    assert_eq!(leaves.len(), 2, "the excluded node is not paid");
    assert!(leaves.iter().all(|(node, _)| *node != world.nodes[2].node.to_bytes()));

    let proposer = world.warp_to_proposer(0, 0, &[2]);
    let operator = world.nodes[proposer].operator.insecure_clone();
    world.ctx.propose(&operator, &world.task, &proposal_of(0, &leaves));
    let (_, vote_end) = world.vote_start(0, 0);
    world.ctx.warp_to_slot(vote_end);
    world.ctx.resolve_distribution(&world.task, 0);

    // Node 0 claims, leaves, closes its account, stakes again, and tries again.
    let tree = tree_of(&leaves);
    let index = leaves.iter().position(|(node, _)| *node == world.nodes[0].node.to_bytes()).unwrap();
    let zero = world.nodes[0].operator.insecure_clone();
    world.ctx.claim(&zero, &world.task, 0, leaves[index].1, &tree.proof(index).unwrap());
    world.ctx.send_ok(builders::request_unstake(&zero.pubkey(), &world.task), &[&zero]);
    let current = world.ctx.task(&world.task).timeline().round_at(world.ctx.slot()).unwrap();
    world.ctx.warp_to_round(&world.task, current + 4, 0);
    world.ctx.withdraw(&zero, &world.task, 2 * SOL);
    world.ctx.stake(&zero, &world.task, 2 * SOL);
    let again =
        builders::claim_reward(&zero.pubkey(), &world.task, 0, leaves[index].1, &tree.proof(index).unwrap());
    world.ctx.expect_error(again, &[&zero], custom(GradualError::StakeNotActiveForRound));
}

#[test]
fn a_task_with_an_open_distribution_cannot_close() {
    let mut world = paid(1, 1);
    let leaves = default_list(&world.ctx, &world.task, 0, &world.addresses());
    world.warp_to_proposer(0, 0, &[]);
    let operator = world.nodes[0].operator.insecure_clone();
    world.ctx.propose(&operator, &world.task, &proposal_of(0, &leaves));
    world.ctx.send_ok(builders::request_unstake(&operator.pubkey(), &world.task), &[&operator]);
    world.ctx.warp_to_round(&world.task, 7, 0);
    world.ctx.resolve_distribution(&world.task, 0);
    world.ctx.withdraw(&operator, &world.task, 2 * SOL);
    let creator = world.creator.insecure_clone();
    world.ctx.send_ok(builders::set_task_active(&creator.pubkey(), &world.task, false), &[&creator]);
    let close = builders::close_task(&creator.pubkey(), &world.task);
    world.ctx.expect_error(close, &[&creator], custom(GradualError::TaskHasOpenDistributions));
    let deadline = world.ctx.distribution(&world.distribution(0)).claim_deadline;
    world.ctx.warp_to_slot(deadline);
    world.ctx.expire_distribution(&world.task, 0);
    world.ctx.close_task(&creator, &world.task);
}

#[test]
fn a_claim_among_a_million_leaves_fits_one_transaction() {
    let mut world = paid(2, 1);
    let listed: Vec<([u8; 32], u64)> =
        world.nodes.iter().map(|node| (node.node.to_bytes(), SOL / 4)).collect();
    let tree = million_leaf_tree(&listed);
    let proposal = Proposal {
        total: BOUNTY_PER_ROUND,
        leaf_count: 1 << 20,
        root: tree.root(),
        ..proposal_of(0, &listed)
    };
    let proposer = world.warp_to_proposer(0, 0, &[]);
    let operator = world.nodes[proposer].operator.insecure_clone();
    world.ctx.propose(&operator, &world.task, &proposal);
    let (_, vote_end) = world.vote_start(0, 0);
    world.ctx.warp_to_slot(vote_end);
    world.ctx.resolve_distribution(&world.task, 0);

    let proof = tree.proof(1).unwrap();
    assert_eq!(proof.siblings.len(), 18);
    let claimer = world.nodes[1].operator.insecure_clone();
    let instruction = builders::claim_reward(&claimer.pubkey(), &world.task, 0, SOL / 4, &proof);
    let message = solana_message::Message::new(&[instruction], Some(&world.ctx.payer.pubkey()));
    let size = 1 + 64 * usize::from(message.header.num_required_signatures) + message.serialize().len();
    assert!(size <= 1_232, "a million-leaf claim needs {size} bytes");

    // The leaf's slot must be inside the bucket, and a bucket holds at most four.
    for (at, value) in [(5, 4u8), (6, 5)] {
        let mut malformed = builders::claim_reward(&claimer.pubkey(), &world.task, 0, SOL / 4, &proof);
        malformed.data[at] = value;
        world.ctx.expect_error(malformed, &[&claimer], custom(GradualError::InvalidInstructionData));
    }
    // The deadline is read from the Clock sysvar's account, and only from it.
    let mut no_clock = builders::claim_reward(&claimer.pubkey(), &world.task, 0, SOL / 4, &proof);
    no_clock.accounts[3].pubkey = Address::from_str_const("SysvarRent111111111111111111111111111111111");
    world.ctx.expect_error(no_clock, &[&claimer], custom(GradualError::InvalidClockAccount));
    let units = world.ctx.claim(&claimer, &world.task, 0, SOL / 4, &proof);
    assert!(units <= 5_000, "a million-leaf claim used {units} CU");
}

#[test]
fn a_round_has_one_distribution_whatever_the_bump() {
    let mut world = paid(3, 1);
    let leaves = default_list(&world.ctx, &world.task, 0, &world.addresses());
    let proposer = world.warp_to_proposer(0, 0, &[]);
    let operator = world.nodes[proposer].operator.insecure_clone();
    world.ctx.propose(&operator, &world.task, &proposal_of(0, &leaves));

    // A second account for the same round under another valid bump is refused.
    let (canonical, bump) = find_distribution_address(&world.task, 0);
    let other_bump = (0..bump).rev().find_map(|candidate| {
        Address::create_program_address(
            &[b"distribution", world.task.as_ref(), &0u64.to_le_bytes(), &[candidate]],
            &gradual_interface::ID,
        )
        .ok()
        .map(|address| (address, candidate))
    });
    let (second, second_bump) = other_bump.expect("another off-curve bump exists");
    assert_ne!(second, canonical);
    let mut duplicate =
        builders::propose_distribution(&operator.pubkey(), &world.task, &proposal_of(0, &leaves));
    duplicate.accounts[3].pubkey = second;
    duplicate.data[1 + 88] = second_bump;
    world.ctx.expect_error(duplicate, &[&operator], custom(GradualError::DistributionAlreadyExists));
}

#[test]
fn a_node_without_a_proof_for_the_round_cannot_propose() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let worker = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    let idle = NodeFixture::new(&mut ctx, &fixture.task, 2 * SOL);
    prove_round(&mut ctx, &fixture.task, &[&worker.operator], 0, [3; 32]);
    // The last eighth of the window: everyone is entitled, so only the proof is missing.
    ctx.warp_to_round(&fixture.task, 3, DISTRIBUTION_WINDOW - 1);
    let leaves = [(worker.node.to_bytes(), BOUNTY_PER_ROUND)];
    let instruction =
        builders::propose_distribution(&idle.operator.pubkey(), &fixture.task, &proposal_of(0, &leaves));
    ctx.expect_error(instruction, &[&idle.operator], custom(GradualError::ProposerHasNoProof));
    ctx.propose(&worker.operator, &fixture.task, &proposal_of(0, &leaves));
}

#[test]
fn an_excluded_node_cannot_claim_even_from_a_list_that_pays_it() {
    let mut world = paid(3, 1);
    exclude_node_two(&mut world);
    // A list that wrongly pays all three is approved unopposed.
    let leaves: Vec<([u8; 32], u64)> =
        world.nodes.iter().map(|node| (node.node.to_bytes(), SOL / 2)).collect();
    let proposer = world.warp_to_proposer(0, 0, &[2]);
    let operator = world.nodes[proposer].operator.insecure_clone();
    world.ctx.propose(&operator, &world.task, &proposal_of(0, &leaves));
    let (_, vote_end) = world.vote_start(0, 0);
    world.ctx.warp_to_slot(vote_end);
    world.ctx.resolve_distribution(&world.task, 0);
    let tree = tree_of(&leaves);
    let excluded = world.nodes[2].operator.insecure_clone();
    let claim = builders::claim_reward(&excluded.pubkey(), &world.task, 0, SOL / 2, &tree.proof(2).unwrap());
    world.ctx.expect_error(claim, &[&excluded], custom(GradualError::AlreadyClaimed));
}

/// Adversarial review: an emptied wallet must never block a resolution. With
/// the audit bond at its minimum, the rent-exempt minimum of an empty account,
/// a proposer and a raiser that move every lamport out of their wallets still
/// get their bonds back, and the resolutions land.
#[test]
fn emptied_wallets_cannot_block_resolutions() {
    let mut ctx = TestContext::new();
    let creator = ctx.funded_keypair(1_000 * SOL);
    let mut config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    config.args.min_audit_seats = 1;
    config.args.params.audit_bond = MIN_AUDIT_BOND;
    let task = ctx.create_task(&creator, &config);
    let nodes: Vec<NodeFixture> = (0..3).map(|_| NodeFixture::new(&mut ctx, &task, 2 * SOL)).collect();
    let operators: Vec<&Keypair> = nodes.iter().map(|node| &node.operator).collect();
    prove_round(&mut ctx, &task, &operators, 0, [3; 32]);
    let mut world = Paid { ctx, creator, task, nodes };
    let empty = |world: &mut Paid, wallet: &Keypair| {
        let all = world.ctx.lamports(&wallet.pubkey());
        world.ctx.send_ok(system_transfer(&wallet.pubkey(), &world.creator.pubkey(), all), &[wallet]);
        assert_eq!(world.ctx.lamports(&wallet.pubkey()), 0);
    };

    // The raiser of an upheld audit empties its wallet before the resolution.
    world.ctx.warp_to_round(&world.task, 2, SUBMISSION_WINDOW);
    let raiser = world.nodes[0].operator.insecure_clone();
    let audit = world.ctx.raise_audit(&raiser, &world.task, &world.nodes[2].node, 0);
    empty(&mut world, &raiser);
    world.ctx.warp_to_round(&world.task, 2, SUBMISSION_WINDOW + AUDIT_WINDOW);
    world.ctx.resolve_audit(&audit, MIN_AUDIT_BOND + (2 * SOL / 10) / 2);
    assert!(world.ctx.lamports(&raiser.pubkey()) >= MIN_AUDIT_BOND);

    // The proposer of an approved list empties its wallet before the resolution.
    let leaves = default_list(&world.ctx, &world.task, 0, &world.addresses());
    let proposer = world.warp_to_proposer(0, 0, &[2]);
    let operator = world.nodes[proposer].operator.insecure_clone();
    world.ctx.propose(&operator, &world.task, &proposal_of(0, &leaves));
    empty(&mut world, &operator);
    world.ctx.warp_to_slot(world.vote_start(0, 0).1);
    world.ctx.resolve_distribution(&world.task, 0);
    assert_eq!(world.ctx.distribution(&world.distribution(0)).status, DISTRIBUTION_APPROVED);
    assert_eq!(world.ctx.lamports(&operator.pubkey()), MIN_AUDIT_BOND);
}

/// Who may propose is fixed before the round's work began: nodes opened
/// during the window (finding 1's throwaway nodes) change neither who is
/// entitled nor when, so they can neither buy an early slot nor block an
/// entitled node.
#[test]
fn entitlement_counts_only_the_stake_of_the_listed_round() {
    // Keys are random: draw worlds until the first entitled proposer is one
    // that a count including 72 SOL of new stake would refuse at its offset.
    let (mut world, offset, index) = (0..50)
        .find_map(|_| {
            let world = paid(4, 1);
            let (offset, index) = first_entitled(&world.ctx, &world.task, 0, 0, &world.addresses());
            let seed = proposal_seed(&world.ctx, &world.task, 0, 0);
            let proposer = world.nodes[index].node.to_bytes();
            let with_total =
                |total| oracle::entitled(&seed, &proposer, (2 * SOL, total), offset, DISTRIBUTION_WINDOW);
            (with_total(8 * SOL) && !with_total(80 * SOL)).then_some((world, offset, index))
        })
        .expect("in 50 worlds, one proposer that new stake would push out");
    // From round 1 to round 3's window, before the proposal, an attacker opens 36 nodes.
    for round in 1..=3 {
        world.ctx.warp_to_round(&world.task, round, 0);
        for _ in 0..12 {
            NodeFixture::new(&mut world.ctx, &world.task, 2 * SOL);
        }
    }
    let task = world.ctx.task(&world.task);
    assert_eq!((task.node_count, task.counted_stake_for(0)), (40, 8 * SOL));
    world.ctx.warp_to_round(&world.task, 3, offset);
    let leaves = default_list(&world.ctx, &world.task, 0, &world.addresses());
    world.ctx.propose(&world.nodes[index].operator, &world.task, &proposal_of(0, &leaves));
}
