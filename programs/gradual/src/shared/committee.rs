//! The committee of an audit, drawn once the raise window has closed.

use gradual_interface::{error::GradualError, selection::committee_seed, state::Audit};
use pinocchio::error::ProgramError;

use super::slot_hashes;

/// Draws `audit`'s committee from the hash of the raise window's last slot,
/// unless already drawn. Returns false, changing nothing, if that hash is no
/// longer in `SlotHashes`.
pub fn draw(audit: &mut Audit) -> Result<bool, ProgramError> {
    if audit.committee_seed != [0; 32] {
        return Ok(true);
    }
    let seed_slot = audit.votes_from.checked_sub(1).ok_or(GradualError::ArithmeticOverflow)?;
    let hash = match slot_hashes::hash_at_or_before(seed_slot) {
        Ok(hash) => hash,
        Err(error) if error == GradualError::SeedUnavailable.into() => return Ok(false),
        Err(error) => return Err(error),
    };
    audit.committee_seed = committee_seed(&hash, &audit.target, audit.round);
    Ok(true)
}
