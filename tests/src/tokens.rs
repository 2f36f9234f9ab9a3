//! Mints for token-task tests: planted with the layouts Token-2022's own
//! crate writes, then used only through the real token and associated token
//! account programs LiteSVM loads (p-token and Token-2022).

use gradual_interface::{
    builders::{self, CreateTaskConfig, TaskMint},
    merkle::Proof,
    pda::{find_node_address, find_task_address},
    token::{read_token_account, TOKEN_2022_PROGRAM_ID},
    Address,
};
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_program_option::COption;
use solana_program_pack::Pack;
use solana_signer::Signer;
use spl_token_2022_interface::{
    extension::{
        default_account_state::DefaultAccountState, non_transferable::NonTransferable,
        pausable::PausableConfig, permanent_delegate::PermanentDelegate, transfer_fee,
        transfer_hook::TransferHook, BaseStateWithExtensionsMut, ExtensionType, StateWithExtensionsMut,
    },
    instruction as token_instruction,
    state::{AccountState, Mint},
};

use crate::{Flow, TestContext, SOL};

pub const DECIMALS: u8 = 6;

/// Which Token-2022 extensions a planted mint has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extras {
    None,
    /// A transfer fee of `bps`, at most `maximum` per transfer, from epoch 0.
    TransferFee {
        bps: u16,
        maximum: u64,
    },
    Pausable,
    PermanentDelegate,
    TransferHook,
    NonTransferable,
    DefaultFrozen,
}

/// A mint whose mint and freeze authorities the test holds.
pub struct TestMint {
    pub address: Address,
    pub program: Address,
    pub authority: Keypair,
    pub extras: Extras,
}

fn base(authority: &Address) -> Mint {
    Mint {
        mint_authority: COption::Some(*authority),
        supply: 0,
        decimals: DECIMALS,
        is_initialized: true,
        freeze_authority: COption::Some(*authority),
    }
}

fn extended_mint(authority: &Address, extras: Extras) -> Vec<u8> {
    let kinds: &[ExtensionType] = match extras {
        Extras::None => &[],
        Extras::TransferFee { .. } => &[ExtensionType::TransferFeeConfig],
        Extras::Pausable => &[ExtensionType::Pausable],
        Extras::PermanentDelegate => &[ExtensionType::PermanentDelegate],
        Extras::TransferHook => &[ExtensionType::TransferHook],
        Extras::NonTransferable => &[ExtensionType::NonTransferable],
        Extras::DefaultFrozen => &[ExtensionType::DefaultAccountState],
    };
    let mut data = vec![0; ExtensionType::try_calculate_account_len::<Mint>(kinds).expect("length")];
    let mut state = StateWithExtensionsMut::<Mint>::unpack_uninitialized(&mut data).expect("uninitialised");
    let someone = || Some(Address::new_from_array([5; 32])).try_into().expect("key");
    match extras {
        Extras::None => {}
        Extras::TransferFee { bps, maximum } => {
            let fee = state.init_extension::<transfer_fee::TransferFeeConfig>(true).expect("fee");
            let setting = transfer_fee::TransferFee {
                epoch: 0.into(),
                maximum_fee: maximum.into(),
                transfer_fee_basis_points: bps.into(),
            };
            (fee.older_transfer_fee, fee.newer_transfer_fee) = (setting, setting);
            fee.withdraw_withheld_authority = Some(*authority).try_into().expect("key");
        }
        Extras::Pausable => {
            state.init_extension::<PausableConfig>(true).expect("pausable").authority =
                Some(*authority).try_into().expect("key");
        }
        Extras::PermanentDelegate => {
            state.init_extension::<PermanentDelegate>(true).expect("delegate").delegate = someone();
        }
        Extras::TransferHook => {
            state.init_extension::<TransferHook>(true).expect("hook").authority = someone();
        }
        Extras::NonTransferable => {
            state.init_extension::<NonTransferable>(true).expect("non-transferable");
        }
        Extras::DefaultFrozen => {
            state.init_extension::<DefaultAccountState>(true).expect("default state").state =
                AccountState::Frozen as u8;
        }
    }
    state.base = base(authority);
    state.pack_base();
    state.init_account_type().expect("account type");
    data
}

