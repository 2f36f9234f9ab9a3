//! `gradual node run`: parses the flags (or `--node-config`) into the
//! daemon's configuration and prints its events. The daemon is `crate::daemon`.

use std::{io::Write, net::SocketAddr, path::PathBuf, sync::Arc};

use clap::{Args, ValueEnum};
use gradual_interface::Address;

use super::{
    options::{SandboxOptions, SendOptions},
    CliError, CliResult, Context,
};
use crate::{
    daemon::{self, DaemonConfig, Endpoint, Failure, TaskRun, DEFAULT_AUDIT_SAMPLE},
    misbehaviour::Behaviour,
    rpc::SendConfig,
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
    /// Where the peer service listens (not 8900: a local validator's websocket).
    #[arg(long, default_value = "127.0.0.1:8910")]
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

impl From<Failure> for CliError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::BadInput(message) => CliError::usage(message),
            Failure::Failed(message) => CliError::failed(message),
        }
    }
}

pub fn run_node(context: &Context, args: RunArgs) -> CliResult {
    let mut ceilings = args.sandbox.ceilings();
    let (listen, metrics_listen, runs) = match (&args.node_config, args.task) {
        (Some(path), _) => {
            let (config, mut runs) = daemon::read_config(path).map_err(CliError::usage)?;
            ceilings = config.ceilings_over(ceilings);
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
    let operator = context.signer()?;
    let config = DaemonConfig {
        runs,
        several: args.node_config.is_some(),
        listen,
        metrics_listen,
        exit_after_round: args.exit_after_round,
        max_in_flight: args.max_in_flight,
        behaviour: if args.behaviour == RunBehaviour::Bad { Behaviour::Bad } else { Behaviour::Honest },
        ceilings,
        package_cache: args.sandbox.cache(),
        lock_dir: daemon::lock_dir(),
        endpoint: Endpoint {
            url: context.url.clone(),
            commitment: context.commitment,
            send: SendConfig {
                priority_fee: context.priority_fee,
                error_limit: context.error_limit,
                ..SendConfig::default()
            },
        },
    };
    let json = context.json;
    let events: daemon::Events = Arc::new(move |value: serde_json::Value| print_event(json, &value));
    Ok(daemon::run(config, &operator, &context.runtime, events)?)
}

/// One line per event: JSON with `--output json`, else key=value on stderr.
fn print_event(json: bool, value: &serde_json::Value) {
    if json {
        out!("{value}");
        return;
    }
    let line = value
        .as_object()
        .map(|map| map.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let _ = writeln!(std::io::stderr(), "{line}");
}
