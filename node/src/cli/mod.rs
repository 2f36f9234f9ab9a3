//! The `gradual` command line, following the Solana CLI's conventions.
//! Exit codes: 0 success, 1 failure (the chain or the network), 2 bad input
//! (including requests the program refuses).

/// `println!` for command output. A reader that goes away (`| head -1`)
/// ends the command quietly, as it does a Unix tool, instead of a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))
    };
}

mod check;
mod config;
mod dashboard;
mod history;
mod inspect;
mod node;
mod options;
mod package;
mod run;
mod simulate;
mod status;
mod task;
mod tokens;
pub mod views;

use std::{io::Write, path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Parser, Subcommand};
use gradual_interface::Address;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use tokio::runtime::Runtime;

use crate::{
    chain::{Chain, Refused},
    rpc::{RpcChain, SendConfig},
};
pub use config::{read_keypair, write_keypair};
use options::{Chosen, Output, OutputOption, SignerOptions};

/// A one-line error and the exit code it earns.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: u8,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: 2 }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: 1 }
    }

    /// The program refusing a request, or a fee payer that cannot pay, is
    /// bad input; anything else is a failure.
    pub fn refused(what: &str, refused: Refused) -> Self {
        let message = format!("{what} refused: {}", refused.message);
        if refused.custom_code.is_some() || refused.unfunded {
            Self::usage(message)
        } else {
            Self::failed(message)
        }
    }
}

/// The chain could not be asked: a failure (exit 1), never "absent".
impl From<crate::chain::Unreachable> for CliError {
    fn from(unreachable: crate::chain::Unreachable) -> Self {
        Self::failed(unreachable.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

#[derive(Parser)]
#[command(name = "gradual", version, about = "Gradual Consensus tasks on Solana")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creators: create, fund, update, pause, resume, close and show tasks.
    #[command(subcommand)]
    Task(task::TaskCommand),
    /// Operators: stake, run a node, claim, unstake, withdraw, show.
    #[command(subcommand)]
    Node(node::NodeCommand),
    /// Auditors: decode a task, node, round, audit or distribution.
    #[command(subcommand)]
    Inspect(inspect::InspectCommand),
    /// Auditors: what happened to a task, rebuilt from its program's events and proofs.
    History(history::HistoryArgs),
    /// Generate a keypair file (mode 600).
    Keygen {
        #[arg(long)]
        outfile: PathBuf,
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        options: OutputOption,
    },
    /// Request an airdrop (test validators and localnet only).
    Airdrop {
        lamports: u64,
        /// Recipient [default: the keypair's address].
        #[arg(long)]
        to: Option<Address>,
        #[command(flatten)]
        options: SignerOptions,
    },
    /// Print the program id this binary was built for.
    ProgramId {
        #[command(flatten)]
        options: OutputOption,
    },
    /// Auditors: check that the deployed program is a build of this source.
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Serve the embedded chain over JSON-RPC, for trying Gradual without a validator.
    Localnet(simulate::LocalnetArgs),
    /// Run a task with N nodes on the embedded chain and report what happened.
    Simulate(simulate::SimulateArgs),
    /// Serve the read-only dashboard of one or more tasks on a web page.
    Dashboard(dashboard::DashboardArgs),
}

impl Command {
    fn chosen(&self) -> Chosen<'_> {
        match self {
            Command::Task(command) => command.chosen(),
            Command::Node(command) => command.chosen(),
            Command::Inspect(command) => command.chosen(),
            Command::History(args) => args.chosen(),
            Command::Keygen { options, .. } | Command::ProgramId { options } => options.chosen(),
            Command::Program(ProgramCommand::Verify { options, .. }) => options.chosen(),
            Command::Airdrop { options, .. } => options.chosen(),
            Command::Localnet(args) => args.options.chosen(),
            Command::Simulate(args) => args.options.chosen(),
            Command::Dashboard(args) => args.options.chosen(),
        }
    }
}

/// What every command needs: settings, the output format, and the tokio
/// runtime the RPC client and the peer service run on.
pub struct Context {
    pub url: String,
    pub keypair_path: PathBuf,
    pub commitment: solana_commitment_config::CommitmentConfig,
    pub json: bool,
    pub priority_fee: u64,
    /// RPC errors in a row before a command gives up.
    pub error_limit: u32,
    pub runtime: Arc<Runtime>,
}

impl Context {
    pub fn chain(&self) -> CliResult<RpcChain> {
        let mut chain = RpcChain::new(&self.url, self.commitment, Arc::clone(&self.runtime))
            .with_send_config(SendConfig {
                priority_fee: self.priority_fee,
                error_limit: self.error_limit,
                ..SendConfig::default()
            });
        chain.refresh_slot().map_err(|unreachable| {
            CliError::failed(format!("cannot reach {}: {}", self.url, unreachable.0))
        })?;
        Ok(chain)
    }

    pub fn signer(&self) -> CliResult<Keypair> {
        read_keypair(&self.keypair_path)
    }

    /// Sends `instructions` signed by `signer` and prints the outcome.
    pub fn send(
        &self,
        chain: &mut RpcChain,
        what: &str,
        instructions: &[Instruction],
        signer: &Keypair,
        mut report: serde_json::Value,
    ) -> CliResult {
        let units = chain
            .send(instructions, signer, &[signer])
            .map_err(|refused| CliError::refused(what, refused))?;
        if let serde_json::Value::Object(map) = &mut report {
            map.insert("signer".into(), signer.pubkey().to_string().into());
            map.insert("signature".into(), chain.last_signature().map(|s| s.to_string()).into());
            map.insert("compute_units".into(), units.into());
        }
        if self.json {
            views::print(&report, true);
        } else {
            out!("{what}: done");
            views::print(&report, false);
        }
        Ok(())
    }

