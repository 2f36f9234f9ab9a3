//! The sandbox every task call runs in (`docs/task-protocol.md`, "Threat
//! model"). A call's process tree is confined by:
//!
//! - **namespaces** (no root needed): a new user namespace, a new PID
//!   namespace whose init is the task (so every process of the call dies
//!   with it), a new IPC namespace and, unless the task declares network
//!   access, a new network namespace with no interfaces up;
//! - **Landlock**: read and execute only the package, the runtime's
//!   installation and the host's library directories; read and write only
//!   the task's working directory; TCP connect only to declared ports and no
//!   TCP bind; no signals to, and no abstract sockets of, anything outside
//!   the call;
//! - **seccomp**: `ptrace`, `mount`, `bpf`, `kexec_load`, `keyctl`,
//!   `perf_event_open`, namespace changes and the like kill the call;
//! - **resource limits**: memory, CPU time, processes and threads, file
//!   size, open files; the working directory's size is checked after each call;
//! - **no new privileges**, set before Landlock and seccomp.
//!
//! The node itself is made non-dumpable at start ([`harden_node`]), so even
//! an unconfined process of the same user cannot read its memory.

mod enter;
mod rules;
mod runtimes;
mod syscalls;

use std::{
    os::unix::process::{CommandExt, ExitStatusExt},
    path::{Path, PathBuf},
    process::{Command, ExitStatus},
};

use serde::{Deserialize, Serialize};

pub use runtimes::{resolve_runtime, shebang_runtime, Runtime};

/// Kills a call and waits for it: first the process's own children (in a
/// sandbox, PID 1 of its namespace, whose death takes every process left in
/// the namespace with it), then the process itself. Killing the process
/// alone is not enough: the parent-death signal that would take PID 1 down
/// is cleared by the kernel when a node running as root execs the task
/// (real and effective uids differ, so the exec is a secure one).
pub fn kill(child: &mut std::process::Child) {
    let pid = child.id();
    if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
        for init in children.split_whitespace().filter_map(|pid| pid.parse::<libc::pid_t>().ok()) {
            // SAFETY: a plain kill. The pid was a child of our child a moment
            // ago; only if it exited, was reaped and its pid reused in between
            // would it hit another process, a window of microseconds.
            unsafe {
                libc::kill(init, libc::SIGKILL);
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The errors of a call that broke a sandbox rule begin with this.
pub const VIOLATION: &str = "sandbox violation";

/// What a task's calls may use. The defaults are what a manifest that asks
/// for nothing gets; [`Limits::CEILINGS`] is the most the operator allows
/// unless they set their own ceilings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Private writable memory of each process (`RLIMIT_DATA`), MiB.
    pub memory_mib: u64,
    /// CPU time of each process of a call, seconds (`RLIMIT_CPU`).
    pub cpu_seconds: u64,
    /// Processes and threads of one call (`RLIMIT_NPROC`, counted in the call's own user namespace).
    pub processes: u64,
    /// Bytes in the working directory after a call, and the largest file (`RLIMIT_FSIZE`), MiB.
    pub disk_mib: u64,
    /// Open files of each process (`RLIMIT_NOFILE`).
    pub open_files: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULTS
    }
}

impl Limits {
    pub const DEFAULTS: Self =
        Self { memory_mib: 512, cpu_seconds: 30, processes: 32, disk_mib: 64, open_files: 128 };
    pub const CEILINGS: Self =
        Self { memory_mib: 2048, cpu_seconds: 60, processes: 256, disk_mib: 1024, open_files: 1024 };

    /// The first of `self` that exceeds `ceilings`, as `(name, asked, ceiling)`.
    pub fn over(&self, ceilings: &Self) -> Option<(&'static str, u64, u64)> {
        [
            ("memory_mib", self.memory_mib, ceilings.memory_mib),
            ("cpu_seconds", self.cpu_seconds, ceilings.cpu_seconds),
            ("processes", self.processes, ceilings.processes),
            ("disk_mib", self.disk_mib, ceilings.disk_mib),
            ("open_files", self.open_files, ceilings.open_files),
        ]
        .into_iter()
        .find(|(_, asked, ceiling)| asked > ceiling)
    }
}

/// Everything one task's calls are confined to.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Read and execute: the package (a directory or a single file) and its runtime's installation.
    pub readable: Vec<PathBuf>,
    /// Read and write: the working directory (its `tmp/` is the call's temporary directory).
    pub work_dir: PathBuf,
    /// TCP ports the task may connect to; `None` means no network at all.
    pub ports: Option<Vec<u16>>,
    pub limits: Limits,
}

