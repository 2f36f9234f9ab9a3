//! The task code a node runs: built in, or a package installed from its
//! locator (or a local copy for development) and started in the sandbox.

use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

use tokio::runtime::Runtime;

use super::Failure;
use crate::{
    jobs::SharedTask,
    package,
    tasks::{External, ExternalConfig, Hello, HttpDigest, SandboxChoice},
};

/// What the node needs to run a task's executable.
#[derive(Clone)]
pub struct ExecutableArgs {
    pub program: Option<PathBuf>,
    pub variables: Vec<String>,
    pub work_dir: PathBuf,
    pub sandbox: SandboxChoice,
    pub cache: PathBuf,
}

/// How a task's code runs: `built in`, `sandboxed` or `unsandboxed`.
pub type Sandboxing = &'static str;

/// `KEY=VALUE` pairs, as `--task-env` takes them.
pub fn task_variables(pairs: &[String]) -> Result<BTreeMap<String, String>, String> {
    pairs
        .iter()
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .filter(|(key, _)| !key.is_empty())
                .ok_or_else(|| format!("--task-env {pair:?} is not KEY=VALUE"))?;
            Ok((key.to_string(), value.to_string()))
        })
        .collect()
}

/// The task code a package (`sha256`, `locator`) names: built in, or
/// installed from its locator (or the local copy) and started.
pub fn task_impl(
    runtime: &Arc<Runtime>,
    (sha256, locator): ([u8; 32], &str),
    executable: ExecutableArgs,
) -> Result<(SharedTask, Sandboxing), Failure> {
    let builtin = locator.starts_with("builtin:");
    if builtin && solana_sha256_hasher::hash(locator.as_bytes()).to_bytes() != sha256 {
        return Err(Failure::BadInput(
            "the task's executable_sha256 does not match its built-in locator; refusing to run".into(),
        ));
    }
    match locator.split_whitespace().next().unwrap_or_default() {
        "builtin:hello" => Ok((Arc::new(Hello), "built in")),
        "builtin:http-digest" => Ok((
            Arc::new(HttpDigest::from_locator(locator, Arc::clone(runtime)).map_err(Failure::BadInput)?),
            "built in",
        )),
        _ => {
            let package =
                match &executable.program {
                    Some(program) => {
                        package::install_local(program, &sha256, &executable.cache).map_err(Failure::BadInput)
                    }
                    // A locator that cannot be reached is a network failure (exit 1); a wrong package is bad input.
                    None => package::install(locator, &sha256, &executable.cache, runtime).map_err(|error| {
                        match error {
                            package::InstallError::Unreachable(message) => Failure::Failed(message),
                            package::InstallError::Refused(message) => Failure::BadInput(message),
                        }
                    }),
                }?;
            let config = ExternalConfig {
                package,
                work_dir: executable.work_dir,
                variables: task_variables(&executable.variables).map_err(Failure::BadInput)?,
                sandbox: executable.sandbox,
            };
            let external = External::start(config).map_err(Failure::BadInput)?;
            let sandboxing = if external.sandboxed() { "sandboxed" } else { "unsandboxed" };
            Ok((Arc::new(external), sandboxing))
        }
    }
}
