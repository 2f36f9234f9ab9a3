//! Security test 3: random sequences of every part-1 instruction over 1 to
//! 64 nodes. The harness checks conservation after every step (each send);
//! at the end everything is withdrawn and closed, and every lamport that
//! went in has come out.

use gradual_interface::{builders, pda::find_node_address};
use gradual_tests::{fixtures::*, Flow, TestContext, SOL};
use proptest::prelude::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

#[derive(Clone, Debug)]
enum Step {
    Fund(u64),
    Stake { node: usize, amount: u64 },
    Submit { node: usize },
    RequestUnstake { node: usize },
    Withdraw { node: usize, all: bool },
    Advance(u64),
    SetActive(bool),
    Update { bounty: u64, min_stake: u64 },
    Close,
}

fn step(nodes: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        (1..5 * SOL).prop_map(Step::Fund),
        (0..nodes, SOL / 2..3 * SOL).prop_map(|(node, amount)| Step::Stake { node, amount }),
        (0..nodes).prop_map(|node| Step::Submit { node }),
        (0..nodes).prop_map(|node| Step::RequestUnstake { node }),
        (0..nodes, any::<bool>()).prop_map(|(node, all)| Step::Withdraw { node, all }),
        (1..150u64).prop_map(Step::Advance),
        any::<bool>().prop_map(Step::SetActive),
        (1..4 * SOL, SOL / 2..2 * SOL).prop_map(|(bounty, min_stake)| Step::Update { bounty, min_stake }),
        Just(Step::Close),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (1usize..=64).prop_flat_map(|nodes| (Just(nodes), prop::collection::vec(step(nodes), 1..80)))
}

fn node_stake(ctx: &TestContext, task: &gradual_interface::Address, operator: &Keypair) -> Option<u64> {
    let (node, _) = find_node_address(task, &operator.pubkey());
    ctx.exists(&node).then(|| ctx.node(&node).total_stake())
}

fn run(nodes: usize, steps: &[Step]) {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let task = fixture.task;
    let creator = &fixture.creator;
    let operators: Vec<Keypair> = (0..nodes).map(|_| ctx.funded_keypair(50 * SOL)).collect();

    for step in steps {
        // Each send checks conservation; outcomes may be success or any clean error.
        let _ = match step {
            Step::Fund(amount) => {
                let instruction = builders::fund_task(&creator.pubkey(), &task, *amount);
                ctx.send_with_flow(&[instruction], &[creator], Flow::deposit(*amount))
            }
            Step::Stake { node, amount } => {
                let operator = &operators[*node];
                let instruction = builders::stake(&operator.pubkey(), &task, *amount, b"http://node");
                ctx.send_with_flow(&[instruction], &[operator], Flow::deposit(*amount))
            }
            Step::Submit { node } => {
                let operator = &operators[*node];
                let round = ctx.task(&task).timeline().round_at(ctx.slot()).unwrap_or(0).saturating_sub(1);
                let instruction = builders::submit_proof(&operator.pubkey(), &task, round, [1; 32], b"cid");
                ctx.send(instruction, &[operator])
            }
            Step::RequestUnstake { node } => {
                let operator = &operators[*node];
                ctx.send(builders::request_unstake(&operator.pubkey(), &task), &[operator])
            }
            Step::Withdraw { node, all } => {
                let operator = &operators[*node];
                let stake = node_stake(&ctx, &task, operator).unwrap_or(SOL);
                let amount = if *all { stake } else { (stake / 2).max(1) };
                let instruction = builders::withdraw_stake(&operator.pubkey(), &task, amount);
                ctx.send_with_flow(&[instruction], &[operator], Flow::payout(amount))
            }
            Step::Advance(slots) => {
                ctx.warp_to_slot(ctx.slot() + slots);
                continue;
            }
            Step::SetActive(active) => {
                ctx.send(builders::set_task_active(&creator.pubkey(), &task, *active), &[creator])
            }
            Step::Update { bounty, min_stake } => {
                let mut params = round_params();
                params.bounty_per_round = *bounty;
                params.min_stake = *min_stake;
                ctx.send(builders::update_task(&creator.pubkey(), &task, &params), &[creator])
            }
            Step::Close => {
                if !ctx.exists(&task) {
                    continue;
                }
                let pool = ctx.task(&task).bounty_pool;
                let instruction = builders::close_task(&creator.pubkey(), &task);
                ctx.send_with_flow(&[instruction], &[creator], Flow::payout(pool))
            }
        };
        if !ctx.exists(&task) {
            break;
        }
    }

    // Wind down: every node leaves, the task closes, nothing stays behind.
    if ctx.exists(&task) {
        for operator in &operators {
            if node_stake(&ctx, &task, operator).is_some() {
                let _ = ctx.send(builders::request_unstake(&operator.pubkey(), &task), &[operator]);
            }
        }
        let current = ctx.task(&task).timeline().round_at(ctx.slot()).unwrap_or(0);
        ctx.warp_to_round(&task, current + 4, 0);
        for operator in &operators {
            if let Some(stake) = node_stake(&ctx, &task, operator) {
                ctx.withdraw(operator, &task, stake);
            }
        }
        if ctx.task(&task).is_active() {
            ctx.send_ok(builders::set_task_active(&creator.pubkey(), &task, false), &[creator]);
        }
        ctx.close_task(creator, &task);
    }
    assert!(ctx.svm.get_program_accounts(&gradual_interface::ID).is_empty());
    assert_eq!(ctx.ledger.deposited, ctx.ledger.paid_out, "every deposited lamport was paid back out");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_conserve_lamports((nodes, steps) in scenario()) {
        run(nodes, &steps);
    }
}
