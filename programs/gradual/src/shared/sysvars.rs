//! Clock and rent straight from their syscalls. pinocchio's `Sysvar::get`
//! uses the generic `sol_get_sysvar` path only under `target_os = "solana"`,
//! which the upstream `bpfel-unknown-none` target used here does not set.

use gradual_interface::{error::GradualError, math::checked_mul};
use pinocchio::error::ProgramError;

/// Bytes the runtime charges rent for on top of an account's data.
const ACCOUNT_STORAGE_OVERHEAD: u64 = 128;

/// Clock: slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp.
type ClockWords = [u64; 5];
/// Rent: lamports_per_byte_year, exemption_threshold (f64 bits), burn_percent.
type RentWords = [u64; 3];

#[cfg(target_arch = "bpf")]
fn read_clock() -> Result<ClockWords, ProgramError> {
    let mut clock: ClockWords = [0; 5];
    // SAFETY: the buffer is the 40 bytes the syscall writes.
    match unsafe { pinocchio::syscalls::sol_get_clock_sysvar(clock.as_mut_ptr() as *mut u8) } {
        0 => Ok(clock),
        _ => Err(ProgramError::UnsupportedSysvar),
    }
}

#[cfg(target_arch = "bpf")]
fn read_rent() -> Result<RentWords, ProgramError> {
    let mut rent: RentWords = [0; 3];
    // SAFETY: the buffer is at least the 17 bytes the syscall writes.
    match unsafe { pinocchio::syscalls::sol_get_rent_sysvar(rent.as_mut_ptr() as *mut u8) } {
        0 => Ok(rent),
        _ => Err(ProgramError::UnsupportedSysvar),
    }
}

#[cfg(not(target_arch = "bpf"))]
fn read_clock() -> Result<ClockWords, ProgramError> {
    Err(ProgramError::UnsupportedSysvar)
}

#[cfg(not(target_arch = "bpf"))]
fn read_rent() -> Result<RentWords, ProgramError> {
    Err(ProgramError::UnsupportedSysvar)
}

pub fn current_slot() -> Result<u64, ProgramError> {
    Ok(read_clock()?[0])
}

/// The rent-exempt minimum for `data_len` bytes of data.
pub fn rent_exempt_minimum(data_len: usize) -> Result<u64, ProgramError> {
    let [lamports_per_byte_year, threshold_bits, _] = read_rent()?;
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
