//! Account state decoded into readable fields, for `inspect` and `show`.

use gradual_interface::{
    state::{
        Audit, Distribution, Node, RoundParams, Task, DISTRIBUTION_APPROVED, DISTRIBUTION_FAILED,
        DISTRIBUTION_PROPOSED, DISTRIBUTION_REJECTED, NOT_EXITING, SUBMISSION_AUDITED, SUBMISSION_EXCLUDED,
    },
    Address,
};
use serde_json::{json, Value};

use crate::{amount::Asset, package::hex};
use gradual_interface::token::{MintInfo, MintRefusal, TransferFee, TOKEN_PROGRAM_ID};

fn address(bytes: &[u8; 32]) -> String {
    Address::new_from_array(*bytes).to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn params(params: &RoundParams) -> Value {
    json!({
        "bounty_per_round": params.bounty_per_round,
        "submission_window": params.submission_window,
        "audit_window": params.audit_window,
        "distribution_window": params.distribution_window,
        "distribution_audit_window": params.distribution_audit_window,
        "min_stake": params.min_stake,
        "audit_bond": params.audit_bond,
        "slash_rate_bps": params.slash_rate_bps,
    })
}

pub fn task(key: &Address, task: &Task, lamports: u64, slot: u64) -> Value {
    let timeline = task.timeline();
    let round = timeline.round_at(slot);
    let history: Vec<Value> = task
        .params_history
        .iter()
        .filter(|checkpoint| checkpoint.from_round != u64::MAX)
        .map(
            |checkpoint| json!({ "from_round": checkpoint.from_round, "params": params(&checkpoint.params) }),
        )
        .collect();
    json!({
        "address": key.to_string(),
        "kind": "task",
        "name": text(task.name()),
        "description": text(task.description()),
        "creator": address(&task.creator),
        "manager": address(&task.manager),
        "task_id": task.task_id,
        "active": task.is_active(),
        "start_slot": task.start_slot,
        "round_length": task.round_length,
        "current_slot": slot,
        "current_round": round,
        "unstake_cooldown_rounds": task.unstake_cooldown_rounds,
        "bounty_pool": task.bounty_pool,
        "total_funded": task.total_funded,
        "node_count": task.node_count,
        "total_stake": task.total_stake,
        "counted_stake": task
            .counted_stake
            .iter()
            .filter(|checkpoint| checkpoint.total != 0 || checkpoint.from_round != 0)
            .map(|checkpoint| json!({ "from_round": checkpoint.from_round, "total": checkpoint.total }))
            .collect::<Vec<_>>(),
        "min_audit_seats": task.min_audit_seats,
        "audit_committee_seats": task.audit_committee_seats,
        "allowed_failed_distributions": task.allowed_failed_distributions,
        "open_distributions": task.open_distributions,
        "executable_sha256": hex(&task.executable_sha256),
        "executable_locator": text(task.executable_locator()),
        "next_executable": (task.next_executable_from_round != gradual_interface::state::NO_SCHEDULED_PACKAGE).then(|| json!({
            "from_round": task.next_executable_from_round,
            "sha256": hex(&task.next_executable_sha256),
            "locator": text(task.next_executable_locator()),
        })),
        "params": round.and_then(|round| task.params_for(round).ok()).map(params),
        "params_history": history,
        "lamports": lamports,
    })
}

fn flags(flags: u8) -> Vec<&'static str> {
    let mut names = Vec::new();
    if flags & SUBMISSION_AUDITED != 0 {
        names.push("audited");
    }
    if flags & SUBMISSION_EXCLUDED != 0 {
        names.push("excluded");
    }
    names
}

pub fn node(key: &Address, node: &Node, lamports: u64) -> Value {
    let mut submissions: Vec<Value> = node
        .submissions
        .iter()
        .filter(|submission| submission.flags != 0)
        .map(|submission| {
            json!({
                "round": submission.round,
                "slot": submission.slot,
                "digest": hex(&submission.digest),
                "locator": text(submission.locator()),
                "flags": flags(submission.flags),
            })
        })
        .collect();
    submissions.sort_by_key(|submission| submission["round"].as_u64());
    let stake_history: Vec<Value> = node
        .stake_history
        .iter()
        .filter(|checkpoint| checkpoint.total > 0 || checkpoint.from_round > 0)
        .map(|checkpoint| json!({ "from_round": checkpoint.from_round, "total": checkpoint.total }))
        .collect();
    let claimed: Vec<u64> = (node.claimed_rounds.base..node.claimed_rounds.base.saturating_add(64))
        .filter(|round| node.claimed_rounds.contains(*round))
        .collect();
    let mut view = json!({
        "address": key.to_string(),
        "kind": "node",
        "task": address(&node.task),
        "operator": address(&node.operator),
        "service_url": text(node.service_url()),
        "stake": node.total_stake(),
        "stake_history": stake_history,
        "joined_round": node.joined_round,
        "exit_round": (node.exit_round != NOT_EXITING).then_some(node.exit_round),
        "open_audits": node.open_audits,
        "total_slashed": node.total_slashed,
        "submissions": submissions,
        "claimed_or_excluded_rounds": claimed,
        "lamports": lamports,
    });
    if node.stake_in_tokens != 0 {
        // The stake is in the task's vault, in the task's mint: the account holds only rent.
        view["stake_in_tokens"] = json!(true);
    }
    view
}