impl TestMint {
    /// Plants a mint of `program` (SPL Token's legacy layout when it has no extras).
    pub fn plant(ctx: &mut TestContext, program: Address, extras: Extras) -> Self {
        let authority = ctx.funded_keypair(10 * SOL);
        let address = Keypair::new().pubkey();
        let data = if program == TOKEN_2022_PROGRAM_ID {
            extended_mint(&authority.pubkey(), extras)
        } else {
            assert_eq!(extras, Extras::None, "SPL Token mints have no extensions");
            let mut data = vec![0; Mint::LEN];
            base(&authority.pubkey()).pack_into_slice(&mut data);
            data
        };
        let lamports = ctx.svm.minimum_balance_for_rent_exemption(data.len());
        let account =
            solana_account::Account { lamports, data, owner: program, executable: false, rent_epoch: 0 };
        ctx.svm.set_account(address, account).expect("plant the mint");
        Self { address, program, authority, extras }
    }

    pub fn task_mint(&self) -> TaskMint {
        TaskMint { mint: self.address, token_program: self.program }
    }

    /// `wallet`'s associated token account, created if missing, with `amount` more minted into it.
    pub fn fund(&self, ctx: &mut TestContext, wallet: &Address, amount: u64) -> Address {
        let account = self.task_mint().account_of(wallet);
        let mint_to = token_instruction::mint_to(
            &self.program,
            &self.address,
            &account,
            &self.authority.pubkey(),
            &[],
            amount,
        )
        .expect("mint_to");
        let create = self.task_mint().create_account_of(&ctx.payer.pubkey(), wallet);
        ctx.send_all(&[create, mint_to], &[&self.authority]).expect("fund a wallet");
        account
    }

    /// Freezes (or thaws) a token account: the mint's freeze authority's power.
    pub fn freeze(&self, ctx: &mut TestContext, account: &Address, frozen: bool) {
        let authority = self.authority.pubkey();
        let instruction = if frozen {
            token_instruction::freeze_account(&self.program, account, &self.address, &authority, &[])
        } else {
            token_instruction::thaw_account(&self.program, account, &self.address, &authority, &[])
        };
        ctx.send(instruction.expect("freeze"), &[&self.authority]).expect("freeze or thaw");
    }

    /// What arrives of a transfer of `amount`: less the fee, computed here
    /// from the formula (ceil(amount * bps / 10 000), at most the maximum).
    pub fn received(&self, amount: u64) -> u64 {
        match self.extras {
            Extras::TransferFee { bps, maximum } => {
                let fee = (u128::from(amount) * u128::from(bps)).div_ceil(10_000);
                amount - u64::try_from(fee).expect("fee").min(maximum)
            }
            _ => amount,
        }
    }

    /// Token-2022's permissionless harvest of withheld fees from `accounts` into the mint.
    pub fn harvest(&self, accounts: &[&Address]) -> Instruction {
        transfer_fee::instruction::harvest_withheld_tokens_to_mint(&self.program, &self.address, accounts)
            .expect("harvest")
    }
}

/// The token balance of `account` (0 when it does not exist).
pub fn token_balance(ctx: &TestContext, account: &Address) -> u64 {
    ctx.svm
        .get_account(account)
        .and_then(|account| read_token_account(&account.owner, &account.data))
        .map_or(0, |account| account.amount)
}

/// Token-task helpers that must land and keep both ledgers.
impl TestContext {
    pub fn create_token_task(
        &mut self,
        creator: &Keypair,
        config: &CreateTaskConfig,
        mint: &TestMint,
    ) -> Address {
        let (task, _) = find_task_address(&creator.pubkey(), config.args.task_id);
        let instruction = builders::create_token_task(&creator.pubkey(), config, &mint.task_mint());
        let arrived = mint.received(config.args.initial_bounty);
        self.send_flow_ok(instruction, &[creator], Flow::tokens_in(&mint.address, arrived));
        task
    }

