use gradual_interface::event::{Event, Staked};
use gradual_interface::{
    error::GradualError,
    instruction::{expect_end, read_fixed, read_text, StakeArgs},
    pda::NODE_SEED,
    state::{Account, Node, ACCOUNT_VERSION, MAX_SERVICE_URL_LEN, NOT_EXITING},
    ID,
};
use pinocchio::{
    cpi::{Seed, Signer},
    error::ProgramError,
    AccountView, Address, ProgramResult,
};

use crate::{
    fail,
    shared::{
        accounts, create::create_program_account, events::emit, lamports::pay_in, memory::copy_text,
        tokens::Escrow,
    },
};

struct Data<'a> {
    args: StakeArgs,
    service_url: &'a [u8],
}

impl<'a> TryFrom<&'a [u8]> for Data<'a> {
    type Error = GradualError;

    fn try_from(data: &'a [u8]) -> Result<Self, GradualError> {
        let (args, rest) = read_fixed::<StakeArgs>(data)?;
        let (service_url, rest) = read_text(rest)?;
        expect_end(rest)?;
        if args._padding != [0; 7] {
            return Err(GradualError::NonZeroPadding);
        }
        if args.amount == 0 {
            return Err(GradualError::ZeroAmount);
        }
        if service_url.is_empty() || service_url.len() > MAX_SERVICE_URL_LEN {
            return Err(GradualError::InvalidServiceUrl);
        }
        Ok(Self { args, service_url })
    }
}

/// Who stakes where, and the task's escrow when the stake is in its mint.
struct Staker<'a> {
    operator: &'a AccountView,
    task_account: &'a AccountView,
    node_account: &'a AccountView,
    escrow: Option<Escrow<'a>>,
}

impl Staker<'_> {
    /// Moves `amount` into the stake; returns what arrived.
    fn deposit(&self, amount: u64) -> Result<u64, ProgramError> {
        match &self.escrow {
            Some(escrow) => escrow.deposit(self.operator, amount),
            None => pay_in(self.operator, self.node_account, amount).map(|()| amount),
        }
    }
}

pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    // Stake in the task's mint adds `[mint, token program, vault, operator's tokens]`.
    let ([operator, task_account, node_account, system_program], tokens) =
        accounts::with_tokens::<4, 4>(accounts)?;
    // 1. signers and writable accounts
    accounts::signer(operator)?;
    accounts::writable(operator)?;
    accounts::writable(node_account)?;
    // 2. program ids
    accounts::system_program(system_program)?;
    // 3. the task
    let mut task = accounts::task_mut(task_account)?;
    if !task.is_active() {
        return fail(GradualError::TaskPaused);
    }
    let escrow = match accounts::tokens_if(task.stakes_in_tokens(), tokens)? {
        Some(tokens) => Some(Escrow::appended(&task, tokens)?),
        None => None,
    };
    let staker = Staker { operator, task_account, node_account, escrow };

    let data = Data::try_from(data)?;
    let slot = accounts::current_slot()?;
    let from_round = task.timeline().next_round_at(slot);
    let min_stake = task.params_for(from_round)?.min_stake;

    let (stake, new_node) = if node_account.owned_by(&ID) {
        top_up(&staker, &data, (from_round, min_stake))?
    } else {
        create(&staker, &data, (from_round, min_stake))?
    };
    task.count_stake_added(slot, stake, new_node)?;
    emit(&Staked {
        head: Staked::head_with(u8::from(new_node)),
        task: *task_account.address().as_array(),
        node: *node_account.address().as_array(),
        operator: *operator.address().as_array(),
        amount: stake,
        from_round,
        total_stake: accounts::node(node_account)?.total_stake(),
    });
    Ok(())
}

/// Returns the stake added, and whether a node was created.
fn top_up(
    staker: &Staker,
    data: &Data,
    (from_round, min_stake): (u64, u64),
) -> Result<(u64, bool), ProgramError> {
    {
        let node = accounts::node_mut(staker.node_account)?;
        accounts::node_of(&node, staker.task_account, staker.operator)?;
        if node.is_exiting() {
            return fail(GradualError::NodeExiting);
        }
        // Keeps the stake history an open audit will read unchanged until it resolves.
        if node.open_audits != 0 {
            return fail(GradualError::OpenAuditsPending);
        }
        // What arrives is at most `amount`: overflow is refused before anything moves.
        if node.total_stake().checked_add(data.args.amount).is_none() {
            return fail(GradualError::ArithmeticOverflow);
        }
    }
    let arrived = staker.deposit(data.args.amount)?;
    let mut node = accounts::node_mut(staker.node_account)?;
    node.add_stake(arrived, from_round)?;
    if node.total_stake() < min_stake {
        return fail(GradualError::StakeBelowMinimum);
    }
    node.service_url = [0; MAX_SERVICE_URL_LEN];
    node.service_url_len =
        copy_text(&mut node.service_url, data.service_url).ok_or(GradualError::InvalidServiceUrl)?;
    Ok((arrived, false))
}

fn create(
    staker: &Staker,
    data: &Data,
    (from_round, min_stake): (u64, u64),
) -> Result<(u64, bool), ProgramError> {
    let Staker { operator, task_account, node_account, .. } = *staker;
    let bump = [data.args.bump];
    let expected = Address::derive_address(
        &[NODE_SEED, task_account.address().as_ref(), operator.address().as_ref()],
        Some(data.args.bump),
        &ID,
    );
    if *node_account.address() != expected {
        return fail(GradualError::InvalidNodeAddress);
    }
    // Lamports already at the address count as lamport stake, so the minimum
    // is checked on the amount deposited; a shortfall is caught before any transfer.
    let in_tokens = staker.escrow.is_some();
    if data.args.amount < min_stake && (in_tokens || node_account.lamports() == 0) {
        return fail(GradualError::StakeBelowMinimum);
    }

    let seeds = [
        Seed::from(NODE_SEED),
        Seed::from(task_account.address().as_ref()),
        Seed::from(operator.address().as_ref()),
        Seed::from(&bump),
    ];
    let lamport_stake = if in_tokens { 0 } else { data.args.amount };
    let rent =
        create_program_account(operator, node_account, Node::LEN, lamport_stake, Signer::from(&seeds))?;
    // Lamports above rent at a node staking tokens are not stake: they leave with its rent.
    let deposited = match &staker.escrow {
        Some(escrow) => escrow.deposit(operator, data.args.amount)?,
        None => node_account.lamports().checked_sub(rent).ok_or(GradualError::ArithmeticOverflow)?,
    };
    if deposited < min_stake {
        return fail(GradualError::StakeBelowMinimum);
    }

    // The account is new and zeroed: only non-zero fields are written.
    let mut node = accounts::fresh_mut::<Node>(node_account)?;
    node.discriminator = Node::KIND as u8;
    node.version = ACCOUNT_VERSION;
    node.bump = data.args.bump;
    node.stake_in_tokens = u8::from(in_tokens);
    node.task = *task_account.address().as_array();
    node.operator = *operator.address().as_array();
    node.joined_round = from_round;
    node.exit_round = NOT_EXITING;
    node.add_stake(deposited, from_round)?;
    node.service_url_len =
        copy_text(&mut node.service_url, data.service_url).ok_or(GradualError::InvalidServiceUrl)?;
    Ok((deposited, true))
}
