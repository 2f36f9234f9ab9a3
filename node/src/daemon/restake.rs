//! What the daemon does with the node's lamports beside the rounds:
//! `--restake` tops the stake up with claimed rewards, and an unstaking node
//! withdraws once it can without forfeiting a claim.

use gradual_interface::{
    builders::{self, TaskMint},
    round::list_round,
    state::{Node, Task as TaskAccount},
    token::read_token_account,
    Address,
};
use solana_instruction::Instruction;
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
    /// The stake is in the task's mint: a top-up adds what arrives, less
    /// any transfer fee, so any rise of the stake shows it landed.
    in_tokens: bool,
}

impl Restake {
    pub fn new(enabled: bool) -> Self {
        Self { enabled, ..Self::default() }
    }

    /// Stakes what was claimed since; the amount staked (lamports, or the
    /// mint's base units), if any was.
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
            let landed = if self.in_tokens {
                me.total_stake() > before
            } else {
                me.total_stake() >= before.saturating_add(self.owed)
            };
            if landed {
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
        let task_state = world.task_state.as_ref()?;
        let (stake, amount) = self.top_up(chain, runtime, (task, task_state), me)?;
        let before = me.total_stake();
        match chain.send(&stake, &runtime.operator, &[&runtime.operator]) {
            Ok(_) => {
                self.owed = 0;
                Some(amount)
            }
            // The program refused it: nothing moved, it is tried again later.
            Err(refused) if refused.custom_code.is_some() => {
                tracing::warn!(error = %refused.message, amount, "cannot restake yet");
                None
            }
            // The outcome may be unknown, and the top-up landed all the same:
            // the stake on chain decides, once it can be read.
            Err(refused) => {
                tracing::warn!(error = %refused.message, amount, "restake outcome unknown; waiting for the stake to tell");
                self.unsettled = Some((before, std::time::Instant::now()));
                None
            }
        }
    }

    /// The top-up of what is owed, in the asset the node stakes, and its amount.
    /// Rewards in the task's mint go back only into a stake in the mint, at
    /// most what the operator's token account holds (transfer fees withheld
    /// from the claims never arrived); `None` when nothing can be staked.
    fn top_up(
        &mut self,
        chain: &dyn Chain,
        runtime: &NodeRuntime,
        (task, task_state): (&Address, &TaskAccount),
        me: &Node,
    ) -> Option<(Vec<Instruction>, u64)> {
        let operator = runtime.operator.pubkey();
        // A top-up also sets the service URL: the one already there.
        let Some(mint) = TaskMint::of_stake(task_state) else {
            if task_state.pays_in_tokens() {
                tracing::warn!(
                    "--restake: rewards are in the task's mint and the stake in SOL; nothing is restaked"
                );
                self.enabled = false;
                return None;
            }
            return Some((vec![builders::stake(&operator, task, self.owed, me.service_url())], self.owed));
        };
        // A read that fails is tried again; an account that holds nothing has nothing to restake.
        let account = chain.account(&mint.account_of(&operator)).ok()?;
        let held = account
            .and_then(|account| read_token_account(&mint.token_program, &account.data))
            .map_or(0, |account| account.amount);
        let amount = self.owed.min(held);
        self.in_tokens = true;
        if amount == 0 {
            self.owed = 0;
            return None;
        }
        Some((vec![builders::stake_tokens(&operator, task, &mint, amount, me.service_url())], amount))
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

/// The instructions that withdraw `amount` of `operator`'s stake: from a
/// stake in the task's `mint`, into the operator's token account, created
/// first if it is missing.
pub fn withdraw_instructions(
    operator: &Address,
    task: &Address,
    mint: Option<&TaskMint>,
    amount: u64,
) -> Vec<Instruction> {
    match mint {
        None => vec![builders::withdraw_stake(operator, task, amount)],
        Some(mint) => vec![
            mint.create_account_of(operator, operator),
            builders::withdraw_stake_tokens(operator, task, mint, amount),
        ],
    }
}
