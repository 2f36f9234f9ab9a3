//! Token tasks on the .so with the real SPL Token (p-token) and Token-2022
//! programs: a whole life in each (create, fund, stake, an upheld audit, a
//! list, claims, withdrawals, expiry, close), SOL stake on a token task,
//! transfer fees, dangerous mints refused, and substitutions of every token
//! account. Conservation per asset runs after every step (`check_conservation`).

// Test code: plain arithmetic on test values.
#![allow(clippy::arithmetic_side_effects)]

use gradual_interface::{
    builders::{self, TaskMint},
    error::GradualError,
    merkle::tree_of,
    pda::{find_audit_address, find_distribution_address, find_node_address},
    round::claims_end,
    token::{TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID},
    Address,
};
use gradual_tests::{
    custom,
    fixtures::*,
    tokens::{token_balance, Extras, TestMint},
    TestContext, SOL,
};
use solana_instruction::{AccountMeta, Instruction};
use solana_instruction_error::InstructionError;
use solana_keypair::Keypair;
use solana_signer::Signer;

const BOND: u64 = SOL / 10;
const NODE_STAKE: u64 = 2 * SOL;

/// A token task with three staked nodes that all proved round 0.
struct TokenWorld {
    ctx: TestContext,
    mint: TestMint,
    creator: Keypair,
    task: Address,
    nodes: Vec<NodeFixture>,
}

impl TokenWorld {
    fn new(program: Address, extras: Extras, stake_in_lamports: bool) -> Self {
        let mut ctx = TestContext::new();
        let mint = TestMint::plant(&mut ctx, program, extras);
        let creator = ctx.funded_keypair(1_000 * SOL);
        mint.fund(&mut ctx, &creator.pubkey(), 100 * SOL);
        let mut config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
        config.args.stake_in_lamports = u8::from(stake_in_lamports);
        let task = ctx.create_token_task(&creator, &config, &mint);
        let nodes = (0..3)
            .map(|_| {
                let operator = ctx.funded_keypair(100 * SOL);
                let node = if stake_in_lamports {
                    ctx.stake(&operator, &task, NODE_STAKE).0
                } else {
                    mint.fund(&mut ctx, &operator.pubkey(), 10 * SOL);
                    ctx.stake_tokens(&operator, &task, &mint, NODE_STAKE)
                };
                NodeFixture { operator, node }
            })
            .collect::<Vec<_>>();
        let operators: Vec<&Keypair> = nodes.iter().map(|node| &node.operator).collect();
        prove_round(&mut ctx, &task, &operators, 0, [3; 32]);
        Self { ctx, mint, creator, task, nodes }
    }

    fn vault(&self) -> Address {
        self.mint.task_mint().vault(&self.task)
    }

    fn tokens_of(&self, wallet: &Address) -> u64 {
        token_balance(&self.ctx, &self.mint.task_mint().account_of(wallet))
    }

    fn addresses(&self) -> Vec<Address> {
        self.nodes.iter().map(|node| node.node).collect()
    }

    /// Moves to the first slot of round 3 at which a node listed in `leaves`
    /// (only those have an unexcluded proof of round 0) may propose; returns its operator.
    fn warp_to_listed_proposer(&mut self, leaves: &[([u8; 32], u64)]) -> Keypair {
        let listed: Vec<Address> = leaves.iter().map(|(node, _)| Address::new_from_array(*node)).collect();
        let (offset, index) = first_entitled(&self.ctx, &self.task, 0, 0, &listed);
        self.ctx.warp_to_round(&self.task, 3, offset);
        let proposer = self.nodes.iter().find(|node| node.node == listed[index]).expect("a node");
        proposer.operator.insecure_clone()
    }
}

/// Node 0 audits node 2's proof of round 0, unopposed: upheld. Returns the
/// slash's (to_raiser, to_pool).
fn uphold_audit_of_node_two(world: &mut TokenWorld, stake_in_lamports: bool) -> (u64, u64) {
    let task = world.task;
    world.ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW);
    let raiser = world.nodes[0].operator.insecure_clone();
    let audit = world.ctx.raise_audit(&raiser, &task, &world.nodes[2].node, 0);
    world.ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW + AUDIT_WINDOW);
    let stake = world.ctx.node(&world.nodes[2].node).total_stake();
    let slashed = stake / 10;
    let (to_raiser, to_pool) = (slashed / 2, slashed - slashed / 2);
    if stake_in_lamports {
        world.ctx.resolve_audit(&audit, BOND + to_raiser);
    } else {
        let before = world.tokens_of(&raiser.pubkey());
        let mint = &world.mint;
        world.ctx.resolve_audit_tokens(&audit, (BOND, to_raiser), mint);
        assert_eq!(world.tokens_of(&raiser.pubkey()), before + world.mint.received(to_raiser));
    }
    assert!(!world.ctx.exists(&audit));
    (to_raiser, to_pool)
}

