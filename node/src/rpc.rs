//! The RPC backend: the Solana nonblocking RPC client behind the same
//! [`Chain`] interface as the embedded chain, and a transaction sender that
//! simulates first, sizes the compute budget, resends until the blockhash
//! expires and backs off on RPC errors.
//!
//! The runtime is slot-driven and synchronous, so each call blocks on the
//! process's tokio runtime; the peer service runs on the same runtime.

use std::{future::Future, sync::Arc, time::Duration};

use gradual_interface::{Address, ID};
use solana_account::Account;
use solana_commitment_config::CommitmentConfig;
use solana_instruction::{error::InstructionError, Instruction};
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::{
    client_error::Error as ClientError,
    config::{RpcAccountInfoConfig, RpcProgramAccountsConfig, UiAccountEncoding},
    filter::{Memcmp, RpcFilterType},
};
use solana_signature::Signature;
use solana_transaction::TransactionError;
use tokio::runtime::Runtime;

mod ledger;
mod sender;

pub use ledger::LandedTransaction;

use crate::{
    chain::{Chain, Read, Refused, Unreachable, TASK_FIELD},
    follow::{websocket_url, Follower},
};

/// How long a sender waits for any answer from the RPC node about a
/// transaction it sent before reporting the outcome as unknown.
const UNKNOWN_AFTER: Duration = Duration::from_secs(60);

/// The `SlotHashes` sysvar's address.
const SLOT_HASHES: Address = Address::from_str_const("SysvarS1otHashes111111111111111111111111111");

/// How the sender treats a transaction.
#[derive(Clone, Debug)]
pub struct SendConfig {
    /// Micro-lamports per compute unit; 0 sends no price instruction.
    pub priority_fee: u64,
    /// Times a transaction is re-signed with a fresh blockhash after the
    /// previous one expired without landing.
    pub resign_limit: u32,
    /// How often an unconfirmed transaction is sent again.
    pub resend_interval: Duration,
    /// How often its status is polled meanwhile.
    pub poll_interval: Duration,
    /// RPC errors in a row before the sender gives up.
    pub error_limit: u32,
    /// Transactions sent together and not yet confirmed, at most.
    pub max_in_flight: usize,
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            priority_fee: 0,
            resign_limit: 5,
            resend_interval: Duration::from_millis(1_000),
            poll_interval: Duration::from_millis(150),
            error_limit: 8,
            max_in_flight: 16,
        }
    }
}

pub struct RpcChain {
    client: RpcClient,
    /// The task followed over the websocket, once [`RpcChain::follow`] starts it.
    follower: Option<Follower>,
    runtime: Arc<Runtime>,
    commitment: CommitmentConfig,
    send_config: SendConfig,
    /// The slot as of the last [`RpcChain::refresh_slot`]: one slot per runtime tick.
    slot: u64,
    /// The newest slot the websocket announced when `slot` was last read.
    notified_slot: u64,
    /// RPC requests that failed, retries included.
    rpc_errors: std::sync::atomic::AtomicU64,
    /// Also counted here as they happen (`node run`'s metric), not once a tick ends.
    error_counter: Option<prometheus_client::metrics::counter::Counter>,
    /// The chain answered a slot below one it gave before: reset, or another node behind.
    went_back: bool,
    /// RPC errors in a row before a read gives up (`SendConfig::error_limit` unless set).
    read_attempts: Option<u32>,
    last_signature: Option<Signature>,
}

/// Headroom over the simulated compute units, for the budget instructions
/// themselves and for state that changes between simulation and execution.
fn compute_limit(simulated: u64) -> u32 {
    let padded = simulated.saturating_add(simulated / 10).saturating_add(1_000);
    u32::try_from(padded).unwrap_or(u32::MAX).min(1_400_000)
}

/// The program that raised a failed transaction's error: the first
/// "Program X failed" of its logs (a called program fails first, then each
/// program that called it).
fn failed_program(logs: &[String]) -> Option<Address> {
    logs.iter().find_map(|line| line.strip_prefix("Program ")?.split_once(" failed")?.0.parse().ok())
}

