//! What the daemon does with the node's lamports beside the rounds:
//! `--restake` tops the stake up with claimed rewards, and an unstaking node
//! withdraws once it can without forfeiting a claim.

use gradual_interface::{
    builders,
    round::list_round,
    state::{Node, Task as TaskAccount},
    Address,
};
use solana_signer::Signer;

use crate::{
    chain::Chain,
    runtime::{NodeRuntime, World},
    world::read,
};

/// `--restake`: claimed rewards go back into the stake, by a top-up once the
/// program takes one (not while an audit against the node is open).
#[derive(Default)]
pub struct Restake {
    enabled: bool,
    /// Rewards claimed so far, as counted when last looked at.
    claimed: u64,
    /// Claimed and not yet staked.
    owed: u64,
}

impl Restake {
    pub fn new(enabled: bool) -> Self {
        Self { enabled, ..Self::default() }
    }

    /// Stakes what was claimed since; the lamports staked, if any were.
    pub fn send(
        &mut self,
        chain: &mut dyn Chain,
        runtime: &NodeRuntime,
        (task, world): (&Address, &World),
    ) -> Option<u64> {
        if !self.enabled {
            return None;
        }
        let claimed = runtime.stats.rewards_claimed;
        self.owed = self.owed.saturating_add(claimed.saturating_sub(self.claimed));
        self.claimed = self.claimed.max(claimed);
        let me = world.node_cache.get(&runtime.node)?;
        if self.owed == 0 || me.open_audits > 0 || me.is_exiting() {
            return None;
        }
        // A top-up also sets the service URL: the one already there.
        let stake = builders::stake(&runtime.operator.pubkey(), task, self.owed, me.service_url());
        let before = me.total_stake();
        match chain.send(&[stake], &runtime.operator, &[&runtime.operator]) {
            Ok(_) => Some(std::mem::take(&mut self.owed)),
            Err(refused) => {
                // The outcome may be unknown and the top-up landed all the
                // same: the stake on chain decides, so nothing is staked twice.
                let now = read::<Node>(chain, &runtime.node)
                    .ok()
                    .flatten()
                    .map_or(before, |node| node.total_stake());
                if now >= before.saturating_add(self.owed) {
                    return Some(std::mem::take(&mut self.owed));
                }
                tracing::warn!(error = %refused.message, lamports = self.owed, "cannot restake yet");
                None
            }
        }
    }
}

/// The first round in which an unstaking node has both served its cooldown
/// and seen every list that can still pay its last active round; withdrawing
/// everything earlier would forfeit those claims.
pub fn withdrawable_from(task: &TaskAccount, node: &Node) -> u64 {
    let cooldown_over = node.exit_round.saturating_add(task.unstake_cooldown_rounds);
    let last_list = list_round(node.exit_round, task.allowed_failed_distributions).unwrap_or(u64::MAX);
    cooldown_over.max(last_list)
}