/// Proposes round 0's default list, lets it stand and claims every leaf.
fn distribute_round_zero(world: &mut TokenWorld) -> Vec<([u8; 32], u64)> {
    let task = world.task;
    let leaves = default_list(&world.ctx, &task, 0, &world.addresses());
    let proposer = world.warp_to_listed_proposer(&leaves);
    let pool_before = world.ctx.task(&task).bounty_pool;
    let vault_before = token_balance(&world.ctx, &world.vault());
    world.ctx.propose(&proposer, &task, &proposal_of(0, &leaves));
    let total: u64 = leaves.iter().map(|(_, amount)| amount).sum();
    assert_eq!(world.ctx.task(&task).bounty_pool, pool_before - total, "the reserve leaves the pool");
    assert_eq!(token_balance(&world.ctx, &world.vault()), vault_before, "but stays in the vault");
    let list = find_distribution_address(&task, 0).0;
    assert_eq!(world.ctx.distribution(&list).reserve_in_tokens, 1);
    world.ctx.warp_to_slot(world.ctx.distribution(&list).vote_end);
    world.ctx.resolve_distribution(&task, 0);

    let tree = tree_of(&leaves);
    for (index, (address, amount)) in leaves.iter().enumerate() {
        let node = world.nodes.iter().find(|node| node.node.to_bytes() == *address).expect("listed");
        let operator = node.operator.insecure_clone();
        let before = world.tokens_of(&operator.pubkey());
        let proof = tree.proof(index).expect("proof");
        world.ctx.claim_tokens(&operator, &task, (0, *amount), &proof, &world.mint);
        assert_eq!(world.tokens_of(&operator.pubkey()), before + world.mint.received(*amount));
    }
    leaves
}

/// Every node unstakes, waits out the cooldown and withdraws everything; the
/// list expires; the task is paused and closed.
fn wind_down(world: &mut TokenWorld, stake_in_lamports: bool) {
    let task = world.task;
    let now = world.ctx.task(&task).timeline().round_at(world.ctx.slot()).expect("started");
    for node in &world.nodes {
        world.ctx.send_ok(builders::request_unstake(&node.operator.pubkey(), &task), &[&node.operator]);
    }
    world.ctx.warp_to_round(&task, now + 5, 0);
    for index in 0..world.nodes.len() {
        let operator = world.nodes[index].operator.insecure_clone();
        let stake = world.ctx.node(&world.nodes[index].node).total_stake();
        if stake_in_lamports {
            world.ctx.withdraw(&operator, &task, stake);
        } else {
            let before = world.tokens_of(&operator.pubkey());
            world.ctx.withdraw_tokens(&operator, &task, &world.mint, stake);
            assert_eq!(world.tokens_of(&operator.pubkey()), before + world.mint.received(stake));
        }
        assert!(!world.ctx.exists(&world.nodes[index].node), "an emptied node closes");
    }
    let allowed = world.ctx.task(&task).allowed_failed_distributions;
    world.ctx.warp_to_round(&task, claims_end(0, allowed).expect("end"), 0);
    world.ctx.expire_distribution(&task, 0);
    world.ctx.send_ok(builders::set_task_active(&world.creator.pubkey(), &task, false), &[&world.creator]);

    let vault = token_balance(&world.ctx, &world.vault());
    let forfeited = world.ctx.task(&task).forfeited_lamports;
    let (tokens_before, lamports_before) =
        (world.tokens_of(&world.creator.pubkey()), world.ctx.lamports(&world.creator.pubkey()));
    let creator = world.creator.insecure_clone();
    let close = builders::close_task_tokens(&creator.pubkey(), &task, &world.mint.task_mint());
    refuse_substitutions(world, &close, &[&creator]);
    world.ctx.close_token_task(&creator, &task, &world.mint);
    assert!(!world.ctx.exists(&task) && !world.ctx.exists(&world.vault()), "the task and its vault close");
    assert_eq!(world.tokens_of(&creator.pubkey()), tokens_before + world.mint.received(vault));
    assert!(world.ctx.lamports(&creator.pubkey()) > lamports_before + forfeited, "forfeits and rents return");
}

