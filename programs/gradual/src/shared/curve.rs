//! Whether an address is a point on the ed25519 curve: such an address has a
//! private key, so no program can sign for it and creating it would fail
//! inside the system program with an error a client cannot tell apart.

use pinocchio::Address;

/// `CURVE25519_EDWARDS` in the `sol_curve_validate_point` syscall.
#[cfg(target_arch = "bpf")]
const EDWARDS: u64 = 0;

#[cfg(target_arch = "bpf")]
pub fn is_on_curve(address: &Address) -> bool {
    let mut unused = 0u8;
    // SAFETY: `address` is 32 readable bytes; the syscall writes nothing for this curve.
    let invalid = unsafe {
        pinocchio::syscalls::sol_curve_validate_point(EDWARDS, address.as_ref().as_ptr(), &mut unused)
    };
    invalid == 0
}

#[cfg(not(target_arch = "bpf"))]
pub fn is_on_curve(_address: &Address) -> bool {
    false
}
