//! Security tests 1, 2 and 11 for every instruction and every account slot:
//! substituted, duplicated, foreign, forged, missing-signer and extra
//! accounts all fail, panic-free, with every account unchanged.

use gradual_interface::{
    builders,
    pda::find_node_address,
    state::{Account, Node, Task},
    Address, ID, SYSTEM_PROGRAM_ID,
};
use gradual_tests::{fixtures::*, TestContext, SOL};
use solana_account::Account as SolanaAccount;
use solana_instruction::{AccountMeta, Instruction};
use solana_keypair::Keypair;
use solana_signer::Signer;

const CLOCK_SYSVAR: Address = Address::from_str_const("SysvarC1ock11111111111111111111111111111111");

/// A task mid-round-1 with everything each instruction needs to succeed.
struct World {
    ctx: TestContext,
    creator: Keypair,
    task: Address,
    /// Active on `task`, staked before the start.
    operator: Keypair,
    /// Exited before the start, so it may withdraw at once.
    leaver: Keypair,
    /// A paused task with no nodes, ready to close.
    closable: Address,
    /// Another creator's task, where `operator` also has a node.
    other_task: Address,
    newcomer: Keypair,
    /// Funded, signs, and has no business with any of it.
    stranger: Keypair,
}

fn world() -> World {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let operator = ctx.funded_keypair(100 * SOL);
    ctx.stake(&operator, &fixture.task, 2 * SOL);
    let leaver = ctx.funded_keypair(100 * SOL);
    ctx.stake(&leaver, &fixture.task, 2 * SOL);
    ctx.send_ok(builders::request_unstake(&leaver.pubkey(), &fixture.task), &[&leaver]);

    let mut closable_config = task_config(ctx.slot() + START_DELAY, &fixture.creator.pubkey());
    closable_config.args.task_id = 99;
    let closable = ctx.create_task(&fixture.creator, &closable_config);
    ctx.send_ok(builders::set_task_active(&fixture.creator.pubkey(), &closable, false), &[&fixture.creator]);

    let other_creator = ctx.funded_keypair(100 * SOL);
    let other_task =
        ctx.create_task(&other_creator, &task_config(ctx.slot() + START_DELAY, &other_creator.pubkey()));
    ctx.stake(&operator, &other_task, 2 * SOL);

    ctx.warp_to_round(&fixture.task, 1, 1);
    let newcomer = ctx.funded_keypair(100 * SOL);
    let stranger = ctx.funded_keypair(100 * SOL);
    World {
        ctx,
        creator: fixture.creator,
        task: fixture.task,
        operator,
        leaver,
        closable,
        other_task,
        newcomer,
        stranger,
    }
}

/// Every instruction in a form that succeeds in `world()`, with its signer.
fn baselines(w: &World) -> Vec<(&'static str, Instruction)> {
    let mut next_config = task_config(w.ctx.slot() + START_DELAY, &w.creator.pubkey());
    next_config.args.task_id = 1234;
    vec![
        ("CreateTask", builders::create_task(&w.creator.pubkey(), &next_config)),
        ("FundTask", builders::fund_task(&w.creator.pubkey(), &w.task, SOL)),
        ("UpdateTask", builders::update_task(&w.creator.pubkey(), &w.task, &round_params())),
        ("SetTaskActive", builders::set_task_active(&w.creator.pubkey(), &w.task, false)),
        ("Stake (create)", builders::stake(&w.newcomer.pubkey(), &w.task, SOL, b"u")),
        ("Stake (top up)", builders::stake(&w.operator.pubkey(), &w.task, SOL, b"u")),
        ("RequestUnstake", builders::request_unstake(&w.operator.pubkey(), &w.task)),
        ("WithdrawStake", builders::withdraw_stake(&w.leaver.pubkey(), &w.task, SOL)),
        ("SubmitProof", builders::submit_proof(&w.operator.pubkey(), &w.task, 0, [1; 32], b"c")),
        ("CloseTask", builders::close_task(&w.creator.pubkey(), &w.closable)),
    ]
}

/// The keypairs `instruction` needs; a signer slot nobody holds stops signing.
fn signers_for(w: &World, instruction: &mut Instruction) -> Vec<Keypair> {
    let pool = [&w.creator, &w.operator, &w.leaver, &w.newcomer, &w.stranger];
    let mut signers: Vec<Keypair> = Vec::new();
    for meta in &mut instruction.accounts {
        if !meta.is_signer {
            continue;
        }
        match pool.iter().find(|keypair| keypair.pubkey() == meta.pubkey) {
            Some(keypair) if !signers.iter().any(|s| s.pubkey() == meta.pubkey) => {
                signers.push(keypair.insecure_clone())
            }
            Some(_) => {}
            None => meta.is_signer = false,
        }
    }
    signers
}

