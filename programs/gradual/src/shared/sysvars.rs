//! Clock and rent straight from their syscalls. pinocchio's `Sysvar::get`
//! uses the generic `sol_get_sysvar` path only under `target_os = "solana"`,
//! which the upstream `bpfel-unknown-none` target used here does not set.

use gradual_interface::{error::GradualError, math::checked_mul};
use pinocchio::error::ProgramError;

/// Bytes the runtime charges rent for on top of an account's data.
const ACCOUNT_STORAGE_OVERHEAD: u64 = 128;

pub fn current_slot() -> Result<u64, ProgramError> {
    // Clock: slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp.
    let mut clock = [0u64; 5];
    #[cfg(target_arch = "bpf")]
    {
        // SAFETY: the buffer is the 40 bytes the syscall writes.
        let result = unsafe { pinocchio::syscalls::sol_get_clock_sysvar(clock.as_mut_ptr() as *mut u8) };
        if result != 0 {
            return Err(ProgramError::UnsupportedSysvar);
        }
    }
    #[cfg(not(target_arch = "bpf"))]
    return Err(ProgramError::UnsupportedSysvar);
    #[allow(unreachable_code)]
    Ok(clock[0])
}

/// The rent-exempt minimum for `data_len` bytes of data.
pub fn rent_exempt_minimum(data_len: usize) -> Result<u64, ProgramError> {
    // Rent: lamports_per_byte_year (u64), exemption_threshold (f64 bits), burn_percent (u8).
    let mut rent = [0u64; 3];
    #[cfg(target_arch = "bpf")]
    {
        // SAFETY: the buffer is the 24 bytes the syscall writes.
        let result = unsafe { pinocchio::syscalls::sol_get_rent_sysvar(rent.as_mut_ptr() as *mut u8) };
        if result != 0 {
            return Err(ProgramError::UnsupportedSysvar);
        }
    }
    #[cfg(not(target_arch = "bpf"))]
    return Err(ProgramError::UnsupportedSysvar);
    #[allow(unreachable_code)]
    let [lamports_per_byte_year, threshold_bits, _] = rent;
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
