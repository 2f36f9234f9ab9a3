//! SIGINT and SIGTERM: every task's loop finishes its tick and stops.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use tokio::runtime::Runtime;

/// Sets the returned flag on SIGINT or SIGTERM.
pub fn stop_on_signal(runtime: &Runtime) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let signalled = Arc::clone(&stop);
    runtime.spawn(async move {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let term = async {
            match terminate.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        // A handler that cannot be installed must not read as a signal.
        let interrupt = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = interrupt => {},
            () = term => {},
        }
        signalled.store(true, Ordering::SeqCst);
    });
    stop
}
