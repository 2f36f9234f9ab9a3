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

/// Resolves the runtime a manifest or a shebang names. `native` (or an
/// empty name) runs the entry point itself.
pub fn resolve_runtime(name: &str) -> Result<Runtime, String> {
    if name.is_empty() || name == "native" {
        return Ok(Runtime { program: None, readable: Vec::new(), path: Vec::new() });
    }
    let found = if name.starts_with('/') {
        Some(PathBuf::from(name)).filter(|path| path.is_file())
    } else if name.contains('/') || name.contains(char::is_whitespace) {
        return Err(format!("runtime {name:?} is neither a command name nor an absolute path"));
    } else {
        which(name)
    };
    let found =
        found.ok_or_else(|| format!("the task needs the runtime {name:?}, which this host does not have"))?;
    let program = std::fs::canonicalize(real_program(name, &found))
        .map_err(|error| format!("cannot resolve the runtime {name:?}: {error}"))?;
    let readable: Vec<PathBuf> = prefix(&program).into_iter().collect();
    let path = program.parent().map(Path::to_path_buf).into_iter().collect();
    Ok(Runtime { program: Some(program), readable, path })
}

/// The runtime a script's first line names: `#!/usr/bin/env NAME` or `#!/path/to/NAME`.
pub fn shebang_runtime(first_bytes: &[u8]) -> Option<String> {
    let line = first_bytes.strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|byte| *byte == b'\n').unwrap_or(line.len())];
    let line = std::str::from_utf8(line).ok()?;
    let mut words = line.split_whitespace();
    let interpreter = words.next()?;
    if interpreter.ends_with("/env") {
        words.find(|word| !word.starts_with('-')).map(str::to_string)
    } else {
        Some(interpreter.to_string())
    }
}
