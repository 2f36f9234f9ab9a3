//! Stake: creating and topping up a node; stake counts from the next round
//! (security test 7).

use gradual_interface::{
    builders,
    error::GradualError,
    pda::find_node_address,
    state::{Account, Node},
};
use gradual_tests::{custom, fixtures::*, Flow, TestContext, SOL};
use solana_instruction_error::InstructionError;
use solana_signer::Signer;

#[test]
fn creating_a_node_records_stake_url_and_rent() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let operator = ctx.funded_keypair(10 * SOL);
    let before = ctx.lamports(&operator.pubkey());
    let (node_address, _) = ctx.stake(&operator, &fixture.task, 2 * SOL);

    let rent = ctx.svm.minimum_balance_for_rent_exemption(Node::LEN);
    assert_eq!(ctx.lamports(&node_address), rent + 2 * SOL);
    assert_eq!(ctx.lamports(&operator.pubkey()), before - rent - 2 * SOL);
    let node = ctx.node(&node_address);
    assert_eq!(node.task, fixture.task.to_bytes());
    assert_eq!(node.operator, operator.pubkey().to_bytes());
    assert_eq!(node.service_url(), b"http://127.0.0.1:8900");
    assert_eq!(node.bump, find_node_address(&fixture.task, &operator.pubkey()).1);
    assert_eq!(ctx.task(&fixture.task).node_count, 1);
}

#[test]
fn stake_added_during_round_r_has_no_weight_in_round_r() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    ctx.warp_to_round(&fixture.task, 2, 10);
    let node = NodeFixture::new(&mut ctx, &fixture.task, SOL);
    let stored = ctx.node(&node.node);
    assert_eq!(stored.joined_round, 3);
    assert_eq!(stored.stake_for_round(2), 0);
    assert_eq!(stored.stake_for_round(3), SOL);

    // Round 2's proof needs stake active in round 2: this node has none.
    ctx.warp_to_round(&fixture.task, 3, 0);
    let submit = |round| commit_proof(&fixture.task, &node.operator.pubkey(), round, ([1; 32], b"c"));
    ctx.expect_error(submit(2), &[&node.operator], custom(GradualError::StakeNotActiveForRound));

    // A top-up in round 3 leaves round 3's weight at what it was.
    let top_up = builders::stake(&node.operator.pubkey(), &fixture.task, 5 * SOL, b"http://new");
    ctx.send_flow_ok(top_up, &[&node.operator], Flow::deposit(5 * SOL));
    let stored = ctx.node(&node.node);
    assert_eq!(stored.stake_for_round(3), SOL);
    assert_eq!(stored.stake_for_round(4), 6 * SOL);
    assert_eq!(stored.total_stake(), 6 * SOL);
    assert_eq!(stored.service_url(), b"http://new");
    assert_eq!(ctx.task(&fixture.task).node_count, 1, "a top-up is not a new node");

    ctx.warp_to_round(&fixture.task, 4, 0);
    ctx.send_ok(submit(3), &[&node.operator]);
}

#[test]
fn the_minimum_stake_and_amount_limits_hold() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let operator = ctx.funded_keypair(10 * SOL);
    let stake = |amount, url: &[u8]| builders::stake(&operator.pubkey(), &fixture.task, amount, url);
    ctx.expect_error(stake(MIN_STAKE - 1, b"u"), &[&operator], custom(GradualError::StakeBelowMinimum));
    ctx.expect_error(stake(1, b"u"), &[&operator], custom(GradualError::StakeBelowMinimum));
    ctx.expect_error(stake(0, b"u"), &[&operator], custom(GradualError::ZeroAmount));
    ctx.expect_error(stake(u64::MAX, b"u"), &[&operator], custom(GradualError::ArithmeticOverflow));
    ctx.expect_error(stake(20 * SOL, b"u"), &[&operator], custom(GradualError::InsufficientFunds));
    ctx.expect_error(stake(MIN_STAKE, b""), &[&operator], custom(GradualError::InvalidServiceUrl));
    ctx.expect_error(stake(MIN_STAKE, &[b'u'; 129]), &[&operator], custom(GradualError::InvalidServiceUrl));
    let mut padded = stake(MIN_STAKE, b"u");
    padded.data[10] = 1;
    ctx.expect_error(padded, &[&operator], custom(GradualError::NonZeroPadding));

    let (node, _) = ctx.stake(&operator, &fixture.task, MIN_STAKE);
    assert_eq!(ctx.node(&node).total_stake(), MIN_STAKE);
    ctx.expect_error(stake(u64::MAX, b"u"), &[&operator], custom(GradualError::ArithmeticOverflow));
    let long_url = builders::stake(&operator.pubkey(), &fixture.task, 1, &[b'u'; 128]);
    ctx.send_flow_ok(long_url, &[&operator], Flow::deposit(1));
}

