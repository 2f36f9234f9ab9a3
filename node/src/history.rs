//! A task's history, rebuilt from the ledger: the events its program logged
//! (`gradual_interface::event`) and the proofs its nodes submitted (decoded
//! from `SubmitProof`'s data), in the order they landed. Closed audits and
//! lists, and rounds older than any account keeps, are all in it.
//!
//! The transactions come from `getSignaturesForAddress` on the task and on
//! every audit and list its events name: votes and claims name those, not
//! the task.

use std::collections::HashSet;

use gradual_interface::{
    event::{logged_by, AnyEvent},
    instruction::{
        read_fixed, read_text, GradualInstruction, SubmitProofArgs, SUBMIT_COMMITS, SUBMIT_REVEALS,
    },
    pda::{find_audit_address, find_distribution_address},
    Address, ID,
};
use serde_json::{json, Value};
use solana_signature::Signature;

use crate::{
    chain::Read,
    package::hex,
    rpc::{LandedTransaction, RpcChain},
    runtime::{reason_digest, RAISED_INVALID, RAISED_UNREACHABLE},
};

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happened {
    Event(AnyEvent),
    /// `node` committed to its proof of `round`.
    Committed {
        task: Address,
        node: Address,
        round: u64,
        commitment: [u8; 32],
    },
    /// `node` revealed its proof of `round`.
    Revealed {
        task: Address,
        node: Address,
        round: u64,
        digest: [u8; 32],
        locator: String,
    },
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub slot: u64,
    pub signature: Signature,
    pub happened: Happened,
}

pub struct History {
    pub task: Address,
    /// Oldest first.
    pub entries: Vec<Entry>,
    pub transactions: usize,
    /// Transactions whose logs the RPC node truncated or did not keep: their
    /// events may be missing.
    pub incomplete: Vec<Signature>,
    /// The ledger goes back to the task's creation. An RPC node that keeps
    /// no transaction history, or only recent history, gives a partial one.
    pub from_creation: bool,
}

/// Rebuilds `task`'s history from the ledger.
pub fn read(chain: &RpcChain, task: &Address) -> Read<History> {
    read_reporting(chain, task, &|_| {})
}

/// [`read`], telling `progress` how many transactions it has read so far.
pub fn read_reporting(chain: &RpcChain, task: &Address, progress: &dyn Fn(usize)) -> Read<History> {
    let mut history = History {
        task: *task,
        entries: Vec::new(),
        transactions: 0,
        incomplete: Vec::new(),
        from_creation: false,
    };
    let mut seen: HashSet<Signature> = HashSet::new();
    let mut scanned: HashSet<Address> = HashSet::new();
    let mut pending = vec![*task];
    while let Some(address) = pending.pop() {
        if !scanned.insert(address) {
            continue;
        }
        let signatures: Vec<(Signature, u64)> = chain
            .signatures_for(&address)?
            .into_iter()
            .filter(|(signature, _)| seen.insert(*signature))
            .collect();
        let unread: Vec<Signature> = signatures.iter().map(|(signature, _)| *signature).collect();
        let before = history.transactions;
        for landed in chain.landed_transactions(&unread, &|read| progress(before.saturating_add(read)))? {
            history.transactions = history.transactions.saturating_add(1);
            let happened = decode(&landed, &mut history.incomplete);
            for happened in happened.into_iter().filter(|happened| happened.task() == *task) {
                pending.extend(accounts_named(task, &happened));
                history.entries.push(Entry { slot: landed.slot, signature: landed.signature, happened });
            }
        }
    }
    // Stable: within a slot, each address's transactions keep their order.
    history.entries.sort_by_key(|entry| entry.slot);
    history.from_creation = history
        .entries
        .iter()
        .any(|entry| matches!(entry.happened, Happened::Event(AnyEvent::TaskCreated(_))));
    Ok(history)
}

/// The audit or list an event names, whose own transactions belong to the history.
fn accounts_named(task: &Address, happened: &Happened) -> Option<Address> {
    match happened {
        Happened::Event(AnyEvent::AuditRaised(raised)) => {
            Some(find_audit_address(&Address::new_from_array(raised.target), raised.round).0)
        }
        Happened::Event(AnyEvent::ListProposed(proposed)) => {
            Some(find_distribution_address(task, proposed.round).0)
        }
        _ => None,
    }
}

