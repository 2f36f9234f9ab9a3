use std::path::PathBuf;

use gradual_interface::{
    builders,
    error::GradualError,
    state::{Account, Audit, Distribution, Node, Task},
    Address, ID,
};
use litesvm::{
    types::{FailedTransactionMetadata, TransactionMetadata},
    LiteSVM,
};
use solana_clock::Clock;
use solana_instruction::Instruction;
use solana_instruction_error::InstructionError;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use crate::{
    check_conservation,
    events::{balances_before, check_events},
    Ledger,
};

pub const SOL: u64 = 1_000_000_000;

/// The program built by `make sbf`, or the path in `GRADUAL_SO`.
pub fn program_path() -> PathBuf {
    std::env::var_os("GRADUAL_SO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/deploy/gradual.so"))
}

/// The hash the harness gives `slot` in `SlotHashes`.
pub fn slot_hash(slot: u64) -> [u8; 32] {
    solana_sha256_hasher::hashv(&[b"test-slot", &slot.to_le_bytes()]).to_bytes()
}

/// The error an instruction is expected to fail with.
pub fn custom(error: GradualError) -> InstructionError {
    InstructionError::Custom(error as u32)
}

/// Lamports a transaction moves into (`deposit`) or out of (`payout`) the
/// program's accounts if it lands, as the test expects them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flow {
    pub deposit: u64,
    pub payout: u64,
    /// Base units of a mint moved into or out of the task vaults.
    pub tokens: Option<TokenFlow>,
}

#[derive(Clone, Copy, Debug)]
pub struct TokenFlow {
    pub mint: Address,
    pub deposit: u64,
    pub payout: u64,
}

impl Flow {
    pub fn tokens_in(mint: &Address, amount: u64) -> Self {
        Self { tokens: Some(TokenFlow { mint: *mint, deposit: amount, payout: 0 }), ..Self::default() }
    }

    pub fn tokens_out(mint: &Address, amount: u64) -> Self {
        Self { tokens: Some(TokenFlow { mint: *mint, deposit: 0, payout: amount }), ..Self::default() }
    }

    /// Also moves `lamports` in (a bond) or out.
    pub fn with_lamports(self, deposit: u64, payout: u64) -> Self {
        Self { deposit, payout, ..self }
    }

    pub fn deposit(lamports: u64) -> Self {
        Self { deposit: lamports, ..Self::default() }
    }

    pub fn payout(lamports: u64) -> Self {
        Self { payout: lamports, ..Self::default() }
    }
}

/// A snapshot of one account: what must not change when an instruction fails.
type AccountState = Option<(u64, Vec<u8>, Address)>;

pub struct TestContext {
    pub svm: LiteSVM,
    /// Pays every transaction fee, so signers' balances move only by what the program does.
    pub payer: Keypair,
    pub ledger: Ledger,
    /// Accounts a test planted under the program's ownership to attack it;
    /// the conservation check leaves them out.
    pub forged: Vec<Address>,
}

impl Default for TestContext {
    fn default() -> Self {
        Self::new()
    }
}

impl TestContext {
    pub fn new() -> Self {
        let mut svm = LiteSVM::new();
        let path = program_path();
        svm.add_program_from_file(ID, &path)
            .unwrap_or_else(|error| panic!("cannot load {} ({error}); run `make sbf` first", path.display()));
        let payer = Keypair::new();
        svm.airdrop(&payer.pubkey(), 10_000 * SOL).expect("airdrop to the fee payer");
        let mut ctx = Self { svm, payer, ledger: Ledger::default(), forged: Vec::new() };
        ctx.warp_to_slot(1_000);
        ctx
    }

    pub fn funded_keypair(&mut self, lamports: u64) -> Keypair {
        let keypair = Keypair::new();
        self.airdrop(&keypair.pubkey(), lamports);
        keypair
    }

    pub fn airdrop(&mut self, address: &Address, lamports: u64) {
        self.svm.airdrop(address, lamports).expect("airdrop");
    }

    pub fn slot(&self) -> u64 {
        self.svm.get_sysvar::<Clock>().slot
    }

    /// Moves the clock to `slot` and fills `SlotHashes` with the 512 slots
    /// before it (LiteSVM's `warp_to_slot` alone leaves it untouched).
    pub fn warp_to_slot(&mut self, slot: u64) {
        self.svm.warp_to_slot(slot);
        let entries: Vec<(u64, solana_hash::Hash)> = (1..=512u64)
            .filter_map(|back| slot.checked_sub(back))
            .map(|past| (past, solana_hash::Hash::new_from_array(slot_hash(past))))
            .collect();
        self.svm.set_sysvar(&solana_slot_hashes::SlotHashes::new(&entries));
    }

