//! The worked examples of `docs/protocol.md` (section 8), run on the .so.
//! Every backticked `name = value` in an example is a fact this test
//! observes on-chain, in the order the example states them: an example that
//! drifts from the program fails here, and so does a fact the test does not
//! observe.

use gradual_interface::{
    builders,
    error::GradualError,
    merkle::tree_of,
    pda::{find_distribution_address, find_node_address},
    state::RoundParams,
};
use gradual_tests::{custom, fixtures::*, oracle, slot_hash, TestContext, SOL};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// The `name = value` pairs of the section whose heading starts with `heading`.
fn stated_facts(heading: &str) -> Vec<(String, u64)> {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md"))
        .expect("docs/protocol.md");
    let start = spec.find(heading).unwrap_or_else(|| panic!("no section {heading}"));
    let body = &spec[start + heading.len()..];
    let end = body.find("\n#").unwrap_or(body.len());
    body[..end]
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| {
            let (name, value) = code.split_once(" = ")?;
            let value = value.replace(',', "").parse().ok()?;
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_').then(|| (name.to_string(), value))
        })
        .collect()
}

#[derive(Default)]
struct Facts(Vec<(String, u64)>);

impl Facts {
    fn add(&mut self, name: &str, value: u64) {
        self.0.push((name.to_string(), value));
    }

    fn check(self, heading: &str) {
        let stated = stated_facts(heading);
        for (index, (observed, stated)) in self.0.iter().zip(&stated).enumerate() {
            assert_eq!(observed, stated, "{heading}: fact {index} differs from the program");
        }
        assert_eq!(
            self.0.len(),
            stated.len(),
            "{heading}: the example states {} facts, the test observes {}",
            stated.len(),
            self.0.len()
        );
    }
}

const BOND: u64 = 100_000_000;

fn params() -> RoundParams {
    RoundParams {
        bounty_per_round: SOL,
        submission_window: 20,
        audit_window: 30,
        distribution_window: 20,
        distribution_audit_window: 30,
        min_stake: SOL,
        audit_bond: BOND,
        slash_rate_bps: 1_000,
        _padding: [0; 6],
    }
}

/// Example 8.1's world after its setup, and the facts of the setup.
struct Example {
    ctx: TestContext,
    task: gradual_interface::Address,
    /// A, B, C, D.
    operators: Vec<Keypair>,
}

fn setup(facts: &mut Facts) -> Example {
    // The harness starts at slot 1000, where the example's first round does:
    // its nodes stake before that.
    let mut ctx = TestContext::new();
    ctx.warp_to_slot(900);
    let creator = ctx.funded_keypair(1_000 * SOL);
    let mut config = task_config(1_000, &creator.pubkey());
    config.args.min_audit_seats = 2;
    config.args.audit_committee_seats = 14;
    config.args.initial_bounty = 10 * SOL;
    config.args.params = params();
    let task = ctx.create_task(&creator, &config);
    let stored = ctx.task(&task);
    let p = stored.params_for(0).expect("round 0");
    for (name, value) in [
        ("start_slot", stored.start_slot),
        ("round_length", stored.round_length),
        ("allowed_failed_distributions", u64::from(stored.allowed_failed_distributions)),
        ("unstake_cooldown_rounds", stored.unstake_cooldown_rounds),
        ("min_audit_seats", u64::from(stored.min_audit_seats)),
        ("audit_committee_seats", u64::from(stored.audit_committee_seats)),
        ("initial_bounty", stored.total_funded),
        ("bounty_per_round", p.bounty_per_round),
        ("submission_window", p.submission_window),
        ("audit_window", p.audit_window),
        ("distribution_window", p.distribution_window),
        ("distribution_audit_window", p.distribution_audit_window),
        ("min_stake", p.min_stake),
        ("audit_bond", p.audit_bond),
        ("slash_rate_bps", u64::from(p.slash_rate_bps)),
    ] {
        facts.add(name, value);
    }
    // B is "entitled at offset 3" of round 3's window, by the harness's slot hashes.
    let seed = oracle::proposal_seed(&slot_hash(1_299), 0, 0);
    let b = (0..200)
        .map(|_| Keypair::new())
        .find(|keypair| {
            let node = find_node_address(&task, &keypair.pubkey()).0.to_bytes();
            oracle::entitled(&seed, &node, (3 * SOL, 14 * SOL), 3, 20)
        })
        .expect("a key entitled at offset 3");
    ctx.airdrop(&b.pubkey(), 100 * SOL);
    let operators: Vec<Keypair> =
        [ctx.funded_keypair(100 * SOL), b, ctx.funded_keypair(100 * SOL), ctx.funded_keypair(100 * SOL)]
            .into();
    for (operator, sol) in operators.iter().zip([2, 3, 4, 5]) {
        ctx.stake(operator, &task, sol * SOL);
    }
    let all: Vec<&Keypair> = operators.iter().collect();
    prove_round(&mut ctx, &task, &all, 0, [9; 32]);
    Example { ctx, task, operators }
}

