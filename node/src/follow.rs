//! Follows one task over the RPC websocket, so that a node reads only what
//! changed: `programSubscribe` filtered on the task field (every node,
//! audit and distribution account of the task), `accountSubscribe` on the
//! task account, and `slotSubscribe` for the clock.
//!
//! The runtime takes the accounts notified since its last tick. After a
//! (re)connection it reads everything once more, since notifications sent
//! while it was away are lost. Notifications never report a closed account;
//! `World` asks about the few that may have closed (see `forget_closed`).

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use futures_util::StreamExt;
use gradual_interface::{Address, ID};
use solana_account::Account;
use solana_commitment_config::CommitmentConfig;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_api::{
    config::{RpcAccountInfoConfig, RpcProgramAccountsConfig, UiAccountEncoding},
    filter::{Memcmp, RpcFilterType},
};
use tokio::runtime::Runtime;

use crate::chain::TASK_FIELD;

#[derive(Default)]
struct Followed {
    /// Accounts notified since the runtime last took them, oldest first.
    written: Vec<(Address, Option<Account>)>,
    /// Subscribed now.
    live: bool,
    /// Subscribed anew since the runtime last took: it must read everything.
    resubscribed: bool,
    slot: Option<u64>,
}

pub struct Follower {
    followed: Arc<Mutex<Followed>>,
}

/// The websocket address beside an RPC URL, as Solana's tools derive it:
/// the same host, `ws` for `http`, and the port one above (8899 → 8900).
pub fn websocket_url(rpc_url: &str) -> Option<String> {
    let mut url = url::Url::parse(rpc_url).ok()?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    let port = url.port_or_known_default()?.checked_add(1)?;
    url.set_scheme(scheme).ok()?;
    // A URL without a port names the scheme's default, so the next port is written out.
    if url.port().is_some() {
        url.set_port(Some(port)).ok()?;
    }
    Some(url.to_string())
}

impl Follower {
    pub fn start(runtime: &Runtime, websocket: String, task: Address, commitment: CommitmentConfig) -> Self {
        let followed = Arc::new(Mutex::new(Followed::default()));
        runtime.spawn(follow(websocket, task, commitment, Arc::clone(&followed)));
        Self { followed }
    }

    fn followed(&self) -> MutexGuard<'_, Followed> {
        self.followed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The accounts notified since the last call; `None` when the caller must
    /// read everything instead (not subscribed, or subscribed anew).
    pub fn take_written(&self) -> Option<Vec<(Address, Option<Account>)>> {
        let mut followed = self.followed();
        if !followed.live || followed.resubscribed {
            followed.resubscribed = false;
            followed.written.clear();
            return None;
        }
        Some(std::mem::take(&mut followed.written))
    }

    /// The newest slot notified, while subscribed.
    pub fn slot(&self) -> Option<u64> {
        let followed = self.followed();
        followed.slot.filter(|_| followed.live)
    }
}

async fn follow(
    websocket: String,
    task: Address,
    commitment: CommitmentConfig,
    followed: Arc<Mutex<Followed>>,
) {
    let lock = || followed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut delay = Duration::from_millis(100);
    // Ends once the `Follower` is dropped: nobody holds the state but this task.
    while Arc::strong_count(&followed) > 1 {
        let ended = subscribe(&websocket, &task, commitment, &followed).await;
        if Arc::strong_count(&followed) == 1 {
            return;
        }
        match ended {
            Ok(()) => {
                // It was subscribed: start the backoff afresh.
                delay = Duration::from_millis(100);
                tracing::warn!(%websocket, "websocket subscriptions ended; reconnecting");
            }
            Err(error) => tracing::warn!(%websocket, %error, "cannot follow the task over the websocket"),
        }
        {
            let mut followed = lock();
            followed.live = false;
            followed.slot = None;
        }
        tokio::time::sleep(delay).await;
        delay = delay.saturating_mul(2).min(Duration::from_secs(5));
    }
}

/// Subscribes and records notifications until the connection ends.
async fn subscribe(
    websocket: &str,
    task: &Address,
    commitment: CommitmentConfig,
    followed: &Arc<Mutex<Followed>>,
) -> Result<(), String> {
    let client = PubsubClient::new(websocket).await.map_err(|error| error.to_string())?;
    let account_config = RpcAccountInfoConfig {
        encoding: Some(UiAccountEncoding::Base64),
        commitment: Some(commitment),
        ..RpcAccountInfoConfig::default()
    };
    let program_config = RpcProgramAccountsConfig {
        filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
            TASK_FIELD.start,
            task.to_bytes().to_vec(),
        ))]),
        account_config: account_config.clone(),
        with_context: Some(true),
        sort_results: None,
    };
    let (mut accounts, _) =
        client.program_subscribe(&ID, Some(program_config)).await.map_err(|error| error.to_string())?;
    let (mut task_account, _) =
        client.account_subscribe(task, Some(account_config)).await.map_err(|error| error.to_string())?;
    let (mut slots, _) = client.slot_subscribe().await.map_err(|error| error.to_string())?;
    {
        let mut followed = followed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        followed.live = true;
        followed.resubscribed = true;
    }
    tracing::info!(%websocket, "following the task over the websocket");
    while Arc::strong_count(followed) > 1 {
        let written = tokio::select! {
            Some(update) = accounts.next() => {
                update.value.pubkey.parse::<Address>().ok().map(|address| (address, update.value.account.to_account()))
            }
            Some(update) = task_account.next() => Some((*task, update.value.to_account())),
            Some(slot) = slots.next() => {
                followed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).slot = Some(slot.slot);
                None
            }
            else => return Ok(()),
        };
        if let Some((address, account)) = written {
            let account = account.filter(|account| account.lamports > 0);
            followed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).written.push((address, account));
        }
    }
    Ok(())
}
