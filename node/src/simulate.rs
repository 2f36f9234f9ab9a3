//! `gradual simulate`: a task on the embedded chain with N node runtimes,
//! some of them misbehaving, run for R rounds and settled; the report says
//! what each node staked, did, lost and earned.

use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

use gradual_interface::{
    builders::{self, CreateTaskConfig},
    instruction::CreateTaskArgs,
    pda::{find_distribution_address, find_node_address, find_task_address},
    round::{AUDIT_LAG, LIST_LAG},
    state::{tracked_lamports, Account, Distribution, Node, RoundParams, DISTRIBUTION_APPROVED},
    Address,
};
use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;

mod copier;
mod mint;
mod tally;

pub use mint::{MintChoice, TokenConservation};
pub use tally::{SharedTally, Tally};

use crate::{
    chain::Chain,
    jobs::{SharedTask, Threaded},
    misbehaviour::{self, Behaviour},
    runtime::{InProcessPeers, NodeRuntime, NodeStats, World},
};

pub const SOL: u64 = 1_000_000_000;
/// The default round: 40 slots, with the windows of [`RoundParams::defaults`].
pub const ROUND_LENGTH: u64 = gradual_interface::state::DEFAULT_ROUND_LENGTH;
/// Each node's stake unless `--stakes` says otherwise.
pub const STAKE: u64 = 2 * SOL;
pub const BOUNTY_PER_ROUND: u64 = SOL;
pub const ALLOWED_FAILED_DISTRIBUTIONS: u8 = 2;
/// Committee seats and the audit quorum of the simulated task.
pub const AUDIT_COMMITTEE_SEATS: u16 = 64;
pub const MIN_AUDIT_SEATS: u16 = 8;

#[derive(Clone, Debug, Serialize)]
pub struct SimulateConfig {
    pub nodes: usize,
    pub rounds: u64,
    pub bad: usize,
    pub offline: usize,
    pub bad_proposer: usize,
    pub copier: usize,
    pub seed: u64,
    /// Slots per round, a multiple of 40; the windows scale with it.
    pub round_length: u64,
    /// Peers each node checks per round, besides every proof already under audit.
    pub audit_sample: usize,
    #[serde(skip)]
    pub program: PathBuf,
    /// The author's executable, if the task is not the built-in `hello`.
    pub executable: Option<PathBuf>,
    /// Milliseconds per slot, paced in real time with work and checks beside
    /// the loop as in `node run`; 0 runs as fast as the runtimes allow.
    pub slot_ms: u64,
    /// Each node's stake, in lamports, by index; empty: [`STAKE`] each.
    pub stakes: Vec<u64>,
    /// Calls of an author's task run beside each other, each killed after
    /// this many milliseconds; an unpaced run waits for them between slots.
    pub call_timeout_ms: Option<u64>,
    /// Pay the bounty and take the stake in a mint made for the run.
    pub mint: Option<MintChoice>,
}

impl SimulateConfig {
    /// Node `index`'s stake.
    pub fn stake_of(&self, index: usize) -> u64 {
        self.stakes.get(index).copied().unwrap_or(STAKE)
    }
}

#[derive(Debug, Serialize)]
pub struct NodeReport {
    pub index: usize,
    pub node: String,
    pub behaviour: Behaviour,
    pub stake_before: u64,
    pub stake_after: u64,
    pub audits_against: u64,
    pub lamports_slashed: u64,
    #[serde(flatten)]
    pub stats: NodeStats,
}

