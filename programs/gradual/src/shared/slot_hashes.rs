//! The hash of a recent slot, read from the `SlotHashes` sysvar a few
//! entries at a time (the whole sysvar is 20 KB).

use gradual_interface::{error::GradualError, math::checked_mul};
use pinocchio::{error::ProgramError, sysvars::slot_hashes::SLOTHASHES_ID};

use super::sysvars::read_sysvar_at;

/// Entries the sysvar keeps: `u64` count, then `(slot u64, hash [u8; 32])`, newest first.
const MAX_ENTRIES: u64 = 512;
const ENTRY_WORDS: usize = 5;

fn entry(index: u64) -> Result<(u64, [u8; 32]), ProgramError> {
    let offset = checked_mul(index, 40)
        .and_then(|bytes| bytes.checked_add(8))
        .ok_or(GradualError::ArithmeticOverflow)?;
    let words = read_sysvar_at::<ENTRY_WORDS>(&SLOTHASHES_ID, offset)?;
    let [slot, hash @ ..] = words;
    Ok((slot, bytemuck::cast(hash)))
}

/// The hash of the newest slot at or before `target`.
pub fn hash_at_or_before(target: u64) -> Result<[u8; 32], ProgramError> {
    let [count] = read_sysvar_at::<1>(&SLOTHASHES_ID, 0)?;
    let count = count.min(MAX_ENTRIES);
    if count == 0 {
        return Err(GradualError::SeedUnavailable.into());
    }
    let (newest, newest_hash) = entry(0)?;
    // No newer block than `target` yet (it was skipped): the newest is the answer, for good.
    let distance = match newest.checked_sub(target) {
        None | Some(0) => return Ok(newest_hash),
        Some(distance) => distance,
    };
    // Without skipped slots the entry sits exactly `distance` places down.
    if distance < count {
        let (slot, hash) = entry(distance)?;
        if slot == target {
            return Ok(hash);
        }
    }
    // Otherwise find the first entry at or before `target` (slots descend).
    let (mut low, mut high) = (0u64, count);
    while low < high {
        let middle = low.checked_add(high.saturating_sub(low) / 2).ok_or(GradualError::ArithmeticOverflow)?;
        if entry(middle)?.0 <= target {
            high = middle;
        } else {
            low = middle.saturating_add(1);
        }
    }
    if low == count {
        return Err(GradualError::SeedUnavailable.into());
    }
    Ok(entry(low)?.1)
}
