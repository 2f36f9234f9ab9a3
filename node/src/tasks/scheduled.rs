//! A task whose package changes at a round boundary (`UpdateTaskPackage`):
//! each call goes to the package of the round it concerns, so rounds before
//! the change are audited and distributed by the package that worked them.

use std::sync::RwLock;

use super::{DistributionInputs, Judgement, Leaves, Submitted, Task, WorkContext};
use crate::jobs::SharedTask;

/// The packages of a task, each with the first round it runs and its sha256.
pub struct Scheduled {
    packages: RwLock<Vec<(u64, [u8; 32], SharedTask)>>,
}

impl Scheduled {
    /// `first` runs every round until another is added.
    pub fn new(first: SharedTask, sha256: [u8; 32]) -> Self {
        Self { packages: RwLock::new(vec![(0, sha256, first)]) }
    }

    /// Whether the package `sha256` is known from `from_round` on.
    pub fn has(&self, from_round: u64, sha256: &[u8; 32]) -> bool {
        self.read().iter().any(|(from, known, _)| *from == from_round && known == sha256)
    }

    /// Runs `task` from `from_round` on, replacing any package scheduled from then or later.
    pub fn add(&self, from_round: u64, sha256: [u8; 32], task: SharedTask) {
        let mut packages = self.packages.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        packages.retain(|(from, _, _)| *from < from_round);
        packages.push((from_round, sha256, task));
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<(u64, [u8; 32], SharedTask)>> {
        self.packages.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn for_round(&self, round: u64) -> Option<SharedTask> {
        self.read()
            .iter()
            .rev()
            .find(|(from, _, _)| *from <= round)
            .map(|(_, _, task)| SharedTask::clone(task))
    }
}

impl Task for Scheduled {
    fn work(&self, context: &WorkContext) -> Result<Vec<u8>, String> {
        self.for_round(context.round).ok_or("no package for this round")?.work(context)
    }

    fn submission(&self, round: u64, result: &[u8]) -> Result<([u8; 32], Vec<u8>), String> {
        self.for_round(round).ok_or("no package for this round")?.submission(round, result)
    }

    fn audit(&self, round: u64, submitted: &Submitted, result: &[u8]) -> Judgement {
        match self.for_round(round) {
            Some(task) => task.audit(round, submitted, result),
            None => Judgement::CannotJudge("no package for this round".into()),
        }
    }

    fn distribution(&self, inputs: &DistributionInputs) -> Result<Leaves, String> {
        self.for_round(inputs.round).ok_or("no package for this round")?.distribution(inputs)
    }
}
