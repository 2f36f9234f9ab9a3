//! Claiming what this node is owed, with a submission or on its own before
//! the deadline, and expiring lists nobody claimed from.

use gradual_interface::{
    builders::{self, TaskMint},
    merkle,
    pda::find_distribution_address,
    round::{attempts_end, list_round, oldest_open},
    state::{
        Account as _, Distribution, Node, Task as TaskAccount, DISTRIBUTION_APPROVED, DISTRIBUTION_FAILED,
        DISTRIBUTION_PROPOSED, DISTRIBUTION_REJECTED, SUBMISSION_EXCLUDED,
    },
    Address,
};
use solana_instruction::Instruction;
use solana_signer::Signer;

use crate::{
    approved::ApprovedList,
    chain::{Chain, Read},
    tasks::{Hello, Leaves, Task},
    world::{InProcessPeers, World},
};

use super::{Claim, NodeRuntime, Tx};

/// Rounds before a claim's deadline from which it is sent on its own rather
/// than waiting to ride with a submission.
const CLAIM_ALONE_ROUNDS: u64 = 2;

impl NodeRuntime {
    /// Fills `payable` with every reward this node can claim now, soonest deadline first.
    pub(super) fn find_claims(&mut self, chain: &dyn Chain, world: &mut World, task_impl: &dyn Task) {
        self.claims.payable.clear();
        let Some(task) = world.task_state else { return };
        if !self.auto_claim {
            return;
        }
        let Some(me) = world.node_cache.get(&self.node).cloned() else { return };
        let slot = chain.slot();
        let approved: Vec<(u64, Distribution)> = world
            .distributions
            .iter()
            .filter(|(listed, (_, distribution))| {
                distribution.status == DISTRIBUTION_APPROVED
                    && slot < distribution.claim_deadline
                    && !me.claimed_rounds.contains(**listed)
            })
            .map(|(listed, (_, distribution))| (*listed, *distribution))
            .collect();
        let create_account = token_account_missing(chain, &task, &self.operator.pubkey());
        for (listed, distribution) in approved {
            if !world.approved_lists.contains_key(&distribution.root) {
                if let Some(list) = self.find_approved_list(world, task_impl, &task, (listed, &distribution))
                {
                    world.approved_lists.insert(distribution.root, list);
                }
            }
            let claim = world.approved_lists.get(&distribution.root).and_then(|list| list.claim(&self.node));
            if let Some((amount, proof)) = claim {
                let in_tokens = distribution.reserve_in_tokens != 0;
                let owed = Owed { round: listed, amount, proof, in_tokens };
                let operator = (&self.operator.pubkey(), create_account);
                let instructions = claim_instructions(operator, (&world.task, &task), &owed);
                let claim = Claim { round: listed, amount, in_tokens, instructions };
                self.claims.payable.push((distribution.claim_deadline, claim));
            }
        }
        self.claims.payable.sort_by_key(|(deadline, _)| *deadline);
    }

    /// The list that builds `distribution`'s root: this node's own (shared
    /// by the runtimes of the process), else the one it kept, else the
    /// proposer's.
    fn find_approved_list(
        &mut self,
        world: &mut World,
        task_impl: &dyn Task,
        task: &TaskAccount,
        (listed, distribution): (u64, &Distribution),
    ) -> Option<ApprovedList> {
        let root = &distribution.root;
        let own = self
            .list_of(world, task_impl, task, (listed, distribution.total))
            .filter(|list| list.tree.root() == *root);
        if let Some(list) = own {
            return ApprovedList::matching(list.leaves.as_ref().clone(), Some(list.tree.clone()), root);
        }
        let kept = world.peers.kept_list(&self.node, listed);
        kept.and_then(|leaves| ApprovedList::matching(leaves, None, root)).or_else(|| {
            let served = world.peers.proposer_list(distribution)?;
            ApprovedList::matching(served, None, root)
        })
    }

