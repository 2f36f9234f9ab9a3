//! Fuzzing instruction data on the real `.so`: every instruction's valid
//! data, mutated (random bodies, truncations, bit flips, trailing junk, other
//! discriminators), with accounts under which the original succeeds. The
//! program must answer each with success or a clean error: never a panic,
//! never an exhausted budget, and every custom code one of `GradualError`'s.
//! Transactions are simulated, so the state stays the one each baseline needs.
//! `PROPTEST_CASES=N` runs longer (docs/testing.md).

use gradual_interface::{
    builders,
    error::GradualError,
    pda::{find_audit_address, find_node_address},
};
use gradual_tests::{fixtures::*, TestContext, SOL};
use proptest::{collection::vec, prelude::*, test_runner::TestRunner};
use solana_instruction::Instruction;
use solana_instruction_error::InstructionError;
use solana_keypair::Keypair;
use solana_signer::Signer;
use solana_transaction_error::TransactionError;

/// How one baseline's data is changed.
#[derive(Clone, Debug)]
enum Mutation {
    /// The same discriminator, then random bytes.
    Body(Vec<u8>),
    /// Cut after `n` bytes (modulo the length).
    Truncate(usize),
    /// XOR bytes at positions (modulo the length).
    Flip(Vec<(usize, u8)>),
    /// Trailing junk.
    Extend(Vec<u8>),
    /// Another discriminator, valid or not, on the same body.
    Retag(u8),
}

impl Mutation {
    fn apply(&self, data: &[u8]) -> Vec<u8> {
        let mut data = data.to_vec();
        match self {
            Mutation::Body(body) => {
                data.truncate(1);
                data.extend_from_slice(body);
            }
            Mutation::Truncate(n) => data.truncate(n % (data.len() + 1)),
            Mutation::Flip(flips) => {
                for (position, mask) in flips {
                    let len = data.len();
                    data[position % len] ^= mask.max(&1);
                }
            }
            Mutation::Extend(junk) => data.extend_from_slice(junk),
            Mutation::Retag(tag) => data[0] = *tag,
        }
        data
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        vec(any::<u8>(), 0..400).prop_map(Mutation::Body),
        any::<usize>().prop_map(Mutation::Truncate),
        vec((any::<usize>(), any::<u8>()), 1..8).prop_map(Mutation::Flip),
        vec(any::<u8>(), 1..64).prop_map(Mutation::Extend),
        any::<u8>().prop_map(Mutation::Retag),
    ]
}

