//! Distribution lists: building a round's list, proposing it when this
//! node's turn comes, judging and voting on others', and resolving them.

use std::sync::Arc;

use gradual_interface::{
    builders::{self, Proposal},
    round::list_round,
    selection::{is_entitled, proposal_seed},
    state::{
        Distribution, Task as TaskAccount, DISTRIBUTION_PROPOSED, DISTRIBUTION_REJECTED, MAX_LIST_URL_LEN,
        SUBMISSION_EXCLUDED,
    },
    Address,
};
use solana_signer::Signer;

use crate::{
    tasks::{Leaves, Task},
    world::{RuleList, World},
};

use super::{settle_grace, voted_in, NodeRuntime, Tick, Tx};

/// Orders the nodes' turns to vote on a list (node-side only: the program
/// takes any vote in the window).
fn vote_seed(distribution: &Distribution) -> [u8; 32] {
    solana_sha256_hasher::hashv(&[b"gradual-list-vote", &distribution.seed, &[distribution.attempt]])
        .to_bytes()
}

impl NodeRuntime {
    /// Round `round`'s list by the task's rule, from the world's node accounts.
    pub fn expected_list(
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        round: u64,
        pool: u64,
    ) -> Result<Leaves, String> {
        world.list(task_impl, task, (round, pool)).map(|list| list.leaves.as_ref().clone())
    }

    /// The list of `round` and its tree, as [`World::list`] computes it; a
    /// failure of the task's rule is counted and logged once per round.
    pub(super) fn list_of(
        &mut self,
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        (round, pool): (u64, u64),
    ) -> Option<Arc<RuleList>> {
        let rule: &dyn Task = self.lists_by.as_deref().map_or(task_impl, |rule| rule as &dyn Task);
        match world.list(rule, task, (round, pool)) {
            Ok(list) => Some(list),
            Err(error) => {
                self.fault(("distribution", super::reason_of(&error)), round, &error);
                None
            }
        }
    }

    pub(super) fn distribute(&mut self, stage: &mut Tick<'_>, listed: u64, attempt: u8) {
        let (task, me, offset) = (&stage.task, &*stage.me, stage.offset);
        let (chain, world, task_impl) = (&mut *stage.chain, &mut *stage.world, stage.task_impl.as_ref());
        let Some(attempt_round) = list_round(listed, attempt) else { return };
        let Ok(params) = task.params_for(attempt_round).copied() else { return };
        let existing = world.distributions.get(&listed).copied();
        let slot = chain.slot();
        // A list whose votes rejected it but which nobody resolved yet is open
        // too: the next proposer resolves it first.
        let open_for_attempt = match &existing {
            None => true,
            Some((_, distribution)) => {
                let rejected = distribution.status == DISTRIBUTION_REJECTED
                    || (distribution.status == DISTRIBUTION_PROPOSED
                        && slot >= distribution.vote_end
                        && distribution.is_rejected());
                rejected && distribution.attempt < attempt
            }
        };
        if offset < params.distribution_window && open_for_attempt {
            self.propose(stage, (listed, attempt), params.distribution_window);
            return;
        }
        let Some((address, distribution)) = existing else { return };
        // A list whose votes are over is resolved whatever attempt it was,
        // so one missed in its own round (slow ticks, an outage) is not stuck:
        // by its proposer if approved (its bond comes back), else by the next
        // attempt's proposer; by anyone after the grace.
        let grace_over = slot >= distribution.vote_end.saturating_add(settle_grace(task));
        let proposer_settles =
            Address::new_from_array(distribution.proposer) == self.node && !distribution.is_rejected();
        if distribution.status == DISTRIBUTION_PROPOSED
            && slot >= distribution.vote_end
            && (proposer_settles || grace_over)
        {
            if self.send(chain, world, resolve_tx(&world.task, listed, &distribution)) {
                self.reload_distribution(chain, world, listed);
            }
            return;
        }
        if distribution.status != DISTRIBUTION_PROPOSED || distribution.attempt != attempt {
            return;
        }
        // A list stands unless disputed: a node votes against a list it cannot
        // rebuild while disputes are open, and for one it can only once it is disputed.
        let disputes_open = distribution.dispute_end().is_some_and(|end| slot < end);
        let disputed = distribution.invalid_weight != 0;
        if !(distribution.vote_start..distribution.vote_end).contains(&slot)
            || !(disputes_open || disputed)
            || Address::new_from_array(distribution.proposer) == self.node
            || voted_in(&me.distribution_votes, attempt_round, &address)
            || self.lists.voted_lists.contains(&(listed, attempt))
        {
            return;
        }
        let key = (listed, attempt);
        let verdict = match self.lists.list_verdicts.get(&key) {
            Some(verdict) => *verdict,
            None => {
                let verdict = self.judge_list(world, task_impl, task, (listed, &distribution));
                self.lists.list_verdicts.insert(key, verdict);
                verdict
            }
        };
        // A node whose rule gives no list cannot judge one: it abstains.
        let Some(valid) = verdict else { return };
        // It votes only while the list's outcome as it stands is not its
        // verdict, and only once its turn comes: the set of nodes whose turn
        // it is doubles through the window, so votes stop soon after they
        // are enough, however many nodes agree. A disputer costs answers in
        // proportion to its stake, not to the number of nodes.
        let needed =
            if valid { distribution.is_rejected() } else { disputes_open && !distribution.is_rejected() };
        let window_end = if valid { distribution.vote_end } else { distribution.dispute_end().unwrap_or(0) };
        let turn = is_entitled(
            &vote_seed(&distribution),
            &self.node.to_bytes(),
            me.stake_for_round(listed),
            task.counted_stake_for(listed),
            slot.saturating_sub(distribution.vote_start),
            window_end.saturating_sub(distribution.vote_start),
        );
        if !needed || !turn {
            return;
        }
        self.lists.voted_lists.insert(key);
        // The first dispute posts a bond, returned if the list is rejected.
        let bond = if valid || distribution.dispute_bond != 0 { 0 } else { distribution.bond };
        let vote = builders::vote_distribution(&self.operator.pubkey(), &world.task, listed, valid);
        if self.send(chain, world, Tx::one("VoteDistribution", listed, vote).deposit(bond)) {
            self.stats.list_votes = self.stats.list_votes.saturating_add(1);
            self.reload_distribution(chain, world, listed);
        }
    }

