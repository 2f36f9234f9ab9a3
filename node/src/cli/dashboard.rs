//! `gradual dashboard`: the dashboard `node run` serves, for auditors and
//! creators who run no node. Read-only: it holds no keypair.

use std::{net::SocketAddr, sync::Arc};

use clap::Args;
use gradual_interface::{pda::find_node_address, Address};
use serde_json::json;

use super::{options::ReadOptions, task::read_task, CliError, CliResult, Context};
use crate::{
    dashboard::{
        watch::{self, Watch},
        Board, Lists, Publisher,
    },
    service,
};

#[derive(Args)]
pub struct DashboardArgs {
    /// A task to show; repeat for several.
    #[arg(long = "task", value_name = "TASK", required = true)]
    tasks: Vec<Address>,
    /// Also show this operator's node in each task: its stake, earnings, losses and alerts.
    #[arg(long)]
    operator: Option<Address>,
    /// Address to serve the page on (8900 is a local validator's websocket, 8910 `node run`'s peer service).
    #[arg(long, default_value = "127.0.0.1:8901")]
    listen: SocketAddr,
    #[command(flatten)]
    pub(super) options: ReadOptions,
}

pub fn run(context: &Context, args: DashboardArgs) -> CliResult {
    let mut chains = Vec::new();
    for task in &args.tasks {
        let chain = context.chain()?;
        read_task(&chain, task)?;
        chains.push(chain);
    }
    let board = Arc::new(Board::default());
    let router = crate::dashboard::router(Arc::clone(&board));
    let address = context.runtime.block_on(service::spawn(args.listen, router)).map_err(CliError::usage)?;
    let url = format!("http://{address}/");
    if context.json {
        // One line, as every event of a long-running command.
        out!("{}", json!({ "event": "dashboard", "url": url }));
    } else {
        out!("dashboard: {url}");
    }
    let stop = crate::daemon::stop_on_signal(&context.runtime);
    std::thread::scope(|scope| {
        for (chain, task) in chains.into_iter().zip(args.tasks.iter().copied()) {
            let own = args.operator.map(|operator| find_node_address(&task, &operator).0);
            let publisher = Publisher::new(Arc::clone(&board), Lists::fetching(Arc::clone(&context.runtime)));
            let stop = &stop;
            scope.spawn(move || watch::run(chain, Watch { task, own }, publisher, stop));
        }
    });
    Ok(())
}
