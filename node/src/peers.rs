//! Peers over the network: this node's results live in its local database
//! (served by `service.rs`); other nodes' results are fetched from the
//! service URL in their node account and must carry their operator's signature.

use std::{sync::Arc, time::Duration};

use gradual_interface::{
    state::{Distribution, Node},
    Address,
};
use tokio::runtime::Runtime;

use crate::{
    jobs::{Fetch, FETCH_TIMEOUT},
    service,
    store::Store,
    tasks::Leaves,
    world::Peers,
};

/// Largest result accepted from a peer.
pub const MAX_RESULT_BYTES: usize = 8 << 20;

pub struct NetworkPeers {
    store: Arc<Store>,
    fetcher: ResultFetcher,
}

async fn fetch_signed(
    client: &reqwest::Client,
    url: &str,
    operator: &Address,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let url = reqwest::Url::parse(url).map_err(|error| format!("bad URL {url}: {error}"))?;
    let mut response =
        client.get(url.clone()).timeout(timeout).send().await.map_err(|error| error.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    if response.content_length().is_some_and(|length| length > MAX_RESULT_BYTES as u64) {
        return Err("result too large".into());
    }
    let headers = response.headers().clone();
    // Read in chunks, so a peer without Content-Length cannot make us buffer more than the cap.
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
        if body.len().saturating_add(chunk.len()) > MAX_RESULT_BYTES {
            return Err("result too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    service::verify(&headers, operator, url.path(), &body)?;
    Ok(body)
}

/// Fetches the list a proposer serves at `url`, checking that `operator` signed it.
pub fn fetch_list(runtime: &Runtime, url: &str, operator: &Address) -> Result<Leaves, String> {
    let body = runtime.block_on(fetch_signed(&peer_client(), url, operator, FETCH_TIMEOUT))?;
    crate::store::parse_leaves(&body)
}

/// No redirects: the signature covers the path that was asked for.
fn peer_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap_or_default()
}

/// Fetches peers' results from the service URLs in their node accounts;
/// shared by the threads that check them.
pub struct ResultFetcher {
    client: reqwest::Client,
    runtime: Arc<Runtime>,
}

impl ResultFetcher {
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self { client: peer_client(), runtime }
    }

    /// The result `account`'s node serves for `round`, signed by its operator.
    pub fn fetch_signed(&self, account: &Node, round: u64, timeout: Duration) -> Result<Vec<u8>, String> {
        let submission = account.proof(round).ok_or("no revealed proof for that round")?;
        let base = String::from_utf8_lossy(account.service_url()).trim_end_matches('/').to_string();
        let locator = String::from_utf8_lossy(submission.locator()).trim_start_matches('/').to_string();
        let url = format!("{base}/{locator}");
        let operator = Address::new_from_array(account.operator);
        self.runtime
            .block_on(fetch_signed(&self.client, &url, &operator, timeout))
            .map_err(|error| format!("{url}: {error}"))
    }
}

impl Fetch for ResultFetcher {
    fn fetch(
        &self,
        _target: &Address,
        account: &Node,
        round: u64,
        timeout: Duration,
    ) -> Result<Vec<u8>, String> {
        self.fetch_signed(account, round, timeout)
    }
}

impl NetworkPeers {
    pub fn new(store: Arc<Store>, runtime: Arc<Runtime>) -> Self {
        Self { store, fetcher: ResultFetcher::new(runtime) }
    }
}

impl Peers for NetworkPeers {
    fn serve(&mut self, _node: &Address, round: u64, result: Vec<u8>) {
        if let Err(error) = self.store.put_result(round, &result) {
            tracing::error!(%error, round, "cannot store result");
        }
    }

    fn publish(&mut self, _node: &Address, round: u64) {
        if let Err(error) = self.store.publish(round) {
            tracing::error!(%error, round, "cannot publish result");
        }
    }

    fn own(&self, _node: &Address, round: u64) -> Option<Vec<u8>> {
        self.store.result(round).unwrap_or_else(|error| {
            tracing::error!(%error, round, "cannot read result");
            None
        })
    }

    fn fetch(&mut self, target: &Address, account: &Node, round: u64) -> Option<Vec<u8>> {
        match self.fetcher.fetch_signed(account, round, FETCH_TIMEOUT) {
            Ok(result) => Some(result),
            Err(error) => {
                tracing::warn!(node = %target, round, %error, "cannot fetch result");
                None
            }
        }
    }

    fn kept_list(&self, _node: &Address, round: u64) -> Option<Leaves> {
        self.store.leaves(round).unwrap_or_else(|error| {
            tracing::error!(%error, round, "cannot read kept list");
            None
        })
    }

    fn proposer_list(&mut self, distribution: &Distribution) -> Option<Leaves> {
        let url = String::from_utf8_lossy(distribution.url()).into_owned();
        let operator = Address::new_from_array(distribution.proposer_operator);
        fetch_list(&self.fetcher.runtime, &url, &operator)
            .map_err(|error| tracing::warn!(round = distribution.round, %url, %error, "cannot fetch the proposer's list"))
            .ok()
    }

    fn forget_before(&mut self, _node: &Address, oldest: u64) {
        if let Err(error) = self.store.forget_before(oldest) {
            tracing::error!(%error, oldest, "cannot forget old rounds");
        }
    }

    fn serve_list(&mut self, _node: &Address, round: u64, leaves: &Arc<Leaves>) {
        if let Err(error) = self.store.put_list(round, leaves) {
            tracing::error!(%error, round, "cannot store list");
        }
    }
}
