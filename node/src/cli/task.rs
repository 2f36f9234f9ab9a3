//! Creators' commands: `gradual task create | fund | update | pause | resume | close | show`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use gradual_interface::{
    builders::{self, CreateTaskConfig, TaskMint},
    instruction::CreateTaskArgs,
    pda::find_task_address,
    state::{Account, RoundParams, Task},
    token::MintInfo,
    Address,
};
use serde_json::json;
use solana_signer::Signer;

use super::{
    options::{Chosen, ReadOptions, SendOptions},
    tokens, views, CliError, CliResult, Context,
};
use crate::{amount::Asset, chain::Chain, rpc::RpcChain};

#[derive(Subcommand)]
pub enum TaskCommand {
    /// Create a task and deposit its first bounty.
    Create(CreateArgs),
    /// Add to a task's bounty pool: lamports, or for a token task the mint's units (1.5).
    Fund {
        task: Address,
        #[arg(value_name = "AMOUNT")]
        amount: String,
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
    /// Close a task with no nodes and no open distributions; its lamports (and a token task's vault) go to the creator.
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
    /// Paid out each round: lamports, or for a token task the mint's units [create default: required].
    #[arg(long)]
    bounty_per_round: Option<String>,
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
    /// Lamports, or the mint's units when nodes stake the mint [create default: 1 SOL, or 1 token].
    #[arg(long)]
    min_stake: Option<String>,
    /// Lamports, for every task [create default: 0.1 SOL]
    #[arg(long)]
    audit_bond: Option<u64>,
    /// [create default: 1000 (10%)]
    #[arg(long)]
    slash_rate_bps: Option<u16>,
}

impl ParamArgs {
    fn any(&self) -> bool {
        [
            self.submission_window,
            self.audit_window,
            self.distribution_window,
            self.distribution_audit_window,
            self.audit_bond,
        ]
        .iter()
        .any(Option::is_some)
            || self.bounty_per_round.is_some()
            || self.min_stake.is_some()
            || self.slash_rate_bps.is_some()
    }

    /// The bounty per round given, in the bounty's asset.
    fn bounty_per_round(&self, assets: &Assets) -> CliResult<Option<u64>> {
        self.bounty_per_round
            .as_deref()
            .map(|text| amount(&assets.bounty, "--bounty-per-round", text))
            .transpose()
    }

