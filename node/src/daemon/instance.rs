//! One running instance per node and task on a machine, whatever its
//! `--db`: two would race each other's transactions and serve two result
//! stores. The lock is an advisory file lock (`flock`), so the kernel
//! releases it when the process dies, however it dies.

use std::{
    fs::{File, OpenOptions, TryLockError},
    io::{Read, Seek, Write},
    path::{Path, PathBuf},
};

use gradual_interface::Address;

use super::Failure;

/// Held while the task runs; dropping it releases the lock.
pub struct InstanceLock {
    _file: File,
}

/// Where the locks live: `GRADUAL_LOCK_DIR`, else `~/.cache/gradual/locks`.
/// Not `XDG_RUNTIME_DIR`: a service and a login shell of one user see
/// different ones, and must see the same lock.
pub fn lock_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GRADUAL_LOCK_DIR").filter(|dir| !dir.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME").filter(|home| !home.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache/gradual/locks"),
        None => std::env::temp_dir().join("gradual-locks"),
    }
}

impl InstanceLock {
    /// Takes the lock of `node` in `task`, or says which process holds it.
    pub fn acquire(dir: &Path, task: &Address, node: &Address) -> Result<Self, Failure> {
        let cannot =
            |error: std::io::Error| Failure::Failed(format!("cannot lock in {}: {error}", dir.display()));
        std::fs::create_dir_all(dir).map_err(cannot)?;
        let path = dir.join(format!("{task}.{node}.lock"));
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(cannot)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let pid = if holder.is_empty() { String::new() } else { format!(" (pid {holder})") };
                return Err(Failure::BadInput(format!(
                    "node {node} of task {task} is already running{pid}; stop it first (lock {})",
                    path.display()
                )));
            }
            Err(TryLockError::Error(error)) => return Err(cannot(error)),
        }
        // The holder's pid, for the next one's message.
        file.set_len(0).map_err(cannot)?;
        file.rewind().map_err(cannot)?;
        write!(file, "{}", std::process::id()).map_err(cannot)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (task, node) = (Address::new_unique(), Address::new_unique());
        let first = InstanceLock::acquire(dir.path(), &task, &node).expect("first");
        let refused =
            InstanceLock::acquire(dir.path(), &task, &node).map(|_| ()).expect_err("second refused");
        assert!(
            refused.message().contains("already running")
                && refused.message().contains(&std::process::id().to_string()),
            "{refused:?}"
        );
        // Another task of the same node is another instance.
        let other = InstanceLock::acquire(dir.path(), &Address::new_unique(), &node).expect("other task");
        drop((first, other));
        InstanceLock::acquire(dir.path(), &task, &node).expect("free again");
    }
}