fn copy_with_owner(w: &mut World, original: &Address, owner: Address) -> Address {
    let mut account = w.ctx.svm.get_account(original).unwrap_or_else(|| SolanaAccount {
        lamports: SOL,
        data: vec![],
        owner,
        executable: false,
        rent_epoch: 0,
    });
    account.owner = owner;
    let address = Keypair::new().pubkey();
    if owner == ID {
        w.ctx.forge(address, account);
    } else {
        w.ctx.svm.set_account(address, account).unwrap();
    }
    address
}

/// A program-owned account of the other type with this slot's length.
fn other_type_same_length(w: &mut World, original: &Address) -> Option<Address> {
    let account = w.ctx.svm.get_account(original)?;
    if account.owner != ID {
        return None;
    }
    let mut data = account.data.clone();
    data[0] = if data.len() == Task::LEN { Node::KIND as u8 } else { Task::KIND as u8 };
    let address = Keypair::new().pubkey();
    w.ctx.forge(address, SolanaAccount { data, ..account });
    Some(address)
}

fn another_tasks_pda(w: &World, original: &Address) -> Option<Address> {
    let account = w.ctx.svm.get_account(original)?;
    if Task::read(&account.data).is_some() {
        Some(w.other_task)
    } else {
        Node::read(&account.data)
            .map(|node| find_node_address(&w.other_task, &Address::new_from_array(node.operator)).0)
    }
}

#[test]
fn every_substitution_in_every_slot_fails_and_changes_nothing() {
    let mut w = world();
    let mut checked = 0;
    for (name, baseline) in baselines(&w) {
        // The baseline itself must succeed, or the sweep would prove nothing.
        let mut probe = baseline.clone();
        let signers = signers_for(&w, &mut probe);
        let transaction = solana_transaction::Transaction::new_signed_with_payer(
            &[probe],
            Some(&w.ctx.payer.pubkey()),
            &[vec![&w.ctx.payer], signers.iter().collect()].concat(),
            w.ctx.svm.latest_blockhash(),
        );
        let simulated = w.ctx.svm.simulate_transaction(transaction);
        assert!(simulated.is_ok(), "{name} baseline fails: {:?}", simulated.err());

        let mut variants: Vec<(String, Instruction)> = Vec::new();
        for slot in 0..baseline.accounts.len() {
            let original = baseline.accounts[slot].pubkey;
            let mut substitutes: Vec<(String, Address)> = Vec::new();
            let mut substitute =
                |label: &str, address: Address| substitutes.push((label.to_string(), address));
            if baseline.accounts[slot].is_signer {
                // Security test 2: the authority present but not signing.
                let mut unsigned = baseline.clone();
                unsigned.accounts[slot].is_signer = false;
                variants.push((format!("{name}: slot {slot} not signing"), unsigned));
                if name != "FundTask" {
                    substitute("another signer", w.stranger.pubkey());
                }
            }
            if original == SYSTEM_PROGRAM_ID {
                substitute("fake system program", ID);
                substitute("forged clock sysvar", CLOCK_SYSVAR);
            } else if !baseline.accounts[slot].is_signer {
                substitute(
                    "owned by another program",
                    copy_with_owner(&mut w, &original, Keypair::new().pubkey()),
                );
                if let Some(forged) = other_type_same_length(&mut w, &original) {
                    substitute("another type of the same length", forged);
                }
                // Funding another task is legitimate: anyone may fund any task.
                if let Some(pda) = another_tasks_pda(&w, &original).filter(|_| name != "FundTask") {
                    substitute("PDA of another task", pda);
                }
            }
            for other in 0..baseline.accounts.len() {
                if other != slot && baseline.accounts[other].pubkey != original {
                    substitute(&format!("duplicate of slot {other}"), baseline.accounts[other].pubkey);
                }
            }
            for (label, address) in substitutes {
                let mut instruction = baseline.clone();
                instruction.accounts[slot].pubkey = address;
                variants.push((format!("{name}: slot {slot} {label}"), instruction));
            }
        }
        let mut extra = baseline.clone();
        extra.accounts.push(AccountMeta::new_readonly(CLOCK_SYSVAR, false));
        variants.push((format!("{name}: extra forged sysvar"), extra));
        let mut trailing = baseline.clone();
        trailing.accounts.push(AccountMeta::new(Keypair::new().pubkey(), false));
        variants.push((format!("{name}: extra trailing account"), trailing));
        let mut missing = baseline.clone();
        missing.accounts.pop();
        variants.push((format!("{name}: last account missing"), missing));

        for (label, mut instruction) in variants {
            let signers = signers_for(&w, &mut instruction);
            eprintln!("{label}");
            let signer_refs: Vec<&Keypair> = signers.iter().collect();
            w.ctx.expect_failure(&[instruction], &signer_refs);
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} substitutions were tried");
}