fn whole_life(program: Address, extras: Extras) {
    let mut world = TokenWorld::new(program, extras, false);
    let task = world.ctx.task(&world.task);
    assert_eq!((task.mint, task.token_program), (world.mint.address.to_bytes(), program.to_bytes()));
    assert_eq!(task.vault, world.vault().to_bytes());
    assert_eq!(task.bounty_pool, world.mint.received(INITIAL_BOUNTY), "the pool records what arrived");
    assert_eq!(task.total_stake, 3 * world.mint.received(NODE_STAKE));
    assert_eq!(world.ctx.node(&world.nodes[0].node).stake_in_tokens, 1);

    let pool = world.ctx.task(&world.task).bounty_pool;
    let creator = world.creator.insecure_clone();
    world.ctx.fund_tokens(&creator, &world.task, &world.mint, 5 * SOL);
    assert_eq!(world.ctx.task(&world.task).bounty_pool, pool + world.mint.received(5 * SOL));

    let pool = world.ctx.task(&world.task).bounty_pool;
    let (_, to_pool) = uphold_audit_of_node_two(&mut world, false);
    assert_eq!(
        world.ctx.task(&world.task).bounty_pool,
        pool + to_pool,
        "the pool's share stays in the vault"
    );
    assert_eq!(world.ctx.task(&world.task).forfeited_lamports, 0);

    let leaves = distribute_round_zero(&mut world);
    assert_eq!(leaves.len(), 2, "the slashed node is left out");
    wind_down(&mut world, false);
}

#[test]
fn an_spl_token_task_lives_its_whole_life_in_its_mint() {
    whole_life(TOKEN_PROGRAM_ID, Extras::None);
}

#[test]
fn a_token_2022_task_lives_its_whole_life_in_its_mint() {
    whole_life(TOKEN_2022_PROGRAM_ID, Extras::None);
}

#[test]
fn a_transfer_fee_is_taken_from_what_arrives_and_never_from_the_pool() {
    // 1% up to 0.05 SOL-sized units: capped on the large transfers, not on the small ones.
    whole_life(TOKEN_2022_PROGRAM_ID, Extras::TransferFee { bps: 100, maximum: SOL / 20 });
}

#[test]
fn a_pausable_mint_is_allowed_and_its_pause_stops_every_transfer() {
    let mut world = TokenWorld::new(TOKEN_2022_PROGRAM_ID, Extras::Pausable, false);
    let pause = spl_token_2022_interface::extension::pausable::instruction::pause(
        &TOKEN_2022_PROGRAM_ID,
        &world.mint.address,
        &world.mint.authority.pubkey(),
        &[],
    )
    .expect("pause");
    let authority = world.mint.authority.insecure_clone();
    world.ctx.send_ok(pause, &[&authority]);
    let creator = world.creator.insecure_clone();
    let fund = builders::fund_task_tokens(&creator.pubkey(), &world.task, &world.mint.task_mint(), SOL);
    let (index, error) = world.ctx.expect_failure(&[fund], &[&creator]);
    assert_eq!(index, 0);
    assert!(matches!(error, InstructionError::Custom(_)), "the token program refuses: {error:?}");
}

#[test]
fn sol_stake_on_a_token_task_slashes_lamports_into_the_forfeits() {
    let mut world = TokenWorld::new(TOKEN_2022_PROGRAM_ID, Extras::None, true);
    let task = world.ctx.task(&world.task);
    assert_eq!((task.stake_in_lamports, task.total_stake), (1, 3 * NODE_STAKE));
    assert_eq!(world.ctx.node(&world.nodes[0].node).stake_in_tokens, 0);
    let pool = task.bounty_pool;
    let (_, to_pool) = uphold_audit_of_node_two(&mut world, true);
    let task = world.ctx.task(&world.task);
    assert_eq!(
        (task.bounty_pool, task.forfeited_lamports),
        (pool, to_pool),
        "lamports never join a token pool"
    );
    distribute_round_zero(&mut world);
    wind_down(&mut world, true);
}

