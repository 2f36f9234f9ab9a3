//! Events: every instruction but `SubmitProof` logs one with `sol_log_data`
//! (one slice: `Program data: <base64>` in the transaction's logs).
//! `SubmitProof`'s own data says everything: history decodes the instruction.
//!
//! Each event is a `#[repr(C)]` struct without padding between fields: an
//! 8-byte [`EventHead`], the task, then the event's fields, integers little
//! endian. `head.kind` is the discriminator of the instruction that logged
//! it, so kinds are never renumbered or reused. A new field makes a new
//! `head.version`; readers skip versions they do not know.

use bytemuck::{Pod, Zeroable};

use crate::instruction::GradualInstruction;

/// The layout version every event below is logged with.
/// 2 from protocol v5: the payout fields of token tasks (`received`,
/// `tokens_returned`, `tokens_refunded`) were added.
pub const EVENT_VERSION: u8 = 2;

/// The first 8 bytes of every event.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct EventHead {
    /// The logging instruction's discriminator.
    pub kind: u8,
    pub version: u8,
    /// One event-specific byte, named by each event's documentation; 0 when unused.
    pub flag: u8,
    pub _padding: [u8; 5],
}

impl EventHead {
    pub const fn new(kind: GradualInstruction, flag: u8) -> Self {
        Self { kind: kind as u8, version: EVENT_VERSION, flag, _padding: [0; 5] }
    }
}

/// Implemented by every event: its kind, for logging and decoding.
pub trait Event: Pod {
    const KIND: GradualInstruction;

    /// The head of this kind of event, with its `flag`.
    fn head_with(flag: u8) -> EventHead {
        EventHead::new(Self::KIND, flag)
    }
}

macro_rules! events {
    ($($name:ident => $kind:ident),* $(,)?) => {
        $(impl Event for $name {
            const KIND: GradualInstruction = GradualInstruction::$kind;
        })*

        /// Any event, decoded.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum AnyEvent { $($name($name)),* }

        impl AnyEvent {
            /// Decodes one logged slice; `None` for another program's data,
            /// an unknown version or a wrong length.
            pub fn decode(bytes: &[u8]) -> Option<Self> {
                let head: EventHead = bytemuck::try_pod_read_unaligned(bytes.get(..8)?).ok()?;
                if head.version != EVENT_VERSION {
                    return None;
                }
                $(if head.kind == GradualInstruction::$kind as u8 {
                    return bytemuck::try_pod_read_unaligned(bytes).ok().map(AnyEvent::$name);
                })*
                None
            }

            pub fn head(&self) -> &EventHead {
                match self { $(AnyEvent::$name(event) => &event.head),* }
            }

            pub fn task(&self) -> &[u8; 32] {
                match self { $(AnyEvent::$name(event) => &event.task),* }
            }

            /// The event's name, as in `docs/protocol.md`.
            pub fn name(&self) -> &'static str {
                match self { $(AnyEvent::$name(_) => stringify!($name)),* }
            }
        }
    };
}

events! {
    TaskCreated => CreateTask,
    TaskFunded => FundTask,
    TaskUpdated => UpdateTask,
    TaskActiveSet => SetTaskActive,
    Staked => Stake,
    UnstakeRequested => RequestUnstake,
    StakeWithdrawn => WithdrawStake,
    TaskClosed => CloseTask,
    AuditRaised => RaiseAudit,
    AuditVoted => VoteAudit,
    AuditResolved => ResolveAudit,
    ListProposed => ProposeDistribution,
    ListVoted => VoteDistribution,
    ListResolved => ResolveDistribution,
    RewardClaimed => ClaimReward,
    ListExpired => ExpireDistribution,
    PackageUpdated => UpdateTaskPackage,
}

/// `CreateTask`: `deposited` lamports went from `creator` into the pool.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct TaskCreated {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub creator: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub manager: [u8; 32],
    pub start_slot: u64,
    pub deposited: u64,
}

/// `FundTask`: `amount` from `funder` into the pool, which now holds `bounty_pool`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct TaskFunded {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub funder: [u8; 32],
    pub amount: u64,
    pub bounty_pool: u64,
}

/// `UpdateTask`: new parameters (the instruction's data) govern from `from_round`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct TaskUpdated {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    pub from_round: u64,
}

