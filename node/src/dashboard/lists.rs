//! Each round's distribution list, node by node, for the dashboard. The
//! chain holds only a list's Merkle root; the amounts are the task's rule
//! computed from the node accounts, or else the proposer's served list, and
//! are shown only when they build the root on chain.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use gradual_interface::{merkle::tree_of, state::Distribution, Address};
use tokio::runtime::Runtime;

use crate::{tasks::Leaves, tasks::Task, world::World};

/// How long a list that could not be found is not looked for again.
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Where a list's amounts came from.
#[derive(Clone, Copy)]
pub enum Source {
    /// The task's rule over the node accounts, as every voter computes it.
    Rule,
    /// The proposer's list, fetched from its service URL and signed by it.
    Proposer,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Rule => "rule",
            Source::Proposer => "proposer",
        }
    }
}

/// A list whose amounts were found, with what the page shows of it,
/// worked out once: a list with 100,000 leaves takes milliseconds to rank.
pub struct Paid {
    pub leaves: Arc<Leaves>,
    pub source: Source,
    pub total: u64,
    /// The most paid nodes, most paid first (ties by address).
    pub top: Vec<([u8; 32], u64)>,
}

impl Paid {
    fn new(leaves: Arc<Leaves>, source: Source) -> Self {
        let total = leaves.iter().map(|(_, amount)| *amount).fold(0u64, u64::saturating_add);
        let most_paid_first = |a: &([u8; 32], u64), b: &([u8; 32], u64)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        let mut top = leaves.as_ref().clone();
        if top.len() > super::NODES_SHOWN {
            top.select_nth_unstable_by(super::NODES_SHOWN, most_paid_first);
            top.truncate(super::NODES_SHOWN);
        }
        top.sort_unstable_by(most_paid_first);
        Self { leaves, source, total, top }
    }
}

enum Found {
    Paid(Arc<Paid>),
    Missing(Instant),
}

/// Lists found so far, by round and root: a root's list never changes.
pub struct Lists {
    /// To fetch proposers' lists; `None`: only the rule's lists are shown.
    fetch_with: Option<Arc<Runtime>>,
    found: HashMap<(u64, [u8; 32]), Found>,
}

impl Lists {
    /// Lists by the rule, else fetched from their proposers.
    pub fn fetching(runtime: Arc<Runtime>) -> Self {
        Self { fetch_with: Some(runtime), found: HashMap::new() }
    }

    /// Lists by the rule only. A node builds its dashboard in its own
    /// thread, between its transactions: a proposer that answers slowly
    /// must not hold that up.
    pub fn by_rule() -> Self {
        Self { fetch_with: None, found: HashMap::new() }
    }

    /// The amounts of `distribution`'s list, if they can be found.
    pub fn of(
        &mut self,
        world: &mut World,
        rule: &dyn Task,
        distribution: &Distribution,
    ) -> Option<Arc<Paid>> {
        let key = (distribution.round, distribution.root);
        match self.found.get(&key) {
            Some(Found::Paid(paid)) => return Some(Arc::clone(paid)),
            Some(Found::Missing(at)) if at.elapsed() < RETRY_AFTER => return None,
            _ => {}
        }
        let found =
            self.find(world, rule, distribution).map(|(leaves, source)| Arc::new(Paid::new(leaves, source)));
        let kept = match &found {
            Some(paid) => Found::Paid(Arc::clone(paid)),
            None => Found::Missing(Instant::now()),
        };
        self.found.insert(key, kept);
        found
    }

    fn find(
        &self,
        world: &mut World,
        rule: &dyn Task,
        distribution: &Distribution,
    ) -> Option<(Arc<Leaves>, Source)> {
        let builds_root = |leaves: &Leaves| tree_of(leaves).root() == distribution.root;
        let task = world.task_state?;
        if let Ok(list) = world.list(rule, &task, (distribution.round, distribution.total)) {
            if builds_root(&list.leaves) {
                return Some((Arc::clone(&list.leaves), Source::Rule));
            }
        }
        // Node accounts moved on since (a ring wrapped, a node left), or the
        // proposer used a rule this process does not know.
        let runtime = self.fetch_with.as_ref()?;
        let url = String::from_utf8_lossy(distribution.url()).into_owned();
        let operator = Address::new_from_array(distribution.proposer_operator);
        match crate::peers::fetch_list(runtime, &url, &operator) {
            Ok(leaves) if builds_root(&leaves) => Some((Arc::new(leaves), Source::Proposer)),
            Ok(_) => {
                tracing::warn!(round = distribution.round, %url, "the proposer's list does not build its root");
                None
            }
            Err(error) => {
                tracing::debug!(round = distribution.round, %url, %error, "cannot fetch the proposer's list");
                None
            }
        }
    }

    /// Forgets the lists of rounds before `round`.
    pub fn forget_before(&mut self, round: u64) {
        self.found.retain(|(kept, _), _| *kept >= round);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_paid_nodes_are_ranked_once_and_the_total_counts_every_leaf() {
        let leaves: Leaves = (0u8..50).map(|node| ([node; 32], u64::from(node % 7))).collect();
        let paid = Paid::new(Arc::new(leaves.clone()), Source::Rule);
        assert_eq!(paid.total, leaves.iter().map(|(_, amount)| amount).sum::<u64>());
        assert_eq!(paid.top.len(), crate::dashboard::NODES_SHOWN);
        let mut ranked = leaves;
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(crate::dashboard::NODES_SHOWN);
        assert_eq!(paid.top, ranked);
    }
}
