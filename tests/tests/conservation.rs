//! Security test 3: random sequences of every instruction (tasks, staking,
//! submissions, audits, distribution lists and claims) over 1 to 64 nodes,
//! round by round. The
//! harness checks conservation after every transaction; at the end every
//! audit settles, every node leaves, the task closes and every lamport that
//! went in has come out.

use gradual_interface::{
    builders,
    merkle::tree_of,
    pda::{find_audit_address, find_distribution_address, find_node_address},
    state::{CLAIM_PERIOD_ROUNDS, DISTRIBUTION_APPROVED, DISTRIBUTION_PROPOSED, SUBMISSION_EXCLUDED},
    Address,
};
use gradual_tests::{fixtures::*, oracle, Flow, TestContext, SOL};
use proptest::prelude::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// What happens in one round; indices are taken modulo the node count.
#[derive(Clone, Debug)]
struct RoundPlan {
    fund: Option<u64>,
    stakes: Vec<(usize, u64)>,
    unstakes: Vec<usize>,
    withdrawals: Vec<(usize, bool)>,
    /// Who submits the previous round's proof (true: everyone but the listed ones).
    skip_submit: Vec<usize>,
    raises: Vec<(usize, usize)>,
    votes: Vec<(usize, usize, bool)>,
    update: Option<(u64, u64)>,
    pause_for_a_round: bool,
    /// Round r - 2's list: proposed honestly (true) or greedily (false), if at all.
    proposal: Option<bool>,
    list_votes: Vec<(usize, bool)>,
}

fn round_plan() -> impl Strategy<Value = RoundPlan> {
    let index = 0..64usize;
    (
        prop::option::of(1..5 * SOL),
        prop::collection::vec((index.clone(), SOL / 2..3 * SOL), 0..4),
        prop::collection::vec(index.clone(), 0..3),
        prop::collection::vec((index.clone(), any::<bool>()), 0..3),
        prop::collection::vec(index.clone(), 0..4),
        prop::collection::vec((index.clone(), index.clone()), 0..4),
        prop::collection::vec((index.clone(), 0..4usize, any::<bool>()), 0..8),
        prop::option::of((SOL..4 * SOL, SOL / 2..2 * SOL)),
        (
            prop::bool::weighted(0.1),
            prop::option::weighted(0.8, prop::bool::weighted(0.7)),
            prop::collection::vec((index.clone(), any::<bool>()), 0..6),
        ),
    )
        .prop_map(
            |(
                fund,
                stakes,
                unstakes,
                withdrawals,
                skip_submit,
                raises,
                votes,
                update,
                (pause, proposal, list_votes),
            )| {
                RoundPlan {
                    fund,
                    stakes,
                    unstakes,
                    withdrawals,
                    skip_submit,
                    raises,
                    votes,
                    update,
                    pause_for_a_round: pause,
                    proposal,
                    list_votes,
                }
            },
        )
}

/// Resolves `audit` with the payout the test computes itself: the bond,
/// plus half of the slash when upheld.
fn resolve(ctx: &mut TestContext, audit: &Address) {
    let record = ctx.audit(audit);
    let target = ctx.node(&Address::new_from_array(record.target));
    let upheld = oracle::audit_upheld(record.invalid_weight, record.valid_weight, record.min_seats);
    let stake = target.stake_for_round(record.round).min(target.total_stake());
    let (_, to_raiser, _) = oracle::slash(stake, record.slash_rate_bps);
    let payout = if upheld { record.bond + to_raiser } else { record.bond };
    ctx.resolve_audit(audit, payout);
}

struct Run {
    ctx: TestContext,
    creator: Keypair,
    task: Address,
    operators: Vec<Keypair>,
    audits: Vec<Address>,
    /// Proposed lists by round: the leaves of the latest proposal.
    lists: std::collections::BTreeMap<u64, Vec<([u8; 32], u64)>>,
    /// Successful transactions by kind, to show the run did real work.
    landed: std::collections::BTreeMap<&'static str, usize>,
}

impl Run {
    fn node(&self, index: usize) -> Address {
        find_node_address(&self.task, &self.operators[index % self.operators.len()].pubkey()).0
    }

    fn operator(&self, index: usize) -> &Keypair {
        &self.operators[index % self.operators.len()]
    }

    fn count(&mut self, kind: &'static str, landed: bool) {
        if landed {
            *self.landed.entry(kind).or_default() += 1;
        }
    }

    fn stake_of(&self, index: usize) -> Option<u64> {
        let node = self.node(index);
        self.ctx.exists(&node).then(|| self.ctx.node(&node).total_stake())
    }

