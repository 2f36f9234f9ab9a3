//! The event check, run after every transaction that lands: each program
//! instruction but `SubmitProof` logged exactly one event of its own kind,
//! and, for a one-instruction transaction, the lamports every event says it
//! moved are the lamports that moved; for a task paying in a mint, the
//! tokens it says went into or out of the vault are the tokens that did.

use std::collections::HashMap;

use gradual_interface::{
    event::{logged_by, AnyEvent},
    instruction::GradualInstruction,
    pda::{find_audit_address, find_distribution_address},
    state::{Account, Audit, Node, Task},
    token::read_token_account,
    Address, ID,
};
use litesvm::LiteSVM;
use solana_instruction::Instruction;

/// Every account a transaction names, with its lamports before it ran.
pub type Balances = HashMap<Address, u64>;
type Moves = Vec<(Address, i128)>;

/// What the event check needs from before a transaction: the lamports and
/// token balances of every account it names, and the token tasks among them.
pub struct Before {
    lamports: Balances,
    tokens: Balances,
    token_tasks: HashMap<Address, Task>,
}

pub fn balances_before(svm: &LiteSVM, instructions: &[Instruction]) -> Before {
    let mut before = Before { lamports: HashMap::new(), tokens: HashMap::new(), token_tasks: HashMap::new() };
    for instruction in instructions {
        for meta in &instruction.accounts {
            let account = svm.get_account(&meta.pubkey);
            before.lamports.insert(meta.pubkey, account.as_ref().map_or(0, |account| account.lamports));
            if let Some(amount) = token_balance(svm, &meta.pubkey) {
                before.tokens.insert(meta.pubkey, amount);
            }
            if let Some(task) =
                account.and_then(|account| Task::read(&account.data)).filter(Task::pays_in_tokens)
            {
                before.token_tasks.insert(meta.pubkey, task);
            }
        }
    }
    before
}

fn token_balance(svm: &LiteSVM, address: &Address) -> Option<u64> {
    let account = svm.get_account(address)?;
    read_token_account(&account.owner, &account.data).map(|account| account.amount)
}

pub fn check_events(svm: &LiteSVM, instructions: &[Instruction], logs: &[String], before: &Before) {
    let events = logged_by(&ID, logs).expect("the logs are not truncated");
    let expected: Vec<u8> = instructions
        .iter()
        .filter(|instruction| instruction.program_id == ID)
        .map(|instruction| instruction.data[0])
        .filter(|kind| *kind != GradualInstruction::SubmitProof as u8)
        .collect();
    let logged: Vec<u8> = events.iter().map(|event| event.head().kind).collect();
    assert_eq!(logged, expected, "one event per instruction, of its kind:\n{}", logs.join("\n"));
    // One of ours, beside other programs' instructions (an associated token
    // account created, fees harvested) that move no tokens of a vault.
    let ours: Vec<&Instruction> =
        instructions.iter().filter(|instruction| instruction.program_id == ID).collect();
    if let ([instruction], [event]) = (ours.as_slice(), events.as_slice()) {
        let task = instruction.accounts.iter().map(|meta| meta.pubkey).find(|address| {
            svm.get_account(address).is_some_and(|account| Task::read(&account.data).is_some())
        });
        if let Some(task) = task {
            assert_eq!(event.task(), task.as_array(), "{} names another task", event.name());
        }
        let task = Address::new_from_array(*event.task());
        let token_task = svm
            .get_account(&task)
            .and_then(|account| Task::read(&account.data))
            .filter(Task::pays_in_tokens)
            .or_else(|| before.token_tasks.get(&task).copied());
        match token_task {
            Some(task) => {
                check_vault_move(svm, &task, event, before);
                check_wallet_move(svm, instruction, event, before);
            }
            None if instructions.len() == 1 => check_moves(svm, instruction, event, &before.lamports),
            None => {}
        }
    }
}

/// The tokens `event` says arrived in the wallet's token account, the last
/// account of a token task's instruction.
fn stated_received(event: &AnyEvent) -> Option<u64> {
    match event {
        AnyEvent::RewardClaimed(e) => Some(e.received),
        AnyEvent::AuditResolved(e) => Some(e.to_raiser_received),
        AnyEvent::TaskClosed(e) => Some(e.tokens_received),
        AnyEvent::StakeWithdrawn(e) => Some(e.paid),
        _ => None,
    }
}