#[derive(Debug, Serialize)]
pub struct RoundReport {
    pub round: u64,
    /// "approved", "rejected", "failed", "proposed" or "none".
    pub distribution: &'static str,
    pub attempt: Option<u8>,
    pub proposer: Option<String>,
    pub total: u64,
    pub claimed: u64,
    /// Stake that voted for and against the list's last attempt.
    pub stake_for: u64,
    pub stake_against: u64,
    /// Distinct list roots the nodes computed for the round; 1 when every
    /// node computed the same list.
    pub roots_computed: usize,
    /// The same among the honest nodes only: more than 1 is a rule that
    /// does not give every node the same list.
    pub honest_roots: usize,
    /// The task's failures in this round, by "part: reason", counted once per node.
    pub faults: BTreeMap<String, u64>,
    /// Why the round has no list, when it has none.
    pub no_list: Option<String>,
    /// Lamports each node claimed for the round, by node.
    pub paid: BTreeMap<String, u64>,
    /// The locator of each node's proof of the round, by node.
    pub locators: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct Conservation {
    /// Lamports the program's accounts hold above rent.
    pub held: u128,
    pub deposited: u128,
    pub paid_out: u128,
    /// Every account holds exactly rent plus what it tracks, and the total is deposits minus payouts.
    pub holds: bool,
}

#[derive(Debug, Serialize)]
pub struct UnitStats {
    pub count: usize,
    pub min: u64,
    pub max: u64,
    pub mean: u64,
}

/// What the nodes paid to run the task, per node per work round.
#[derive(Debug, Serialize)]
pub struct Cost {
    /// Transactions the node runtimes signed, landed or refused: each pays a signature fee.
    pub transactions: u64,
    pub refused: u64,
    /// The refused ones by kind: mostly races another node won.
    pub refused_by_kind: BTreeMap<&'static str, u64>,
    pub transactions_per_node_round: f64,
    /// Signature fees at 5,000 lamports each, with no priority fee.
    pub fee_lamports_per_node_round: f64,
    /// Compute units of the landed transactions.
    pub compute_units_per_node_round: f64,
}

/// Lamports a cluster charges per signature.
const LAMPORTS_PER_SIGNATURE: u64 = 5_000;
/// Transactions `simulate` sends to set the task up, not the nodes' own.
const SETUP_KINDS: [&str; 2] = ["CreateTask", "Stake"];

fn cost(world: &Tally, node_rounds: u64) -> Cost {
    let own = |kind: &&str| !SETUP_KINDS.contains(kind);
    let landed: u64 =
        world.compute_units.iter().filter(|(kind, _)| own(kind)).map(|(_, units)| units.len() as u64).sum();
    let units: u64 =
        world.compute_units.iter().filter(|(kind, _)| own(kind)).flat_map(|(_, units)| units).sum();
    let refused: u64 = world.refused.iter().filter(|(kind, _)| own(kind)).map(|(_, count)| *count).sum();
    let transactions = landed.saturating_add(refused);
    let per_node_round = |value: u64| value as f64 / node_rounds.max(1) as f64;
    Cost {
        transactions,
        refused,
        refused_by_kind: world.refused.clone(),
        transactions_per_node_round: per_node_round(transactions),
        fee_lamports_per_node_round: per_node_round(transactions.saturating_mul(LAMPORTS_PER_SIGNATURE)),
        compute_units_per_node_round: per_node_round(units),
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub config: SimulateConfig,
    pub task: String,
    pub slots: u64,
    pub transactions: usize,
    pub nodes: Vec<NodeReport>,
    pub rounds: Vec<RoundReport>,
    pub conservation: Conservation,
    /// `--mint`: every token minted is held or withheld, and the vault holds what the task tracks.
    pub tokens: Option<TokenConservation>,
    pub compute_units: BTreeMap<&'static str, UnitStats>,
    pub cost: Cost,
    /// Wall-clock seconds the run took, and its peak resident memory (Linux).
    pub wall_seconds: f64,
    pub peak_memory_kib: Option<u64>,
    pub time: TimeBreakdown,
    /// Building the dashboard's snapshot of the task once a round, with
    /// node 0 as its own: the slowest, in milliseconds; and keeping its
    /// counts current after each slot's refresh, on average.
    pub dashboard_snapshot_ms: f64,
    pub dashboard_sync_ms: f64,
}

/// Where the wall time went, in seconds.
#[derive(Debug, Default, Serialize)]
pub struct TimeBreakdown {
    /// Signing and executing transactions in the SVM.
    pub transactions: f64,
    /// Reading the task's accounts once per slot.
    pub refresh: f64,
    /// Advancing the clock and rebuilding the SlotHashes sysvar.
    pub clock: f64,
    /// The runtimes' own work: sampling, checking, building lists and trees.
    pub runtime: f64,
    /// Setup and the final report.
    pub other: f64,
}

/// Where the run is, reported after every slot.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub slot: u64,
    pub slots: u64,
    pub round: u64,
    pub rounds: u64,
    pub transactions: usize,
}

/// The process's peak resident set size, from `/proc/self/status` (`VmHWM`).
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Waits until no runtime has a job running, at most a call timeout and a
/// margin: every call is killed by then.
fn wait_for_jobs(runtimes: &[(NodeRuntime, Behaviour, SharedTask)], call_timeout_ms: Option<u64>) {
    let Some(timeout_ms) = call_timeout_ms else { return };
    let now = std::time::Instant::now();
    let give_up =
        now.checked_add(std::time::Duration::from_millis(timeout_ms.saturating_add(5_000))).unwrap_or(now);
    while runtimes.iter().any(|(runtime, _, _)| runtime.jobs.running() > 0)
        && std::time::Instant::now() < give_up
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn keypair(seed: u64, index: u64) -> Keypair {
    let secret =
        solana_sha256_hasher::hashv(&[b"gradual-simulate", &seed.to_le_bytes(), &index.to_le_bytes()]);
    Keypair::new_from_array(secret.to_bytes())
}

/// The default windows stretched to `round_length` (a multiple of 40 slots).
fn scaled_params(round_length: u64) -> RoundParams {
    let scale = round_length.checked_div(ROUND_LENGTH).unwrap_or(1).max(1);
    let base = RoundParams::defaults(BOUNTY_PER_ROUND);
    RoundParams {
        submission_window: base.submission_window.saturating_mul(scale),
        audit_window: base.audit_window.saturating_mul(scale),
        distribution_window: base.distribution_window.saturating_mul(scale),
        distribution_audit_window: base.distribution_audit_window.saturating_mul(scale),
        ..base
    }
}

/// Lamport conservation over the simulated task's accounts: each holds its
/// rent and what it tracks, and together what the runtimes sent in less what
/// they were paid. Other tasks on a cluster are not this run's.
fn check_conservation(chain: &dyn Chain, world: &Tally, task: &Address) -> Result<Conservation, String> {
    let mut held: u128 = 0;
    let mut holds = true;
    let own = chain.account(task).map_err(|error| error.to_string())?.map(|account| (*task, account));
    let accounts = chain.task_accounts(task).map_err(|error| error.to_string())?;
    for (_, account) in own.into_iter().chain(accounts) {
        let rent = chain.rent_exempt_minimum(account.data.len()).map_err(|error| error.to_string())?;
        let above = u128::from(account.lamports.saturating_sub(rent));
        let tracked = tracked_lamports(&account.data).unwrap_or_else(|| {
            holds = false;
            0
        });
        holds &= account.lamports >= rent && above == u128::from(tracked);
        held = held.saturating_add(above);
    }
    holds &= Some(held) == world.deposited.checked_sub(world.paid_out);
    Ok(Conservation { held, deposited: world.deposited, paid_out: world.paid_out, holds })
}

/// Runs the simulation on `chain`: the embedded chain (`EmbeddedChain`), or
/// any cluster over RPC, where `start_margin` must leave time to stake every
/// node before round 0. Node `i` runs `tasks[i]`, or `tasks[0]` if there is
/// one task for all (the built-in hello); `progress` hears every slot.
pub fn run(
    config: &SimulateConfig,
    tasks: &[SharedTask],
    chain: &mut dyn Chain,
    start_margin: u64,
    mut progress: impl FnMut(Progress),
) -> Result<Report, String> {
    let started = std::time::Instant::now();
    let misbehaving = config
        .bad
        .saturating_add(config.offline)
        .saturating_add(config.bad_proposer)
        .saturating_add(config.copier);
    if config.round_length == 0 || !config.round_length.is_multiple_of(ROUND_LENGTH) {
        return Err(format!("--round-length must be a positive multiple of {ROUND_LENGTH}"));
    }
    if config.nodes == 0 || config.rounds == 0 {
        return Err("--nodes and --rounds must each be at least 1".into());
    }
    if misbehaving > config.nodes {
        return Err("--bad, --offline, --bad-proposer and --copier add up to more than --nodes".into());
    }
    if tasks.len() != 1 && tasks.len() != config.nodes {
        return Err(format!("{} tasks for {} nodes", tasks.len(), config.nodes));
    }
    let min_stake = scaled_params(config.round_length).min_stake;
    if let Some(index) = (0..config.nodes).find(|index| config.stake_of(*index) < min_stake) {
        return Err(format!("node {index}'s stake is below the minimum stake, {min_stake} lamports"));
    }
    let creator = keypair(config.seed, u64::MAX);
    chain.airdrop(&creator.pubkey(), 1_000 * SOL).map_err(|refused| refused.message)?;
    let start_slot = chain.slot().saturating_add(start_margin);
    // The task records what the nodes run: the author's executable, or the built-in hello.
    let (locator, executable_sha256) = match &config.executable {
        Some(path) => {
            let sha256 = crate::package::sha256_of(path).map_err(|error| format!("--executable: {error}"))?;
            let name =
                path.file_name().map_or_else(|| "task".into(), |name| name.to_string_lossy().into_owned());
            (format!("file:{name}").into_bytes(), sha256)
        }
        None => (b"builtin:hello".to_vec(), solana_sha256_hasher::hash(b"builtin:hello").to_bytes()),
    };
    let args = CreateTaskArgs {
        task_id: config.seed,
        initial_bounty: BOUNTY_PER_ROUND.saturating_mul(config.rounds.saturating_add(2)),
        start_slot,
        round_length: config.round_length,
        unstake_cooldown_rounds: 3,
        manager: creator.pubkey().to_bytes(),
        executable_sha256,
        params: scaled_params(config.round_length),
        allowed_failed_distributions: ALLOWED_FAILED_DISTRIBUTIONS,
        bump: 0,
        min_audit_seats: MIN_AUDIT_SEATS,
        audit_committee_seats: AUDIT_COMMITTEE_SEATS,
        stake_in_lamports: 0,
        _padding: [0; 1],
    };
    let create = CreateTaskConfig {
        args,
        name: b"simulate".to_vec(),
        description: b"gradual simulate".to_vec(),
        executable_locator: locator,
    };
    let task = find_task_address(&creator.pubkey(), config.seed).0;
    let mut tokens = match config.mint {
        Some(choice) => {
            let mut run = mint::TokenRun::start(chain, &creator, choice, config.seed)?;
            run.give(chain, &creator, &creator.pubkey(), args.initial_bounty)?;
            Some(run)
        }
        None => None,
    };
    let create_task = match &tokens {
        Some(run) => builders::create_token_task(&creator.pubkey(), &create, &run.mint),
        None => builders::create_task(&creator.pubkey(), &create),
    };
    let units = chain.send(&[create_task], &creator, &[&creator]).map_err(|r| r.message)?;

    let peers = InProcessPeers::default();
    let mut world = World::new(task, Box::new(peers.clone()), config.rounds, config.audit_sample);
    let tally = SharedTally::default();
    world.observer = Box::new(tally.clone());
    // Lamports in: a token task's bounty is the mint's.
    let lamport_bounty = if tokens.is_some() { 0 } else { args.initial_bounty };
    tally.get().landed("CreateTask", units, lamport_bounty);
    // Calls beside the loop, with deadlines, as `node run` makes them.
    let threaded = config.slot_ms > 0 || config.call_timeout_ms.is_some();
    let mut runtimes = Vec::new();
    for index in 0..config.nodes {
        let behaviour = if index < config.bad {
            Behaviour::Bad
        } else if index < config.bad.saturating_add(config.offline) {
            Behaviour::Offline
        } else if index < misbehaving.saturating_sub(config.copier) {
            Behaviour::BadProposer
        } else if index < misbehaving {
            Behaviour::Copier
        } else {
            Behaviour::Honest
        };
        let operator = keypair(config.seed, index as u64);
        let stake_amount = config.stake_of(index);
        chain
            .airdrop(&operator.pubkey(), stake_amount.saturating_add(100 * SOL))
            .map_err(|refused| refused.message)?;
        let url = format!("http://127.0.0.1:{}", 8900usize.saturating_add(index));
        let stake = match tokens.as_mut() {
            Some(run) => {
                run.give(chain, &creator, &operator.pubkey(), stake_amount)?;
                builders::stake_tokens(&operator.pubkey(), &task, &run.mint, stake_amount, url.as_bytes())
            }
            None => builders::stake(&operator.pubkey(), &task, stake_amount, url.as_bytes()),
        };
        let units = chain.send(&[stake], &operator, &[&operator]).map_err(|refused| refused.message)?;
        let lamport_stake = if tokens.is_some() { 0 } else { stake_amount };
        tally.get().landed("Stake", units, lamport_stake);
        let node = find_node_address(&task, &operator.pubkey()).0;
        let mut runtime = NodeRuntime::new(operator, node);
        if threaded {
            runtime.jobs = Box::new(Threaded::new(Arc::new(peers.clone())));
        }
        let task_impl = Arc::clone(tasks.get(index).unwrap_or(&tasks[0]));
        if !matches!(behaviour, Behaviour::Honest | Behaviour::BadProposer) {
            runtime.lists_by = Some(Arc::clone(&task_impl));
        }
        runtimes.push((runtime, behaviour, misbehaviour::wrap(behaviour, task_impl, node)));
    }

    // Work rounds, then enough rounds for every list's attempts and claims.
    let last_round =
        config.rounds.saturating_add(LIST_LAG + 1).saturating_add(u64::from(ALLOWED_FAILED_DISTRIBUTIONS));
    let end_slot = start_slot.saturating_add(last_round.saturating_mul(config.round_length));
    let mut time = TimeBreakdown::default();
    let mut paid: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    let mut locators: BTreeMap<u64, BTreeMap<String, String>> = BTreeMap::new();
    let slot_duration = std::time::Duration::from_millis(config.slot_ms);
    world.slot_duration = slot_duration;
    let paced_from = std::time::Instant::now();
    let mut dashboard = Dashboard::new();
    let mut slot = start_slot;
    while slot < end_slot {
        if config.slot_ms > 0 {
            // Real time: slot n starts n slot durations after the first.
            let elapsed = u32::try_from(slot.saturating_sub(start_slot)).unwrap_or(u32::MAX);
            let due = paced_from.checked_add(slot_duration.saturating_mul(elapsed)).unwrap_or(paced_from);
            std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
        }
        let clock = std::time::Instant::now();
        slot = chain.advance_to(slot).map_err(|refused| refused.message)?;
        time.clock += clock.elapsed().as_secs_f64();
        let refresh = std::time::Instant::now();
        world.refresh(chain).map_err(|error| error.to_string())?;
        time.refresh += refresh.elapsed().as_secs_f64();
        let ticks = std::time::Instant::now();
        for (runtime, behaviour, task) in &mut runtimes {
            runtime.tick(chain, &mut world, task);
            if *behaviour == Behaviour::Copier {
                copier::copy(chain, &world, runtime, &tally);
            }
        }
        if config.slot_ms == 0 {
            // Unpaced, the clock waits for the calls it started: they run
            // beside each other, so a hanging call costs one timeout, not one per node.
            wait_for_jobs(&runtimes, config.call_timeout_ms);
        }
        time.runtime += ticks.elapsed().as_secs_f64();
        dashboard.sync(&world);
        for landed in world.landed.drain(..) {
            if landed.kind == "ClaimReward" {
                paid.entry(landed.round).or_default().insert(landed.node.to_string(), landed.lamports);
            }
        }
        // At the end of round r + 2, every proof of round r is revealed.
        let elapsed = slot.saturating_sub(start_slot);
        if elapsed.checked_rem(config.round_length) == Some(config.round_length.saturating_sub(1)) {
            if let Some(proved) =
                elapsed.checked_div(config.round_length).and_then(|round| round.checked_sub(AUDIT_LAG))
            {
                let own = runtimes.first().map(|(runtime, _, _)| runtime.node);
                dashboard.measure(&mut world, slot, own);
                let entry = locators.entry(proved).or_default();
                for (node, account) in &world.node_cache {
                    if let Some(proof) = account.proof(proved) {
                        entry.insert(node.to_string(), String::from_utf8_lossy(proof.locator()).into_owned());
                    }
                }
            }
        }
        progress(Progress {
            slot: slot.saturating_sub(start_slot).saturating_add(1),
            slots: end_slot.saturating_sub(start_slot),
            round: slot.saturating_sub(start_slot).checked_div(config.round_length).unwrap_or(0),
            rounds: last_round,
            transactions: tally.get().compute_units.values().map(Vec::len).sum(),
        });
        slot = slot.saturating_add(1);
    }
    // Nothing is sent from here on: the tally is read whole.
    let tally = tally.get();
    time.transactions = tally.send_time.as_secs_f64();
    time.runtime -= time.transactions;

    let node_addresses: Vec<Address> = runtimes.iter().map(|(runtime, _, _)| runtime.node).collect();
    let node_accounts = chain.accounts(&node_addresses).map_err(|error| error.to_string())?;
    let list_addresses: Vec<Address> =
        (0..config.rounds).map(|round| find_distribution_address(&task, round).0).collect();
    let list_accounts = chain.accounts(&list_addresses).map_err(|error| error.to_string())?;
    let nodes = runtimes
        .iter()
        .zip(&node_accounts)
        .enumerate()
        .map(|(index, ((runtime, behaviour, _), account))| {
            let node = account.as_ref().and_then(|account| Node::read(&account.data));
            NodeReport {
                index,
                node: runtime.node.to_string(),
                behaviour: *behaviour,
                stake_before: config.stake_of(index),
                stake_after: node.map_or(0, |node| node.total_stake()),
                audits_against: tally.audits_against.get(&runtime.node).copied().unwrap_or(0),
                lamports_slashed: node.map_or(0, |node| node.total_slashed),
                stats: runtime.stats.clone(),
            }
        })
        .collect();
    let rounds = (0..config.rounds)
        .zip(list_accounts)
        .map(|(round, account)| {
            let seen = RoundView::of(&tally, &runtimes, round);
            let (roots_computed, honest_roots) = (seen.roots, seen.honest_roots);
            let paid = paid.remove(&round).unwrap_or_default();
            let locators = locators.remove(&round).unwrap_or_default();
            let no_list =
                (paid.is_empty()).then(|| seen.no_list_reason(&runtimes, round, locators.is_empty()));
            let faults = seen.faults;
            match account.and_then(|account| Distribution::read(&account.data)) {
                None => RoundReport {
                    round,
                    distribution: "none",
                    attempt: None,
                    proposer: None,
                    total: 0,
                    claimed: 0,
                    stake_for: 0,
                    stake_against: 0,
                    roots_computed,
                    honest_roots,
                    faults,
                    no_list,
                    paid,
                    locators,
                },
                Some(distribution) => RoundReport {
                    round,
                    distribution: match distribution.status {
                        DISTRIBUTION_APPROVED => "approved",
                        gradual_interface::state::DISTRIBUTION_REJECTED => "rejected",
                        gradual_interface::state::DISTRIBUTION_FAILED => "failed",
                        _ => "proposed",
                    },
                    attempt: Some(distribution.attempt),
                    proposer: Some(Address::new_from_array(distribution.proposer).to_string()),
                    total: distribution.total,
                    claimed: distribution.claimed,
                    stake_for: distribution.valid_weight,
                    stake_against: distribution.invalid_weight,
                    roots_computed,
                    honest_roots,
                    faults,
                    no_list: None,
                    paid,
                    locators,
                },
            }
        })
        .collect();
    let compute_units = tally
        .compute_units
        .iter()
        .map(|(kind, units)| {
            let count = units.len();
            let sum: u64 = units.iter().sum();
            let stats = UnitStats {
                count,
                min: units.iter().copied().min().unwrap_or(0),
                max: units.iter().copied().max().unwrap_or(0),
                mean: sum.checked_div(count as u64).unwrap_or(0),
            };
            (*kind, stats)
        })
        .collect();
    Ok(Report {
        config: config.clone(),
        task: task.to_string(),
        slots: end_slot.saturating_sub(start_slot),
        transactions: tally.compute_units.values().map(Vec::len).sum(),
        nodes,
        rounds,
        conservation: check_conservation(chain, &tally, &task)?,
        tokens: tokens.as_ref().map(|run| run.finish(chain, &task)).transpose()?,
        compute_units,
        cost: cost(&tally, (config.nodes as u64).saturating_mul(config.rounds)),
        wall_seconds: started.elapsed().as_secs_f64(),
        peak_memory_kib: peak_memory_kib(),
        dashboard_snapshot_ms: dashboard.slowest.as_secs_f64() * 1000.0,
        dashboard_sync_ms: dashboard.syncing.as_secs_f64() * 1000.0
            / (end_slot.saturating_sub(start_slot).max(1) as f64),
        time: TimeBreakdown {
            other: started.elapsed().as_secs_f64()
                - time.transactions
                - time.refresh
                - time.clock
                - time.runtime,
            ..time
        },
    })
}

impl Report {
    /// What `--strict` fails on: any fault of an honest node's calls, and
    /// any round whose honest nodes computed different lists.
    pub fn strict_problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self
            .nodes
            .iter()
            .filter(|node| node.behaviour == Behaviour::Honest && !node.stats.task_fault_reasons.is_empty())
            .map(|node| format!("honest node {} had faults: {:?}", node.index, node.stats.task_fault_reasons))
            .collect();
        problems.extend(self.rounds.iter().filter(|round| round.honest_roots > 1).map(|round| {
            format!("round {}: honest nodes computed {} different lists", round.round, round.honest_roots)
        }));
        problems
    }
}

/// What the runtimes saw of one round.
struct RoundView {
    /// Distinct roots computed, by every node and by the honest ones.
    roots: usize,
    honest_roots: usize,
    /// Failures, by "part: reason", counted once per node.
    faults: BTreeMap<String, u64>,
}

impl RoundView {
    fn of(world: &Tally, runtimes: &[(NodeRuntime, Behaviour, SharedTask)], round: u64) -> Self {
        let honest: std::collections::BTreeSet<Address> = runtimes
            .iter()
            .filter(|(_, behaviour, _)| *behaviour == Behaviour::Honest)
            .map(|(runtime, _, _)| runtime.node)
            .collect();
        let computed = world.roots.get(&round);
        let distinct = |honest_only: bool| {
            computed
                .iter()
                .flat_map(|roots| roots.iter())
                .filter(|(node, _)| !honest_only || honest.contains(node))
                .map(|(_, root)| *root)
                .collect::<std::collections::BTreeSet<[u8; 32]>>()
                .len()
        };
        let mut faults: BTreeMap<String, u64> = BTreeMap::new();
        for (runtime, _, _) in runtimes {
            let kinds: std::collections::BTreeSet<String> = runtime
                .stats
                .recent_faults
                .iter()
                .filter(|fault| fault.round == round)
                .map(|fault| format!("{}: {}", fault.part, fault.reason))
                .collect();
            for kind in kinds {
                let nodes = faults.entry(kind).or_default();
                *nodes = nodes.saturating_add(1);
            }
        }
        Self { roots: distinct(false), honest_roots: distinct(true), faults }
    }

