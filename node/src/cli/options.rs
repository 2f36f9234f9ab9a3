//! The options commands share, grouped by what a command does, so that each
//! command lists and accepts only the options that mean something for it:
//! - [`OutputOption`]: every command that prints;
//! - [`ReadOptions`]: commands that read a cluster (`inspect`, `task show`);
//! - [`SignerOptions`]: commands that also need the operator's keypair;
//! - [`SendOptions`]: commands that also send transactions.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

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
