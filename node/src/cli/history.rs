//! `gradual history TASK [--round N] [--node ADDR]`: what happened to a
//! task, rebuilt from the ledger (`crate::history`).

use clap::Args;
use gradual_interface::Address;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use super::{
    options::{Chosen, ReadOptions},
    CliResult, Context,
};
use crate::history::{self, Entry};

#[derive(Args)]
pub struct HistoryArgs {
    pub task: Address,
    /// Only what concerns this round (proofs, audits, its list and claims).
    #[arg(long)]
    pub round: Option<u64>,
    /// Only what names this node account.
    #[arg(long)]
    pub node: Option<Address>,
    #[command(flatten)]
    pub options: ReadOptions,
}

impl HistoryArgs {
    pub fn chosen(&self) -> Chosen<'_> {
        self.options.chosen()
    }

    fn keeps(&self, entry: &Entry) -> bool {
        self.round.is_none_or(|round| entry.happened.round() == Some(round))
            && self.node.is_none_or(|node| entry.happened.nodes().contains(&node.to_bytes()))
    }
}

pub fn run(context: &Context, args: HistoryArgs) -> CliResult {
    let chain = context.chain()?;
    // Progress on stderr while a long history is read; none for scripts.
    let bar = if context.json { ProgressBar::hidden() } else { ProgressBar::new_spinner() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} read {pos} transactions [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let history = history::read_reporting(&chain, &args.task, &|read| bar.set_position(read as u64));
    bar.finish_and_clear();
    let history = history?;
    let entries: Vec<&Entry> = history.entries.iter().filter(|entry| args.keeps(entry)).collect();
    if context.json {
        context.print(&json!({
            "task": args.task.to_string(),
            "transactions": history.transactions,
            "from_creation": history.from_creation,
            "incomplete": history.incomplete.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "entries": entries.iter().map(|entry| entry.to_json()).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    out!("task {}: {} transactions, {} shown", args.task, history.transactions, entries.len());
    if !history.from_creation {
        out!("warning: no TaskCreated in the ledger: the RPC node keeps no history back to the task's creation, so this one is partial");
    }
    for signature in &history.incomplete {
        out!("warning: the logs of {signature} are truncated; its events may be missing");
    }
    for entry in entries {
        out!("{:>10}  {:<16} {}", entry.slot, entry.happened.name(), one_line(&entry.happened.fields()));
    }
    Ok(())
}

/// `key=value` pairs; a payment as `key=lamports→address`.
fn one_line(fields: &Value) -> String {
    let Value::Object(map) = fields else { return fields.to_string() };
    map.iter()
        .map(|(key, value)| match value {
            Value::Object(payment) => format!(
                "{key}={}→{}",
                payment.get("lamports").unwrap_or(&Value::Null),
                payment.get("to").and_then(Value::as_str).unwrap_or("?")
            ),
            Value::String(text) => format!("{key}={text}"),
            other => format!("{key}={other}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