    fn over(&self, base: &RoundParams, assets: &Assets) -> CliResult<RoundParams> {
        let min_stake =
            self.min_stake.as_deref().map(|text| amount(&assets.stake, "--min-stake", text)).transpose()?;
        Ok(RoundParams {
            bounty_per_round: self.bounty_per_round(assets)?.unwrap_or(base.bounty_per_round),
            submission_window: self.submission_window.unwrap_or(base.submission_window),
            audit_window: self.audit_window.unwrap_or(base.audit_window),
            distribution_window: self.distribution_window.unwrap_or(base.distribution_window),
            distribution_audit_window: self
                .distribution_audit_window
                .unwrap_or(base.distribution_audit_window),
            min_stake: min_stake.unwrap_or(base.min_stake),
            audit_bond: self.audit_bond.unwrap_or(base.audit_bond),
            slash_rate_bps: self.slash_rate_bps.unwrap_or(base.slash_rate_bps),
            _padding: [0; 6],
        })
    }
}

/// What a task's amounts are in: its bounty's asset and its stake's.
#[derive(Clone, Copy)]
pub(super) struct Assets {
    pub bounty: Asset,
    pub stake: Asset,
}

impl Assets {
    pub fn of(task: &Task) -> Self {
        Self { bounty: Asset::of_bounty(task), stake: Asset::of_stake(task) }
    }
}

/// `text` read as an amount of `asset`, for the flag or argument `what`; bad input exits 2.
pub(super) fn amount(asset: &Asset, what: &str, text: &str) -> CliResult<u64> {
    asset.parse(text).map_err(|error| CliError::usage(format!("{what}: {error}")))
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
    /// The first bounty deposited: lamports, or with --mint the mint's units (1.5).
    #[arg(long)]
    bounty: String,
    /// Pay the bounty in this SPL Token or Token-2022 mint, from the creator's associated token account.
    #[arg(long)]
    mint: Option<Address>,
    /// With --mint: nodes stake SOL rather than the mint.
    #[arg(long, requires = "mint")]
    stake_in_sol: bool,
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
fn check_funded(
    held: u64,
    what: &str,
    (bounty_per_round, asset): (u64, &Asset),
    allow_underfunded: bool,
) -> CliResult<u64> {
    let rounds = held.checked_div(bounty_per_round).unwrap_or(0);
    if rounds == 0 && !allow_underfunded {
        return Err(CliError::usage(format!(
            "--bounty-per-round {} is above {what} ({}), which pays for 0 rounds; \
             deposit more or pass --allow-underfunded",
            asset.format(bounty_per_round),
            asset.display(held)
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

/// The mint a new task pays in, with what is known of it, read before anything is sent.
struct NewTokenTask {
    mint: TaskMint,
    info: MintInfo,
    epoch: Option<u64>,
}

/// The assets of the task `args` create: with `--mint`, read and checked first.
fn new_task_assets(chain: &RpcChain, args: &CreateArgs) -> CliResult<(Assets, Option<NewTokenTask>)> {
    let Some(mint) = args.mint else {
        return Ok((Assets { bounty: Asset::Lamports, stake: Asset::Lamports }, None));
    };
    let (mint, info) = tokens::read_allowed_mint(chain, &mint)?;
    tokens::refuse_paused(&info, &mint.mint)?;
    let token = Asset::Token { mint: mint.mint, decimals: info.decimals };
    let stake = if args.stake_in_sol { Asset::Lamports } else { token };
    let epoch = tokens::current_epoch(chain)?;
    Ok((Assets { bounty: token, stake }, Some(NewTokenTask { mint, info, epoch })))
}

/// The round parameters `args` ask for, over the defaults; a task whose
/// nodes stake its mint asks for one whole token by default.
fn new_task_params(args: &CreateArgs, assets: &Assets) -> CliResult<RoundParams> {
    let Some(bounty_per_round) = args.params.bounty_per_round(assets)? else {
        return Err(CliError::usage("--bounty-per-round is required"));
    };
    let mut base = RoundParams::defaults(bounty_per_round);
    if assets.stake.is_token() {
        base.min_stake = 10u64.checked_pow(u32::from(assets.stake.decimals())).unwrap_or(u64::MAX);
    }
    let params = args.params.over(&base, assets)?;
    params.validate(args.round_length).map_err(|error| {
        CliError::usage(format!("invalid parameters: {} ({})", error.name(), error.message()))
    })?;
    Ok(params)
}

fn create(context: &Context, args: CreateArgs) -> CliResult {
    let creator = context.signer()?;
    let mut chain = context.chain()?;
    let (assets, token) = new_task_assets(&chain, &args)?;
    let bounty = amount(&assets.bounty, "--bounty", &args.bounty)?;
    let params = new_task_params(&args, &assets)?;
    // A transfer fee withheld from the deposit never reaches the pool.
    let withheld = token.as_ref().map_or(0, |token| tokens::transfer_fee(&token.info, bounty, token.epoch));
    let rounds_funded = check_funded(
        bounty.saturating_sub(withheld),
        "the first deposit",
        (params.bounty_per_round, &assets.bounty),
        args.allow_underfunded,
    )?;
    if let Some(token) = &token {
        tokens::check_balance(&chain, &token.mint, &creator.pubkey(), (bounty, &assets.bounty))?;
    }
    let task_id = args.task_id.unwrap_or(chain.slot());
    let sha256 = executable_sha256(&args.executable_locator, args.executable.as_ref())?;
    let config = CreateTaskConfig {
        args: CreateTaskArgs {
            task_id,
            initial_bounty: bounty,
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
            stake_in_lamports: u8::from(args.stake_in_sol),
            _padding: [0; 1],
        },
        name: args.name.into_bytes(),
        description: args.description.into_bytes(),
        executable_locator: args.executable_locator.into_bytes(),
    };
    let task = find_task_address(&creator.pubkey(), task_id).0;
    let mut report = json!({
        "task": task.to_string(),
        "task_id": task_id,
        "start_slot": config.args.start_slot,
        "round_length": config.args.round_length,
        "rounds_funded": rounds_funded,
    });
    let instruction = match &token {
        None => builders::create_task(&creator.pubkey(), &config),
        Some(token) => {
            report["mint"] = json!(token.mint.mint.to_string());
            report["token_program"] = json!(token.mint.token_program.to_string());
            report["vault"] = json!(token.mint.vault(&task).to_string());
            report["stake_asset"] =
                json!(if assets.stake.is_token() { token.mint.mint.to_string() } else { "SOL".into() });
            report["bounty"] = json!(bounty);
            report["bounty_ui"] = json!(assets.bounty.format(bounty));
            report["transfer_fee_withheld"] = json!(withheld);
            builders::create_token_task(&creator.pubkey(), &config, &token.mint)
        }
    };
    context.send(&mut chain, "task create", &[instruction], &creator, report)
}

/// `task fund`: lamports to a lamport task, the mint's units to a token task.
fn fund(context: &Context, task: &Address, text: &str) -> CliResult {
    let funder = context.signer()?;
    let mut chain = context.chain()?;
    let (state, _) = read_task(&chain, task)?;
    let asset = Asset::of_bounty(&state);
    let amount = amount(&asset, "AMOUNT", text)?;
    let Some(mint) = TaskMint::of(&state) else {
        let instruction = builders::fund_task(&funder.pubkey(), task, amount);
        let report = json!({ "task": task.to_string(), "lamports": amount });
        return context.send(&mut chain, "task fund", &[instruction], &funder, report);
    };
    tokens::check_balance(&chain, &mint, &funder.pubkey(), (amount, &asset))?;
    let instruction = builders::fund_task_tokens(&funder.pubkey(), task, &mint, amount);
    let report = json!({
        "task": task.to_string(),
        "mint": mint.mint.to_string(),
        "amount": amount,
        "amount_ui": asset.format(amount),
    });
    context.send(&mut chain, "task fund", &[instruction], &funder, report)
}

/// `task close`: a token task's vault goes to the creator's token account,
/// created first if missing, after any transfer fees withheld in the vault
/// are harvested to the mint (a vault holding them cannot be closed).
fn close(context: &Context, task: &Address) -> CliResult {
    let creator = context.signer()?;
    let mut chain = context.chain()?;
    let (state, lamports) = read_task(&chain, task)?;
    let Some(mint) = TaskMint::of(&state) else {
        let instruction = builders::close_task(&creator.pubkey(), task);
        let report = json!({ "task": task.to_string(), "returned": lamports });
        return context.send(&mut chain, "task close", &[instruction], &creator, report);
    };
    let vault = mint.vault(task);
    let mut instructions = vec![mint.create_account_of(&creator.pubkey(), &creator.pubkey())];
    let has_fee = tokens::read_mint_state(&chain, &mint.mint)?
        .and_then(|(_, read)| read.ok())
        .is_some_and(|info| info.transfer_fee.is_some());
    if mint.token_program == gradual_interface::token::TOKEN_2022_PROGRAM_ID && has_fee {
        instructions.push(tokens::harvest_withheld(&mint.mint, &[vault]));
    }
    instructions.push(builders::close_task_tokens(&creator.pubkey(), task, &mint));
    let held = tokens::token_balance(&chain, &mint.token_program, &vault)?.unwrap_or(0);
    let report = json!({
        "task": task.to_string(),
        "returned": lamports,
        "mint": mint.mint.to_string(),
        "tokens_returned": held,
        "tokens_returned_ui": Asset::of_bounty(&state).format(held),
    });
    context.send(&mut chain, "task close", &instructions, &creator, report)
}

pub fn run(context: &Context, command: TaskCommand) -> CliResult {
    match command {
        TaskCommand::Create(args) => create(context, args),
        TaskCommand::Fund { task, amount, .. } => fund(context, &task, &amount),
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
                let assets = Assets::of(&state);
                let updated = params.over(&base, &assets)?;
                let rounds_funded = match params.bounty_per_round(&assets)? {
                    Some(bounty_per_round) => Some(check_funded(
                        state.bounty_pool,
                        "the bounty pool",
                        (bounty_per_round, &assets.bounty),
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
        TaskCommand::Close { task, .. } => close(context, &task),
        TaskCommand::Check(args) => super::check::check(context, args),
        TaskCommand::Pack(args) => super::package::pack(context, args),
        TaskCommand::Show { task, package_cache, .. } => {
            let chain = context.chain()?;
            let (state, lamports) = read_task(&chain, &task)?;
            let mut view = views::task(&task, &state, lamports, chain.slot());
            tokens::add_task_fields(&chain, &mut view, &state)?;
            let cache = package_cache.unwrap_or_else(crate::package::default_cache);
            view["capabilities"] = super::package::declared(context, &state, &cache);
            context.print(&view);
            Ok(())
        }
    }
}