/// `UpdateTaskPackage`: the package `sha256` (locator in the data) runs from `from_round`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct PackageUpdated {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    pub sha256: [u8; 32],
    pub from_round: u64,
}

/// `SetTaskActive`: `head.flag` is 1 when resumed, 0 when paused.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct TaskActiveSet {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
}

/// `CloseTask`: every lamport the task held, `refunded`, went to `creator`;
/// for a token task also the vault's whole balance, `tokens_refunded` sent,
/// `tokens_received` arrived (less any transfer fee).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct TaskClosed {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub creator: [u8; 32],
    pub refunded: u64,
    pub tokens_refunded: u64,
    pub tokens_received: u64,
}

/// `Stake`: `amount` from `operator` into `node`, counting from `from_round`;
/// the node now holds `total_stake`. `head.flag` is 1 when the node was created.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct Staked {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub node: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub operator: [u8; 32],
    pub amount: u64,
    pub from_round: u64,
    pub total_stake: u64,
}

/// `RequestUnstake`: `node`'s `total_stake` stops counting from `exit_round`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct UnstakeRequested {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub node: [u8; 32],
    pub exit_round: u64,
    pub total_stake: u64,
}

/// `WithdrawStake`: `amount` of stake left `node`; `paid` lamports went to
/// `operator` (the stake, plus the rent when `head.flag` is 1: the node closed).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct StakeWithdrawn {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub node: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub operator: [u8; 32],
    pub amount: u64,
    pub paid: u64,
}

/// `RaiseAudit`: `raiser` audits `target`'s proof for `round`, posting `bond`
/// and voting "invalid" with `raiser_seats`. `reason` is the raiser's digest
/// of why (the instruction's data); `digest` is the proof it disputes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct AuditRaised {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub target: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub raiser: [u8; 32],
    pub round: u64,
    pub bond: u64,
    pub raiser_seats: u64,
    pub committee_stake: u64,
    pub digest: [u8; 32],
    pub reason: [u8; 32],
}

/// `VoteAudit`: `voter` put `seats` behind "valid" (`head.flag` 1) or "invalid" (0).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct AuditVoted {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub target: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub voter: [u8; 32],
    pub round: u64,
    pub seats: u64,
}

/// `ResolveAudit`, `head.flag` 1 when upheld. Where everything went:
/// `slashed` left `target`'s stake (in the stake asset), `to_raiser` of it to
/// `raiser_operator`, who received `to_raiser_received` (less any transfer
/// fee), and `to_pool` to the task; the lamports: `bond` to
/// `raiser_operator` when upheld, else to `target_operator`; the audit's
/// `rent` to `raiser_operator`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct AuditResolved {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub target: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub raiser_operator: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub target_operator: [u8; 32],
    pub round: u64,
    pub slashed: u64,
    pub to_raiser: u64,
    pub to_pool: u64,
    pub bond: u64,
    pub rent: u64,
    pub to_raiser_received: u64,
}

/// `ProposeDistribution`: `proposer` lists `leaf_count` leaves paying `total`
/// for `round` under `root`, posting `bond`; `head.flag` is the attempt.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct ListProposed {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub proposer: [u8; 32],
    pub root: [u8; 32],
    pub round: u64,
    pub total: u64,
    pub leaf_count: u64,
    pub bond: u64,
}

/// `VoteDistribution`: `voter` put `weight` behind "valid" (`head.flag` 1) or
/// "invalid" (0); `dispute_bond` is what the first "invalid" vote posted, else 0.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct ListVoted {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub voter: [u8; 32],
    pub round: u64,
    pub weight: u64,
    pub dispute_bond: u64,
}

/// `ResolveDistribution`, `head.flag` the new status (`DISTRIBUTION_*`).
/// `to_proposer` went to `proposer_operator` (its bond, when approved),
/// `to_disputer` to `disputer_operator` (the dispute bond, when rejected),
/// `to_pool` back to the task (the dispute bond when approved; the proposer's
/// bond, and a lamport list's reserve, when rejected), all lamports;
/// `tokens_returned`, a rejected token list's reserve, back to the pool in the mint.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct ListResolved {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub proposer_operator: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub disputer_operator: [u8; 32],
    pub round: u64,
    pub to_proposer: u64,
    pub to_disputer: u64,
    pub to_pool: u64,
    pub tokens_returned: u64,
}