    pub fn fund_tokens(&mut self, funder: &Keypair, task: &Address, mint: &TestMint, amount: u64) -> u64 {
        let instruction = builders::fund_task_tokens(&funder.pubkey(), task, &mint.task_mint(), amount);
        self.send_flow_ok(instruction, &[funder], Flow::tokens_in(&mint.address, mint.received(amount)))
    }

    pub fn stake_tokens(
        &mut self,
        operator: &Keypair,
        task: &Address,
        mint: &TestMint,
        amount: u64,
    ) -> Address {
        let (node, _) = find_node_address(task, &operator.pubkey());
        let instruction = builders::stake_tokens(
            &operator.pubkey(),
            task,
            &mint.task_mint(),
            amount,
            b"http://127.0.0.1:8900",
        );
        self.send_flow_ok(instruction, &[operator], Flow::tokens_in(&mint.address, mint.received(amount)));
        node
    }

    pub fn withdraw_tokens(
        &mut self,
        operator: &Keypair,
        task: &Address,
        mint: &TestMint,
        amount: u64,
    ) -> u64 {
        let instruction =
            builders::withdraw_stake_tokens(&operator.pubkey(), task, &mint.task_mint(), amount);
        self.send_flow_ok(instruction, &[operator], Flow::tokens_out(&mint.address, amount))
    }

    /// Claims into the operator's associated token account, created in the same transaction.
    pub fn claim_tokens(
        &mut self,
        operator: &Keypair,
        task: &Address,
        (round, amount): (u64, u64),
        proof: &Proof,
        mint: &TestMint,
    ) -> u64 {
        let create = mint.task_mint().create_account_of(&operator.pubkey(), &operator.pubkey());
        let claim = builders::claim_reward_tokens(
            &operator.pubkey(),
            task,
            (round, amount),
            proof,
            &mint.task_mint(),
        );
        match self.send_with_flow(&[create, claim], &[operator], Flow::tokens_out(&mint.address, amount)) {
            Ok(meta) => meta.compute_units_consumed,
            Err(failed) => panic!("claim failed: {:?}\n{}", failed.err, failed.meta.pretty_logs()),
        }
    }

    /// Closes a token task: harvests withheld fees from the vault when the
    /// mint has a transfer fee, then pays the creator the whole vault.
    pub fn close_token_task(&mut self, creator: &Keypair, task: &Address, mint: &TestMint) {
        let vault_balance = token_balance(self, &mint.task_mint().vault(task));
        let forfeited = self.task(task).forfeited_lamports;
        let mut instructions = Vec::new();
        if matches!(mint.extras, Extras::TransferFee { .. }) {
            instructions.push(mint.harvest(&[&mint.task_mint().vault(task)]));
        }
        instructions.push(builders::close_task_tokens(&creator.pubkey(), task, &mint.task_mint()));
        let flow = Flow::tokens_out(&mint.address, vault_balance).with_lamports(0, forfeited);
        if let Err(failed) = self.send_with_flow(&instructions, &[creator], flow) {
            panic!("close failed: {:?}\n{}", failed.err, failed.meta.pretty_logs());
        }
    }
}

impl TestContext {
    /// Resolves `audit` of a task staking in `mint`: `lamports` (the bond)
    /// and `tokens` (the raiser's share of the slash) leave the program. The
    /// raiser's associated token account is created first, the fee payer paying.
    pub fn resolve_audit_tokens(&mut self, audit: &Address, (lamports, tokens): (u64, u64), mint: &TestMint) {
        let record = self.audit(audit);
        let target = Address::new_from_array(record.target);
        let target_operator = Address::new_from_array(self.node(&target).operator);
        let raiser_operator = Address::new_from_array(record.raiser_operator);
        let task = Address::new_from_array(record.task);
        let create = mint.task_mint().create_account_of(&self.payer.pubkey(), &raiser_operator);
        let resolve = builders::resolve_audit_tokens(
            audit,
            &task,
            (&target, &target_operator),
            &raiser_operator,
            &mint.task_mint(),
        );
        let flow = Flow::tokens_out(&mint.address, tokens).with_lamports(0, lamports);
        if let Err(failed) = self.send_with_flow(&[create, resolve], &[], flow) {
            panic!("resolve failed: {:?}\n{}", failed.err, failed.meta.pretty_logs());
        }
    }
}