/// A payout from a token task's vault arrived as the event says.
fn check_wallet_move(svm: &LiteSVM, instruction: &Instruction, event: &AnyEvent, before: &Before) {
    let (Some(received), Some(wallet)) = (stated_received(event), instruction.accounts.last()) else {
        return;
    };
    let Some(now) = token_balance(svm, &wallet.pubkey) else { return };
    let was = before.tokens.get(&wallet.pubkey).copied().unwrap_or(0);
    assert_eq!(
        i128::from(now) - i128::from(was),
        i128::from(received),
        "{}: the recipient's token account moved otherwise than stated",
        event.name()
    );
}

/// The tokens `event` says entered (+) or left (-) a token task's vault.
fn stated_vault_move(task: &Task, event: &AnyEvent) -> i128 {
    let stake_in_vault = task.stakes_in_tokens();
    match event {
        AnyEvent::TaskCreated(e) => i128::from(e.deposited),
        AnyEvent::TaskFunded(e) => i128::from(e.amount),
        AnyEvent::Staked(e) if stake_in_vault => i128::from(e.amount),
        AnyEvent::StakeWithdrawn(e) if stake_in_vault => -i128::from(e.amount),
        AnyEvent::AuditResolved(e) if stake_in_vault => -i128::from(e.to_raiser),
        AnyEvent::RewardClaimed(e) => -i128::from(e.amount),
        _ => 0,
    }
}

/// A token task's vault moved by exactly what the event states (a closed
/// task's vault is gone: `CloseTask` empties and closes it).
fn check_vault_move(svm: &LiteSVM, task: &Task, event: &AnyEvent, before: &Before) {
    let vault = Address::new_from_array(task.vault);
    let stated = stated_vault_move(task, event);
    // An instruction that does not name the vault cannot move it.
    if !before.lamports.contains_key(&vault) {
        assert_eq!(stated, 0, "{} states a vault move without naming the vault", event.name());
        return;
    }
    // A vault the instruction creates held nothing.
    let was = before.tokens.get(&vault).copied().unwrap_or(0);
    if matches!(event, AnyEvent::TaskClosed(_)) {
        assert!(svm.get_account(&vault).is_none_or(|account| account.lamports == 0), "the vault is closed");
        return;
    }
    let now = token_balance(svm, &vault).expect("the vault is a token account");
    let moved = i128::from(now) - i128::from(was);
    assert_eq!(moved, stated, "{}: the vault moved {moved} tokens, the event says {stated}", event.name());
}

fn lamports(svm: &LiteSVM, address: &Address) -> u64 {
    svm.get_account(address).map_or(0, |account| account.lamports)
}

fn rent<T: Account>(svm: &LiteSVM) -> i128 {
    i128::from(svm.minimum_balance_for_rent_exemption(T::LEN))
}

fn operator_of(svm: &LiteSVM, node: &[u8; 32]) -> Address {
    let account = svm.get_account(&Address::new_from_array(*node)).expect("the node exists");
    Address::new_from_array(Node::read(&account.data).expect("a node").operator)
}

