//! Checking peers' proofs, raising audits against invalid ones, voting on
//! the audits whose committee this node sits on, and resolving them.

use gradual_interface::{
    builders::{self, TaskMint},
    error::GradualError,
    pda::find_audit_address,
    round::audit_round,
    state::{Audit, Node, Task as TaskAccount, SUBMISSION_AUDITED, VOTES_PER_ROUND},
    Address,
};
use solana_instruction::Instruction;
use solana_signer::Signer;

use crate::{
    chain::Chain,
    jobs::{CheckRequest, Checked, SharedTask},
    world::World,
};

use super::{settle_grace, voted_in, NodeRuntime, Sample, Tick, Tx};

/// A peer's proof the sweep looks at: what its check found, and whether
/// this is the last slot an audit of it can be raised in.
/// Why a node raises an audit. `RaiseAudit` logs the sha256 of one of
/// these, which `gradual history` turns back into the text.
pub const RAISED_INVALID: &str = "the task's check found the result invalid";
pub const RAISED_UNREACHABLE: &str = "the result could not be fetched from the node";

pub fn reason_digest(reason: &str) -> [u8; 32] {
    solana_sha256_hasher::hash(reason.as_bytes()).to_bytes()
}

struct Suspect<'a> {
    target: &'a Address,
    round: u64,
    checked: Option<Checked>,
    last_chance: bool,
}

impl NodeRuntime {
    /// Checks `target`'s proof of `round` beside the loop, to be decided
    /// before `deadline_slot`: `None` while the check runs. A proof that held
    /// up or did not is remembered; an unreachable result is tried again.
    fn check(
        &mut self,
        chain: &dyn Chain,
        world: &mut World,
        task_impl: &SharedTask,
        target: &Address,
        (round, deadline_slot): (u64, u64),
    ) -> Option<Checked> {
        if let Some(checked) = self.audit.verdicts.get(&(*target, round)) {
            return Some(*checked);
        }
        let account = world.node_cache.get(target).filter(|account| account.proof(round).is_some())?;
        let slots_left = u32::try_from(deadline_slot.saturating_sub(chain.slot())).unwrap_or(u32::MAX);
        let now = std::time::Instant::now();
        let deadline = now.checked_add(world.slot_duration.saturating_mul(slots_left)).unwrap_or(now);
        let request = CheckRequest { target: *target, account, round, deadline };
        let checked = self.jobs.check(task_impl, world.peers.as_mut(), request)?;
        match checked {
            Checked::Unreachable => {
                self.audit.unreachable.insert((*target, round));
            }
            Checked::Valid | Checked::Invalid | Checked::CannotJudge => {
                self.audit.unreachable.remove(&(*target, round));
                self.audit.verdicts.insert((*target, round), checked);
            }
        }
        if checked == Checked::CannotJudge {
            let error = format!("the task's audit cannot judge {target}'s result; abstaining");
            self.fault(("audit", "cannot judge"), round, &error);
        }
        Some(checked)
    }