/// A custom error of another program than Gradual's: the token programs'
/// errors a deposit, a claim or a close can meet are named.
fn foreign_error(program: &Address, code: u32) -> String {
    use gradual_interface::token::{ASSOCIATED_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID};
    let name = match *program {
        TOKEN_PROGRAM_ID => "spl-token".to_string(),
        TOKEN_2022_PROGRAM_ID => "token-2022".to_string(),
        ASSOCIATED_TOKEN_PROGRAM_ID => "associated-token-account".to_string(),
        other => other.to_string(),
    };
    let is_token = *program == TOKEN_PROGRAM_ID || *program == TOKEN_2022_PROGRAM_ID;
    let meaning = match code {
        1 if is_token => "insufficient funds",
        3 if is_token => "the account is not of this mint",
        4 if is_token => "the account's owner does not match",
        17 if is_token => "the account is frozen",
        35 if is_token => "the account holds withheld transfer fees: harvest them to the mint first",
        67 if is_token => "the mint is paused: no transfer goes through",
        _ => "custom program error",
    };
    format!("{name} error {code}: {meaning}")
}

fn refused_by(error: &TransactionError, logs: &[String]) -> Refused {
    let custom_code = match error {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => Some(*code),
        _ => None,
    };
    let mut message = format!("{error}");
    let raised_by = failed_program(logs);
    if let Some(code) = custom_code {
        match raised_by.filter(|program| *program != gradual_interface::ID) {
            // A token program the Gradual program called, or an instruction beside it.
            Some(program) => message = foreign_error(&program, code),
            None => {
                if let Some(error) = gradual_interface::error::GradualError::from_code(code) {
                    message = format!("{} (error {code}):{}", error.name(), error.message());
                }
            }
        }
    }
    if let Some(last) = logs.iter().rev().find(|line| line.contains("failed")) {
        tracing::debug!(log = %last, "program log");
    }
    let unfunded = matches!(
        error,
        TransactionError::AccountNotFound
            | TransactionError::InsufficientFundsForFee
            | TransactionError::InsufficientFundsForRent { .. }
    );
    if unfunded {
        message = format!("the fee payer cannot pay ({error}): fund it with SOL and try again");
    }
    Refused { message, custom_code, unfunded }
}

/// Whether an RPC error may go away by itself: the transport, or the node
/// saying it is behind or overloaded. A request the node refuses is final.
fn transient(error: &ClientError) -> bool {
    use solana_rpc_client_api::{client_error::ErrorKind, request::RpcError};
    match error.kind() {
        ErrorKind::Io(_) | ErrorKind::Reqwest(_) | ErrorKind::Middleware(_) => true,
        // -32004 block not available, -32005 node unhealthy, -32016 minimum context slot not reached.
        ErrorKind::RpcError(RpcError::RpcResponseError { code, .. }) => {
            matches!(code, -32004 | -32005 | -32016)
        }
        ErrorKind::RpcError(RpcError::RpcRequestError(_)) => true,
        _ => false,
    }
}

impl RpcChain {
    pub fn new(url: &str, commitment: CommitmentConfig, runtime: Arc<Runtime>) -> Self {
        let client =
            RpcClient::new_with_timeout_and_commitment(url.to_string(), Duration::from_secs(30), commitment);
        Self {
            client,
            follower: None,
            runtime,
            commitment,
            send_config: SendConfig::default(),
            slot: 0,
            notified_slot: 0,
            rpc_errors: std::sync::atomic::AtomicU64::new(0),
            error_counter: None,
            went_back: false,
            read_attempts: None,
            last_signature: None,
        }
    }

    pub fn with_send_config(mut self, send_config: SendConfig) -> Self {
        self.send_config = send_config;
        self
    }

    /// Transactions sent together and not yet confirmed, at most (at least one).
    pub fn set_max_in_flight(&mut self, limit: usize) {
        self.send_config.max_in_flight = limit.max(1);
    }

