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
};

/// Long after a blockhash expires (150 slots, about a minute): a transaction
/// not landed by then never will.
const BLOCKHASH_EXPIRED: std::time::Duration = std::time::Duration::from_secs(180);

/// `--restake`: claimed rewards go back into the stake, by a top-up once the
/// program takes one (not while an audit against the node is open).
#[derive(Default)]
pub struct Restake {
    enabled: bool,
    /// Rewards claimed so far, as counted when last looked at.
    claimed: u64,
    /// Claimed and not yet staked.
    owed: u64,
    /// The stake before a top-up whose outcome is not known, and when it
    /// was sent: `owed` is not sent again until the stake shows it landed,
    /// or its blockhash has long expired without it.
    unsettled: Option<(u64, std::time::Instant)>,
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
        if let Some((before, sent)) = self.unsettled {
            // The stake decides: landed, or not, but never staked twice.
            if me.total_stake() >= before.saturating_add(self.owed) {
                self.unsettled = None;
                return Some(std::mem::take(&mut self.owed));
            }
            // Something else moved the stake (a slash), or the transaction
            // can no longer land: send again.
            if me.total_stake() != before || sent.elapsed() > BLOCKHASH_EXPIRED {
                self.unsettled = None;
            }
            return None;
        }
        if self.owed == 0 || me.open_audits > 0 || me.is_exiting() {
            return None;
        }
        // A top-up also sets the service URL: the one already there.
        let stake = builders::stake(&runtime.operator.pubkey(), task, self.owed, me.service_url());
        let before = me.total_stake();
        match chain.send(&[stake], &runtime.operator, &[&runtime.operator]) {
            Ok(_) => Some(std::mem::take(&mut self.owed)),
            // The program refused it: nothing moved, it is tried again later.
            Err(refused) if refused.custom_code.is_some() => {
                tracing::warn!(error = %refused.message, lamports = self.owed, "cannot restake yet");
                None
            }
            // The outcome may be unknown, and the top-up landed all the same:
            // the stake on chain decides, once it can be read.
            Err(refused) => {
                tracing::warn!(error = %refused.message, lamports = self.owed, "restake outcome unknown; waiting for the stake to tell");
                self.unsettled = Some((before, std::time::Instant::now()));
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
