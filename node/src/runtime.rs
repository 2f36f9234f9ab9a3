//! One node's round runtime, driven by slots: for each round it works,
//! submits, audits and votes, proposes and checks distribution lists,
//! resolves what is due and claims what it is owed. Every action first
//! reads chain state, so a tick repeated at the same slot sends nothing twice.

use std::collections::{BTreeMap, BTreeSet};

use gradual_interface::{
    builders::{self, Proposal},
    error::GradualError,
    merkle::{tree_of, MerkleTree},
    pda::find_audit_address,
    selection::{is_entitled, proposal_seed},
    state::{
        split_slash, Audit, Distribution, Node, Task as TaskAccount, VoteRecord, CLAIM_PERIOD_ROUNDS,
        DISTRIBUTION_APPROVED, DISTRIBUTION_FAILED, DISTRIBUTION_PROPOSED, DISTRIBUTION_REJECTED,
        MAX_LIST_URL_LEN, SUBMISSION_AUDITED, SUBMISSION_EXCLUDED,
    },
    Address,
};
use serde::Serialize;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

pub use crate::world::{InProcessPeers, Landed, Peers, World};
use crate::{
    chain::Chain,
    jobs::{CheckRequest, Checked, Inline, Jobs, SharedTask},
    tasks::{Task, WorkContext},
    world::read,
};

pub use crate::tasks::Leaves;

#[derive(Clone, Debug, Default, Serialize)]
pub struct NodeStats {
    pub rounds_submitted: Vec<u64>,
    pub audits_raised: u64,
    pub audit_votes: u64,
    /// Lists proposed, as (round, attempt).
    pub proposals: Vec<(u64, u8)>,
    pub list_votes: u64,
    pub rewards_claimed: u64,
    pub rounds_paid: Vec<u64>,
    /// Failures of the task's parts, by part ("work", "submission", "audit",
    /// "distribution"), and proposed lists whose root differed ("root").
    pub task_faults: BTreeMap<&'static str, u64>,
}

/// A proof as the task makes it: the digest and the locator.
type Proof = ([u8; 32], Vec<u8>);

pub struct NodeRuntime {
    pub operator: Keypair,
    pub node: Address,
    /// Claims rewards as soon as they are payable (`node run --no-claim` turns it off).
    pub auto_claim: bool,
    pub stats: NodeStats,
    /// Votes already attempted, so a refused one is not retried every slot.
    voted_lists: BTreeSet<(Address, u8)>,
    voted_audits: BTreeSet<Address>,
    /// Peers' proofs already checked, by (node, round): whether they held up.
    verdicts: BTreeMap<(Address, u64), bool>,
    /// Peers' proofs whose last check could not fetch the result.
    unreachable: BTreeSet<(Address, u64)>,
    /// Where work and checks run: at once, or beside the slot loop.
    pub jobs: Box<dyn Jobs>,
    /// Rounds whose work was started and whose outcome is not in yet.
    working_on: BTreeSet<u64>,
    /// Rounds whose work was ever started: a round's work runs at most once.
    started: BTreeSet<u64>,
    /// Each round's proof as the task made it; `None` if it could not.
    proofs: BTreeMap<u64, Option<Proof>>,
    /// Faults already logged, by part and round: each is logged once per round.
    faults_logged: BTreeSet<(&'static str, u64)>,
}

fn voted_in(ring: &[VoteRecord], round: u64, key: &Address) -> bool {
    ring.iter().any(|vote| vote.round == round && vote.audit == key.to_bytes())
}

impl NodeRuntime {
    pub fn new(operator: Keypair, node: Address) -> Self {
        Self {
            operator,
            node,
            auto_claim: true,
            stats: NodeStats::default(),
            voted_lists: BTreeSet::new(),
            voted_audits: BTreeSet::new(),
            verdicts: BTreeMap::new(),
            unreachable: BTreeSet::new(),
            jobs: Box::new(Inline),
            working_on: BTreeSet::new(),
            started: BTreeSet::new(),
            proofs: BTreeMap::new(),
            faults_logged: BTreeSet::new(),
        }
    }