/// `ClaimReward`: `node`'s leaf for `round` paid `amount` to `operator`,
/// whose account received `received` (less any transfer fee).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct RewardClaimed {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub node: [u8; 32],
    pub round: u64,
    pub amount: u64,
    pub received: u64,
}

/// `ExpireDistribution`: `returned` lamports (a lamport list's unclaimed
/// reserve, and any bond) went back to the task, `tokens_returned` (a token
/// list's unclaimed reserve) back to the pool in the mint, and the list's
/// `rent` to `payer`; `head.flag` is its last status.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaEvent))]
pub struct ListExpired {
    pub head: EventHead,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub task: [u8; 32],
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub payer: [u8; 32],
    pub round: u64,
    pub returned: u64,
    pub rent: u64,
    pub tokens_returned: u64,
}

/// The events `program` itself logged, in order, read from a transaction's
/// log messages. A line logged by another program, even one invoked by this
/// one, is not taken: any program can log bytes that look like an event.
/// `None` when the logs were truncated, so some events may be missing.
#[cfg(feature = "std")]
pub fn logged_by(program: &crate::Address, logs: &[std::string::String]) -> Option<std::vec::Vec<AnyEvent>> {
    use base64::{prelude::BASE64_STANDARD, Engine};
    use std::string::ToString;
    let program = program.to_string();
    let mut running: std::vec::Vec<&str> = std::vec::Vec::new();
    let mut events = std::vec::Vec::new();
    for line in logs {
        if line == "Log truncated" {
            return None;
        }
        let Some(rest) = line.strip_prefix("Program ") else { continue };
        if let Some(data) = rest.strip_prefix("data: ") {
            if running.last() == Some(&program.as_str()) {
                let event = BASE64_STANDARD.decode(data).ok().and_then(|bytes| AnyEvent::decode(&bytes));
                events.extend(event);
            }
        } else if let Some((id, word)) = rest.split_once(' ') {
            if word.starts_with("invoke [") {
                running.push(id);
            } else if word == "success" || word.starts_with("failed") {
                running.pop();
            }
        }
    }
    Some(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_decodes_as_itself_and_nothing_else_does() {
        let mut claimed = RewardClaimed::zeroed();
        claimed.head = EventHead::new(GradualInstruction::ClaimReward, 0);
        claimed.task = [7; 32];
        claimed.amount = 42;
        let bytes = bytemuck::bytes_of(&claimed);
        assert_eq!(AnyEvent::decode(bytes), Some(AnyEvent::RewardClaimed(claimed)));
        assert_eq!(AnyEvent::decode(&bytes[..bytes.len() - 1]), None, "a short slice");
        let mut other_version = bytes.to_vec();
        other_version[1] = EVENT_VERSION + 1;
        assert_eq!(AnyEvent::decode(&other_version), None);
        let mut proof = bytes.to_vec();
        proof[0] = GradualInstruction::SubmitProof as u8;
        assert_eq!(AnyEvent::decode(&proof), None, "SubmitProof logs no event");
    }

    #[test]
    fn only_the_program_s_own_lines_are_its_events() {
        use base64::{prelude::BASE64_STANDARD, Engine};
        use std::{format, string::String, string::ToString, vec};
        let mut claimed = RewardClaimed::zeroed();
        claimed.head = EventHead::new(GradualInstruction::ClaimReward, 0);
        let data = format!("Program data: {}", BASE64_STANDARD.encode(bytemuck::bytes_of(&claimed)));
        let ours = crate::ID.to_string();
        let other = "11111111111111111111111111111111";
        let logs: std::vec::Vec<String> = vec![
            format!("Program {other} invoke [1]"),
            data.clone(),
            format!("Program {other} success"),
            format!("Program {ours} invoke [1]"),
            format!("Program {other} invoke [2]"),
            data.clone(),
            format!("Program {other} success"),
            data.clone(),
            format!("Program {ours} success"),
        ];
        assert_eq!(logged_by(&crate::ID, &logs), Some(vec![AnyEvent::RewardClaimed(claimed)]));
        let mut truncated = logs.clone();
        truncated.push(String::from("Log truncated"));
        assert_eq!(logged_by(&crate::ID, &truncated), None);
    }
}
