//! One task's loop: every slot it reads the chain, lets the round runtime
//! act, and exports what happened. It ends when stopped, unstaked, past
//! `--exit-after-round`, or when the chain it started on is gone.

use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use gradual_interface::{
    builders::TaskMint,
    pda::find_node_address,
    state::{Node, Task as TaskAccount},
    Address,
};
use serde_json::{json, Value};
use solana_signer::Signer;

use super::{
    health::Health,
    package::{ExecutableArgs, Sandboxing},
    restake::{withdraw_instructions, withdrawable_from, Restake},
    schedule::PackageSchedule,
    Failure, InstanceLock, Shared, TaskSetup,
};
use crate::{
    chain::Chain,
    dashboard::{Lists, Own, Publisher, Sources},
    jobs::{SharedTask, Threaded},
    metrics::TaskMetrics,
    misbehaviour,
    peers::{NetworkPeers, ResultFetcher},
    rpc::RpcChain,
    runtime::{NodeRuntime, World},
    store::Store,
    tasks::SandboxChoice,
    world::read,
};

/// How often the chain's identity is asked again while running.
const IDENTITY_EVERY: Duration = Duration::from_secs(30);

/// Why a task's loop ended without failing.
enum End {
    Stopped,
    Unstaked,
    /// The stake withdrawn, the round it was in, and its mint if it was in tokens.
    Withdrawn(u64, u64, Option<Address>),
    TaskClosed,
    /// `--exit-after-round N`: round N is committed and revealed, or can no longer be.
    RoundsDone,
}

impl End {
    /// The event that says why, before the last one, `stopped`.
    fn event(&self, node: &Address) -> Option<Value> {
        match self {
            Self::Stopped | Self::RoundsDone => None,
            Self::Unstaked => Some(json!({ "event": "unstaked", "node": node.to_string() })),
            Self::Withdrawn(lamports, round, None) => {
                Some(json!({ "event": "withdrawn", "lamports": lamports, "round": round }))
            }
            Self::Withdrawn(amount, round, Some(mint)) => Some(
                json!({ "event": "withdrawn", "amount": amount, "mint": mint.to_string(), "round": round }),
            ),
            Self::TaskClosed => Some(json!({ "event": "task_closed", "node": node.to_string() })),
        }
    }
}

/// One task as its loop runs it.
struct TaskLoop<'a> {
    shared: &'a Shared,
    task: Address,
    node: Address,
    /// The task account as it was at start: its timeline does not change.
    account: TaskAccount,
    chain: RpcChain,
    /// The chain's genesis hash, and when it was last asked.
    genesis: ([u8; 32], Instant),
    world: World,
    runtime: NodeRuntime,
    task_impl: SharedTask,
    schedule: PackageSchedule,
    sandboxing: Sandboxing,
    store: Arc<Store>,
    /// Held for as long as the loop runs: one instance per node and task.
    _lock: InstanceLock,
    health: Health,
    metrics: Option<TaskMetrics>,
    publisher: Option<Publisher>,
    restake: Restake,
    /// The last slot acted on, when it was first seen, and its round.
    last_slot: u64,
    last_slot_seen: Instant,
    last_round: Option<u64>,
}

/// Runs one task until it is stopped, unstaked, or past `--exit-after-round`.
pub(super) fn run_task(shared: &Shared, setup: TaskSetup, started: Value) -> Result<(), Failure> {
    let mut task_loop = TaskLoop::start(shared, setup, started)?;
    let end = task_loop.run()?;
    if let Some(event) = end.event(&task_loop.node) {
        task_loop.event(event);
    }
    let node = task_loop.node.to_string();
    task_loop.event(json!({ "event": "stopped", "node": node, "stats": task_loop.runtime.stats }));
    Ok(())
}

