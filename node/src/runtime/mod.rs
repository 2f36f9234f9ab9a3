//! One node's round runtime, driven by slots: for each round it works,
//! submits, audits and votes, proposes and checks distribution lists,
//! resolves what is due and claims what it is owed. Every action first
//! reads chain state, so a tick repeated at the same slot sends nothing twice.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use gradual_interface::{
    error::GradualError,
    round::{audited_in, listed_in, oldest_open},
    state::{Node, Task as TaskAccount, VoteRecord, SUBMISSION_EXCLUDED},
    Address,
};
use serde::Serialize;
use solana_instruction::Instruction;
use solana_keypair::Keypair;

pub use crate::world::{InProcessPeers, Landed, NoObserver, Observer, Peers, SentTx, World};
use crate::{
    chain::Chain,
    jobs::{Checked, Inline, Jobs, SharedTask},
};

pub use crate::tasks::Leaves;

mod audit;
mod claims;
mod lists;
mod submit;

pub use audit::{reason_digest, RAISED_INVALID, RAISED_UNREACHABLE};
pub use claims::{
    claim_instructions, claim_of, distribution_leaves, owed, token_account_missing, LeavesSource, Owed,
};

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
    /// What each recent round's claim paid (rounds still remembered): what
    /// the node earned, whatever the task's rule.
    #[serde(skip)]
    pub claimed_by_round: BTreeMap<u64, u64>,
    /// Rounds not worked because the bounty pool could pay nothing for them.
    pub rounds_unfunded: Vec<u64>,
    /// Failures of the task's parts, by part ("work", "submission", "audit",
    /// "distribution"), and proposed lists whose root differed ("root"):
    /// each counted once per round and reason.
    pub task_faults: BTreeMap<&'static str, u64>,
    /// The same by part and reason, as "part: reason" ("work: late",
    /// "audit: cannot judge", ...).
    pub task_fault_reasons: BTreeMap<String, u64>,
    /// The latest faults, oldest first, at most [`FAULTS_KEPT`].
    pub recent_faults: std::collections::VecDeque<Fault>,
    /// Rounds missed, by reason (`metrics::MISSED_REASONS`): each round once.
    pub rounds_missed: BTreeMap<&'static str, u64>,
    /// The latest warnings an operator must act on (missed rounds, slashes),
    /// oldest first, at most [`WARNINGS_KEPT`].
    pub warnings: std::collections::VecDeque<Warning>,
}

/// Warnings [`NodeStats::warnings`] keeps.
pub const WARNINGS_KEPT: usize = 32;

/// Something that cost this node a round or stake.
#[derive(Clone, Debug, Serialize)]
pub struct Warning {
    pub round: u64,
    pub reason: &'static str,
    pub message: String,
}

/// The reason a call of the task failed, from its error: an external
/// task's errors name how it failed (`tasks::external`).
pub fn reason_of(error: &str) -> &'static str {
    if error.starts_with("late answer") || error.starts_with("late:") {
        "late"
    } else if error.starts_with("crashed") {
        "crashed"
    } else if error.starts_with(crate::sandbox::VIOLATION) {
        "refused"
    } else if error.starts_with("malformed answer") || error.starts_with("oversized answer") {
        "malformed"
    } else {
        "failed"
    }
}

/// Faults [`NodeStats::recent_faults`] keeps.
pub const FAULTS_KEPT: usize = 256;

/// One failure of the task's code, as counted.
#[derive(Clone, Debug, Serialize)]
pub struct Fault {
    pub round: u64,
    pub part: &'static str,
    pub reason: &'static str,
    pub error: String,
}

/// The peers a node checks in a round, each with whether its proof was
/// seen revealed, and the refresh of the last sweep over them.
struct Sample {
    targets: Vec<(Address, bool)>,
    swept_at: Option<u64>,
}

/// A proof as the task makes it: the digest and the locator.
type Proof = ([u8; 32], Vec<u8>);