pub fn audit(key: &Address, audit: &Audit, lamports: u64) -> Value {
    json!({
        "address": key.to_string(),
        "kind": "audit",
        "task": address(&audit.task),
        "target": address(&audit.target),
        "raiser": address(&audit.raiser),
        "raiser_operator": address(&audit.raiser_operator),
        "round": audit.round,
        "window_end": audit.window_end,
        "bond": audit.bond,
        "slash_rate_bps": audit.slash_rate_bps,
        "min_seats": audit.min_seats,
        "voter_count": audit.voter_count,
        "committee_seats": audit.committee_seats,
        "committee_stake": audit.committee_stake,
        "committee_seed": hex(&audit.committee_seed),
        "invalid_weight": audit.invalid_weight,
        "valid_weight": audit.valid_weight,
        "upheld_if_resolved_now": audit.is_upheld(),
        "lamports": lamports,
    })
}

pub fn distribution_status(status: u8) -> &'static str {
    match status {
        DISTRIBUTION_PROPOSED => "proposed",
        DISTRIBUTION_REJECTED => "rejected",
        DISTRIBUTION_APPROVED => "approved",
        DISTRIBUTION_FAILED => "failed",
        _ => "unknown",
    }
}

pub fn distribution(key: &Address, distribution: &Distribution, lamports: u64) -> Value {
    let mut view = json!({
        "address": key.to_string(),
        "kind": "distribution",
        "task": address(&distribution.task),
        "round": distribution.round,
        "status": distribution_status(distribution.status),
        "attempt": distribution.attempt,
        "proposer": address(&distribution.proposer),
        "proposer_operator": address(&distribution.proposer_operator),
        "payer": address(&distribution.payer),
        "root": hex(&distribution.root),
        "content_hash": hex(&distribution.content_hash),
        "url": text(distribution.url()),
        "total": distribution.total,
        "leaf_count": distribution.leaf_count,
        "claimed": distribution.claimed,
        "bond": distribution.bond,
        "reserved": distribution.reserved,
        "dispute_bond": distribution.dispute_bond,
        "disputer_operator": address(&distribution.disputer_operator),
        "vote_start": distribution.vote_start,
        "vote_end": distribution.vote_end,
        "claim_deadline": distribution.claim_deadline,
        "valid_weight": distribution.valid_weight,
        "invalid_weight": distribution.invalid_weight,
        "voter_count": distribution.voter_count,
        "lamports": lamports,
    });
    if distribution.reserve_in_tokens != 0 {
        // `total`, `claimed` and `reserved` are in the task's mint, held in its vault.
        view["reserve_in_tokens"] = json!(true);
    }
    view
}

/// A token task's mint, vault and amounts in the mint's units, added to its
/// view: raw amounts stay as they are, each with an `_ui` string beside it.
/// `mint` is the mint account as it is now (`None`: gone, or no token
/// program owns it), `vault_balance` the vault's.
pub fn add_token_fields(
    view: &mut Value,
    task: &Task,
    mint: Option<(Address, Result<MintInfo, MintRefusal>)>,
    vault_balance: Option<u64>,
) {
    let (bounty, stake) = (Asset::of_bounty(task), Asset::of_stake(task));
    if !bounty.is_token() {
        return;
    }
    let fields = json!({
        "mint": address(&task.mint),
        "token_program": address(&task.token_program),
        "token_program_name": program_name(&Address::new_from_array(task.token_program)),
        "vault": address(&task.vault),
        "decimals": task.decimals,
        "stake_asset": if stake.is_token() { address(&task.mint) } else { "SOL".into() },
        "bounty_pool_ui": bounty.format(task.bounty_pool),
        "total_funded_ui": bounty.format(task.total_funded),
        "total_stake_ui": stake.format(task.total_stake),
        "forfeited_lamports": task.forfeited_lamports,
        "vault_balance": vault_balance,
        "vault_balance_ui": vault_balance.map(|balance| bounty.format(balance)),
    });
    extend(view, fields);
    extend(view, mint_fields(mint, &bounty));
    let assets = (&bounty, &stake);
    if let Some(params) = view.get_mut("params") {
        add_params_ui(params, assets);
    }
    if let Some(Value::Array(history)) = view.get_mut("params_history") {
        history
            .iter_mut()
            .filter_map(|entry| entry.get_mut("params"))
            .for_each(|params| add_params_ui(params, assets));
    }
}