impl<'a> TaskLoop<'a> {
    fn start(shared: &'a Shared, setup: TaskSetup, started: Value) -> Result<Self, Failure> {
        let TaskSetup { run, store, operator, db, lock } = setup;
        let task = run.task;
        let chain_config = &shared.config.endpoint;
        let mut chain = chain_config.connect(&shared.runtime)?;
        let genesis = chain.genesis_hash()?;
        store.pin_chain(&genesis).map_err(|error| match error {
            crate::store::PinError::OtherChain(message) => Failure::BadInput(message),
            crate::store::PinError::Failed(message) => Failure::Failed(message),
        })?;
        let account = read::<TaskAccount>(&chain, &task)?
            .ok_or_else(|| Failure::BadInput(format!("no Gradual task at {task} on {}", chain_config.url)))?;
        let node = find_node_address(&task, &operator.pubkey()).0;
        if read::<Node>(&chain, &node)?.is_none() {
            return Err(Failure::BadInput(format!(
                "{} has no node in task {task}; run `gradual node stake` first",
                operator.pubkey()
            )));
        }
        chain.follow(task);
        chain.set_max_in_flight(usize::from(shared.config.max_in_flight));
        // The loop reads again next slot: a read that cannot be answered at once is reported, not waited out.
        chain.set_read_attempts(2);
        let executable = ExecutableArgs {
            program: run.executable.clone(),
            variables: run.env.clone(),
            // The executable works in a directory of its own beside the database.
            work_dir: db.with_extension("task"),
            sandbox: SandboxChoice { unsandboxed: run.unsandboxed, ceilings: shared.config.ceilings },
            cache: shared.config.package_cache.clone(),
        };
        let (schedule, sandboxing) =
            PackageSchedule::start(&shared.runtime, &account, chain.slot(), executable)?;
        let task_impl = misbehaviour::wrap(shared.config.behaviour, schedule.task(), node);

        let peers = NetworkPeers::new(Arc::clone(&store), Arc::clone(&shared.runtime));
        // `--exit-after-round N` works rounds up to N, then stays to commit and reveal N.
        let work_rounds = shared.config.exit_after_round.map_or(u64::MAX, |last| last.saturating_add(1));
        let world = World::new(task, Box::new(peers), work_rounds, run.audit_sample);
        let mut runtime = NodeRuntime::new(operator, node);
        runtime.auto_claim = !run.no_claim;
        runtime.jobs = Box::new(Threaded::new(Arc::new(ResultFetcher::new(Arc::clone(&shared.runtime)))));
        let metrics = shared.metrics.as_ref().map(|metrics| metrics.task(&task.to_string()));
        runtime.metrics = metrics.clone();
        if let Some(metrics) = &metrics {
            metrics.unsandboxed(sandboxing == "unsandboxed");
            metrics.assets(&account);
            chain.count_errors_in(metrics.rpc_error_counter());
        }
        let publisher =
            shared.board.as_ref().map(|board| Publisher::new(Arc::clone(board), Lists::by_rule()));
        let task_loop = Self {
            shared,
            task,
            node,
            account,
            chain,
            genesis: (genesis, Instant::now()),
            world,
            runtime,
            task_impl,
            schedule,
            sandboxing,
            store,
            _lock: lock,
            health: Health::default(),
            metrics,
            publisher,
            restake: Restake::new(run.restake),
            last_slot: 0,
            last_slot_seen: Instant::now(),
            last_round: None,
        };
        let mut event = json!({ "event": "started", "node": node.to_string(), "sandbox": sandboxing });
        if let (Some(map), Value::Object(more)) = (event.as_object_mut(), started) {
            map.extend(more);
        }
        task_loop.event(event);
        Ok(task_loop)
    }

    fn event(&self, mut value: Value) {
        value["task"] = self.task.to_string().into();
        (self.shared.events)(value);
    }

    fn run(&mut self) -> Result<End, Failure> {
        while !self.shared.stop.load(Ordering::SeqCst) {
            if let Some(end) = self.step()? {
                return Ok(end);
            }
        }
        Ok(End::Stopped)
    }