    /// Whether this node rebuilds `distribution`'s list of `listed`; `None`
    /// if its rule gives no list. A list it rebuilds is kept and served.
    fn judge_list(
        &mut self,
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        (listed, distribution): (u64, &Distribution),
    ) -> Option<bool> {
        // The proposal already took its total out of the pool: the
        // bounty it could pay is judged against the pool before it.
        let pool_before = task.bounty_pool.saturating_add(distribution.reserved);
        let list = self.list_of(world, task_impl, task, (listed, pool_before))?;
        let root = list.tree.root();
        world.observer.computed_root(listed, &self.node, root);
        let valid = root == distribution.root
            && distribution.total == list.total
            && distribution.leaf_count == list.leaves.len() as u64;
        if valid {
            world.peers.serve_list(&self.node, listed, &list.leaves);
        } else {
            let proposer = Address::new_from_array(distribution.proposer);
            let error = format!("the list {proposer} proposed differs from the one this node computes");
            self.fault(("root", "differs"), listed, &error);
        }
        Some(valid)
    }

    /// Proposes attempt `attempt` of `listed`'s list once this node's turn
    /// has come in a proposal window of `window` slots.
    fn propose(&mut self, stage: &mut Tick<'_>, (listed, attempt): (u64, u8), window: u64) {
        let (task, me, offset) = (&stage.task, &*stage.me, stage.offset);
        let (chain, world, task_impl) = (&mut *stage.chain, &mut *stage.world, stage.task_impl.as_ref());
        let has_proof = me.proof(listed).is_some_and(|proof| proof.flags & SUBMISSION_EXCLUDED == 0);
        if !has_proof {
            return;
        }
        let Some(round_start) =
            list_round(listed, attempt).and_then(|round| task.timeline().round_start(round))
        else {
            return;
        };
        let Some(slot_hash) = self.slot_hash(chain, round_start.saturating_sub(1)) else { return };
        let seed = proposal_seed(&slot_hash, listed, attempt);
        let (stake, total) = (me.stake_for_round(listed), task.counted_stake_for(listed));
        if !is_entitled(&seed, &self.node.to_bytes(), stake, total, offset, window) {
            return;
        }
        // The previous attempt, rejected by its votes, is resolved first.
        if let Some((_, rejected)) = world.distributions.get(&listed).copied() {
            if rejected.status == DISTRIBUTION_PROPOSED {
                if !self.send(chain, world, resolve_tx(&world.task, listed, &rejected)) {
                    return;
                }
                self.reload_distribution(chain, world, listed);
            }
        }
        let Some(list) = self.list_of(world, task_impl, task, (listed, task.bounty_pool)) else {
            return;
        };
        world.observer.computed_root(listed, &self.node, list.tree.root());
        let mut url = me.service_url().to_vec();
        url.extend_from_slice(format!("/v1/lists/{listed}").as_bytes());
        url.truncate(MAX_LIST_URL_LEN);
        let proposal = Proposal::of(listed, &list.leaves, url);
        let bond = task.params_for(listed).map_or(0, |params| params.audit_bond);
        let instruction = builders::propose_distribution(&self.operator.pubkey(), &world.task, &proposal);
        world.peers.serve_list(&self.node, listed, &list.leaves);
        if self.send(chain, world, Tx::one("ProposeDistribution", listed, instruction).deposit(bond)) {
            self.stats.proposals.push((listed, attempt));
            self.reload_distribution(chain, world, listed);
        }
    }
}

/// `ResolveDistribution` of `listed`'s list, naming its proposer's and
/// disputer's operators, with what leaves the program: the proposer's bond
/// if the list stands, the dispute's if it falls.
fn resolve_tx(task: &Address, listed: u64, distribution: &Distribution) -> Tx {
    let proposer = Address::new_from_array(distribution.proposer_operator);
    let disputer = Address::new_from_array(distribution.disputer_operator);
    let resolve = builders::resolve_distribution(task, listed, &proposer, &disputer);
    let payout = if distribution.is_rejected() { distribution.dispute_bond } else { distribution.bond };
    Tx::one("ResolveDistribution", listed, resolve).payout(payout)
}
