//! Operators' commands: `gradual node stake | run | claim | unstake | withdraw | show`.

use std::{
    io::Write,
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use clap::{Args, Subcommand, ValueEnum};
use gradual_interface::{
    builders,
    pda::{find_distribution_address, find_node_address},
    round::LIST_LAG,
    state::{Account, Distribution, Node, Task as TaskAccount, CLAIM_PERIOD_ROUNDS, DISTRIBUTION_APPROVED},
    Address,
};
use serde_json::json;
use solana_keypair::Keypair;
use solana_signer::Signer;

use super::{
    options::{Chosen, SendOptions, SignerOptions},
    simulate::task_variables,
    task::read_task,
    views, CliError, CliResult, Context,
};
use crate::{
    chain::Chain,
    jobs::{SharedTask, Threaded},
    metrics::{Counts, Metrics},
    misbehaviour::{self, Behaviour},
    peers::{NetworkPeers, ResultFetcher},
    rpc::RpcChain,
    runtime::{claim_of, InProcessPeers, NodeRuntime, NodeStats, World},
    service,
    store::Store,
    tasks::{External, ExternalConfig, Hello, HttpDigest},
};

#[derive(Subcommand)]
pub enum NodeCommand {
    /// Stake in a task (creating the node) or add to the stake.
    Stake {
        task: Address,
        lamports: u64,
        /// Where this node serves its results, e.g. http://203.0.113.7:8900.
        #[arg(long)]
        service_url: String,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Run the node: work, submit, audit, vote, propose, claim, every round.
    Run(RunArgs),
    /// Claim every reward this node is owed and has not claimed.
    Claim {
        task: Address,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Ask to leave: stake stops counting after the cooldown.
    Unstake {
        task: Address,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Withdraw stake after the cooldown; all of it (closing the node) by default.
    Withdraw {
        task: Address,
        #[arg(long)]
        lamports: Option<u64>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Show this operator's node in a task.
    Show {
        task: Address,
        /// Another operator [default: the keypair's address].
        #[arg(long)]
        operator: Option<Address>,
        /// Also show what the local database recorded.
        #[arg(long)]
        db: Option<PathBuf>,
        #[command(flatten)]
        options: SignerOptions,
    },
}

impl NodeCommand {
    pub fn chosen(&self) -> Chosen<'_> {
        match self {
            NodeCommand::Run(args) => args.options.chosen(),
            NodeCommand::Stake { options, .. }
            | NodeCommand::Claim { options, .. }
            | NodeCommand::Unstake { options, .. }
            | NodeCommand::Withdraw { options, .. } => options.chosen(),
            NodeCommand::Show { options, .. } => options.chosen(),
        }
    }
}

/// Auditors fetch results over HTTP(S), so a node must be reachable that way.
fn check_service_url(service_url: &str) -> CliResult {
    let url = reqwest::Url::parse(service_url)
        .map_err(|error| CliError::usage(format!("--service-url {service_url:?} is not a URL: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(CliError::usage(format!(
            "--service-url {service_url:?} must be http:// or https://, not {}://; auditors fetch results over HTTP",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(CliError::usage(format!("--service-url {service_url:?} has no host")));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RunBehaviour {
    Honest,
    /// Submit proofs that do not match the work (for testing auditors).
    Bad,
}

#[derive(Args)]
pub struct RunArgs {
    task: Address,
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
    #[arg(long, default_value_t = 16)]
    audit_sample: usize,
    /// Stop once this round is over (default: run until stopped or unstaked).
    #[arg(long)]
    exit_after_round: Option<u64>,
    /// Leave rewards for `gradual node claim` instead of claiming them as they come.
    #[arg(long)]
    no_claim: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (off unless given).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Independent transactions (votes, claims) in flight at once, unconfirmed.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    max_in_flight: u16,
    #[arg(long, value_enum, default_value = "honest", hide = true)]
    behaviour: RunBehaviour,
    #[command(flatten)]
    options: SendOptions,
}

/// What the node needs to run a task's executable.
struct ExecutableArgs<'a> {
    program: Option<&'a PathBuf>,
    variables: &'a [String],
    work_dir: PathBuf,
}

fn task_impl(context: &Context, task: &TaskAccount, executable: ExecutableArgs) -> CliResult<SharedTask> {
    let locator = String::from_utf8_lossy(task.executable_locator()).into_owned();
    let builtin = locator.starts_with("builtin:");
    if builtin && solana_sha256_hasher::hash(locator.as_bytes()).to_bytes() != task.executable_sha256 {
        return Err(CliError::usage(
            "the task's executable_sha256 does not match its built-in locator; refusing to run",
        ));
    }
    match locator.split_whitespace().next().unwrap_or_default() {
        "builtin:hello" => Ok(Arc::new(Hello)),
        "builtin:http-digest" => Ok(Arc::new(
            HttpDigest::from_locator(&locator, Arc::clone(&context.runtime)).map_err(CliError::usage)?,
        )),
        _ => {
            let program = executable.program.ok_or_else(|| {
                CliError::usage(format!("task runs {locator:?}: pass --executable with a local copy of it"))
            })?;
            let config = ExternalConfig {
                program: program.clone(),
                expected_sha256: task.executable_sha256,
                work_dir: executable.work_dir,
                variables: task_variables(executable.variables)?,
            };
            Ok(Arc::new(External::start(config).map_err(CliError::usage)?))
        }
    }
}

/// The node account, `None` if there is none; an RPC failure is an error (exit 1), not "no node".
fn read_node(chain: &RpcChain, node: &Address) -> CliResult<Option<Node>> {
    let account = chain.try_account(node).map_err(|refused| CliError::failed(refused.message))?;
    Ok(account.and_then(|account| Node::read(&account.data)))
}

fn run_node(context: &Context, args: RunArgs) -> CliResult {
    let operator = context.signer()?;
    let mut chain = context.chain()?;
    let (task, _) = read_task(&chain, &args.task)?;
    let node = find_node_address(&args.task, &operator.pubkey()).0;
    if read_node(&chain, &node)?.is_none() {
        return Err(CliError::usage(format!(
            "{} has no node in task {}; run `gradual node stake` first",
            operator.pubkey(),
            args.task
        )));
    }
    chain.follow(args.task);
    chain.set_max_in_flight(usize::from(args.max_in_flight));
    let db = args.db.unwrap_or_else(|| PathBuf::from(format!("gradual-{node}.redb")));
    // The executable works in a directory of its own beside the database.
    let work_dir = db.with_extension("task");
    let executable =
        ExecutableArgs { program: args.executable.as_ref(), variables: &args.task_env, work_dir };
    let task_impl = task_impl(context, &task, executable)?;
    let store = Arc::new(Store::open(&db, &args.task, &node).map_err(CliError::usage)?);
    let service_key = Keypair::new_from_array(*operator.secret_bytes());
    let router = service::router(Arc::clone(&store), service_key, node);
    let listening = context.runtime.block_on(service::spawn(args.listen, router)).map_err(CliError::usage)?;

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
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            () = term => {},
        }
        signalled.store(true, Ordering::SeqCst);
    });

    let peers = NetworkPeers::new(Arc::clone(&store), Arc::clone(&context.runtime));
    let mut world = World::new(args.task, Box::new(peers), u64::MAX, args.audit_sample);
    let behaviour = if args.behaviour == RunBehaviour::Bad { Behaviour::Bad } else { Behaviour::Honest };
    let task_impl = misbehaviour::wrap(behaviour, task_impl, node);
    let mut runtime = NodeRuntime::new(operator, node);
    runtime.auto_claim = !args.no_claim;
    runtime.jobs = Box::new(Threaded::new(Arc::new(ResultFetcher::new(Arc::clone(&context.runtime)))));
    let event = |value: serde_json::Value| {
        if context.json {
            out!("{value}");
        } else {
            let _ = writeln!(
                std::io::stderr(),
                "{}",
                value
                    .as_object()
                    .map(|map| map
                        .iter()
                        .map(|(key, value)| format!("{key}={value}"))
                        .collect::<Vec<_>>()
                        .join(" "))
                    .unwrap_or_default()
            );
        }
    };
    event(
        json!({ "event": "started", "node": node.to_string(), "task": args.task.to_string(), "listening": listening.to_string(), "db": db }),
    );
    let metrics = match args.metrics_listen {
        Some(listen) => {
            let metrics = Arc::new(Metrics::new());
            let address = context
                .runtime
                .block_on(crate::metrics::spawn(listen, Arc::clone(&metrics)))
                .map_err(CliError::usage)?;
            event(json!({ "event": "metrics", "url": format!("http://{address}/metrics") }));
            Some(metrics.task(&args.task.to_string()))
        }
        None => None,
    };
    runtime.metrics = metrics.clone();
    let mut counted = Counted::default();

    let mut last_slot = 0;
    let mut last_slot_seen = std::time::Instant::now();
    let mut last_round = None;
    while !stop.load(Ordering::SeqCst) {
        let slot = match chain.refresh_slot() {
            Ok(slot) => slot,
            Err(refused) => {
                tracing::error!(error = %refused.message, "cannot read the slot");
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
            if let (Some(previous), Some(limit)) = (last_round, args.exit_after_round) {
                if previous >= limit {
                    break;
                }
            }
            last_round = round;
            event(json!({ "event": "round", "round": round, "slot": slot }));
        }
        if let Err(refused) = world.refresh(&mut chain) {
            tracing::error!(error = %refused.message, "cannot read the task's accounts; skipping this slot");
            continue;
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
        if let Some(metrics) = &metrics {
            let me = world.node_cache.get(&node).map(|me| **me);
            metrics.counted(&counted.update(&runtime.stats, me.as_ref(), chain.rpc_errors()));
            metrics.slot_lag(chain.slot_lag());
            metrics.stake(me.map_or(0, |me| me.total_stake()));
        }
        for landed in world.landed.drain(..) {
            if let Err(error) = store.record(landed.kind, landed.round) {
                tracing::error!(%error, "cannot record in the journal");
            }
            event(json!({ "event": "landed", "kind": landed.kind, "round": landed.round, "slot": slot }));
        }
        if let (Some(me), Some(round)) = (world.node_cache.get(&node).cloned(), round) {
            // With --no-claim the operator claims by hand, which needs the node: it is left open.
            if runtime.auto_claim && me.is_exiting() && round >= withdrawable_from(&task, &me) {
                let amount = me.total_stake();
                let withdraw = builders::withdraw_stake(&runtime.operator.pubkey(), &args.task, amount);
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

/// The totals last exported, to export what changed since.
#[derive(Default)]
struct Counted {
    rounds_submitted: u64,
    audits_raised: u64,
    audit_votes: u64,
    lists_proposed: u64,
    list_votes: u64,
    claimed_lamports: u64,
    slashed_lamports: u64,
    rpc_errors: u64,
}

impl Counted {
    fn update(&mut self, stats: &NodeStats, me: Option<&Node>, rpc_errors: u64) -> Counts {
        let step = |last: &mut u64, now: u64| {
            let delta = now.saturating_sub(*last);
            *last = (*last).max(now);
            delta
        };
        let slashed_lamports = step(&mut self.slashed_lamports, me.map_or(0, |me| me.total_slashed));
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

fn claim(context: &Context, task_address: &Address) -> CliResult {
    let operator = context.signer()?;
    let mut chain = context.chain()?;
    let (task, _) = read_task(&chain, task_address)?;
    let node = find_node_address(task_address, &operator.pubkey()).0;
    let me = read_node(&chain, &node)?
        .ok_or_else(|| CliError::usage(format!("no node for {} in this task", operator.pubkey())))?;
    let mut world = World::new(*task_address, Box::new(InProcessPeers::default()), 0, 0);
    world.refresh(&mut chain).map_err(|refused| CliError::failed(refused.message))?;
    let current = task.timeline().round_at(chain.slot()).unwrap_or(0);
    let horizon = u64::from(task.allowed_failed_distributions)
        .saturating_add(LIST_LAG + 1)
        .saturating_add(CLAIM_PERIOD_ROUNDS);
    let mut claims = Vec::new();
    for round in current.saturating_sub(horizon)..current {
        let address = find_distribution_address(task_address, round).0;
        let Some(distribution) =
            chain.account(&address).and_then(|account| Distribution::read(&account.data))
        else {
            continue;
        };
        if distribution.status != DISTRIBUTION_APPROVED
            || me.claimed_rounds.contains(round)
            || chain.slot() >= distribution.claim_deadline
        {
            continue;
        }
        // The approved list paid out its total: the default rule over that total
        // (a task with a rule of its own falls back to the proposer's list).
        let leaves = NodeRuntime::expected_list(&mut world, &Hello, &task, round, distribution.total);
        // Nodes' accounts may have changed since (one left, a ring moved on):
        // then the proposer's own list, signed and checked against the root.
        let claim = leaves.ok().and_then(|leaves| claim_of(leaves, &distribution, &node)).or_else(|| {
            let url = String::from_utf8_lossy(distribution.url()).into_owned();
            let operator = Address::new_from_array(distribution.proposer_operator);
            let served = crate::peers::fetch_list(&context.runtime, &url, &operator)
                .map_err(|error| tracing::warn!(round, %url, %error, "cannot fetch the proposer's list"))
                .ok()?;
            claim_of(served, &distribution, &node)
        });
        let Some((amount, proof)) = claim else { continue };
        let instruction = builders::claim_reward(&operator.pubkey(), task_address, round, amount, &proof);
        chain
            .send(&[instruction], &operator, &[&operator])
            .map_err(|refused| CliError::refused("node claim", refused))?;
        claims.push(json!({ "round": round, "amount": amount, "signature": chain.last_signature().map(|s| s.to_string()) }));
    }
    let total: u64 = claims.iter().filter_map(|claim| claim["amount"].as_u64()).sum();
    context.print(&json!({ "node": node.to_string(), "claims": claims, "total": total }));
    Ok(())
}

pub fn run(context: &Context, command: NodeCommand) -> CliResult {
    match command {
        NodeCommand::Run(args) => run_node(context, args),
        NodeCommand::Claim { task, .. } => claim(context, &task),
        NodeCommand::Stake { task, lamports, service_url, .. } => {
            check_service_url(&service_url)?;
            let operator = context.signer()?;
            let mut chain = context.chain()?;
            read_task(&chain, &task)?;
            let node = find_node_address(&task, &operator.pubkey()).0;
            let instruction = builders::stake(&operator.pubkey(), &task, lamports, service_url.as_bytes());
            context.send(
                &mut chain,
                "node stake",
                &[instruction],
                &operator,
                json!({ "task": task.to_string(), "node": node.to_string(), "lamports": lamports }),
            )
        }
        NodeCommand::Unstake { task, .. } => {
            let operator = context.signer()?;
            let mut chain = context.chain()?;
            let node = find_node_address(&task, &operator.pubkey()).0;
            read_node(&chain, &node)?
                .ok_or_else(|| CliError::usage(format!("no node for {} in {task}", operator.pubkey())))?;
            let instruction = builders::request_unstake(&operator.pubkey(), &task);
            context.send(
                &mut chain,
                "node unstake",
                &[instruction],
                &operator,
                json!({ "task": task.to_string(), "node": node.to_string() }),
            )
        }
        NodeCommand::Withdraw { task, lamports, .. } => {
            let operator = context.signer()?;
            let mut chain = context.chain()?;
            let node = find_node_address(&task, &operator.pubkey()).0;
            let state = read_node(&chain, &node)?
                .ok_or_else(|| CliError::usage(format!("no node for {} in {task}", operator.pubkey())))?;
            let amount = lamports.unwrap_or(state.total_stake());
            let instruction = builders::withdraw_stake(&operator.pubkey(), &task, amount);
            context.send(
                &mut chain,
                "node withdraw",
                &[instruction],
                &operator,
                json!({ "task": task.to_string(), "node": node.to_string(), "lamports": amount }),
            )
        }
        NodeCommand::Show { task, operator, db, .. } => {
            let operator = match operator {
                Some(operator) => operator,
                None => context.signer()?.pubkey(),
            };
            let chain = context.chain()?;
            let node = find_node_address(&task, &operator).0;
            let account = chain
                .account(&node)
                .ok_or_else(|| CliError::usage(format!("no node for {operator} in {task}")))?;
            let state = Node::read(&account.data)
                .ok_or_else(|| CliError::usage(format!("{node} is not a node account")))?;
            let mut value = views::node(&node, &state, account.lamports);
            if let Some(db) = db {
                let store = Store::open(&db, &task, &node).map_err(CliError::usage)?;
                let journal: serde_json::Map<String, serde_json::Value> = store
                    .journal()
                    .map_err(CliError::failed)?
                    .into_iter()
                    .map(|(key, count)| (key, count.into()))
                    .collect();
                value["journal"] = journal.into();
            }
            context.print(&value);
            Ok(())
        }
    }
}
