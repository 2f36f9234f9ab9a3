//! The chain a node talks to. One interface, so the runtime and `simulate`
//! run unchanged on the embedded LiteSVM chain or over RPC (`rpc.rs`).

use std::{collections::BTreeSet, path::Path};

use gradual_interface::{Address, ID};
use litesvm::LiteSVM;
use solana_account::Account;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;

/// A transaction the chain refused, with the program's error if it had one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub message: String,
    pub custom_code: Option<u32>,
    /// The fee payer cannot pay: no account, or too few lamports.
    pub unfunded: bool,
}

/// The chain could not be asked: the RPC node was unreachable, behind or
/// overloaded. It is not an answer, and never means "absent".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreachable(pub String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "cannot reach the chain: {}", self.0)
    }
}

impl From<Unreachable> for Refused {
    fn from(unreachable: Unreachable) -> Self {
        Refused { message: unreachable.to_string(), custom_code: None, unfunded: false }
    }
}

/// What the chain said, as of the slot the read was made at, or that it
/// could not be asked.
pub type Read<T> = Result<T, Unreachable>;

pub trait Chain {
    fn slot(&self) -> u64;
    /// The account at `address`; `Ok(None)` only when the chain says there is none.
    fn account(&self, address: &Address) -> Read<Option<Account>>;
    /// The hash of the newest slot at or before `slot`, if still kept.
    fn slot_hash(&self, slot: u64) -> Read<Option<[u8; 32]>>;
    /// The hash of the chain's genesis block: which chain this is. A chain
    /// reset under a running node (a restarted local validator) has another.
    fn genesis_hash(&self) -> Read<[u8; 32]>;
    /// Sends one transaction, fee paid by `payer`; returns the compute units used.
    fn send(
        &mut self,
        instructions: &[Instruction],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Result<u64, Refused>;
    /// Sends independent transactions, each as [`Chain::send`] would, and
    /// returns their outcomes in order. Over RPC they are in flight together.
    fn send_all(
        &mut self,
        transactions: &[Vec<Instruction>],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Vec<Result<u64, Refused>> {
        transactions.iter().map(|instructions| self.send(instructions, payer, signers)).collect()
    }
    fn airdrop(&mut self, address: &Address, lamports: u64) -> Result<(), Refused>;
    /// Every account the program owns.
    fn program_accounts(&self) -> Read<Vec<(Address, Account)>>;
    /// The program's accounts that belong to `task` (nodes, audits and
    /// distributions all keep their task at byte offset 8).
    fn task_accounts(&self, task: &Address) -> Read<Vec<(Address, Account)>> {
        Ok(self
            .program_accounts()?
            .into_iter()
            .filter(|(_, account)| account.data.get(TASK_FIELD) == Some(task.as_ref()))
            .collect())
    }
    fn rent_exempt_minimum(&self, len: usize) -> Read<u64>;
    /// The task's accounts written since the last call, as they are now
    /// (`None`: closed), when the chain can tell: the embedded chain from
    /// its own transactions, RPC from websocket notifications. `None` when
    /// it cannot (no subscription yet, or one lost): read everything again.
    /// Notifications say nothing of closed accounts: see [`Chain::accounts`].
    fn take_written(&mut self) -> Option<Vec<(Address, Option<Account>)>> {
        None
    }
    /// Several accounts at once (absent or closed: `None`).
    fn accounts(&self, addresses: &[Address]) -> Read<Vec<Option<Account>>> {
        addresses.iter().map(|address| self.account(address)).collect()
    }
    /// Moves on to `slot` (embedded: warps there) or waits until the chain
    /// reaches it (RPC); returns the slot now current.
    fn advance_to(&mut self, slot: u64) -> Result<u64, Refused>;
}

/// The payer, then every other signer once: the order transactions sign in.
pub fn payer_first<'a>(payer: &'a Keypair, signers: &[&'a Keypair]) -> Vec<&'a Keypair> {
    let mut all = vec![payer];
    all.extend(signers.iter().copied().filter(|signer| signer.pubkey() != payer.pubkey()));
    all
}

/// Where node, audit and distribution accounts keep their task's address.
pub const TASK_FIELD: std::ops::Range<usize> = 8..40;

/// LiteSVM running the `.so` built from source, with a slot clock that only
/// moves when told to and a `SlotHashes` sysvar kept in step with it.
pub struct EmbeddedChain {
    svm: LiteSVM,
    /// Writable accounts of the transactions landed since `take_written`.
    written: BTreeSet<Address>,
    /// Drawn at random: a new embedded chain is another chain.
    genesis: [u8; 32],
}

/// The hash the embedded chain gives `slot`.
pub fn embedded_slot_hash(slot: u64) -> [u8; 32] {
    solana_sha256_hasher::hashv(&[b"gradual-embedded-slot", &slot.to_le_bytes()]).to_bytes()
}

impl EmbeddedChain {
    pub fn new(program: &Path, start_slot: u64) -> Result<Self, String> {
        // LiteSVM's faucet holds a million SOL by default: too little for
        // 100,000 simulated operators.
        Self::with_svm(LiteSVM::new().with_lamports(u64::MAX / 4), program, start_slot)
    }

    /// Like [`EmbeddedChain::new`], on an SVM the caller configured.
    pub fn with_svm(mut svm: LiteSVM, program: &Path, start_slot: u64) -> Result<Self, String> {
        svm.add_program_from_file(ID, program)
            .map_err(|error| format!("cannot load {}: {error}; run `make sbf` first", program.display()))?;
        let genesis = Keypair::new().pubkey().to_bytes();
        let mut chain = Self { svm, written: BTreeSet::new(), genesis };
        chain.warp_to(start_slot);
        Ok(chain)
    }

    pub fn svm(&self) -> &LiteSVM {
        &self.svm
    }

    pub fn svm_mut(&mut self) -> &mut LiteSVM {
        &mut self.svm
    }

    pub fn warp_to(&mut self, slot: u64) {
        self.svm.warp_to_slot(slot);
        let entries: Vec<(u64, solana_hash::Hash)> = (1..=512u64)
            .filter_map(|back| slot.checked_sub(back))
            .map(|past| (past, solana_hash::Hash::new_from_array(embedded_slot_hash(past))))
            .collect();
        self.svm.set_sysvar(&solana_slot_hashes::SlotHashes::new(&entries));
        self.svm.expire_blockhash();
    }
}

impl Chain for EmbeddedChain {
    fn slot(&self) -> u64 {
        self.svm.get_sysvar::<solana_clock::Clock>().slot
    }

    fn account(&self, address: &Address) -> Read<Option<Account>> {
        Ok(self.svm.get_account(address).filter(|account| account.lamports > 0))
    }

    fn slot_hash(&self, slot: u64) -> Read<Option<[u8; 32]>> {
        Ok(self
            .slot()
            .checked_sub(slot)
            .filter(|age| (1..=512).contains(age))
            .map(|_| embedded_slot_hash(slot)))
    }

    fn genesis_hash(&self) -> Read<[u8; 32]> {
        Ok(self.genesis)
    }

    fn send(
        &mut self,
        instructions: &[Instruction],
        payer: &Keypair,
        signers: &[&Keypair],
    ) -> Result<u64, Refused> {
        let transaction = Transaction::new_signed_with_payer(
            instructions,
            Some(&payer.pubkey()),
            &payer_first(payer, signers),
            self.svm.latest_blockhash(),
        );
        let message = &transaction.message;
        let writable: Vec<Address> = (0..message.account_keys.len())
            .filter(|index| {
                message.is_maybe_writable_with_reserved_addresses(
                    *index,
                    None::<&std::collections::HashSet<Address>>,
                )
            })
            .map(|index| message.account_keys[index])
            .collect();
        let result = self.svm.send_transaction(transaction);
        // Identical transactions later in the same slot must not be dropped as duplicates.
        self.svm.expire_blockhash();
        match result {
            Ok(meta) => {
                self.written.extend(writable);
                Ok(meta.compute_units_consumed)
            }
            Err(failed) => {
                let custom_code = match &failed.err {
                    solana_transaction::TransactionError::InstructionError(
                        _,
                        solana_instruction::error::InstructionError::Custom(code),
                    ) => Some(*code),
                    _ => None,
                };
                Err(Refused { message: format!("{:?}", failed.err), custom_code, unfunded: false })
            }
        }
    }

    fn airdrop(&mut self, address: &Address, lamports: u64) -> Result<(), Refused> {
        self.svm.airdrop(address, lamports).map(|_| ()).map_err(|failed| Refused {
            message: format!("{:?}", failed.err),
            custom_code: None,
            unfunded: false,
        })
    }

    fn program_accounts(&self) -> Read<Vec<(Address, Account)>> {
        Ok(self.svm.get_program_accounts(&ID))
    }

    fn rent_exempt_minimum(&self, len: usize) -> Read<u64> {
        Ok(self.svm.minimum_balance_for_rent_exemption(len))
    }

    fn take_written(&mut self) -> Option<Vec<(Address, Option<Account>)>> {
        let written = std::mem::take(&mut self.written);
        let svm = &self.svm;
        let now = |address: &Address| svm.get_account(address).filter(|account| account.lamports > 0);
        Some(written.into_iter().map(|address| (address, now(&address))).collect())
    }

    fn advance_to(&mut self, slot: u64) -> Result<u64, Refused> {
        self.warp_to(slot);
        Ok(slot)
    }
}
