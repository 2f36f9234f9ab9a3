//! One node's round runtime, driven by slots: for each round it works,
//! submits, audits and votes, proposes and checks distribution lists,
//! resolves what is due and claims what it is owed. Every action first
//! reads chain state, so a tick repeated at the same slot sends nothing twice.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use gradual_interface::{
    builders::{self, Proposal, Reveal},
    error::GradualError,
    merkle,
    pda::find_audit_address,
    proof::proof_commitment,
    round::{AUDIT_LAG, LIST_LAG},
    selection::{committee_seats, committee_seed, is_entitled, proposal_seed},
    state::{
        split_slash, Audit, Distribution, Node, Task as TaskAccount, VoteRecord, CLAIM_PERIOD_ROUNDS,
        DISTRIBUTION_APPROVED, DISTRIBUTION_FAILED, DISTRIBUTION_PROPOSED, DISTRIBUTION_REJECTED,
        MAX_LIST_URL_LEN, SUBMISSION_AUDITED, SUBMISSION_EXCLUDED, VOTES_PER_ROUND,
    },
    Address,
};
use serde::Serialize;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;

pub use crate::world::{InProcessPeers, Landed, Peers, World};
use crate::{
    approved::ApprovedList,
    chain::Chain,
    jobs::{CheckRequest, Checked, Inline, Jobs, SharedTask},
    tasks::{Task, WorkContext},
    world::{read, RuleList},
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
    /// Rounds not worked because the bounty pool could pay nothing for them.
    pub rounds_unfunded: Vec<u64>,
    /// Failures of the task's parts, by part ("work", "submission", "audit",
    /// "distribution"), and proposed lists whose root differed ("root").
    pub task_faults: BTreeMap<&'static str, u64>,
}

/// The peers a node checks in a round, each with whether its proof was
/// seen revealed, and the refresh of the last sweep over them.
struct Sample {
    targets: Vec<(Address, bool)>,
    swept_at: Option<u64>,
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
    voted_lists: BTreeSet<(u64, u8)>,
    /// Lists judged, by (round, attempt): whether this node rebuilds them,
    /// or `None` if its rule gave no list.
    list_verdicts: BTreeMap<(u64, u8), Option<bool>>,
    /// Audits voted on (or raised), by (audited round, audit).
    voted_audits: BTreeSet<(u64, Address)>,
    /// The audits of a round whose committee this node sits on: drawn once,
    /// when its votes open, since no audit of that round is raised after.
    committees: Option<(u64, Vec<Address>)>,
    /// The peers this node checks in each round (`World::sample`).
    samples: BTreeMap<u64, Sample>,
    /// Entries of rounds before this one are already forgotten.
    forgotten_before: u64,
    /// Peers' proofs already checked, by (node, round): whether they held up.
    verdicts: BTreeMap<(Address, u64), bool>,
    /// Peers' proofs whose last check could not fetch the result.
    unreachable: BTreeSet<(Address, u64)>,
    /// Where work and checks run: at once, or beside the slot loop.
    pub jobs: Box<dyn Jobs>,
    /// Where `node run` exports what happens (`None` in `simulate`).
    pub metrics: Option<crate::metrics::TaskMetrics>,
    /// The last refusal or task failure, for `gradual node status`.
    pub last_error: std::sync::Mutex<Option<String>>,
    /// Rounds whose work was started and whose outcome is not in yet, with when it started.
    working_on: BTreeMap<u64, std::time::Instant>,
    /// Rounds whose work was ever started: a round's work runs at most once.
    started: BTreeSet<u64>,
    /// Each round's proof as the task made it; `None` if it could not.
    proofs: BTreeMap<u64, Option<Proof>>,
    /// Faults already logged, by part and round: each is logged once per round.
    faults_logged: BTreeSet<(&'static str, u64)>,
    /// Rounds whose result this node has published to its peers.
    published: BTreeSet<u64>,
    /// Rewards claimable now, with their deadlines (see `find_claims`).
    payable: Vec<(u64, Claim)>,
    /// The round whose standalone claims were last looked for.
    claims_checked: Option<u64>,
    /// The last unfunded round counted in the metrics, once it was over.
    unfunded_counted: Option<u64>,
}

/// What the audit and list stages of one tick work from: the chain, this
/// node's view of it, the task and this node's account as the tick found
/// them, and how many slots of the round have passed.
struct Tick<'a> {
    chain: &'a mut dyn Chain,
    world: &'a mut World,
    task_impl: &'a SharedTask,
    task: TaskAccount,
    me: Arc<Node>,
    offset: u64,
}

/// What became of a transaction: landed, or refused (with the program's error if it gave one).
type Sent = Result<(), Option<GradualError>>;

/// One transaction this node signs and pays for.
struct Tx {
    kind: &'static str,
    instructions: Vec<Instruction>,
    /// Lamports it moves into the program, and out of it to this node.
    deposit: u64,
    payout: u64,
    /// What it does, for the journal: (kind, round, lamports) per action.
    actions: Vec<(&'static str, u64, u64)>,
}

impl Tx {
    fn one(kind: &'static str, round: u64, instruction: Instruction) -> Self {
        Self { kind, instructions: vec![instruction], deposit: 0, payout: 0, actions: vec![(kind, round, 0)] }
    }

    fn deposit(mut self, lamports: u64) -> Self {
        self.deposit = lamports;
        self.actions.iter_mut().for_each(|action| action.2 = lamports);
        self
    }

    fn payout(mut self, lamports: u64) -> Self {
        self.payout = lamports;
        self.actions.iter_mut().for_each(|action| action.2 = lamports);
        self
    }

    /// Adds `claim` to the transaction.
    fn with_claim(mut self, claim: &Claim) -> Self {
        self.instructions.push(claim.instruction.clone());
        self.payout = self.payout.saturating_add(claim.amount);
        self.actions.push(("ClaimReward", claim.round, claim.amount));
        self
    }