/// Everything an audit account saw, oldest first: its raise, votes and
/// resolution. Its transactions name it even after it closed.
pub fn of_audit(chain: &RpcChain, audit: &Address) -> Read<Vec<Entry>> {
    let signatures: Vec<Signature> =
        chain.signatures_for(audit)?.into_iter().map(|(signature, _)| signature).collect();
    let mut entries = Vec::new();
    for landed in chain.landed_transactions(&signatures, &|_| {})? {
        for happened in decode(&landed, &mut Vec::new()) {
            let (target, round) = match &happened {
                Happened::Event(AnyEvent::AuditRaised(e)) => (e.target, e.round),
                Happened::Event(AnyEvent::AuditVoted(e)) => (e.target, e.round),
                Happened::Event(AnyEvent::AuditResolved(e)) => (e.target, e.round),
                _ => continue,
            };
            if find_audit_address(&Address::new_from_array(target), round).0 == *audit {
                entries.push(Entry { slot: landed.slot, signature: landed.signature, happened });
            }
        }
    }
    Ok(entries)
}

/// An audit told from its entries (`of_audit`): why it was raised, every
/// vote, the seats on each side, and its resolution if any.
pub fn audit_summary(entries: &[Entry]) -> Value {
    let mut summary = json!({ "status": "open", "votes": [], "raised": null, "resolved": null });
    let (mut invalid, mut valid, mut voters) = (0u64, 0u64, 0u64);
    let mut votes = Vec::new();
    for entry in entries {
        match &entry.happened {
            Happened::Event(AnyEvent::AuditRaised(e)) => {
                summary["raised"] = entry.to_json();
                summary["target"] = address(&e.target);
                summary["raiser"] = address(&e.raiser);
                summary["round"] = json!(e.round);
                invalid = invalid.saturating_add(e.raiser_seats);
                voters = voters.saturating_add(u64::from(e.raiser_seats != 0));
            }
            Happened::Event(AnyEvent::AuditVoted(e)) => {
                let side = if e.head.flag == 1 { &mut valid } else { &mut invalid };
                *side = side.saturating_add(e.seats);
                voters = voters.saturating_add(1);
                votes.push(entry.to_json());
            }
            Happened::Event(AnyEvent::AuditResolved(e)) => {
                summary["resolved"] = entry.to_json();
                summary["status"] = json!(if e.head.flag == 1 { "upheld" } else { "rejected" });
                summary["slashed"] = json!(e.slashed);
            }
            _ => {}
        }
    }
    summary["votes"] = votes.into();
    summary["invalid_weight"] = json!(invalid);
    summary["valid_weight"] = json!(valid);
    summary["voter_count"] = json!(voters);
    summary
}

/// What `landed` did, to any task: its events, then its proofs.
fn decode(landed: &LandedTransaction, incomplete: &mut Vec<Signature>) -> Vec<Happened> {
    let events = landed.logs.as_deref().and_then(|logs| logged_by(&ID, logs));
    if events.is_none() {
        incomplete.push(landed.signature);
    }
    let mut happened: Vec<Happened> = events.unwrap_or_default().into_iter().map(Happened::Event).collect();
    let message = &landed.transaction.message;
    let keys = message.static_account_keys();
    for instruction in message.instructions() {
        let key = |index: usize| instruction.accounts.get(index).and_then(|at| keys.get(usize::from(*at)));
        if keys.get(usize::from(instruction.program_id_index)) != Some(&ID)
            || instruction.data.first() != Some(&(GradualInstruction::SubmitProof as u8))
        {
            continue;
        }
        let (Some(node), Some(task)) = (key(1).copied(), key(2).copied()) else { continue };
        happened.extend(proofs(task, node, &instruction.data[1..]));
    }
    happened
}

