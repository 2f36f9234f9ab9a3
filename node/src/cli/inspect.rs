//! Auditors' reads: `gradual inspect task | node | round | audit | distribution | mint`.
//! Every read decodes raw account state; `--output json` prints it as JSON.

use std::collections::BTreeMap;

use clap::Subcommand;
use gradual_interface::{
    event::AnyEvent,
    pda::{find_audit_address, find_distribution_address, find_node_address},
    state::{tracked_lamports, Account, Audit, Distribution, Node, Task},
    token::{read_mint, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID},
    Address,
};
use serde_json::{json, Value};

use super::{
    options::{Chosen, ReadOptions},
    task::read_task,
    views, CliError, CliResult, Context,
};
use crate::{
    chain::Chain,
    history::{self, Happened},
    rpc::RpcChain,
};

#[derive(Subcommand)]
pub enum InspectCommand {
    /// A task, its parameters and the conservation check over its accounts.
    Task {
        task: Address,
        #[command(flatten)]
        options: ReadOptions,
    },
    /// A node account, by address or by `--task` and `--operator`.
    Node {
        node: Option<Address>,
        #[arg(long, requires = "operator")]
        task: Option<Address>,
        #[arg(long, requires = "task")]
        operator: Option<Address>,
        #[command(flatten)]
        options: ReadOptions,
    },
    /// One round of a task: every node's submission, audits and the distribution.
    /// Submissions come from the nodes' accounts while they keep the round, else from history.
    Round {
        task: Address,
        round: u64,
        /// Take the submissions from history even while the accounts keep them.
        #[arg(long)]
        history: bool,
        #[command(flatten)]
        options: ReadOptions,
    },
    /// An audit, by address or by `--target` node and `--round`.
    Audit {
        audit: Option<Address>,
        #[arg(long, requires = "round")]
        target: Option<Address>,
        #[arg(long, requires = "target")]
        round: Option<u64>,
        #[command(flatten)]
        options: ReadOptions,
    },
    /// A mint, as a token task would take it: refused (and why) or allowed,
    /// with the freeze, pause, fee and close powers others hold over it.
    Mint {
        mint: Address,
        #[command(flatten)]
        options: ReadOptions,
    },
    /// A round's distribution list account.
    Distribution {
        task: Address,
        round: u64,
        #[command(flatten)]
        options: ReadOptions,
    },
}

impl InspectCommand {
    pub fn chosen(&self) -> Chosen<'_> {
        match self {
            InspectCommand::Task { options, .. }
            | InspectCommand::Node { options, .. }
            | InspectCommand::Round { options, .. }
            | InspectCommand::Audit { options, .. }
            | InspectCommand::Mint { options, .. }
            | InspectCommand::Distribution { options, .. } => options.chosen(),
        }
    }
}

fn read<T: Account>(chain: &RpcChain, address: &Address, kind: &str) -> CliResult<(T, u64)> {
    let account =
        chain.account(address)?.ok_or_else(|| CliError::usage(format!("no account at {address}")))?;
    let decoded = T::read(&account.data)
        .ok_or_else(|| CliError::usage(format!("{address} is not a Gradual {kind}")))?;
    Ok((decoded, account.lamports))
}

/// Every account of the task holds its rent-exempt minimum plus exactly the
/// lamports its state says it holds: nothing created or lost.
pub fn conservation(chain: &RpcChain, task: &Address) -> CliResult<Value> {
    let mut accounts = chain.task_accounts(task)?;
    if let Some(account) = chain.account(task)? {
        accounts.push((*task, account));
    }
    let mut held: u128 = 0;
    let mut tracked: u128 = 0;
    let mut broken = Vec::new();
    for (address, account) in &accounts {
        let rent = chain.rent_exempt_minimum(account.data.len())?;
        let above = account.lamports.saturating_sub(rent);
        let expected = tracked_lamports(&account.data);
        if account.lamports < rent || expected != Some(above) {
            broken.push(address.to_string());
        }
        held = held.saturating_add(u128::from(above));
        tracked = tracked.saturating_add(u128::from(expected.unwrap_or(0)));
    }
    Ok(json!({
        "accounts": accounts.len(),
        "held_above_rent": held.to_string(),
        "tracked": tracked.to_string(),
        "holds": broken.is_empty(),
        "mismatched_accounts": broken,
    }))
}

