//! `gradual localnet`: the embedded chain (LiteSVM running the `.so` built
//! from source) behind the standard Solana JSON-RPC wire format, with a slot
//! clock that advances in real time. It answers the subset of methods the
//! Solana RPC client uses for Gradual, so the CLI and `node run` can be tried
//! and tested across processes without building a validator.
//!
//! Beside it, one port up as on a validator, a websocket serves the
//! subscriptions the node follows a task with: `slotSubscribe`,
//! `accountSubscribe` and `programSubscribe` (with filters), notified after
//! every transaction that writes a matching account. Like a validator, it
//! sends no notification for an account that a transaction closes.
//!
//! It can also misbehave on purpose: fail every Nth request, drop every Nth
//! transaction, expire blockhashes after a few slots, and fail every request
//! for a while when asked (`localnetOutage` with the milliseconds). The node's tests use
//! this to check that the sender resends, re-signs and backs off correctly.
//!
//! Hand-written because no maintained crate serves LiteSVM over JSON-RPC with
//! fault injection; it reuses the RPC client's own response types, so the
//! wire format cannot drift from what the client expects.

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use axum::{
    extract::{
        ws::{Message as WsMessage, WebSocket, WebSocketUpgrade},
        State,
    },
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use base64::{prelude::BASE64_STANDARD, Engine};
use gradual_interface::{Address, ID};
use litesvm::LiteSVM;
use serde_json::{json, Value};
use solana_account::Account;
use solana_account_decoder_client_types::{UiAccount, UiAccountData, UiAccountEncoding};
use solana_hash::Hash;
use solana_rpc_client_types::{
    config::RpcProgramAccountsConfig,
    filter::RpcFilterType,
    response::{RpcBlockhash, RpcKeyedAccount, RpcSimulateTransactionResult},
};
use solana_signature::Signature;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_error::TransactionError;
use solana_transaction_status_client_types::{TransactionConfirmationStatus, TransactionStatus};
use tokio::{net::TcpListener, sync::broadcast};

use crate::chain::{Chain, EmbeddedChain};

mod history;

use history::{Executed, TransactionLog};

/// Deliberate misbehaviour, for testing clients. Zero turns a fault off.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Every Nth request fails with HTTP 503.
    pub fail_every: u64,
    /// Every Nth `sendTransaction` is acknowledged but never executed.
    pub drop_every: u64,
    /// Every transaction lands this many slots after it is sent, as on a
    /// congested cluster: its status stays unknown until then.
    pub land_after_slots: u64,
}

#[derive(Clone, Debug)]
pub struct LocalnetConfig {
    pub program: PathBuf,
    pub listen: SocketAddr,
    pub slot_duration: Duration,
    /// Slots a blockhash stays valid (150 on a real cluster).
    pub blockhash_ttl: u64,
    pub faults: Faults,
}

/// What the websocket notifies: a new slot, or accounts a transaction wrote.
#[derive(Clone, Debug)]
enum Event {
    Slot(u64),
    Written(u64, Arc<Vec<(Address, Account)>>),
}

/// Bytes sent to clients, for measuring what following a task costs.
#[derive(Default)]
pub struct Traffic {
    pub http_bytes: AtomicU64,
    pub websocket_bytes: AtomicU64,
}

struct Ledger {
    chain: EmbeddedChain,
    events: broadcast::Sender<Event>,
    slot: u64,
    /// Recent blockhashes and the slot each was issued in, oldest first.
    blockhashes: VecDeque<(Hash, u64)>,
    /// Every transaction executed: its slot and error, as a status cache.
    statuses: HashMap<Signature, (u64, Option<TransactionError>)>,
    /// Every transaction executed, whole, for `getTransaction`.
    executed: TransactionLog,
    requests: u64,
    sends: u64,
    /// Transactions sent but not yet landed, with the slot each lands in.
    landing: VecDeque<(u64, VersionedTransaction)>,
    config: LocalnetConfig,
    /// Every request fails with HTTP 503 until then (`localnetOutage`).
    outage_until: Option<std::time::Instant>,
}

type Shared = Arc<Mutex<Ledger>>;

/// JSON-RPC errors as the RPC client classifies them.
struct RpcError {
    code: i64,
    message: String,
}

fn invalid_params(message: impl Into<String>) -> RpcError {
    RpcError { code: -32602, message: message.into() }
}

fn param(params: &Value, index: usize) -> Result<&Value, RpcError> {
    params.get(index).ok_or_else(|| invalid_params(format!("missing parameter {index}")))
}

