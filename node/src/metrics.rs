//! Prometheus metrics of `node run`, served as OpenMetrics text at
//! `/metrics` on `--metrics-listen`. Every series has a `task` label, so one
//! scrape config covers a node running several tasks.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::get,
    Router,
};
use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::{Registry, Unit},
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TaskLabels {
    task: String,
}

/// What a task's amounts count: `lamports`, or a mint's address.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AssetLabels {
    task: String,
    bounty: String,
    stake: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    task: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    task: String,
    reason: String,
}

type PerTask = Family<TaskLabels, Counter>;
type PerKind = Family<KindLabels, Counter>;
type Durations = Family<TaskLabels, Histogram, fn() -> Histogram>;

fn work_buckets() -> Histogram {
    // 10 ms to about 80 s.
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

/// Every metric the node exports.
pub struct Metrics {
    registry: Registry,
    rounds_worked: PerTask,
    rounds_submitted: PerTask,
    rounds_missed: Family<ReasonLabels, Counter>,
    audits_raised: PerTask,
    audit_votes: PerTask,
    slashes: PerTask,
    slashed: PerTask,
    lists_proposed: PerTask,
    list_votes: PerTask,
    claimed: PerTask,
    transactions_sent: PerKind,
    transactions_landed: PerKind,
    transactions_failed: PerKind,
    rpc_errors: PerTask,
    slot_lag: Family<TaskLabels, Gauge>,
    last_tick: Family<TaskLabels, Gauge>,
    fee_payer_balance: Family<TaskLabels, Gauge>,
    stake: Family<TaskLabels, Gauge>,
    unsandboxed: Family<TaskLabels, Gauge>,
    assets: Family<AssetLabels, Gauge>,
    work_duration: Durations,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("gradual");
        let metrics = Self {
            registry: Registry::default(),
            rounds_worked: PerTask::default(),
            rounds_submitted: PerTask::default(),
            rounds_missed: Family::default(),
            audits_raised: PerTask::default(),
            audit_votes: PerTask::default(),
            slashes: PerTask::default(),
            slashed: PerTask::default(),
            lists_proposed: PerTask::default(),
            list_votes: PerTask::default(),
            claimed: PerTask::default(),
            transactions_sent: PerKind::default(),
            transactions_landed: PerKind::default(),
            transactions_failed: PerKind::default(),
            rpc_errors: PerTask::default(),
            slot_lag: Family::default(),
            last_tick: Family::default(),
            fee_payer_balance: Family::default(),
            stake: Family::default(),
            unsandboxed: Family::default(),
            assets: Family::default(),
            work_duration: Durations::new_with_constructor(work_buckets),
        };
        let counters: [(&str, &str, &PerTask); 10] = [
            ("rounds_worked", "Rounds whose work finished in time", &metrics.rounds_worked),
            ("rounds_submitted", "Rounds whose proof was committed on-chain", &metrics.rounds_submitted),
            ("audits_raised", "Audits this node raised", &metrics.audits_raised),
            ("audit_votes", "Audit votes this node landed", &metrics.audit_votes),
            ("slashes", "Times this node was slashed", &metrics.slashes),
            ("lists_proposed", "Distribution lists this node proposed", &metrics.lists_proposed),
            ("list_votes", "Distribution list votes this node landed", &metrics.list_votes),
            ("rpc_errors", "RPC requests that failed (each retry counts)", &metrics.rpc_errors),
            ("slashed_lamports", "Lamports of stake this node lost to slashes", &metrics.slashed),
            ("claimed_lamports", "Lamports of rewards this node claimed", &metrics.claimed),
        ];
        for (name, help, family) in counters {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "rounds_missed",
            "Rounds this node did not commit or reveal, by reason",
            metrics.rounds_missed.clone(),
        );
        for (name, help, family) in [
            ("transactions_sent", "Transactions sent, by kind", &metrics.transactions_sent),
            ("transactions_landed", "Transactions that landed, by kind", &metrics.transactions_landed),
            ("transactions_failed", "Transactions refused or lost, by kind", &metrics.transactions_failed),
        ] {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "slot_lag",
            "Slots between the newest slot announced and the slot the node acted on",
            metrics.slot_lag.clone(),
        );
        registry.register(
            "last_successful_tick_timestamp_seconds",
            "Unix time of the last slot the node read the chain and acted on; an alert on its age catches an outage",
            metrics.last_tick.clone(),
        );
        registry.register(
            "fee_payer_balance_lamports",
            "The operator's balance, which pays every transaction's fee",
            metrics.fee_payer_balance.clone(),
        );
        registry.register("stake_lamports", "This node's stake", metrics.stake.clone());
        registry.register(
            "task_unsandboxed",
            "1 while the task's code runs outside the sandbox (--unsandboxed)",
            metrics.unsandboxed.clone(),
        );
        registry.register(
            "task_assets",
            "1, labelled with what the task's amounts count: lamports, or a mint's address; a token task's \
             *_lamports series (stake, claimed, slashed) count that mint's base units",
            metrics.assets.clone(),
        );
        registry.register_with_unit(
            "work_duration",
            "How long the task's work took, per round",
            Unit::Seconds,
            metrics.work_duration.clone(),
        );
        Self { registry, ..metrics }
    }

    /// The handle one task's runtime updates. Every series of the task is
    /// exported from here on, at zero until it moves, so that an alert can
    /// tell "none yet" from "not running".
    pub fn task(self: &Arc<Self>, task: &str) -> TaskMetrics {
        let handle = TaskMetrics { metrics: Arc::clone(self), task: task.to_string() };
        let labels = handle.labels();
        for family in [
            &self.rounds_worked,
            &self.rounds_submitted,
            &self.audits_raised,
            &self.audit_votes,
            &self.slashes,
            &self.slashed,
            &self.lists_proposed,
            &self.list_votes,
            &self.claimed,
            &self.rpc_errors,
        ] {
            let _ = family.get_or_create(&labels);
        }
        for reason in MISSED_REASONS {
            let _ = self
                .rounds_missed
                .get_or_create(&ReasonLabels { task: task.to_string(), reason: reason.to_string() });
        }
        for kind in TRANSACTION_KINDS {
            let labels = handle.kind(kind);
            for family in [&self.transactions_sent, &self.transactions_landed, &self.transactions_failed] {
                let _ = family.get_or_create(&labels);
            }
        }
        for gauge in
            [&self.slot_lag, &self.last_tick, &self.fee_payer_balance, &self.stake, &self.unsandboxed]
        {
            let _ = gauge.get_or_create(&labels);
        }
        let _ = self.work_duration.get_or_create(&labels);
        handle
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Why a round was missed: every `rounds_missed` reason.
pub const MISSED_REASONS: [&str; 8] = [
    "unfunded",
    "stake_below_minimum",
    "work_late",
    "work_failed",
    "proof_failed",
    "not_committed",
    "reveal_lost",
    "slashed",
];

/// The transaction kinds a node sends, exported from zero.
const TRANSACTION_KINDS: [&str; 8] = [
    "SubmitProof",
    "RevealProof",
    "RaiseAudit",
    "VoteAudit",
    "ResolveAudit",
    "ProposeDistribution",
    "VoteDistribution",
    "ClaimReward",
];

/// One task's series.
#[derive(Clone)]
pub struct TaskMetrics {
    metrics: Arc<Metrics>,
    task: String,
}

impl TaskMetrics {
    fn labels(&self) -> TaskLabels {
        TaskLabels { task: self.task.clone() }
    }

    fn kind(&self, kind: &str) -> KindLabels {
        KindLabels { task: self.task.clone(), kind: kind.to_string() }
    }

    pub fn worked(&self, took: Duration) {
        self.metrics.rounds_worked.get_or_create(&self.labels()).inc();
        self.metrics.work_duration.get_or_create(&self.labels()).observe(took.as_secs_f64());
    }

    pub fn missed(&self, reason: &str) {
        let labels = ReasonLabels { task: self.task.clone(), reason: reason.to_string() };
        self.metrics.rounds_missed.get_or_create(&labels).inc();
    }

    /// A transaction of `kind` sent, and whether it landed.
    pub fn sent(&self, kind: &str, landed: bool) {
        let labels = self.kind(kind);
        self.metrics.transactions_sent.get_or_create(&labels).inc();
        let outcome =
            if landed { &self.metrics.transactions_landed } else { &self.metrics.transactions_failed };
        outcome.get_or_create(&labels).inc();
    }

    /// What the runtime counted since the last call (see `node run`).
    pub fn counted(&self, counts: &Counts) {
        let labels = self.labels();
        let families = [
            (&self.metrics.rounds_submitted, counts.rounds_submitted),
            (&self.metrics.audits_raised, counts.audits_raised),
            (&self.metrics.audit_votes, counts.audit_votes),
            (&self.metrics.lists_proposed, counts.lists_proposed),
            (&self.metrics.list_votes, counts.list_votes),
            (&self.metrics.claimed, counts.claimed_lamports),
            (&self.metrics.slashes, counts.slashes),
            (&self.metrics.slashed, counts.slashed_lamports),
        ];
        for (family, count) in families {
            if count > 0 {
                family.get_or_create(&labels).inc_by(count);
            }
        }
    }

    pub fn slot_lag(&self, slots: u64) {
        self.metrics.slot_lag.get_or_create(&self.labels()).set(i64::try_from(slots).unwrap_or(i64::MAX));
    }

    /// The counter of RPC errors, for the RPC client to count in as they happen.
    pub fn rpc_error_counter(&self) -> Counter {
        self.metrics.rpc_errors.get_or_create(&self.labels()).clone()
    }

    /// The chain was read and acted on at this slot.
    pub fn ticked(&self) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        self.metrics
            .last_tick
            .get_or_create(&self.labels())
            .set(i64::try_from(now.as_secs()).unwrap_or(i64::MAX));
    }

    pub fn fee_payer_balance(&self, lamports: u64) {
        self.metrics
            .fee_payer_balance
            .get_or_create(&self.labels())
            .set(i64::try_from(lamports).unwrap_or(i64::MAX));
    }

    pub fn stake(&self, lamports: u64) {
        self.metrics.stake.get_or_create(&self.labels()).set(i64::try_from(lamports).unwrap_or(i64::MAX));
    }

    /// Labels the task's amounts with the assets they count.
    pub fn assets(&self, task: &gradual_interface::state::Task) {
        let mint = || gradual_interface::Address::new_from_array(task.mint).to_string();
        let bounty = if task.pays_in_tokens() { mint() } else { "lamports".into() };
        let stake = if task.stakes_in_tokens() { mint() } else { "lamports".into() };
        self.metrics.assets.get_or_create(&AssetLabels { task: self.task.clone(), bounty, stake }).set(1);
    }

    pub fn unsandboxed(&self, unsandboxed: bool) {
        self.metrics.unsandboxed.get_or_create(&self.labels()).set(i64::from(unsandboxed));
    }
}

/// Increments since the last update, taken from the runtime's stats, the
/// node account and the RPC client.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub rounds_submitted: u64,
    pub audits_raised: u64,
    pub audit_votes: u64,
    pub lists_proposed: u64,
    pub list_votes: u64,
    pub claimed_lamports: u64,
    pub slashes: u64,
    pub slashed_lamports: u64,
}

/// `/metrics`, and nothing else.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    match metrics.render() {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
