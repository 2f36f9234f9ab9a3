//! Sending independent transactions together. Each is simulated first (a
//! refusal costs no fee, and the units size its budget), signed and sent;
//! then all those in flight are polled with one `getSignatureStatuses`,
//! resent every `resend_interval`, and re-signed one by one as their
//! blockhashes expire, after checking that no earlier signature landed.
//! At most `max_in_flight` are unconfirmed at a time.

use std::time::Instant;

use futures_util::future::join_all;
use solana_commitment_config::CommitmentConfig;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_hash::Hash;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_rpc_client_api::config::{RpcSendTransactionConfig, RpcSimulateTransactionConfig};
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::Transaction;

use super::{compute_limit, refused_by, RpcChain, UNKNOWN_AFTER};
use crate::chain::{payer_first, Refused};

/// One transaction on its way.
struct InFlight {
    /// Its place in the batch.
    index: usize,
    /// The instructions with their compute budget, to sign again.
    message: Vec<Instruction>,
    units: u64,
    transaction: Transaction,
    /// Every signature it was sent under, oldest first.
    signatures: Vec<Signature>,
    last_valid_height: u64,
    sent_at: Instant,
}

type Outcome = Result<u64, Refused>;

/// getSignatureStatuses takes at most 256 signatures.
const STATUS_CHUNK: usize = 256;

fn unknown(signatures: &[Signature]) -> Refused {
    Refused {
        message: format!(
            "outcome unknown: the RPC node stopped answering; transaction {} may still land, check it before retrying",
            signatures.last().map(ToString::to_string).unwrap_or_default()
        ),
        custom_code: None,
        unfunded: false,
    }
}

fn did_not_land(signatures: &[Signature]) -> Refused {
    Refused {
        message: format!(
            "transaction did not land after {} signings, each until its blockhash expired; last signature {}",
            signatures.len(),
            signatures.last().map(ToString::to_string).unwrap_or_default()
        ),
        custom_code: None,
        unfunded: false,
    }
}

