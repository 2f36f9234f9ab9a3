//! A task's work and the checks of peers' results, run beside the slot loop
//! (design decision 10). The loop starts a job and picks up its outcome on a
//! later slot, so a slow task or a silent peer never delays a submission, a
//! vote or a claim.
//!
//! - [`Inline`] runs each job at once. `simulate` of the built-in task uses
//!   it: its clock waits for the runtimes, so nothing can be late.
//! - [`Threaded`] runs each job on its own thread, at most
//!   [`MAX_CHECKS`] checks at a time. `node run` uses it, and `simulate`
//!   of an author's task. Each check has a deadline, so a silent peer costs
//!   one timeout, not one per peer.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        mpsc::{self, Receiver, TryRecvError},
        Arc,
    },
    time::{Duration, Instant},
};

use gradual_interface::{state::Node, Address};

use crate::{
    tasks::{Judgement, Submitted, Task, WorkContext},
    world::{InProcessPeers, Peers},
};

/// A task shared with the threads that run its work and checks.
pub type SharedTask = Arc<dyn Task + Send + Sync>;

/// Checks of peers' results running at once, at most.
pub const MAX_CHECKS: usize = 16;

/// Longest a single fetch of a peer's result may take, deadline permitting.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// Shortest time a fetch is given, even past its deadline.
const MIN_FETCH_TIMEOUT: Duration = Duration::from_millis(300);

/// What checking a peer's result found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    Valid,
    Invalid,
    /// The task could not judge the result (its audit part failed): the
    /// node abstains, neither raising nor voting.
    CannotJudge,
    /// The result could not be fetched (in time).
    Unreachable,
}

/// A check of `target`'s proof of `round`, to be decided by `deadline`.
pub struct CheckRequest<'a> {
    pub target: Address,
    pub account: &'a Node,
    pub round: u64,
    pub deadline: Instant,
}

/// A round's work as the task returned it, and how long the task took:
/// measured around the call, not from when the node next looked.
pub struct Worked {
    pub result: Result<Vec<u8>, String>,
    pub took: Duration,
}

impl Worked {
    fn timed(task: &SharedTask, context: &WorkContext) -> Self {
        let started = Instant::now();
        let result = task.work(context);
        Self { result, took: started.elapsed() }
    }
}

pub trait Jobs {
    /// `node`'s work for `round`: started on the first call, `None` while it
    /// runs, then its outcome, once.
    fn work(&mut self, task: &SharedTask, context: &WorkContext) -> Option<Worked>;

    /// Gives up on `node`'s work for `round`; true if it was still running.
    fn abandon_work(&mut self, node: &Address, round: u64) -> bool;

    /// The check of a peer's proof: started on the first call, `None` while
    /// it runs (or waits for a free place), then its outcome, once.
    fn check(&mut self, task: &SharedTask, peers: &mut dyn Peers, request: CheckRequest) -> Option<Checked>;

    /// Jobs still running: `simulate` waits for them before the next slot.
    fn running(&self) -> usize {
        0
    }
}

/// The task's judgement of `result` as a check's outcome. A node that cannot
/// judge neither accuses nor vouches: it abstains (the runtime counts the
/// fault and warns once a round).
fn verdict(task: &dyn Task, round: u64, submitted: &Submitted, result: &[u8]) -> Checked {
    match task.audit(round, submitted, result) {
        Judgement::Valid => Checked::Valid,
        Judgement::Invalid(reason) => {
            tracing::info!(node = %submitted.node, round, %reason, "result judged invalid");
            Checked::Invalid
        }
        Judgement::CannotJudge(error) => {
            tracing::debug!(node = %submitted.node, round, %error, "the task cannot judge this result; abstaining");
            Checked::CannotJudge
        }
    }
}

/// `target`'s proof of `round` as its account records it.
fn submitted(target: &Address, account: &Node, round: u64) -> Option<Submitted> {
    let proof = account.proof(round)?;
    Some(Submitted { node: *target, digest: proof.digest, locator: proof.locator().to_vec() })
}

/// Runs every job at once, on the caller's thread.
#[derive(Default)]
pub struct Inline;

impl Jobs for Inline {
    fn work(&mut self, task: &SharedTask, context: &WorkContext) -> Option<Worked> {
        Some(Worked::timed(task, context))
    }

    fn abandon_work(&mut self, _node: &Address, _round: u64) -> bool {
        false
    }

    fn check(&mut self, task: &SharedTask, peers: &mut dyn Peers, request: CheckRequest) -> Option<Checked> {
        let submitted = submitted(&request.target, request.account, request.round)?;
        Some(match peers.fetch(&request.target, request.account, request.round) {
            Some(result) => verdict(task.as_ref(), request.round, &submitted, &result),
            None => Checked::Unreachable,
        })
    }
}

