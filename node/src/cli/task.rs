//! Creators' commands: `gradual task create | fund | update | pause | resume | close | show`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use gradual_interface::{
    builders::{self, CreateTaskConfig},
    instruction::CreateTaskArgs,
    pda::find_task_address,
    state::{Account, RoundParams, Task},
    Address,
};
use serde_json::json;
use solana_signer::Signer;

use super::{
    options::{Chosen, ReadOptions, SendOptions},
    views, CliError, CliResult, Context,
};
use crate::{chain::Chain, rpc::RpcChain};

#[derive(Subcommand)]
pub enum TaskCommand {
    /// Create a task and deposit its first bounty.
    Create(CreateArgs),
    /// Add lamports to a task's bounty pool.
    Fund {
        task: Address,
        lamports: u64,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Change parameters, or the package nodes run, from the next round on; unset ones keep their value.
    Update {
        task: Address,
        #[command(flatten)]
        params: ParamArgs,
        /// Where nodes fetch the new package: an http(s) URL or a path.
        #[arg(long, requires = "executable")]
        executable_locator: Option<String>,
        /// The new package's local copy (a package, its directory, or a single executable); its sha256 is recorded.
        #[arg(long, requires = "executable_locator")]
        executable: Option<PathBuf>,
        /// Accept a bounty per round above what the pool holds.
        #[arg(long)]
        allow_underfunded: bool,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Stop taking stake and submissions.
    Pause {
        task: Address,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Take stake and submissions again.
    Resume {
        task: Address,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Close a task with no nodes and no open distributions; its lamports go to the creator.
    Close {
        task: Address,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Call each part of a task executable once, on made-up inputs, and judge each answer.
    Check(super::check::CheckArgs),
    /// Pack a task directory (gradual-task.toml at its root) into a reproducible package.
    Pack(super::package::PackArgs),
    /// Show a task's state, and the capabilities its package declares.
    Show {
        task: Address,
        /// Where fetched packages are unpacked [default: ~/.cache/gradual/packages].
        #[arg(long, value_name = "DIR", env = "GRADUAL_PACKAGE_CACHE")]
        package_cache: Option<PathBuf>,
        #[command(flatten)]
        options: ReadOptions,
    },
}

impl TaskCommand {
    pub fn chosen(&self) -> Chosen<'_> {
        match self {
            TaskCommand::Create(args) => args.options.chosen(),
            TaskCommand::Fund { options, .. }
            | TaskCommand::Update { options, .. }
            | TaskCommand::Pause { options, .. }
            | TaskCommand::Resume { options, .. }
            | TaskCommand::Close { options, .. } => options.chosen(),
            TaskCommand::Show { options, .. } => options.chosen(),
            TaskCommand::Check(args) => args.options.chosen(),
            TaskCommand::Pack(args) => args.options.chosen(),
        }
    }
}

/// Round parameters; on `create` unset ones take the defaults shown.
#[derive(Args, Default)]
pub struct ParamArgs {
    /// Lamports each round pays out [create default: required].
    #[arg(long)]
    bounty_per_round: Option<u64>,
    /// [create default: 8]
    #[arg(long)]
    submission_window: Option<u64>,
    /// [create default: 12]
    #[arg(long)]
    audit_window: Option<u64>,
    /// [create default: 8]
    #[arg(long)]
    distribution_window: Option<u64>,
    /// [create default: 12]
    #[arg(long)]
    distribution_audit_window: Option<u64>,
    /// [create default: 1 SOL]
    #[arg(long)]
    min_stake: Option<u64>,
    /// [create default: 0.1 SOL]
    #[arg(long)]
    audit_bond: Option<u64>,
    /// [create default: 1000 (10%)]
    #[arg(long)]
    slash_rate_bps: Option<u16>,
}

impl ParamArgs {
    fn any(&self) -> bool {
        [
            self.bounty_per_round,
            self.submission_window,
            self.audit_window,
            self.distribution_window,
            self.distribution_audit_window,
            self.min_stake,
            self.audit_bond,
        ]
        .iter()
        .any(Option::is_some)
            || self.slash_rate_bps.is_some()
    }

    fn over(&self, base: &RoundParams) -> RoundParams {
        RoundParams {
            bounty_per_round: self.bounty_per_round.unwrap_or(base.bounty_per_round),
            submission_window: self.submission_window.unwrap_or(base.submission_window),
            audit_window: self.audit_window.unwrap_or(base.audit_window),
            distribution_window: self.distribution_window.unwrap_or(base.distribution_window),
            distribution_audit_window: self
                .distribution_audit_window
                .unwrap_or(base.distribution_audit_window),
            min_stake: self.min_stake.unwrap_or(base.min_stake),
            audit_bond: self.audit_bond.unwrap_or(base.audit_bond),
            slash_rate_bps: self.slash_rate_bps.unwrap_or(base.slash_rate_bps),
            _padding: [0; 6],
        }
    }
}

#[derive(Args)]
pub struct CreateArgs {
    /// Distinguishes this creator's tasks [default: the current slot].
    #[arg(long)]
    task_id: Option<u64>,
    #[arg(long)]
    name: String,
    #[arg(long, default_value = "")]
    description: String,
    /// Lamports deposited as the first bounty.
    #[arg(long)]
    bounty: u64,
    /// `builtin:hello`, `builtin:http-digest <url>...`, or where nodes fetch the package: an http(s) URL or a path.
    #[arg(long, default_value = "builtin:hello")]
    executable_locator: String,
    /// A local copy of the package (or its directory, packed here) or single executable; its sha256 is recorded on-chain.
    #[arg(long)]
    executable: Option<PathBuf>,
    #[arg(long, default_value_t = gradual_interface::state::DEFAULT_ROUND_LENGTH)]
    round_length: u64,
    /// Slots from now until round 0 starts.
    #[arg(long, default_value_t = 20)]
    start_in: u64,
    #[arg(long, default_value_t = 3)]
    unstake_cooldown_rounds: u64,
    /// Fewest committee seats voting for an audit to be upheld (the quorum).
    #[arg(long, default_value_t = 8)]
    min_audit_seats: u16,
    /// Seats on each audit's committee, drawn by stake: bounds the votes per audit.
    #[arg(long, default_value_t = 64)]
    audit_committee_seats: u16,
    #[arg(long, default_value_t = 2)]
    allowed_failed_distributions: u8,
    /// May update, pause and resume the task [default: the creator].
    #[arg(long)]
    manager: Option<Address>,
    #[command(flatten)]
    params: ParamArgs,
    /// Accept a bounty per round above the first deposit (a task that cannot pay one round yet).
    #[arg(long)]
    allow_underfunded: bool,
    #[command(flatten)]
    options: SendOptions,
}

/// The sha256 nodes must find: the package's (a directory is packed first),
/// the executable's, or for built-in tasks the locator's.
pub fn executable_sha256(locator: &str, executable: Option<&PathBuf>) -> CliResult<[u8; 32]> {
    match executable {
        Some(path) => {
            crate::package::sha256_of(path).map_err(|error| CliError::usage(format!("--executable: {error}")))
        }
        None => Ok(solana_sha256_hasher::hash(locator.as_bytes()).to_bytes()),
    }
}

/// How many rounds `held` pays for; refuses a bounty per round that `held`
/// cannot pay even once unless the user says so.
fn check_funded(held: u64, what: &str, bounty_per_round: u64, allow_underfunded: bool) -> CliResult<u64> {
    let rounds = held.checked_div(bounty_per_round).unwrap_or(0);
    if rounds == 0 && !allow_underfunded {
        return Err(CliError::usage(format!(
            "--bounty-per-round {bounty_per_round} is above {what} ({held} lamports), which pays for 0 rounds; \
             deposit more or pass --allow-underfunded"
        )));
    }
    Ok(rounds)
}

/// The node account, `None` if there is none; an RPC failure is an error (exit 1), not "no node".
pub(super) fn read_node(
    chain: &RpcChain,
    node: &Address,
) -> CliResult<Option<gradual_interface::state::Node>> {
    let account = chain.account(node)?;
    Ok(account.and_then(|account| gradual_interface::state::Node::read(&account.data)))
}

pub fn read_task(chain: &RpcChain, task: &Address) -> CliResult<(Task, u64)> {
    let account = chain.account(task)?.ok_or_else(|| CliError::usage(format!("no account at {task}")))?;
    let decoded =
        Task::read(&account.data).ok_or_else(|| CliError::usage(format!("{task} is not a Gradual task")))?;
    Ok((decoded, account.lamports))
}

fn create(context: &Context, args: CreateArgs) -> CliResult {
    let creator = context.signer()?;
    let mut chain = context.chain()?;
    let Some(bounty_per_round) = args.params.bounty_per_round else {
        return Err(CliError::usage("--bounty-per-round is required"));
    };
    let params = args.params.over(&gradual_interface::state::RoundParams::defaults(bounty_per_round));
    params.validate(args.round_length).map_err(|error| {
        CliError::usage(format!("invalid parameters: {} ({})", error.name(), error.message()))
    })?;
    let rounds_funded =
        check_funded(args.bounty, "the first deposit", bounty_per_round, args.allow_underfunded)?;
    let task_id = args.task_id.unwrap_or(chain.slot());
    let sha256 = executable_sha256(&args.executable_locator, args.executable.as_ref())?;
    let config = CreateTaskConfig {
        args: CreateTaskArgs {
            task_id,
            initial_bounty: args.bounty,
            start_slot: chain.slot().saturating_add(args.start_in),
            round_length: args.round_length,
            unstake_cooldown_rounds: args.unstake_cooldown_rounds,
            manager: args.manager.unwrap_or(creator.pubkey()).to_bytes(),
            executable_sha256: sha256,
            params,
            allowed_failed_distributions: args.allowed_failed_distributions,
            bump: 0,
            min_audit_seats: args.min_audit_seats,
            audit_committee_seats: args.audit_committee_seats,
            stake_in_lamports: 0,
            _padding: [0; 1],
        },
        name: args.name.into_bytes(),
        description: args.description.into_bytes(),
        executable_locator: args.executable_locator.into_bytes(),
    };
    let task = find_task_address(&creator.pubkey(), task_id).0;
    let instruction = builders::create_task(&creator.pubkey(), &config);
    let report = json!({
        "task": task.to_string(),
        "task_id": task_id,
        "start_slot": config.args.start_slot,
        "round_length": config.args.round_length,
        "rounds_funded": rounds_funded,
    });
    context.send(&mut chain, "task create", &[instruction], &creator, report)
}

pub fn run(context: &Context, command: TaskCommand) -> CliResult {
    match command {
        TaskCommand::Create(args) => create(context, args),
        TaskCommand::Fund { task, lamports, .. } => {
            let funder = context.signer()?;
            let mut chain = context.chain()?;
            read_task(&chain, &task)?;
            let instruction = builders::fund_task(&funder.pubkey(), &task, lamports);
            context.send(
                &mut chain,
                "task fund",
                &[instruction],
                &funder,
                json!({ "task": task.to_string(), "lamports": lamports }),
            )
        }
        TaskCommand::Update { task, params, allow_underfunded, executable_locator, executable, .. } => {
            let manager = context.signer()?;
            let mut chain = context.chain()?;
            let (state, _) = read_task(&chain, &task)?;
            let current = state.timeline().round_at(chain.slot()).unwrap_or(0);
            let from_round = state.timeline().next_round_at(chain.slot());
            let mut instructions = Vec::new();
            let mut report = json!({ "task": task.to_string(), "from_round": from_round });
            if params.any() || executable.is_none() {
                let base = *state
                    .params_for(current.saturating_add(1))
                    .map_err(|error| CliError::failed(error.name()))?;
                let updated = params.over(&base);
                let rounds_funded = match params.bounty_per_round {
                    Some(bounty_per_round) => Some(check_funded(
                        state.bounty_pool,
                        "the bounty pool",
                        bounty_per_round,
                        allow_underfunded,
                    )?),
                    None => None,
                };
                updated.validate(state.round_length).map_err(|error| {
                    CliError::usage(format!("invalid parameters: {} ({})", error.name(), error.message()))
                })?;
                instructions.push(builders::update_task(&manager.pubkey(), &task, &updated));
                report["params"] = views::params(&updated);
                report["rounds_funded"] = json!(rounds_funded);
            }
            if let (Some(locator), Some(path)) = (executable_locator, executable) {
                let sha256 = executable_sha256(&locator, Some(&path))?;
                instructions.push(builders::update_task_package(
                    &manager.pubkey(),
                    &task,
                    &sha256,
                    locator.as_bytes(),
                ));
                report["executable_sha256"] = json!(crate::package::hex(&sha256));
                report["executable_locator"] = json!(locator);
            }
            context.send(&mut chain, "task update", &instructions, &manager, report)
        }
        TaskCommand::Pause { task, .. } | TaskCommand::Resume { task, .. } => {
            let active = matches!(command, TaskCommand::Resume { .. });
            let manager = context.signer()?;
            let mut chain = context.chain()?;
            read_task(&chain, &task)?;
            let instruction = builders::set_task_active(&manager.pubkey(), &task, active);
            let what = if active { "task resume" } else { "task pause" };
            context.send(
                &mut chain,
                what,
                &[instruction],
                &manager,
                json!({ "task": task.to_string(), "active": active }),
            )
        }
        TaskCommand::Close { task, .. } => {
            let creator = context.signer()?;
            let mut chain = context.chain()?;
            let (_, lamports) = read_task(&chain, &task)?;
            let instruction = builders::close_task(&creator.pubkey(), &task);
            context.send(
                &mut chain,
                "task close",
                &[instruction],
                &creator,
                json!({ "task": task.to_string(), "returned": lamports }),
            )
        }
        TaskCommand::Check(args) => super::check::check(context, args),
        TaskCommand::Pack(args) => super::package::pack(context, args),
        TaskCommand::Show { task, package_cache, .. } => {
            let chain = context.chain()?;
            let (state, lamports) = read_task(&chain, &task)?;
            let mut view = views::task(&task, &state, lamports, chain.slot());
            let cache = package_cache.unwrap_or_else(crate::package::default_cache);
            view["capabilities"] = super::package::declared(context, &state, &cache);
            context.print(&view);
            Ok(())
        }
    }
}
