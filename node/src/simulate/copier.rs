//! `simulate --copier`: a node that does no work and copies whatever it can
//! see. Simulation only: no production node does this.
//!
//! Before a round's commitment deadline it can see other nodes'
//! commitments, so it commits to one of them as its own. Once that node
//! reveals, it can see the digest and locator (and, watching transactions,
//! the salt), so it reveals them as its own. The commitment binds the node
//! that made it, so the reveal never opens, and the copier never holds a
//! proof to be paid for.

use gradual_interface::builders::{self, Reveal};
use solana_signer::Signer;

use crate::{chain::Chain, runtime::NodeRuntime, world::World};

/// One tick of a copier in `runtime`'s place, after its ordinary tick.
pub fn copy(chain: &mut dyn Chain, world: &World, runtime: &mut NodeRuntime, tally: &super::SharedTally) {
    let Some(task) = world.task_state else { return };
    let Some((round, offset)) = task.timeline().position_at(chain.slot()) else { return };
    let Some(committed) = round.checked_sub(1) else { return };
    let Ok(params) = task.params_for(committed) else { return };
    if offset >= params.submission_window {
        return;
    }
    let Some(me) = world.node_cache.get(&runtime.node).cloned() else { return };
    let operator = runtime.operator.pubkey();
    // The first other node's commitment of the round, as soon as it lands.
    if me.submission(committed).is_none() {
        let victim = world
            .node_list()
            .iter()
            .filter(|node| **node != runtime.node)
            .filter_map(|node| world.node_cache.get(node))
            .find_map(|account| account.submission(committed).map(|entry| entry.commitment));
        if let Some(commitment) = victim {
            let copy = builders::submit_proof(&operator, &world.task, committed, Some(commitment), None);
            if chain.send(&[copy], &runtime.operator, &[&runtime.operator]).is_ok() {
                runtime.stats.rounds_submitted.push(committed);
            }
        }
    }
    // The reveal of whichever node made that commitment, once it is revealed.
    let Some(revealed) = committed.checked_sub(1) else { return };
    let Some(mine) = me.submission(revealed).filter(|entry| !entry.is_revealed()) else { return };
    let source = world.node_list().iter().find_map(|node| {
        let proof = world.node_cache.get(node)?.proof(revealed)?;
        (*node != runtime.node && proof.commitment == mine.commitment).then_some(*proof)
    });
    let Some(proof) = source else { return };
    // The account keeps no salt; a copier watching transactions would read it
    // from the reveal. Any salt fails, since the commitment names another
    // node: the program tests send the right one (`submit_proof.rs`).
    let reveal = Reveal { digest: proof.digest, locator: proof.locator().to_vec(), salt: [0; 32] };
    let steal = builders::submit_proof(&operator, &world.task, committed, None, Some(&reveal));
    let refused = chain.send(&[steal], &runtime.operator, &[&runtime.operator]).is_err();
    let mut tally = tally.get();
    let count = tally.refused.entry("SubmitProof (copied reveal)").or_default();
    *count = count.saturating_add(u64::from(refused));
}