#[test]
fn a_list_rejected_or_expired_returns_its_reserve_to_the_pool_and_its_bond_to_the_forfeits() {
    let mut world = TokenWorld::new(TOKEN_PROGRAM_ID, Extras::None, false);
    let task = world.task;
    let (offset, cheat) = first_entitled(&world.ctx, &task, 0, 0, &world.addresses());
    world.ctx.warp_to_round(&task, 3, offset);
    let greedy = vec![(world.nodes[cheat].node.to_bytes(), BOUNTY_PER_ROUND)];
    let cheater = world.nodes[cheat].operator.insecure_clone();
    let pool = world.ctx.task(&task).bounty_pool;
    world.ctx.propose(&cheater, &task, &proposal_of(0, &greedy));
    let list = find_distribution_address(&task, 0).0;
    world.ctx.warp_to_slot(world.ctx.distribution(&list).vote_start);
    for index in (0..3).filter(|index| *index != cheat) {
        let operator = world.nodes[index].operator.insecure_clone();
        world.ctx.vote_distribution(&operator, &task, 0, false);
    }
    world.ctx.warp_to_slot(world.ctx.distribution(&list).vote_end);
    world.ctx.resolve_distribution(&task, 0);
    let stored = world.ctx.task(&task);
    assert_eq!((stored.bounty_pool, stored.forfeited_lamports), (pool, BOND));
}

/// `CreateTask` for a mint: the instruction, and the creator that signs it.
fn create_for(ctx: &mut TestContext, mint: &TaskMint) -> (Instruction, Keypair) {
    let creator = ctx.funded_keypair(1_000 * SOL);
    let config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    (builders::create_token_task(&creator.pubkey(), &config, mint), creator)
}

#[test]
fn dangerous_mints_are_refused_at_creation_each_with_its_own_error() {
    let mut ctx = TestContext::new();
    let refused = [
        (Extras::PermanentDelegate, GradualError::MintHasPermanentDelegate),
        (Extras::TransferHook, GradualError::MintHasTransferHook),
        (Extras::NonTransferable, GradualError::MintNonTransferable),
        (Extras::DefaultFrozen, GradualError::MintDefaultFrozen),
    ];
    for (extras, error) in refused {
        let mint = TestMint::plant(&mut ctx, TOKEN_2022_PROGRAM_ID, extras);
        let (create, creator) = create_for(&mut ctx, &mint.task_mint());
        ctx.expect_error(create, &[&creator], custom(error));
    }

    // An extension this program does not know: a mint whose TLV names type 200.
    let mint = TestMint::plant(&mut ctx, TOKEN_2022_PROGRAM_ID, Extras::Pausable);
    let mut account = ctx.svm.get_account(&mint.address).expect("mint");
    account.data[166..168].copy_from_slice(&200u16.to_le_bytes());
    ctx.svm.set_account(mint.address, account).expect("plant");
    let (create, creator) = create_for(&mut ctx, &mint.task_mint());
    ctx.expect_error(create, &[&creator], custom(GradualError::MintUnknownExtension));

    // A token account is not a mint; nor is a mint of another program.
    let good = TestMint::plant(&mut ctx, TOKEN_PROGRAM_ID, Extras::None);
    let holder = ctx.funded_keypair(SOL);
    let token_account = good.fund(&mut ctx, &holder.pubkey(), 1);
    let not_a_mint = TaskMint { mint: token_account, token_program: TOKEN_PROGRAM_ID };
    let (create, creator) = create_for(&mut ctx, &not_a_mint);
    ctx.expect_error(create, &[&creator], custom(GradualError::InvalidMint));
    let wrong_program = TaskMint { mint: good.address, token_program: TOKEN_2022_PROGRAM_ID };
    let (create, creator) = create_for(&mut ctx, &wrong_program);
    ctx.expect_error(create, &[&creator], custom(GradualError::InvalidMint));

    // A fake token program, and a fake associated token account program.
    let fake = TaskMint { mint: good.address, token_program: gradual_interface::ID };
    let (create, creator) = create_for(&mut ctx, &fake);
    ctx.expect_error(create, &[&creator], custom(GradualError::InvalidTokenProgram));
    let (mut create, creator) = create_for(&mut ctx, &good.task_mint());
    create.accounts[7].pubkey = TOKEN_PROGRAM_ID;
    ctx.expect_error(create, &[&creator], custom(GradualError::InvalidAssociatedTokenProgram));

    // A vault that is not the task's associated token account: the ATA program refuses it.
    let (mut create, creator) = create_for(&mut ctx, &good.task_mint());
    create.accounts[5].pubkey = good.task_mint().account_of(&creator.pubkey());
    ctx.expect_failure(&[create], &[&creator]);

    // SOL stake is a token task's choice only; the flag is 0 or 1.
    let creator = ctx.funded_keypair(1_000 * SOL);
    let mut config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    config.args.stake_in_lamports = 1;
    let lamport_task = builders::create_task(&creator.pubkey(), &config);
    ctx.expect_error(lamport_task, &[&creator], custom(GradualError::InvalidStakeAsset));
    good.fund(&mut ctx, &creator.pubkey(), 100 * SOL);
    config.args.stake_in_lamports = 2;
    let token_task = builders::create_token_task(&creator.pubkey(), &config, &good.task_mint());
    ctx.expect_error(token_task, &[&creator], custom(GradualError::InvalidStakeAsset));
}