    fn play(&mut self, round: u64, plan: &RoundPlan) {
        let (task, creator) = (self.task, self.creator.insecure_clone());
        // Start of the round: the commitment to the previous round's proof and
        // the reveal of the one before (if it was committed), money in and out.
        self.ctx.warp_to_round(&task, round, 0);
        if round > 0 {
            for index in 0..self.operators.len() {
                if plan.skip_submit.iter().any(|skip| skip % self.operators.len() == index) {
                    continue;
                }
                let operator = self.operator(index).insecure_clone();
                let node = self.node(index);
                let (commitment, _) = proof_parts(&task, &operator.pubkey(), round - 1, ([1; 32], b"cid"));
                let pending = round.checked_sub(2).filter(|revealed| {
                    self.ctx.exists(&node)
                        && self
                            .ctx
                            .node(&node)
                            .submission(*revealed)
                            .is_some_and(|entry| !entry.is_revealed())
                });
                let reveal = pending
                    .map(|revealed| proof_parts(&task, &operator.pubkey(), revealed, ([1; 32], b"cid")).1);
                let submit = builders::submit_proof(
                    &operator.pubkey(),
                    &task,
                    round - 1,
                    Some(commitment),
                    reveal.as_ref(),
                );
                let landed = self.ctx.send(submit, &[&operator]).is_ok();
                self.count("SubmitProof", landed);
            }
        }
        if let Some(amount) = plan.fund {
            let fund = builders::fund_task(&creator.pubkey(), &task, amount);
            let landed = self.ctx.send_with_flow(&[fund], &[&creator], Flow::deposit(amount)).is_ok();
            self.count("FundTask", landed);
        }
        for (index, amount) in &plan.stakes {
            let operator = self.operator(*index).insecure_clone();
            let stake = builders::stake(&operator.pubkey(), &task, *amount, b"http://node");
            let landed = self.ctx.send_with_flow(&[stake], &[&operator], Flow::deposit(*amount)).is_ok();
            self.count("Stake", landed);
        }
        for (index, all) in &plan.withdrawals {
            let stake = self.stake_of(*index).unwrap_or(SOL);
            let amount = if *all { stake } else { (stake / 2).max(1) };
            let operator = self.operator(*index).insecure_clone();
            let withdraw = builders::withdraw_stake(&operator.pubkey(), &task, amount);
            let landed = self.ctx.send_with_flow(&[withdraw], &[&operator], Flow::payout(amount)).is_ok();
            self.count("WithdrawStake", landed);
        }

        if let (Some(honest), Some(listed_round)) = (plan.proposal, round.checked_sub(3)) {
            self.propose(listed_round, honest);
        }

        // The audit window: raises aimed at nodes that did submit, then votes.
        self.ctx.warp_to_round(&task, round, SUBMISSION_WINDOW);
        let audited_round = round.saturating_sub(2);
        let bond = self.ctx.task(&task).params_for(audited_round).map_or(0, |params| params.audit_bond);
        let round_audits: Vec<Address> = plan
            .raises
            .iter()
            .filter_map(|(raiser, target)| {
                let operator = self.operator(*raiser).insecure_clone();
                let target = self.node(*target);
                let raise = builders::raise_audit(&operator.pubkey(), &task, &target, audited_round);
                let landed = self.ctx.send_with_flow(&[raise], &[&operator], Flow::deposit(bond)).is_ok();
                self.count("RaiseAudit", landed);
                landed.then(|| find_audit_address(&target, audited_round).0)
            })
            .collect();
        // Votes once raises close.
        if let Some(audit) = round_audits.first() {
            self.ctx.warp_to_votes(audit);
        }
        for (voter, audit, valid) in &plan.votes {
            let Some(audit) = round_audits.get(audit % round_audits.len().max(1)).copied() else { continue };
            let operator = self.operator(*voter).insecure_clone();
            let landed = self
                .ctx
                .send(builders::vote_audit(&operator.pubkey(), &task, &audit, *valid), &[&operator])
                .is_ok();
            self.count("VoteAudit", landed);
        }
        self.audits.extend(round_audits);
        for (voter, valid) in &plan.list_votes {
            let Some(listed_round) = round.checked_sub(3) else { break };
            let operator = self.operator(*voter).insecure_clone();
            let vote = builders::vote_distribution(&operator.pubkey(), &task, listed_round, *valid);
            let list = gradual_interface::pda::find_distribution_address(&task, listed_round).0;
            let first_dispute =
                !*valid && self.ctx.exists(&list) && self.ctx.distribution(&list).dispute_bond == 0;
            let bond = if first_dispute { self.ctx.distribution(&list).bond } else { 0 };
            let landed = self.ctx.send_with_flow(&[vote], &[&operator], Flow::deposit(bond)).is_ok();
            self.count("VoteDistribution", landed);
        }

        // After the window: settle what is due, change parameters, unstake, pause.
        self.ctx.warp_to_round(&task, round, SUBMISSION_WINDOW + AUDIT_WINDOW);
        for audit in self.audits.clone() {
            if self.ctx.exists(&audit) && self.ctx.slot() >= self.ctx.audit(&audit).window_end {
                resolve(&mut self.ctx, &audit);
                self.count("ResolveAudit", true);
            }
        }
        self.settle_distributions();
        if let Some((bounty, min_stake)) = plan.update {
            let params = gradual_interface::state::RoundParams {
                bounty_per_round: bounty,
                min_stake,
                ..round_params()
            };
            let landed =
                self.ctx.send(builders::update_task(&creator.pubkey(), &task, &params), &[&creator]).is_ok();
            self.count("UpdateTask", landed);
        }
        for index in &plan.unstakes {
            let operator = self.operator(*index).insecure_clone();
            let landed =
                self.ctx.send(builders::request_unstake(&operator.pubkey(), &task), &[&operator]).is_ok();
            self.count("RequestUnstake", landed);
        }
        let active = self.ctx.task(&task).is_active();
        if plan.pause_for_a_round || !active {
            let landed = self
                .ctx
                .send(builders::set_task_active(&creator.pubkey(), &task, !active), &[&creator])
                .is_ok();
            self.count("SetTaskActive", landed);
        }
    }