    /// Follows `task` over the websocket beside the RPC URL: from then on
    /// each tick reads only the accounts notified (see `follow.rs`).
    pub fn follow(&mut self, task: Address) {
        match websocket_url(&self.client.url()) {
            Some(websocket) => {
                self.follower = Some(Follower::start(&self.runtime, websocket, task, self.commitment));
            }
            None => {
                tracing::warn!(url = %self.client.url(), "no websocket URL beside this RPC URL; reading every account each slot")
            }
        }
    }

    fn count_rpc_error(&self) {
        self.rpc_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.error_counter.iter().for_each(|counter| {
            counter.inc();
        });
    }

    /// Counts every RPC error in `counter` too, as it happens.
    pub fn count_errors_in(&mut self, counter: prometheus_client::metrics::counter::Counter) {
        self.error_counter = Some(counter);
    }

    /// RPC requests that failed so far, retries included.
    pub fn rpc_errors(&self) -> u64 {
        self.rpc_errors.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Slots between the newest slot the websocket announced and the slot
    /// of the last [`RpcChain::refresh_slot`] (0 when not following).
    pub fn slot_lag(&self) -> u64 {
        self.follower
            .as_ref()
            .and_then(Follower::slot)
            .map_or(0, |notified| notified.saturating_sub(self.slot))
    }

    /// Whether a slot below an earlier one was read since the last call:
    /// worth asking whether this is still the same chain.
    pub fn take_went_back(&mut self) -> bool {
        std::mem::take(&mut self.went_back)
    }

    /// The signature of the last transaction that landed.
    pub fn last_signature(&self) -> Option<Signature> {
        self.last_signature
    }

    pub fn url(&self) -> String {
        self.client.url()
    }

    fn block<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Reads give up after `attempts` RPC errors in a row: a loop that reads
    /// again every slot (`node run`) must not stall on one, and must say
    /// meanwhile that it cannot read. Sending keeps `error_limit`.
    pub fn set_read_attempts(&mut self, attempts: u32) {
        self.read_attempts = Some(attempts.max(1));
    }

    /// Runs a read until it succeeds, backing off on RPC errors; gives up
    /// after the read attempts (see [`RpcChain::set_read_attempts`]).
    fn retry<T, F, Fut>(&self, what: &str, call: F) -> Read<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        self.retry_up_to(what, self.read_attempts.unwrap_or(self.send_config.error_limit), call)
    }