#[test]
fn a_raised_minimum_binds_top_ups_from_the_round_it_governs() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let node = NodeFixture::new(&mut ctx, &fixture.task, MIN_STAKE);
    ctx.warp_to_round(&fixture.task, 1, 0);
    let mut raised = round_params();
    raised.min_stake = 5 * SOL;
    ctx.send_ok(
        builders::update_task(&fixture.creator.pubkey(), &fixture.task, &raised),
        &[&fixture.creator],
    );
    let small = builders::stake(&node.operator.pubkey(), &fixture.task, SOL, b"u");
    ctx.expect_error(small, &[&node.operator], custom(GradualError::StakeBelowMinimum));
    let enough = builders::stake(&node.operator.pubkey(), &fixture.task, 4 * SOL, b"u");
    ctx.send_flow_ok(enough, &[&node.operator], Flow::deposit(4 * SOL));
}

#[test]
fn the_node_address_must_be_the_operators_pda_for_this_task() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let operator = ctx.funded_keypair(10 * SOL);
    let other = ctx.funded_keypair(SOL);

    let mut wrong_operator = builders::stake(&operator.pubkey(), &fixture.task, SOL, b"u");
    wrong_operator.accounts[2].pubkey = find_node_address(&fixture.task, &other.pubkey()).0;
    ctx.expect_error(wrong_operator, &[&operator], custom(GradualError::InvalidNodeAddress));

    let mut wrong_bump = builders::stake(&operator.pubkey(), &fixture.task, SOL, b"u");
    wrong_bump.data[9] = wrong_bump.data[9].wrapping_sub(1);
    ctx.expect_error(wrong_bump, &[&operator], custom(GradualError::InvalidNodeAddress));

    // Another operator's node cannot be topped up by this operator.
    let others_node = NodeFixture::new(&mut ctx, &fixture.task, SOL);
    let mut hijack = builders::stake(&operator.pubkey(), &fixture.task, SOL, b"u");
    hijack.accounts[2].pubkey = others_node.node;
    ctx.expect_error(hijack, &[&operator], custom(GradualError::OperatorMismatch));
}

#[test]
fn lamports_sent_to_the_node_address_beforehand_join_the_stake() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let operator = ctx.funded_keypair(10 * SOL);
    let (node, _) = find_node_address(&fixture.task, &operator.pubkey());
    let rent = ctx.svm.minimum_balance_for_rent_exemption(Node::LEN);
    let griefer = ctx.funded_keypair(SOL);
    ctx.send_ok(system_transfer(&griefer.pubkey(), &node, rent + 7), &[&griefer]);
    let stake = builders::stake(&operator.pubkey(), &fixture.task, SOL, b"u");
    ctx.send_flow_ok(stake, &[&operator], Flow::deposit(SOL + 7));
    assert_eq!(ctx.node(&node).total_stake(), SOL + 7);
}

#[test]
fn the_operator_must_sign() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let operator = ctx.funded_keypair(10 * SOL);
    let mut unsigned = builders::stake(&operator.pubkey(), &fixture.task, SOL, b"u");
    unsigned.accounts[0].is_signer = false;
    ctx.expect_error(unsigned, &[], InstructionError::MissingRequiredSignature);
}

#[test]
fn pre_funded_lamports_count_toward_the_minimum() {
    let mut ctx = TestContext::new();
    let fixture = TaskFixture::new(&mut ctx);
    let operator = ctx.funded_keypair(10 * SOL);
    let (node, _) = find_node_address(&fixture.task, &operator.pubkey());
    let rent = ctx.svm.minimum_balance_for_rent_exemption(Node::LEN);
    ctx.send_ok(system_transfer(&operator.pubkey(), &node, rent + MIN_STAKE / 2), &[&operator]);
    let too_little = builders::stake(&operator.pubkey(), &fixture.task, MIN_STAKE / 2 - 1, b"u");
    ctx.expect_error(too_little, &[&operator], custom(GradualError::StakeBelowMinimum));
    let enough = builders::stake(&operator.pubkey(), &fixture.task, MIN_STAKE / 2, b"u");
    ctx.send_flow_ok(enough, &[&operator], Flow::deposit(MIN_STAKE));
    assert_eq!(ctx.node(&node).total_stake(), MIN_STAKE);
}