    /// Whether the transaction, with `claim` added, still fits in one packet.
    fn fits_with(&self, claim: &Claim, payer: &Address) -> bool {
        let mut instructions = self.instructions.clone();
        instructions.push(claim.instruction.clone());
        let transaction = solana_transaction::Transaction::new_with_payer(&instructions, Some(payer));
        wincode::serialize(&transaction).is_ok_and(|bytes| bytes.len() <= PACKET_DATA_SIZE)
    }
}

/// A reward this node can claim: round, amount and the instruction.
struct Claim {
    round: u64,
    amount: u64,
    instruction: Instruction,
}

/// Whether `audit` is upheld if resolved now: an audit nobody voted on has
/// its committee drawn at resolution, the raiser's seats counting if the
/// seed is still in `SlotHashes`.
pub fn upheld_at_resolution(chain: &dyn Chain, audit: &Audit) -> bool {
    let mut audit = *audit;
    if audit.committee_seed == [0; 32] {
        if let Some(hash) = chain.slot_hash(audit.votes_from.saturating_sub(1)) {
            let seed = committee_seed(&hash, &audit.target, audit.round);
            let seats = committee_seats(
                &seed,
                &audit.raiser,
                audit.raiser_stake,
                audit.committee_stake,
                audit.committee_seats,
            );
            audit.invalid_weight = audit.invalid_weight.saturating_add(seats);
            audit.voter_count = audit.voter_count.saturating_add(u32::from(seats != 0));
        }
    }
    audit.is_upheld()
}

/// Orders the nodes' turns to vote on a list (node-side only: the program
/// takes any vote in the window).
fn vote_seed(distribution: &Distribution) -> [u8; 32] {
    solana_sha256_hasher::hashv(&[b"gradual-list-vote", &distribution.seed, &[distribution.attempt]])
        .to_bytes()
}

/// Slots after an audit's or a list's vote window before any node settles
/// it, not only the party it pays.
fn settle_grace(task: &TaskAccount) -> u64 {
    task.round_length / 4
}

/// The largest serialized transaction a cluster accepts.
const PACKET_DATA_SIZE: usize = 1_232;

/// Rounds before a claim's deadline from which it is sent on its own rather
/// than waiting to ride with a submission.
const CLAIM_ALONE_ROUNDS: u64 = 2;

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
            list_verdicts: BTreeMap::new(),
            voted_audits: BTreeSet::new(),
            committees: None,
            samples: BTreeMap::new(),
            forgotten_before: 0,
            verdicts: BTreeMap::new(),
            unreachable: BTreeSet::new(),
            jobs: Box::new(Inline),
            working_on: BTreeMap::new(),
            metrics: None,
            last_error: std::sync::Mutex::new(None),
            started: BTreeSet::new(),
            proofs: BTreeMap::new(),
            faults_logged: BTreeSet::new(),
            published: BTreeSet::new(),
            payable: Vec::new(),
            claims_checked: None,
            unfunded_counted: None,
        }
    }

    /// Forgets what concerns rounds before `oldest`: once per round, since
    /// every node does it and each map is walked whole.
    fn forget_before(&mut self, world: &mut World, oldest: u64) {
        world.forget_lists_before(oldest);
        world.peers.forget_before(&self.node, oldest);
        world
            .approved_lists
            .retain(|root, _| world.distributions.values().any(|(_, listed)| listed.root == *root));
        self.verdicts.retain(|(_, checked), _| *checked >= oldest);
        self.unreachable.retain(|(_, checked)| *checked >= oldest);
        self.proofs.retain(|proved, _| *proved >= oldest);
        self.started.retain(|worked| *worked >= oldest);
        self.published.retain(|published| *published >= oldest);
        self.faults_logged.retain(|(_, logged)| *logged >= oldest);
        self.voted_lists.retain(|(listed, _)| *listed >= oldest);
        self.list_verdicts.retain(|(listed, _), _| *listed >= oldest);
        self.voted_audits.retain(|(audited, _)| *audited >= oldest);
        self.samples.retain(|sampled, _| *sampled >= oldest);
        self.forgotten_before = oldest;
    }

    /// Counts a failure of the task's `part` and logs it, once per round.
    fn fault(&mut self, part: &'static str, round: u64, error: &str) {
        if self.faults_logged.insert((part, round)) {
            let count = self.stats.task_faults.entry(part).or_default();
            *count = count.saturating_add(1);
            tracing::warn!(node = %self.node, round, part, %error, "the task failed");
            self.note_error(format!("the task's {part} failed in round {round}: {error}"));
        }
    }

    fn note_error(&self, error: String) {
        *self.last_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(error);
    }

    fn send(&self, chain: &mut dyn Chain, world: &mut World, tx: Tx) -> bool {
        self.send_all(chain, world, vec![tx]).first().is_some_and(Result::is_ok)
    }

    /// Sends independent transactions together; what became of each, in order.
    fn send_all(&self, chain: &mut dyn Chain, world: &mut World, txs: Vec<Tx>) -> Vec<Sent> {
        if txs.is_empty() {
            return Vec::new();
        }
        let started = std::time::Instant::now();
        let messages: Vec<Vec<Instruction>> = txs.iter().map(|tx| tx.instructions.clone()).collect();
        let sent = chain.send_all(&messages, &self.operator, &[&self.operator]);
        world.send_time = world.send_time.saturating_add(started.elapsed());
        txs.into_iter().zip(sent).map(|(tx, sent)| self.record(world, tx, sent)).collect()
    }

    /// Accounts for `tx`'s outcome.
    fn record(&self, world: &mut World, tx: Tx, sent: Result<u64, crate::chain::Refused>) -> Sent {
        if let Some(metrics) = &self.metrics {
            metrics.sent(tx.kind, sent.is_ok());
        }
        match sent {
            Ok(units) => {
                world.compute_units.entry(tx.kind).or_default().push(units);
                world.deposited = world.deposited.saturating_add(u128::from(tx.deposit));
                world.paid_out = world.paid_out.saturating_add(u128::from(tx.payout));
                for (kind, round, lamports) in tx.actions {
                    world.landed.push(Landed { kind, round, node: self.node, lamports });
                }
                Ok(())
            }
            Err(refused) => {
                let count = world.refused.entry(tx.kind).or_default();
                *count = count.saturating_add(1);
                // Another node got there first: expected whenever nodes race.
                let error = refused.custom_code.and_then(GradualError::from_code);
                let lost_race = error.is_some_and(|error| {
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
                let (kind, round) = (tx.kind, tx.actions.first().map_or(0, |action| action.1));
                if lost_race {
                    tracing::debug!(node = %self.node, kind, round, error = %refused.message, "lost a race");
                } else {
                    tracing::warn!(node = %self.node, kind, round, error = %refused.message, "transaction refused");
                    self.note_error(format!("{kind} for round {round} refused: {}", refused.message));
                }
                Err(error)
            }
        }
    }

    /// Does whatever this slot calls for.
    pub fn tick(&mut self, chain: &mut dyn Chain, world: &mut World, task_impl: &SharedTask) {
        let Some(task) = world.task_state else { return };
        // Shared, not copied: a node account is 2,280 bytes.
        let Some(me) = world.node_cache.get(&self.node).cloned() else { return };
        let Some((round, offset)) = task.timeline().position_at(chain.slot()) else { return };
        // Round r's proofs are due in round r + 1's submission window, as round r's parameters set it.
        let previous_params =
            round.checked_sub(1).and_then(|previous| task.params_for(previous).ok().copied());
        let submission_open = previous_params.is_some_and(|params| offset < params.submission_window);
        // Forget what no instruction can concern any more.
        let oldest = round.saturating_sub(
            u64::from(task.allowed_failed_distributions)
                .saturating_add(LIST_LAG + 1)
                .saturating_add(CLAIM_PERIOD_ROUNDS),
        );
        if oldest > self.forgotten_before {
            self.forget_before(world, oldest);
        }

        // Work for this round, beside the loop, served to auditors once done.
        let working = round < world.work_rounds
            && !me.is_exiting()
            && task.is_active()
            && self.bounty_left_for(world, &task, &me, round);
        if working && self.started.insert(round) && world.peers.own(&self.node, round).is_none() {
            self.working_on.insert(round, std::time::Instant::now());
        }
        for worked in self.working_on.keys().copied().collect::<Vec<_>>() {
            let due = worked == round || (worked.saturating_add(1) == round && submission_open);
            self.collect_work(world, task_impl, worked, due);
        }
        if let Some(previous) = round.checked_sub(1) {
            if submission_open {
                self.submit(chain, world, task_impl.as_ref(), &me, previous);
            } else if self.published.insert(previous) {
                // Round r's commitments are in: its result can be served without being copied.
                world.peers.publish(&self.node, previous);
            }
        }
        let mut stage = Tick { chain: &mut *chain, world: &mut *world, task_impl, task, me, offset };
        if let Some(audited) = round.checked_sub(AUDIT_LAG) {
            self.audit(&mut stage, audited);
        }
        self.resolve_audits(stage.chain, stage.world);
        for attempt in 0..=task.allowed_failed_distributions {
            if let Some(listed) = round.checked_sub(LIST_LAG + u64::from(attempt)) {
                self.distribute(&mut stage, listed, attempt);
            }
        }
        // Once a round, after its submissions: claims that cannot wait for one.
        let after_submissions = previous_params.map_or(0, |params| params.submission_window);
        if offset >= after_submissions && self.claims_checked != Some(round) {
            self.claims_checked = Some(round);
            self.find_claims(chain, world, task_impl.as_ref());
            self.claim_alone(chain, world, &task, working);
        }
        self.expire(chain, world, &task, round);
    }

    /// Whether the bounty pool can still pay anything for `round` once the
    /// lists of the earlier rounds this node worked have drawn their bounty.
    /// A round that pays nothing is not worked, so it costs no fees; work
    /// resumes by itself once the pool is refilled. Claims and settling go on.
    fn bounty_left_for(&mut self, world: &World, task: &TaskAccount, me: &Node, round: u64) -> bool {
        let still_to_list = (round.saturating_sub(LIST_LAG)..round)
            .filter(|earlier| self.started.contains(earlier) || me.submission(*earlier).is_some())
            .filter(|earlier| !world.distributions.contains_key(earlier))
            .map(|earlier| task.params_for(earlier).map_or(0, |params| params.bounty_per_round))
            .fold(0u64, u64::saturating_add);
        let left = task.bounty_pool > still_to_list;
        // A round refilled in time is worked after all: it was not unfunded.
        if left {
            self.stats.rounds_unfunded.retain(|unfunded| *unfunded != round);
        }
        if let Some(previous) = round.checked_sub(1) {
            if self.stats.rounds_unfunded.last() == Some(&previous) && self.unfunded_counted != Some(previous)
            {
                self.unfunded_counted = Some(previous);
                self.metrics.iter().for_each(|metrics| metrics.missed("unfunded"));
            }
        }
        if !left && !self.started.contains(&round) && self.stats.rounds_unfunded.last() != Some(&round) {
            self.stats.rounds_unfunded.push(round);
            tracing::info!(
                node = %self.node,
                round,
                pool = task.bounty_pool,
                still_to_list,
                "the bounty pool cannot pay this round: not working it"
            );
        }
        left
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
                self.metrics.iter().for_each(|metrics| metrics.missed("work_late"));
            }
            return;
        }
        let context = WorkContext { task: world.task, node: self.node, round };
        match self.jobs.work(task_impl, &context) {
            None => {}
            Some(Ok(result)) => {
                if let (Some(started), Some(metrics)) = (self.working_on.remove(&round), &self.metrics) {
                    metrics.worked(started.elapsed());
                }
                world.peers.serve(&self.node, round, result);
            }
            Some(Err(error)) => {
                self.working_on.remove(&round);
                self.fault("work", round, &format!("{error}: round {round} is missed"));
                self.metrics.iter().for_each(|metrics| metrics.missed("work_failed"));
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
        let commitment = self.commitment(world, task_impl, me, round);
        // A reveal lands only inside its own round's submission window too.
        let offset = world
            .task_state
            .and_then(|task| task.timeline().position_at(chain.slot()))
            .map(|(_, offset)| offset);
        let reveal_open = |revealed: u64| {
            world
                .task_state
                .and_then(|task| task.params_for(revealed).ok().copied())
                .zip(offset)
                .is_some_and(|(params, offset)| params.in_submission_window(offset))
        };
        let reveal = round
            .checked_sub(1)
            .filter(|revealed| reveal_open(*revealed))
            .and_then(|revealed| self.reveal(world, task_impl, me, revealed));
        if commitment.is_none() && reveal.is_none() {
            return;
        }
        let submit =
            builders::submit_proof(&self.operator.pubkey(), &world.task, round, commitment, reveal.as_ref());
        // Claims ride along, so that a round costs one signature. Those that
        // do not fit wait for the next submission, or go alone near their deadline.
        self.find_claims(chain, world, task_impl);
        // A reveal alone (the node no longer commits) is journaled apart, under the revealed round.
        let (kind, journaled) = if commitment.is_some() {
            ("SubmitProof", round)
        } else {
            ("RevealProof", round.saturating_sub(1))
        };
        let mut tx = Tx::one(kind, journaled, submit.clone());
        let mut riding = Vec::new();
        let mut full = false;
        for (deadline, claim) in std::mem::take(&mut self.payable) {
            full = full || !tx.fits_with(&claim, &self.operator.pubkey());
            if full {
                self.payable.push((deadline, claim));
            } else {
                tx = tx.with_claim(&claim);
                riding.push(claim);
            }
        }
        if !riding.is_empty() {
            tx.kind =
                if commitment.is_some() { "SubmitProof+ClaimReward" } else { "RevealProof+ClaimReward" };
        }
        let committed = commitment.is_some();
        if self.send(chain, world, tx) {
            if committed {
                self.stats.rounds_submitted.push(round);
            }
            for claim in riding {
                self.claimed(chain, world, &claim);
            }
        } else if !riding.is_empty()
            && self.send(chain, world, Tx::one("SubmitProof", round, submit))
            && committed
        {
            // A claim the chain refused must not cost the round's proof.
            self.stats.rounds_submitted.push(round);
        }
    }

    /// Round `round`'s proof as the task makes it from the stored result,
    /// made once; `None` if there is no result or the task could not.
    fn proof_of(&mut self, world: &World, task_impl: &dyn Task, round: u64) -> Option<Proof> {
        if !self.proofs.contains_key(&round) {
            let result = world.peers.own(&self.node, round)?;
            let proof = task_impl.submission(round, &result);
            if let Err(error) = &proof {
                self.fault("submission", round, error);
                self.metrics.iter().for_each(|metrics| metrics.missed("proof_failed"));
            }
            self.proofs.insert(round, proof.ok());
        }
        self.proofs.get(&round).cloned().flatten()
    }

    /// The salt of `round`'s commitment: the operator's signature of the task
    /// and round, hashed. Deterministic, so a restarted node reveals what it
    /// committed without storing it, and secret until revealed.
    fn salt(&self, task: &Address, round: u64) -> [u8; 32] {
        let signature = self
            .operator
            .sign_message(&[b"gradual-salt".as_ref(), task.as_ref(), &round.to_le_bytes()].concat());
        solana_sha256_hasher::hashv(&[signature.as_ref()]).to_bytes()
    }

    /// The commitment to round `round`'s proof, if it is due and this node has one.
    fn commitment(&mut self, world: &World, task_impl: &dyn Task, me: &Node, round: u64) -> Option<[u8; 32]> {
        if me.submission(round).is_some() {
            return None;
        }
        // A node slashed below the round's minimum stake would only be refused.
        let params = world.task_state.and_then(|task| task.params_for(round).ok().copied())?;
        if me.stake_for_round(round) < params.min_stake {
            return None;
        }
        let (digest, locator) = self.proof_of(world, task_impl, round)?;
        let salt = self.salt(&world.task, round);
        Some(proof_commitment(&digest, &locator, &self.node.to_bytes(), &salt))
    }

    /// The reveal of round `round`'s proof, if it is committed and not yet revealed.
    fn reveal(&mut self, world: &World, task_impl: &dyn Task, me: &Node, round: u64) -> Option<Reveal> {
        if me.submission(round).is_none_or(|entry| entry.is_revealed()) {
            return None;
        }
        let (digest, locator) = self.proof_of(world, task_impl, round)?;
        Some(Reveal { digest, locator, salt: self.salt(&world.task, round) })
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
        let account = world.node_cache.get(target).filter(|account| account.proof(round).is_some())?;
        let slots_left = u32::try_from(deadline_slot.saturating_sub(chain.slot())).unwrap_or(u32::MAX);
        let now = std::time::Instant::now();
        let deadline = now.checked_add(world.slot_duration.saturating_mul(slots_left)).unwrap_or(now);
        let request = CheckRequest { target: *target, account, round, deadline };
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

    /// Checks this node's sample of `round`'s proofs, raises audits against
    /// the invalid ones, and votes on the open audits whose committee it sits on.
    fn audit(&mut self, stage: &mut Tick<'_>, round: u64) {
        let (task, me, offset) = (&stage.task, &*stage.me, stage.offset);
        let (chain, world, task_impl) = (&mut *stage.chain, &mut *stage.world, stage.task_impl);
        let Ok(params) = task.params_for(round).copied() else { return };
        let Some((raise_start, raise_end)) = params.audit_raise_window() else { return };
        let Some(window_end) = params.audit_window_end() else { return };
        let Some(round_start) = task.timeline().round_start(round.saturating_add(AUDIT_LAG)) else { return };
        if offset < raise_end {
            // An unreachable result counts against its node only in the second
            // half of the raise window; until then it may just be slow.
            let last_chance_from = raise_start.saturating_add(raise_end.saturating_sub(raise_start) / 2);
            let last_chance = offset >= last_chance_from;
            // Checks start as soon as proofs land and are decided by then.
            let decide_by = round_start.saturating_add(last_chance_from);
            // Targets leave the sample once settled, so a tick visits only open ones.
            let mut sample = self.samples.remove(&round).unwrap_or_else(|| Sample {
                targets: world.sample(&self.node, round).into_iter().map(|target| (target, false)).collect(),
                swept_at: None,
            });
            let since = sample.swept_at.replace(world.refreshes());
            sample.targets.retain_mut(|(target, revealed)| {
                // Until its proof is revealed a target is looked up again
                // only when its account changed.
                if !*revealed {
                    if since.is_some_and(|since| world.unchanged_since(target, since)) {
                        return true;
                    }
                    *revealed = world.node_cache.get(target).is_some_and(|node| node.proof(round).is_some());
                    if !*revealed {
                        return true;
                    }
                }
                let checked = self.check(chain, world, task_impl, target, (round, decide_by));
                if offset < raise_start {
                    return checked != Some(Checked::Valid);
                }
                !self.raise_if_invalid(chain, world, task, target, (round, checked), last_chance)
            });
            self.samples.insert(round, sample);
        }
        // Votes open when raises close, from the committee drawn then.
        if !(raise_end..window_end).contains(&offset) {
            return;
        }
        let Some(seed_hash) = chain.slot_hash(round_start.saturating_add(raise_end).saturating_sub(1)) else {
            return;
        };
        // A node has 8 votes per audited round: each committee member takes the
        // open audits in its own pseudo-random order, so that together they cover them all.
        if self.committees.as_ref().is_none_or(|(drawn, _)| *drawn != round) {
            let seated = self.committees_of(world, me, round, &seed_hash);
            self.committees = Some((round, seated));
        }
        let open: Vec<(Address, Audit)> = self
            .committees
            .iter()
            .flat_map(|(_, seated)| seated)
            .filter(|address| !self.voted_audits.contains(&(round, **address)))
            .filter_map(|address| Some((*address, *world.open_audits.get(address)?)))
            .collect();
        let vote_by = round_start.saturating_add(window_end).saturating_sub(1);
        // Sent together, votes are simulated against the same state: at most
        // the votes the program still takes for the round, in this node's order.
        let cast = me.votes.iter().filter(|vote| vote.audit != [0; 32] && vote.round == round).count();
        let room = VOTES_PER_ROUND.saturating_sub(cast);
        let mut votes = Vec::new();
        for (audit_address, audit) in open {
            if votes.len() >= room {
                break;
            }
            if voted_in(&me.votes, round, &audit_address) {
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
            self.voted_audits.insert((round, audit_address));
            let vote = builders::vote_audit(&self.operator.pubkey(), &world.task, &audit_address, valid);
            votes.push((audit_address, Tx::one("VoteAudit", round, vote)));
        }
        // Votes on different audits are independent: they are in flight together.
        let (addresses, txs): (Vec<Address>, Vec<Tx>) = votes.into_iter().unzip();
        for (audit_address, sent) in addresses.into_iter().zip(self.send_all(chain, world, txs)) {
            match sent {
                Ok(()) => self.stats.audit_votes = self.stats.audit_votes.saturating_add(1),
                // The cluster's clock can trail this node's by a slot or two
                // at the window's first slots: tried again on a later tick.
                Err(Some(GradualError::OutsideAuditWindow)) => {
                    self.voted_audits.remove(&(round, audit_address));
                }
                Err(_) => {}
            }
        }
    }

    /// The open audits of `round` on whose committee this node holds a seat,
    /// in this node's own pseudo-random order, so that together the members
    /// cover them all.
    fn committees_of(&self, world: &mut World, me: &Node, round: u64, seed_hash: &[u8; 32]) -> Vec<Address> {
        let stake = me.stake_for_round(round);
        let seeds = world.committee_seeds(round, seed_hash);
        let mut seated: Vec<Address> = seeds
            .iter()
            .filter_map(|(address, seed)| Some((address, seed, world.open_audits.get(address)?)))
            .filter(|(_, _, audit)| {
                Address::new_from_array(audit.target) != self.node && stake >= audit.min_stake
            })
            .filter(|(_, seed, audit)| {
                committee_seats(
                    seed,
                    &self.node.to_bytes(),
                    stake,
                    audit.committee_stake,
                    audit.committee_seats,
                ) > 0
            })
            .map(|(address, _, _)| *address)
            .collect();
        seated.sort_by_cached_key(|address| {
            solana_sha256_hasher::hashv(&[self.node.as_ref(), address.as_ref()]).to_bytes()
        });
        seated
    }

    /// Raises an audit against `target`'s proof of `round` if the result it
    /// serves does not check out (or, at the `last_chance`, could not be
    /// fetched) and nobody has raised one yet. Returns whether the target is
    /// settled: valid, audited, or raised against now.
    fn raise_if_invalid(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task: &TaskAccount,
        target: &Address,
        (round, checked): (u64, Option<Checked>),
        last_chance: bool,
    ) -> bool {
        if *target == self.node {
            return true;
        }
        let Some(proof) = world.node_cache.get(target).and_then(|node| node.proof(round)).copied() else {
            return false;
        };
        if proof.flags & SUBMISSION_AUDITED != 0 {
            return true;
        }
        match checked {
            Some(Checked::Invalid) => {}
            Some(Checked::Valid) => return true,
            _ if last_chance && self.unreachable.contains(&(*target, round)) => {}
            _ => return false,
        }
        let bond = task.params_for(round).map_or(0, |params| params.audit_bond);
        let raise = builders::raise_audit(&self.operator.pubkey(), &world.task, target, round);
        if self.send(chain, world, Tx::one("RaiseAudit", round, raise).deposit(bond)) {
            self.stats.audits_raised = self.stats.audits_raised.saturating_add(1);
            let against = world.audits_against.entry(*target).or_default();
            *against = against.saturating_add(1);
            let address = find_audit_address(target, round).0;
            self.voted_audits.insert((round, address));
            // Later runtimes in this slot must see the audit and the flag.
            if let Some(audit) = read::<Audit>(chain, &address) {
                world.open_audits.insert(address, audit);
            }
            if let Some(node) = read::<Node>(chain, target) {
                world.put_node(*target, node);
            }
            return true;
        }
        false
    }

    /// Resolves every open audit whose window has closed.
    ///
    /// The node whose lamports wait in it resolves an audit: the raiser of an
    /// upheld one, the target of a rejected one. Anyone else does after
    /// [`settle_grace`], so an absent party cannot leave it open.
    fn resolve_audits(&self, chain: &mut dyn Chain, world: &mut World) {
        let slot = chain.slot();
        let grace = world.task_state.map_or(0, |task| settle_grace(&task));
        let closed = world.closed_audits(slot);
        let due: Vec<(Address, Audit)> = closed
            .iter()
            .filter(|(address, _)| world.open_audits.contains_key(address))
            .filter(|(_, audit)| {
                let party = if upheld_at_resolution(chain, audit) { audit.raiser } else { audit.target };
                party == self.node.to_bytes() || slot >= audit.window_end.saturating_add(grace)
            })
            .map(|(address, audit)| (*address, *audit))
            .collect();
        for (address, audit) in due {
            let target = Address::new_from_array(audit.target);
            let Some(node) = world.node_cache.get(&target).cloned() else { continue };
            let payout = if upheld_at_resolution(chain, &audit) {
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
            if self.send(chain, world, Tx::one("ResolveAudit", audit.round, instruction).payout(payout)) {
                world.open_audits.remove(&address);
                if let Some(node) = read::<Node>(chain, &target) {
                    world.put_node(target, node);
                }
            }
        }
    }

    /// Round `round`'s list by the task's rule, from the world's node accounts.
    pub fn expected_list(
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        round: u64,
        pool: u64,
    ) -> Result<Leaves, String> {
        world.list(task_impl, task, (round, pool)).map(|list| list.leaves.as_ref().clone())
    }

    /// The list of `round` and its tree, as [`World::list`] computes it; a
    /// failure of the task's rule is counted and logged once per round.
    fn list_of(
        &mut self,
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        (round, pool): (u64, u64),
    ) -> Option<Arc<RuleList>> {
        match world.list(task_impl, task, (round, pool)) {
            Ok(list) => Some(list),
            Err(error) => {
                self.fault("distribution", round, &error);
                None
            }
        }
    }

    fn distribute(&mut self, stage: &mut Tick<'_>, listed: u64, attempt: u8) {
        let (task, me, offset) = (&stage.task, &*stage.me, stage.offset);
        let (chain, world, task_impl) = (&mut *stage.chain, &mut *stage.world, stage.task_impl.as_ref());
        let attempt_round = listed.saturating_add(LIST_LAG).saturating_add(u64::from(attempt));
        let Ok(params) = task.params_for(attempt_round).copied() else { return };
        let existing = world.distributions.get(&listed).copied();
        let slot = chain.slot();
        // A list whose votes rejected it but which nobody resolved yet is open
        // too: the next proposer resolves it first.
        let open_for_attempt = match &existing {
            None => true,
            Some((_, distribution)) => {
                let rejected = distribution.status == DISTRIBUTION_REJECTED
                    || (distribution.status == DISTRIBUTION_PROPOSED
                        && slot >= distribution.vote_end
                        && distribution.is_rejected());
                rejected && distribution.attempt < attempt
            }
        };
        if offset < params.distribution_window && open_for_attempt {
            self.propose(stage, (listed, attempt), params.distribution_window);
            return;
        }
        let Some((address, distribution)) = existing else { return };
        // A list whose votes are over is resolved whatever attempt it was,
        // so one missed in its own round (slow ticks, an outage) is not stuck:
        // by its proposer if approved (its bond comes back), else by the next
        // attempt's proposer; by anyone after the grace.
        let grace_over = slot >= distribution.vote_end.saturating_add(settle_grace(task));
        let proposer_settles =
            Address::new_from_array(distribution.proposer) == self.node && !distribution.is_rejected();
        if distribution.status == DISTRIBUTION_PROPOSED
            && slot >= distribution.vote_end
            && (proposer_settles || grace_over)
        {
            let payout = if distribution.is_rejected() { 0 } else { distribution.bond };
            let operator = Address::new_from_array(distribution.proposer_operator);
            let resolve = builders::resolve_distribution(&world.task, listed, &operator);
            if self.send(chain, world, Tx::one("ResolveDistribution", listed, resolve).payout(payout)) {
                world.reload_distribution(chain, listed, &self.node);
            }
            return;
        }
        if distribution.status != DISTRIBUTION_PROPOSED || distribution.attempt != attempt {
            return;
        }
        // A list stands unless disputed: a node votes against a list it cannot
        // rebuild while disputes are open, and for one it can only once it is disputed.
        let disputes_open = distribution.dispute_end().is_some_and(|end| slot < end);
        let disputed = distribution.invalid_weight != 0;
        if !(distribution.vote_start..distribution.vote_end).contains(&slot)
            || !(disputes_open || disputed)
            || Address::new_from_array(distribution.proposer) == self.node
            || voted_in(&me.distribution_votes, attempt_round, &address)
            || self.voted_lists.contains(&(listed, attempt))
        {
            return;
        }
        let key = (listed, attempt);
        let verdict = match self.list_verdicts.get(&key) {
            Some(verdict) => *verdict,
            None => {
                let verdict = self.judge_list(world, task_impl, task, (listed, &distribution));
                self.list_verdicts.insert(key, verdict);
                verdict
            }
        };
        // A node whose rule gives no list cannot judge one: it abstains.
        let Some(valid) = verdict else { return };
        // It votes only while the list's outcome as it stands is not its
        // verdict, and only once its turn comes: the set of nodes whose turn
        // it is doubles through the window, so votes stop soon after they
        // are enough, however many nodes agree. A disputer costs answers in
        // proportion to its stake, not to the number of nodes.
        let needed =
            if valid { distribution.is_rejected() } else { disputes_open && !distribution.is_rejected() };
        let window_end = if valid { distribution.vote_end } else { distribution.dispute_end().unwrap_or(0) };
        let turn = is_entitled(
            &vote_seed(&distribution),
            &self.node.to_bytes(),
            task.counts_at_round_start(slot).0,
            slot.saturating_sub(distribution.vote_start),
            window_end.saturating_sub(distribution.vote_start),
        );
        if !needed || !turn {
            return;
        }
        self.voted_lists.insert(key);
        let vote = builders::vote_distribution(&self.operator.pubkey(), &world.task, listed, valid);
        if self.send(chain, world, Tx::one("VoteDistribution", listed, vote)) {
            self.stats.list_votes = self.stats.list_votes.saturating_add(1);
            world.reload_distribution(chain, listed, &self.node);
        }
    }

    /// Whether this node rebuilds `distribution`'s list of `listed`; `None`
    /// if its rule gives no list. A list it rebuilds is kept and served.
    fn judge_list(
        &mut self,
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        (listed, distribution): (u64, &Distribution),
    ) -> Option<bool> {
        // The proposal already took its total out of the pool: the
        // bounty it could pay is judged against the pool before it.
        let pool_before = task.bounty_pool.saturating_add(distribution.reserved);
        let list = self.list_of(world, task_impl, task, (listed, pool_before))?;
        let root = list.tree.root();
        let valid = root == distribution.root
            && distribution.total == list.total
            && distribution.leaf_count == list.leaves.len() as u64;
        world.roots.entry(listed).or_default().insert(root);
        if valid {
            world.peers.serve_list(&self.node, listed, &list.leaves);
        } else {
            let proposer = Address::new_from_array(distribution.proposer);
            let error = format!("the list {proposer} proposed differs from the one this node computes");
            self.fault("root", listed, &error);
        }
        Some(valid)
    }

    /// Proposes attempt `attempt` of `listed`'s list once this node's turn
    /// has come in a proposal window of `window` slots.
    fn propose(&mut self, stage: &mut Tick<'_>, (listed, attempt): (u64, u8), window: u64) {
        let (task, me, offset) = (&stage.task, &*stage.me, stage.offset);
        let (chain, world, task_impl) = (&mut *stage.chain, &mut *stage.world, stage.task_impl.as_ref());
        let has_proof = me.proof(listed).is_some_and(|proof| proof.flags & SUBMISSION_EXCLUDED == 0);
        if !has_proof {
            return;
        }
        let Some(round_start) =
            task.timeline().round_start(listed.saturating_add(LIST_LAG).saturating_add(u64::from(attempt)))
        else {
            return;
        };
        let Some(slot_hash) = chain.slot_hash(round_start.saturating_sub(1)) else { return };
        let seed = proposal_seed(&slot_hash, listed, attempt);
        let node_count = task.counts_at_round_start(chain.slot()).0;
        if !is_entitled(&seed, &self.node.to_bytes(), node_count, offset, window) {
            return;
        }
        // The previous attempt, rejected by its votes, is resolved first.
        if let Some((_, rejected)) = world.distributions.get(&listed).copied() {
            if rejected.status == DISTRIBUTION_PROPOSED {
                let operator = Address::new_from_array(rejected.proposer_operator);
                let resolve = builders::resolve_distribution(&world.task, listed, &operator);
                if !self.send(chain, world, Tx::one("ResolveDistribution", listed, resolve)) {
                    return;
                }
                world.reload_distribution(chain, listed, &self.node);
            }
        }
        let Some(list) = self.list_of(world, task_impl, task, (listed, task.bounty_pool)) else {
            return;
        };
        let mut url = me.service_url().to_vec();
        url.extend_from_slice(format!("/v1/lists/{listed}").as_bytes());
        url.truncate(MAX_LIST_URL_LEN);
        let proposal = Proposal::of(listed, &list.leaves, url);
        let bond = task.params_for(listed).map_or(0, |params| params.audit_bond);
        let instruction = builders::propose_distribution(&self.operator.pubkey(), &world.task, &proposal);
        world.peers.serve_list(&self.node, listed, &list.leaves);
        if self.send(chain, world, Tx::one("ProposeDistribution", listed, instruction).deposit(bond)) {
            self.stats.proposals.push((listed, attempt));
            world.reload_distribution(chain, listed, &self.node);
        }
    }

    /// Fills `payable` with every reward this node can claim now, soonest deadline first.
    fn find_claims(&mut self, chain: &dyn Chain, world: &mut World, task_impl: &dyn Task) {
        self.payable.clear();
        let Some(task) = world.task_state else { return };
        if !self.auto_claim {
            return;
        }
        let Some(me) = world.node_cache.get(&self.node).cloned() else { return };
        let slot = chain.slot();
        let approved: Vec<(u64, Distribution)> = world
            .distributions
            .iter()
            .filter(|(listed, (_, distribution))| {
                distribution.status == DISTRIBUTION_APPROVED
                    && slot < distribution.claim_deadline
                    && !me.claimed_rounds.contains(**listed)
            })
            .map(|(listed, (_, distribution))| (*listed, *distribution))
            .collect();
        for (listed, distribution) in approved {
            if !world.approved_lists.contains_key(&distribution.root) {
                if let Some(list) = self.find_approved_list(world, task_impl, &task, (listed, &distribution))
                {
                    world.approved_lists.insert(distribution.root, list);
                }
            }
            let claim = world.approved_lists.get(&distribution.root).and_then(|list| list.claim(&self.node));
            if let Some((amount, proof)) = claim {
                let instruction =
                    builders::claim_reward(&self.operator.pubkey(), &world.task, listed, amount, &proof);
                self.payable
                    .push((distribution.claim_deadline, Claim { round: listed, amount, instruction }));
            }
        }
        self.payable.sort_by_key(|(deadline, _)| *deadline);
    }

    /// The list that builds `distribution`'s root: this node's own (shared
    /// by the runtimes of the process), else the one it kept, else the
    /// proposer's.
    fn find_approved_list(
        &mut self,
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        (listed, distribution): (u64, &Distribution),
    ) -> Option<ApprovedList> {
        let root = &distribution.root;
        let own = self
            .list_of(world, task_impl, task, (listed, distribution.total))
            .filter(|list| list.tree.root() == *root);
        if let Some(list) = own {
            return ApprovedList::matching(list.leaves.as_ref().clone(), Some(list.tree.clone()), root);
        }
        let kept = world.peers.kept_list(&self.node, listed);
        kept.and_then(|leaves| ApprovedList::matching(leaves, None, root)).or_else(|| {
            let served = world.peers.proposer_list(distribution)?;
            ApprovedList::matching(served, None, root)
        })
    }

    /// Sends, packed into as few transactions as fit, the claims that cannot
    /// wait for a submission to ride with: those near their deadline, and,
    /// once this node no longer submits, all of them as soon as no list it
    /// may still be paid by is pending.
    fn claim_alone(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task: &TaskAccount,
        submits_again: bool,
    ) {
        let slot = chain.slot();
        let soon = task.round_length.saturating_mul(CLAIM_ALONE_ROUNDS);
        let all_now = !submits_again && !self.lists_pending(world, task, slot);
        let mut due: std::collections::VecDeque<Claim> = std::mem::take(&mut self.payable)
            .into_iter()
            .filter(|(deadline, _)| all_now || slot.saturating_add(soon) >= *deadline)
            .map(|(_, claim)| claim)
            .collect();
        let mut txs = Vec::new();
        let mut batches = Vec::new();
        while let Some(first) = due.pop_front() {
            let mut tx = Tx::one("ClaimReward", first.round, first.instruction.clone()).payout(first.amount);
            let mut batch = vec![first];
            while let Some(next) = due.front() {
                if !tx.fits_with(next, &self.operator.pubkey()) {
                    break;
                }
                tx = tx.with_claim(next);
                batch.extend(due.pop_front());
            }
            txs.push(tx);
            batches.push(batch);
        }
        // Each claim is of its own list: the transactions are in flight together.
        let landed = self.send_all(chain, world, txs);
        for (batch, _) in batches.iter().zip(landed).filter(|(_, landed)| landed.is_ok()) {
            for claim in batch {
                self.claimed(chain, world, claim);
            }
        }
    }

    /// Whether a round this node submitted for may still get a list that pays it.
    fn lists_pending(&self, world: &World, task: &TaskAccount, slot: u64) -> bool {
        let Some(me) = world.node_cache.get(&self.node) else { return false };
        let Some(round) = task.timeline().round_at(slot) else { return false };
        let last_attempt = u64::from(task.allowed_failed_distributions).saturating_add(LIST_LAG);
        me.submissions.iter().filter(|entry| entry.flags & SUBMISSION_EXCLUDED == 0).any(|entry| {
            let listed = entry.round;
            me.submission(listed).is_some()
                && round <= listed.saturating_add(last_attempt)
                && world
                    .distributions
                    .get(&listed)
                    .is_none_or(|(_, list)| list.status == DISTRIBUTION_PROPOSED)
        })
    }

    /// Books a claim that landed.
    fn claimed(&mut self, chain: &dyn Chain, world: &mut World, claim: &Claim) {
        self.stats.rewards_claimed = self.stats.rewards_claimed.saturating_add(claim.amount);
        self.stats.rounds_paid.push(claim.round);
        world.reload_distribution(chain, claim.round, &self.node);
    }

    /// Returns expired lists' unclaimed lamports to the pool. The payer of a
    /// list's rent gets it back, so it expires its own; anyone else a round later.
    fn expire(&mut self, chain: &mut dyn Chain, world: &mut World, task: &TaskAccount, round: u64) {
        let slot = chain.slot();
        let grace = task.round_length;
        let due: Vec<(u64, Distribution)> =
            world.distributions.iter().map(|(listed, (_, distribution))| (*listed, *distribution)).collect();
        for (listed, distribution) in due {
            let attempts_end = listed
                .saturating_add(LIST_LAG + 1)
                .saturating_add(u64::from(task.allowed_failed_distributions));
            let expires_from = match distribution.status {
                DISTRIBUTION_FAILED => Some(slot),
                DISTRIBUTION_APPROVED => Some(distribution.claim_deadline),
                DISTRIBUTION_REJECTED if round >= attempts_end => Some(slot),
                _ => None,
            };
            let Some(expires_from) = expires_from else { continue };
            let payer = Address::new_from_array(distribution.payer);
            let mine = payer == self.operator.pubkey();
            if slot < expires_from || (!mine && slot < expires_from.saturating_add(grace)) {
                continue;
            }
            let expire = builders::expire_distribution(&world.task, listed, &payer);
            if self.send(chain, world, Tx::one("ExpireDistribution", listed, expire)) {
                world.reload_distribution(chain, listed, &self.node);
            }
        }
    }
}

/// `node`'s amount and Merkle proof in `leaves`, if they build the
/// distribution's root and pay `node` anything.
pub fn claim_of(leaves: Leaves, distribution: &Distribution, node: &Address) -> Option<(u64, merkle::Proof)> {
    ApprovedList::matching(leaves, None, &distribution.root)?.claim(node)
}
