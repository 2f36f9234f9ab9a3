//! Clock and rent read with the generic `sol_get_sysvar` syscall. pinocchio's
//! `Sysvar::get` takes that path only under `target_os = "solana"`, which the
//! upstream `bpfel-unknown-none` target used here does not set.

use gradual_interface::{error::GradualError, math::checked_mul, CLOCK_SYSVAR_ID};
use pinocchio::{error::ProgramError, AccountView, Address};

/// Bytes the runtime charges rent for on top of an account's data.
const ACCOUNT_STORAGE_OVERHEAD: u64 = 128;

/// Reads `N` little-endian words of a sysvar, from byte `offset`.
#[cfg(target_arch = "bpf")]
pub fn read_sysvar_at<const N: usize>(id: &Address, offset: u64) -> Result<[u64; N], ProgramError> {
    let mut words = [0u64; N];
    let length = core::mem::size_of::<[u64; N]>() as u64;
    // SAFETY: `words` is `length` writable bytes and `id` is 32 readable bytes.
    match unsafe {
        pinocchio::syscalls::sol_get_sysvar(
            id.as_ref().as_ptr(),
            words.as_mut_ptr() as *mut u8,
            offset,
            length,
        )
    } {
        0 => Ok(words),
        _ => Err(ProgramError::UnsupportedSysvar),
    }
}

#[cfg(not(target_arch = "bpf"))]
pub fn read_sysvar_at<const N: usize>(_id: &Address, _offset: u64) -> Result<[u64; N], ProgramError> {
    Err(ProgramError::UnsupportedSysvar)
}

fn read_sysvar<const N: usize>(id: &Address) -> Result<[u64; N], ProgramError> {
    read_sysvar_at::<N>(id, 0)
}

/// The clock's first field: the slot.
pub fn current_slot() -> Result<u64, ProgramError> {
    let [slot] = read_sysvar::<1>(&pinocchio::sysvars::clock::CLOCK_ID)?;
    Ok(slot)
}

/// The slot, read from the Clock sysvar's account: about 100 CU cheaper
/// than the syscall, for the instruction that runs most often.
pub fn slot_from_clock_account(clock: &AccountView) -> Result<u64, ProgramError> {
    if *clock.address() != CLOCK_SYSVAR_ID {
        return Err(GradualError::InvalidClockAccount.into());
    }
    // SAFETY: a sysvar is never writable by a program, so no mutable borrow
    // of its data can exist.
    let data = unsafe { clock.borrow_unchecked() };
    let slot = data.first_chunk::<8>().ok_or(GradualError::InvalidClockAccount)?;
    Ok(u64::from_le_bytes(*slot))
}

/// The rent-exempt minimum for `data_len` bytes of data.
pub fn rent_exempt_minimum(data_len: usize) -> Result<u64, ProgramError> {
    // Rent starts with lamports_per_byte_year (u64) and exemption_threshold (f64).
    let [lamports_per_byte_year, threshold_bits] = read_sysvar::<2>(&pinocchio::sysvars::rent::RENT_ID)?;
    // Only the thresholds in use (2.0 today, 1.0 after SIMD-0194) are integers;
    // anything else would need floating point, which this program never uses.
    let factor = if threshold_bits == 2.0f64.to_bits() {
        2
    } else if threshold_bits == 1.0f64.to_bits() {
        1
    } else {
        return Err(ProgramError::UnsupportedSysvar);
    };
    let bytes = u64::try_from(data_len)
        .ok()
        .and_then(|len| len.checked_add(ACCOUNT_STORAGE_OVERHEAD))
        .ok_or(GradualError::ArithmeticOverflow)?;
    checked_mul(bytes, lamports_per_byte_year)
        .and_then(|per_year| checked_mul(per_year, factor))
        .ok_or_else(|| GradualError::ArithmeticOverflow.into())
}