/// A landed `SubmitProof`'s commitment and reveal.
fn proofs(task: Address, node: Address, data: &[u8]) -> Vec<Happened> {
    let Ok((args, rest)) = read_fixed::<SubmitProofArgs>(data) else { return Vec::new() };
    let mut proofs = Vec::new();
    if args.parts & SUBMIT_COMMITS != 0 {
        proofs.push(Happened::Committed { task, node, round: args.round, commitment: args.commitment });
    }
    if let (true, Some(round), Ok((locator, _))) =
        (args.parts & SUBMIT_REVEALS != 0, args.round.checked_sub(1), read_text(rest))
    {
        let locator = String::from_utf8_lossy(locator).into_owned();
        proofs.push(Happened::Revealed { task, node, round, digest: args.digest, locator });
    }
    proofs
}

fn address(bytes: &[u8; 32]) -> Value {
    json!(Address::new_from_array(*bytes).to_string())
}

/// The text behind a reason digest the node sends, if it is one.
fn reason_text(reason: &[u8; 32]) -> Value {
    [RAISED_INVALID, RAISED_UNREACHABLE]
        .into_iter()
        .find(|text| reason_digest(text) == *reason)
        .map_or(Value::Null, |text| json!(text))
}

impl Happened {
    pub fn task(&self) -> Address {
        match self {
            Happened::Committed { task, .. } | Happened::Revealed { task, .. } => *task,
            Happened::Event(event) => Address::new_from_array(*event.task()),
        }
    }

    /// The round it concerns, if it concerns one.
    pub fn round(&self) -> Option<u64> {
        Some(match self {
            Happened::Committed { round, .. } | Happened::Revealed { round, .. } => *round,
            Happened::Event(AnyEvent::AuditRaised(e)) => e.round,
            Happened::Event(AnyEvent::AuditVoted(e)) => e.round,
            Happened::Event(AnyEvent::AuditResolved(e)) => e.round,
            Happened::Event(AnyEvent::ListProposed(e)) => e.round,
            Happened::Event(AnyEvent::ListVoted(e)) => e.round,
            Happened::Event(AnyEvent::ListResolved(e)) => e.round,
            Happened::Event(AnyEvent::RewardClaimed(e)) => e.round,
            Happened::Event(AnyEvent::ListExpired(e)) => e.round,
            Happened::Event(_) => return None,
        })
    }