/// `instruction` with the account `from_end` places before its end replaced by `by`.
fn substituted(instruction: &Instruction, from_end: usize, by: Address) -> Instruction {
    let mut changed = instruction.clone();
    let at = changed.accounts.len() - from_end;
    changed.accounts[at].pubkey = by;
    changed
}

/// Every token instruction, sent with each of its token accounts replaced,
/// fails with the error that names it and changes nothing.
fn refuse_substitutions(world: &mut TokenWorld, instruction: &Instruction, signers: &[&Keypair]) {
    let other_mint = TestMint::plant(&mut world.ctx, world.mint.program, Extras::None);
    let stranger = world.ctx.funded_keypair(SOL);
    let foreign = world.mint.fund(&mut world.ctx, &stranger.pubkey(), 1);
    let other_program =
        if world.mint.program == TOKEN_PROGRAM_ID { TOKEN_2022_PROGRAM_ID } else { TOKEN_PROGRAM_ID };
    let cases = [
        (4, other_mint.address, GradualError::MintMismatch),
        (3, other_program, GradualError::InvalidTokenProgram),
        (3, gradual_interface::SYSTEM_PROGRAM_ID, GradualError::InvalidTokenProgram),
        (2, foreign, GradualError::VaultMismatch),
        (1, foreign, GradualError::InvalidTokenAccount),
        (1, world.vault(), GradualError::InvalidTokenAccount),
        (1, other_mint.task_mint().account_of(&stranger.pubkey()), GradualError::InvalidTokenAccount),
    ];
    for (from_end, by, error) in cases {
        let changed = substituted(instruction, from_end, by);
        world.ctx.expect_error(changed, signers, custom(error));
    }
    // The lamport form of a token instruction lacks accounts.
    let mut lamport_form = instruction.clone();
    lamport_form.accounts.truncate(lamport_form.accounts.len() - 4);
    if lamport_form.accounts.last().map(|meta| meta.pubkey) == Some(world.task) {
        lamport_form.accounts.pop();
    }
    // The runtime's name for `ProgramError::NotEnoughAccountKeys`.
    #[allow(deprecated)]
    let missing = InstructionError::NotEnoughAccountKeys;
    world.ctx.expect_error(lamport_form, signers, missing);
    let mut extra = instruction.clone();
    extra.accounts.push(AccountMeta::new_readonly(stranger.pubkey(), false));
    world.ctx.expect_error(extra, signers, custom(GradualError::TooManyAccounts));
}

