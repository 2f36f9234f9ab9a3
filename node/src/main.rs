//! The `gradual` command line. Today: `simulate` on the embedded chain.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand, ValueEnum};
use gradual_node::simulate::{self, SimulateConfig};

#[derive(Parser)]
#[command(name = "gradual", version, about = "Gradual Consensus tasks on Solana")]
struct Cli {
    /// Output format for reads and reports.
    #[arg(long, value_enum, default_value = "text", global = true)]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run a task with N nodes on the embedded chain and report what happened.
    Simulate {
        #[arg(long, default_value_t = 8)]
        nodes: usize,
        #[arg(long, default_value_t = 6)]
        rounds: u64,
        /// Nodes that submit proofs not matching their work.
        #[arg(long, default_value_t = 0)]
        bad: usize,
        /// Nodes that skip every odd round.
        #[arg(long, default_value_t = 0)]
        offline: usize,
        /// Nodes that propose lists paying only themselves.
        #[arg(long, default_value_t = 0)]
        bad_proposer: usize,
        /// Makes keys, and so the whole run, reproducible.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Peers each node checks per round (every proof under audit is checked too).
        #[arg(long, default_value_t = 16)]
        audit_sample: usize,
        /// The program built by `make sbf`.
        #[arg(long, env = "GRADUAL_SO", default_value = "target/deploy/gradual.so")]
        program: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Simulate { nodes, rounds, bad, offline, bad_proposer, seed, audit_sample, program } => {
            let config =
                SimulateConfig { nodes, rounds, bad, offline, bad_proposer, seed, audit_sample, program };
            let quiet = matches!(cli.output, Output::Json);
            let report = match simulate::run(&config, |line| {
                if !quiet {
                    eprintln!("{line}");
                }
            }) {
                Ok(report) => report,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(2);
                }
            };
            match cli.output {
                Output::Json => match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(error) => {
                        eprintln!("error: {error}");
                        return ExitCode::from(1);
                    }
                },
                Output::Text => print_table(&report),
            }
            if report.conservation.holds {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn print_table(report: &simulate::Report) {
    println!(
        "{:>4} {:<13} {:>14} {:>14} {:>9} {:>7} {:>7} {:>12} {:>12}",
        "node",
        "behaviour",
        "stake before",
        "stake after",
        "submitted",
        "raised",
        "against",
        "slashed",
        "claimed"
    );
    for node in &report.nodes {
        println!(
            "{:>4} {:<13} {:>14} {:>14} {:>9} {:>7} {:>7} {:>12} {:>12}",
            node.index,
            format!("{:?}", node.behaviour),
            node.stake_before,
            node.stake_after,
            node.stats.rounds_submitted.len(),
            node.stats.audits_raised,
            node.audits_against,
            node.lamports_slashed,
            node.stats.rewards_claimed
        );
    }
    println!(
        "conservation: {} (held {}, deposited {}, paid out {})",
        if report.conservation.holds { "holds" } else { "BROKEN" },
        report.conservation.held,
        report.conservation.deposited,
        report.conservation.paid_out
    );
    for (kind, units) in &report.compute_units {
        println!(
            "{kind:<20} {:>5} tx  CU min {:>5}  mean {:>5}  max {:>5}",
            units.count, units.min, units.mean, units.max
        );
    }
}