    /// Sends, packed into as few transactions as fit, the claims that cannot
    /// wait for a submission to ride with: those near their deadline, and,
    /// once this node no longer submits, all of them as soon as no list it
    /// may still be paid by is pending.
    pub(super) fn claim_alone(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task: &TaskAccount,
        submits_again: bool,
    ) {
        let slot = chain.slot();
        let soon = task.round_length.saturating_mul(CLAIM_ALONE_ROUNDS);
        let all_now = !submits_again && !self.lists_pending(world, task, slot);
        let mut due: std::collections::VecDeque<Claim> = std::mem::take(&mut self.claims.payable)
            .into_iter()
            .filter(|(deadline, _)| all_now || slot.saturating_add(soon) >= *deadline)
            .map(|(_, claim)| claim)
            .collect();
        let mut txs = Vec::new();
        let mut batches = Vec::new();
        while let Some(first) = due.pop_front() {
            let mut tx = Tx::of("ClaimReward", first.round, first.instructions.clone())
                .payout_of(first.amount, first.lamports());
            let mut batch = vec![first];
            while let Some(next) = due.front() {
                if !tx.fits_with(next, &self.operator.pubkey()) {
                    break;
                }
                tx = tx.with_claim(next);
                batch.extend(due.pop_front());
            }
            txs.push(tx);
            batches.push(batch);
        }
        // Each claim is of its own list: the transactions are in flight together.
        let landed = self.send_all(chain, world, txs);
        for (batch, _) in batches.iter().zip(landed).filter(|(_, landed)| landed.is_ok()) {
            for claim in batch {
                self.claimed(chain, world, claim);
            }
        }
    }

    /// Whether a round this node submitted for may still get a list that pays it.
    fn lists_pending(&self, world: &World, task: &TaskAccount, slot: u64) -> bool {
        let Some(me) = world.node_cache.get(&self.node) else { return false };
        let Some(round) = task.timeline().round_at(slot) else { return false };
        let failed = task.allowed_failed_distributions;
        me.submissions.iter().filter(|entry| entry.flags & SUBMISSION_EXCLUDED == 0).any(|entry| {
            let listed = entry.round;
            me.submission(listed).is_some()
                && list_round(listed, failed).is_some_and(|last| round <= last)
                && world
                    .distributions
                    .get(&listed)
                    .is_none_or(|(_, list)| list.status == DISTRIBUTION_PROPOSED)
        })
    }

    /// Books a claim that landed.
    pub(super) fn claimed(&mut self, chain: &dyn Chain, world: &mut World, claim: &Claim) {
        self.stats.rewards_claimed = self.stats.rewards_claimed.saturating_add(claim.amount);
        self.stats.rounds_paid.push(claim.round);
        self.stats.claimed_by_round.insert(claim.round, claim.amount);
        self.reload_distribution(chain, world, claim.round);
    }

    /// Returns expired lists' unclaimed lamports to the pool. The payer of a
    /// list's rent gets it back, so it expires its own; anyone else a round later.
    pub(super) fn expire(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task: &TaskAccount,
        round: u64,
    ) {
        let slot = chain.slot();
        let grace = task.round_length;
        let due: Vec<(u64, Distribution)> =
            world.distributions.iter().map(|(listed, (_, distribution))| (*listed, *distribution)).collect();
        for (listed, distribution) in due {
            let attempts_over = attempts_end(listed, task.allowed_failed_distributions).unwrap_or(u64::MAX);
            let expires_from = match distribution.status {
                DISTRIBUTION_FAILED => Some(slot),
                DISTRIBUTION_APPROVED => Some(distribution.claim_deadline),
                DISTRIBUTION_REJECTED if round >= attempts_over => Some(slot),
                _ => None,
            };
            let Some(expires_from) = expires_from else { continue };
            let payer = Address::new_from_array(distribution.payer);
            let mine = payer == self.operator.pubkey();
            if slot < expires_from || (!mine && slot < expires_from.saturating_add(grace)) {
                continue;
            }
            let expire = builders::expire_distribution(&world.task, listed, &payer);
            if self.send(chain, world, Tx::one("ExpireDistribution", listed, expire)) {
                self.reload_distribution(chain, world, listed);
            }
        }
    }
}

/// `node`'s amount and Merkle proof in `leaves`, if they build the
/// distribution's root and pay `node` anything.
pub fn claim_of(leaves: Leaves, distribution: &Distribution, node: &Address) -> Option<(u64, merkle::Proof)> {
    ApprovedList::matching(leaves, None, &distribution.root)?.claim(node)
}

/// A reward a node can claim from an approved list.
#[derive(Clone, Debug)]
pub struct Owed {
    pub round: u64,
    pub amount: u64,
    pub proof: merkle::Proof,
    /// The list pays in the task's mint, from its vault.
    pub in_tokens: bool,
}

