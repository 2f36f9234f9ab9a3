//! The packages a running node holds for its task: the task's own, and one
//! scheduled by `UpdateTaskPackage`, fetched in the background before its
//! first round and switched to at that round's boundary.

use std::{
    collections::BTreeMap,
    sync::{mpsc, Arc},
};

use gradual_interface::state::{Task as TaskAccount, NO_SCHEDULED_PACKAGE};
use serde_json::{json, Value};
use tokio::runtime::Runtime;

use super::{
    package::{task_impl, ExecutableArgs, Sandboxing},
    Failure,
};
use crate::{jobs::SharedTask, package::hex, tasks::Scheduled};

/// Slots between two attempts to install a scheduled package that failed.
const RETRY_SLOTS: u64 = 20;

/// A scheduled package: its first round and sha256.
type Key = (u64, [u8; 32]);

/// A scheduled package, installed and started, or why it could not be.
type Installed = (Key, Result<SharedTask, String>);

pub struct PackageSchedule {
    scheduled: Arc<Scheduled>,
    runtime: Arc<Runtime>,
    executable: ExecutableArgs,
    /// Installs under way, or the slot before which a failed one is not retried.
    attempts: BTreeMap<Key, Option<u64>>,
    installed: (mpsc::Sender<Installed>, mpsc::Receiver<Installed>),
}

impl PackageSchedule {
    /// Starts the task's package, and the scheduled one if the task has one.
    /// A local copy (`--executable`) is the package of the round under way and never changes.
    pub fn start(
        runtime: &Arc<Runtime>,
        task: &TaskAccount,
        slot: u64,
        executable: ExecutableArgs,
    ) -> Result<(Self, Sandboxing), Failure> {
        let locator = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let first = if executable.program.is_some() {
            let (sha256, text) = task.executable_for(task.timeline().round_at(slot).unwrap_or(0));
            (sha256, locator(text))
        } else {
            (task.executable_sha256, locator(task.executable_locator()))
        };
        let (base, sandboxing) = task_impl(runtime, (first.0, &first.1), executable.clone())?;
        let mut schedule = Self {
            scheduled: Arc::new(Scheduled::new(base, first.0)),
            runtime: Arc::clone(runtime),
            executable,
            attempts: BTreeMap::new(),
            installed: mpsc::channel(),
        };
        let from_round = task.next_executable_from_round;
        if from_round != NO_SCHEDULED_PACKAGE && schedule.executable.program.is_none() {
            let (next, _) = task_impl(
                runtime,
                (task.next_executable_sha256, &locator(task.next_executable_locator())),
                schedule.executable.clone(),
            )?;
            schedule.scheduled.add(from_round, task.next_executable_sha256, next);
            schedule.attempts.insert((from_round, task.next_executable_sha256), None);
        }
        Ok((schedule, sandboxing))
    }

    pub fn task(&self) -> SharedTask {
        Arc::clone(&self.scheduled) as SharedTask
    }

    /// Starts fetching a newly scheduled package, and switches to those
    /// fetched; the event to print when one was added.
    pub fn poll(&mut self, task: &TaskAccount, slot: u64) -> Option<Value> {
        let key = (task.next_executable_from_round, task.next_executable_sha256);
        let due = match self.attempts.get(&key) {
            None => true,
            Some(Some(retry_at)) => slot >= *retry_at,
            Some(None) => false,
        };
        if key.0 != NO_SCHEDULED_PACKAGE
            && self.executable.program.is_none()
            && due
            && !self.scheduled.has(key.0, &key.1)
        {
            self.attempts.insert(key, None);
            let locator = String::from_utf8_lossy(task.next_executable_locator()).into_owned();
            let (runtime, executable, sender) =
                (Arc::clone(&self.runtime), self.executable.clone(), self.installed.0.clone());
            std::thread::spawn(move || {
                let started = task_impl(&runtime, (key.1, &locator), executable)
                    .map(|(task, _)| task)
                    .map_err(|failure| failure.message().to_string());
                let _ = sender.send((key, started));
            });
        }
        let ((from_round, sha256), started) = self.installed.1.try_recv().ok()?;
        match started {
            Ok(next) => {
                self.scheduled.add(from_round, sha256, next);
                Some(
                    json!({ "event": "package_scheduled", "from_round": from_round, "sha256": hex(&sha256) }),
                )
            }
            Err(error) => {
                tracing::warn!(from_round, %error, "cannot install the package scheduled for the task; retrying");
                self.attempts.insert((from_round, sha256), Some(slot.saturating_add(RETRY_SLOTS)));
                None
            }
        }
    }
}