/// Example 8.1's steps on `example`.
fn audit_steps(example: &mut Example, facts: &mut Facts) {
    let Example { ctx, task, operators } = example;
    let node = |index: usize| find_node_address(task, &operators[index].pubkey()).0;
    ctx.warp_to_slot(1_225);
    let audit = ctx.raise_audit(&operators[0], task, &node(3), 0);
    let record = ctx.audit(&audit);
    for (name, value) in [
        ("round", record.round),
        ("votes_from", record.votes_from),
        ("window_end", record.window_end),
        ("bond", record.bond),
        ("min_stake", record.min_stake),
        ("slash_rate_bps", u64::from(record.slash_rate_bps)),
        ("min_seats", u64::from(record.min_seats)),
        ("committee_seats", u64::from(record.committee_seats)),
        ("committee_stake", record.committee_stake),
        ("raiser_stake", record.raiser_stake),
        ("invalid_weight", record.invalid_weight),
        ("valid_weight", record.valid_weight),
        ("voter_count", u64::from(record.voter_count)),
        ("open_audits", ctx.node(&node(3)).open_audits),
    ] {
        facts.add(name, value);
    }
    assert_eq!(record.committee_seed, [0; 32]);
    let early = builders::vote_audit(&operators[1].pubkey(), task, &audit, false);
    ctx.expect_error(early, &[&operators[1]], custom(GradualError::OutsideAuditWindow));

    ctx.warp_to_slot(1_235);
    ctx.vote_audit(&operators[1], task, &audit, false);
    let record = ctx.audit(&audit);
    facts.add("invalid_weight", record.invalid_weight);
    facts.add("voter_count", u64::from(record.voter_count));
    ctx.vote_audit(&operators[2], task, &audit, true);
    let record = ctx.audit(&audit);
    facts.add("valid_weight", record.valid_weight);
    facts.add("voter_count", u64::from(record.voter_count));

    ctx.warp_to_slot(1_249);
    let (target_operator, raiser_operator) = (operators[3].pubkey(), operators[0].pubkey());
    let resolve = builders::resolve_audit(&audit, task, &node(3), &raiser_operator, &target_operator);
    ctx.expect_error(resolve, &[], custom(GradualError::AuditWindowOpen));
    ctx.warp_to_slot(1_250);
    let late = builders::vote_audit(&operators[0].pubkey(), task, &audit, true);
    ctx.expect_error(late, &[&operators[0]], custom(GradualError::OutsideAuditWindow));

    let (stake_before, pool_before) = (ctx.node(&node(3)).total_stake(), ctx.task(task).bounty_pool);
    let (raiser_before, audit_lamports) = (ctx.lamports(&raiser_operator), ctx.lamports(&audit));
    let (_, to_raiser, _) = oracle::slash(5 * SOL, 1_000);
    ctx.resolve_audit(&audit, BOND + to_raiser);
    let target = ctx.node(&node(3));
    let stored = ctx.task(task);
    facts.add("slashed", stake_before - target.total_stake());
    facts.add("to_raiser", ctx.lamports(&raiser_operator) - raiser_before - audit_lamports);
    facts.add("to_pool", stored.bounty_pool - pool_before);
    facts.add("total_slashed", target.total_slashed);
    facts.add("open_audits", target.open_audits);
    facts.add("total_stake", stored.total_stake);
    facts.add("bounty_pool", stored.bounty_pool);
    assert_eq!((stored.counted_stake_for(0), stored.counted_stake_for(3)), (14 * SOL, 13_500_000_000));
}