/// What the work and submission stage keeps: `submit.rs`.
#[derive(Default)]
struct SubmitState {
    /// Rounds whose work was started and whose outcome is not in yet.
    working_on: BTreeSet<u64>,
    /// Rounds whose work was ever started: a round's work runs at most once.
    started: BTreeSet<u64>,
    /// Each round's proof as the task made it; `None` if it could not.
    proofs: BTreeMap<u64, Option<Proof>>,
    /// Rounds whose result this node has published to its peers.
    published: BTreeSet<u64>,
    /// The last unfunded round counted, once it was over.
    unfunded_counted: Option<u64>,
}

impl SubmitState {
    fn forget_before(&mut self, oldest: u64) {
        self.proofs.retain(|proved, _| *proved >= oldest);
        self.started.retain(|worked| *worked >= oldest);
        self.published.retain(|published| *published >= oldest);
    }
}

/// What the audit stage keeps: `audit.rs`.
#[derive(Default)]
struct AuditState {
    /// Audits voted on (or raised), by (audited round, audit).
    voted_audits: BTreeSet<(u64, Address)>,
    /// The audits of a round whose committee this node sits on: drawn once,
    /// when its votes open, since no audit of that round is raised after.
    committees: Option<(u64, Vec<Address>)>,
    /// The peers this node checks in each round (`World::sample`).
    samples: BTreeMap<u64, Sample>,
    /// Peers' proofs already checked, by (node, round): what the check found.
    verdicts: BTreeMap<(Address, u64), Checked>,
    /// Peers' proofs whose last check could not fetch the result.
    unreachable: BTreeSet<(Address, u64)>,
    /// Audits of a task staking its mint whose resolution was refused, by
    /// (audited round, audit): the raiser's token account may refuse its share.
    refused_resolves: BTreeSet<(u64, Address)>,
}

impl AuditState {
    fn forget_before(&mut self, oldest: u64) {
        self.verdicts.retain(|(_, checked), _| *checked >= oldest);
        self.unreachable.retain(|(_, checked)| *checked >= oldest);
        self.voted_audits.retain(|(audited, _)| *audited >= oldest);
        self.samples.retain(|sampled, _| *sampled >= oldest);
        self.refused_resolves.retain(|(audited, _)| *audited >= oldest);
    }
}

/// What the list stage keeps: `lists.rs`.
#[derive(Default)]
struct ListState {
    /// Votes already attempted, so a refused one is not retried every slot.
    voted_lists: BTreeSet<(u64, u8)>,
    /// Lists judged, by (round, attempt): whether this node rebuilds them,
    /// or `None` if its rule gave no list.
    list_verdicts: BTreeMap<(u64, u8), Option<bool>>,
}

impl ListState {
    fn forget_before(&mut self, oldest: u64) {
        self.voted_lists.retain(|(listed, _)| *listed >= oldest);
        self.list_verdicts.retain(|(listed, _), _| *listed >= oldest);
    }
}

/// What the claim stage keeps: `claims.rs`.
#[derive(Default)]
struct ClaimState {
    /// Rewards claimable now, with their deadlines (see `find_claims`).
    payable: Vec<(u64, Claim)>,
    /// The round whose standalone claims were last looked for.
    checked: Option<u64>,
}

