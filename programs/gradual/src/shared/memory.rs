//! Copies from instruction data, which has no alignment: the compiled copy
//! moves such bytes one at a time (about one CU a byte), the `sol_memcpy_`
//! syscall charges 10 CU up to 250 bytes.

/// Writes `text` to the front of `buffer` and zeroes the rest; `None` if it
/// is empty or does not fit. Returns its length.
pub fn copy_text<const N: usize>(buffer: &mut [u8; N], text: &[u8]) -> Option<u8> {
    if text.is_empty() || text.len() > N {
        return None;
    }
    buffer.fill(0);
    copy(buffer.get_mut(..text.len())?, text)?;
    u8::try_from(text.len()).ok()
}

/// `destination.copy_from_slice(source)`; `None` if their lengths differ.
#[cfg(target_arch = "bpf")]
fn copy(destination: &mut [u8], source: &[u8]) -> Option<()> {
    if destination.len() != source.len() {
        return None;
    }
    // SAFETY: both are valid for `len` bytes, and a `&mut` slice overlaps no
    // other live reference.
    unsafe {
        sds4::definitions::sol_memcpy_(destination.as_mut_ptr(), source.as_ptr(), source.len() as u64);
    }
    Some(())
}

#[cfg(not(target_arch = "bpf"))]
fn copy(destination: &mut [u8], source: &[u8]) -> Option<()> {
    (destination.len() == source.len()).then(|| destination.copy_from_slice(source))
}