    /// Proposes `listed_round`'s list if some node may, as early as it may.
    fn propose(&mut self, listed_round: u64, honest: bool) {
        let task = self.task;
        // Only a node with a proof for the round may propose its list.
        let nodes: Vec<Address> = (0..self.operators.len())
            .map(|index| self.node(index))
            .filter(|node| {
                self.ctx.exists(node)
                    && self
                        .ctx
                        .node(node)
                        .proof(listed_round)
                        .is_some_and(|proof| proof.flags & SUBMISSION_EXCLUDED == 0)
            })
            .collect();
        if nodes.is_empty() {
            return;
        }
        let attempt =
            self.ctx.task(&task).timeline().round_at(self.ctx.slot()).unwrap_or(0) - listed_round - 3;
        let (offset, chosen) = first_entitled(&self.ctx, &task, listed_round, attempt as u8, &nodes);
        self.ctx.warp_to_round(&task, listed_round + 3 + attempt, offset);
        let mut leaves = default_list(&self.ctx, &task, listed_round, &nodes);
        if !honest {
            leaves = vec![(nodes[chosen].to_bytes(), leaves.iter().map(|(_, amount)| amount).sum())];
        }
        let proposal = proposal_of(listed_round, &leaves);
        let operator_index =
            (0..self.operators.len()).find(|index| self.node(*index) == nodes[chosen]).expect("a node");
        let operator = self.operator(operator_index).insecure_clone();
        let bond = self.ctx.task(&task).params_for(listed_round).map_or(0, |params| params.audit_bond);
        let instruction = builders::propose_distribution(&operator.pubkey(), &task, &proposal);
        let landed = self.ctx.send_with_flow(&[instruction], &[&operator], Flow::deposit(bond)).is_ok();
        self.count("ProposeDistribution", landed);
        if landed {
            self.lists.insert(listed_round, leaves);
        }
    }

    /// Resolves lists whose votes closed, claims every approved leaf whose
    /// node still exists, and expires what is due.
    fn settle_distributions(&mut self) {
        let task = self.task;
        for (listed_round, leaves) in self.lists.clone() {
            let address = find_distribution_address(&task, listed_round).0;
            if !self.ctx.exists(&address) {
                continue;
            }
            let record = self.ctx.distribution(&address);
            if record.status == DISTRIBUTION_PROPOSED && self.ctx.slot() >= record.vote_end {
                self.ctx.resolve_distribution(&task, listed_round);
                self.count("ResolveDistribution", true);
            }
            let record = self.ctx.distribution(&address);
            if record.status == DISTRIBUTION_APPROVED && self.ctx.slot() < record.claim_deadline {
                let tree = tree_of(&leaves);
                for (index, (node, amount)) in leaves.iter().enumerate() {
                    let Some(owner) = (0..self.operators.len()).find(|i| self.node(*i).to_bytes() == *node)
                    else {
                        continue;
                    };
                    let operator = self.operator(owner).insecure_clone();
                    let claim = builders::claim_reward(
                        &operator.pubkey(),
                        &task,
                        listed_round,
                        *amount,
                        &tree.proof(index).unwrap(),
                    );
                    let landed =
                        self.ctx.send_with_flow(&[claim], &[&operator], Flow::payout(*amount)).is_ok();
                    self.count("ClaimReward", landed);
                }
            }
            let payer = Address::new_from_array(record.payer);
            let expire = builders::expire_distribution(&task, listed_round, &payer);
            let landed = self.ctx.send(expire, &[]).is_ok();
            self.count("ExpireDistribution", landed);
        }
    }