    /// The node accounts it names.
    pub fn nodes(&self) -> Vec<[u8; 32]> {
        match self {
            Happened::Committed { node, .. } | Happened::Revealed { node, .. } => vec![node.to_bytes()],
            Happened::Event(AnyEvent::Staked(e)) => vec![e.node],
            Happened::Event(AnyEvent::UnstakeRequested(e)) => vec![e.node],
            Happened::Event(AnyEvent::StakeWithdrawn(e)) => vec![e.node],
            Happened::Event(AnyEvent::AuditRaised(e)) => vec![e.target, e.raiser],
            Happened::Event(AnyEvent::AuditVoted(e)) => vec![e.target, e.voter],
            Happened::Event(AnyEvent::AuditResolved(e)) => vec![e.target],
            Happened::Event(AnyEvent::ListProposed(e)) => vec![e.proposer],
            Happened::Event(AnyEvent::ListVoted(e)) => vec![e.voter],
            Happened::Event(AnyEvent::RewardClaimed(e)) => vec![e.node],
            Happened::Event(_) => Vec::new(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Happened::Event(event) => event.name(),
            Happened::Committed { .. } => "Committed",
            Happened::Revealed { .. } => "Revealed",
        }
    }

    /// Its fields, addresses in base58 and digests in hex.
    pub fn fields(&self) -> Value {
        match self {
            Happened::Committed { node, round, commitment, .. } => {
                json!({ "node": node.to_string(), "round": round, "commitment": hex(commitment) })
            }
            Happened::Revealed { node, round, digest, locator, .. } => {
                json!({ "node": node.to_string(), "round": round, "digest": hex(digest), "locator": locator })
            }
            Happened::Event(event) => event_fields(event),
        }
    }
}

fn event_fields(event: &AnyEvent) -> Value {
    match event {
        AnyEvent::TaskCreated(e) => json!({ "creator": address(&e.creator), "manager": address(&e.manager),
            "start_slot": e.start_slot, "deposited": e.deposited }),
        AnyEvent::TaskFunded(e) => {
            json!({ "funder": address(&e.funder), "amount": e.amount, "bounty_pool": e.bounty_pool })
        }
        AnyEvent::TaskUpdated(e) => json!({ "from_round": e.from_round }),
        AnyEvent::PackageUpdated(e) => json!({ "sha256": hex(&e.sha256), "from_round": e.from_round }),
        AnyEvent::TaskActiveSet(e) => json!({ "active": e.head.flag == 1 }),
        AnyEvent::TaskClosed(e) => json!({ "creator": address(&e.creator), "refunded": e.refunded,
            "tokens_refunded": e.tokens_refunded, "tokens_received": e.tokens_received }),
        AnyEvent::Staked(e) => json!({ "node": address(&e.node), "operator": address(&e.operator),
            "amount": e.amount, "from_round": e.from_round, "total_stake": e.total_stake,
            "created": e.head.flag == 1 }),
        AnyEvent::UnstakeRequested(e) => json!({ "node": address(&e.node), "exit_round": e.exit_round,
            "total_stake": e.total_stake }),
        AnyEvent::StakeWithdrawn(e) => json!({ "node": address(&e.node), "operator": address(&e.operator),
            "amount": e.amount, "paid": e.paid, "closed": e.head.flag == 1 }),
        AnyEvent::AuditRaised(e) => json!({ "target": address(&e.target), "raiser": address(&e.raiser),
            "round": e.round, "bond": e.bond, "raiser_seats": e.raiser_seats,
            "committee_stake": e.committee_stake, "digest": hex(&e.digest), "reason": hex(&e.reason),
            "reason_text": reason_text(&e.reason) }),
        AnyEvent::AuditVoted(e) => json!({ "target": address(&e.target), "voter": address(&e.voter),
            "round": e.round, "seats": e.seats, "valid": e.head.flag == 1 }),
        AnyEvent::AuditResolved(e) => json!({ "target": address(&e.target), "round": e.round,
            "upheld": e.head.flag == 1, "slashed": e.slashed,
            "to_raiser": { "to": address(&e.raiser_operator), "amount": e.to_raiser,
                "received": e.to_raiser_received },
            "to_pool": e.to_pool,
            "bond": { "to": address(if e.head.flag == 1 { &e.raiser_operator } else { &e.target_operator }),
                "lamports": e.bond },
            "rent": { "to": address(&e.raiser_operator), "lamports": e.rent } }),
        AnyEvent::ListProposed(e) => json!({ "proposer": address(&e.proposer), "round": e.round,
            "attempt": e.head.flag, "root": hex(&e.root), "total": e.total, "leaf_count": e.leaf_count,
            "bond": e.bond }),
        AnyEvent::ListVoted(e) => json!({ "voter": address(&e.voter), "round": e.round, "weight": e.weight,
            "valid": e.head.flag == 1, "dispute_bond": e.dispute_bond }),
        AnyEvent::ListResolved(e) => json!({ "round": e.round, "status": e.head.flag,
            "to_proposer": { "to": address(&e.proposer_operator), "lamports": e.to_proposer },
            "to_disputer": { "to": address(&e.disputer_operator), "lamports": e.to_disputer },
            "to_pool": e.to_pool, "tokens_returned": e.tokens_returned }),
        AnyEvent::RewardClaimed(e) => {
            json!({ "node": address(&e.node), "round": e.round, "amount": e.amount, "received": e.received })
        }
        AnyEvent::ListExpired(e) => json!({ "round": e.round, "status": e.head.flag, "returned": e.returned,
            "rent": { "to": address(&e.payer), "lamports": e.rent }, "tokens_returned": e.tokens_returned }),
    }
}

impl Entry {
    pub fn to_json(&self) -> Value {
        let mut value = self.happened.fields();
        value["slot"] = json!(self.slot);
        value["signature"] = json!(self.signature.to_string());
        value["event"] = json!(self.happened.name());
        value
    }
}