    /// One pass of the loop: a new slot is acted on, else it waits a little.
    fn step(&mut self) -> Result<Option<End>, Failure> {
        let slot = match self.chain.refresh_slot_once() {
            Ok(slot) if self.chain.take_went_back() => {
                self.ask_identity()?;
                slot
            }
            Ok(slot) if self.genesis.1.elapsed() >= IDENTITY_EVERY => {
                // Even while the slot stands still: a reset chain may never pass it.
                self.ask_identity()?;
                slot
            }
            Ok(slot) => slot,
            Err(unreachable) => {
                self.health.chain_failed(&unreachable);
                self.export();
                std::thread::sleep(Duration::from_secs(1));
                return Ok(None);
            }
        };
        if slot == self.last_slot {
            std::thread::sleep(Duration::from_millis(100));
            return Ok(None);
        }
        if self.last_slot != 0 {
            let elapsed = self.last_slot_seen.elapsed();
            self.world.slot_duration =
                measured_slot(self.world.slot_duration, elapsed, slot.saturating_sub(self.last_slot));
        }
        self.last_slot_seen = Instant::now();
        self.last_slot = slot;
        let round = self.account.timeline().round_at(slot);
        if round != self.last_round {
            self.last_round = round;
            self.event(json!({ "event": "round", "round": round, "slot": slot }));
        }
        if let Err(unreachable) = self.world.refresh(&mut self.chain) {
            self.health.chain_failed(&unreachable);
            self.export();
            return Ok(None);
        }
        if let Some(scheduled) =
            self.world.task_state.as_ref().and_then(|state| self.schedule.poll(state, slot))
        {
            self.event(scheduled);
        }
        if self.world.task_state.is_none() || !self.world.node_cache.contains_key(&self.node) {
            return self.gone();
        }
        self.runtime.tick(&mut self.chain, &mut self.world, &self.task_impl);
        self.health.ticked(self.metrics.as_ref());
        self.health.watch_balance(&self.chain, &self.runtime.operator.pubkey());
        self.publish(slot, round);
        self.export();
        for landed in self.world.landed.drain(..) {
            if let Err(error) = self.store.record(landed.kind, landed.round) {
                tracing::error!(%error, "cannot record in the journal");
            }
            let event = json!({ "event": "landed", "kind": landed.kind, "round": landed.round, "slot": slot, "task": self.task.to_string() });
            (self.shared.events)(event);
        }
        if let Some(amount) = self.restake.send(&mut self.chain, &self.runtime, (&self.task, &self.world)) {
            let event = match TaskMint::of_stake(&self.account) {
                None => json!({ "event": "restaked", "lamports": amount, "slot": slot }),
                Some(mint) => {
                    json!({ "event": "restaked", "amount": amount, "mint": mint.mint.to_string(), "slot": slot })
                }
            };
            self.event(event);
        }
        if let Some(end) = self.withdraw(round) {
            return Ok(Some(end));
        }
        Ok(self.rounds_done(slot).then_some(End::RoundsDone))
    }

    /// The chain must stay the one the node started on: a reset local
    /// chain, or an RPC URL now serving another cluster, is not "unstaked".
    /// Whether the chain confirmed it is the same one (false: it could not be asked).
    fn ask_identity(&mut self) -> Result<bool, Failure> {
        // Asked again after `IDENTITY_EVERY`, answered or not: an outage costs one read per period.
        self.genesis.1 = Instant::now();
        match self.chain.genesis_hash() {
            Ok(genesis) if genesis == self.genesis.0 => Ok(true),
            Ok(genesis) => Err(Failure::Failed(format!(
                "the chain was reset or replaced under the node: its genesis hash was {} and is now {}; the node's database belongs to the old chain",
                solana_hash::Hash::new_from_array(self.genesis.0),
                solana_hash::Hash::new_from_array(genesis)
            ))),
            Err(unreachable) => {
                self.health.chain_failed(&unreachable);
                Ok(false)
            }
        }
    }

    /// The task or the node account is not in this slot's view. Only the
    /// same chain saying so, in a read of its own, ends the loop.
    fn gone(&mut self) -> Result<Option<End>, Failure> {
        let confirmed = self.chain.accounts(&[self.task, self.node]);
        let (task, node) = match confirmed.as_deref() {
            Ok([task, node]) => (task.is_some(), node.is_some()),
            Ok(_) => return Ok(None),
            Err(unreachable) => {
                self.health.chain_failed(unreachable);
                return Ok(None);
            }
        };
        if task && node {
            // The view was behind: take in what was just read.
            if let Err(unreachable) = self.world.reread(&self.chain, &[self.task, self.node]) {
                self.health.chain_failed(&unreachable);
            }
            return Ok(None);
        }
        // Gone only if this is still the chain the node started on; a reset one fails the node.
        if !self.ask_identity()? {
            return Ok(None);
        }
        Ok(Some(if task { End::Unstaked } else { End::TaskClosed }))
    }