    /// Why a round nobody was paid for has no list.
    fn no_list_reason(
        &self,
        runtimes: &[(NodeRuntime, Behaviour, SharedTask)],
        round: u64,
        nobody_proved: bool,
    ) -> String {
        let first_error = |part: &str| {
            runtimes
                .iter()
                .flat_map(|(runtime, _, _)| runtime.stats.recent_faults.iter())
                .find(|fault| fault.round == round && fault.part == part)
                .map(|fault| fault.error.clone())
        };
        let failed_on = |part: &str| -> u64 {
            self.faults.iter().filter(|(kind, _)| kind.starts_with(part)).map(|(_, count)| *count).sum()
        };
        if nobody_proved {
            let why = first_error("work").or_else(|| first_error("submission")).unwrap_or_default();
            return format!("no node revealed a proof of the round {why}").trim_end().to_string();
        }
        if failed_on("distribution") > 0 {
            let why = first_error("distribution").unwrap_or_default();
            return format!("the distribution rule failed on {} nodes: {why}", failed_on("distribution"));
        }
        if runtimes.iter().any(|(runtime, _, _)| runtime.stats.rounds_unfunded.contains(&round)) {
            return "the bounty pool could not pay the round".into();
        }
        "no node proposed a list".into()
    }
}

/// The dashboard a node would serve for this task, timed.
struct Dashboard {
    publisher: crate::dashboard::Publisher,
    slowest: std::time::Duration,
    syncing: std::time::Duration,
}

impl Dashboard {
    fn new() -> Self {
        let publisher = crate::dashboard::Publisher::new(Arc::default(), crate::dashboard::Lists::by_rule());
        Self { publisher, slowest: std::time::Duration::ZERO, syncing: std::time::Duration::ZERO }
    }

    fn sync(&mut self, world: &World) {
        let started = std::time::Instant::now();
        self.publisher.sync(world);
        self.syncing = self.syncing.saturating_add(started.elapsed());
    }

    fn measure(&mut self, world: &mut World, slot: u64, own: Option<Address>) {
        let own = own.map(|node| crate::dashboard::Own {
            node,
            last_error: None,
            paused: false,
            auto_claim: true,
            unsandboxed: false,
            warnings: Vec::new(),
            claimed: std::collections::BTreeMap::new(),
            claimed_total: 0,
        });
        let started = std::time::Instant::now();
        self.publisher.publish(world, &crate::dashboard::Sources { slot, rule: &crate::tasks::Hello, own });
        self.slowest = self.slowest.max(started.elapsed());
    }
}