fn extend(view: &mut Value, fields: Value) {
    if let (Value::Object(view), Value::Object(fields)) = (view, fields) {
        view.extend(fields);
    }
}

/// `bounty_per_round_ui` and, with stake in the mint, `min_stake_ui`.
fn add_params_ui(params: &mut Value, (bounty, stake): (&Asset, &Asset)) {
    let Value::Object(map) = params else { return };
    if let Some(raw) = map.get("bounty_per_round").and_then(Value::as_u64) {
        map.insert("bounty_per_round_ui".into(), bounty.format(raw).into());
    }
    if let Some(raw) = map.get("min_stake").and_then(Value::as_u64).filter(|_| stake.is_token()) {
        map.insert("min_stake_ui".into(), stake.format(raw).into());
    }
}

fn program_name(program: &Address) -> &'static str {
    if *program == TOKEN_PROGRAM_ID {
        "spl-token"
    } else {
        "token-2022"
    }
}

fn fee_view(fee: &TransferFee, asset: &Asset) -> Value {
    json!({
        "from_epoch": fee.epoch,
        "basis_points": fee.basis_points,
        "maximum_fee": fee.maximum_fee,
        "maximum_fee_ui": asset.format(fee.maximum_fee),
    })
}

/// What the mint's authorities can do to a token task, for those who fund or stake in it.
fn mint_fields(mint: Option<(Address, Result<MintInfo, MintRefusal>)>, asset: &Asset) -> Value {
    let info = match mint {
        None => {
            return json!({ "mint_escrow": "missing", "mint_warnings": ["the mint account is gone: no token of it can move"] })
        }
        Some((_, Err(refusal))) => {
            let why = crate::mints::mint_refusal(refusal);
            return json!({ "mint_escrow": "refused", "mint_refused_because": why, "mint_warnings": [format!("the mint would now be refused: {why}")] });
        }
        Some((_, Ok(info))) => info,
    };
    json!({
        "mint_escrow": "allowed",
        "freeze_authority": info.freeze_authority.as_ref().map(address),
        "pausable": info.pausable,
        "paused": info.paused,
        "transfer_fee": info.transfer_fee.map(|config| json!({ "older": fee_view(&config.older, asset), "newer": fee_view(&config.newer, asset) })),
        "mint_closable": info.closable,
        "mint_warnings": crate::mints::mint_warnings(&info, asset),
    })
}

/// A mint as a token task would see it: refused, with why, or allowed, with
/// the powers others hold over it (`gradual_interface::token`).
pub fn mint(key: &Address, program: &Address, read: Result<MintInfo, MintRefusal>) -> Value {
    let program_name = if *program == TOKEN_PROGRAM_ID { "spl-token" } else { "token-2022" };
    let mint = match read {
        Err(refusal) => {
            return json!({ "address": key.to_string(), "kind": "mint", "program": program_name,
                "escrow": "refused", "refused_because": crate::mints::mint_refusal(refusal) })
        }
        Ok(mint) => mint,
    };
    let fee = |fee: &TransferFee| json!({ "from_epoch": fee.epoch, "basis_points": fee.basis_points, "maximum_fee": fee.maximum_fee });
    json!({
        "address": key.to_string(),
        "kind": "mint",
        "program": program_name,
        "escrow": "allowed",
        "decimals": mint.decimals,
        "supply": mint.supply,
        "freeze_authority": mint.freeze_authority.as_ref().map(address),
        "pausable": mint.pausable,
        "paused": mint.paused,
        "closable": mint.closable,
        "transfer_fee": mint.transfer_fee.map(|config| json!({ "older": fee(&config.older), "newer": fee(&config.newer) })),
    })
}

/// Prints `value` as JSON, or as indented `key: value` lines.
pub fn print(value: &Value, json: bool) {
    if json {
        out!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        print_text(value, 0);
    }
}

fn print_text(value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    Value::Object(_) => {
                        out!("{pad}{key}:");
                        print_text(item, indent.saturating_add(2));
                    }
                    Value::Array(items) if items.iter().any(|item| item.is_object()) => {
                        out!("{pad}{key}:");
                        for item in items {
                            out!("{pad}  -");
                            print_text(item, indent.saturating_add(4));
                        }
                    }
                    Value::String(text) => out!("{pad}{key}: {text}"),
                    other => out!("{pad}{key}: {other}"),
                }
            }
        }
        other => out!("{pad}{other}"),
    }
}