    /// An unstaking node withdraws once it can without forfeiting a claim.
    /// With `--no-claim` the operator claims by hand, which needs the node: it is left open.
    fn withdraw(&mut self, round: Option<u64>) -> Option<End> {
        let me = self.world.node_cache.get(&self.node).cloned()?;
        let round = round?;
        if !self.runtime.auto_claim || !me.is_exiting() || round < withdrawable_from(&self.account, &me) {
            return None;
        }
        let amount = me.total_stake();
        let operator = &self.runtime.operator;
        let mint = TaskMint::of(&self.account).filter(|_| me.stake_in_tokens != 0);
        let withdraw = withdraw_instructions(&operator.pubkey(), &self.task, mint.as_ref(), amount);
        match self.chain.send(&withdraw, operator, &[operator]) {
            Ok(_) => Some(End::Withdrawn(amount, round, mint.map(|mint| mint.mint))),
            Err(refused) => {
                tracing::warn!(error = %refused.message, "cannot withdraw yet");
                None
            }
        }
    }

    /// `--exit-after-round N`: done once round N is revealed, or once it can
    /// no longer be committed or revealed.
    fn rounds_done(&self, slot: u64) -> bool {
        let Some(last) = self.shared.config.exit_after_round else { return false };
        let Some((round, offset)) = self.account.timeline().position_at(slot) else { return false };
        if round <= last {
            return false;
        }
        let me = self.world.node_cache.get(&self.node);
        // Without the round's parameters its windows are unknown: wait.
        let Some(window) = self
            .world
            .task_state
            .and_then(|task| task.params_for(last).ok().map(|params| params.submission_window))
        else {
            return false;
        };
        let window_over = |of: u64| round > of || (round == of && offset >= window);
        let entry = me.and_then(|me| me.submission(last));
        if entry.is_some_and(|entry| entry.is_revealed()) {
            return true;
        }
        // A commitment this node saw land counts before its account says so.
        let committed = entry.is_some() || self.runtime.stats.rounds_submitted.contains(&last);
        window_over(last.saturating_add(if committed { 2 } else { 1 }))
    }

    fn publish(&mut self, slot: u64, round: Option<u64>) {
        let last_error = self.health.last_error(&self.runtime);
        let status = self.health.status(&self.runtime, (slot, round), self.sandboxing);
        self.shared.set_status(&self.task, status);
        let Some(publisher) = &mut self.publisher else { return };
        // After the tick, which may have read some nodes again.
        publisher.sync(&self.world);
        publisher.follow_audits(&self.chain, &self.world, slot);
        publisher.follow_mint(&self.chain, &self.world);
        if !publisher.due() {
            return;
        }
        let stats = &self.runtime.stats;
        let own = Own {
            node: self.node,
            last_error,
            paused: round.is_some() && stats.rounds_unfunded.last() == round.as_ref(),
            auto_claim: self.runtime.auto_claim,
            unsandboxed: self.sandboxing == "unsandboxed",
            warnings: stats.warnings.iter().rev().take(4).map(|warning| warning.message.clone()).collect(),
            claimed: stats.claimed_by_round.clone(),
            claimed_total: stats.rewards_claimed,
        };
        publisher.publish(&mut self.world, &Sources { slot, rule: &*self.task_impl, own: Some(own) });
    }

    fn export(&mut self) {
        let me = self.world.node_cache.get(&self.node).map(|me| **me);
        if let Some(metrics) = &self.metrics {
            self.health.export(metrics, &self.chain, (&self.runtime, me.as_ref()));
        }
        if self.health.last_error(&self.runtime).is_some() {
            // Keep `/status` as loud as the metrics while the chain cannot be read.
            let status =
                self.health.status(&self.runtime, (self.last_slot, self.last_round), self.sandboxing);
            self.shared.set_status(&self.task, status);
        }
    }
}

/// The slot length, smoothed over the last few slots (weight 1/8 to the
/// newest), from `elapsed` wall time over `slots` slots.
fn measured_slot(previous: Duration, elapsed: Duration, slots: u64) -> Duration {
    let newest = elapsed.checked_div(u32::try_from(slots).unwrap_or(u32::MAX)).unwrap_or(previous);
    let newest = newest.clamp(Duration::from_millis(20), Duration::from_secs(5));
    previous.saturating_mul(7).saturating_add(newest).checked_div(8).unwrap_or(previous)
}