/// The instructions that claim `owed` for `operator`: from a list in the
/// task's mint, the operator's associated token account is created first
/// when `create_account` (it was missing: the operator pays its rent), in
/// the same transaction.
pub fn claim_instructions(
    (operator, create_account): (&Address, bool),
    (task_address, task): (&Address, &TaskAccount),
    owed: &Owed,
) -> Vec<Instruction> {
    let mint = TaskMint::of(task).filter(|_| owed.in_tokens);
    match mint {
        None => vec![builders::claim_reward(operator, task_address, owed.round, owed.amount, &owed.proof)],
        Some(mint) => {
            let claim = builders::claim_reward_tokens(
                operator,
                task_address,
                (owed.round, owed.amount),
                &owed.proof,
                &mint,
            );
            if create_account {
                vec![mint.create_account_of(operator, operator), claim]
            } else {
                vec![claim]
            }
        }
    }
}

/// Whether a claim from `task`'s mint must create `operator`'s associated
/// token account: it is missing, or the chain could not say (creating an
/// existing one is harmless, only dearer).
pub fn token_account_missing(chain: &dyn Chain, task: &TaskAccount, operator: &Address) -> bool {
    TaskMint::of(task).is_some_and(|mint| !matches!(chain.account(&mint.account_of(operator)), Ok(Some(_))))
}

/// What `node` is owed and has not claimed, by approved list still open for claims.
pub fn owed(
    chain: &mut dyn Chain,
    runtime: &tokio::runtime::Runtime,
    (task_address, task): (&Address, &TaskAccount),
    (node, me): (&Address, &Node),
) -> Read<Vec<Owed>> {
    let mut world = World::new(*task_address, Box::new(InProcessPeers::default()), 0, 0);
    world.refresh(chain)?;
    let current = task.timeline().round_at(chain.slot()).unwrap_or(0);

    let mut owed = Vec::new();
    for round in oldest_open(current, task.allowed_failed_distributions)..current {
        let address = find_distribution_address(task_address, round).0;
        let Some(distribution) =
            chain.account(&address)?.and_then(|account| Distribution::read(&account.data))
        else {
            continue;
        };
        if distribution.status != DISTRIBUTION_APPROVED
            || me.claimed_rounds.contains(round)
            || chain.slot() >= distribution.claim_deadline
        {
            continue;
        }
        // The approved list paid out its total: the default rule over that total
        // (a task with a rule of its own falls back to the proposer's list).
        let leaves = NodeRuntime::expected_list(&mut world, &Hello, task, round, distribution.total);
        // Nodes' accounts may have changed since (one left, a ring moved on):
        // then the proposer's own list, signed and checked against the root.
        let claim = leaves.ok().and_then(|leaves| claim_of(leaves, &distribution, node)).or_else(|| {
            let url = String::from_utf8_lossy(distribution.url()).into_owned();
            let operator = Address::new_from_array(distribution.proposer_operator);
            let served = crate::peers::fetch_list(runtime, &url, &operator)
                .map_err(|error| tracing::warn!(round, %url, %error, "cannot fetch the proposer's list"))
                .ok()?;
            claim_of(served, &distribution, node)
        });
        if let Some((amount, proof)) = claim {
            owed.push(Owed { round, amount, proof, in_tokens: distribution.reserve_in_tokens != 0 });
        }
    }
    Ok(owed)
}

/// Where a distribution's leaves were found: the default rule over the node
/// accounts as they are now, or the proposer's list, signed and served.
pub type LeavesSource = &'static str;

/// The leaves of `distribution`, if either the default rule over the
/// accounts now (for the total it pays) or the proposer's signed list
/// builds its root; with where they came from.
pub fn distribution_leaves(
    chain: &mut dyn Chain,
    runtime: &tokio::runtime::Runtime,
    (task_address, task): (&Address, &TaskAccount),
    distribution: &Distribution,
) -> Read<Option<(LeavesSource, ApprovedList)>> {
    let mut world = World::new(*task_address, Box::new(InProcessPeers::default()), 0, 0);
    world.refresh(chain)?;
    let by_rule =
        NodeRuntime::expected_list(&mut world, &Hello, task, distribution.round, distribution.total);
    if let Some(list) =
        by_rule.ok().and_then(|leaves| ApprovedList::matching(leaves, None, &distribution.root))
    {
        return Ok(Some(("rule", list)));
    }
    let url = String::from_utf8_lossy(distribution.url()).into_owned();
    let operator = Address::new_from_array(distribution.proposer_operator);
    let served = crate::peers::fetch_list(runtime, &url, &operator)
        .map_err(|error| tracing::warn!(%url, %error, "cannot fetch the proposer's list"))
        .ok();
    Ok(served
        .and_then(|leaves| ApprovedList::matching(leaves, None, &distribution.root))
        .map(|list| ("proposer", list)))
}
