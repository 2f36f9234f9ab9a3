//! `gradual node run`: one task from the command line, or every task of a
//! `--node-config` file, each in a thread of its own. One peer service serves
//! them all (`/tasks/<task>/v1/...`), and one metrics endpoint.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use clap::{Args, ValueEnum};
use gradual_interface::{
    builders,
    pda::find_node_address,
    round::LIST_LAG,
    state::{Node, Task as TaskAccount},
    Address,
};
use serde::Deserialize;
use serde_json::json;
use solana_keypair::Keypair;
use solana_signer::Signer;

use super::{
    node::read_node,
    options::{SandboxOptions, SendOptions},
    schedule::PackageSchedule,
    simulate::task_variables,
    task::read_task,
    CliError, CliResult, Context,
};
use crate::{
    chain::Chain,
    dashboard::{Board, Lists, Own, Publisher, Sources},
    jobs::{SharedTask, Threaded},
    metrics::{Counts, Metrics, TaskMetrics},
    misbehaviour::{self, Behaviour},
    package,
    peers::{NetworkPeers, ResultFetcher},
    rpc::RpcChain,
    runtime::{NodeRuntime, NodeStats, World},
    sandbox::Limits,
    service::{self, Served},
    store::Store,
    tasks::{External, ExternalConfig, Hello, HttpDigest, SandboxChoice},
};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RunBehaviour {
    Honest,
    /// Submit proofs that do not match the work (for testing auditors).
    Bad,
}

#[derive(Args)]
pub struct RunArgs {
    /// The task to run (or --node-config for several).
    #[arg(required_unless_present = "node_config")]
    task: Option<Address>,
    /// Run every task listed in this TOML file (see docs/node.md). Not
    /// `--config`: that is the Solana CLI config file, as in every command.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["task", "db", "executable", "task_env", "audit_sample", "no_claim", "restake"])]
    node_config: Option<PathBuf>,
    /// Where the peer service listens.
    #[arg(long, default_value = "127.0.0.1:8900")]
    listen: SocketAddr,
    /// The node's local database [default: ./gradual-<node>.redb].
    #[arg(long)]
    db: Option<PathBuf>,
    /// The external executable, for tasks that are not built in.
    #[arg(long)]
    executable: Option<PathBuf>,
    /// A variable for the executable, KEY=VALUE (repeatable); passed only if the task declares it.
    #[arg(long = "task-env", value_name = "KEY=VALUE")]
    task_env: Vec<String>,
    /// Peers checked per round, besides every proof already under audit.
    #[arg(long)]
    audit_sample: Option<usize>,
    /// Stop once this round is over (default: run until stopped or unstaked).
    #[arg(long)]
    exit_after_round: Option<u64>,
    /// Leave rewards for `gradual node claim` instead of claiming them as they come.
    #[arg(long)]
    no_claim: bool,
    /// Add claimed rewards to the stake (counted from the next round).
    #[arg(long, conflicts_with = "no_claim")]
    restake: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (off unless given).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Independent transactions (votes, claims) in flight at once, unconfirmed.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    max_in_flight: u16,
    #[arg(long, value_enum, default_value = "honest", hide = true)]
    behaviour: RunBehaviour,
    #[command(flatten)]
    sandbox: SandboxOptions,
    #[command(flatten)]
    pub(super) options: SendOptions,
}

const DEFAULT_AUDIT_SAMPLE: usize = 16;

/// `--node-config`: the tasks, and optionally the addresses to listen on.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    listen: Option<SocketAddr>,
    pub(super) metrics_listen: Option<SocketAddr>,
    /// The most a task's manifest may ask for; `--max-*` for what it leaves out.
    #[serde(default)]
    sandbox: Ceilings,
    #[serde(rename = "task", default)]
    tasks: Vec<TaskEntry>,
}

/// `[sandbox]` of the config file: ceilings over the command line's.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ceilings {
    memory_mib: Option<u64>,
    cpu_seconds: Option<u64>,
    processes: Option<u64>,
    disk_mib: Option<u64>,
    open_files: Option<u64>,
}

impl Ceilings {
    fn over(&self, base: Limits) -> Limits {
        Limits {
            memory_mib: self.memory_mib.unwrap_or(base.memory_mib),
            cpu_seconds: self.cpu_seconds.unwrap_or(base.cpu_seconds),
            processes: self.processes.unwrap_or(base.processes),
            disk_mib: self.disk_mib.unwrap_or(base.disk_mib),
            open_files: self.open_files.unwrap_or(base.open_files),
        }
    }
}

