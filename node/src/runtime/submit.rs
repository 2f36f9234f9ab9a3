//! Working a round and submitting it: the bounty check, the task's work
//! beside the loop, and the commitment of round r with the reveal of r - 1.

use gradual_interface::{
    builders::{self, Reveal},
    proof::proof_commitment,
    round::LIST_LAG,
    state::{Node, Task as TaskAccount},
    Address,
};
use solana_signer::Signer;

use crate::{
    chain::Chain,
    jobs::{SharedTask, Worked},
    tasks::{Task, WorkContext},
    world::World,
};

use super::{NodeRuntime, Proof, Tx};

impl NodeRuntime {
    /// Whether the bounty pool can still pay anything for `round` once the
    /// lists of the earlier rounds this node worked have drawn their bounty.
    /// A round that pays nothing is not worked, so it costs no fees; work
    /// resumes by itself once the pool is refilled. Claims and settling go on.
    pub(super) fn bounty_left_for(
        &mut self,
        world: &World,
        task: &TaskAccount,
        me: &Node,
        round: u64,
    ) -> bool {
        let still_to_list = (round.saturating_sub(LIST_LAG)..round)
            .filter(|earlier| self.submit.started.contains(earlier) || me.submission(*earlier).is_some())
            .filter(|earlier| !world.distributions.contains_key(earlier))
            .map(|earlier| task.params_for(earlier).map_or(0, |params| params.bounty_per_round))
            .fold(0u64, u64::saturating_add);
        let left = task.bounty_pool > still_to_list;
        // A round refilled in time is worked after all: it was not unfunded.
        if left {
            self.stats.rounds_unfunded.retain(|unfunded| *unfunded != round);
        }
        if let Some(previous) = round.checked_sub(1) {
            if self.stats.rounds_unfunded.last() == Some(&previous)
                && self.submit.unfunded_counted != Some(previous)
            {
                self.submit.unfunded_counted = Some(previous);
                let message = format!("round {previous} was not worked: the bounty pool could not pay it; fund the task to resume");
                self.missed(previous, "unfunded", message);
            }
        }
        if !left && !self.submit.started.contains(&round) && self.stats.rounds_unfunded.last() != Some(&round)
        {
            self.stats.rounds_unfunded.push(round);
            tracing::info!(
                node = %self.node,
                round,
                pool = task.bounty_pool,
                still_to_list,
                "the bounty pool cannot pay this round: not working it"
            );
        }
        left
    }

    /// Picks up `round`'s work if it is done, serving its result; gives it
    /// up once it is no longer `due` (its submission window has closed).
    pub(super) fn collect_work(&mut self, world: &mut World, task_impl: &SharedTask, round: u64, due: bool) {
        if !due {
            self.submit.working_on.remove(&round);
            if self.jobs.abandon_work(&self.node, round) {
                let late = format!(
                    "late: work was still running when the submission window closed: round {round} is missed"
                );
                self.fault(("work", "late"), round, &late);
                self.missed(round, "work_late", late);
            }
            return;
        }
        let context = WorkContext { task: world.task, node: self.node, round };
        match self.jobs.work(task_impl, &context) {
            None => {}
            Some(Worked { result: Ok(result), took }) => {
                self.submit.working_on.remove(&round);
                self.metrics.iter().for_each(|metrics| metrics.worked(took));
                world.peers.serve(&self.node, round, result);
            }
            Some(Worked { result: Err(error), .. }) => {
                self.submit.working_on.remove(&round);
                let error = format!("{error}: round {round} is missed");
                self.fault(("work", super::reason_of(&error)), round, &error);
                self.missed(round, "work_failed", format!("the task's work failed: {error}"));
            }
        }
    }

