//! `gradual simulate` and `gradual localnet`: the embedded chain, in process
//! or served over JSON-RPC.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{
    options::{OutputOption, ReadOptions, SandboxOptions},
    CliError, CliResult, Context,
};
use crate::{
    chain::{Chain, EmbeddedChain},
    jobs::SharedTask,
    localnet::{Faults, Localnet, LocalnetConfig},
    package,
    simulate::{self, Progress, SimulateConfig},
    tasks::{External, ExternalConfig, Hello},
};

#[derive(Args)]
#[command(after_help = SIMULATED_TASK)]
pub struct SimulateArgs {
    #[arg(long, default_value_t = 8)]
    nodes: usize,
    #[arg(long, default_value_t = 6)]
    rounds: u64,
    /// Nodes that submit proofs not matching their work.
    #[arg(long, default_value_t = 0)]
    bad: usize,
    /// Nodes that skip every odd round.
    #[arg(long, default_value_t = 0)]
    offline: usize,
    /// Nodes that propose lists paying only themselves.
    #[arg(long, default_value_t = 0)]
    bad_proposer: usize,
    /// Nodes that do no work and copy whatever they can see: other nodes'
    /// commitments as they land, their reveals once revealed.
    #[arg(long, default_value_t = 0)]
    copier: usize,
    /// Makes keys, and so the whole run, reproducible.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Peers each node checks per round (every proof under audit is checked too).
    #[arg(long, default_value_t = 16)]
    audit_sample: usize,
    /// Slots per round, a multiple of 40; the windows scale with it.
    #[arg(long, default_value_t = simulate::ROUND_LENGTH)]
    round_length: u64,
    /// The program built by `make sbf`.
    #[arg(long, env = "GRADUAL_SO", default_value = "target/deploy/gradual.so")]
    program: PathBuf,
    /// Run against the cluster at `--url` (which must allow airdrops) instead of the embedded chain.
    #[arg(long)]
    cluster: bool,
    /// Run this task (`docs/task-protocol.md`) instead of the built-in hello: a package
    /// directory or file, or a single executable; sandboxed unless --unsandboxed.
    #[arg(long)]
    executable: Option<PathBuf>,
    /// A variable for the executable, KEY=VALUE (repeatable); passed only if the task declares it.
    #[arg(long = "task-env", value_name = "KEY=VALUE")]
    task_env: Vec<String>,
    #[command(flatten)]
    sandbox: SandboxOptions,
    /// Pace slots in real time, this many milliseconds each, with work and
    /// checks beside the loop as in `node run` [default: as fast as possible].
    #[arg(long, default_value_t = 0)]
    slot_ms: u64,
    /// Each node's stake in SOL: one amount, a list cycled over the nodes
    /// ("1,2,5"), or a range spread evenly from the first node to the last
    /// ("1..10") [default: 2 for every node].
    #[arg(long)]
    stakes: Option<String>,
    /// Seconds a call of the task may take before it is killed and counted
    /// as late; calls run beside each other, as in `node run`.
    #[arg(long, default_value_t = 60.0)]
    call_timeout: f64,
    /// Exit with code 1 if any honest node's call failed, was late, crashed,
    /// was refused or could not judge, or if honest nodes computed different lists.
    #[arg(long)]
    strict: bool,
    /// Keep each node's working directory after the run (they are removed otherwise).
    #[arg(long)]
    keep_dirs: bool,
    /// Pay the bounty and take the stake in a mint made for the run, of SPL
    /// Token or Token-2022 (amounts read as base units of a 9-decimal token).
    #[arg(long, value_enum)]
    mint: Option<MintProgram>,
    /// A Token-2022 transfer fee on that mint, in basis points (no maximum).
    #[arg(long, default_value_t = 0, requires = "mint")]
    transfer_fee_bps: u16,
    #[command(flatten)]
    pub options: ReadOptions,
}

/// `--mint`'s token program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MintProgram {
    Spl,
    #[value(name = "token-2022")]
    Token2022,
}

