//! One task's dashboard snapshot: its current windows, its recent rounds
//! (proofs, audits, slashes, the list and its votes, rewards by node), and
//! the own node's stake, earnings, losses and alerts.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use gradual_interface::{
    round::{AUDIT_LAG, LIST_LAG},
    state::{Audit, Distribution, Task as TaskAccount, DISTRIBUTION_APPROVED, SUBMISSION_EXCLUDED},
    Address,
};
use serde_json::{json, Value};

use super::{audits::AuditLog, lists::Paid, losses::Losses, tally::Tally, Kept, Sources, NODES_SHOWN};
use crate::{amount::Asset, cli::views::distribution_status, world::World};

/// Each shown round's list, where it was found.
type PaidByRound = HashMap<u64, Arc<Paid>>;

/// Rounds shown: as many as a node keeps proofs for.
const ROUNDS_SHOWN: u64 = gradual_interface::state::SUBMISSION_RING as u64;

/// The node whose own figures are shown.
pub struct Own {
    pub node: Address,
    /// The node's last error, as the runtime reported it.
    pub last_error: Option<String>,
    /// The node sends nothing while the pool cannot pay the coming round.
    pub paused: bool,
    /// Rewards are claimed as they come (else by `gradual node claim`).
    pub auto_claim: bool,
    /// The operator's `--unsandboxed`: the task's code runs with the node's rights.
    pub unsandboxed: bool,
    /// The runtime's latest warnings (missed rounds, slashes), newest first.
    pub warnings: Vec<String>,
    /// What this node's claims paid, by round, and in all since it started:
    /// its earnings under any rule, even one this process cannot compute.
    pub claimed: BTreeMap<u64, u64>,
    pub claimed_total: u64,
}

/// The rounds a snapshot shows at `slot`.
pub fn shown_rounds(world: &World, slot: u64) -> Option<std::ops::RangeInclusive<u64>> {
    let round = world.task_state?.timeline().round_at(slot)?;
    Some(round.saturating_sub(ROUNDS_SHOWN - 1)..=round)
}

pub fn build(world: &mut World, kept: &mut Kept, sources: &Sources) -> Option<Value> {
    let Kept { lists, losses, tallies, audits, mint: kept_mint } = kept;
    let task = world.task_state?;
    let slot = sources.slot;
    let current = task.timeline().round_at(slot);
    let shown = shown_rounds(world, slot);
    tallies.sync(world);
    if let Some(shown) = &shown {
        lists.forget_before(*shown.start());
        tallies.forget_before(*shown.start());
    }
    let mut rounds = Vec::new();
    let mut amounts: PaidByRound = HashMap::new();
    for round in shown.clone().into_iter().flatten().rev() {
        let list = world.distributions.get(&round).map(|(_, list)| *list);
        let paid = list.and_then(|list| lists.of(world, sources.rule, &list));
        let mut view = round_view(world, round, tallies.of(round), list.as_ref(), paid.as_ref());
        view["audits"] = audits.of_round(round).into();
        rounds.push(view);
        if let Some(paid) = paid {
            amounts.insert(round, paid);
        }
    }
    let own = sources.own.as_ref().map(|own| own_view(world, own, (slot, losses, audits), (&task, &amounts)));
    let mut snapshot = json!({
        "task": world.task.to_string(),
        "name": String::from_utf8_lossy(task.name()),
        "active": task.is_active(),
        "slot": slot,
        "round": current,
        "start_slot": task.start_slot,
        "round_length": task.round_length,
        "bounty_pool": task.bounty_pool,
        "bounty_per_round": current.and_then(|round| task.params_for(round).ok()).map(|params| params.bounty_per_round),
        "node_count": task.node_count,
        "total_stake": task.total_stake,
        "timeline": current.map_or(Value::Null, |round| windows(&task, round)),
        "rounds": rounds,
        "own": own,
    });
    if task.pays_in_tokens() {
        snapshot["mint"] = json!(Address::new_from_array(task.mint).to_string());
        snapshot["decimals"] = json!(task.decimals);
        snapshot["stake_in_tokens"] = json!(task.stakes_in_tokens());
        snapshot["mint_warnings"] = json!(kept_mint.warnings());
    }
    Some(snapshot)
}

/// The current round's windows, in slots: what can be sent now.
fn windows(task: &TaskAccount, round: u64) -> Value {
    let (Some(start), Ok(params)) = (task.timeline().round_start(round), task.params_for(round)) else {
        return Value::Null;
    };
    let window = |name: String, from: u64, length: u64| {
        let from = start.saturating_add(from);
        json!({ "name": name, "start": from, "end": from.saturating_add(length) })
    };
    let mut shown = vec![
        window(format!("proofs of round {}", round), 0, params.submission_window),
        window(
            format!("audits of round {}", round.saturating_sub(AUDIT_LAG)),
            params.submission_window,
            params.audit_window,
        ),
    ];
    if round >= LIST_LAG {
        let listed = round.saturating_sub(LIST_LAG);
        shown.push(window(format!("list of round {listed} proposed"), 0, params.distribution_window));
        shown.push(window(
            format!("list of round {listed} voted on"),
            params.distribution_window,
            params.distribution_audit_window,
        ));
    }
    json!({ "round_start": start, "round_end": start.saturating_add(task.round_length), "windows": shown })
}