pub struct NodeRuntime {
    pub operator: Keypair,
    pub node: Address,
    /// Claims rewards as soon as they are payable (`node run --no-claim` turns it off).
    pub auto_claim: bool,
    pub stats: NodeStats,
    /// Each stage's own state: working and submitting, auditing, lists, claims.
    submit: SubmitState,
    audit: AuditState,
    lists: ListState,
    claims: ClaimState,
    /// Entries of rounds before this one are already forgotten.
    forgotten_before: u64,
    /// Where work and checks run: at once, or beside the slot loop.
    pub jobs: Box<dyn Jobs>,
    /// The task whose rule this node's lists follow, when not the one it
    /// runs: `simulate`'s misbehaving nodes list as the task they wrap, so
    /// that every node's list is computed once between them.
    pub lists_by: Option<SharedTask>,
    /// Where `node run` exports what happens (`None` in `simulate`).
    pub metrics: Option<crate::metrics::TaskMetrics>,
    /// The last refusal or task failure, for `gradual node status`.
    pub last_error: std::sync::Mutex<Option<String>>,
    /// Faults already logged, by part, reason and round: each is logged once per round.
    faults_logged: BTreeSet<(&'static str, &'static str, u64)>,
    /// Rounds already counted as missed: each round once, whatever the reason.
    missed_rounds: BTreeSet<u64>,
    /// The node's slashed total as last seen (`None` before the first tick).
    slashed_seen: Option<u64>,
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
        Self::of(kind, round, vec![instruction])
    }

    /// Instructions that act together: a token account created before the
    /// instruction that pays into it.
    fn of(kind: &'static str, round: u64, instructions: Vec<Instruction>) -> Self {
        Self { kind, instructions, deposit: 0, payout: 0, actions: vec![(kind, round, 0)] }
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

    /// A payout of `amount` of which only `lamports` are lamports (the rest is the mint's).
    fn payout_of(mut self, amount: u64, lamports: u64) -> Self {
        self = self.payout(amount);
        self.payout = lamports;
        self
    }

    /// Adds `claim` to the transaction; an instruction already in it (the
    /// operator's token account created if missing) is not repeated.
    fn with_claim(mut self, claim: &Claim) -> Self {
        for instruction in &claim.instructions {
            if !self.instructions.contains(instruction) {
                self.instructions.push(instruction.clone());
            }
        }
        self.payout = self.payout.saturating_add(claim.lamports());
        self.actions.push(("ClaimReward", claim.round, claim.amount));
        self
    }

    /// Whether the transaction, with `claim` added, still fits in one packet.
    fn fits_with(&self, claim: &Claim, payer: &Address) -> bool {
        let mut instructions = self.instructions.clone();
        instructions.extend(
            claim.instructions.iter().filter(|instruction| !self.instructions.contains(instruction)).cloned(),
        );
        let transaction = solana_transaction::Transaction::new_with_payer(&instructions, Some(payer));
        wincode::serialize(&transaction).is_ok_and(|bytes| bytes.len() <= PACKET_DATA_SIZE)
    }
}

/// A reward this node can claim: round, amount and the instructions (for a
/// list in the task's mint, the operator's token account is created first).
struct Claim {
    round: u64,
    amount: u64,
    /// The amount is the mint's: no lamports leave the program.
    in_tokens: bool,
    instructions: Vec<Instruction>,
}

impl Claim {
    /// Lamports the claim moves out of the program.
    fn lamports(&self) -> u64 {
        if self.in_tokens {
            0
        } else {
            self.amount
        }
    }
}

/// Slots after an audit's or a list's vote window before any node settles
/// it, not only the party it pays.
fn settle_grace(task: &TaskAccount) -> u64 {
    task.round_length / 4
}