/// One `[[task]]` of the config file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskEntry {
    address: String,
    db: Option<PathBuf>,
    executable: Option<PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    audit_sample: Option<usize>,
    #[serde(default)]
    no_claim: bool,
    #[serde(default)]
    restake: bool,
    /// Run this task outside the sandbox, with the node's rights.
    #[serde(default)]
    unsandboxed: bool,
}

/// One task as this process runs it.
pub(super) struct TaskRun {
    pub(super) task: Address,
    db: Option<PathBuf>,
    pub(super) executable: Option<PathBuf>,
    /// KEY=VALUE, as `--task-env` takes them.
    env: Vec<String>,
    audit_sample: usize,
    no_claim: bool,
    restake: bool,
    unsandboxed: bool,
}

/// What one task's thread starts from.
struct TaskSetup {
    run: TaskRun,
    store: Arc<Store>,
    operator: Keypair,
    db: PathBuf,
}

/// What every task's thread shares.
struct Shared<'a> {
    context: &'a Context,
    stop: Arc<AtomicBool>,
    metrics: Option<Arc<Metrics>>,
    /// Each task's state for `/status` (`gradual node status`), by task.
    status: Arc<std::sync::Mutex<serde_json::Map<String, serde_json::Value>>>,
    /// The dashboard's snapshots, served beside the metrics.
    board: Option<Arc<Board>>,
    exit_after_round: Option<u64>,
    max_in_flight: u16,
    behaviour: Behaviour,
    ceilings: Limits,
    package_cache: PathBuf,
}

impl Shared<'_> {
    /// One line per event: JSON with `--output json`, else key=value on stderr.
    fn event(&self, value: serde_json::Value) {
        if self.context.json {
            out!("{value}");
        } else {
            let line = value
                .as_object()
                .map(|map| {
                    map.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join(" ")
                })
                .unwrap_or_default();
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
}

pub(super) fn read_config(path: &Path) -> CliResult<(ConfigFile, Vec<TaskRun>)> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| CliError::usage(format!("cannot read --node-config {}: {error}", path.display())))?;
    let config: ConfigFile = toml::from_str(&text)
        .map_err(|error| CliError::usage(format!("--node-config {}: {}", path.display(), error.message())))?;
    if config.tasks.is_empty() {
        return Err(CliError::usage(format!("--node-config {} lists no [[task]]", path.display())));
    }
    // Relative paths are relative to the file, as a service manager expects.
    let base = path.parent().unwrap_or(Path::new("."));
    let mut seen = BTreeSet::new();
    let mut runs = Vec::new();
    for entry in &config.tasks {
        let task: Address = entry.address.parse().map_err(|_| {
            CliError::usage(format!(
                "--node-config {}: {:?} is not an address",
                path.display(),
                entry.address
            ))
        })?;
        if !seen.insert(task) {
            return Err(CliError::usage(format!(
                "--node-config {}: task {task} is listed twice",
                path.display()
            )));
        }
        runs.push(TaskRun {
            task,
            db: entry.db.as_ref().map(|db| base.join(db)),
            executable: entry.executable.as_ref().map(|program| base.join(program)),
            env: entry.env.iter().map(|(key, value)| format!("{key}={value}")).collect(),
            audit_sample: entry.audit_sample.unwrap_or(DEFAULT_AUDIT_SAMPLE),
            no_claim: entry.no_claim,
            restake: entry.restake,
            unsandboxed: entry.unsandboxed,
        });
    }
    Ok((config, runs))
}