#[test]
fn every_token_instruction_refuses_every_substitution() {
    for program in [TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID] {
        let mut world = TokenWorld::new(program, Extras::None, false);
        let task = world.task;
        let mint = world.mint.task_mint();
        let creator = world.creator.insecure_clone();
        let operator = world.nodes[0].operator.insecure_clone();
        let fund = builders::fund_task_tokens(&creator.pubkey(), &task, &mint, SOL);
        refuse_substitutions(&mut world, &fund, &[&creator]);
        let stake = builders::stake_tokens(&operator.pubkey(), &task, &mint, SOL, b"http://x");
        refuse_substitutions(&mut world, &stake, &[&operator]);

        // Resolve an upheld audit with every substitution of the raiser's account.
        world.ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW);
        let audit = world.ctx.raise_audit(&operator, &task, &world.nodes[2].node, 0);
        world.ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW + AUDIT_WINDOW);
        world.mint.fund(&mut world.ctx, &operator.pubkey(), 0);
        let target = (&world.nodes[2].node, &world.nodes[2].operator.pubkey());
        let resolve = builders::resolve_audit_tokens(&audit, &task, target, &operator.pubkey(), &mint);
        refuse_substitutions(&mut world, &resolve, &[]);
        let stake = world.ctx.node(&world.nodes[2].node).total_stake() / 10;
        world.ctx.resolve_audit_tokens(&audit, (BOND, stake / 2), &world.mint);
        assert!(!world.ctx.exists(&find_audit_address(&world.nodes[2].node, 0).0));

        // Claims, then withdrawals and the close.
        let leaves = default_list(&world.ctx, &task, 0, &world.addresses());
        let proposer = world.warp_to_listed_proposer(&leaves);
        world.ctx.propose(&proposer, &task, &proposal_of(0, &leaves));
        let list = find_distribution_address(&task, 0).0;
        world.ctx.warp_to_slot(world.ctx.distribution(&list).vote_end);
        world.ctx.resolve_distribution(&task, 0);
        let at = leaves.iter().position(|(node, _)| *node == world.nodes[0].node.to_bytes()).expect("listed");
        let proof = tree_of(&leaves).proof(at).expect("proof");
        let claim =
            builders::claim_reward_tokens(&operator.pubkey(), &task, (0, leaves[at].1), &proof, &mint);
        refuse_substitutions(&mut world, &claim, &[&operator]);
        let mut wrong_task = claim.clone();
        let task_at = wrong_task.accounts.len() - 5;
        wrong_task.accounts[task_at].pubkey = world.nodes[1].node;
        world.ctx.expect_error(wrong_task, &[&operator], custom(GradualError::InvalidTaskAccount));

        // A frozen account: the freeze authority's power stops the claim, and nothing moves.
        let account = mint.account_of(&operator.pubkey());
        world.mint.freeze(&mut world.ctx, &account, true);
        let (failed_at, error) = world.ctx.expect_failure(std::slice::from_ref(&claim), &[&operator]);
        assert_eq!(failed_at, 0);
        assert!(
            matches!(error, InstructionError::Custom(17)),
            "AccountFrozen from the token program: {error:?}"
        );
        world.mint.freeze(&mut world.ctx, &account, false);
        world.ctx.claim_tokens(&operator, &task, (0, leaves[at].1), &proof, &world.mint);

        world.ctx.send_ok(builders::request_unstake(&operator.pubkey(), &task), &[&operator]);
        let now = world.ctx.task(&task).timeline().round_at(world.ctx.slot()).expect("started");
        world.ctx.warp_to_round(&task, now + 4, 0);
        let withdraw = builders::withdraw_stake_tokens(&operator.pubkey(), &task, &mint, SOL / 2);
        refuse_substitutions(&mut world, &withdraw, &[&operator]);
        world.ctx.withdraw_tokens(&operator, &task, &world.mint, SOL / 2);

        world.ctx.send_ok(builders::set_task_active(&creator.pubkey(), &task, false), &[&creator]);
        let close = builders::close_task_tokens(&creator.pubkey(), &task, &mint);
        world.ctx.expect_error(close.clone(), &[&creator], custom(GradualError::TaskHasStake));
        let (node, _) = find_node_address(&task, &operator.pubkey());
        assert!(world.ctx.exists(&node));
    }
}

#[test]
fn a_lamport_task_refuses_token_accounts_and_a_frozen_vault_stops_deposits() {
    let mut world = TokenWorld::new(TOKEN_PROGRAM_ID, Extras::None, false);
    let creator = world.creator.insecure_clone();
    let fixture = TaskFixture::new(&mut world.ctx);
    let lamport_fund = builders::fund_task(&fixture.creator.pubkey(), &fixture.task, SOL);
    let with_tokens =
        world.mint.task_mint().append_to(lamport_fund, &fixture.task, &fixture.creator.pubkey());
    world.ctx.expect_error(with_tokens, &[&fixture.creator], custom(GradualError::TooManyAccounts));

    let vault = world.vault();
    world.mint.freeze(&mut world.ctx, &vault, true);
    let fund = builders::fund_task_tokens(&creator.pubkey(), &world.task, &world.mint.task_mint(), SOL);
    let (_, error) = world.ctx.expect_failure(&[fund], &[&creator]);
    assert_eq!(error, InstructionError::Custom(17), "AccountFrozen");
}