    /// Checks this node's sample of `round`'s proofs, raises audits against
    /// the invalid ones, and votes on the open audits whose committee it sits on.
    pub(super) fn audit(&mut self, stage: &mut Tick<'_>, round: u64) {
        let (task, me, offset) = (&stage.task, &*stage.me, stage.offset);
        let (chain, world, task_impl) = (&mut *stage.chain, &mut *stage.world, stage.task_impl);
        let Ok(params) = task.params_for(round).copied() else { return };
        let Some((raise_start, raise_end)) = params.audit_raise_window() else { return };
        let Some(window_end) = params.audit_window_end() else { return };
        let Some(round_start) = audit_round(round).and_then(|audit| task.timeline().round_start(audit))
        else {
            return;
        };
        if offset < raise_end {
            // An unreachable result counts against its node only in the second
            // half of the raise window; until then it may just be slow.
            let last_chance_from = raise_start.saturating_add(raise_end.saturating_sub(raise_start) / 2);
            let last_chance = offset >= last_chance_from;
            // Checks start as soon as proofs land and are decided by then.
            let decide_by = round_start.saturating_add(last_chance_from);
            // Targets leave the sample once settled, so a tick visits only open ones.
            let mut sample = self.audit.samples.remove(&round).unwrap_or_else(|| Sample {
                targets: world.sample(&self.node, round).into_iter().map(|target| (target, false)).collect(),
                swept_at: None,
            });
            let since = sample.swept_at.replace(world.refreshes());
            sample.targets.retain_mut(|(target, revealed)| {
                // Until its proof is revealed a target is looked up again
                // only when its account changed.
                if !*revealed {
                    if since.is_some_and(|since| world.unchanged_since(target, since)) {
                        return true;
                    }
                    *revealed = world.node_cache.get(target).is_some_and(|node| node.proof(round).is_some());
                    if !*revealed {
                        return true;
                    }
                }
                let checked = self.check(chain, world, task_impl, target, (round, decide_by));
                if offset < raise_start {
                    return !matches!(checked, Some(Checked::Valid | Checked::CannotJudge));
                }
                !self.raise_if_invalid(chain, world, task, Suspect { target, round, checked, last_chance })
            });
            self.audit.samples.insert(round, sample);
        } else if let Some(sample) = self.audit.samples.remove(&round) {
            // Raises are over: a revealed proof still unsettled was never judged in time.
            let late = sample
                .targets
                .iter()
                .filter(|(target, revealed)| {
                    *revealed && !self.audit.verdicts.contains_key(&(*target, round))
                })
                .count();
            if late > 0 {
                let error =
                    format!("{late} checks of round {round}'s proofs were not decided before raises closed");
                self.fault(("audit", "late"), round, &error);
            }
        }
        // Votes open when raises close, from the committee drawn then.
        if !(raise_end..window_end).contains(&offset) {
            return;
        }
        let seed_slot = round_start.saturating_add(raise_end).saturating_sub(1);
        let Some(seed_hash) = self.slot_hash(chain, seed_slot) else { return };
        // A node has 8 votes per audited round: each committee member takes the
        // open audits in its own pseudo-random order, so that together they cover them all.
        if self.audit.committees.as_ref().is_none_or(|(drawn, _)| *drawn != round) {
            let seated = self.committees_of(world, me, round, &seed_hash);
            self.audit.committees = Some((round, seated));
        }
        let open: Vec<(Address, Audit)> = self
            .audit
            .committees
            .iter()
            .flat_map(|(_, seated)| seated)
            .filter(|address| !self.audit.voted_audits.contains(&(round, **address)))
            .filter_map(|address| Some((*address, *world.open_audits.get(address)?)))
            .collect();
        let vote_by = round_start.saturating_add(window_end).saturating_sub(1);
        // Sent together, votes are simulated against the same state: at most
        // the votes the program still takes for the round, in this node's order.
        let cast = me.votes.iter().filter(|vote| vote.audit != [0; 32] && vote.round == round).count();
        let room = VOTES_PER_ROUND.saturating_sub(cast);
        let mut votes = Vec::new();
        for (audit_address, audit) in open {
            if votes.len() >= room {
                break;
            }
            if voted_in(&me.votes, round, &audit_address) {
                continue;
            }
            let target = Address::new_from_array(audit.target);
            let valid = match self.check(chain, world, task_impl, &target, (round, vote_by)) {
                Some(Checked::Valid) => true,
                Some(Checked::Invalid) => false,
                // A node that cannot judge abstains.
                Some(Checked::CannotJudge) => {
                    self.audit.voted_audits.insert((round, audit_address));
                    continue;
                }
                _ if self.audit.unreachable.contains(&(target, round)) => false,
                // Still checking: vote on a later slot.
                _ => continue,
            };
            self.audit.voted_audits.insert((round, audit_address));
            let vote = builders::vote_audit(&self.operator.pubkey(), &world.task, &audit_address, valid);
            votes.push((audit_address, Tx::one("VoteAudit", round, vote)));
        }
        // Votes on different audits are independent: they are in flight together.
        let (addresses, txs): (Vec<Address>, Vec<Tx>) = votes.into_iter().unzip();
        for (audit_address, sent) in addresses.into_iter().zip(self.send_all(chain, world, txs)) {
            match sent {
                Ok(()) => self.stats.audit_votes = self.stats.audit_votes.saturating_add(1),
                // The cluster's clock can trail this node's by a slot or two
                // at the window's first slots: tried again on a later tick.
                Err(Some(GradualError::OutsideAuditWindow)) => {
                    self.audit.voted_audits.remove(&(round, audit_address));
                }
                Err(_) => {}
            }
        }
    }

    /// The open audits of `round` on whose committee this node holds a seat,
    /// in this node's own pseudo-random order, so that together the members
    /// cover them all.
    fn committees_of(&self, world: &mut World, me: &Node, round: u64, seed_hash: &[u8; 32]) -> Vec<Address> {
        let stake = me.stake_for_round(round);
        let seeds = world.committee_seeds(round, seed_hash);
        let mut seated: Vec<Address> = seeds
            .iter()
            .filter_map(|(address, seed)| Some((address, seed, world.open_audits.get(address)?)))
            .filter(|(_, seed, audit)| audit.seats(seed, &self.node.to_bytes(), stake) > 0)
            .map(|(address, _, _)| *address)
            .collect();
        seated.sort_by_cached_key(|address| {
            solana_sha256_hasher::hashv(&[self.node.as_ref(), address.as_ref()]).to_bytes()
        });
        seated
    }

