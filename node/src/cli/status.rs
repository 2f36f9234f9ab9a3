//! `gradual node status`: for each task, the node's stake, the rewards it
//! can claim now, when the next one comes, whether the executable still
//! matches the task's hash, and the running node's last error.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;
use gradual_interface::{
    pda::{find_distribution_address, find_node_address},
    round::list_round,
    state::{Account as _, Distribution, Node, Task as TaskAccount, DISTRIBUTION_APPROVED},
    Address,
};
use serde_json::{json, Value};
use solana_signer::Signer;

use super::{
    options::SignerOptions,
    task::{read_node, read_task},
    CliError, CliResult, Context,
};
use crate::{amount::Asset, chain::Chain};

/// Slot length assumed for "in seconds": a cluster's target.
const SLOT_MS: u64 = 400;

#[derive(Args)]
pub struct StatusArgs {
    /// The tasks (or --node-config for those of a node config file).
    #[arg(required_unless_present = "node_config")]
    tasks: Vec<Address>,
    /// The tasks, executables and metrics address of `node run --node-config`.
    #[arg(long, value_name = "FILE", conflicts_with = "tasks")]
    node_config: Option<PathBuf>,
    /// Where the running node serves metrics: its last error per task comes from there.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// The task's executable, to check against its recorded sha256.
    #[arg(long, conflicts_with = "node_config")]
    executable: Option<PathBuf>,
    #[command(flatten)]
    pub(super) options: SignerOptions,
}

pub fn status(context: &Context, args: StatusArgs) -> CliResult {
    let (tasks, metrics_listen): (Vec<(Address, Option<PathBuf>)>, Option<SocketAddr>) = match &args
        .node_config
    {
        Some(path) => {
            let (config, runs) = crate::daemon::read_config(path).map_err(CliError::usage)?;
            let tasks = runs.into_iter().map(|run| (run.task, run.executable)).collect();
            (tasks, args.metrics_listen.or(config.metrics_listen))
        }
        None => {
            (args.tasks.iter().map(|task| (*task, args.executable.clone())).collect(), args.metrics_listen)
        }
    };
    let operator = context.signer()?.pubkey();
    let mut chain = context.chain()?;
    let running = metrics_listen.and_then(|listen| running_status(context, listen));
    let mut reports = Vec::new();
    let mut failure: Option<CliError> = None;
    for (task_address, executable) in tasks {
        // One task that cannot be read is reported, not the end of the others.
        let report = task_status(
            context,
            &mut chain,
            (task_address, executable.as_ref()),
            (&operator, running.as_ref()),
        )
        .unwrap_or_else(|error| {
            let report = json!({ "task": task_address.to_string(), "error": error.message });
            failure.get_or_insert(error);
            report
        });
        reports.push(report);
    }
    if context.json {
        for report in &reports {
            out!("{report}");
        }
    } else {
        for report in &reports {
            if let Some(error) = report.get("error").and_then(Value::as_str) {
                out!("task {}: error: {error}", report["task"].as_str().unwrap_or_default());
                continue;
            }
            let field = |key: &str| report.get(key).map(ToString::to_string).unwrap_or_default();
            let (stake, pending) = amounts_text(report);
            out!(
                "task {} node {}\n  stake {} · pending {} in rounds {} · next reward in {} s · executable matches {} · running {} · sandbox {} · last error {}",
                field("task"),
                field("node"),
                stake,
                pending,
                field("pending_rounds"),
                field("next_reward_in_seconds"),
                field("executable_matches"),
                field("running"),
                field("sandbox"),
                field("last_error")
            );
            let lines = |key: &str| report.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
            for alert in lines("alerts") {
                out!("  ALERT {}", alert.as_str().unwrap_or_default());
            }
            for warning in lines("warnings") {
                out!(
                    "  warning round {} ({}): {}",
                    warning["round"],
                    warning["reason"].as_str().unwrap_or_default(),
                    warning["message"].as_str().unwrap_or_default()
                );
            }
        }
    }
    // Every task is reported first; then the command fails as the first failed task did.
    failure.map_or(Ok(()), |mut error| {
        error.message = format!(
            "{} of {} tasks could not be read: {}",
            reports.iter().filter(|report| report.get("error").is_some()).count(),
            reports.len(),
            error.message
        );
        Err(error)
    })
}

/// The running node's `/status`, if it answers.
fn running_status(context: &Context, listen: SocketAddr) -> Option<Value> {
    let url = format!("http://{listen}/status");
    context.runtime.block_on(async {
        let response = reqwest::Client::new().get(&url).timeout(Duration::from_secs(3)).send().await.ok()?;
        response.json::<Value>().await.ok()
    })
}

/// Whether the executable's sha256 is the task's: built-in tasks check their
/// locator, others the file given; `None` when there is nothing to check.
fn executable_matches(task: &TaskAccount, executable: Option<&PathBuf>) -> CliResult<Option<bool>> {
    let locator = task.executable_locator();
    if locator.starts_with(b"builtin:") {
        return Ok(Some(solana_sha256_hasher::hash(locator).to_bytes() == task.executable_sha256));
    }
    let Some(path) = executable else { return Ok(None) };
    let bytes = std::fs::read(path)
        .map_err(|error| CliError::usage(format!("cannot read executable {}: {error}", path.display())))?;
    Ok(Some(solana_sha256_hasher::hash(&bytes).to_bytes() == task.executable_sha256))
}

