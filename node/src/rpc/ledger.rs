//! Reading the ledger, not the accounts: the signatures of the transactions
//! that named an address, and those transactions with their logs. History
//! (`gradual history`) is rebuilt from these.

use futures_util::{stream, StreamExt, TryStreamExt};
use gradual_interface::Address;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::GetConfirmedSignaturesForAddress2Config;
use solana_rpc_client_types::config::RpcTransactionConfig;
use solana_signature::Signature;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_status_client_types::{option_serializer::OptionSerializer, UiTransactionEncoding};

use super::RpcChain;
use crate::chain::{Read, Unreachable};

/// A landed transaction: `None` logs when the node kept none.
pub struct LandedTransaction {
    pub signature: Signature,
    pub slot: u64,
    pub transaction: VersionedTransaction,
    pub logs: Option<Vec<String>>,
}

/// `getSignaturesForAddress` answers up to this many a page.
const PAGE: usize = 1_000;
/// Transactions asked for at once.
const IN_FLIGHT: usize = 16;

impl RpcChain {
    /// The signatures of every successful transaction that named `address`,
    /// oldest first, with their slots.
    pub fn signatures_for(&self, address: &Address) -> Read<Vec<(Signature, u64)>> {
        // `getTransaction` answers from `confirmed` at the earliest.
        let commitment = CommitmentConfig::confirmed();
        let mut found = Vec::new();
        let mut before = None;
        loop {
            let config = || GetConfirmedSignaturesForAddress2Config {
                before,
                until: None,
                limit: Some(PAGE),
                commitment: Some(commitment),
            };
            let page = self.retry("getSignaturesForAddress", || {
                self.client.get_signatures_for_address_with_config(address, config())
            })?;
            let full = page.len() == PAGE;
            for status in page {
                let signature: Signature = status.signature.parse().map_err(|_| {
                    Unreachable(format!("the RPC node sent a bad signature {}", status.signature))
                })?;
                before = Some(signature);
                if status.err.is_none() {
                    found.push((signature, status.slot));
                }
            }
            if !full {
                break;
            }
        }
        found.reverse();
        Ok(found)
    }

    /// The transactions with these signatures, in the same order; `read`
    /// hears how many have been read so far, after every few dozen.
    pub fn landed_transactions(
        &self,
        signatures: &[Signature],
        read: &dyn Fn(usize),
    ) -> Read<Vec<LandedTransaction>> {
        let config = RpcTransactionConfig {
            encoding: Some(UiTransactionEncoding::Base64),
            commitment: Some(CommitmentConfig::confirmed()),
            max_supported_transaction_version: Some(0),
        };
        let fetch = |signature: Signature| async move {
            let fetched = self.client.get_transaction_with_config(&signature, config).await?;
            Ok::<_, solana_rpc_client_api::client_error::Error>((signature, fetched))
        };
        let mut landed = Vec::with_capacity(signatures.len());
        for chunk in signatures.chunks(IN_FLIGHT * 4) {
            let fetched = self.retry("getTransaction", || {
                stream::iter(chunk.iter().copied()).map(fetch).buffered(IN_FLIGHT).try_collect::<Vec<_>>()
            })?;
            for (signature, fetched) in fetched {
                let transaction = fetched.transaction.transaction.decode().ok_or_else(|| {
                    Unreachable(format!("the RPC node sent transaction {signature} in a form not understood"))
                })?;
                let logs = match fetched.transaction.meta.map(|meta| meta.log_messages) {
                    Some(OptionSerializer::Some(logs)) => Some(logs),
                    _ => None,
                };
                landed.push(LandedTransaction { signature, slot: fetched.slot, transaction, logs });
            }
            read(landed.len());
        }
        Ok(landed)
    }
}
