//! What `gradual localnet` keeps of the transactions it ran, to answer
//! `getSignaturesForAddress` and `getTransaction` as a validator with a
//! full ledger does. Everything is kept while the localnet runs.

use std::collections::HashMap;

use base64::{prelude::BASE64_STANDARD, Engine};
use gradual_interface::Address;
use serde_json::{json, Value};
use solana_signature::Signature;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_error::TransactionError;
use solana_transaction_status_client_types::UiTransactionError;

use super::{address_param, invalid_params, param, RpcError};

/// One executed transaction, as `getTransaction` reports it.
pub(super) struct Executed {
    pub slot: u64,
    pub transaction: VersionedTransaction,
    pub err: Option<TransactionError>,
    pub logs: Vec<String>,
    pub units: u64,
    pub fee: u64,
    pub pre_balances: Vec<u64>,
    pub post_balances: Vec<u64>,
}

#[derive(Default)]
pub(super) struct TransactionLog {
    executed: Vec<Executed>,
    by_signature: HashMap<Signature, usize>,
    /// Indices into `executed` of the transactions naming each address, oldest first.
    by_address: HashMap<Address, Vec<usize>>,
}

/// `getSignaturesForAddress` answers at most this many, as a validator does.
const MAX_SIGNATURES: usize = 1_000;

fn signature_of(config: Option<&Value>, key: &str) -> Result<Option<Signature>, RpcError> {
    match config.and_then(|config| config.get(key)).and_then(Value::as_str) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| invalid_params(format!("bad `{key}` signature"))),
    }
}

fn ui_error(err: &Option<TransactionError>) -> Value {
    err.clone().map_or(Value::Null, |err| json!(UiTransactionError::from(err)))
}

/// A transaction in the RPC's `json` encoding (static account keys only:
/// localnet resolves no address lookup tables).
fn as_json(transaction: &VersionedTransaction) -> Value {
    let message = &transaction.message;
    let header = message.header();
    let instructions: Vec<Value> = message
        .instructions()
        .iter()
        .map(|instruction| {
            json!({
                "programIdIndex": instruction.program_id_index,
                "accounts": instruction.accounts,
                "data": bs58::encode(&instruction.data).into_string(),
                "stackHeight": null,
            })
        })
        .collect();
    json!({
        "signatures": transaction.signatures.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "message": {
            "accountKeys": message.static_account_keys().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "header": {
                "numRequiredSignatures": header.num_required_signatures,
                "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
            },
            "recentBlockhash": message.recent_blockhash().to_string(),
            "instructions": instructions,
        },
    })
}

impl TransactionLog {
    pub fn record(&mut self, executed: Executed) {
        let index = self.executed.len();
        if let Some(signature) = executed.transaction.signatures.first() {
            self.by_signature.insert(*signature, index);
        }
        for address in executed.transaction.message.static_account_keys() {
            self.by_address.entry(*address).or_default().push(index);
        }
        self.executed.push(executed);
    }

    /// Newest first; `before` and `until` are exclusive, as on a validator.
    pub fn signatures_for(&self, params: &Value) -> Result<Value, RpcError> {
        let address = address_param(params, 0)?;
        let config = params.get(1);
        let limit = match config.and_then(|config| config.get("limit")).and_then(Value::as_u64) {
            Some(limit) if limit as usize > MAX_SIGNATURES || limit == 0 => {
                return Err(invalid_params(format!("limit must be 1 to {MAX_SIGNATURES}")))
            }
            Some(limit) => limit as usize,
            None => MAX_SIGNATURES,
        };
        let before = signature_of(config, "before")?;
        let until = signature_of(config, "until")?;
        let indices = self.by_address.get(&address).map(Vec::as_slice).unwrap_or_default();
        let newest_first = indices.iter().rev().map(|index| &self.executed[*index]);
        let mut started = before.is_none();
        let mut answer = Vec::new();
        for executed in newest_first {
            let signature = executed.transaction.signatures[0];
            if !started {
                started = Some(signature) == before;
                continue;
            }
            if Some(signature) == until || answer.len() == limit {
                break;
            }
            answer.push(json!({
                "signature": signature.to_string(),
                "slot": executed.slot,
                "err": ui_error(&executed.err),
                "memo": null,
                "blockTime": null,
                "confirmationStatus": "finalized",
            }));
        }
        Ok(Value::Array(answer))
    }

    /// The transaction in base64, or as JSON when asked (`encoding: "json"`,
    /// the default), with its logs and balances.
    pub fn transaction(&self, params: &Value) -> Result<Value, RpcError> {
        let signature: Signature = param(params, 0)?
            .as_str()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| invalid_params("bad signature"))?;
        let Some(executed) = self.by_signature.get(&signature).map(|index| &self.executed[*index]) else {
            return Ok(Value::Null);
        };
        let encoding = params.get(1).and_then(|config| config.get("encoding")).and_then(Value::as_str);
        let transaction = match encoding {
            Some("base64") => {
                let bytes = wincode::serialize(&executed.transaction)
                    .map_err(|error| invalid_params(format!("cannot encode the transaction: {error}")))?;
                json!([BASE64_STANDARD.encode(bytes), "base64"])
            }
            None | Some("json") => as_json(&executed.transaction),
            Some(other) => return Err(invalid_params(format!("encoding {other} is not served here"))),
        };
        let version = match executed.transaction.version() {
            solana_transaction::versioned::TransactionVersion::Legacy(_) => json!("legacy"),
            solana_transaction::versioned::TransactionVersion::Number(number) => json!(number),
        };
        let status = match &executed.err {
            None => json!({ "Ok": null }),
            Some(_) => json!({ "Err": ui_error(&executed.err) }),
        };
        Ok(json!({
            "slot": executed.slot,
            "blockTime": null,
            "version": version,
            "transaction": transaction,
            "meta": {
                "err": ui_error(&executed.err),
                "status": status,
                "fee": executed.fee,
                "preBalances": executed.pre_balances,
                "postBalances": executed.post_balances,
                "innerInstructions": [],
                "logMessages": executed.logs,
                "preTokenBalances": [],
                "postTokenBalances": [],
                "rewards": [],
                "loadedAddresses": { "writable": [], "readonly": [] },
                "computeUnitsConsumed": executed.units,
            },
        }))
    }
}
