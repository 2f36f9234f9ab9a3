//! Logs an event (`gradual_interface::event`) with `sol_log_data`.

use gradual_interface::event::Event;

/// Logs `event` as one slice. Off SBF (host builds) it does nothing.
#[inline(always)]
pub fn emit<E: Event>(event: &E) {
    #[cfg(target_arch = "bpf")]
    {
        let fields: [&[u8]; 1] = [bytemuck::bytes_of(event)];
        // SAFETY: `fields` is an array of slices, the layout the syscall reads.
        unsafe { sds4::definitions::sol_log_data(fields.as_ptr() as *const u8, fields.len() as u64) };
    }
    #[cfg(not(target_arch = "bpf"))]
    let _ = event;
}
