//! The node daemon behind `gradual node run`: one task from the command
//! line, or every task of a `--node-config` file, each in a thread of its
//! own. One peer service serves them all (`/tasks/<task>/v1/...`), and one
//! metrics endpoint with the dashboard and `/status`.
//!
//! The CLI parses flags into a [`DaemonConfig`] and prints the events the
//! daemon emits; everything else (the slot loop, chain identity, the one
//! instance per node and task, health, restake and withdrawal) is here.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{atomic::AtomicBool, Arc},
};

use gradual_interface::{pda::find_node_address, Address};
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_signer::Signer;
use tokio::runtime::Runtime;

use crate::{
    dashboard::Board,
    metrics::Metrics,
    misbehaviour::Behaviour,
    rpc::{RpcChain, SendConfig},
    sandbox::Limits,
    service::{self, Served},
    store::Store,
};

pub mod config;
mod health;
mod instance;
mod package;
mod restake;
mod schedule;
mod signals;
mod task_loop;

pub use config::{read_config, ConfigFile, TaskRun, DEFAULT_AUDIT_SAMPLE};
pub use instance::{lock_dir, InstanceLock};
pub use package::{task_impl, task_variables, ExecutableArgs, Sandboxing};
pub use restake::withdraw_instructions;
pub use signals::stop_on_signal;

/// Why the daemon, or one task of it, stopped short: bad input the operator
/// must fix (exit 2), or a failure a restart may cure (exit 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    BadInput(String),
    Failed(String),
}

impl Failure {
    pub fn message(&self) -> &str {
        match self {
            Self::BadInput(message) | Self::Failed(message) => message,
        }
    }
}

impl From<crate::chain::Unreachable> for Failure {
    fn from(unreachable: crate::chain::Unreachable) -> Self {
        Self::Failed(unreachable.to_string())
    }
}

/// A task whose last successful tick is older than this is alerted on in `/status`.
const STALE_SECONDS: u64 = 10;

/// Where the chain is, and how to send to it.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    pub commitment: CommitmentConfig,
    pub send: SendConfig,
}

impl Endpoint {
    pub fn connect(&self, runtime: &Arc<Runtime>) -> Result<RpcChain, Failure> {
        let mut chain = RpcChain::new(&self.url, self.commitment, Arc::clone(runtime))
            .with_send_config(self.send.clone());
        chain.refresh_slot().map_err(|unreachable| {
            Failure::Failed(format!("cannot reach {}: {}", self.url, unreachable.0))
        })?;
        Ok(chain)
    }
}

/// Where the daemon's events go: one JSON value each.
pub type Events = Arc<dyn Fn(serde_json::Value) + Send + Sync>;

/// Everything `node run` was asked to do.
pub struct DaemonConfig {
    pub runs: Vec<TaskRun>,
    /// Several tasks (`--node-config`): one that fails leaves the others running.
    pub several: bool,
    pub listen: SocketAddr,
    pub metrics_listen: Option<SocketAddr>,
    pub exit_after_round: Option<u64>,
    pub max_in_flight: u16,
    pub behaviour: Behaviour,
    pub ceilings: Limits,
    pub package_cache: PathBuf,
    /// Where the one-instance locks live (see [`lock_dir`]).
    pub lock_dir: PathBuf,
    pub endpoint: Endpoint,
}

/// What every task's thread shares.
struct Shared {
    config: DaemonConfig,
    runtime: Arc<Runtime>,
    events: Events,
    stop: Arc<AtomicBool>,
    metrics: Option<Arc<Metrics>>,
    /// Each task's state for `/status` (`gradual node status`), by task.
    status: Arc<std::sync::Mutex<serde_json::Map<String, serde_json::Value>>>,
    /// The dashboard's snapshots, served beside the metrics.
    board: Option<Arc<Board>>,
}

impl Shared {
    fn set_status(&self, task: &Address, value: serde_json::Value) {
        self.status.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(task.to_string(), value);
    }
}

/// What one task's thread starts from.
struct TaskSetup {
    run: TaskRun,
    store: Arc<Store>,
    operator: Keypair,
    db: PathBuf,
    /// Held for as long as the task runs.
    lock: InstanceLock,
}