/// A token task's vault holds at least what its state says it holds: the
/// bounty pool, the reserves of its token lists and the stake of its nodes
/// that stake the mint. Tokens sent to the vault directly are untracked.
pub fn token_conservation(chain: &RpcChain, task: &Address, state: &Task) -> CliResult<Value> {
    let mut tracked = u128::from(state.bounty_pool);
    for (_, account) in chain.task_accounts(task)? {
        let held = match (Node::read(&account.data), Distribution::read(&account.data)) {
            (Some(node), _) if node.stake_in_tokens != 0 => node.total_stake(),
            (_, Some(list)) if list.reserve_in_tokens != 0 => list.reserved,
            _ => 0,
        };
        tracked = tracked.saturating_add(u128::from(held));
    }
    let vault = Address::new_from_array(state.vault);
    let program = Address::new_from_array(state.token_program);
    let balance = super::tokens::token_balance(chain, &program, &vault)?;
    Ok(json!({
        "vault": vault.to_string(),
        "vault_balance": balance,
        "tracked": tracked.to_string(),
        "holds": balance.is_some_and(|balance| u128::from(balance) >= tracked),
    }))
}

pub fn run(context: &Context, command: InspectCommand) -> CliResult {
    let chain = context.chain()?;
    let value = match command {
        InspectCommand::Task { task, .. } => {
            let (state, lamports) = read_task(&chain, &task)?;
            let mut value = views::task(&task, &state, lamports, chain.slot());
            super::tokens::add_task_fields(&chain, &mut value, &state)?;
            value["conservation"] = conservation(&chain, &task)?;
            if state.pays_in_tokens() {
                value["token_conservation"] = token_conservation(&chain, &task, &state)?;
            }
            value
        }
        InspectCommand::Node { node, task, operator, .. } => {
            let address = match (node, task, operator) {
                (Some(node), _, _) => node,
                (None, Some(task), Some(operator)) => find_node_address(&task, &operator).0,
                _ => return Err(CliError::usage("give a node address, or --task and --operator")),
            };
            let (state, lamports) = read::<Node>(&chain, &address, "node")?;
            views::node(&address, &state, lamports)
        }
        InspectCommand::Audit { audit, target, round, .. } => {
            let address = match (audit, target, round) {
                (Some(audit), _, _) => audit,
                (None, Some(target), Some(round)) => find_audit_address(&target, round).0,
                _ => return Err(CliError::usage("give an audit address, or --target and --round")),
            };
            audit_view(&chain, &address)?
        }
        InspectCommand::Mint { mint, .. } => {
            let account =
                chain.account(&mint)?.ok_or_else(|| CliError::usage(format!("no account at {mint}")))?;
            let owner = account.owner;
            if owner != TOKEN_PROGRAM_ID && owner != TOKEN_2022_PROGRAM_ID {
                return Err(CliError::usage(format!(
                    "{mint} is not a mint: its owner {owner} is no token program"
                )));
            }
            views::mint(&mint, &owner, read_mint(&owner, &account.data))
        }
        InspectCommand::Distribution { task, round, .. } => {
            let address = find_distribution_address(&task, round).0;
            let (state, lamports) = read::<Distribution>(&chain, &address, "distribution")?;
            let mut value = views::distribution(&address, &state, lamports);
            let (task_state, _) = read_task(&chain, &task)?;
            let mut chain = chain;
            let found = crate::runtime::distribution_leaves(
                &mut chain,
                &context.runtime,
                (&task, &task_state),
                &state,
            )?;
            value["leaves_from"] = found.as_ref().map(|(source, _)| *source).into();
            value["leaves"] = found.map_or(Value::Null, |(_, list)| {
                let checked = list.checked_leaves(&state.root);
                checked
                    .into_iter()
                    .map(|((node, amount), verified)| {
                        json!({ "node": Address::new_from_array(node).to_string(), "amount": amount, "verified": verified })
                    })
                    .collect()
            });
            value
        }
        InspectCommand::Round { task, round, history, .. } => {
            let mut value = round_view(&chain, &task, round)?;
            let kept = value["submissions"].as_array().is_some_and(|kept| !kept.is_empty());
            value["submissions_from"] = json!("accounts");
            if history || !kept {
                value["submissions"] = submissions_from_history(&chain, &task, round)?.into();
                value["submissions_from"] = json!("history");
            }
            value
        }
    };
    context.print(&value);
    Ok(())
}

/// An audit, open or resolved: its account while open, and from history
/// why it was raised, who voted which way, and where a resolution sent every lamport.
fn audit_view(chain: &RpcChain, address: &Address) -> CliResult<Value> {
    let entries = history::of_audit(chain, address)?;
    let mut summary = history::audit_summary(&entries);
    let Some(account) = chain.account(address)? else {
        if entries.is_empty() {
            return Err(CliError::usage(format!("no audit at {address}: none was raised there")));
        }
        if summary["resolved"].is_null() {
            summary["status"] = json!("closed, its resolution not found in the ledger");
        }
        summary["address"] = json!(address.to_string());
        summary["kind"] = json!("audit");
        return Ok(summary);
    };
    let state = Audit::read(&account.data)
        .ok_or_else(|| CliError::usage(format!("{address} is not a Gradual audit")))?;
    let mut value = views::audit(address, &state, account.lamports);
    value["status"] = json!("open");
    value["raised"] = summary["raised"].take();
    value["votes"] = summary["votes"].take();
    Ok(value)
}