/// How a task's calls run.
#[derive(Clone, Debug)]
pub enum Confinement {
    Sandboxed(Policy),
    /// The operator's explicit `--unsandboxed`: the task runs with the node's rights.
    Unsandboxed,
}

/// Makes this process non-dumpable: its `/proc/<pid>/{mem,environ}` then
/// belong to root and no process of the same user can trace it.
pub fn harden_node() -> Result<(), String> {
    // SAFETY: prctl with integer arguments only.
    let set = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    if set != 0 {
        return Err(format!("cannot make the node non-dumpable: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Confines `command` to `policy`: the child enters it between fork and
/// exec. Everything that allocates is prepared here, before the fork.
pub fn confine(command: &mut Command, policy: &Policy) -> Result<(), String> {
    let mut prepared = Some(enter::Prepared::new(policy)?);
    let tmp = policy.work_dir.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(|error| format!("cannot create {}: {error}", tmp.display()))?;
    command.env("TMPDIR", &tmp);
    // SAFETY: the closure runs in the forked child; `enter` uses only
    // system calls, and the allocation Landlock's restrict_self makes, which
    // glibc's fork handlers keep safe.
    unsafe {
        command.pre_exec(move || match prepared.take() {
            Some(prepared) => prepared.enter(),
            None => Err(std::io::Error::other("the sandbox was already entered")),
        });
    }
    Ok(())
}

/// Checks that this kernel can apply every confinement, by running
/// `/bin/true` under a policy with no network. The error names what is missing.
pub fn probe() -> Result<(), String> {
    rules::check_abi()?;
    enter::probe_namespaces().map_err(|error| {
        format!(
            "unprivileged user, PID and network namespaces are not available: {error} \
             (see /proc/sys/user/max_user_namespaces and the distribution's user-namespace restrictions)"
        )
    })?;
    let dir = std::env::temp_dir().join(format!("gradual-sandbox-probe-{}", std::process::id()));
    let policy = Policy {
        readable: vec![PathBuf::from("/bin/true")],
        work_dir: dir.clone(),
        ports: None,
        limits: Limits::DEFAULTS,
    };
    let mut command = Command::new("/bin/true");
    command.env_clear().current_dir("/");
    let outcome = confine(&mut command, &policy).and_then(|()| {
        command.status().map_err(|error| format!("the sandbox cannot start a process: {error}"))
    });
    let _ = std::fs::remove_dir_all(&dir);
    match outcome? {
        status if status.success() => Ok(()),
        status => Err(format!("a sandboxed /bin/true failed: {status}")),
    }
}

/// The sandbox rule a call's exit broke, if its status shows one. The
/// sandbox's init relays a signal `n` as exit code `128 + n`.
pub fn violation(status: ExitStatus) -> Option<String> {
    let signal = status.signal().or_else(|| status.code().and_then(|code| code.checked_sub(128)))?;
    let rule = match signal {
        libc::SIGSYS => "a forbidden system call (seccomp)",
        libc::SIGXCPU => "the CPU time limit",
        libc::SIGXFSZ => "the file size limit",
        _ => return None,
    };
    Some(format!("{VIOLATION}: the call was killed for {rule}"))
}

/// Bytes under `dir`, counting at most `limit + 1` so a huge tree costs no more than needed.
pub fn disk_used(dir: &Path, limit: u64) -> u64 {
    let mut used: u64 = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else { continue };
        for entry in entries.flatten() {
            let Ok(metadata) = entry.metadata() else { continue };
            if metadata.is_dir() {
                pending.push(entry.path());
            }
            used = used.saturating_add(metadata.len());
            if used > limit {
                return used;
            }
        }
    }
    used
}

/// Empties `dir` after a call filled it past its quota; the task starts over.
pub fn empty_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        }
    }
}