pub fn run_node(context: &Context, args: RunArgs) -> CliResult {
    let mut ceilings = args.sandbox.ceilings();
    let (listen, metrics_listen, runs) = match (&args.node_config, args.task) {
        (Some(path), _) => {
            let (config, mut runs) = read_config(path)?;
            ceilings = config.sandbox.over(ceilings);
            for run in &mut runs {
                run.unsandboxed |= args.sandbox.unsandboxed;
            }
            (config.listen.unwrap_or(args.listen), config.metrics_listen.or(args.metrics_listen), runs)
        }
        (None, Some(task)) => {
            let run = TaskRun {
                task,
                db: args.db.clone(),
                executable: args.executable.clone(),
                env: args.task_env.clone(),
                audit_sample: args.audit_sample.unwrap_or(DEFAULT_AUDIT_SAMPLE),
                no_claim: args.no_claim,
                restake: args.restake,
                unsandboxed: args.sandbox.unsandboxed,
            };
            (args.listen, args.metrics_listen, vec![run])
        }
        (None, None) => return Err(CliError::usage("pass a TASK or --node-config FILE")),
    };
    let several = args.node_config.is_some();
    let operator = context.signer()?;

    let mut served = Vec::new();
    for run in &runs {
        let node = find_node_address(&run.task, &operator.pubkey()).0;
        let db = run.db.clone().unwrap_or_else(|| PathBuf::from(format!("gradual-{node}.redb")));
        let store = Arc::new(Store::open(&db, &run.task, &node).map_err(CliError::usage)?);
        served.push((Served { task: run.task, store, node }, db));
    }
    let router = service::router_for(
        served.iter().map(|(served, _)| Served { store: Arc::clone(&served.store), ..*served }).collect(),
        &operator,
    );
    let listening = context.runtime.block_on(service::spawn(listen, router)).map_err(CliError::usage)?;
    let shared = Shared {
        context,
        stop: stop_on_signal(context),
        metrics: None,
        status: Arc::default(),
        board: None,
        exit_after_round: args.exit_after_round,
        max_in_flight: args.max_in_flight,
        behaviour: if args.behaviour == RunBehaviour::Bad { Behaviour::Bad } else { Behaviour::Honest },
        ceilings,
        package_cache: args.sandbox.cache(),
    };
    let shared = match metrics_listen {
        Some(listen) => {
            let metrics = Arc::new(Metrics::new());
            let status = Arc::clone(&shared.status);
            let board = Arc::new(Board::default());
            let router = crate::metrics::router(Arc::clone(&metrics))
                .route(
                    "/status",
                    axum::routing::get(move || {
                        let status = status.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
                        async move { axum::Json(serde_json::Value::Object(status)) }
                    }),
                )
                .merge(crate::dashboard::router(Arc::clone(&board)));
            let address =
                context.runtime.block_on(service::spawn(listen, router)).map_err(CliError::usage)?;
            shared.event(json!({
                "event": "metrics",
                "url": format!("http://{address}/metrics"),
                "dashboard": format!("http://{address}/"),
            }));
            Shared { metrics: Some(metrics), board: Some(board), ..shared }
        }
        None => shared,
    };

    // Each task in a thread of its own: one that fails leaves the others running.
    let outcomes: Vec<CliResult> = std::thread::scope(|scope| {
        let threads: Vec<_> = runs
            .into_iter()
            .zip(served)
            .map(|(run, (served, db))| {
                let shared = &shared;
                let operator = Keypair::new_from_array(*operator.secret_bytes());
                scope.spawn(move || {
                    let task = run.task;
                    let started = json!({ "listening": listening.to_string(), "db": db });
                    let setup = TaskSetup { run, store: served.store, operator, db };
                    let outcome = run_task(shared, setup, started);
                    // Alone, the task's error is the command's own one line.
                    if let (Err(error), true) = (&outcome, several) {
                        shared.event(json!({ "event": "task_failed", "task": task.to_string(), "error": error.message }));
                        // `node status` says why the task is not running (no sandbox, a bad package...).
                        let failed = json!({ "failed": true, "last_error": error.message });
                        shared.status.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(task.to_string(), failed);
                    }
                    outcome
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().unwrap_or_else(|_| Err(CliError::failed("a task's thread panicked"))))
            .collect()
    });
    let failed = outcomes.iter().filter(|outcome| outcome.is_err()).count();
    let all_failed = failed == outcomes.len();
    match outcomes.into_iter().find(Result::is_err) {
        // With one task its error is the command's; with several, the others
        // ran on, and only all of them failing fails the command.
        Some(failed) if !several => failed,
        Some(_) if all_failed => Err(CliError::failed(format!("all {failed} tasks failed"))),
        _ => Ok(()),
    }
}

/// Sets the returned flag on SIGINT or SIGTERM: every task's loop then
/// finishes its tick and stops.
pub(super) fn stop_on_signal(context: &Context) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let signalled = Arc::clone(&stop);
    context.runtime.spawn(async move {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term = async {
            match terminate.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        // A handler that cannot be installed must not read as a signal.
        let interrupt = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = interrupt => {},
            () = term => {},
        }
        signalled.store(true, Ordering::SeqCst);
    });
    stop
}

/// What the node needs to run a task's executable.
#[derive(Clone)]
pub(super) struct ExecutableArgs {
    pub(super) program: Option<PathBuf>,
    pub(super) variables: Vec<String>,
    pub(super) work_dir: PathBuf,
    pub(super) sandbox: SandboxChoice,
    pub(super) cache: PathBuf,
}

/// How a task's code runs: `built in`, `sandboxed` or `unsandboxed`.
pub(super) type Sandboxing = &'static str;

/// The task code a package (`sha256`, `locator`) names: built in, or
/// installed from its locator (or the local copy) and started.
pub(super) fn task_impl(
    runtime: &Arc<tokio::runtime::Runtime>,
    (sha256, locator): ([u8; 32], &str),
    executable: ExecutableArgs,
) -> CliResult<(SharedTask, Sandboxing)> {
    let builtin = locator.starts_with("builtin:");
    if builtin && solana_sha256_hasher::hash(locator.as_bytes()).to_bytes() != sha256 {
        return Err(CliError::usage(
            "the task's executable_sha256 does not match its built-in locator; refusing to run",
        ));
    }
    match locator.split_whitespace().next().unwrap_or_default() {
        "builtin:hello" => Ok((Arc::new(Hello), "built in")),
        "builtin:http-digest" => Ok((
            Arc::new(HttpDigest::from_locator(locator, Arc::clone(runtime)).map_err(CliError::usage)?),
            "built in",
        )),
        _ => {
            let package =
                match &executable.program {
                    Some(program) => {
                        package::install_local(program, &sha256, &executable.cache).map_err(CliError::usage)
                    }
                    // A locator that cannot be reached is a network failure (exit 1); a wrong package is bad input.
                    None => package::install(locator, &sha256, &executable.cache, runtime).map_err(|error| {
                        match error {
                            package::InstallError::Unreachable(message) => CliError::failed(message),
                            package::InstallError::Refused(message) => CliError::usage(message),
                        }
                    }),
                }?;
            let config = ExternalConfig {
                package,
                work_dir: executable.work_dir,
                variables: task_variables(&executable.variables)?,
                sandbox: executable.sandbox,
            };
            let external = External::start(config).map_err(CliError::usage)?;
            let sandboxing = if external.sandboxed() { "sandboxed" } else { "unsandboxed" };
            Ok((Arc::new(external), sandboxing))
        }
    }
}

/// Runs one task until it is stopped, unstaked, or past `--exit-after-round`.
fn run_task(shared: &Shared, setup: TaskSetup, started: serde_json::Value) -> CliResult {
    let TaskSetup { run, store, operator, db } = setup;
    let context = shared.context;
    let task_address = run.task;
    let mut chain = context.chain()?;
    let (task, _) = read_task(&chain, &task_address)?;
    let node = find_node_address(&task_address, &operator.pubkey()).0;
    if read_node(&chain, &node)?.is_none() {
        return Err(CliError::usage(format!(
            "{} has no node in task {task_address}; run `gradual node stake` first",
            operator.pubkey()
        )));
    }
    chain.follow(task_address);
    chain.set_max_in_flight(usize::from(shared.max_in_flight));
    // The executable works in a directory of its own beside the database.
    let work_dir = db.with_extension("task");
    let sandbox = SandboxChoice { unsandboxed: run.unsandboxed, ceilings: shared.ceilings };
    let executable = ExecutableArgs {
        program: run.executable.clone(),
        variables: run.env.clone(),
        work_dir,
        sandbox,
        cache: shared.package_cache.clone(),
    };
    let (mut schedule, sandboxing) =
        PackageSchedule::start(&context.runtime, &task, chain.slot(), executable)?;
    let task_impl = misbehaviour::wrap(shared.behaviour, schedule.task(), node);

    let peers = NetworkPeers::new(Arc::clone(&store), Arc::clone(&context.runtime));
    let mut world = World::new(task_address, Box::new(peers), u64::MAX, run.audit_sample);
    let mut runtime = NodeRuntime::new(operator, node);
    runtime.auto_claim = !run.no_claim;
    runtime.jobs = Box::new(Threaded::new(Arc::new(ResultFetcher::new(Arc::clone(&context.runtime)))));
    let metrics: Option<TaskMetrics> =
        shared.metrics.as_ref().map(|metrics| metrics.task(&task_address.to_string()));
    runtime.metrics = metrics.clone();
    let mut counted = Counted::default();
    let mut publisher =
        shared.board.as_ref().map(|board| Publisher::new(Arc::clone(board), Lists::by_rule()));
    // Rewards claimed and not yet restaked, with --restake.
    let mut restake = Restake { enabled: run.restake, ..Restake::default() };
    let task_name = task_address.to_string();
    let event = |mut value: serde_json::Value| {
        value["task"] = task_name.clone().into();
        shared.event(value);
    };
    let mut started_event = json!({ "event": "started", "node": node.to_string(), "sandbox": sandboxing });
    if let (Some(map), serde_json::Value::Object(more)) = (started_event.as_object_mut(), started) {
        map.extend(more);
    }
    event(started_event);

    let mut last_slot = 0;
    let mut last_slot_seen = std::time::Instant::now();
    let mut last_round = None;
    while !shared.stop.load(Ordering::SeqCst) {
        let slot = match chain.refresh_slot() {
            Ok(slot) => slot,
            Err(refused) => {
                tracing::error!(task = %task_address, error = %refused.message, "cannot read the slot");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if slot == last_slot {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        if last_slot != 0 {
            world.slot_duration =
                measured_slot(world.slot_duration, last_slot_seen.elapsed(), slot.saturating_sub(last_slot));
        }
        last_slot_seen = std::time::Instant::now();
        last_slot = slot;
        let round = task.timeline().round_at(slot);
        if round != last_round {
            if let (Some(previous), Some(limit)) = (last_round, shared.exit_after_round) {
                if previous >= limit {
                    break;
                }
            }
            last_round = round;
            event(json!({ "event": "round", "round": round, "slot": slot }));
        }
        if let Err(refused) = world.refresh(&mut chain) {
            tracing::error!(task = %task_address, error = %refused.message, "cannot read the task's accounts; skipping this slot");
            continue;
        }
        if let Some(scheduled) = world.task_state.as_ref().and_then(|state| schedule.poll(state, slot)) {
            event(scheduled);
        }
        if !world.node_cache.contains_key(&node) {
            // Only an account that is really gone means the node left.
            if let Ok(None) = chain.try_account(&node) {
                event(json!({ "event": "unstaked", "node": node.to_string() }));
                break;
            }
            continue;
        }
        runtime.tick(&mut chain, &mut world, &task_impl);
        let last_error = runtime.last_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let paused = round.is_some() && runtime.stats.rounds_unfunded.last() == round.as_ref();
        // After the tick, which may have read some nodes again.
        if let Some(publisher) = &mut publisher {
            publisher.sync(&world);
        }
        if let Some(publisher) = publisher.as_mut().filter(|publisher| publisher.due()) {
            let own = Own {
                node,
                last_error: last_error.clone(),
                paused,
                auto_claim: runtime.auto_claim,
                unsandboxed: sandboxing == "unsandboxed",
            };
            publisher.publish(&mut world, &Sources { slot, rule: &*task_impl, own: Some(own) });
        }
        let state = json!({
            "slot": slot,
            "round": round,
            "last_error": last_error,
            "unfunded_rounds": runtime.stats.rounds_unfunded,
            "sandbox": sandboxing,
        });
        shared
            .status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(task_name.clone(), state);
        if let Some(metrics) = &metrics {
            let me = world.node_cache.get(&node).map(|me| **me);
            metrics.counted(&counted.update(&runtime.stats, me.as_ref(), chain.rpc_errors()));
            metrics.slot_lag(chain.slot_lag());
            metrics.stake(me.map_or(0, |me| me.total_stake()));
            metrics.unsandboxed(sandboxing == "unsandboxed");
        }
        for landed in world.landed.drain(..) {
            if let Err(error) = store.record(landed.kind, landed.round) {
                tracing::error!(%error, "cannot record in the journal");
            }
            event(json!({ "event": "landed", "kind": landed.kind, "round": landed.round, "slot": slot }));
        }
        if let Some(lamports) = restake.send(&mut chain, &runtime, (&task_address, &world)) {
            event(json!({ "event": "restaked", "lamports": lamports, "slot": slot }));
        }
        if let (Some(me), Some(round)) = (world.node_cache.get(&node).cloned(), round) {
            // With --no-claim the operator claims by hand, which needs the node: it is left open.
            if runtime.auto_claim && me.is_exiting() && round >= withdrawable_from(&task, &me) {
                let amount = me.total_stake();
                let withdraw = builders::withdraw_stake(&runtime.operator.pubkey(), &task_address, amount);
                match chain.send(&[withdraw], &runtime.operator, &[&runtime.operator]) {
                    Ok(_) => {
                        event(json!({ "event": "withdrawn", "lamports": amount, "round": round }));
                        break;
                    }
                    Err(refused) => tracing::warn!(error = %refused.message, "cannot withdraw yet"),
                }
            }
        }
    }
    event(json!({ "event": "stopped", "node": node.to_string(), "stats": runtime.stats }));
    Ok(())
}

/// `--restake`: claimed rewards go back into the stake, by a top-up once the
/// program takes one (not while an audit against the node is open).
#[derive(Default)]
struct Restake {
    enabled: bool,
    /// Rewards claimed so far, as counted when last looked at.
    claimed: u64,
    /// Claimed and not yet staked.
    owed: u64,
}

impl Restake {
    /// Stakes what was claimed since; the lamports staked, if any were.
    fn send(
        &mut self,
        chain: &mut RpcChain,
        runtime: &NodeRuntime,
        (task, world): (&Address, &World),
    ) -> Option<u64> {
        if !self.enabled {
            return None;
        }
        let claimed = runtime.stats.rewards_claimed;
        self.owed = self.owed.saturating_add(claimed.saturating_sub(self.claimed));
        self.claimed = self.claimed.max(claimed);
        let me = world.node_cache.get(&runtime.node)?;
        if self.owed == 0 || me.open_audits > 0 || me.is_exiting() {
            return None;
        }
        // A top-up also sets the service URL: the one already there.
        let stake = builders::stake(&runtime.operator.pubkey(), task, self.owed, me.service_url());
        let before = me.total_stake();
        match chain.send(&[stake], &runtime.operator, &[&runtime.operator]) {
            Ok(_) => Some(std::mem::take(&mut self.owed)),
            Err(refused) => {
                // The outcome may be unknown and the top-up landed all the
                // same: the stake on chain decides, so nothing is staked twice.
                let now =
                    read_node(chain, &runtime.node).ok().flatten().map_or(before, |node| node.total_stake());
                if now >= before.saturating_add(self.owed) {
                    return Some(std::mem::take(&mut self.owed));
                }
                tracing::warn!(error = %refused.message, lamports = self.owed, "cannot restake yet");
                None
            }
        }
    }
}

/// The totals last exported, to export what changed since.
#[derive(Default)]
struct Counted {
    rounds_submitted: u64,
    audits_raised: u64,
    audit_votes: u64,
    lists_proposed: u64,
    list_votes: u64,
    claimed_lamports: u64,
    /// `None` until the first update, which only takes the node's past slashes as the baseline.
    slashed_lamports: Option<u64>,
    rpc_errors: u64,
}

impl Counted {
    fn update(&mut self, stats: &NodeStats, me: Option<&Node>, rpc_errors: u64) -> Counts {
        let step = |last: &mut u64, now: u64| {
            let delta = now.saturating_sub(*last);
            *last = (*last).max(now);
            delta
        };
        let slashed_now = me.map_or(0, |me| me.total_slashed);
        let slashed_lamports = step(self.slashed_lamports.get_or_insert(slashed_now), slashed_now);
        Counts {
            rounds_submitted: step(&mut self.rounds_submitted, stats.rounds_submitted.len() as u64),
            audits_raised: step(&mut self.audits_raised, stats.audits_raised),
            audit_votes: step(&mut self.audit_votes, stats.audit_votes),
            lists_proposed: step(&mut self.lists_proposed, stats.proposals.len() as u64),
            list_votes: step(&mut self.list_votes, stats.list_votes),
            claimed_lamports: step(&mut self.claimed_lamports, stats.rewards_claimed),
            slashes: u64::from(slashed_lamports > 0),
            slashed_lamports,
            rpc_errors: step(&mut self.rpc_errors, rpc_errors),
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

/// The first round in which an unstaking node has both served its cooldown
/// and seen every list that can still pay its last active round; withdrawing
/// everything earlier would forfeit those claims.
fn withdrawable_from(task: &TaskAccount, node: &Node) -> u64 {
    let cooldown_over = node.exit_round.saturating_add(task.unstake_cooldown_rounds);
    let last_list =
        node.exit_round.saturating_add(LIST_LAG).saturating_add(u64::from(task.allowed_failed_distributions));
    cooldown_over.max(last_list)
}
