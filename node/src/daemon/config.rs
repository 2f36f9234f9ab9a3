//! `--node-config`: the tasks one `node run` process runs, and the addresses
//! it listens on. Errors name the file, the line and the key.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    path::{Path, PathBuf},
};

use gradual_interface::Address;
use serde::Deserialize;

use crate::sandbox::Limits;

/// Peers checked per round unless a task says otherwise.
pub const DEFAULT_AUDIT_SAMPLE: usize = 16;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<SocketAddr>,
    pub metrics_listen: Option<SocketAddr>,
    /// The most a task's manifest may ask for; `--max-*` for what it leaves out.
    #[serde(default)]
    sandbox: Ceilings,
    #[serde(rename = "task", default)]
    tasks: Vec<TaskEntry>,
}

impl ConfigFile {
    /// The file's `[sandbox]` ceilings over the command line's.
    pub fn ceilings_over(&self, base: Limits) -> Limits {
        let sandbox = &self.sandbox;
        Limits {
            memory_mib: sandbox.memory_mib.unwrap_or(base.memory_mib),
            cpu_seconds: sandbox.cpu_seconds.unwrap_or(base.cpu_seconds),
            processes: sandbox.processes.unwrap_or(base.processes),
            disk_mib: sandbox.disk_mib.unwrap_or(base.disk_mib),
            open_files: sandbox.open_files.unwrap_or(base.open_files),
        }
    }
}

/// `[sandbox]` of the config file: ceilings over the command line's.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ceilings {
    memory_mib: Option<u64>,
    cpu_seconds: Option<u64>,
    processes: Option<u64>,
    disk_mib: Option<u64>,
    open_files: Option<u64>,
}

/// One `[[task]]` of the config file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskEntry {
    address: String,
    db: Option<PathBuf>,
    executable: Option<PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    audit_sample: Option<usize>,
    #[serde(default)]
    no_claim: bool,
    #[serde(default)]
    restake: bool,
    /// Run this task outside the sandbox, with the node's rights.
    #[serde(default)]
    unsandboxed: bool,
}

/// One task as this process runs it.
pub struct TaskRun {
    pub task: Address,
    pub db: Option<PathBuf>,
    pub executable: Option<PathBuf>,
    /// KEY=VALUE, as `--task-env` takes them.
    pub env: Vec<String>,
    pub audit_sample: usize,
    pub no_claim: bool,
    pub restake: bool,
    pub unsandboxed: bool,
}

/// Where a TOML error is: "line N, key K" from the span the parser gives.
fn located(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span() else { return error.message().to_string() };
    let start = span.start.min(text.len());
    let line = text[..start].matches('\n').count().saturating_add(1);
    let line_text = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    // A value's error spans the value: its key is what precedes `=` on that line.
    let key = line_text
        .split_once('=')
        .map(|(key, _)| key.trim().trim_matches('"'))
        .filter(|key| !key.is_empty() && !key.starts_with('['));
    match key {
        Some(key) => format!("line {line}, key `{key}`: {}", error.message()),
        None => format!("line {line}: {}", error.message()),
    }
}

/// Reads a `--node-config` file: the file and its tasks, relative paths
/// taken from the file's directory.
pub fn read_config(path: &Path) -> Result<(ConfigFile, Vec<TaskRun>), String> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read --node-config {name}: {error}"))?;
    let config: ConfigFile =
        toml::from_str(&text).map_err(|error| format!("--node-config {name}: {}", located(&text, &error)))?;
    if config.tasks.is_empty() {
        return Err(format!("--node-config {name} lists no [[task]]"));
    }
    // Relative paths are relative to the file, as a service manager expects.
    let base = path.parent().unwrap_or(Path::new("."));
    let mut seen = BTreeSet::new();
    let mut runs = Vec::new();
    for entry in &config.tasks {
        let task: Address = entry
            .address
            .parse()
            .map_err(|_| format!("--node-config {name}: {:?} is not an address", entry.address))?;
        if !seen.insert(task) {
            return Err(format!("--node-config {name}: task {task} is listed twice"));
        }
        runs.push(TaskRun {
            task,
            db: entry.db.as_ref().map(|db| base.join(db)),
            executable: entry.executable.as_ref().map(|program| base.join(program)),
            env: entry.env.iter().map(|(key, value)| format!("{key}={value}")).collect(),
            audit_sample: entry.audit_sample.unwrap_or(DEFAULT_AUDIT_SAMPLE),
            no_claim: entry.no_claim,
            restake: entry.restake,
            unsandboxed: entry.unsandboxed,
        });
    }
    Ok((config, runs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("node.toml");
        std::fs::write(&path, text).expect("write");
        read_config(&path).map(|_| ()).expect_err("refused")
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let task = Address::new_unique();
        let wrong_type = format!(
            "listen = \"127.0.0.1:8910\"\n\n[[task]]\naddress = \"{task}\"\naudit_sample = \"many\"\n"
        );
        let error = error_of(&wrong_type);
        assert!(error.contains("line 5, key `audit_sample`"), "{error}");
        let unknown = format!("[[task]]\naddress = \"{task}\"\nrestake = true\nno_clam = true\n");
        let error = error_of(&unknown);
        assert!(error.contains("line 4") && error.contains("no_clam"), "{error}");
        let bad_address = "metrics_listen = \"nowhere\"\n";
        let error = error_of(bad_address);
        assert!(error.contains("line 1, key `metrics_listen`"), "{error}");
    }
}