    fn wind_down(&mut self) {
        let task = self.task;
        let current = self.ctx.task(&task).timeline().round_at(self.ctx.slot()).unwrap_or(0);
        self.ctx.warp_to_round(&task, current + 3, 0);
        for audit in self.audits.clone() {
            if self.ctx.exists(&audit) {
                resolve(&mut self.ctx, &audit);
            }
        }
        // Past every vote window and every claim deadline, all lists expire.
        self.ctx.warp_to_round(&task, current + 3 + 8 + CLAIM_PERIOD_ROUNDS, 0);
        self.settle_distributions();
        for index in 0..self.operators.len() {
            if self.stake_of(index).is_some() {
                let operator = self.operator(index).insecure_clone();
                let _ = self.ctx.send(builders::request_unstake(&operator.pubkey(), &task), &[&operator]);
            }
        }
        let current = self.ctx.task(&task).timeline().round_at(self.ctx.slot()).unwrap_or(0);
        self.ctx.warp_to_round(&task, current + 5, 0);
        for index in 0..self.operators.len() {
            if let Some(stake) = self.stake_of(index) {
                let operator = self.operator(index).insecure_clone();
                self.ctx.withdraw(&operator, &task, stake);
            }
        }
        let creator = self.creator.insecure_clone();
        if self.ctx.task(&task).is_active() {
            self.ctx.send_ok(builders::set_task_active(&creator.pubkey(), &task, false), &[&creator]);
        }
        self.ctx.close_task(&creator, &task);
        assert!(self.ctx.svm.get_program_accounts(&gradual_interface::ID).is_empty());
        assert_eq!(
            self.ctx.ledger.deposited, self.ctx.ledger.paid_out,
            "every deposited lamport came back out"
        );
    }
}

fn run(nodes: usize, plans: &[RoundPlan]) -> std::collections::BTreeMap<&'static str, usize> {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let operators: Vec<Keypair> = (0..nodes).map(|_| ctx.funded_keypair(50 * SOL)).collect();
    // Most nodes start staked, so plans mostly meet live nodes.
    for operator in operators.iter().skip(nodes / 4) {
        ctx.stake(operator, &fixture.task, 2 * SOL);
    }
    let mut run = Run {
        ctx,
        creator: fixture.creator,
        task: fixture.task,
        operators,
        audits: Vec::new(),
        lists: Default::default(),
        landed: Default::default(),
    };
    for (round, plan) in plans.iter().enumerate() {
        run.play(round as u64, plan);
    }
    run.wind_down();
    run.landed
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_rounds_conserve_lamports(nodes in 1usize..=64, plans in prop::collection::vec(round_plan(), 1..6)) {
        run(nodes, &plans);
    }
}

#[test]
fn a_fixed_busy_run_exercises_every_instruction() {
    // Deterministic companion to the property: enough activity that every
    // instruction lands at least once, so the property is not vacuous.
    let plan = RoundPlan {
        fund: Some(SOL),
        stakes: vec![(0, SOL), (1, 2 * SOL)],
        unstakes: vec![],
        withdrawals: vec![],
        skip_submit: vec![],
        raises: vec![(0, 1), (2, 3)],
        votes: vec![(4, 0, false), (5, 1, true), (6, 0, false)],
        update: Some((3 * SOL, SOL)),
        pause_for_a_round: false,
        proposal: Some(true),
        list_votes: vec![(3, true), (5, true)],
    };
    let last = RoundPlan { unstakes: vec![7], withdrawals: vec![(0, false)], ..plan.clone() };
    let landed = run(8, &[plan.clone(), plan.clone(), plan, last]);
    for kind in [
        "SubmitProof",
        "FundTask",
        "Stake",
        "RaiseAudit",
        "VoteAudit",
        "ResolveAudit",
        "UpdateTask",
        "RequestUnstake",
    ] {
        assert!(landed.get(kind).copied().unwrap_or(0) > 0, "{kind} never landed: {landed:?}");
    }
}