/// Running jobs by (node, round): where each one's outcome will arrive.
type Running<T> = BTreeMap<(Address, u64), Receiver<T>>;

/// Fetches peers' results from threads: over HTTP for `node run`
/// (`peers::ResultFetcher`), from memory for `simulate --slot-ms`.
pub trait Fetch: Send + Sync {
    /// The result `account`'s node serves for `round`, within `timeout`.
    fn fetch(
        &self,
        target: &Address,
        account: &Node,
        round: u64,
        timeout: Duration,
    ) -> Result<Vec<u8>, String>;
}

/// Runs every job on a thread of its own; outcomes come back over channels.
pub struct Threaded {
    fetcher: Arc<dyn Fetch>,
    work: Running<Worked>,
    checks: Running<Checked>,
    /// Threads whose job has not returned yet.
    running: Arc<AtomicUsize>,
}

impl Threaded {
    pub fn new(fetcher: Arc<dyn Fetch>) -> Self {
        Self { fetcher, work: BTreeMap::new(), checks: BTreeMap::new(), running: Arc::default() }
    }

    /// Runs `job` on a new thread, counted while it runs.
    fn start<T: Send + 'static>(
        &self,
        name: &str,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Option<Receiver<T>> {
        let counted = Counted::new(&self.running);
        spawn(name, move || {
            let _counted = counted;
            job()
        })
    }
}

/// One running job in a counter, for as long as it lives (a panic included).
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(counter))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Takes a finished job's outcome from `jobs`, if it has one.
fn take<T>(jobs: &mut Running<T>, key: (Address, u64), lost: T) -> Option<T> {
    let outcome = match jobs.get(&key)?.try_recv() {
        Ok(outcome) => outcome,
        Err(TryRecvError::Empty) => return None,
        // The thread ended without an answer: it panicked.
        Err(TryRecvError::Disconnected) => lost,
    };
    jobs.remove(&key);
    Some(outcome)
}

/// Runs `job` on a new thread; `None` if no thread can be started.
fn spawn<T: Send + 'static>(name: &str, job: impl FnOnce() -> T + Send + 'static) -> Option<Receiver<T>> {
    let (sender, receiver) = mpsc::channel();
    let started = std::thread::Builder::new().name(name.to_string()).spawn(move || {
        let _ = sender.send(job());
    });
    match started {
        Ok(_) => Some(receiver),
        Err(error) => {
            tracing::error!(%error, "cannot start a {name} thread");
            None
        }
    }
}

impl Jobs for Threaded {
    fn work(&mut self, task: &SharedTask, context: &WorkContext) -> Option<Worked> {
        let key = (context.node, context.round);
        if !self.work.contains_key(&key) {
            let (task, context) = (Arc::clone(task), *context);
            let started = self.start("gradual-work", move || Worked::timed(&task, &context))?;
            self.work.insert(key, started);
        }
        let panicked = Worked { result: Err("the work thread panicked".into()), took: Duration::ZERO };
        take(&mut self.work, key, panicked)
    }

    fn abandon_work(&mut self, node: &Address, round: u64) -> bool {
        // The thread finishes on its own (an external call times out); its outcome is dropped.
        self.work.remove(&(*node, round)).is_some_and(|receiver| receiver.try_recv().is_err())
    }

    fn check(&mut self, task: &SharedTask, _peers: &mut dyn Peers, request: CheckRequest) -> Option<Checked> {
        let key = (request.target, request.round);
        if !self.checks.contains_key(&key) {
            if self.checks.len() >= MAX_CHECKS {
                return None;
            }
            let submitted = submitted(&request.target, request.account, request.round)?;
            let (task, fetcher, account, round) =
                (Arc::clone(task), Arc::clone(&self.fetcher), *request.account, request.round);
            // A retry after the deadline still gets a moment: the peer may have come back.
            let timeout = request
                .deadline
                .saturating_duration_since(Instant::now())
                .clamp(MIN_FETCH_TIMEOUT, FETCH_TIMEOUT);
            let target = request.target;
            let job = move || match fetcher.fetch(&target, &account, round, timeout) {
                Ok(result) => verdict(task.as_ref(), round, &submitted, &result),
                Err(error) => {
                    tracing::warn!(node = %target, round, %error, "cannot fetch result");
                    Checked::Unreachable
                }
            };
            let started = self.start("gradual-check", job)?;
            self.checks.insert(key, started);
        }
        take(&mut self.checks, key, Checked::Unreachable)
    }

    fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }
}

impl Fetch for InProcessPeers {
    fn fetch(
        &self,
        target: &Address,
        _account: &Node,
        round: u64,
        _timeout: Duration,
    ) -> Result<Vec<u8>, String> {
        self.published(target, round).ok_or_else(|| "no result served".to_string())
    }
}