fn round_view(
    world: &World,
    round: u64,
    tally: Option<&Tally>,
    list: Option<&Distribution>,
    paid: Option<&Arc<Paid>>,
) -> Value {
    let start = world.task_state.and_then(|task| task.timeline().round_start(round));
    let open: Vec<&Audit> = world.open_audits.values().filter(|audit| audit.round == round).collect();
    let audits: Vec<Value> = open
        .iter()
        .take(NODES_SHOWN)
        .map(|audit| {
            json!({
                "target": Address::new_from_array(audit.target).to_string(),
                "raiser": Address::new_from_array(audit.raiser).to_string(),
                "window_end": audit.window_end,
                "invalid_weight": audit.invalid_weight,
                "valid_weight": audit.valid_weight,
                "voter_count": audit.voter_count,
            })
        })
        .collect();
    let list = list.map(|list| {
        json!({
            "status": distribution_status(list.status),
            "attempt": list.attempt,
            "proposer": Address::new_from_array(list.proposer).to_string(),
            "total": list.total,
            "leaf_count": list.leaf_count,
            "claimed": list.claimed,
            "valid_weight": list.valid_weight,
            "invalid_weight": list.invalid_weight,
            "voter_count": list.voter_count,
            "vote_end": list.vote_end,
            "claim_deadline": list.claim_deadline,
        })
    });
    let rewards = paid.map(|paid| {
        let named: Vec<Value> = paid
            .top
            .iter()
            .map(|(node, amount)| json!({ "node": Address::new_from_array(*node).to_string(), "amount": amount }))
            .collect();
        json!({ "source": paid.source.name(), "paid_nodes": paid.leaves.len(), "total": paid.total, "top": named })
    });
    let excluded: Vec<String> = tally
        .iter()
        .flat_map(|tally| tally.excluded.iter().take(NODES_SHOWN))
        .map(Address::to_string)
        .collect();
    let count = |counted: fn(&Tally) -> u64| tally.map_or(0, counted);
    json!({
        "round": round,
        "start_slot": start,
        "committed": count(|tally| tally.committed),
        "revealed": count(|tally| tally.revealed),
        "audited": count(|tally| tally.audited),
        "excluded": count(|tally| tally.excluded.len() as u64),
        "excluded_nodes": excluded,
        "open_audit_count": open.len(),
        "open_audits": audits,
        "list": list,
        "rewards": rewards,
    })
}

fn own_view(
    world: &World,
    own: &Own,
    (slot, losses, audits): (u64, &mut Losses, &AuditLog),
    (task, amounts): (&TaskAccount, &PaidByRound),
) -> Value {
    let mut alerts: Vec<String> = own.last_error.iter().map(|error| format!("last error: {error}")).collect();
    alerts.extend(own.warnings.iter().cloned());
    if own.unsandboxed {
        alerts.push("UNSANDBOXED: the task's code runs with this node's own rights (--unsandboxed)".into());
    }
    if own.paused {
        alerts
            .push("paused: the bounty pool cannot pay the coming round; resumes when it is refilled".into());
    }
    if !task.is_active() {
        alerts.push("the task is not active".into());
    }
    let Some(node) = world.node_cache.get(&own.node).map(|node| **node) else {
        alerts.push("no node account in this task: run gradual node stake".into());
        return json!({ "node": own.node.to_string(), "staked": false, "alerts": alerts });
    };
    losses.observe(&node);
    let current = task.timeline().round_at(slot);
    let mut rounds = Vec::new();
    let mut pending: u64 = 0;
    for round in
        current.map(|round| round.saturating_sub(ROUNDS_SHOWN - 1)..=round).into_iter().flatten().rev()
    {
        let entry = node.submission(round);
        let excluded = entry.is_some_and(|entry| entry.flags & SUBMISSION_EXCLUDED != 0);
        let earned = amounts
            .get(&round)
            .and_then(|paid| paid.leaves.iter().find(|(key, _)| *key == own.node.to_bytes()))
            .map(|(_, amount)| *amount)
            .or_else(|| own.claimed.get(&round).copied());
        let list = world.distributions.get(&round).map(|(_, list)| list);
        let claimable =
            list.is_some_and(|list| list.status == DISTRIBUTION_APPROVED && slot < list.claim_deadline);
        let claimed = excluded || node.claimed_rounds.contains(round);
        if let (Some(amount), true, false) = (earned, claimable, claimed) {
            pending = pending.saturating_add(amount);
        }
        // Excluded, and what it took unknown (seen neither by this process nor in the ledger): null.
        let lost =
            if excluded { losses.of(round).or_else(|| audits.slashed(&own.node, round)) } else { Some(0) };
        if excluded {
            let taken = lost
                .map_or_else(|| "an unknown amount".to_string(), |lost| Asset::of_stake(task).display(lost));
            alerts.push(format!("slashed in round {round}: its proof was excluded and {taken} taken"));
        }
        rounds.push(json!({
            "round": round,
            "submitted": entry.is_some(),
            "revealed": entry.is_some_and(|entry| entry.is_revealed()),
            "excluded": excluded,
            "earned": earned,
            "claimed": earned.is_some() && node.claimed_rounds.contains(round),
            "lost": lost,
        }));
    }
    let params = current.and_then(|round| task.params_for(round).ok());
    if params.is_some_and(|params| node.total_stake() < params.min_stake) {
        alerts.push("stake below the task's minimum: top it up with gradual node stake".into());
    }
    if node.open_audits > 0 {
        alerts.push(format!("{} open audit(s) against this node", node.open_audits));
    }
    if node.is_exiting() {
        alerts.push(format!("unstaking: leaves the task at round {}", node.exit_round));
    }
    if pending > 0 && !own.auto_claim {
        alerts.push(format!("{} to claim: run gradual node claim", Asset::of_bounty(task).display(pending)));
    }
    json!({
        "node": own.node.to_string(),
        "staked": true,
        "stake": node.total_stake(),
        "total_slashed": node.total_slashed,
        "open_audits": node.open_audits,
        "pending": pending,
        "claimed_total": own.claimed_total,
        "rounds": rounds,
        "alerts": alerts,
    })
}
