//! Operators' commands: `gradual node stake | run | claim | unstake | withdraw | show`.

use std::{io::Write, path::PathBuf};

use clap::Subcommand;
use gradual_interface::{
    builders::{self, TaskMint},
    pda::find_node_address,
    state::{Account, Node},
    Address,
};
use serde_json::json;
use solana_signer::Signer;

use super::{
    options::{Chosen, SendOptions, SignerOptions},
    run::RunArgs,
    status::StatusArgs,
    task::{amount, read_node, read_task},
    tokens, views, CliError, CliResult, Context,
};
use crate::{
    amount::Asset,
    chain::Chain,
    runtime::{claim_instructions, owed, token_account_missing},
    store::Store,
};

#[derive(Subcommand)]
pub enum NodeCommand {
    /// Stake in a task (creating the node) or add to the stake: lamports, or
    /// the mint's units (1.5) when the task's nodes stake its mint.
    Stake {
        task: Address,
        #[arg(value_name = "AMOUNT")]
        amount: String,
        /// Where this node serves its results, e.g. http://203.0.113.7:8910.
        #[arg(long)]
        service_url: String,
        /// Where fetched packages are unpacked [default: ~/.cache/gradual/packages].
        #[arg(long, value_name = "DIR", env = "GRADUAL_PACKAGE_CACHE")]
        package_cache: Option<PathBuf>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Run the node: work, submit, audit, vote, propose, claim, every round.
    Run(Box<RunArgs>),
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
        /// Lamports, or the mint's units (1.5) for a stake in the task's mint.
        #[arg(long, alias = "lamports")]
        amount: Option<String>,
        #[command(flatten)]
        options: SendOptions,
    },
    /// Each task's stake, pending rewards, next reward, executable check and last error.
    Status(StatusArgs),
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
            NodeCommand::Status(args) => args.options.chosen(),
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

fn claim(context: &Context, task_address: &Address) -> CliResult {
    let operator = context.signer()?;
    let mut chain = context.chain()?;
    let (task, _) = read_task(&chain, task_address)?;
    let node = find_node_address(task_address, &operator.pubkey()).0;
    let me = read_node(&chain, &node)?
        .ok_or_else(|| CliError::usage(format!("no node for {} in this task", operator.pubkey())))?;
    let asset = Asset::of_bounty(&task);
    let mut claims = Vec::new();
    let mut create_account = token_account_missing(&chain, &task, &operator.pubkey());
    for owed in owed(&mut chain, &context.runtime, (task_address, &task), (&node, &me))? {
        let instructions =
            claim_instructions((&operator.pubkey(), create_account), (task_address, &task), &owed);
        create_account &= !owed.in_tokens;
        chain
            .send(&instructions, &operator, &[&operator])
            .map_err(|refused| CliError::refused("node claim", refused))?;
        let mut claim = json!({ "round": owed.round, "amount": owed.amount, "signature": chain.last_signature().map(|s| s.to_string()) });
        if owed.in_tokens {
            claim["amount_ui"] = json!(asset.format(owed.amount));
        }
        claims.push(claim);
    }
    let total: u64 = claims.iter().filter_map(|claim| claim["amount"].as_u64()).fold(0, u64::saturating_add);
    let mut report = json!({ "node": node.to_string(), "claims": claims, "total": total });
    if let Asset::Token { mint, .. } = asset {
        report["mint"] = json!(mint.to_string());
        report["total_ui"] = json!(asset.format(total));
    }
    context.print(&report);
    Ok(())
}

/// `node stake`: lamports, or the task's mint from the operator's token account.
fn stake(
    context: &Context,
    task: &Address,
    text: &str,
    service_url: &str,
    package_cache: Option<PathBuf>,
) -> CliResult {
    check_service_url(service_url)?;
    let operator = context.signer()?;
    let mut chain = context.chain()?;
    let (state, _) = read_task(&chain, task)?;
    let asset = Asset::of_stake(&state);
    let staked = amount(&asset, "AMOUNT", text)?;
    let mint = TaskMint::of_stake(&state);
    if let Some(mint) = &mint {
        tokens::check_balance(&chain, mint, &operator.pubkey(), (staked, &asset))?;
    }
    // The operator sees what the task's code may do, and what its mint's
    // authorities may do, before the stake is sent.
    let cache = package_cache.unwrap_or_else(crate::package::default_cache);
    let capabilities = super::package::declared(context, &state, &cache);
    let mint_warnings = tokens::task_mint_warnings(&chain, &state)?;
    if !context.json {
        let summary = capabilities["summary"].as_str().unwrap_or_default();
        let _ = writeln!(std::io::stderr(), "the task's package declares: {summary}");
        for warning in &mint_warnings {
            let _ = writeln!(std::io::stderr(), "the task's mint: {warning}");
        }
    }
    let node = find_node_address(task, &operator.pubkey()).0;
    let mut report = json!({ "task": task.to_string(), "node": node.to_string() });
    let instruction = match &mint {
        None => {
            report["lamports"] = json!(staked);
            builders::stake(&operator.pubkey(), task, staked, service_url.as_bytes())
        }
        Some(mint) => {
            report["mint"] = json!(mint.mint.to_string());
            report["amount"] = json!(staked);
            report["amount_ui"] = json!(asset.format(staked));
            report["mint_warnings"] = json!(mint_warnings);
            builders::stake_tokens(&operator.pubkey(), task, mint, staked, service_url.as_bytes())
        }
    };
    report["capabilities"] = capabilities;
    context.send(&mut chain, "node stake", &[instruction], &operator, report)
}

/// `node withdraw`: all of the stake by default; a stake in the task's mint
/// goes to the operator's token account, created first if missing.
fn withdraw(context: &Context, task: &Address, text: Option<&str>) -> CliResult {
    let operator = context.signer()?;
    let mut chain = context.chain()?;
    let node = find_node_address(task, &operator.pubkey()).0;
    let state = read_node(&chain, &node)?
        .ok_or_else(|| CliError::usage(format!("no node for {} in {task}", operator.pubkey())))?;
    let mut report = json!({ "task": task.to_string(), "node": node.to_string() });
    let (mint, asset) = if state.stake_in_tokens != 0 {
        let (task_state, _) = read_task(&chain, task)?;
        (TaskMint::of(&task_state), Asset::of_bounty(&task_state))
    } else {
        (None, Asset::Lamports)
    };
    let withdrawn = match text {
        Some(text) => amount(&asset, "--amount", text)?,
        None => state.total_stake(),
    };
    let instructions =
        crate::daemon::withdraw_instructions(&operator.pubkey(), task, mint.as_ref(), withdrawn);
    match &mint {
        None => report["lamports"] = json!(withdrawn),
        Some(mint) => {
            report["mint"] = json!(mint.mint.to_string());
            report["amount"] = json!(withdrawn);
            report["amount_ui"] = json!(asset.format(withdrawn));
        }
    }
    context.send(&mut chain, "node withdraw", &instructions, &operator, report)
}

pub fn run(context: &Context, command: NodeCommand) -> CliResult {
    match command {
        NodeCommand::Run(args) => super::run::run_node(context, *args),
        NodeCommand::Claim { task, .. } => claim(context, &task),
        NodeCommand::Status(args) => super::status::status(context, args),
        NodeCommand::Stake { task, amount, service_url, package_cache, .. } => {
            stake(context, &task, &amount, &service_url, package_cache)
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
        NodeCommand::Withdraw { task, amount, .. } => withdraw(context, &task, amount.as_deref()),
        NodeCommand::Show { task, operator, db, .. } => {
            let operator = match operator {
                Some(operator) => operator,
                None => context.signer()?.pubkey(),
            };
            let chain = context.chain()?;
            let node = find_node_address(&task, &operator).0;
            let account = chain
                .account(&node)?
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
