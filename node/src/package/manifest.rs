//! A package's manifest, `gradual-task.toml` at its root: how to run the
//! task and what it may use (`docs/external-tasks.md`, "Packages").

use serde::{Deserialize, Serialize};

use crate::sandbox::Limits;

pub const MANIFEST: &str = "gradual-task.toml";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The file the runtime runs, relative to the package's root.
    pub entry: String,
    /// A command on the host's `PATH` (`python3`, `node`) that runs `entry`,
    /// or `native` for an executable entry point.
    pub runtime: String,
    #[serde(default)]
    pub capabilities: Capabilities,
}

/// What a task asks of the operator's machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// `host:port` endpoints the task connects to over TCP; none means no
    /// network at all. Ports are enforced, hosts are shown to the operator.
    #[serde(default)]
    pub network: Vec<String>,
    /// Environment variables the task asks the operator for.
    #[serde(default)]
    pub variables: Vec<String>,
    /// Caps other than the defaults, within the operator's ceilings.
    #[serde(default)]
    pub limits: Limits,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Self, String> {
        let manifest: Self =
            toml::from_str(text).map_err(|error| format!("{MANIFEST}: {}", error.message()))?;
        manifest.check()?;
        Ok(manifest)
    }

    fn check(&self) -> Result<(), String> {
        let entry = std::path::Path::new(&self.entry);
        if self.entry.is_empty()
            || !entry.components().all(|part| matches!(part, std::path::Component::Normal(_)))
        {
            return Err(format!(
                "{MANIFEST}: entry {:?} must be a relative path inside the package",
                self.entry
            ));
        }
        if self.runtime.is_empty() {
            return Err(format!("{MANIFEST}: runtime must name a command, or be \"native\""));
        }
        self.capabilities.ports().map(drop)
    }
}

impl Capabilities {
    /// The TCP ports the network capability names; `None` for no network.
    pub fn ports(&self) -> Result<Option<Vec<u16>>, String> {
        if self.network.is_empty() {
            return Ok(None);
        }
        let mut ports = self
            .network
            .iter()
            .map(|endpoint| {
                endpoint
                    .rsplit_once(':')
                    .filter(|(host, _)| !host.is_empty())
                    .and_then(|(_, port)| port.parse::<u16>().ok())
                    .filter(|port| *port != 0)
                    .ok_or_else(|| format!("{MANIFEST}: network endpoint {endpoint:?} is not host:port"))
            })
            .collect::<Result<Vec<u16>, String>>()?;
        ports.sort_unstable();
        ports.dedup();
        Ok(Some(ports))
    }

    /// One line for an operator: network, limits and variables.
    pub fn summary(&self) -> String {
        let network = if self.network.is_empty() { "none".to_string() } else { self.network.join(", ") };
        let limits = self.limits;
        let variables =
            if self.variables.is_empty() { "none".to_string() } else { self.variables.join(", ") };
        format!(
            "network {network}; memory {} MiB, cpu {} s per call, {} processes, disk {} MiB, {} open files; variables {variables}",
            limits.memory_mib, limits.cpu_seconds, limits.processes, limits.disk_mib, limits.open_files
        )
    }
}