    pub(super) fn submit(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task_impl: &dyn Task,
        me: &Node,
        round: u64,
    ) {
        let commitment = self.commitment(world, task_impl, me, round);
        // A reveal lands only inside its own round's submission window too.
        let offset = world
            .task_state
            .and_then(|task| task.timeline().position_at(chain.slot()))
            .map(|(_, offset)| offset);
        let reveal_open = |revealed: u64| {
            world
                .task_state
                .and_then(|task| task.params_for(revealed).ok().copied())
                .zip(offset)
                .is_some_and(|(params, offset)| params.in_submission_window(offset))
        };
        let reveal = round
            .checked_sub(1)
            .filter(|revealed| reveal_open(*revealed))
            .and_then(|revealed| self.reveal(world, task_impl, me, revealed));
        if commitment.is_none() && reveal.is_none() {
            return;
        }
        let submit =
            builders::submit_proof(&self.operator.pubkey(), &world.task, round, commitment, reveal.as_ref());
        // Claims ride along, so that a round costs one signature. Those that
        // do not fit wait for the next submission, or go alone near their deadline.
        self.find_claims(chain, world, task_impl);
        // A reveal alone (the node no longer commits) is journaled apart, under the revealed round.
        let (kind, journaled) = if commitment.is_some() {
            ("SubmitProof", round)
        } else {
            ("RevealProof", round.saturating_sub(1))
        };
        let mut tx = Tx::one(kind, journaled, submit.clone());
        let mut riding = Vec::new();
        let mut full = false;
        for (deadline, claim) in std::mem::take(&mut self.claims.payable) {
            full = full || !tx.fits_with(&claim, &self.operator.pubkey());
            if full {
                self.claims.payable.push((deadline, claim));
            } else {
                tx = tx.with_claim(&claim);
                riding.push(claim);
            }
        }
        if !riding.is_empty() {
            tx.kind =
                if commitment.is_some() { "SubmitProof+ClaimReward" } else { "RevealProof+ClaimReward" };
        }
        let committed = commitment.is_some();
        if self.send(chain, world, tx) {
            if committed {
                self.stats.rounds_submitted.push(round);
            }
            for claim in riding {
                self.claimed(chain, world, &claim);
            }
        } else if !riding.is_empty()
            && self.send(chain, world, Tx::one("SubmitProof", round, submit))
            && committed
        {
            // A claim the chain refused must not cost the round's proof.
            self.stats.rounds_submitted.push(round);
        }
    }

    /// Round `round`'s proof as the task makes it from the stored result,
    /// made once; `None` if there is no result or the task could not.
    fn proof_of(&mut self, world: &World, task_impl: &dyn Task, round: u64) -> Option<Proof> {
        if !self.submit.proofs.contains_key(&round) {
            let result = world.peers.own(&self.node, round)?;
            let proof = task_impl.submission(round, &result);
            if let Err(error) = &proof {
                self.fault(("submission", super::reason_of(error)), round, error);
                self.missed(
                    round,
                    "proof_failed",
                    format!("the task's proof of round {round} failed: {error}"),
                );
            }
            self.submit.proofs.insert(round, proof.ok());
        }
        self.submit.proofs.get(&round).cloned().flatten()
    }

    /// The salt of `round`'s commitment: the operator's signature of the task
    /// and round, hashed. Deterministic, so a restarted node reveals what it
    /// committed without storing it, and secret until revealed.
    fn salt(&self, task: &Address, round: u64) -> [u8; 32] {
        let signature = self
            .operator
            .sign_message(&[b"gradual-salt".as_ref(), task.as_ref(), &round.to_le_bytes()].concat());
        solana_sha256_hasher::hashv(&[signature.as_ref()]).to_bytes()
    }

    /// The commitment to round `round`'s proof, if it is due and this node has one.
    fn commitment(&mut self, world: &World, task_impl: &dyn Task, me: &Node, round: u64) -> Option<[u8; 32]> {
        if me.submission(round).is_some() {
            return None;
        }
        let params = world.task_state.and_then(|task| task.params_for(round).ok().copied())?;
        let (digest, locator) = self.proof_of(world, task_impl, round)?;
        // A node slashed below the round's minimum stake would only be refused.
        // No stake at all counted for the round (it joined after it began, or
        // is leaving) is no fault of the node's.
        let stake = me.stake_for_round(round);
        if stake == 0 {
            return None;
        }
        if stake < params.min_stake {
            let message = format!(
                "round {round} not committed: the stake counted for it, {stake} lamports, is below the task's minimum of {}; top it up with `gradual node stake`",
                params.min_stake
            );
            self.missed(round, "stake_below_minimum", message);
            return None;
        }
        let salt = self.salt(&world.task, round);
        let committer = (&world.task.to_bytes(), &self.node.to_bytes(), round);
        Some(proof_commitment(&digest, &locator, committer, &salt))
    }

    /// The reveal of round `round`'s proof, if it is committed and not yet revealed.
    fn reveal(&mut self, world: &World, task_impl: &dyn Task, me: &Node, round: u64) -> Option<Reveal> {
        if me.submission(round).is_none_or(|entry| entry.is_revealed()) {
            return None;
        }
        let (digest, locator) = self.proof_of(world, task_impl, round)?;
        Some(Reveal { digest, locator, salt: self.salt(&world.task, round) })
    }
}