/// The slot after which the earliest round this node submitted and was not
/// yet paid for has its list approved, if the list stands: the end of that
/// list's vote window.
fn next_reward_slot(
    chain: &dyn Chain,
    task: &TaskAccount,
    task_address: &Address,
    me: &Node,
) -> CliResult<Option<u64>> {
    let Some(current) = task.timeline().round_at(chain.slot()) else { return Ok(None) };
    let mut unpaid = None;
    let rounds = me
        .submissions
        .iter()
        .filter(|entry| entry.commitment != [0; 32] && !me.claimed_rounds.contains(entry.round))
        .map(|entry| entry.round)
        .filter(|round| list_round(*round, 0).is_some_and(|listed_in| listed_in >= current));
    for round in rounds {
        let address = find_distribution_address(task_address, round).0;
        let list = chain.account(&address)?.and_then(|account| Distribution::read(&account.data));
        if list.is_none_or(|list| list.status != DISTRIBUTION_APPROVED) {
            unpaid = Some(unpaid.map_or(round, |earliest: u64| earliest.min(round)));
        }
    }
    let Some(unpaid) = unpaid else { return Ok(None) };
    let Some(listed_in) = list_round(unpaid, 0) else { return Ok(None) };
    let Ok(params) = task.params_for(listed_in) else { return Ok(None) };
    Ok(task
        .timeline()
        .round_start(listed_in)
        .and_then(|start| start.checked_add(params.distribution_window))
        .and_then(|end| end.checked_add(params.distribution_audit_window)))
}

/// A token task's amounts in the mint's units, with the mint: `stake_ui`
/// (when the stake is in the mint) and `pending_rewards_ui`.
fn add_token_amounts(report: &mut Value, task: &TaskAccount, (stake, pending): (u64, u64)) {
    let (bounty, staked) = (Asset::of_bounty(task), Asset::of_stake(task));
    if let Asset::Token { mint, .. } = bounty {
        report["mint"] = mint.to_string().into();
        report["stake_in_tokens"] = staked.is_token().into();
        if staked.is_token() {
            report["stake_ui"] = staked.format(stake).into();
        }
        report["pending_rewards_ui"] = bounty.format(pending).into();
    }
}

/// The stake and pending rewards of a report, as text: a token task's in the
/// mint's units, named by the mint's address.
fn amounts_text(report: &Value) -> (String, String) {
    let field = |key: &str| report.get(key).map(ToString::to_string).unwrap_or_default();
    let Some(mint) = report.get("mint").and_then(Value::as_str) else {
        return (field("stake"), field("pending_rewards"));
    };
    let text = |key: &str| report.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let stake = match report.get("stake_ui") {
        Some(_) => format!("{} {mint}", text("stake_ui")),
        None => format!("{} lamports", field("stake")),
    };
    (stake, format!("{} {mint}", text("pending_rewards_ui")))
}

/// One task's report.
fn task_status(
    context: &Context,
    chain: &mut crate::rpc::RpcChain,
    (task_address, executable): (Address, Option<&PathBuf>),
    (operator, running): (&Address, Option<&Value>),
) -> CliResult<Value> {
    let (task, _) = read_task(chain, &task_address)?;
    let node = find_node_address(&task_address, operator).0;
    let me = read_node(chain, &node)?;
    let published = running.and_then(|status| status.get(task_address.to_string()));
    let last_error = published.and_then(|task| task.get("last_error"));
    let mut report = json!({
        "task": task_address.to_string(),
        "node": node.to_string(),
        "staked": me.is_some(),
        "executable_matches": executable_matches(&task, executable)?,
        "running": published.is_some_and(|task| task.get("failed").is_none()),
        "last_error": last_error.cloned(),
        "sandbox": published.and_then(|task| task.get("sandbox")).cloned(),
        "alerts": published.and_then(|task| task.get("alerts")).cloned().unwrap_or_else(|| json!([])),
        "warnings": published.and_then(|task| task.get("warnings")).cloned().unwrap_or_else(|| json!([])),
        "rounds_missed": published.and_then(|task| task.get("rounds_missed")).cloned(),
        "seconds_since_tick": published.and_then(|task| task.get("seconds_since_tick")).cloned(),
    });
    if let Some(me) = me {
        let owed = crate::runtime::owed(chain, &context.runtime, (&task_address, &task), (&node, &me))?;
        let pending: u64 = owed.iter().map(|owed| owed.amount).fold(0, u64::saturating_add);
        let next = if pending > 0 {
            Some(chain.slot())
        } else {
            next_reward_slot(chain, &task, &task_address, &me)?
        };
        let slots = next.map(|slot| slot.saturating_sub(chain.slot()));
        report["stake"] = me.total_stake().into();
        report["pending_rewards"] = pending.into();
        report["pending_rounds"] = owed.iter().map(|owed| owed.round).collect::<Vec<_>>().into();
        report["next_reward_in_slots"] = slots.into();
        report["next_reward_in_seconds"] = slots.map(|slots| slots.saturating_mul(SLOT_MS) / 1000).into();
        add_token_amounts(&mut report, &task, (me.total_stake(), pending));
    }
    Ok(report)
}
