//! The dashboard: one web page, its script and style sheet, and
//! `/api/dashboard`, a JSON snapshot of each task that the page polls. `node
//! run` serves it beside its metrics; `gradual dashboard` serves it to
//! auditors and creators who run no node. The assets are compiled into the
//! binary, so the page needs no internet access.

mod audits;
mod lists;
mod losses;
mod snapshot;
mod tally;
pub mod watch;

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use gradual_interface::Address;
use serde_json::{json, Value};

pub use lists::Lists;
pub use snapshot::Own;

use crate::{tasks::Task, world::World};

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/dashboard.js");
const STYLE: &str = include_str!("assets/dashboard.css");

/// Nodes named per round in the rewards and the slashes, and audits listed
/// per round; the rest are counted.
const NODES_SHOWN: usize = 20;

/// Shortest time between two snapshots of a task.
const MIN_INTERVAL: Duration = Duration::from_millis(500);
/// A snapshot may take at most this share of a task's thread.
const MAX_SHARE: u32 = 20;

/// The latest snapshot of every task shown, by task address.
#[derive(Default)]
pub struct Board {
    tasks: RwLock<BTreeMap<String, Arc<Value>>>,
}

impl Board {
    fn put(&self, task: &Address, mut snapshot: Value) {
        snapshot["read_at"] = unix_ms().into();
        self.tasks
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(task.to_string(), Arc::new(snapshot));
    }

    fn snapshots(&self) -> Vec<Arc<Value>> {
        self.tasks.read().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect()
    }
}

/// Keeps one task's snapshot on the board current: a task thread calls
/// [`Publisher::publish`] every tick, and it builds a snapshot when one is due.
pub struct Publisher {
    board: Arc<Board>,
    kept: Kept,
    next: Instant,
}

/// What snapshots keep from one to the next.
struct Kept {
    lists: Lists,
    losses: losses::Losses,
    tallies: tally::Tallies,
    audits: audits::AuditLog,
    mint: MintWatch,
}

/// How often a token task's mint is read again: its pause can change.
const MINT_EVERY: Duration = Duration::from_secs(30);

/// What the authorities of a token task's mint can do, as last read.
#[derive(Default)]
struct MintWatch {
    read_at: Option<Instant>,
    warnings: Vec<String>,
}

impl MintWatch {
    fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Reads the mint again when due; a read that fails keeps the last warnings.
    fn follow(&mut self, chain: &dyn crate::chain::Chain, task: &gradual_interface::state::Task) {
        if !task.pays_in_tokens() || self.read_at.is_some_and(|read_at| read_at.elapsed() < MINT_EVERY) {
            return;
        }
        let mint = Address::new_from_array(task.mint);
        let Ok(account) = chain.account(&mint) else { return };
        self.read_at = Some(Instant::now());
        let asset = crate::amount::Asset::of_bounty(task);
        self.warnings = match account
            .filter(|account| gradual_interface::token::is_token_program(&account.owner))
        {
            None => vec!["the mint account is gone: no token of it can move".into()],
            Some(account) => match gradual_interface::token::read_mint(&account.owner, &account.data) {
                Ok(info) => crate::mints::mint_warnings(&info, &asset),
                Err(refusal) => {
                    vec![format!("the mint would now be refused: {}", crate::mints::mint_refusal(refusal))]
                }
            },
        };
    }
}

/// What one snapshot is made from besides the world.
pub struct Sources<'a> {
    pub slot: u64,
    /// The task's distribution rule, to compute each round's list.
    pub rule: &'a dyn Task,
    /// The node whose stake, earnings and losses are shown, if any.
    pub own: Option<Own>,
}

impl Publisher {
    pub fn new(board: Arc<Board>, lists: Lists) -> Self {
        let kept = Kept {
            lists,
            losses: losses::Losses::default(),
            tallies: tally::Tallies::default(),
            audits: audits::AuditLog::default(),
            mint: MintWatch::default(),
        };
        Self { board, kept, next: Instant::now() }
    }

    /// Whether a snapshot is due: every [`MIN_INTERVAL`], or less often when
    /// building one is slow (a task with many nodes).
    pub fn due(&self) -> bool {
        Instant::now() >= self.next
    }

    /// Takes in the world's last refresh, and whatever was read again since.
    /// Called after every refresh (and after the tick that follows it), it
    /// keeps the counts current from the nodes that changed; otherwise the
    /// next snapshot counts every node again.
    pub fn sync(&mut self, world: &World) {
        self.kept.tallies.sync(world);
    }

    /// Reads what is new of the shown rounds' audits from the ledger. Without
    /// it (`simulate`), the page shows the open audits only.
    pub fn follow_audits(&mut self, chain: &crate::rpc::RpcChain, world: &World, slot: u64) {
        if let Some(shown) = snapshot::shown_rounds(world, slot) {
            self.kept.audits.poll(chain, world, shown);
        }
    }

    /// Reads a token task's mint (its freeze authority, pause and fees) when due.
    pub fn follow_mint(&mut self, chain: &dyn crate::chain::Chain, world: &World) {
        if let Some(task) = &world.task_state {
            self.kept.mint.follow(chain, task);
        }
    }

    pub fn publish(&mut self, world: &mut World, sources: &Sources) {
        let started = Instant::now();
        if let Some(snapshot) = snapshot::build(world, &mut self.kept, sources) {
            self.board.put(&world.task, snapshot);
        }
        let spent = started.elapsed();
        let wait = MIN_INTERVAL.max(spent.saturating_mul(MAX_SHARE));
        self.next = Instant::now().checked_add(wait).unwrap_or_else(Instant::now);
    }
}

/// The page, its assets and `/api/dashboard`.
pub fn router(board: Arc<Board>) -> Router {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", PAGE) }))
        .route("/dashboard.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/dashboard.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
        .route("/api/dashboard", get(api))
        .with_state(board)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// Milliseconds since the Unix epoch.
fn unix_ms() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(now.as_millis()).unwrap_or(u64::MAX)
}

/// Each snapshot carries `read_at`, when it was read from the chain, and the
/// answer `now`, so that the page tells the data's age by the server's clock.
async fn api(State(board): State<Arc<Board>>) -> Json<Value> {
    let tasks: Vec<Value> = board.snapshots().iter().map(|snapshot| Value::clone(snapshot)).collect();
    Json(json!({ "version": 1, "now": unix_ms(), "tasks": tasks }))
}
