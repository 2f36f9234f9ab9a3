//! Every audit of the rounds shown, open or resolved, with its votes and
//! where its lamports went: read from the ledger (`crate::history`), since
//! a resolved audit's account is gone. An audit is found while open, or
//! afterwards by the `SUBMISSION_AUDITED` flag the nodes keep, and read
//! again until it is resolved.

use std::{
    collections::BTreeMap,
    ops::RangeInclusive,
    time::{Duration, Instant},
};

use gradual_interface::{
    event::{AnyEvent, AuditResolved},
    pda::find_audit_address,
    state::SUBMISSION_AUDITED,
    Address,
};
use serde_json::Value;

use crate::{
    history::{self, Entry, Happened},
    rpc::RpcChain,
    world::World,
};

/// How often unresolved audits are read again.
const POLL_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct AuditLog {
    /// By audit address: its round and what the ledger holds of it.
    audits: BTreeMap<Address, (u64, Vec<Entry>)>,
    next_poll: Option<Instant>,
}

/// The audit's resolution, once the ledger holds it.
fn resolution(entries: &[Entry]) -> Option<&AuditResolved> {
    entries.iter().find_map(|entry| match &entry.happened {
        Happened::Event(AnyEvent::AuditResolved(resolved)) => Some(resolved),
        _ => None,
    })
}

impl AuditLog {
    /// Reads what is new of the audits of `rounds`, at most every [`POLL_EVERY`].
    pub fn poll(&mut self, chain: &RpcChain, world: &World, rounds: RangeInclusive<u64>) {
        if self.next_poll.is_some_and(|next| Instant::now() < next) {
            return;
        }
        self.next_poll = Instant::now().checked_add(POLL_EVERY);
        self.audits.retain(|_, (round, _)| rounds.contains(round));
        let mut found: Vec<(Address, u64)> = world
            .open_audits
            .iter()
            .filter(|(_, audit)| rounds.contains(&audit.round))
            .map(|(address, audit)| (*address, audit.round))
            .collect();
        for (node, state) in &world.node_cache {
            for round in rounds.clone() {
                if state.submission(round).is_some_and(|entry| entry.flags & SUBMISSION_AUDITED != 0) {
                    found.push((find_audit_address(node, round).0, round));
                }
            }
        }
        for (address, round) in found {
            if self.audits.get(&address).is_some_and(|(_, entries)| resolution(entries).is_some()) {
                continue;
            }
            match history::of_audit(chain, &address) {
                Ok(entries) => {
                    self.audits.insert(address, (round, entries));
                }
                Err(unreachable) => {
                    tracing::warn!(audit = %address, error = %unreachable, "cannot read the audit's history");
                }
            }
        }
    }

    /// What an upheld audit of `target`'s proof of `round` slashed, if one was read.
    pub fn slashed(&self, target: &Address, round: u64) -> Option<u64> {
        let (_, entries) = self.audits.get(&find_audit_address(target, round).0)?;
        resolution(entries).map(|resolved| resolved.slashed)
    }

    /// The audits of `round`, each summarised as `inspect audit` shows it.
    pub fn of_round(&self, round: u64) -> Vec<Value> {
        self.audits
            .values()
            .filter(|(of, entries)| *of == round && !entries.is_empty())
            .map(|(_, entries)| history::audit_summary(entries))
            .collect()
    }
}
