//! Entering the sandbox, in the child between fork and exec.
//!
//! This is hand-written over `libc` rather than a higher-level crate
//! because it runs after `fork` in a multi-threaded process: every step is
//! a plain system call on data prepared before the fork.
//!
//! 1. `unshare` a user, PID, IPC, UTS and (without network) network namespace;
//!    map the node's user to uid 1000 inside, so that `exec` drops every
//!    capability the new namespace gave.
//! 2. `fork`: the new child is PID 1 of the new PID namespace. When it exits
//!    the kernel kills every process left in the namespace, so nothing a
//!    call starts outlives it. The parent stays behind only to relay the
//!    exit status (a signal `n` as `128 + n`); when the node kills it, the
//!    parent-death signal kills PID 1 and with it the namespace.
//! 3. In PID 1: resource limits, then Landlock (which sets no-new-privileges),
//!    then seccomp; `exec` follows.

use std::{ffi::CStr, io};

use landlock::{RulesetCreated, RulesetStatus};
use seccompiler::BpfProgram;

use super::{rules, syscalls, Policy};

/// The user and group a task runs as inside its namespace.
const INNER_ID: u32 = 1000;

/// `nobody`: the real uid of a task whose node runs as root.
const UNPRIVILEGED_UID: libc::uid_t = 65534;

const MIB: u64 = 1 << 20;

pub struct Prepared {
    namespaces: libc::c_int,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    limits: Vec<(libc::__rlimit_resource_t, u64, u64)>,
    ruleset: Option<RulesetCreated>,
    filters: Vec<BpfProgram>,
}

fn last_error(step: &str) -> io::Error {
    let error = io::Error::last_os_error();
    io::Error::new(error.kind(), format!("sandbox: {step}: {error}"))
}

/// Writes `bytes` to a `/proc/self` file with system calls only.
fn write_proc(path: &CStr, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated and `bytes` outlives the write.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(last_error("cannot open the namespace's id map"));
        }
        let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::close(fd);
        if usize::try_from(written).ok() != Some(bytes.len()) {
            return Err(last_error("cannot write the namespace's id map"));
        }
    }
    Ok(())
}

/// Waits for PID 1 and exits as it did. Never returns.
fn relay(child: libc::pid_t) -> ! {
    // SAFETY: plain system calls; the fds closed are this process's copies,
    // so the node sees end-of-file and the spawn's status pipe closes when PID 1 is done with them.
    unsafe {
        libc::close(0);
        libc::close(1);
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        let mut status: libc::c_int = 0;
        while libc::waitpid(child, &mut status, 0) < 0 {
            if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                libc::_exit(1);
            }
        }
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else if libc::WIFSIGNALED(status) {
            libc::WTERMSIG(status).saturating_add(128)
        } else {
            1
        };
        libc::_exit(code)
    }
}

/// Whether this process may create the namespaces a call needs: a child
/// tries, and exits with the error number it got.
pub fn probe_namespaces() -> io::Result<()> {
    let flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWNET;
    // SAFETY: the child makes two system calls and exits; the parent waits for it.
    unsafe {
        match libc::fork() {
            -1 => Err(io::Error::last_os_error()),
            0 => {
                let code = if libc::unshare(flags) == 0 { 0 } else { *libc::__errno_location() };
                libc::_exit(code)
            }
            child => {
                let mut status: libc::c_int = 0;
                while libc::waitpid(child, &mut status, 0) < 0 {
                    if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                        return Err(io::Error::last_os_error());
                    }
                }
                match libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)) {
                    Some(0) => Ok(()),
                    Some(errno) => Err(io::Error::from_raw_os_error(errno)),
                    None => Err(io::Error::other("the probe was killed")),
                }
            }
        }
    }
}

impl Prepared {
    pub fn new(policy: &Policy) -> Result<Self, String> {
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let mut namespaces =
            libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS;
        if policy.ports.is_none() {
            namespaces |= libc::CLONE_NEWNET;
        }
        let limits = policy.limits;
        let cpu = limits.cpu_seconds;
        Ok(Self {
            namespaces,
            uid_map: format!("{INNER_ID} {uid} 1").into_bytes(),
            gid_map: format!("{INNER_ID} {gid} 1").into_bytes(),
            limits: vec![
                (
                    libc::RLIMIT_DATA,
                    limits.memory_mib.saturating_mul(MIB),
                    limits.memory_mib.saturating_mul(MIB),
                ),
                // Past the soft limit SIGXCPU, a second later SIGKILL.
                (libc::RLIMIT_CPU, cpu, cpu.saturating_add(1)),
                // One more for the process that relays PID 1's status.
                (libc::RLIMIT_NPROC, limits.processes.saturating_add(1), limits.processes.saturating_add(1)),
                (
                    libc::RLIMIT_FSIZE,
                    limits.disk_mib.saturating_mul(MIB),
                    limits.disk_mib.saturating_mul(MIB),
                ),
                (libc::RLIMIT_NOFILE, limits.open_files, limits.open_files),
                (libc::RLIMIT_CORE, 0, 0),
            ],
            ruleset: Some(rules::build(policy)?),
            filters: syscalls::filters()?,
        })
    }

    /// Runs in the forked child: returns in PID 1 of the sandbox, ready to exec.
    pub fn enter(mut self) -> io::Result<()> {
        // SAFETY: plain system calls with constant arguments.
        unsafe {
            // The kernel never applies RLIMIT_NPROC to a real uid of 0, so a
            // node run as root gives its tasks the real uid of `nobody`.
            // The effective uid stays, so the files Landlock allows stay readable.
            if libc::geteuid() == 0 && libc::setresuid(UNPRIVILEGED_UID, 0, 0) != 0 {
                return Err(last_error("cannot set an unprivileged real uid"));
            }
            if libc::unshare(self.namespaces) != 0 {
                return Err(last_error("cannot create the user, PID and network namespaces"));
            }
        }
        write_proc(c"/proc/self/setgroups", b"deny")?;
        write_proc(c"/proc/self/uid_map", &self.uid_map)?;
        write_proc(c"/proc/self/gid_map", &self.gid_map)?;
        // SAFETY: fork in a single-threaded child; the parent branch never returns.
        match unsafe { libc::fork() } {
            -1 => Err(last_error("cannot fork the sandbox's init")),
            0 => self.confine(),
            child => relay(child),
        }
    }

    fn confine(&mut self) -> io::Result<()> {
        // SAFETY: prctl and setrlimit with plain values.
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(last_error("cannot set the parent-death signal"));
            }
            for (resource, soft, hard) in &self.limits {
                let limit = libc::rlimit { rlim_cur: *soft, rlim_max: *hard };
                if libc::setrlimit(*resource, &limit) != 0 {
                    return Err(last_error("cannot set a resource limit"));
                }
            }
        }
        let ruleset = self.ruleset.take().ok_or_else(|| io::Error::other("sandbox: no Landlock rules"))?;
        let status = ruleset
            .restrict_self()
            .map_err(|error| io::Error::other(format!("sandbox: Landlock: {error}")))?;
        if status.ruleset != RulesetStatus::FullyEnforced || !status.no_new_privs {
            return Err(io::Error::other("sandbox: Landlock is not fully enforced"));
        }
        for filter in &self.filters {
            seccompiler::apply_filter(filter)
                .map_err(|error| io::Error::other(format!("sandbox: seccomp: {error}")))?;
        }
        Ok(())
    }
}
