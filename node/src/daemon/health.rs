//! A task's health as the daemon exports it: metrics (counters moved by
//! what changed since the last export, gauges set), `/status` for `gradual
//! node status`, and the last error, whether the chain or the task gave it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gradual_interface::{state::Node, Address};
use serde_json::{json, Value};

use crate::{
    chain::{Chain, Unreachable},
    metrics::{Counts, TaskMetrics},
    rpc::RpcChain,
    runtime::{NodeRuntime, NodeStats},
};

/// How often the fee payer's balance is read.
const BALANCE_EVERY: Duration = Duration::from_secs(30);

/// Below this the fee payer is warned of: about 2,000 transactions' fees.
pub const LOW_BALANCE_LAMPORTS: u64 = 10_000_000;

/// Warnings `/status` shows.
const WARNINGS_SHOWN: usize = 8;

#[derive(Default)]
pub struct Health {
    counted: Counted,
    /// Why the chain could not be read, until a tick succeeds again.
    chain_error: Option<String>,
    /// When a tick last read the chain and acted.
    last_tick: Option<SystemTime>,
    /// The fee payer's balance, and when it was read.
    balance: Option<(Instant, u64)>,
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

impl Health {
    /// The chain could not be read this time round: loud, and kept until a tick succeeds.
    pub fn chain_failed(&mut self, unreachable: &Unreachable) {
        tracing::warn!(error = %unreachable, "cannot read the chain; the node is not acting");
        self.chain_error = Some(unreachable.to_string());
    }

    pub fn ticked(&mut self, metrics: Option<&TaskMetrics>) {
        self.chain_error = None;
        self.last_tick = Some(SystemTime::now());
        metrics.iter().for_each(|metrics| metrics.ticked());
    }

    /// The last error: the chain's while it cannot be read, else the runtime's.
    pub fn last_error(&self, runtime: &NodeRuntime) -> Option<String> {
        self.chain_error
            .clone()
            .or_else(|| runtime.last_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone())
    }

    /// Reads the fee payer's balance when due, and warns when it runs low.
    pub fn watch_balance(&mut self, chain: &dyn Chain, operator: &Address) {
        if self.balance.is_some_and(|(read, _)| read.elapsed() < BALANCE_EVERY) {
            return;
        }
        match chain.account(operator) {
            Ok(account) => {
                let lamports = account.map_or(0, |account| account.lamports);
                if lamports < LOW_BALANCE_LAMPORTS {
                    tracing::warn!(%operator, lamports, "the fee payer's balance is low: fund it, or transactions will fail");
                }
                self.balance = Some((Instant::now(), lamports));
            }
            Err(unreachable) => self.chain_failed(&unreachable),
        }
    }

    /// Exports what changed since the last call. Runs whether or not the
    /// tick could read the chain: RPC errors count most when it cannot.
    pub fn export(
        &mut self,
        metrics: &TaskMetrics,
        chain: &RpcChain,
        (runtime, me): (&NodeRuntime, Option<&Node>),
    ) {
        metrics.counted(&self.counted.update(&runtime.stats, me));
        metrics.slot_lag(chain.slot_lag());
        if let Some(me) = me {
            metrics.stake(me.total_stake());
        }
        if let Some((_, lamports)) = self.balance {
            metrics.fee_payer_balance(lamports);
        }
    }

    /// `/status` for this task.
    pub fn status(
        &self,
        runtime: &NodeRuntime,
        (slot, round): (u64, Option<u64>),
        sandboxing: &str,
    ) -> Value {
        let stats = &runtime.stats;
        let warnings: Vec<&crate::runtime::Warning> =
            stats.warnings.iter().rev().take(WARNINGS_SHOWN).collect();
        let mut alerts: Vec<String> = Vec::new();
        if let Some(error) = &self.chain_error {
            alerts.push(format!("cannot read the chain: {error}"));
        }
        if let Some((_, lamports)) = self.balance.filter(|(_, lamports)| *lamports < LOW_BALANCE_LAMPORTS) {
            alerts.push(format!("fee payer balance low: {lamports} lamports"));
        }
        json!({
            "slot": slot,
            "round": round,
            "last_error": self.last_error(runtime),
            "last_successful_tick": self.last_tick.map(unix_seconds),
            "fee_payer_balance": self.balance.map(|(_, lamports)| lamports),
            "unfunded_rounds": stats.rounds_unfunded,
            "rounds_missed": stats.rounds_missed,
            "warnings": warnings,
            "alerts": alerts,
            "sandbox": sandboxing,
        })
    }
}

/// The totals last exported, to export what changed since.
#[derive(Default)]
struct Counted {
    rounds_submitted: u64,
    audits_raised: u64,
    audit_votes: u64,
    lists_proposed: u64,
    list_votes: u64,
    claimed_lamports: u64,
    /// `None` until the node is first seen, which only takes its past slashes as the baseline.
    slashed_lamports: Option<u64>,
}

impl Counted {
    fn update(&mut self, stats: &NodeStats, me: Option<&Node>) -> Counts {
        let step = |last: &mut u64, now: u64| {
            let delta = now.saturating_sub(*last);
            *last = (*last).max(now);
            delta
        };
        let slashed_lamports = match me {
            Some(me) => step(self.slashed_lamports.get_or_insert(me.total_slashed), me.total_slashed),
            None => 0,
        };
        Counts {
            rounds_submitted: step(&mut self.rounds_submitted, stats.rounds_submitted.len() as u64),
            audits_raised: step(&mut self.audits_raised, stats.audits_raised),
            audit_votes: step(&mut self.audit_votes, stats.audit_votes),
            lists_proposed: step(&mut self.lists_proposed, stats.proposals.len() as u64),
            list_votes: step(&mut self.list_votes, stats.list_votes),
            claimed_lamports: step(&mut self.claimed_lamports, stats.rewards_claimed),
            slashes: u64::from(slashed_lamports > 0),
            slashed_lamports,
        }
    }
}