/// What `simulate --help` says of the task it creates.
const SIMULATED_TASK: &str = "The simulated task: a bounty of 1 SOL per round (the pool holds \
rounds + 2 of them); every node stakes 2 SOL unless --stakes says otherwise, against a minimum of \
1 SOL; an audit bond of 0.1 SOL; a slash of 10% of the audited round's stake, half to the raiser; \
audit committees of 64 seats, 8 to uphold; 2 failed list attempts allowed; rounds of 40 slots \
(--round-length scales them): submissions in the first 8, audits in the next 12, list proposals \
in the first 8, list votes in the next 12. Each node is funded with its stake and 100 SOL for fees \
and bonds. A bad node serves and proves the task's work for another round; an offline node skips \
odd rounds; a bad proposer lists itself alone; a copier copies others' proofs.";

/// `--stakes` as one stake in lamports per node.
fn parse_stakes(text: &str, nodes: usize) -> CliResult<Vec<u64>> {
    let sol = |part: &str| -> CliResult<u64> {
        let value: f64 = part
            .trim()
            .parse()
            .map_err(|_| CliError::usage(format!("--stakes: {part:?} is not an amount of SOL")))?;
        if !(value.is_finite() && value > 0.0 && value < 1e9) {
            return Err(CliError::usage(format!("--stakes: {part:?} is out of range")));
        }
        Ok((value * simulate::SOL as f64).round() as u64)
    };
    if let Some((low, high)) = text.split_once("..") {
        let (low, high) = (sol(low)?, sol(high)?);
        if high < low {
            return Err(CliError::usage("--stakes: a range goes from the smaller stake to the larger"));
        }
        let steps = nodes.saturating_sub(1).max(1) as u64;
        let step = high.saturating_sub(low).checked_div(steps).unwrap_or(0);
        return Ok((0..nodes as u64).map(|index| low.saturating_add(step.saturating_mul(index))).collect());
    }
    let amounts = text.split(',').map(sol).collect::<CliResult<Vec<u64>>>()?;
    Ok(amounts.iter().copied().cycle().take(nodes).collect())
}

#[derive(Args)]
pub struct LocalnetArgs {
    #[arg(long, default_value = "127.0.0.1:8899")]
    listen: SocketAddr,
    /// Milliseconds per slot.
    #[arg(long, default_value_t = 400)]
    slot_ms: u64,
    /// Slots a blockhash stays valid.
    #[arg(long, default_value_t = 150)]
    blockhash_ttl: u64,
    /// Fault injection: fail every Nth request with HTTP 503 (0: never).
    #[arg(long, default_value_t = 0)]
    fail_every: u64,
    /// Fault injection: silently drop every Nth sendTransaction (0: never).
    #[arg(long, default_value_t = 0)]
    drop_every: u64,
    /// Fault injection: every transaction lands this many slots after it is sent (0: at once).
    #[arg(long, default_value_t = 0)]
    land_after_slots: u64,
    /// The program built by `make sbf`.
    #[arg(long, env = "GRADUAL_SO", default_value = "target/deploy/gradual.so")]
    program: PathBuf,
    #[command(flatten)]
    pub options: OutputOption,
}

pub fn localnet(context: &Context, args: LocalnetArgs) -> CliResult {
    if args.slot_ms == 0 || args.blockhash_ttl == 0 {
        return Err(CliError::usage("--slot-ms and --blockhash-ttl must be at least 1"));
    }
    let config = LocalnetConfig {
        program: args.program,
        listen: args.listen,
        slot_duration: Duration::from_millis(args.slot_ms),
        blockhash_ttl: args.blockhash_ttl,
        faults: Faults {
            fail_every: args.fail_every,
            drop_every: args.drop_every,
            land_after_slots: args.land_after_slots,
        },
    };
    let localnet = Localnet::new(config).map_err(CliError::usage)?;
    let json = context.json;
    context
        .runtime
        .block_on(localnet.serve(|address| {
            if json {
                out!("{}", serde_json::json!({ "url": format!("http://{address}") }));
            } else {
                out!("localnet listening on http://{address}");
            }
        }))
        .map_err(CliError::failed)
}

/// The author's task: a package directory (packed here), a package file or
/// a single executable, its own sha256 trusted, installed in the package cache.
pub fn install_task(program: &Path, sandbox: &SandboxOptions) -> CliResult<package::Installed> {
    if program.is_dir() {
        let (_, bytes) = package::pack(program).map_err(CliError::usage)?;
        package::install_bytes(&bytes, &crate::tasks::sha256(&bytes), &sandbox.cache())
    } else {
        let sha256 =
            package::sha256_of(program).map_err(|error| CliError::usage(format!("--executable: {error}")))?;
        package::install_local(program, &sha256, &sandbox.cache())
    }
    .map_err(CliError::usage)
}