    /// Moves the clock to `offset` slots into `round` of `task`.
    pub fn warp_to_round(&mut self, task: &Address, round: u64, offset: u64) {
        let task = self.task(task);
        let slot = task.start_slot + round * task.round_length + offset;
        self.warp_to_slot(slot);
    }

    pub fn lamports(&self, address: &Address) -> u64 {
        self.svm.get_account(address).map_or(0, |account| account.lamports)
    }

    pub fn task(&self, address: &Address) -> Task {
        let account = self.svm.get_account(address).expect("task account exists");
        Task::read(&account.data).expect("task account decodes")
    }

    pub fn node(&self, address: &Address) -> Node {
        let account = self.svm.get_account(address).expect("node account exists");
        Node::read(&account.data).expect("node account decodes")
    }

    /// Plants `account` at `address` for an attack test.
    pub fn forge(&mut self, address: Address, account: solana_account::Account) {
        self.svm.set_account(address, account).expect("set forged account");
        self.forged.push(address);
    }

    pub fn audit(&self, address: &Address) -> Audit {
        let account = self.svm.get_account(address).expect("audit account exists");
        Audit::read(&account.data).expect("audit account decodes")
    }

    pub fn distribution(&self, address: &Address) -> Distribution {
        let account = self.svm.get_account(address).expect("distribution account exists");
        Distribution::read(&account.data).expect("distribution account decodes")
    }

    pub fn exists(&self, address: &Address) -> bool {
        self.svm.get_account(address).is_some_and(|account| account.lamports > 0)
    }

    /// Sends one instruction and then checks conservation, whatever the outcome.
    pub fn send(
        &mut self,
        instruction: Instruction,
        signers: &[&Keypair],
    ) -> Result<TransactionMetadata, FailedTransactionMetadata> {
        self.send_all(&[instruction], signers)
    }