    /// Counts a failure of the task's `part` and logs it, once per round.
    fn fault(&mut self, part: &'static str, round: u64, error: &str) {
        if self.faults_logged.insert((part, round)) {
            let count = self.stats.task_faults.entry(part).or_default();
            *count = count.saturating_add(1);
            tracing::warn!(node = %self.node, round, part, %error, "the task failed");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        chain: &mut dyn Chain,
        world: &mut World,
        kind: &'static str,
        round: u64,
        instruction: Instruction,
        deposit: u64,
        payout: u64,
    ) -> bool {
        let started = std::time::Instant::now();
        let sent = chain.send(&[instruction], &self.operator, &[&self.operator]);
        world.send_time = world.send_time.saturating_add(started.elapsed());
        match sent {
            Ok(units) => {
                world.compute_units.entry(kind).or_default().push(units);
                world.deposited = world.deposited.saturating_add(u128::from(deposit));
                world.paid_out = world.paid_out.saturating_add(u128::from(payout));
                world.landed.push(Landed { kind, round, node: self.node, lamports: deposit.max(payout) });
                true
            }
            Err(refused) => {
                // Another node got there first: expected whenever nodes race.
                let lost_race = refused.custom_code.and_then(GradualError::from_code).is_some_and(|error| {
                    matches!(
                        error,
                        GradualError::AlreadyAudited
                            | GradualError::AlreadyVoted
                            | GradualError::DistributionNotOpenForVotes
                            | GradualError::DistributionNotOpenForProposal
                            | GradualError::DistributionAlreadyExists
                            | GradualError::InvalidAuditAccount
                    )
                });
                if lost_race {
                    tracing::debug!(node = %self.node, kind, round, error = %refused.message, "lost a race");
                } else {
                    tracing::warn!(node = %self.node, kind, round, error = %refused.message, "transaction refused");
                }
                false
            }
        }
    }

    /// Does whatever this slot calls for.
    pub fn tick(&mut self, chain: &mut dyn Chain, world: &mut World, task_impl: &SharedTask) {
        let Some(task) = world.task_state else { return };
        let Some(me) = world.node_cache.get(&self.node).copied() else { return };
        let Some((round, offset)) = task.timeline().position_at(chain.slot()) else { return };
        // Round r's proofs are due in round r + 1's submission window, as round r's parameters set it.
        let previous_params =
            round.checked_sub(1).and_then(|previous| task.params_for(previous).ok().copied());
        let submission_open = previous_params.is_some_and(|params| offset < params.submission_window);
        // Forget what no instruction can concern any more.
        let oldest = round.saturating_sub(
            u64::from(task.allowed_failed_distributions)
                .saturating_add(3)
                .saturating_add(CLAIM_PERIOD_ROUNDS),
        );
        world.list_cache.retain(|(listed, _), _| *listed >= oldest);
        self.verdicts.retain(|(_, checked), _| *checked >= oldest);
        self.unreachable.retain(|(_, checked)| *checked >= oldest);
        self.proofs.retain(|proved, _| *proved >= oldest);
        self.started.retain(|worked| *worked >= oldest);
        self.faults_logged.retain(|(_, logged)| *logged >= oldest);

        // Work for this round, beside the loop, served to auditors once done.
        let working = round < world.work_rounds && !me.is_exiting() && task.is_active();
        if working && world.peers.own(&self.node, round).is_none() && self.started.insert(round) {
            self.working_on.insert(round);
        }
        for worked in self.working_on.clone() {
            let due = worked == round || (worked.saturating_add(1) == round && submission_open);
            self.collect_work(world, task_impl, worked, due);
        }
        if let Some(previous) = round.checked_sub(1) {
            if submission_open {
                self.submit(chain, world, task_impl.as_ref(), &me, previous);
            }
            self.audit(chain, world, task_impl, &task, &me, previous, offset);
        }
        self.resolve_audits(chain, world);
        for attempt in 0..=task.allowed_failed_distributions {
            if let Some(listed) = round.checked_sub(2 + u64::from(attempt)) {
                self.distribute(chain, world, task_impl.as_ref(), &task, &me, listed, attempt, offset);
            }
        }
        self.claim_and_expire(chain, world, task_impl.as_ref(), &task, round);
    }

    /// Picks up `round`'s work if it is done, serving its result; gives it
    /// up once it is no longer `due` (its submission window has closed).
    fn collect_work(&mut self, world: &mut World, task_impl: &SharedTask, round: u64, due: bool) {
        if !due {
            self.working_on.remove(&round);
            if self.jobs.abandon_work(&self.node, round) {
                let late = format!(
                    "late: work was still running when the submission window closed: round {round} is missed"
                );
                self.fault("work", round, &late);
            }
            return;
        }
        let context = WorkContext { task: world.task, node: self.node, round };
        match self.jobs.work(task_impl, &context) {
            None => {}
            Some(Ok(result)) => {
                self.working_on.remove(&round);
                world.peers.serve(&self.node, round, result);
            }
            Some(Err(error)) => {
                self.working_on.remove(&round);
                self.fault("work", round, &format!("{error}: round {round} is missed"));
            }
        }
    }

    fn submit(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task_impl: &dyn Task,
        me: &Node,
        round: u64,
    ) {
        if me.submission(round).is_some() {
            return;
        }
        let Some(result) = world.peers.own(&self.node, round) else { return };
        if !self.proofs.contains_key(&round) {
            let proof = task_impl.submission(round, &result);
            if let Err(error) = &proof {
                self.fault("submission", round, error);
            }
            self.proofs.insert(round, proof.ok());
        }
        let Some(Some((digest, locator))) = self.proofs.get(&round).cloned() else { return };
        let instruction =
            builders::submit_proof(&self.operator.pubkey(), &world.task, round, digest, &locator);
        if self.send(chain, world, "SubmitProof", round, instruction, 0, 0) {
            self.stats.rounds_submitted.push(round);
        }
    }

    /// Checks `target`'s proof of `round` beside the loop, to be decided
    /// before `deadline_slot`: `None` while the check runs. A proof that held
    /// up or did not is remembered; an unreachable result is tried again.
    fn check(
        &mut self,
        chain: &dyn Chain,
        world: &mut World,
        task_impl: &SharedTask,
        target: &Address,
        (round, deadline_slot): (u64, u64),
    ) -> Option<Checked> {
        if let Some(valid) = self.verdicts.get(&(*target, round)) {
            return Some(if *valid { Checked::Valid } else { Checked::Invalid });
        }
        let account = world.node_cache.get(target).copied()?;
        account.submission(round)?;
        let slots_left = u32::try_from(deadline_slot.saturating_sub(chain.slot())).unwrap_or(u32::MAX);
        let now = std::time::Instant::now();
        let deadline = now.checked_add(world.slot_duration.saturating_mul(slots_left)).unwrap_or(now);
        let request = CheckRequest { target: *target, account: &account, round, deadline };
        let checked = self.jobs.check(task_impl, world.peers.as_mut(), request)?;
        match checked {
            Checked::Unreachable => {
                self.unreachable.insert((*target, round));
            }
            Checked::Valid | Checked::Invalid => {
                self.unreachable.remove(&(*target, round));
                self.verdicts.insert((*target, round), checked == Checked::Valid);
            }
        }
        Some(checked)
    }

    #[allow(clippy::too_many_arguments)]
    fn audit(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task_impl: &SharedTask,
        task: &TaskAccount,
        me: &Node,
        round: u64,
        offset: u64,
    ) {
        let Ok(params) = task.params_for(round).copied() else { return };
        let Some((raise_start, raise_end)) = params.audit_raise_window() else { return };
        let Some(window_end) = params.audit_window_end() else { return };
        let Some(round_start) = task.timeline().round_start(round.saturating_add(1)) else { return };
        if offset < raise_end {
            // An unreachable result counts against its node only in the second
            // half of the raise window; until then it may just be slow.
            let last_chance_from = raise_start.saturating_add(raise_end.saturating_sub(raise_start) / 2);
            let last_chance = offset >= last_chance_from;
            // Checks start as soon as proofs land and are decided by then.
            let decide_by = round_start.saturating_add(last_chance_from);
            for target in world.sample(&self.node, round) {
                let checked = self.check(chain, world, task_impl, &target, (round, decide_by));
                if offset >= raise_start {
                    self.raise_if_invalid(chain, world, task, &target, (round, checked), last_chance);
                }
            }
        }
        if !(raise_start..window_end).contains(&offset) {
            return;
        }
        // A node has 8 votes per audited round: each node takes the open audits
        // in its own pseudo-random order, so that together they cover them all.
        let mut open: Vec<(Address, Audit)> = world
            .open_audits
            .iter()
            .filter(|(_, audit)| audit.round == round && Address::new_from_array(audit.target) != self.node)
            .map(|(address, audit)| (*address, *audit))
            .collect();
        open.sort_by_cached_key(|(address, _)| {
            solana_sha256_hasher::hashv(&[self.node.as_ref(), address.as_ref()]).to_bytes()
        });
        let vote_by = round_start.saturating_add(window_end).saturating_sub(1);
        for (audit_address, audit) in open {
            if voted_in(&me.votes, round, &audit_address) || self.voted_audits.contains(&audit_address) {
                continue;
            }
            let target = Address::new_from_array(audit.target);
            let valid = match self.check(chain, world, task_impl, &target, (round, vote_by)) {
                Some(Checked::Valid) => true,
                Some(Checked::Invalid) => false,
                _ if self.unreachable.contains(&(target, round)) => false,
                // Still checking: vote on a later slot.
                _ => continue,
            };
            self.voted_audits.insert(audit_address);
            let vote = builders::vote_audit(&self.operator.pubkey(), &world.task, &audit_address, valid);
            if self.send(chain, world, "VoteAudit", round, vote, 0, 0) {
                self.stats.audit_votes = self.stats.audit_votes.saturating_add(1);
            }
        }
    }

    /// Raises an audit against `target`'s proof of `round` if the result it
    /// serves does not check out (or, at the `last_chance`, could not be
    /// fetched) and nobody has raised one yet.
    fn raise_if_invalid(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task: &TaskAccount,
        target: &Address,
        (round, checked): (u64, Option<Checked>),
        last_chance: bool,
    ) {
        if *target == self.node {
            return;
        }
        let Some(proof) = world.node_cache.get(target).and_then(|node| node.submission(round)).copied()
        else {
            return;
        };
        if proof.flags & SUBMISSION_AUDITED != 0 {
            return;
        }
        match checked {
            Some(Checked::Invalid) => {}
            Some(Checked::Valid) => return,
            _ if last_chance && self.unreachable.contains(&(*target, round)) => {}
            _ => return,
        }
        let bond = task.params_for(round).map_or(0, |params| params.audit_bond);
        let raise = builders::raise_audit(&self.operator.pubkey(), &world.task, target, round);
        if self.send(chain, world, "RaiseAudit", round, raise, bond, 0) {
            self.stats.audits_raised = self.stats.audits_raised.saturating_add(1);
            let against = world.audits_against.entry(*target).or_default();
            *against = against.saturating_add(1);
            let address = find_audit_address(target, round).0;
            self.voted_audits.insert(address);
            // Later runtimes in this slot must see the audit and the flag.
            if let Some(audit) = read::<Audit>(chain, &address) {
                world.open_audits.insert(address, audit);
            }
            if let Some(node) = read::<Node>(chain, target) {
                world.node_cache.insert(*target, node);
            }
        }
    }

    /// Resolves every open audit whose window has closed.
    fn resolve_audits(&self, chain: &mut dyn Chain, world: &mut World) {
        let slot = chain.slot();
        let due: Vec<(Address, Audit)> = world
            .open_audits
            .iter()
            .filter(|(_, audit)| slot >= audit.window_end)
            .map(|(address, audit)| (*address, *audit))
            .collect();
        for (address, audit) in due {
            let target = Address::new_from_array(audit.target);
            let Some(node) = world.node_cache.get(&target).copied() else { continue };
            let payout = if audit.is_upheld() {
                let stake = node.stake_for_round(audit.round).min(node.total_stake());
                audit.bond.saturating_add(
                    split_slash(stake, audit.slash_rate_bps).map_or(0, |split| split.to_raiser),
                )
            } else {
                audit.bond
            };
            let instruction = builders::resolve_audit(
                &address,
                &world.task,
                &target,
                &Address::new_from_array(audit.raiser_operator),
                &Address::new_from_array(node.operator),
            );
            if self.send(chain, world, "ResolveAudit", audit.round, instruction, 0, payout) {
                world.open_audits.remove(&address);
                if let Some(node) = read::<Node>(chain, &target) {
                    world.node_cache.insert(target, node);
                }
            }
        }
    }

    /// Round `round`'s list by the task's rule, from chain state (the
    /// cache of this slot's node accounts).
    pub fn expected_list(
        chain: &dyn Chain,
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        round: u64,
        pool: u64,
    ) -> Result<Leaves, String> {
        world.list(chain.slot(), task_impl, task, (round, pool)).map(|(leaves, _)| leaves.clone())
    }

    /// The list of `round` and its tree, as [`World::list`] computes it; a
    /// failure of the task's rule is counted and logged once per round.
    fn list_of<'w>(
        &mut self,
        chain: &dyn Chain,
        world: &'w mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        (round, pool): (u64, u64),
    ) -> Option<&'w (Leaves, MerkleTree)> {
        match world.list(chain.slot(), task_impl, task, (round, pool)) {
            Ok(list) => Some(list),
            Err(error) => {
                self.fault("distribution", round, &error);
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn distribute(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        me: &Node,
        listed: u64,
        attempt: u8,
        offset: u64,
    ) {
        let attempt_round = listed.saturating_add(2).saturating_add(u64::from(attempt));
        let Ok(params) = task.params_for(attempt_round).copied() else { return };
        let existing = world.distributions.get(&listed).copied();
        let open_for_attempt = match &existing {
            None => true,
            Some((_, distribution)) => {
                distribution.status == DISTRIBUTION_REJECTED && distribution.attempt < attempt
            }
        };
        if offset < params.distribution_window && open_for_attempt {
            self.propose(
                chain,
                world,
                task_impl,
                task,
                me,
                listed,
                attempt,
                offset,
                params.distribution_window,
            );
            return;
        }
        let Some((address, distribution)) = existing else { return };
        let slot = chain.slot();
        // A list whose votes are over is resolved whatever attempt it was,
        // so one missed in its own round (slow ticks, an outage) is not stuck.
        if distribution.status == DISTRIBUTION_PROPOSED && slot >= distribution.vote_end {
            let payout = if distribution.is_rejected() { 0 } else { distribution.bond };
            let operator = Address::new_from_array(distribution.proposer_operator);
            let resolve = builders::resolve_distribution(&world.task, listed, &operator);
            if self.send(chain, world, "ResolveDistribution", listed, resolve, 0, payout) {
                world.reload_distribution(chain, listed, &self.node);
            }
            return;
        }
        if distribution.status != DISTRIBUTION_PROPOSED || distribution.attempt != attempt {
            return;
        }
        if (distribution.vote_start..distribution.vote_end).contains(&slot)
            && Address::new_from_array(distribution.proposer) != self.node
            && !voted_in(&me.distribution_votes, attempt_round, &address)
            && self.voted_lists.insert((address, attempt))
        {
            // The proposal already took its total out of the pool: the
            // bounty it could pay is judged against the pool before it.
            let pool_before = task.bounty_pool.saturating_add(distribution.reserved);
            // A node whose rule gives no list cannot judge one: it abstains.
            let Some((leaves, tree)) = self.list_of(chain, world, task_impl, task, (listed, pool_before))
            else {
                return;
            };
            let root = tree.root();
            let valid = root == distribution.root
                && distribution.total == leaves.iter().map(|(_, amount)| *amount).sum::<u64>()
                && distribution.leaf_count == leaves.len() as u64;
            let kept = valid.then(|| leaves.clone());
            world.roots.entry(listed).or_default().insert(root);
            if let Some(leaves) = kept {
                world.peers.serve_list(&self.node, listed, &leaves);
            } else {
                let proposer = Address::new_from_array(distribution.proposer);
                self.fault(
                    "root",
                    listed,
                    &format!("the list {proposer} proposed differs from the one this node computes"),
                );
            }
            let vote = builders::vote_distribution(&self.operator.pubkey(), &world.task, listed, valid);
            if self.send(chain, world, "VoteDistribution", listed, vote, 0, 0) {
                self.stats.list_votes = self.stats.list_votes.saturating_add(1);
                world.reload_distribution(chain, listed, &self.node);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn propose(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        me: &Node,
        listed: u64,
        attempt: u8,
        offset: u64,
        window: u64,
    ) {
        let has_proof = me.submission(listed).is_some_and(|proof| proof.flags & SUBMISSION_EXCLUDED == 0);
        if !has_proof {
            return;
        }
        let Some(round_start) =
            task.timeline().round_start(listed.saturating_add(2).saturating_add(u64::from(attempt)))
        else {
            return;
        };
        let Some(slot_hash) = chain.slot_hash(round_start.saturating_sub(1)) else { return };
        let seed = proposal_seed(&slot_hash, listed, attempt);
        if !is_entitled(&seed, &self.node.to_bytes(), task.node_count, offset, window) {
            return;
        }
        let Some((leaves, _)) = self.list_of(chain, world, task_impl, task, (listed, task.bounty_pool))
        else {
            return;
        };
        let leaves = leaves.clone();
        let mut url = me.service_url().to_vec();
        url.extend_from_slice(format!("/v1/lists/{listed}").as_bytes());
        url.truncate(MAX_LIST_URL_LEN);
        let proposal = Proposal::of(listed, &leaves, url);
        let bond = task.params_for(listed).map_or(0, |params| params.audit_bond);
        let instruction = builders::propose_distribution(&self.operator.pubkey(), &world.task, &proposal);
        world.peers.serve_list(&self.node, listed, &leaves);
        if self.send(chain, world, "ProposeDistribution", listed, instruction, bond, 0) {
            self.stats.proposals.push((listed, attempt));
            world.reload_distribution(chain, listed, &self.node);
        }
    }

    fn claim_and_expire(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        round: u64,
    ) {
        let horizon = u64::from(task.allowed_failed_distributions)
            .saturating_add(3)
            .saturating_add(CLAIM_PERIOD_ROUNDS);
        let settled: Vec<(u64, Distribution)> = world
            .distributions
            .range(round.saturating_sub(horizon)..round.saturating_sub(1))
            .map(|(listed, (_, distribution))| (*listed, *distribution))
            .collect();
        let slot = chain.slot();
        for (listed, distribution) in settled {
            let Some(me) = world.node_cache.get(&self.node).copied() else { return };
            if self.auto_claim
                && distribution.status == DISTRIBUTION_APPROVED
                && slot < distribution.claim_deadline
                && !me.claimed_rounds.contains(listed)
            {
                // This node's own list (shared by the runtimes of the process), else
                // the one it kept, else the proposer's: whichever builds the approved root pays.
                let claim = self
                    .list_of(chain, world, task_impl, task, (listed, distribution.total))
                    .and_then(|(leaves, tree)| claim_in(leaves, tree, &distribution, &self.node))
                    .or_else(|| {
                        let kept = world.peers.kept_list(&self.node, listed)?;
                        claim_of(&kept, &distribution, &self.node)
                    })
                    .or_else(|| {
                        let served = world.peers.proposer_list(&distribution)?;
                        claim_of(&served, &distribution, &self.node)
                    });
                if let Some((amount, proof)) = claim {
                    let claim =
                        builders::claim_reward(&self.operator.pubkey(), &world.task, listed, amount, &proof);
                    if self.send(chain, world, "ClaimReward", listed, claim, 0, amount) {
                        self.stats.rewards_claimed = self.stats.rewards_claimed.saturating_add(amount);
                        self.stats.rounds_paid.push(listed);
                        world.reload_distribution(chain, listed, &self.node);
                    }
                }
            }
            let attempts_over =
                round > listed.saturating_add(2).saturating_add(u64::from(task.allowed_failed_distributions));
            let expired = distribution.status == DISTRIBUTION_FAILED
                || (distribution.status == DISTRIBUTION_APPROVED && slot >= distribution.claim_deadline)
                || (distribution.status == DISTRIBUTION_REJECTED && attempts_over);
            if expired {
                let payer = Address::new_from_array(distribution.payer);
                let expire = builders::expire_distribution(&world.task, listed, &payer);
                if self.send(chain, world, "ExpireDistribution", listed, expire, 0, 0) {
                    world.reload_distribution(chain, listed, &self.node);
                }
            }
        }
    }
}

/// `node`'s amount and Merkle proof in `leaves`, if they build the
/// distribution's root and pay `node` anything.
pub fn claim_of(
    leaves: &Leaves,
    distribution: &Distribution,
    node: &Address,
) -> Option<(u64, Vec<[u8; 32]>)> {
    claim_in(leaves, &tree_of(leaves), distribution, node)
}

fn claim_in(
    leaves: &Leaves,
    tree: &MerkleTree,
    distribution: &Distribution,
    node: &Address,
) -> Option<(u64, Vec<[u8; 32]>)> {
    if tree.root() != distribution.root {
        return None;
    }
    let index = leaves.iter().position(|(leaf, _)| *leaf == node.to_bytes())?;
    Some((leaves[index].1, tree.proof(index).unwrap_or_default()))
}