/// One node's proof of a round, as history tells it.
#[derive(Default)]
struct ProofTold {
    commitment: Option<[u8; 32]>,
    reveal: Option<([u8; 32], String)>,
    audited: bool,
    excluded: bool,
    paid: Option<u64>,
}

fn proof_of<'a>(told: &'a mut BTreeMap<String, ProofTold>, node: &[u8; 32]) -> &'a mut ProofTold {
    told.entry(Address::new_from_array(*node).to_string()).or_default()
}

/// Each node's proof of `round` as history tells it: committed, revealed
/// (digest and locator), audited, excluded by an upheld audit, paid.
fn submissions_from_history(chain: &RpcChain, task: &Address, round: u64) -> CliResult<Vec<Value>> {
    let history = history::read(chain, task)?;
    let mut told: BTreeMap<String, ProofTold> = BTreeMap::new();
    for entry in history.entries.iter().filter(|entry| entry.happened.round() == Some(round)) {
        match &entry.happened {
            Happened::Committed { node, commitment, .. } => {
                proof_of(&mut told, node.as_array()).commitment = Some(*commitment)
            }
            Happened::Revealed { node, digest, locator, .. } => {
                proof_of(&mut told, node.as_array()).reveal = Some((*digest, locator.clone()))
            }
            Happened::Event(AnyEvent::AuditRaised(raised)) => {
                proof_of(&mut told, &raised.target).audited = true
            }
            Happened::Event(AnyEvent::AuditResolved(resolved)) => {
                proof_of(&mut told, &resolved.target).excluded = resolved.head.flag == 1
            }
            Happened::Event(AnyEvent::RewardClaimed(claimed)) => {
                proof_of(&mut told, &claimed.node).paid = Some(claimed.amount)
            }
            _ => {}
        }
    }
    Ok(told
        .into_iter()
        .map(|(node, proof)| {
            json!({
                "node": node,
                "committed": proof.commitment.is_some(),
                "commitment": proof.commitment.map(|commitment| crate::package::hex(&commitment)),
                "revealed": proof.reveal.is_some(),
                "digest": proof.reveal.as_ref().map(|(digest, _)| crate::package::hex(digest)),
                "locator": proof.reveal.map(|(_, locator)| locator),
                "audited": proof.audited,
                "excluded": proof.excluded,
                "paid": proof.paid.is_some(),
                "paid_lamports": proof.paid.unwrap_or(0),
            })
        })
        .collect())
}

fn round_view(chain: &RpcChain, task: &Address, round: u64) -> CliResult<Value> {
    let (state, _) = read_task(chain, task)?;
    let mut submissions = Vec::new();
    let mut audits = Vec::new();
    let mut slashed_nodes = Vec::new();
    for (address, account) in chain.task_accounts(task)? {
        if let Some(node) = Node::read(&account.data) {
            if let Some(submission) = node.submission(round) {
                let excluded = submission.flags & gradual_interface::state::SUBMISSION_EXCLUDED != 0;
                if excluded {
                    slashed_nodes.push(address.to_string());
                }
                submissions.push(json!({
                    "node": address.to_string(),
                    "operator": Address::new_from_array(node.operator).to_string(),
                    "slot": submission.slot,
                    "commitment": crate::package::hex(&submission.commitment),
                    "revealed": submission.is_revealed(),
                    // Zeros and empty until revealed.
                    "digest": crate::package::hex(&submission.digest),
                    "locator": String::from_utf8_lossy(submission.locator()),
                    "audited": submission.flags & gradual_interface::state::SUBMISSION_AUDITED != 0,
                    "excluded": excluded,
                    "paid": !excluded && node.claimed_rounds.contains(round),
                }));
            }
        } else if let Some(audit) = Audit::read(&account.data).filter(|audit| audit.round == round) {
            audits.push(views::audit(&address, &audit, account.lamports));
        }
    }
    let distribution_address = find_distribution_address(task, round).0;
    let distribution = chain
        .account(&distribution_address)?
        .and_then(|account| Some((Distribution::read(&account.data)?, account.lamports)))
        .map(|(distribution, lamports)| views::distribution(&distribution_address, &distribution, lamports));
    let timeline = state.timeline();
    Ok(json!({
        "task": task.to_string(),
        "round": round,
        "start_slot": timeline.round_start(round),
        "current_slot": chain.slot(),
        "submissions": submissions,
        "excluded_nodes": slashed_nodes,
        "open_audits": audits,
        "distributed": state.distributed_rounds.contains(round),
        "distribution": distribution,
    }))
}
