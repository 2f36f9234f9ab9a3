//! The options commands share, grouped by what a command does, so that each
//! command lists and accepts only the options that mean something for it:
//! - [`OutputOption`]: every command that prints;
//! - [`ReadOptions`]: commands that read a cluster (`inspect`, `task show`);
//! - [`SignerOptions`]: commands that also need the operator's keypair;
//! - [`SendOptions`]: commands that also send transactions.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::{sandbox::Limits, tasks::SandboxChoice};

#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Args, Default)]
pub struct OutputOption {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(Args, Default)]
pub struct ReadOptions {
    /// RPC URL or moniker: localhost, devnet, testnet, mainnet-beta [default: the Solana CLI config's, else localhost].
    #[arg(short = 'u', long, env = "GRADUAL_URL")]
    pub url: Option<String>,
    /// Solana CLI config file [default: ~/.config/solana/cli/config.yml].
    #[arg(short = 'C', long)]
    pub config: Option<PathBuf>,
    /// processed, confirmed or finalized [default: the config's, else confirmed].
    #[arg(long)]
    pub commitment: Option<String>,
    #[command(flatten)]
    pub output: OutputOption,
}

#[derive(Args, Default)]
pub struct SignerOptions {
    /// Keypair file that signs and pays [default: the Solana CLI config's, else ~/.config/solana/id.json].
    #[arg(short = 'k', long)]
    pub keypair: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadOptions,
}

#[derive(Args, Default)]
pub struct SendOptions {
    /// Priority fee in micro-lamports per compute unit.
    #[arg(long, default_value_t = 0)]
    pub priority_fee: u64,
    #[command(flatten)]
    pub signer: SignerOptions,
}

/// What one invocation chose, whichever group its command takes.
#[derive(Default)]
pub struct Chosen<'a> {
    /// `None` for commands that never reach a cluster.
    pub read: Option<&'a ReadOptions>,
    pub keypair: Option<&'a PathBuf>,
    pub priority_fee: u64,
    pub output: Output,
}

impl OutputOption {
    pub fn chosen(&self) -> Chosen<'_> {
        Chosen { output: self.output, ..Chosen::default() }
    }
}

impl ReadOptions {
    pub fn chosen(&self) -> Chosen<'_> {
        Chosen { read: Some(self), output: self.output.output, ..Chosen::default() }
    }
}

impl SignerOptions {
    pub fn chosen(&self) -> Chosen<'_> {
        Chosen { keypair: self.keypair.as_ref(), ..self.read.chosen() }
    }
}

impl SendOptions {
    pub fn chosen(&self) -> Chosen<'_> {
        Chosen { priority_fee: self.priority_fee, ..self.signer.chosen() }
    }
}

/// How commands that run a task's code confine it (`docs/task-protocol.md`, "Threat model").
#[derive(Args, Clone, Default)]
pub struct SandboxOptions {
    /// Run the task with this process's own rights, outside the sandbox. Only for code you trust.
    #[arg(long)]
    pub unsandboxed: bool,
    /// The most memory a task's manifest may ask for, MiB per process.
    #[arg(long, value_name = "MIB", default_value_t = Limits::CEILINGS.memory_mib)]
    pub max_memory_mib: u64,
    /// The most CPU time a task's manifest may ask for, seconds per call.
    #[arg(long, value_name = "SECONDS", default_value_t = Limits::CEILINGS.cpu_seconds)]
    pub max_cpu_seconds: u64,
    /// The most processes and threads a task's manifest may ask for, per call.
    #[arg(long, value_name = "N", default_value_t = Limits::CEILINGS.processes)]
    pub max_processes: u64,
    /// The most working-directory disk a task's manifest may ask for, MiB.
    #[arg(long, value_name = "MIB", default_value_t = Limits::CEILINGS.disk_mib)]
    pub max_disk_mib: u64,
    /// The most open files a task's manifest may ask for, per process.
    #[arg(long, value_name = "N", default_value_t = Limits::CEILINGS.open_files)]
    pub max_open_files: u64,
    /// Where fetched packages are unpacked [default: ~/.cache/gradual/packages].
    #[arg(long, value_name = "DIR", env = "GRADUAL_PACKAGE_CACHE")]
    pub package_cache: Option<PathBuf>,
}

impl SandboxOptions {
    pub fn ceilings(&self) -> Limits {
        Limits {
            memory_mib: self.max_memory_mib,
            cpu_seconds: self.max_cpu_seconds,
            processes: self.max_processes,
            disk_mib: self.max_disk_mib,
            open_files: self.max_open_files,
        }
    }

    pub fn choice(&self) -> SandboxChoice {
        SandboxChoice { unsandboxed: self.unsandboxed, ceilings: self.ceilings() }
    }

    pub fn cache(&self) -> PathBuf {
        self.package_cache.clone().unwrap_or_else(crate::package::default_cache)
    }
}
