//! `gradual task pack DIR`, and the capabilities a task's package declares,
//! as `task show` and `node stake` print them before anyone stakes.

use std::path::{Path, PathBuf};

use clap::Args;
use gradual_interface::state::Task;
use serde_json::{json, Value};

use super::{options::OutputOption, CliError, CliResult, Context};
use crate::package::{self, hex, Installed};

#[derive(Args)]
pub struct PackArgs {
    /// The task's directory, with gradual-task.toml at its root.
    pub dir: PathBuf,
    /// Where to write the package [default: ./<directory name>.tar].
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    pub options: OutputOption,
}

pub fn pack(context: &Context, args: PackArgs) -> CliResult {
    let (manifest, bytes) = package::pack(&args.dir).map_err(CliError::usage)?;
    let name = std::fs::canonicalize(&args.dir)
        .ok()
        .and_then(|dir| dir.file_name().map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "task".to_string());
    let out = args.out.unwrap_or_else(|| PathBuf::from(format!("{name}.tar")));
    std::fs::write(&out, &bytes)
        .map_err(|error| CliError::usage(format!("cannot write {}: {error}", out.display())))?;
    context.print(&json!({
        "package": out.display().to_string(),
        "sha256": hex(&solana_sha256_hasher::hash(&bytes).to_bytes()),
        "bytes": bytes.len(),
        "entry": manifest.entry,
        "runtime": manifest.runtime,
        "capabilities": capabilities(&manifest.capabilities),
    }));
    Ok(())
}

fn capabilities(declared: &package::Capabilities) -> Value {
    json!({
        "network": if declared.network.is_empty() { json!("none") } else { json!(declared.network) },
        "limits": declared.limits,
        "variables": declared.variables,
        "summary": declared.summary(),
    })
}

/// What a task's package declares, installing it into `cache` if needed;
/// an error says why it could not be read, without failing the command.
pub fn declared(context: &Context, task: &Task, cache: &Path) -> Value {
    let locator = String::from_utf8_lossy(task.executable_locator()).into_owned();
    if locator.starts_with("builtin:") {
        return json!({ "runtime": "built in", "summary": "built into the node: no package, no sandbox needed" });
    }
    match package::install(&locator, &task.executable_sha256, cache, &context.runtime) {
        Ok(Installed { manifest: Some(manifest), .. }) => {
            let mut value = capabilities(&manifest.capabilities);
            value["runtime"] = json!(manifest.runtime);
            value
        }
        Ok(Installed { manifest: None, .. }) => json!({
            "runtime": "a single executable",
            "summary": package::Capabilities::default().summary(),
        }),
        Err(error) => json!({ "error": error.to_string(), "summary": format!("unknown: {error}") }),
    }
}
