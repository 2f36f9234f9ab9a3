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
    shared::{accounts, create::create_program_account, events::emit, lamports::pay_in, memory::copy_text},
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

pub fn process(accounts: &[AccountView], data: &[u8]) -> ProgramResult {
    let [operator, task_account, node_account, system_program] = accounts::exact::<4>(accounts)?;
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

    let data = Data::try_from(data)?;
    let slot = accounts::current_slot()?;
    let from_round = task.timeline().next_round_at(slot);
    let min_stake = task.params_for(from_round)?.min_stake;

    let (stake, new_node) = if node_account.owned_by(&ID) {
        top_up(operator, task_account, node_account, &data, (from_round, min_stake))?
    } else {
        create(operator, task_account, node_account, &data, (from_round, min_stake))?
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
    operator: &AccountView,
    task_account: &AccountView,
    node_account: &AccountView,
    data: &Data,
    (from_round, min_stake): (u64, u64),
) -> Result<(u64, bool), ProgramError> {
    {
        let mut node = accounts::node_mut(node_account)?;
        accounts::node_of(&node, task_account, operator)?;
        if node.is_exiting() {
            return fail(GradualError::NodeExiting);
        }
        // Keeps the stake history an open audit will read unchanged until it resolves.
        if node.open_audits != 0 {
            return fail(GradualError::OpenAuditsPending);
        }
        node.add_stake(data.args.amount, from_round)?;
        if node.total_stake() < min_stake {
            return fail(GradualError::StakeBelowMinimum);
        }
        node.service_url = [0; MAX_SERVICE_URL_LEN];
        node.service_url_len =
            copy_text(&mut node.service_url, data.service_url).ok_or(GradualError::InvalidServiceUrl)?;
    }
    pay_in(operator, node_account, data.args.amount)?;
    Ok((data.args.amount, false))
}

fn create(
    operator: &AccountView,
    task_account: &AccountView,
    node_account: &AccountView,
    data: &Data,
    (from_round, min_stake): (u64, u64),
) -> Result<(u64, bool), ProgramError> {
    let bump = [data.args.bump];
    let expected = Address::derive_address(
        &[NODE_SEED, task_account.address().as_ref(), operator.address().as_ref()],
        Some(data.args.bump),
        &ID,
    );
    if *node_account.address() != expected {
        return fail(GradualError::InvalidNodeAddress);
    }
    // Lamports already at the address count as stake, so the minimum is checked
    // on the amount deposited; a shortfall is caught before any transfer.
    if data.args.amount < min_stake && node_account.lamports() == 0 {
        return fail(GradualError::StakeBelowMinimum);
    }

    let seeds = [
        Seed::from(NODE_SEED),
        Seed::from(task_account.address().as_ref()),
        Seed::from(operator.address().as_ref()),
        Seed::from(&bump),
    ];
    let rent =
        create_program_account(operator, node_account, Node::LEN, data.args.amount, Signer::from(&seeds))?;
    let deposited = node_account.lamports().checked_sub(rent).ok_or(GradualError::ArithmeticOverflow)?;
    if deposited < min_stake {
        return fail(GradualError::StakeBelowMinimum);
    }

    // The account is new and zeroed: only non-zero fields are written.
    let mut node = accounts::fresh_mut::<Node>(node_account)?;
    node.discriminator = Node::KIND as u8;
    node.version = ACCOUNT_VERSION;
    node.bump = data.args.bump;
    node.task = *task_account.address().as_array();
    node.operator = *operator.address().as_array();
    node.joined_round = from_round;
    node.exit_round = NOT_EXITING;
    node.add_stake(deposited, from_round)?;
    node.service_url_len =
        copy_text(&mut node.service_url, data.service_url).ok_or(GradualError::InvalidServiceUrl)?;
    Ok((deposited, true))
}