    /// Raises an audit against `target`'s proof of `round` if the result it
    /// serves does not check out (or, at the `last_chance`, could not be
    /// fetched) and nobody has raised one yet. Returns whether the target is
    /// settled: valid, audited, or raised against now.
    fn raise_if_invalid(
        &mut self,
        chain: &mut dyn Chain,
        world: &mut World,
        task: &TaskAccount,
        suspect: Suspect,
    ) -> bool {
        let Suspect { target, round, checked, last_chance } = suspect;
        if *target == self.node {
            return true;
        }
        let Some(proof) = world.node_cache.get(target).and_then(|node| node.proof(round)).copied() else {
            return false;
        };
        if proof.flags & SUBMISSION_AUDITED != 0 {
            return true;
        }
        let reason = match checked {
            Some(Checked::Invalid) => RAISED_INVALID,
            Some(Checked::Valid | Checked::CannotJudge) => return true,
            _ if last_chance && self.audit.unreachable.contains(&(*target, round)) => RAISED_UNREACHABLE,
            _ => return false,
        };
        let bond = task.params_for(round).map_or(0, |params| params.audit_bond);
        let reason = reason_digest(reason);
        let raise = builders::raise_audit_for(&self.operator.pubkey(), &world.task, target, round, reason);
        if self.send(chain, world, Tx::one("RaiseAudit", round, raise).deposit(bond)) {
            self.stats.audits_raised = self.stats.audits_raised.saturating_add(1);
            world.observer.raised(target);
            let address = find_audit_address(target, round).0;
            self.audit.voted_audits.insert((round, address));
            // Later runtimes in this slot must see the audit and the flag.
            self.reread(chain, world, &[address, *target]);
            return true;
        }
        false
    }

    /// Resolves every open audit whose window has closed.
    ///
    /// The node whose lamports wait in it resolves an audit: the raiser of an
    /// upheld one, the target of a rejected one. Anyone else does after
    /// [`settle_grace`], so an absent party cannot leave it open.
    pub(super) fn resolve_audits(&mut self, chain: &mut dyn Chain, world: &mut World) {
        let slot = chain.slot();
        let round_length = world.task_state.map_or(0, |task| task.round_length);
        let grace = world.task_state.map_or(0, |task| settle_grace(&task));
        let closed = world.closed_audits(slot);
        let due: Vec<(Address, Audit)> = closed
            .iter()
            .filter(|(address, _)| world.open_audits.contains_key(address))
            .filter(|(_, audit)| {
                let party = if audit.is_upheld() { audit.raiser } else { audit.target };
                party == self.node.to_bytes() || slot >= audit.window_end.saturating_add(grace)
            })
            .map(|(address, audit)| (*address, *audit))
            .collect();
        for (address, audit) in due {
            let target = Address::new_from_array(audit.target);
            let Some(node) = world.node_cache.get(&target).cloned() else { continue };
            // The verdict is fixed once the window closes (the raiser's seats count from the raise).
            let payout = audit.paid_out(&node).unwrap_or(0);
            let stake_mint = world.task_state.as_ref().and_then(TaskMint::of_stake);
            // With stake in the mint, only the bond leaves in lamports.
            let lamports = if stake_mint.is_some() { audit.bond } else { payout };
            // A raiser's token account that refused its share (frozen, say) cannot hold
            // the target's stake: a round after the window the vault stands in for it.
            let forfeit = self.audit.refused_resolves.contains(&(audit.round, address))
                && slot >= audit.window_end.saturating_add(round_length);
            let instructions = resolve_instructions(
                &self.operator.pubkey(),
                (&address, &audit),
                (&world.task, stake_mint.as_ref()),
                &Address::new_from_array(node.operator),
                forfeit,
            );
            if self.send(
                chain,
                world,
                Tx::of("ResolveAudit", audit.round, instructions).payout_of(payout, lamports),
            ) {
                world.open_audits.remove(&address);
                self.reread(chain, world, &[target]);
            } else if stake_mint.is_some() {
                self.audit.refused_resolves.insert((audit.round, address));
            }
        }
    }
}

/// The instructions that resolve `audit`, sent by `payer`: with stake in the
/// task's mint, the raiser's share goes to the raiser operator's token
/// account, created first if missing (the payer pays its rent); or, to
/// `forfeit` it to the pool, the task's vault is given as that account.
fn resolve_instructions(
    payer: &Address,
    (address, audit): (&Address, &Audit),
    (task, stake_mint): (&Address, Option<&TaskMint>),
    target_operator: &Address,
    forfeit: bool,
) -> Vec<Instruction> {
    let target = Address::new_from_array(audit.target);
    let raiser_operator = Address::new_from_array(audit.raiser_operator);
    match stake_mint {
        None => vec![builders::resolve_audit(address, task, &target, &raiser_operator, target_operator)],
        Some(mint) if forfeit => {
            let mut resolve = builders::resolve_audit_tokens(
                address,
                task,
                (&target, target_operator),
                &raiser_operator,
                mint,
            );
            // The raiser's token account is the last account `TaskMint::append_to` adds.
            if let Some(raiser_tokens) = resolve.accounts.last_mut() {
                raiser_tokens.pubkey = mint.vault(task);
            }
            vec![resolve]
        }
        Some(mint) => vec![
            mint.create_account_of(payer, &raiser_operator),
            builders::resolve_audit_tokens(address, task, (&target, target_operator), &raiser_operator, mint),
        ],
    }
}