impl RpcChain {
    /// Sends every transaction in `batch`, signed by `payer` and `signers`;
    /// their outcomes, in order. Each lands at most once.
    pub(super) fn send_batch(
        &mut self,
        batch: &[Vec<Instruction>],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Vec<Outcome> {
        let signing = payer_first(payer, signers);
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        let mut flying: Vec<InFlight> = Vec::new();
        let mut next = 0;
        // Once something was sent, RPC errors never end the wait early: it
        // may still land. Only this long without any answer does.
        let mut last_answer = Instant::now();
        while next < batch.len() || !flying.is_empty() {
            let room = self.send_config.max_in_flight.max(1).saturating_sub(flying.len());
            let admitted = next..batch.len().min(next.saturating_add(room));
            next = admitted.end;
            if !admitted.is_empty() {
                let started = self.start(&batch[admitted.clone()], admitted.start, payer, &signing);
                for (index, started) in admitted.zip(started) {
                    match started {
                        Ok(in_flight) => flying.push(in_flight),
                        Err(refused) => outcomes[index] = Some(Err(refused)),
                    }
                }
                last_answer = Instant::now();
            }
            if flying.is_empty() {
                continue;
            }
            std::thread::sleep(self.send_config.poll_interval);
            match self.settle(&mut flying, &mut outcomes) {
                Ok(()) => last_answer = Instant::now(),
                Err(refused) => {
                    tracing::warn!(error = %refused.message, "cannot read statuses; still waiting")
                }
            }
            if flying.iter().any(|in_flight| in_flight.sent_at.elapsed() >= self.send_config.resend_interval)
            {
                match self.resend_due(&mut flying, &mut outcomes, &signing) {
                    Ok(()) => last_answer = Instant::now(),
                    Err(refused) => tracing::warn!(error = %refused.message, "cannot read the block height"),
                }
            }
            if last_answer.elapsed() > UNKNOWN_AFTER {
                for in_flight in flying.drain(..) {
                    outcomes[in_flight.index] = Some(Err(unknown(&in_flight.signatures)));
                }
            }
        }
        outcomes
            .into_iter()
            .map(|outcome| {
                outcome.unwrap_or_else(|| {
                    Err(Refused { message: "not sent".into(), custom_code: None, unfunded: false })
                })
            })
            .collect()
    }

    /// The instructions with a compute budget of `limit` units, and the price if any.
    fn budgeted(&self, instructions: &[Instruction], limit: u32) -> Vec<Instruction> {
        let mut with_budget = vec![ComputeBudgetInstruction::set_compute_unit_limit(limit)];
        if self.send_config.priority_fee > 0 {
            with_budget.push(ComputeBudgetInstruction::set_compute_unit_price(self.send_config.priority_fee));
        }
        with_budget.extend_from_slice(instructions);
        with_budget
    }

    /// Simulates each of `batch` (all at once), then signs and sends those
    /// the chain would take. `first` is the batch's place in the whole.
    fn start(
        &self,
        batch: &[Vec<Instruction>],
        first: usize,
        payer: &Keypair,
        signing: &[&Keypair],
    ) -> Vec<Result<InFlight, Refused>> {
        // Against the newest bank, whose slot the transaction would run in:
        // at `confirmed`, a window's first slots look one or two slots early.
        let config = RpcSimulateTransactionConfig {
            sig_verify: false,
            replace_recent_blockhash: true,
            commitment: Some(CommitmentConfig::processed()),
            ..RpcSimulateTransactionConfig::default()
        };
        let probes: Vec<Transaction> = batch
            .iter()
            .map(|instructions| {
                Transaction::new_with_payer(&self.budgeted(instructions, 1_400_000), Some(&payer.pubkey()))
            })
            .collect();
        let answers = self.block(join_all(
            probes.iter().map(|probe| self.client.simulate_transaction_with_config(probe, config.clone())),
        ));
        let simulated: Vec<Result<u64, Refused>> = probes
            .iter()
            .zip(answers)
            .map(|(probe, answer)| {
                // A failed request is retried alone, with backoff.
                let simulation = match answer {
                    Ok(simulation) => simulation,
                    Err(_) => {
                        self.count_rpc_error();
                        self.retry_sending("simulateTransaction", || {
                            self.client.simulate_transaction_with_config(probe, config.clone())
                        })?
                    }
                };
                if let Some(error) = simulation.value.err {
                    return Err(refused_by(&error.into(), &simulation.value.logs.unwrap_or_default()));
                }
                Ok(simulation.value.units_consumed.unwrap_or(200_000))
            })
            .collect();
        // A blockhash only if something is to be signed with it.
        let latest = simulated.iter().any(Result::is_ok).then(|| self.latest_blockhash());
        let mut started = Vec::with_capacity(batch.len());
        for ((offset, instructions), simulated) in batch.iter().enumerate().zip(simulated) {
            started.push(simulated.and_then(|units| {
                let (blockhash, last_valid_height) = latest.clone().unwrap_or_else(|| {
                    Err(Refused { message: "no blockhash".into(), custom_code: None, unfunded: false })
                })?;
                let message = self.budgeted(instructions, compute_limit(units));
                let transaction =
                    Transaction::new_signed_with_payer(&message, Some(&payer.pubkey()), signing, blockhash);
                let signature = transaction.signatures[0];
                tracing::debug!(%signature, "sending");
                Ok(InFlight {
                    index: first.saturating_add(offset),
                    message,
                    units,
                    transaction,
                    signatures: vec![signature],
                    last_valid_height,
                    sent_at: Instant::now(),
                })
            }));
        }
        let sending: Vec<&Transaction> = started
            .iter()
            .filter_map(|in_flight| in_flight.as_ref().ok())
            .map(|in_flight| &in_flight.transaction)
            .collect();
        self.transmit(&sending);
        started
    }

    fn latest_blockhash(&self) -> Result<(Hash, u64), Refused> {
        let commitment = self.commitment;
        Ok(self.retry_sending("getLatestBlockhash", || {
            self.client.get_latest_blockhash_with_commitment(commitment)
        })?)
    }

    /// Sends each of `transactions` once, all at once; a failed send is
    /// only logged, since the transaction is sent again until it lands.
    fn transmit(&self, transactions: &[&Transaction]) {
        let config = RpcSendTransactionConfig {
            skip_preflight: true,
            max_retries: Some(0),
            ..RpcSendTransactionConfig::default()
        };
        let sends = self.block(join_all(
            transactions
                .iter()
                .map(|transaction| self.client.send_transaction_with_config(*transaction, config)),
        ));
        for (transaction, sent) in transactions.iter().zip(sends) {
            if let Err(error) = sent {
                self.count_rpc_error();
                tracing::warn!(signature = %transaction.signatures[0], %error, "sendTransaction failed; will resend");
            }
        }
    }

    /// Moves each of `flying` that landed, under any of its signatures, to `outcomes`.
    fn settle(
        &mut self,
        flying: &mut Vec<InFlight>,
        outcomes: &mut [Option<Outcome>],
    ) -> Result<(), Refused> {
        let owners: Vec<(usize, Signature)> = flying
            .iter()
            .enumerate()
            .flat_map(|(position, in_flight)| {
                in_flight.signatures.iter().map(move |signature| (position, *signature))
            })
            .collect();
        let mut landed: Vec<Option<Result<(), Refused>>> = vec![None; flying.len()];
        for chunk in owners.chunks(STATUS_CHUNK) {
            let signatures: Vec<Signature> = chunk.iter().map(|(_, signature)| *signature).collect();
            let statuses = self
                .retry_sending("getSignatureStatuses", || self.client.get_signature_statuses(&signatures))?;
            for ((position, signature), status) in chunk.iter().zip(statuses.value) {
                let Some(status) = status.filter(|status| status.satisfies_commitment(self.commitment))
                else {
                    continue;
                };
                landed[*position] = Some(match status.err {
                    None => {
                        self.last_signature = Some(*signature);
                        Ok(())
                    }
                    Some(error) => Err(refused_by(&error, &[])),
                });
            }
        }
        let mut position = 0;
        flying.retain(|in_flight| {
            let outcome = landed[position].take();
            position = position.saturating_add(1);
            match outcome {
                Some(outcome) => {
                    outcomes[in_flight.index] = Some(outcome.map(|()| in_flight.units));
                    false
                }
                None => true,
            }
        });
        Ok(())
    }

    /// Sends again each of `flying` that was last sent a `resend_interval`
    /// ago: as it was while its blockhash lives, else re-signed, up to
    /// `resign_limit` times.
    fn resend_due(
        &mut self,
        flying: &mut Vec<InFlight>,
        outcomes: &mut [Option<Outcome>],
        signing: &[&Keypair],
    ) -> Result<(), Refused> {
        let commitment = self.commitment;
        let height = self
            .retry_sending("getBlockHeight", || self.client.get_block_height_with_commitment(commitment))?;
        let interval = self.send_config.resend_interval;
        let due = |in_flight: &InFlight| in_flight.sent_at.elapsed() >= interval;
        if flying.iter().any(|in_flight| due(in_flight) && height > in_flight.last_valid_height) {
            // Before re-signing, make sure no earlier signature landed: the
            // effect must never happen twice.
            self.settle(flying, outcomes)?;
        }
        let mut expired =
            flying.iter().filter(|in_flight| due(in_flight) && height > in_flight.last_valid_height);
        let latest = match expired.next() {
            Some(_) => Some(self.latest_blockhash()?),
            None => None,
        };
        let mut resending = Vec::new();
        let mut given_up = Vec::new();
        for (position, in_flight) in flying.iter_mut().enumerate() {
            if !due(in_flight) {
                continue;
            }
            if height > in_flight.last_valid_height {
                let Some((blockhash, last_valid_height)) = latest else { continue };
                if in_flight.signatures.len() > self.send_config.resign_limit as usize {
                    given_up.push(position);
                    continue;
                }
                let signature = in_flight.signatures.last().copied().unwrap_or_default();
                tracing::warn!(%signature, "blockhash expired before the transaction landed; re-signing");
                in_flight.transaction = Transaction::new_signed_with_payer(
                    &in_flight.message,
                    signing.first().map(|payer| payer.pubkey()).as_ref(),
                    signing,
                    blockhash,
                );
                in_flight.signatures.push(in_flight.transaction.signatures[0]);
                in_flight.last_valid_height = last_valid_height;
            }
            in_flight.sent_at = Instant::now();
            resending.push(position);
        }
        let transactions: Vec<&Transaction> = resending
            .iter()
            .filter_map(|position| flying.get(*position))
            .map(|in_flight| &in_flight.transaction)
            .collect();
        self.transmit(&transactions);
        for position in given_up.into_iter().rev() {
            let in_flight = flying.remove(position);
            outcomes[in_flight.index] = Some(Err(did_not_land(&in_flight.signatures)));
        }
        Ok(())
    }
}