    /// [`RpcChain::retry`] for the requests of a send: up to `error_limit` errors in a row.
    fn retry_sending<T, F, Fut>(&self, what: &str, call: F) -> Read<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        self.retry_up_to(what, self.send_config.error_limit, call)
    }

    /// [`RpcChain::retry`], giving up after `limit` errors in a row.
    fn retry_up_to<T, F, Fut>(&self, what: &str, limit: u32, call: F) -> Read<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let mut delay = Duration::from_millis(100);
        let mut errors = 0u32;
        loop {
            match self.block(call()) {
                Ok(value) => return Ok(value),
                Err(error) => {
                    self.count_rpc_error();
                    errors = errors.saturating_add(1);
                    if !transient(&error) || errors >= limit {
                        return Err(Unreachable(format!("{what}: {error} ({errors} RPC errors in a row)")));
                    }
                    tracing::warn!(%error, attempt = errors, retry_in_ms = delay.as_millis() as u64, "{what}: RPC error");
                    std::thread::sleep(delay);
                    delay = delay.saturating_mul(2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// Reads the current slot; the runtime calls this once per tick. It is
    /// the `processed` bank's slot, the one transactions are simulated
    /// against: the slot a websocket notification announces can be a slot
    /// ahead of it, and acting on that refuses the first slot of every
    /// window. While following a task, it is asked only once a notification
    /// says the slot moved.
    pub fn refresh_slot(&mut self) -> Read<u64> {
        self.read_slot(self.send_config.error_limit)
    }

    /// [`RpcChain::refresh_slot`] asking once: for a loop that asks again
    /// anyway, and must say meanwhile that it cannot.
    pub fn refresh_slot_once(&mut self) -> Read<u64> {
        self.read_slot(1)
    }

    fn read_slot(&mut self, attempts: u32) -> Read<u64> {
        if let Some(notified) = self.follower.as_ref().and_then(Follower::slot) {
            // A notified slot below the last one: the websocket reconnected
            // to a chain that is behind, or another one. Ask, and say so.
            self.went_back |= notified < self.notified_slot;
            if notified == self.notified_slot && self.slot > 0 {
                return Ok(self.slot);
            }
            self.notified_slot = notified;
        }
        let processed = CommitmentConfig::processed();
        let slot =
            self.retry_up_to("getSlot", attempts, || self.client.get_slot_with_commitment(processed))?;
        self.went_back |= slot < self.slot;
        self.slot = self.slot.max(slot);
        Ok(self.slot)
    }

    fn read_slot_hashes(&self) -> Read<Option<SlotHashes>> {
        Ok(self.account(&SLOT_HASHES)?.and_then(|account| parse_slot_hashes(&account.data)))
    }

    /// Whether one of `signatures` (all the same transaction) landed, and how.
    fn landed(&mut self, signatures: &[Signature]) -> Result<Option<Result<(), Refused>>, Refused> {
        if signatures.is_empty() {
            return Ok(None);
        }
        let statuses =
            self.retry("getSignatureStatuses", || self.client.get_signature_statuses(signatures))?;
        for (signature, status) in signatures.iter().zip(statuses.value) {
            let Some(status) = status.filter(|status| status.satisfies_commitment(self.commitment)) else {
                continue;
            };
            return Ok(Some(match status.err {
                None => {
                    self.last_signature = Some(*signature);
                    Ok(())
                }
                Some(error) => Err(refused_by(&error, &[])),
            }));
        }
        Ok(None)
    }
}

/// The `SlotHashes` sysvar's entries, (slot, hash), newest first.
type SlotHashes = Vec<(u64, [u8; 32])>;

fn parse_slot_hashes(data: &[u8]) -> Option<SlotHashes> {
    let count = u64::from_le_bytes(data.get(..8)?.try_into().ok()?);
    let mut entries = Vec::new();
    for index in 0..usize::try_from(count).ok()?.min(512) {
        let start = index.checked_mul(40)?.checked_add(8)?;
        let entry = data.get(start..start.checked_add(40)?)?;
        let slot = u64::from_le_bytes(entry[..8].try_into().ok()?);
        let hash: [u8; 32] = entry[8..].try_into().ok()?;
        entries.push((slot, hash));
    }
    Some(entries)
}

impl Chain for RpcChain {
    fn slot(&self) -> u64 {
        self.slot
    }

    // getMultipleAccounts, because the client folds getAccountInfo's
    // transport errors into "account not found".
    fn account(&self, address: &Address) -> Read<Option<Account>> {
        Ok(self.accounts(std::slice::from_ref(address))?.pop().flatten())
    }

    fn slot_hash(&self, slot: u64) -> Read<Option<[u8; 32]>> {
        let Some(entries) = self.read_slot_hashes()? else { return Ok(None) };
        // Skipped slots have no entry: the newest slot at or before `slot` counts.
        Ok(entries
            .iter()
            .filter(|(entry, _)| *entry <= slot)
            .max_by_key(|(entry, _)| *entry)
            .map(|(_, hash)| *hash))
    }

    fn genesis_hash(&self) -> Read<[u8; 32]> {
        let hash = self.retry("getGenesisHash", || self.client.get_genesis_hash())?;
        Ok(hash.to_bytes())
    }

    fn send(
        &mut self,
        instructions: &[Instruction],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Result<u64, Refused> {
        self.send_batch(&[instructions.to_vec()], payer, signers).pop().unwrap_or_else(|| {
            Err(Refused { message: "not sent".into(), custom_code: None, unfunded: false })
        })
    }

    fn send_all(
        &mut self,
        transactions: &[Vec<Instruction>],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Vec<Result<u64, Refused>> {
        self.send_batch(transactions, payer, signers)
    }

    fn airdrop(&mut self, address: &Address, lamports: u64) -> Result<(), Refused> {
        let signature = self.retry("requestAirdrop", || self.client.request_airdrop(address, lamports))?;
        for _ in 0..60 {
            if let Some(outcome) = self.landed(&[signature])? {
                return outcome;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Err(Refused {
            message: format!("airdrop {signature} did not land"),
            custom_code: None,
            unfunded: false,
        })
    }

    fn program_accounts(&self) -> Read<Vec<(Address, Account)>> {
        self.filtered_accounts(Vec::new())
    }

    fn task_accounts(&self, task: &Address) -> Read<Vec<(Address, Account)>> {
        self.filtered_accounts(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
            TASK_FIELD.start,
            task.to_bytes().to_vec(),
        ))])
    }

    fn take_written(&mut self) -> Option<Vec<(Address, Option<Account>)>> {
        self.follower.as_ref()?.take_written()
    }

    fn accounts(&self, addresses: &[Address]) -> Read<Vec<Option<Account>>> {
        let commitment = self.commitment;
        let mut found = Vec::with_capacity(addresses.len());
        // getMultipleAccounts takes at most 100 addresses.
        for chunk in addresses.chunks(100) {
            let accounts = self.retry("getMultipleAccounts", || {
                self.client.get_multiple_accounts_with_commitment(chunk, commitment)
            })?;
            if accounts.value.len() != chunk.len() {
                return Err(Unreachable(format!(
                    "getMultipleAccounts: {} answers for {} addresses",
                    accounts.value.len(),
                    chunk.len()
                )));
            }
            found.extend(
                accounts.value.into_iter().map(|account| account.filter(|account| account.lamports > 0)),
            );
        }
        Ok(found)
    }

    fn advance_to(&mut self, slot: u64) -> Result<u64, Refused> {
        while self.refresh_slot().map_err(Refused::from)? < slot {
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(self.slot)
    }

    fn rent_exempt_minimum(&self, len: usize) -> Read<u64> {
        self.retry("getMinimumBalanceForRentExemption", || {
            self.client.get_minimum_balance_for_rent_exemption(len)
        })
    }
}

impl RpcChain {
    fn filtered_accounts(&self, filters: Vec<RpcFilterType>) -> Read<Vec<(Address, Account)>> {
        let config = RpcProgramAccountsConfig {
            filters: (!filters.is_empty()).then_some(filters),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                commitment: Some(self.commitment),
                ..RpcAccountInfoConfig::default()
            },
            with_context: None,
            sort_results: None,
        };
        let accounts = self.retry("getProgramAccounts", || {
            self.client.get_program_ui_accounts_with_config(&ID, config.clone())
        })?;
        Ok(accounts
            .into_iter()
            .filter_map(|(address, account)| Some((address, account.to_account()?)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_a_token_program_raised_is_named_as_its_not_as_gradual_s() {
        let token_2022 = gradual_interface::token::TOKEN_2022_PROGRAM_ID;
        let logs = [
            format!("Program {ID} invoke [1]"),
            format!("Program {token_2022} invoke [2]"),
            format!("Program {token_2022} failed: custom program error: 0x23"),
            format!("Program {ID} failed: custom program error: 0x23"),
        ]
        .map(String::from);
        let error = TransactionError::InstructionError(0, InstructionError::Custom(35));
        let refused = refused_by(&error, &logs);
        assert_eq!(refused.custom_code, Some(35));
        assert!(
            refused.message.starts_with("token-2022 error 35: the account holds withheld"),
            "{}",
            refused.message
        );
        // Raised by Gradual itself (or with no logs to tell), it is Gradual's error.
        let own = refused_by(&error, &logs[3..]);
        assert!(own.message.starts_with("OpenAuditsPending (error 35)"), "{}", own.message);
        assert!(refused_by(&error, &[]).message.starts_with("OpenAuditsPending"));
    }
}