#[test]
fn example_an_audit() {
    let mut facts = Facts::default();
    let mut example = setup(&mut facts);
    audit_steps(&mut example, &mut facts);
    facts.check("### Example 8.1");
}

#[test]
fn example_a_distribution() {
    let mut example = setup(&mut Facts::default());
    audit_steps(&mut example, &mut Facts::default());
    let mut facts = Facts::default();
    let Example { ctx, task, operators } = &mut example;
    let nodes: Vec<_> =
        operators.iter().map(|operator| find_node_address(task, &operator.pubkey()).0).collect();
    let leaves = default_list(ctx, task, 0, &nodes);
    let amounts: Vec<u64> = nodes[..3]
        .iter()
        .map(|node| leaves.iter().find(|(listed, _)| *listed == node.to_bytes()).expect("listed").1)
        .collect();
    assert_eq!(amounts, [222_222_222, 333_333_333, 444_444_444]);

    ctx.warp_to_slot(1_303);
    let proposal = proposal_of(0, &leaves);
    ctx.propose(&operators[1], task, &proposal);
    let list = find_distribution_address(task, 0).0;
    let record = ctx.distribution(&list);
    for (name, value) in [
        ("status", u64::from(record.status)),
        ("attempt", u64::from(record.attempt)),
        ("total", record.total),
        ("leaf_count", record.leaf_count),
        ("reserved", record.reserved),
        ("claimed", record.claimed),
        ("bond", record.bond),
        ("min_stake", record.min_stake),
        ("valid_weight", record.valid_weight),
        ("invalid_weight", record.invalid_weight),
        ("voter_count", u64::from(record.voter_count)),
        ("vote_start", record.vote_start),
        ("vote_end", record.vote_end),
        ("claim_deadline", record.claim_deadline),
        ("dispute_bond", record.dispute_bond),
        ("bounty_pool", ctx.task(task).bounty_pool),
        ("open_distributions", u64::from(ctx.task(task).open_distributions)),
    ] {
        facts.add(name, value);
    }
    assert_eq!(record.disputer_operator, record.proposer_operator);

    ctx.warp_to_slot(1_320);
    facts.add("dispute_end", record.dispute_end().expect("an end"));
    ctx.vote_distribution(&operators[3], task, 0, false);
    let record = ctx.distribution(&list);
    facts.add("dispute_bond", record.dispute_bond);
    facts.add("invalid_weight", record.invalid_weight);
    facts.add("voter_count", u64::from(record.voter_count));
    assert_eq!(record.disputer_operator, operators[3].pubkey().to_bytes());
    ctx.vote_distribution(&operators[0], task, 0, true);
    let record = ctx.distribution(&list);
    facts.add("valid_weight", record.valid_weight);
    facts.add("voter_count", u64::from(record.voter_count));

    ctx.warp_to_slot(1_350);
    ctx.resolve_distribution(task, 0);
    let record = ctx.distribution(&list);
    facts.add("status", u64::from(record.status));
    facts.add("bond", record.bond);
    facts.add("dispute_bond", record.dispute_bond);
    facts.add("bounty_pool", ctx.task(task).bounty_pool);

    let tree = tree_of(&leaves);
    for index in [0, 1] {
        let position = leaves.iter().position(|(node, _)| *node == nodes[index].to_bytes()).expect("listed");
        ctx.claim(&operators[index], task, 0, amounts[index], &tree.proof(position).expect("a proof"));
    }
    let record = ctx.distribution(&list);
    facts.add("claimed", record.claimed);
    facts.add("reserved", record.reserved);

    ctx.warp_to_slot(2_400);
    ctx.expire_distribution(task, 0);
    facts.add("bounty_pool", ctx.task(task).bounty_pool);
    facts.add("open_distributions", u64::from(ctx.task(task).open_distributions));
    facts.check("### Example 8.2");
}