/// The largest serialized transaction a cluster accepts.
const PACKET_DATA_SIZE: usize = 1_232;

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
            submit: SubmitState::default(),
            audit: AuditState::default(),
            lists: ListState::default(),
            claims: ClaimState::default(),
            forgotten_before: 0,
            jobs: Box::new(Inline),
            lists_by: None,
            metrics: None,
            last_error: std::sync::Mutex::new(None),
            faults_logged: BTreeSet::new(),
            missed_rounds: BTreeSet::new(),
            slashed_seen: None,
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
        self.submit.forget_before(oldest);
        self.audit.forget_before(oldest);
        self.lists.forget_before(oldest);
        self.faults_logged.retain(|(_, _, logged)| *logged >= oldest);
        self.missed_rounds.retain(|missed| *missed >= oldest);
        self.stats.claimed_by_round.retain(|claimed, _| *claimed >= oldest);
        self.forgotten_before = oldest;
    }

    /// Counts a failure of the task's `part` for `reason` and logs it at
    /// warn, once per round and reason.
    fn fault(&mut self, (part, reason): (&'static str, &'static str), round: u64, error: &str) {
        if !self.faults_logged.insert((part, reason, round)) {
            return;
        }
        let count = self.stats.task_faults.entry(part).or_default();
        *count = count.saturating_add(1);
        let count = self.stats.task_fault_reasons.entry(format!("{part}: {reason}")).or_default();
        *count = count.saturating_add(1);
        if self.stats.recent_faults.len() >= FAULTS_KEPT {
            self.stats.recent_faults.pop_front();
        }
        let error = error.chars().take(300).collect::<String>();
        self.stats.recent_faults.push_back(Fault { round, part, reason, error: error.clone() });
        tracing::warn!(node = %self.node, round, part, reason, %error, "the task failed");
        self.note_error(format!("the task's {part} failed in round {round} ({reason}): {error}"));
    }

    /// Counts `round` as missed for `reason`, once per round: a warn log, the
    /// `rounds_missed` metric and a warning for `node status`.
    fn missed(&mut self, round: u64, reason: &'static str, message: String) {
        if !self.missed_rounds.insert(round) {
            return;
        }
        let count = self.stats.rounds_missed.entry(reason).or_default();
        *count = count.saturating_add(1);
        self.metrics.iter().for_each(|metrics| metrics.missed(reason));
        self.warn(round, reason, message);
    }

    /// Logs at warn and keeps it for `node status` and the dashboard.
    fn warn(&mut self, round: u64, reason: &'static str, message: String) {
        tracing::warn!(node = %self.node, round, reason, "{message}");
        if self.stats.warnings.len() >= WARNINGS_KEPT {
            self.stats.warnings.pop_front();
        }
        self.stats.warnings.push_back(Warning { round, reason, message: message.clone() });
        self.note_error(message);
    }

    /// Warns of what the node account says happened to it since the last
    /// tick: a slash, and committed rounds whose reveal window closed unrevealed.
    fn watch_own_account(&mut self, task: &TaskAccount, me: &Node, (round, offset): (u64, u64)) {
        let slashed = self.slashed_seen.replace(me.total_slashed).unwrap_or(me.total_slashed);
        let stake = crate::amount::Asset::of_stake(task);
        if me.total_slashed > slashed {
            let lost = me.total_slashed.saturating_sub(slashed);
            self.warn(
                round,
                "slashed",
                format!("slashed {}; stake is now {}", stake.display(lost), me.total_stake()),
            );
        }
        // Round r is revealed in round r + 2's submission window, as round r's parameters set it.
        let lost =
            me.submissions.iter().filter(|entry| entry.commitment != [0; 32] && !entry.is_revealed()).filter(
                |entry| {
                    // Without the round's parameters its window is unknown: not judged.
                    let Ok(params) = task.params_for(entry.round) else { return false };
                    let reveal_round = entry.round.saturating_add(2);
                    round > reveal_round || (round == reveal_round && offset >= params.submission_window)
                },
            );
        let lost: Vec<u64> = lost.map(|entry| entry.round).collect();
        let excluded: Vec<u64> = me
            .submissions
            .iter()
            .filter(|entry| entry.commitment != [0; 32] && entry.flags & SUBMISSION_EXCLUDED != 0)
            .map(|entry| entry.round)
            .collect();
        for round in excluded {
            let message =
                format!("round {round}'s proof was judged invalid by an audit: excluded, unpaid and slashed");
            self.missed(round, "slashed", message);
        }
        for lost in lost {
            self.missed(
                lost,
                "reveal_lost",
                format!("round {lost} was committed but its reveal window closed unrevealed"),
            );
        }
    }

    /// Once `round`'s commitment window has closed: a round this node owed a
    /// proof for and did not commit, for no reason counted already (the node
    /// was stopped, or its transaction did not land), is missed.
    fn check_committed(&mut self, world: &World, task: &TaskAccount, me: &Node, round: u64) {
        let owed = round < world.work_rounds
            && task.is_active()
            && !me.is_exiting()
            && task.params_for(round).is_ok_and(|params| me.stake_for_round(round) >= params.min_stake)
            && !self.stats.rounds_unfunded.contains(&round);
        // A commitment seen landing counts before the account read says so.
        let committed = me.submission(round).is_some() || self.stats.rounds_submitted.contains(&round);
        if owed && !committed {
            let message = format!("round {round} was not committed: the node was not running in its window, or its transaction did not land");
            self.missed(round, "not_committed", message);
        }
    }

    /// Reads `addresses` again after a transaction (see [`World::reread`]).
    fn reread(&self, chain: &dyn Chain, world: &mut World, addresses: &[Address]) {
        if let Err(unreachable) = world.reread(chain, addresses) {
            self.unreachable_chain(&unreachable);
        }
    }

    /// Reads again what a transaction about `round`'s list may have changed.
    fn reload_distribution(&self, chain: &dyn Chain, world: &mut World, round: u64) {
        if let Err(unreachable) = world.reload_distribution(chain, round, &self.node) {
            self.unreachable_chain(&unreachable);
        }
    }

    /// The hash of `slot`, `None` if the chain no longer keeps it or cannot be asked.
    fn slot_hash(&self, chain: &dyn Chain, slot: u64) -> Option<[u8; 32]> {
        chain.slot_hash(slot).unwrap_or_else(|unreachable| {
            self.unreachable_chain(&unreachable);
            None
        })
    }

    /// A read this tick needed failed: what depends on it waits for a later tick.
    fn unreachable_chain(&self, unreachable: &crate::chain::Unreachable) {
        tracing::warn!(node = %self.node, error = %unreachable, "cannot read the chain; retrying next slot");
        self.note_error(unreachable.to_string());
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
        world.observer.sending_took(started.elapsed());
        txs.into_iter().zip(sent).map(|(tx, sent)| self.record(world, tx, sent)).collect()
    }

    /// Accounts for `tx`'s outcome.
    fn record(&self, world: &mut World, tx: Tx, sent: Result<u64, crate::chain::Refused>) -> Sent {
        if let Some(metrics) = &self.metrics {
            metrics.sent(tx.kind, sent.is_ok());
        }
        let units = sent.as_ref().ok().copied();
        world.observer.sent(&SentTx { kind: tx.kind, units, deposit: tx.deposit, payout: tx.payout });
        match sent {
            Ok(_) => {
                for (kind, round, lamports) in tx.actions {
                    world.landed.push(Landed { kind, round, node: self.node, lamports });
                }
                Ok(())
            }
            Err(refused) => {
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
        let oldest = oldest_open(round, task.allowed_failed_distributions);
        if oldest > self.forgotten_before {
            self.forget_before(world, oldest);
        }
        self.watch_own_account(&task, &me, (round, offset));

        // Work for this round, beside the loop, served to auditors once done.
        let working = round < world.work_rounds
            && !me.is_exiting()
            && task.is_active()
            && self.bounty_left_for(world, &task, &me, round);
        if working && self.submit.started.insert(round) && world.peers.own(&self.node, round).is_none() {
            self.submit.working_on.insert(round);
        }
        for worked in self.submit.working_on.iter().copied().collect::<Vec<_>>() {
            let due = worked == round || (worked.saturating_add(1) == round && submission_open);
            self.collect_work(world, task_impl, worked, due);
        }
        if let Some(previous) = round.checked_sub(1) {
            if submission_open {
                self.submit(chain, world, task_impl.as_ref(), &me, previous);
            } else if self.submit.published.insert(previous) {
                // Round r's commitments are in: its result can be served without being copied.
                world.peers.publish(&self.node, previous);
                self.check_committed(world, &task, &me, previous);
            }
        }
        let mut stage = Tick { chain: &mut *chain, world: &mut *world, task_impl, task, me, offset };
        if let Some(audited) = audited_in(round) {
            self.audit(&mut stage, audited);
        }
        self.resolve_audits(stage.chain, stage.world);
        for attempt in 0..=task.allowed_failed_distributions {
            if let Some(listed) = listed_in(round, attempt) {
                self.distribute(&mut stage, listed, attempt);
            }
        }
        // Once a round, after its submissions: claims that cannot wait for one.
        let after_submissions = previous_params.map_or(0, |params| params.submission_window);
        if offset >= after_submissions && self.claims.checked != Some(round) {
            self.claims.checked = Some(round);
            self.find_claims(chain, world, task_impl.as_ref());
            self.claim_alone(chain, world, &task, working);
        }
        self.expire(chain, world, &task, round);
    }
}