    pub fn print(&self, value: &serde_json::Value) {
        views::print(value, self.json);
    }
}

fn dispatch(cli: Cli) -> CliResult {
    let chosen = cli.command.chosen();
    // Commands that never reach a cluster do not read the Solana CLI config.
    let settings = match chosen.read {
        Some(read) => config::resolve(
            read.config.as_deref(),
            read.url.as_deref(),
            chosen.keypair.map(PathBuf::as_path),
            read.commitment.as_deref(),
        )?,
        None => config::resolve_offline(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| CliError::failed(format!("cannot start the async runtime: {error}")))?;
    let error_limit = if matches!(cli.command, Command::Node(node::NodeCommand::Run(_))) { 10 } else { 5 };
    let context = Context {
        error_limit,
        url: settings.url,
        keypair_path: settings.keypair_path,
        commitment: settings.commitment,
        json: chosen.output == Output::Json,
        priority_fee: chosen.priority_fee,
        runtime: Arc::new(runtime),
    };
    match cli.command {
        Command::Task(command) => task::run(&context, command),
        Command::Node(command) => node::run(&context, command),
        Command::Inspect(command) => inspect::run(&context, command),
        Command::History(args) => history::run(&context, args),
        Command::Keygen { outfile, force, .. } => {
            let keypair = Keypair::new();
            write_keypair(&outfile, &keypair, force)?;
            context
                .print(&serde_json::json!({ "address": keypair.pubkey().to_string(), "outfile": outfile }));
            Ok(())
        }
        Command::Airdrop { lamports, to, .. } => {
            let recipient = match to {
                Some(address) => address,
                None => context.signer()?.pubkey(),
            };
            let mut chain = context.chain()?;
            chain.airdrop(&recipient, lamports).map_err(|refused| CliError::refused("airdrop", refused))?;
            let balance = chain.account(&recipient)?.map_or(0, |account| account.lamports);
            context.print(&serde_json::json!({ "address": recipient.to_string(), "balance": balance }));
            Ok(())
        }
        Command::ProgramId { .. } => {
            if context.json {
                context.print(&serde_json::json!({ "program_id": gradual_interface::ID.to_string() }));
            } else {
                out!("{}", gradual_interface::ID);
            }
            Ok(())
        }
        Command::Program(ProgramCommand::Verify { program, .. }) => verify_program(&context, &program),
        Command::Localnet(args) => simulate::localnet(&context, args),
        Command::Simulate(args) => simulate::simulate(&context, args),
        Command::Dashboard(args) => dashboard::run(&context, args),
    }
}

#[derive(Subcommand)]
enum ProgramCommand {
    /// Compare the program deployed at the program id with a local build:
    /// the sha256 of each ELF, trailing zero bytes removed (as solana-verify
    /// hashes it). Exit 0 on a match, 1 on a mismatch.
    Verify {
        /// The local build [default: target/deploy/gradual.so, or GRADUAL_SO].
        #[arg(long, env = "GRADUAL_SO", default_value = "target/deploy/gradual.so")]
        program: PathBuf,
        #[command(flatten)]
        options: options::ReadOptions,
    },
}

fn verify_program(context: &Context, program: &std::path::Path) -> CliResult {
    let local = std::fs::read(program)
        .map_err(|error| CliError::usage(format!("cannot read --program {}: {error}", program.display())))?;
    let chain = context.chain()?;
    let deployed = crate::verify::deployed_elf(&chain, &gradual_interface::ID)?.map_err(CliError::usage)?;
    let hex = |hash: [u8; 32]| crate::package::hex(&hash);
    let (local_hash, deployed_hash) = (crate::verify::elf_hash(&local), crate::verify::elf_hash(&deployed));
    let matches = local_hash == deployed_hash;
    context.print(&serde_json::json!({
        "program_id": gradual_interface::ID.to_string(),
        "url": context.url,
        "local": program.display().to_string(),
        "local_sha256": hex(local_hash),
        "deployed_sha256": hex(deployed_hash),
        "result": if matches { "match" } else { "mismatch" },
    }));
    if matches {
        Ok(())
    } else {
        Err(CliError::failed(format!(
            "mismatch: the program deployed at {} is not {}",
            gradual_interface::ID,
            program.display()
        )))
    }
}

#[doc(hidden)]
pub fn write_stdout(line: std::fmt::Arguments) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(line).and_then(|()| stdout.write_all(b"\n"));
    if written.is_err() {
        // The reader is gone, or stdout cannot be written: nobody can see more output.
        std::process::exit(0);
    }
}

pub fn main() -> ExitCode {
    if let Err(error) = crate::sandbox::harden_node() {
        let _ = writeln!(std::io::stderr(), "warning: {error}");
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout as usual; usage errors get one line and exit 2.
        Err(error) if !error.use_stderr() => error.exit(),
        Err(error) => {
            let rendered = error.render().to_string();
            let mut lines = rendered.lines().map(str::trim).filter(|line| !line.is_empty());
            let mut line = lines.next().unwrap_or("error: bad arguments").to_string();
            // "the following required arguments were not provided:" names them on the next line.
            if line.ends_with(':') {
                if let Some(named) = lines.next() {
                    line = format!("{line} {named}");
                }
            }
            let _ = writeln!(std::io::stderr(), "{line}");
            return ExitCode::from(2);
        }
    };
    // Long-running commands log warnings (retries, refusals); one-shot
    // commands print only their result or their one-line error.
    let long_running = matches!(
        cli.command,
        Command::Node(node::NodeCommand::Run(_)) | Command::Localnet(_) | Command::Dashboard(_)
    );
    let default_level = if long_running { "warn" } else { "off" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRADUAL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).init();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {}", error.message);
            ExitCode::from(error.code)
        }
    }
}