/// Working directories for one run's nodes: `<prefix><random>/node-<i>`,
/// removed with the run unless kept.
pub struct WorkDirs {
    base: Option<tempfile::TempDir>,
}

impl WorkDirs {
    pub fn new(purpose: &str) -> CliResult<Self> {
        let base = tempfile::Builder::new()
            .prefix(&format!("gradual-{purpose}-"))
            .tempdir()
            .map_err(|error| CliError::failed(format!("cannot create a working directory: {error}")))?;
        Ok(Self { base: Some(base) })
    }

    pub fn node(&self, index: usize) -> PathBuf {
        self.base.as_ref().map_or_else(PathBuf::new, |base| base.path().join(format!("node-{index}")))
    }

    /// Keeps the directories after the run; returns where they are.
    pub fn keep(&mut self) -> Option<PathBuf> {
        self.base.take().map(tempfile::TempDir::keep)
    }
}

/// The author's task started for one node, working in `work_dir`.
pub fn start_task(
    installed: &package::Installed,
    work_dir: PathBuf,
    pairs: &[String],
    sandbox: &SandboxOptions,
    call_timeout: Option<Duration>,
) -> CliResult<External> {
    let external = External::start(ExternalConfig {
        package: installed.clone(),
        work_dir,
        variables: crate::daemon::task_variables(pairs).map_err(CliError::usage)?,
        sandbox: sandbox.choice(),
    })
    .map_err(CliError::usage)?;
    Ok(match call_timeout {
        Some(timeout) => external.with_call_timeout(timeout),
        None => external,
    })
}

pub fn simulate(context: &Context, args: SimulateArgs) -> CliResult {
    if !(args.call_timeout.is_finite() && args.call_timeout > 0.0 && args.call_timeout <= 3_600.0) {
        return Err(CliError::usage("--call-timeout must be between 0 and 3600 seconds"));
    }
    let stakes = args.stakes.as_deref().map(|text| parse_stakes(text, args.nodes)).transpose()?;
    if args.transfer_fee_bps > 0 && args.mint != Some(MintProgram::Token2022) {
        return Err(CliError::usage("--transfer-fee-bps needs --mint token-2022"));
    }
    if args.transfer_fee_bps > 10_000 {
        return Err(CliError::usage("--transfer-fee-bps is at most 10000"));
    }
    let mint = args.mint.map(|program| simulate::MintChoice {
        token_2022: program == MintProgram::Token2022,
        transfer_fee_bps: args.transfer_fee_bps,
    });
    let call_timeout = Duration::from_secs_f64(args.call_timeout);
    let config = SimulateConfig {
        nodes: args.nodes,
        rounds: args.rounds,
        bad: args.bad,
        offline: args.offline,
        bad_proposer: args.bad_proposer,
        copier: args.copier,
        seed: args.seed,
        round_length: args.round_length,
        audit_sample: args.audit_sample,
        program: args.program,
        executable: args.executable.clone(),
        slot_ms: args.slot_ms,
        stakes: stakes.unwrap_or_default(),
        call_timeout_ms: args.executable.as_ref().map(|_| call_timeout.as_millis() as u64),
        mint,
    };
    // Every node runs the author's task itself, in a working directory of its own.
    let mut dirs = WorkDirs::new("simulate")?;
    let tasks: Vec<SharedTask> = match &args.executable {
        Some(program) => {
            let installed = install_task(program, &args.sandbox)?;
            (0..args.nodes)
                .map(|index| {
                    let task = start_task(
                        &installed,
                        dirs.node(index),
                        &args.task_env,
                        &args.sandbox,
                        Some(call_timeout),
                    )?;
                    Ok(Arc::new(task) as SharedTask)
                })
                .collect::<CliResult<_>>()?
        }
        None => vec![Arc::new(Hello)],
    };
    // A live progress bar on stderr; JSON output stays a single report on stdout.
    let bar = if context.json { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} slot {pos}/{len} {wide_bar} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut embedded;
    let mut rpc;
    let (chain, start_margin): (&mut dyn Chain, u64) = if args.cluster {
        rpc = context.chain()?;
        // Leave time to fund and stake every node before round 0.
        (&mut rpc, 40u64.saturating_add(4u64.saturating_mul(args.nodes as u64)))
    } else {
        embedded = EmbeddedChain::new(&config.program, 1_000).map_err(CliError::usage)?;
        (&mut embedded, 10)
    };
    let report = simulate::run(&config, &tasks, chain, start_margin, |progress: Progress| {
        bar.set_length(progress.slots);
        bar.set_position(progress.slot);
        bar.set_message(format!(
            "round {}/{} · {} tx",
            progress.round, progress.rounds, progress.transactions
        ));
    })
    .map_err(CliError::usage)?;
    bar.finish_and_clear();
    drop(tasks);
    if args.keep_dirs {
        if let Some(kept) = dirs.keep() {
            eprintln!("simulate: the nodes' working directories are kept in {}", kept.display());
        }
    }
    if context.json {
        let json =
            serde_json::to_string_pretty(&report).map_err(|error| CliError::failed(error.to_string()))?;
        out!("{json}");
    } else {
        print_table(&report);
    }
    if !report.conservation.holds {
        return Err(CliError::failed("the conservation check failed"));
    }
    if report.tokens.as_ref().is_some_and(|tokens| !tokens.holds) {
        return Err(CliError::failed("the token conservation check failed"));
    }
    let problems = report.strict_problems();
    if args.strict && !problems.is_empty() {
        return Err(CliError::failed(format!("--strict: {}", problems.join("; "))));
    }
    Ok(())
}