fn address_param(params: &Value, index: usize) -> Result<Address, RpcError> {
    param(params, index)?
        .as_str()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| invalid_params(format!("parameter {index} is not an address")))
}

fn u64_param(params: &Value, index: usize) -> Result<u64, RpcError> {
    param(params, index)?
        .as_u64()
        .ok_or_else(|| invalid_params(format!("parameter {index} is not an integer")))
}

fn ui_account(account: &Account) -> UiAccount {
    UiAccount {
        lamports: account.lamports,
        data: UiAccountData::Binary(BASE64_STANDARD.encode(&account.data), UiAccountEncoding::Base64),
        owner: account.owner.to_string(),
        executable: account.executable,
        rent_epoch: account.rent_epoch,
        space: Some(account.data.len() as u64),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(|error| RpcError { code: -32603, message: error.to_string() })
}

fn matches(account: &Account, filter: &RpcFilterType) -> bool {
    match filter {
        RpcFilterType::DataSize(size) => account.data.len() as u64 == *size,
        RpcFilterType::Memcmp(memcmp) => memcmp.bytes_match(&account.data),
        RpcFilterType::TokenAccountState => false,
    }
}

impl Ledger {
    fn context(&self, value: Value) -> Value {
        json!({ "context": { "slot": self.slot, "apiVersion": "4.2.2" }, "value": value })
    }

    fn account(&self, address: &Address) -> Option<Account> {
        self.chain.svm().get_account(address).filter(|account| account.lamports > 0)
    }

    fn advance(&mut self) {
        self.slot = self.slot.saturating_add(1);
        // No subscriber is no error.
        let _ = self.events.send(Event::Slot(self.slot));
        self.chain.warp_to(self.slot);
        self.blockhashes.push_back((self.chain.svm().latest_blockhash(), self.slot));
        let oldest = self.slot.saturating_sub(self.config.blockhash_ttl);
        while self.blockhashes.front().is_some_and(|(_, issued)| *issued < oldest) {
            self.blockhashes.pop_front();
        }
        while self.landing.front().is_some_and(|(due, _)| *due <= self.slot) {
            if let Some((_, transaction)) = self.landing.pop_front() {
                self.land(transaction);
            }
        }
    }

    fn blockhash_valid(&self, hash: &Hash) -> bool {
        self.blockhashes.iter().any(|(known, _)| known == hash)
    }

    fn decode_transaction(params: &Value) -> Result<VersionedTransaction, RpcError> {
        let encoded =
            param(params, 0)?.as_str().ok_or_else(|| invalid_params("transaction is not a string"))?;
        let base58 =
            params.get(1).and_then(|config| config.get("encoding")).and_then(Value::as_str) != Some("base64");
        let bytes = if base58 {
            bs58::decode(encoded).into_vec().map_err(|error| invalid_params(error.to_string()))?
        } else {
            BASE64_STANDARD.decode(encoded).map_err(|error| invalid_params(error.to_string()))?
        };
        wincode::deserialize(&bytes).map_err(|error| invalid_params(format!("bad transaction: {error}")))
    }

    fn simulate(&mut self, params: &Value) -> Result<Value, RpcError> {
        let mut transaction = Self::decode_transaction(params)?;
        let replace = params
            .get(1)
            .and_then(|config| config.get("replaceRecentBlockhash"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if replace {
            transaction.message.set_recent_blockhash(self.chain.svm().latest_blockhash());
        }
        let outcome = self.chain.svm().simulate_transaction(transaction);
        let (err, meta) = match outcome {
            Ok(info) => (None, info.meta),
            Err(failed) => (Some(failed.err), failed.meta),
        };
        let result = RpcSimulateTransactionResult {
            err: err.map(Into::into),
            logs: Some(meta.logs),
            accounts: None,
            units_consumed: Some(meta.compute_units_consumed),
            loaded_accounts_data_size: None,
            return_data: None,
            inner_instructions: None,
            replacement_blockhash: None,
            fee: None,
            pre_balances: None,
            post_balances: None,
            pre_token_balances: None,
            post_token_balances: None,
            loaded_addresses: None,
        };
        Ok(self.context(to_json(&result)?))
    }

    fn send(&mut self, params: &Value) -> Result<Value, RpcError> {
        let transaction = Self::decode_transaction(params)?;
        let signature =
            *transaction.signatures.first().ok_or_else(|| invalid_params("unsigned transaction"))?;
        self.sends = self.sends.saturating_add(1);
        let dropped =
            self.config.faults.drop_every > 0 && self.sends.is_multiple_of(self.config.faults.drop_every);
        // The SVM runs without signature checks so that simulations need
        // none; sent transactions are checked here.
        if !transaction.verify_with_results().into_iter().all(|valid| valid) {
            return Err(RpcError {
                code: -32003,
                message: "Transaction signature verification failure".into(),
            });
        }
        // Like a validator: expired transactions are acknowledged and never run.
        if dropped || !self.blockhash_valid(transaction.message.recent_blockhash()) {
            if dropped {
                tracing::info!(%signature, "fault: dropping transaction");
            }
            return Ok(json!(signature.to_string()));
        }
        match self.config.faults.land_after_slots {
            0 => self.land(transaction),
            delay => self.landing.push_back((self.slot.saturating_add(delay), transaction)),
        }
        Ok(json!(signature.to_string()))
    }

    /// Executes `transaction` in the current slot, unless it already ran or its blockhash expired.
    fn land(&mut self, transaction: VersionedTransaction) {
        let Some(signature) = transaction.signatures.first().copied() else { return };
        if self.statuses.contains_key(&signature)
            || !self.blockhash_valid(transaction.message.recent_blockhash())
        {
            return;
        }
        let message = &transaction.message;
        let writable: Vec<Address> = (0..message.static_account_keys().len())
            .filter(|index| {
                message.is_maybe_writable_with_reserved_addresses(*index, None::<&HashSet<Address>>)
            })
            .map(|index| message.static_account_keys()[index])
            .collect();
        let balances = |ledger: &Self| -> Vec<u64> {
            let keys = transaction.message.static_account_keys();
            keys.iter().map(|key| ledger.chain.svm().get_balance(key).unwrap_or(0)).collect()
        };
        let pre_balances = balances(self);
        let (err, meta) = match self.chain.svm_mut().send_transaction(transaction.clone()) {
            Ok(meta) => (None, meta),
            Err(failed) => (Some(failed.err), failed.meta),
        };
        self.executed.record(Executed {
            slot: self.slot,
            post_balances: balances(self),
            transaction,
            err: err.clone(),
            logs: meta.logs,
            units: meta.compute_units_consumed,
            fee: meta.fee,
            pre_balances,
        });
        if err.is_none() {
            // Closed accounts are left out, as a validator leaves them out.
            let written: Vec<(Address, Account)> =
                writable.into_iter().filter_map(|address| Some((address, self.account(&address)?))).collect();
            let _ = self.events.send(Event::Written(self.slot, Arc::new(written)));
        }
        self.statuses.insert(signature, (self.slot, err));
    }

    fn statuses(&self, params: &Value) -> Result<Value, RpcError> {
        let signatures = param(params, 0)?.as_array().ok_or_else(|| invalid_params("signatures"))?;
        let mut values = Vec::with_capacity(signatures.len());
        for signature in signatures {
            let signature: Signature = signature
                .as_str()
                .and_then(|text| text.parse().ok())
                .ok_or_else(|| invalid_params("bad signature"))?;
            values.push(self.statuses.get(&signature).map(|(slot, err)| TransactionStatus {
                slot: *slot,
                confirmations: None,
                status: err.clone().map_or(Ok(()), Err),
                err: err.clone(),
                confirmation_status: Some(TransactionConfirmationStatus::Finalized),
            }));
        }
        Ok(self.context(to_json(&values)?))
    }

    fn program_accounts(&self, params: &Value) -> Result<Value, RpcError> {
        let program = address_param(params, 0)?;
        let config: RpcProgramAccountsConfig = match params.get(1) {
            Some(config) => {
                serde_json::from_value(config.clone()).map_err(|error| invalid_params(error.to_string()))?
            }
            None => RpcProgramAccountsConfig::default(),
        };
        let filters = config.filters.unwrap_or_default();
        let keyed: Vec<RpcKeyedAccount> = self
            .chain
            .svm()
            .get_program_accounts(&program)
            .into_iter()
            .filter(|(_, account)| {
                account.lamports > 0 && filters.iter().all(|filter| matches(account, filter))
            })
            .map(|(address, account)| RpcKeyedAccount {
                pubkey: address.to_string(),
                account: ui_account(&account),
            })
            .collect();
        let value = to_json(&keyed)?;
        Ok(if config.with_context == Some(true) { self.context(value) } else { value })
    }

    fn handle(&mut self, method: &str, params: &Value) -> Result<Value, RpcError> {
        match method {
            "getHealth" => Ok(json!("ok")),
            "getVersion" => Ok(json!({ "solana-core": "4.2.2", "feature-set": 0 })),
            "getSlot" | "getBlockHeight" => Ok(json!(self.slot)),
            "localnetOutage" => Ok(json!(null)),
            "getGenesisHash" => {
                let genesis =
                    self.chain.genesis_hash().map_err(|error| RpcError { code: -32603, message: error.0 })?;
                Ok(json!(Hash::new_from_array(genesis).to_string()))
            }
            "getAccountInfo" => {
                let account = self.account(&address_param(params, 0)?);
                Ok(self.context(to_json(&account.as_ref().map(ui_account))?))
            }
            "getMultipleAccounts" => {
                let addresses = param(params, 0)?.as_array().ok_or_else(|| invalid_params("addresses"))?;
                let mut accounts = Vec::with_capacity(addresses.len());
                for address in addresses {
                    let address: Address = address
                        .as_str()
                        .and_then(|text| text.parse().ok())
                        .ok_or_else(|| invalid_params("bad address"))?;
                    accounts.push(self.account(&address).as_ref().map(ui_account));
                }
                Ok(self.context(to_json(&accounts)?))
            }
            "getBalance" => {
                let lamports = self.account(&address_param(params, 0)?).map_or(0, |account| account.lamports);
                Ok(self.context(json!(lamports)))
            }
            "getProgramAccounts" => self.program_accounts(params),
            "getLatestBlockhash" => {
                let (blockhash, issued) = self
                    .blockhashes
                    .back()
                    .copied()
                    .unwrap_or((self.chain.svm().latest_blockhash(), self.slot));
                let value = RpcBlockhash {
                    blockhash: blockhash.to_string(),
                    last_valid_block_height: issued.saturating_add(self.config.blockhash_ttl),
                };
                Ok(self.context(to_json(&value)?))
            }
            "isBlockhashValid" => {
                let hash: Hash = param(params, 0)?
                    .as_str()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| invalid_params("bad blockhash"))?;
                Ok(self.context(json!(self.blockhash_valid(&hash))))
            }
            "getMinimumBalanceForRentExemption" => {
                let len = usize::try_from(u64_param(params, 0)?).map_err(|_| invalid_params("length"))?;
                Ok(json!(self.chain.svm().minimum_balance_for_rent_exemption(len)))
            }
            "requestAirdrop" => {
                let address = address_param(params, 0)?;
                let lamports = u64_param(params, 1)?;
                match self.chain.svm_mut().airdrop(&address, lamports) {
                    Ok(meta) => {
                        self.statuses.insert(meta.signature, (self.slot, None));
                        Ok(json!(meta.signature.to_string()))
                    }
                    Err(failed) => {
                        Err(RpcError { code: -32603, message: format!("airdrop failed: {}", failed.err) })
                    }
                }
            }
            "simulateTransaction" => self.simulate(params),
            "sendTransaction" => self.send(params),
            "getSignatureStatuses" => self.statuses(params),
            "getSignaturesForAddress" => self.executed.signatures_for(params),
            "getTransaction" => self.executed.transaction(params),
            _ => Err(RpcError { code: -32601, message: format!("method not found: {method}") }),
        }
    }
}

async fn rpc(
    State((ledger, traffic)): State<(Shared, Arc<Traffic>)>,
    Json(request): Json<Value>,
) -> impl IntoResponse {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str).unwrap_or_default().to_string();
    let params = request.get("params").cloned().unwrap_or(Value::Array(Vec::new()));
    let outcome = {
        let mut ledger = ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        ledger.requests = ledger.requests.saturating_add(1);
        let fail_every = ledger.config.faults.fail_every;
        if fail_every > 0 && ledger.requests.is_multiple_of(fail_every) {
            tracing::info!(%method, "fault: failing request");
            return (StatusCode::SERVICE_UNAVAILABLE, "fault injected").into_response();
        }
        if method == "localnetOutage" {
            let millis = params.get(0).and_then(Value::as_u64).unwrap_or(0);
            ledger.outage_until = std::time::Instant::now().checked_add(Duration::from_millis(millis));
            tracing::info!(millis, "fault: an outage begins");
        } else if ledger.outage_until.is_some_and(|until| std::time::Instant::now() < until) {
            return (StatusCode::SERVICE_UNAVAILABLE, "outage injected").into_response();
        }
        ledger.handle(&method, &params)
    };
    let body = match outcome {
        Ok(result) => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
        Err(error) => {
            json!({ "jsonrpc": "2.0", "id": id, "error": { "code": error.code, "message": error.message } })
        }
    };
    let body = body.to_string();
    traffic.http_bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A subscription of one websocket connection.
enum Subscription {
    Slot,
    Account(Address),
    Program(Address, Vec<RpcFilterType>),
}

impl Subscription {
    fn parse(method: &str, params: &Value) -> Result<Self, RpcError> {
        match method {
            "slotSubscribe" => Ok(Self::Slot),
            "accountSubscribe" => Ok(Self::Account(address_param(params, 0)?)),
            "programSubscribe" => {
                let config: RpcProgramAccountsConfig = match params.get(1) {
                    Some(config) => serde_json::from_value(config.clone())
                        .map_err(|error| invalid_params(error.to_string()))?,
                    None => RpcProgramAccountsConfig::default(),
                };
                Ok(Self::Program(address_param(params, 0)?, config.filters.unwrap_or_default()))
            }
            _ => Err(RpcError { code: -32601, message: format!("method not found: {method}") }),
        }
    }

    /// The notifications `event` makes for this subscription: (method, result).
    fn notify(&self, event: &Event) -> Vec<(&'static str, Value)> {
        let context = |slot: u64| json!({ "slot": slot });
        match (self, event) {
            (Self::Slot, Event::Slot(slot)) => vec![(
                "slotNotification",
                json!({ "slot": slot, "parent": slot.saturating_sub(1), "root": slot.saturating_sub(32) }),
            )],
            (Self::Account(watched), Event::Written(slot, written)) => written
                .iter()
                .filter(|(address, _)| address == watched)
                .map(|(_, account)| {
                    (
                        "accountNotification",
                        json!({ "context": context(*slot), "value": ui_account(account) }),
                    )
                })
                .collect(),
            (Self::Program(program, filters), Event::Written(slot, written)) => written
                .iter()
                .filter(|(_, account)| {
                    account.owner == *program && filters.iter().all(|filter| matches(account, filter))
                })
                .map(|(address, account)| {
                    let value = json!({ "pubkey": address.to_string(), "account": ui_account(account) });
                    ("programNotification", json!({ "context": context(*slot), "value": value }))
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

async fn websocket(
    upgrade: WebSocketUpgrade,
    State((ledger, traffic)): State<(Shared, Arc<Traffic>)>,
) -> axum::response::Response {
    let events = ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).events.subscribe();
    upgrade.on_upgrade(move |socket| subscriptions(socket, events, traffic))
}

/// Serves one websocket connection: subscribe and unsubscribe requests,
/// and the notifications of its subscriptions, until the client leaves.
async fn subscriptions(mut socket: WebSocket, mut events: broadcast::Receiver<Event>, traffic: Arc<Traffic>) {
    let mut subscribed: BTreeMap<u64, Subscription> = BTreeMap::new();
    let mut next_id = 0u64;
    loop {
        let replies: Vec<Value> = tokio::select! {
            message = socket.recv() => {
                let Some(Ok(WsMessage::Text(text))) = message else {
                    if matches!(message, Some(Ok(_))) { continue } else { return }
                };
                let request: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                let id = request.get("id").cloned().unwrap_or(Value::Null);
                let method = request.get("method").and_then(Value::as_str).unwrap_or_default();
                let params = request.get("params").cloned().unwrap_or(Value::Array(Vec::new()));
                let reply = if method.ends_with("Unsubscribe") {
                    let removed = params.get(0).and_then(Value::as_u64).and_then(|sid| subscribed.remove(&sid));
                    json!({ "jsonrpc": "2.0", "id": id, "result": removed.is_some() })
                } else {
                    match Subscription::parse(method, &params) {
                        Ok(subscription) => {
                            next_id = next_id.saturating_add(1);
                            subscribed.insert(next_id, subscription);
                            json!({ "jsonrpc": "2.0", "id": id, "result": next_id })
                        }
                        Err(error) => json!({ "jsonrpc": "2.0", "id": id, "error": { "code": error.code, "message": error.message } }),
                    }
                };
                vec![reply]
            }
            event = events.recv() => match event {
                Ok(event) => subscribed
                    .iter()
                    .flat_map(|(sid, subscription)| {
                        subscription.notify(&event).into_iter().map(move |(method, result)| {
                            json!({ "jsonrpc": "2.0", "method": method, "params": { "result": result, "subscription": sid } })
                        })
                    })
                    .collect(),
                // A client too slow for the notifications loses them, as on a validator: it must resubscribe.
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        for reply in replies {
            let text = reply.to_string();
            traffic.websocket_bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
            if socket.send(WsMessage::Text(text.into())).await.is_err() {
                return;
            }
        }
    }
}

/// A running localnet; dropping it does not stop it, [`Localnet::serve`] runs until the process ends.
pub struct Localnet {
    ledger: Shared,
    config: LocalnetConfig,
    traffic: Arc<Traffic>,
}

impl Localnet {
    pub fn new(config: LocalnetConfig) -> Result<Self, String> {
        let svm =
            LiteSVM::new().with_blockhash_check(false).with_sigverify(false).with_transaction_history(0);
        let start_slot = 1;
        let chain = EmbeddedChain::with_svm(svm, &config.program, start_slot)?;
        let mut ledger = Ledger {
            chain,
            events: broadcast::channel(4_096).0,
            slot: start_slot,
            blockhashes: VecDeque::new(),
            statuses: HashMap::new(),
            executed: TransactionLog::default(),
            requests: 0,
            sends: 0,
            landing: VecDeque::new(),
            outage_until: None,
            config: config.clone(),
        };
        let first = ledger.chain.svm().latest_blockhash();
        ledger.blockhashes.push_back((first, start_slot));
        Ok(Self { ledger: Arc::new(Mutex::new(ledger)), config, traffic: Arc::default() })
    }

    /// The bytes sent to clients so far, over HTTP and the websocket.
    pub fn traffic(&self) -> Arc<Traffic> {
        Arc::clone(&self.traffic)
    }

    /// Runs `change` on the chain before serving: for setting up large
    /// states (thousands of nodes) faster than over RPC. It may move the
    /// clock forward; serving goes on from there.
    pub fn prepare<R>(&self, change: impl FnOnce(&mut EmbeddedChain) -> R) -> R {
        let mut ledger = self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let changed = change(&mut ledger.chain);
        let slot = ledger.chain.slot();
        if slot != ledger.slot {
            ledger.slot = slot;
            let latest = ledger.chain.svm().latest_blockhash();
            ledger.blockhashes = VecDeque::from([(latest, slot)]);
        }
        changed
    }

    /// Serves JSON-RPC, and the websocket one port up, and advances the
    /// slot clock until the process ends.
    pub async fn serve(self, ready: impl FnOnce(SocketAddr)) -> Result<(), String> {
        let (listener, websocket_listener) = bind_pair(self.config.listen).await?;
        let address = listener.local_addr().map_err(|error| error.to_string())?;
        let clock = Arc::clone(&self.ledger);
        let slot_duration = self.config.slot_duration;
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(slot_duration);
            loop {
                interval.tick().await;
                clock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).advance();
            }
        });
        tracing::info!(%address, program = %ID, "localnet serving JSON-RPC");
        ready(address);
        let state = (self.ledger, self.traffic);
        let websocket_app = Router::new().route("/", get(websocket)).with_state(state.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(websocket_listener, websocket_app).await {
                tracing::error!(%error, "localnet websocket stopped");
            }
        });
        let app = Router::new().route("/", post(rpc)).with_state(state);
        axum::serve(listener, app).await.map_err(|error| error.to_string())
    }
}

/// Listeners for JSON-RPC on `listen` and for the websocket one port up;
/// for port 0, the first free pair of neighbouring ports.
async fn bind_pair(listen: SocketAddr) -> Result<(TcpListener, TcpListener), String> {
    let cannot = |address: SocketAddr, error: std::io::Error| format!("cannot listen on {address}: {error}");
    for _ in 0..32 {
        let listener = TcpListener::bind(listen).await.map_err(|error| cannot(listen, error))?;
        let mut websocket = listener.local_addr().map_err(|error| error.to_string())?;
        websocket.set_port(websocket.port().checked_add(1).ok_or("no port above the RPC port")?);
        match TcpListener::bind(websocket).await {
            Ok(websocket_listener) => return Ok((listener, websocket_listener)),
            Err(error) if listen.port() != 0 => return Err(cannot(websocket, error)),
            Err(_) => continue,
        }
    }
    Err(format!("cannot find two free neighbouring ports on {}", listen.ip()))
}