/// The change in lamports `event` states for the accounts it names; `None`
/// for an event whose moves depend on what was in an account before it
/// (a list proposed over lamports sent to its address).
fn stated_moves(
    svm: &LiteSVM,
    instruction: &Instruction,
    event: &AnyEvent,
    before: &Balances,
) -> Option<Moves> {
    let at = |bytes: &[u8; 32]| Address::new_from_array(*bytes);
    let signer = instruction.accounts[0].pubkey;
    // A created account ends with what the event states plus its rent; the
    // payer pays what it lacked (lamports may have been sent to the address before).
    let create = |payer: Address, created: Address, holds: i128| {
        let paid = holds - i128::from(before.get(&created).copied().unwrap_or(0));
        vec![(payer, -paid), (created, paid)]
    };
    let moves = match event {
        AnyEvent::TaskCreated(e) => {
            create(at(&e.creator), at(&e.task), i128::from(e.deposited) + rent::<Task>(svm))
        }
        AnyEvent::TaskFunded(e) => {
            vec![(at(&e.funder), -i128::from(e.amount)), (at(&e.task), i128::from(e.amount))]
        }
        AnyEvent::Staked(e) if e.head.flag == 1 => {
            create(at(&e.operator), at(&e.node), i128::from(e.total_stake) + rent::<Node>(svm))
        }
        AnyEvent::Staked(e) => {
            vec![(at(&e.operator), -i128::from(e.amount)), (at(&e.node), i128::from(e.amount))]
        }
        AnyEvent::StakeWithdrawn(e) => {
            vec![(at(&e.operator), i128::from(e.paid)), (at(&e.node), -i128::from(e.paid))]
        }
        AnyEvent::TaskClosed(e) => {
            vec![(at(&e.creator), i128::from(e.refunded)), (at(&e.task), -i128::from(e.refunded))]
        }
        AnyEvent::AuditRaised(e) => {
            let (audit, _) = find_audit_address(&at(&e.target), e.round);
            create(operator_of(svm, &e.raiser), audit, i128::from(e.bond) + rent::<Audit>(svm))
        }
        AnyEvent::AuditResolved(e) => {
            let upheld = e.head.flag == 1;
            let (audit, _) = find_audit_address(&at(&e.target), e.round);
            let bond = i128::from(e.bond);
            vec![
                (
                    at(&e.raiser_operator),
                    i128::from(e.to_raiser) + i128::from(e.rent) + if upheld { bond } else { 0 },
                ),
                (at(&e.target_operator), if upheld { 0 } else { bond }),
                (at(&e.task), i128::from(e.to_pool)),
                (at(&e.target), -i128::from(e.slashed)),
                (audit, -(bond + i128::from(e.rent))),
            ]
        }
        AnyEvent::ListVoted(e) => vec![(signer, -i128::from(e.dispute_bond))],
        AnyEvent::ListResolved(e) => vec![
            (at(&e.proposer_operator), i128::from(e.to_proposer)),
            (at(&e.disputer_operator), i128::from(e.to_disputer)),
            (at(&e.task), i128::from(e.to_pool)),
        ],
        AnyEvent::RewardClaimed(e) => vec![(operator_of(svm, &e.node), i128::from(e.amount))],
        AnyEvent::ListExpired(e) => {
            let (list, _) = find_distribution_address(&at(&e.task), e.round);
            vec![
                (at(&e.task), i128::from(e.returned)),
                (at(&e.payer), i128::from(e.rent)),
                (list, -i128::from(e.returned) - i128::from(e.rent)),
            ]
        }
        AnyEvent::ListProposed(_) => return None,
        AnyEvent::TaskUpdated(_)
        | AnyEvent::PackageUpdated(_)
        | AnyEvent::TaskActiveSet(_)
        | AnyEvent::UnstakeRequested(_)
        | AnyEvent::AuditVoted(_) => vec![],
    };
    Some(moves)
}

/// Each named account moved by what the event states (summed where one
/// account is named twice); for events that move lamports between accounts
/// they all name, every other account of the instruction did not move.
fn check_moves(svm: &LiteSVM, instruction: &Instruction, event: &AnyEvent, before: &Balances) {
    let Some(moves) = stated_moves(svm, instruction, event, before) else { return };
    let mut stated: HashMap<Address, i128> = HashMap::new();
    for (address, change) in moves {
        *stated.entry(address).or_default() += change;
    }
    // Lists move lamports with the distribution account, which not every event names.
    let partial =
        matches!(event, AnyEvent::ListResolved(_) | AnyEvent::RewardClaimed(_) | AnyEvent::ListVoted(_));
    for (address, was) in before {
        let moved = i128::from(lamports(svm, address)) - i128::from(*was);
        match stated.get(address) {
            Some(change) => {
                assert_eq!(
                    moved,
                    *change,
                    "{}: {address} moved {moved}, the event says {change}",
                    event.name()
                )
            }
            None if !partial => {
                assert_eq!(moved, 0, "{}: {address} moved {moved}, the event names no move", event.name())
            }
            None => {}
        }
    }
}