    pub fn send_all(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<TransactionMetadata, FailedTransactionMetadata> {
        self.send_with_flow(instructions, signers, Flow::default())
    }

    /// Sends a transaction that, if it lands, moves `flow` into or out of the
    /// program; the ledger records it only then. Conservation is checked after.
    pub fn send_with_flow(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        flow: Flow,
    ) -> Result<TransactionMetadata, FailedTransactionMetadata> {
        let transaction = self.transaction(instructions, signers);
        let before = balances_before(&self.svm, instructions);
        let result = self.svm.send_transaction(transaction);
        // A fresh blockhash lets a test send the same transaction twice.
        self.svm.expire_blockhash();
        match &result {
            Ok(meta) => {
                self.ledger.deposit(flow.deposit);
                self.ledger.pay_out(flow.payout);
                if let Some(tokens) = flow.tokens {
                    self.ledger.deposit_tokens(&tokens.mint, tokens.deposit);
                    self.ledger.pay_out_tokens(&tokens.mint, tokens.payout);
                }
                check_events(&self.svm, instructions, &meta.logs, &before);
            }
            Err(failed) => eprintln!("failed: {:?}\n{}", failed.err, failed.meta.pretty_logs()),
        }
        check_conservation(&self.svm, &self.ledger, &self.forged);
        result
    }

    /// Runs a transaction against the current state without committing it.
    pub fn simulate(
        &self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<(), TransactionError> {
        self.svm
            .simulate_transaction(self.transaction(instructions, signers))
            .map(|_| ())
            .map_err(|failed| failed.err)
    }

    /// `instructions` signed by the fee payer and `signers`, on the latest blockhash.
    fn transaction(&self, instructions: &[Instruction], signers: &[&Keypair]) -> Transaction {
        let mut all_signers: Vec<&Keypair> = vec![&self.payer];
        all_signers.extend_from_slice(signers);
        Transaction::new_signed_with_payer(
            instructions,
            Some(&self.payer.pubkey()),
            &all_signers,
            self.svm.latest_blockhash(),
        )
    }

    /// Sends an instruction that must succeed; returns the compute units it used.
    pub fn send_ok(&mut self, instruction: Instruction, signers: &[&Keypair]) -> u64 {
        match self.send(instruction, signers) {
            Ok(meta) => meta.compute_units_consumed,
            Err(failed) => panic!("transaction failed: {:?}\n{}", failed.err, failed.meta.pretty_logs()),
        }
    }

    /// Sends an instruction that must fail with `expected`, and checks that
    /// every account it names, and every program account, is unchanged.
    pub fn expect_error(
        &mut self,
        instruction: Instruction,
        signers: &[&Keypair],
        expected: InstructionError,
    ) {
        self.expect_error_all(&[instruction], signers, 0, expected);
    }

    /// Like [`Self::expect_error`] for a transaction of several instructions,
    /// the one at `index` being the one expected to fail.
    pub fn expect_error_all(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
        index: u8,
        expected: InstructionError,
    ) {
        let (failed_at, error) = self.expect_failure(instructions, signers);
        assert_eq!((failed_at, error), (index, expected));
    }

    /// Sends a transaction that must fail without panicking or exhausting its
    /// budget, checks that nothing it names (and no program account) changed,
    /// and returns which instruction failed and how.
    pub fn expect_failure(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> (u8, InstructionError) {
        let watched = self.watched_accounts(instructions);
        let before = self.snapshot(&watched);
        let result = self.send_all(instructions, signers);
        let (index, error) = match result {
            Ok(meta) => panic!("expected a failure, but it succeeded:\n{}", meta.pretty_logs()),
            Err(failed) => match failed.err {
                TransactionError::InstructionError(index, error) => (index, error),
                other => panic!("expected an instruction error, got {other:?}"),
            },
        };
        assert!(
            !matches!(
                error,
                InstructionError::ProgramFailedToComplete | InstructionError::ComputationalBudgetExceeded
            ),
            "the program panicked or ran out of compute: {error:?}"
        );
        let after = self.snapshot(&watched);
        for ((address, before), after) in watched.iter().zip(before).zip(after) {
            assert_eq!(before, after, "{address} changed although the instruction failed");
        }
        (index, error)
    }

    fn watched_accounts(&self, instructions: &[Instruction]) -> Vec<Address> {
        let mut watched: Vec<Address> =
            self.svm.get_program_accounts(&ID).into_iter().map(|(address, _)| address).collect();
        for instruction in instructions {
            for meta in &instruction.accounts {
                if meta.pubkey != self.payer.pubkey() && !watched.contains(&meta.pubkey) {
                    watched.push(meta.pubkey);
                }
            }
        }
        watched
    }

    fn snapshot(&self, addresses: &[Address]) -> Vec<AccountState> {
        addresses
            .iter()
            .map(|address| {
                self.svm.get_account(address).map(|account| (account.lamports, account.data, account.owner))
            })
            .collect()
    }

    // Instruction helpers that must succeed and keep the ledger.

    /// Sends one instruction that must land, moving `flow`; returns its compute units.
    pub fn send_flow_ok(&mut self, instruction: Instruction, signers: &[&Keypair], flow: Flow) -> u64 {
        match self.send_with_flow(&[instruction], signers, flow) {
            Ok(meta) => {
                if std::env::var("PROBE").is_ok() {
                    eprintln!("{}", meta.pretty_logs());
                }
                meta.compute_units_consumed
            }
            Err(failed) => panic!("transaction failed: {:?}\n{}", failed.err, failed.meta.pretty_logs()),
        }
    }

    pub fn create_task(&mut self, creator: &Keypair, config: &builders::CreateTaskConfig) -> Address {
        let (task, _) = gradual_interface::pda::find_task_address(&creator.pubkey(), config.args.task_id);
        let instruction = builders::create_task(&creator.pubkey(), config);
        self.send_flow_ok(instruction, &[creator], Flow::deposit(config.args.initial_bounty));
        task
    }

    pub fn fund(&mut self, funder: &Keypair, task: &Address, amount: u64) -> u64 {
        let instruction = builders::fund_task(&funder.pubkey(), task, amount);
        self.send_flow_ok(instruction, &[funder], Flow::deposit(amount))
    }

    pub fn stake(&mut self, operator: &Keypair, task: &Address, amount: u64) -> (Address, u64) {
        let (node, _) = gradual_interface::pda::find_node_address(task, &operator.pubkey());
        let instruction = builders::stake(&operator.pubkey(), task, amount, b"http://127.0.0.1:8900");
        (node, self.send_flow_ok(instruction, &[operator], Flow::deposit(amount)))
    }

    pub fn withdraw(&mut self, operator: &Keypair, task: &Address, amount: u64) -> u64 {
        let (node, _) = gradual_interface::pda::find_node_address(task, &operator.pubkey());
        let closes = self.node(&node).total_stake() == amount;
        let instruction = builders::withdraw_stake(&operator.pubkey(), task, amount);
        let cu = self.send_flow_ok(instruction, &[operator], Flow::payout(amount));
        assert_eq!(!self.exists(&node), closes, "the node closes exactly when emptied");
        cu
    }

    /// `raiser` audits `target`'s proof of `round`; returns the audit's address.
    pub fn raise_audit(&mut self, raiser: &Keypair, task: &Address, target: &Address, round: u64) -> Address {
        let bond = self.task(task).params_for(round).expect("params for the round").audit_bond;
        let instruction = builders::raise_audit(&raiser.pubkey(), task, target, round);
        self.send_flow_ok(instruction, &[raiser], Flow::deposit(bond));
        gradual_interface::pda::find_audit_address(target, round).0
    }

    /// Moves to the first slot of `audit`'s vote window (after its raise window).
    pub fn warp_to_votes(&mut self, audit: &Address) {
        let votes_from = self.audit(audit).votes_from;
        self.warp_to_slot(votes_from);
    }

    pub fn vote_audit(&mut self, voter: &Keypair, task: &Address, audit: &Address, valid: bool) -> u64 {
        self.send_ok(builders::vote_audit(&voter.pubkey(), task, audit, valid), &[voter])
    }

    /// Resolves `audit`, with the payout the test expects: the bond, plus the
    /// raiser's share of the slash when upheld.
    pub fn resolve_audit(&mut self, audit: &Address, expected_payout: u64) -> u64 {
        let record = self.audit(audit);
        let target = Address::new_from_array(record.target);
        let target_operator = Address::new_from_array(self.node(&target).operator);
        let instruction = builders::resolve_audit(
            audit,
            &Address::new_from_array(record.task),
            &target,
            &Address::new_from_array(record.raiser_operator),
            &target_operator,
        );
        self.send_flow_ok(instruction, &[], Flow::payout(expected_payout))
    }

    /// Proposes `proposal` for `operator`'s node; the bond comes in, the total
    /// moves from the pool inside the program. Returns the compute units.
    pub fn propose(&mut self, operator: &Keypair, task: &Address, proposal: &builders::Proposal) -> u64 {
        let bond = self.task(task).params_for(proposal.round).expect("params for the round").audit_bond;
        let instruction = builders::propose_distribution(&operator.pubkey(), task, proposal);
        self.send_flow_ok(instruction, &[operator], Flow::deposit(bond))
    }

    /// Votes on round `round`'s list; the first dispute of an attempt posts
    /// a bond as large as the proposer's.
    pub fn vote_distribution(&mut self, operator: &Keypair, task: &Address, round: u64, valid: bool) -> u64 {
        let address = gradual_interface::pda::find_distribution_address(task, round).0;
        let record = self.distribution(&address);
        let bond = if valid || record.dispute_bond != 0 { 0 } else { record.bond };
        let instruction = builders::vote_distribution(&operator.pubkey(), task, round, valid);
        self.send_flow_ok(instruction, &[operator], Flow::deposit(bond))
    }

    /// Resolves round `round`'s list: if it stands, the proposer's bond
    /// leaves and a dispute's goes to the pool; if not, the dispute's bond
    /// leaves and the proposer's goes to the pool.
    pub fn resolve_distribution(&mut self, task: &Address, round: u64) -> u64 {
        let address = gradual_interface::pda::find_distribution_address(task, round).0;
        let record = self.distribution(&address);
        let stands = crate::oracle::list_stands(record.valid_weight, record.invalid_weight);
        let payout = if stands { record.bond } else { record.dispute_bond };
        let instruction = builders::resolve_distribution(
            task,
            round,
            &Address::new_from_array(record.proposer_operator),
            &Address::new_from_array(record.disputer_operator),
        );
        self.send_flow_ok(instruction, &[], Flow::payout(payout))
    }

    pub fn claim(
        &mut self,
        operator: &Keypair,
        task: &Address,
        round: u64,
        amount: u64,
        proof: &gradual_interface::merkle::Proof,
    ) -> u64 {
        let instruction = builders::claim_reward(&operator.pubkey(), task, round, amount, proof);
        self.send_flow_ok(instruction, &[operator], Flow::payout(amount))
    }

    pub fn expire_distribution(&mut self, task: &Address, round: u64) -> u64 {
        let address = gradual_interface::pda::find_distribution_address(task, round).0;
        let payer = Address::new_from_array(self.distribution(&address).payer);
        self.send_ok(builders::expire_distribution(task, round, &payer), &[])
    }

    pub fn close_task(&mut self, creator: &Keypair, task: &Address) -> u64 {
        let pool = self.task(task).bounty_pool;
        let instruction = builders::close_task(&creator.pubkey(), task);
        self.send_flow_ok(instruction, &[creator], Flow::payout(pool))
    }
}