#[test]
fn a_raiser_whose_account_refuses_payment_forfeits_its_share_to_the_pool_a_round_later() {
    let mut world = TokenWorld::new(TOKEN_2022_PROGRAM_ID, Extras::None, false);
    let task = world.task;
    world.ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW);
    let raiser = world.nodes[0].operator.insecure_clone();
    let target = world.nodes[2].node;
    let audit = world.ctx.raise_audit(&raiser, &task, &target, 0);
    world.ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW + AUDIT_WINDOW);
    // The raiser's own token account refuses payments: frozen here (a
    // memo-required or confidential-only account refuses them the same way).
    let raiser_account = world.mint.fund(&mut world.ctx, &raiser.pubkey(), 0);
    let raiser_tokens = token_balance(&world.ctx, &raiser_account);
    world.mint.freeze(&mut world.ctx, &raiser_account, true);
    let mint = world.mint.task_mint();
    let target_pair = (&target, &world.nodes[2].operator.pubkey());
    let resolve = builders::resolve_audit_tokens(&audit, &task, target_pair, &raiser.pubkey(), &mint);
    let (_, error) = world.ctx.expect_failure(std::slice::from_ref(&resolve), &[]);
    assert_eq!(error, InstructionError::Custom(17), "AccountFrozen");
    let to_vault = substituted(&resolve, 1, world.vault());
    world.ctx.expect_error(to_vault.clone(), &[], custom(GradualError::InvalidTokenAccount));

    // A round after the window, the vault stands in for the raiser's account.
    let window_end = world.ctx.audit(&audit).window_end;
    world.ctx.warp_to_slot(window_end + ROUND_LENGTH - 1);
    world.ctx.expect_error(to_vault.clone(), &[], custom(GradualError::InvalidTokenAccount));
    world.ctx.warp_to_slot(window_end + ROUND_LENGTH);
    let pool = world.ctx.task(&task).bounty_pool;
    let slashed = world.ctx.node(&target).total_stake() / 10;
    let flow = gradual_tests::Flow::default().with_lamports(0, BOND);
    world.ctx.send_flow_ok(to_vault, &[], flow);
    assert_eq!(world.ctx.task(&task).bounty_pool, pool + slashed, "the whole slash joins the pool");
    assert_eq!(world.ctx.node(&target).open_audits, 0, "the target's stake is no longer held");
    assert_eq!(token_balance(&world.ctx, &raiser_account), raiser_tokens, "the raiser got nothing");
}

#[test]
fn a_vault_made_and_fed_before_the_task_is_adopted_and_its_gift_leaves_with_it() {
    // Anyone can create any wallet's associated token account: here, the
    // task's vault before the task, holding 7 tokens nobody tracks.
    let mut ctx = TestContext::new();
    let mint = TestMint::plant(&mut ctx, TOKEN_2022_PROGRAM_ID, Extras::None);
    let creator = ctx.funded_keypair(1_000 * SOL);
    mint.fund(&mut ctx, &creator.pubkey(), 100 * SOL);
    let config = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    let task = gradual_interface::pda::find_task_address(&creator.pubkey(), config.args.task_id).0;
    let vault = mint.fund(&mut ctx, &task, 7);
    assert_eq!(vault, mint.task_mint().vault(&task));
    ctx.ledger.donate_tokens(&mint.address, &vault, 7);

    ctx.create_token_task(&creator, &config, &mint);
    assert_eq!(ctx.task(&task).bounty_pool, INITIAL_BOUNTY, "the pool counts what the creator deposited");
    assert_eq!(token_balance(&ctx, &vault), INITIAL_BOUNTY + 7);
    ctx.send_ok(builders::set_task_active(&creator.pubkey(), &task, false), &[&creator]);
    let before = token_balance(&ctx, &mint.task_mint().account_of(&creator.pubkey()));
    ctx.close_token_task(&creator, &task, &mint);
    let after = token_balance(&ctx, &mint.task_mint().account_of(&creator.pubkey()));
    assert_eq!(after, before + INITIAL_BOUNTY + 7, "the gift leaves with the vault");
}