/// A task in round 1's audit window: two proofs of round 0, an open audit, and
/// each instruction's data as a client would build it.
fn world() -> (TestContext, Vec<Keypair>, Vec<(&'static str, Instruction)>) {
    let mut ctx = TestContext::new();
    let TaskFixture { creator, task } = TaskFixture::new(&mut ctx);
    let operators: Vec<Keypair> = (0..3).map(|_| ctx.funded_keypair(100 * SOL)).collect();
    for operator in &operators {
        ctx.stake(operator, &task, 2 * SOL);
    }
    let provers: Vec<&Keypair> = operators[1..].iter().collect();
    prove_round(&mut ctx, &task, &provers, 0, [1; 32]);
    ctx.warp_to_round(&task, 2, SUBMISSION_WINDOW);
    let node = |operator: &Keypair| find_node_address(&task, &operator.pubkey()).0;
    let audit = ctx.raise_audit(&operators[2], &task, &node(&operators[1]), 0);
    assert!(ctx.exists(&find_audit_address(&node(&operators[1]), 0).0));
    // In the audit's vote window: every decoder still runs before any window check.
    ctx.warp_to_votes(&audit);
    let mut next = task_config(ctx.slot() + START_DELAY, &creator.pubkey());
    next.args.task_id = 99;
    let leaves = [(node(&operators[1]).to_bytes(), SOL)];
    let (a, b) = (&operators[0].pubkey(), &operators[1].pubkey());
    let baselines = vec![
        ("CreateTask", builders::create_task(&creator.pubkey(), &next)),
        ("FundTask", builders::fund_task(&creator.pubkey(), &task, SOL)),
        ("UpdateTask", builders::update_task(&creator.pubkey(), &task, &round_params())),
        ("UpdateTaskPackage", builders::update_task_package(&creator.pubkey(), &task, &[7; 32], b"v2")),
        ("SetTaskActive", builders::set_task_active(&creator.pubkey(), &task, false)),
        ("Stake", builders::stake(a, &task, SOL, b"http://127.0.0.1:8900")),
        ("RequestUnstake", builders::request_unstake(a, &task)),
        ("WithdrawStake", builders::withdraw_stake(a, &task, SOL)),
        ("SubmitProof", {
            let reveal = builders::Reveal { digest: [2; 32], locator: b"c".to_vec(), salt: [3; 32] };
            builders::submit_proof(a, &task, 1, Some([2; 32]), Some(&reveal))
        }),
        ("CloseTask", builders::close_task(&creator.pubkey(), &task)),
        ("RaiseAudit", builders::raise_audit(a, &task, &node(&operators[2]), 0)),
        ("VoteAudit", builders::vote_audit(a, &task, &audit, false)),
        (
            "ResolveAudit",
            builders::resolve_audit(&audit, &task, &node(&operators[1]), &operators[2].pubkey(), b),
        ),
        ("ProposeDistribution", builders::propose_distribution(a, &task, &proposal_of(0, &leaves))),
        ("VoteDistribution", builders::vote_distribution(a, &task, 0, true)),
        ("ResolveDistribution", builders::resolve_distribution(&task, 0, a, a)),
        ("ClaimReward", builders::claim_reward(b, &task, 0, SOL, &two_level_proof())),
        ("ExpireDistribution", builders::expire_distribution(&task, 0, a)),
    ];
    let mut signers = operators;
    signers.push(creator);
    (ctx, signers, baselines)
}

#[test]
fn mutated_instruction_data_is_refused_cleanly() {
    let (ctx, keypairs, baselines) = world();
    let signers_of = |instruction: &Instruction| -> Vec<&Keypair> {
        keypairs
            .iter()
            .filter(|keypair| {
                instruction.accounts.iter().any(|meta| meta.is_signer && meta.pubkey == keypair.pubkey())
            })
            .collect()
    };
    let mut runner = TestRunner::new(ProptestConfig::default());
    let strategy = (0..baselines.len(), mutation());
    runner
        .run(&strategy, |(index, mutation)| {
            let (name, baseline) = &baselines[index];
            let mut instruction = baseline.clone();
            instruction.data = mutation.apply(&baseline.data);
            let outcome = ctx.simulate(std::slice::from_ref(&instruction), &signers_of(&instruction));
            if let Err(TransactionError::InstructionError(_, error)) = outcome {
                prop_assert!(
                    !matches!(
                        error,
                        InstructionError::ProgramFailedToComplete
                            | InstructionError::ComputationalBudgetExceeded
                    ),
                    "{name} with {mutation:?}: the program panicked or ran out of compute ({error:?})"
                );
                if let InstructionError::Custom(code) = error {
                    prop_assert!(
                        GradualError::from_code(code).is_some(),
                        "{name}: unknown error code {code}"
                    );
                }
            }
            Ok(())
        })
        .expect("every mutation is refused cleanly or runs");
    // The accounts are right: unmutated, these land, so mutations reach the decoders.
    for (name, baseline) in &baselines {
        if [
            "CreateTask",
            "FundTask",
            "UpdateTask",
            "UpdateTaskPackage",
            "SetTaskActive",
            "Stake",
            "VoteAudit",
        ]
        .contains(name)
        {
            let outcome = ctx.simulate(std::slice::from_ref(baseline), &signers_of(baseline));
            assert_eq!(outcome, Ok(()), "{name} unmutated");
        }
    }
}

fn two_level_proof() -> gradual_interface::merkle::Proof {
    gradual_interface::merkle::Proof {
        bucket_index: 1,
        position: 0,
        bucket: vec![[7; 40], [8; 40]],
        siblings: vec![[5; 32], [6; 32]],
    }
}
