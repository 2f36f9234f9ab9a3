//! The host's runtimes a task names (`python3`, `node`, ...): which
//! program runs its entry point, and which directories that program reads.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// A runtime installed on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    /// The interpreter, or `None` for a native entry point run as it is.
    pub program: Option<PathBuf>,
    /// Its installation, readable by the task (besides the system directories).
    pub readable: Vec<PathBuf>,
    /// Directories put first on the task's `PATH`, so `/usr/bin/env NAME` finds the same program.
    pub path: Vec<PathBuf>,
}

/// The runtimes a task may name, besides `native`: a task that could name
/// any command would be granted whatever directory that command lives in.
pub const RUNTIMES: &[&str] = &["python3", "python", "node", "nodejs", "sh", "bash", "dash", "perl", "ruby"];

/// Whether `name` is one of [`RUNTIMES`], or a versioned Python (`python3.11`).
fn allowed(name: &str) -> bool {
    RUNTIMES.contains(&name)
        || name
            .strip_prefix("python3.")
            .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|byte| byte.is_ascii_digit()))
}

/// Finds `name` on the node's `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

/// The installation prefix of an interpreter at `<prefix>/bin/<name>`.
fn prefix(program: &Path) -> Option<PathBuf> {
    program.parent()?.parent().map(Path::to_path_buf)
}

/// Where the interpreter really is: version managers put shell scripts
/// (shims) on `PATH`, so an interpreter that can say where it is is asked.
fn real_program(name: &str, found: &Path) -> PathBuf {
    let asked = if name.starts_with("python") {
        Command::new(found).args(["-c", "import sys; print(sys.executable)"]).output().ok()
    } else if name == "node" {
        Command::new(found).args(["-p", "process.execPath"]).output().ok()
    } else {
        None
    };
    asked
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| PathBuf::from(text.trim()))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| found.to_path_buf())
}

/// Resolves the runtime a manifest or a shebang names: `native` (or an
/// empty name) runs the entry point itself; anything else must be one of
/// [`RUNTIMES`], found on the node's `PATH`. The task may read the
/// interpreter's installation prefix, never one that holds the node's home.
pub fn resolve_runtime(name: &str) -> Result<Runtime, String> {
    if name.is_empty() || name == "native" {
        return Ok(Runtime { program: None, readable: Vec::new(), path: Vec::new() });
    }
    if !allowed(name) {
        return Err(format!("runtime {name:?} is not one of native, {}", RUNTIMES.join(", ")));
    }
    let found = which(name)
        .ok_or_else(|| format!("the task needs the runtime {name:?}, which this host does not have"))?;
    let program = std::fs::canonicalize(real_program(name, &found))
        .map_err(|error| format!("cannot resolve the runtime {name:?}: {error}"))?;
    let installation =
        prefix(&program).ok_or_else(|| format!("runtime {name:?} has no installation directory"))?;
    let home = dirs::home_dir().and_then(|home| std::fs::canonicalize(home).ok());
    if installation == Path::new("/") || home.is_some_and(|home| home.starts_with(&installation)) {
        return Err(format!(
            "runtime {name:?} is installed in {}, which holds the node's home; install it elsewhere",
            installation.display()
        ));
    }
    let path = program.parent().map(Path::to_path_buf).into_iter().collect();
    Ok(Runtime { program: Some(program), readable: vec![installation], path })
}

/// The runtime a script's first line names: `NAME` in `#!/usr/bin/env NAME`
/// or `#!/path/to/NAME`. Only the name counts; the kernel still runs the
/// path written, which must then lie in what the task may read.
pub fn shebang_runtime(first_bytes: &[u8]) -> Option<String> {
    let line = first_bytes.strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|byte| *byte == b'\n').unwrap_or(line.len())];
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    let interpreter = words.next()?;
    let name =
        if interpreter.ends_with("/env") { words.find(|word| !word.starts_with('-'))? } else { interpreter };
    Some(name.rsplit('/').next().unwrap_or(name).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_runtimes_resolve_and_only_their_names_count() {
        for name in ["/root/.ssh/id_rsa", "cargo", "python3.x", "../python3"] {
            assert!(resolve_runtime(name).is_err(), "{name}");
        }
        assert!(allowed("python3.11") && allowed("node") && !allowed("python3."));
        assert_eq!(shebang_runtime(b"#!/usr/bin/env python3\n").as_deref(), Some("python3"));
        assert_eq!(shebang_runtime(b"#!/root/.secret/id.json\n").as_deref(), Some("id.json"));
        assert_eq!(shebang_runtime(b"#!/bin/sh -e\n").as_deref(), Some("sh"));
        let sh = resolve_runtime("sh").expect("sh");
        assert!(!sh.readable.iter().any(|dir| dir == Path::new("/")), "{sh:?}");
    }
}