fn print_table(report: &simulate::Report) {
    out!(
        "{:>4} {:<13} {:>14} {:>14} {:>9} {:>7} {:>7} {:>12} {:>12}",
        "node",
        "behaviour",
        "stake before",
        "stake after",
        "submitted",
        "raised",
        "against",
        "slashed",
        "claimed"
    );
    for node in &report.nodes {
        out!(
            "{:>4} {:<13} {:>14} {:>14} {:>9} {:>7} {:>7} {:>12} {:>12}",
            node.index,
            format!("{:?}", node.behaviour),
            node.stake_before,
            node.stake_after,
            node.stats.rounds_submitted.len(),
            node.stats.audits_raised,
            node.audits_against,
            node.lamports_slashed,
            node.stats.rewards_claimed
        );
    }
    out!(
        "conservation: {} (held {}, deposited {}, paid out {})",
        if report.conservation.holds { "holds" } else { "BROKEN" },
        report.conservation.held,
        report.conservation.deposited,
        report.conservation.paid_out
    );
    if let Some(tokens) = &report.tokens {
        out!(
            "tokens: {} (minted {}, held {}, withheld as fees {}; the vault holds {}, the task tracks {})",
            if tokens.holds { "hold" } else { "BROKEN" },
            tokens.minted,
            tokens.held,
            tokens.withheld,
            tokens.vault,
            tokens.vault_tracked
        );
    }
    for round in &report.rounds {
        let paid: Vec<String> = report
            .nodes
            .iter()
            .map(|node| round.paid.get(&node.node).copied().unwrap_or(0).to_string())
            .collect();
        out!(
            "round {:>3}: list {:<9} roots computed {}  paid per node: {}",
            round.round,
            round.distribution,
            round.roots_computed,
            paid.join(" ")
        );
        if let Some(why) = &round.no_list {
            out!("           no list: {why}");
        }
        if !round.faults.is_empty() {
            let faults: Vec<String> =
                round.faults.iter().map(|(kind, nodes)| format!("{kind} on {nodes} nodes")).collect();
            out!("           task faults: {}", faults.join(", "));
        }
    }
    let faulty: Vec<String> = report
        .nodes
        .iter()
        .filter(|node| !node.stats.task_fault_reasons.is_empty())
        .map(|node| {
            format!("node {} ({:?}): {:?}", node.index, node.behaviour, node.stats.task_fault_reasons)
        })
        .collect();
    if !faulty.is_empty() {
        out!("task faults by node, once per round and reason:");
        for line in faulty {
            out!("  {line}");
        }
    }
    let cost = &report.cost;
    out!(
        "per node per round: {:.2} transactions ({} refused in all), {:.0} lamports in fees, {:.0} CU",
        cost.transactions_per_node_round,
        cost.refused,
        cost.fee_lamports_per_node_round,
        cost.compute_units_per_node_round
    );
    for (kind, units) in &report.compute_units {
        out!(
            "{kind:<24} {:>5} tx  CU min {:>5}  mean {:>5}  max {:>5}",
            units.count,
            units.min,
            units.mean,
            units.max
        );
    }
}
