//! The misbehaviours `simulate` injects, each a wrapper around a node's task,
//! so the runtime knows nothing of them: a bad node serves and proves a wrong
//! result, a bad proposer's rule pays itself, an offline node skips the work
//! of every odd round. `node run --behaviour bad` uses the first, for tests.

use std::sync::Arc;

use gradual_interface::Address;
use serde::Serialize;

use crate::{
    jobs::SharedTask,
    tasks::{DistributionInputs, Judgement, Leaves, Submitted, Task, WorkContext},
};

/// How far from the real round a bad node's work is done.
const WRONG_ROUND_OFFSET: u64 = 1_000_003;

/// How a simulated node behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    Honest,
    /// Serves a wrong result with a well-formed proof of it: the task's own
    /// work for another round, run through the task's own submission.
    Bad,
    /// Skips the work of every odd round.
    Offline,
    /// Works honestly but proposes (and votes for) lists that pay it the whole bounty.
    BadProposer,
    /// Does no work: copies other nodes' commitments and reveals (`simulate --copier`).
    Copier,
}

/// `task` as a node of `behaviour` runs it.
pub fn wrap(behaviour: Behaviour, task: SharedTask, node: Address) -> SharedTask {
    // Every behaviour but the bad proposer's lists as the task does.
    match behaviour {
        Behaviour::Honest => task,
        Behaviour::Bad => Arc::new(Wrapped { task, node, behaviour }),
        Behaviour::Offline => Arc::new(Wrapped { task, node, behaviour }),
        Behaviour::BadProposer => Arc::new(Wrapped { task, node, behaviour }),
        Behaviour::Copier => Arc::new(Wrapped { task, node, behaviour }),
    }
}

/// `result` with one bit changed in its middle (a byte added if empty).
pub fn corrupted(mut result: Vec<u8>) -> Vec<u8> {
    let middle = result.len() / 2;
    match result.get_mut(middle) {
        Some(byte) => *byte ^= 1,
        None => result.push(b'x'),
    }
    result
}

struct Wrapped {
    task: SharedTask,
    node: Address,
    behaviour: Behaviour,
}

impl Task for Wrapped {
    fn work(&self, context: &WorkContext) -> Result<Vec<u8>, String> {
        if self.behaviour == Behaviour::Offline && !context.round.is_multiple_of(2) {
            return Err("offline in odd rounds".into());
        }
        if self.behaviour == Behaviour::Copier {
            return Err("a copier does no work".into());
        }
        let honest = self.task.work(context)?;
        if self.behaviour != Behaviour::Bad {
            return Ok(honest);
        }
        // Work the task makes itself, for a round nobody asked: well-formed,
        // so its proof passes the task's own submission, and wrong. A task
        // whose work is the same every round gets its result with one bit
        // changed instead.
        let elsewhere = WorkContext { round: context.round.wrapping_add(WRONG_ROUND_OFFSET), ..*context };
        match self.task.work(&elsewhere) {
            Ok(wrong) if wrong != honest => Ok(wrong),
            _ => Ok(corrupted(honest)),
        }
    }

    fn submission(&self, round: u64, result: &[u8]) -> Result<([u8; 32], Vec<u8>), String> {
        self.task.submission(round, result)
    }

    fn audit(&self, round: u64, submitted: &Submitted, result: &[u8]) -> Judgement {
        self.task.audit(round, submitted, result)
    }

    fn distribution(&self, inputs: &DistributionInputs) -> Result<Leaves, String> {
        if self.behaviour != Behaviour::BadProposer {
            return self.task.distribution(inputs);
        }
        // The whole bounty to itself: computed without the honest list, which
        // 1% of 100,000 nodes each building it would cost O(nodes^2).
        Ok(vec![(self.node.to_bytes(), inputs.bounty)])
    }
}