/// Runs every task until each is stopped, unstaked, past `--exit-after-round`
/// or failed. With one task its failure is the daemon's; with several, only
/// all of them failing is.
pub fn run(
    config: DaemonConfig,
    operator: &Keypair,
    runtime: &Arc<Runtime>,
    events: Events,
) -> Result<(), Failure> {
    let mut setups = Vec::new();
    for run in &config.runs {
        let node = find_node_address(&run.task, &operator.pubkey()).0;
        // Before the database: a second instance must not touch the first one's.
        let lock = InstanceLock::acquire(&config.lock_dir, &run.task, &node)?;
        let db = run.db.clone().unwrap_or_else(|| PathBuf::from(format!("gradual-{node}.redb")));
        let store = Arc::new(Store::open(&db, &run.task, &node).map_err(Failure::BadInput)?);
        setups.push((node, db, store, lock));
    }
    let router = service::router_for(
        setups
            .iter()
            .zip(&config.runs)
            .map(|((node, _, store, _), run)| Served {
                task: run.task,
                store: Arc::clone(store),
                node: *node,
            })
            .collect(),
        operator,
    );
    let listening = runtime.block_on(service::spawn(config.listen, router)).map_err(|error| {
        Failure::BadInput(format!("{error}; pass another --listen (the peer service's address)"))
    })?;
    let mut shared = Shared {
        stop: stop_on_signal(runtime),
        runtime: Arc::clone(runtime),
        events,
        metrics: None,
        status: Arc::default(),
        board: None,
        config,
    };
    if let Some(listen) = shared.config.metrics_listen {
        serve_metrics(&mut shared, listen)?;
    }
    let runs = std::mem::take(&mut shared.config.runs);
    let several = shared.config.several;
    let shared = &shared;
    // Each task in a thread of its own: one that fails leaves the others running.
    let outcomes: Vec<Result<(), Failure>> = std::thread::scope(|scope| {
        let threads: Vec<_> = runs
            .into_iter()
            .zip(setups)
            .map(|(run, (_, db, store, lock))| {
                let operator = Keypair::new_from_array(*operator.secret_bytes());
                scope.spawn(move || {
                    let task = run.task;
                    let started = json!({ "listening": listening.to_string(), "db": db });
                    let setup = TaskSetup { run, store, operator, db, lock };
                    let outcome = task_loop::run_task(shared, setup, started);
                    if let Err(failure) = &outcome {
                        // `node status` says why the task is not running.
                        shared.set_status(&task, json!({ "failed": true, "last_error": failure.message() }));
                        if several {
                            (shared.events)(json!({ "event": "task_failed", "task": task.to_string(), "error": failure.message() }));
                        }
                    }
                    outcome
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| {
                thread.join().unwrap_or_else(|_| Err(Failure::Failed("a task's thread panicked".into())))
            })
            .collect()
    });
    let failures: Vec<Failure> = outcomes.iter().filter_map(|outcome| outcome.clone().err()).collect();
    match failures.first() {
        None => Ok(()),
        Some(failure) if !several => Err(failure.clone()),
        // Several: the others ran on, and only all of them failing fails the
        // command, as bad input if each was.
        Some(_) if failures.len() == outcomes.len() => {
            let message =
                format!("all {} tasks failed; the first: {}", failures.len(), failures[0].message());
            if failures.iter().all(|failure| matches!(failure, Failure::BadInput(_))) {
                Err(Failure::BadInput(message))
            } else {
                Err(Failure::Failed(message))
            }
        }
        Some(_) => Ok(()),
    }
}

/// Serves `/metrics`, `/status` and the dashboard on `listen`.
fn serve_metrics(shared: &mut Shared, listen: SocketAddr) -> Result<(), Failure> {
    let metrics = Arc::new(Metrics::new());
    let status = Arc::clone(&shared.status);
    let board = Arc::new(Board::default());
    let router = crate::metrics::router(Arc::clone(&metrics))
        .route(
            "/status",
            axum::routing::get(move || {
                let mut status = status.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
                // Aged as it is read: a loop stuck on the chain cannot say how long it has been.
                let now =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                for task in status.values_mut() {
                    if let Some(tick) = task.get("last_successful_tick").and_then(serde_json::Value::as_u64) {
                        let age = now.as_secs().saturating_sub(tick);
                        task["seconds_since_tick"] = age.into();
                        if age > STALE_SECONDS {
                            if let Some(alerts) =
                                task.get_mut("alerts").and_then(serde_json::Value::as_array_mut)
                            {
                                alerts.push(format!("the node has not acted for {age} s").into());
                            }
                        }
                    }
                }
                async move { axum::Json(serde_json::Value::Object(status)) }
            }),
        )
        .merge(crate::dashboard::router(Arc::clone(&board)));
    let address = shared
        .runtime
        .block_on(service::spawn(listen, router))
        .map_err(|error| Failure::BadInput(format!("{error}; pass another --metrics-listen")))?;
    (shared.events)(json!({
        "event": "metrics",
        "url": format!("http://{address}/metrics"),
        "dashboard": format!("http://{address}/"),
    }));
    shared.metrics = Some(metrics);
    shared.board = Some(board);
    Ok(())
}
