//! Security test 11: every instruction at its largest fits one transaction
//! of at most 1,232 bytes with its fee payer and signer, and fits the
//! compute budget (the ceilings are in compute_units.rs).

use gradual_interface::{
    builders,
    merkle::{Proof, BUCKET_LEAVES, LEAF_LEN, MAX_PROOF_DEPTH},
    state::RoundParams,
    Address,
};
use gradual_tests::fixtures::*;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_message::Message;
use solana_signer::Signer;

const PACKET_DATA_SIZE: usize = 1_232;

fn transaction_size(instruction: Instruction, payer: &Address) -> usize {
    let message = Message::new(&[instruction], Some(payer));
    let signatures = usize::from(message.header.num_required_signatures);
    // A compact-u16 signature count (one byte below 128) and the signatures.
    1 + 64 * signatures + message.serialize().len()
}

#[test]
fn every_instruction_at_its_largest_fits_a_packet() {
    let payer = Keypair::new().pubkey();
    let authority = Keypair::new().pubkey();
    let task = Keypair::new().pubkey();
    let mut config = task_config(u64::MAX, &authority);
    config.name = vec![b'n'; 32];
    config.description = vec![b'd'; 192];
    config.executable_locator = vec![b'l'; 128];
    let params = RoundParams { bounty_per_round: u64::MAX, ..round_params() };
    let largest = [
        ("CreateTask", builders::create_task(&authority, &config)),
        ("FundTask", builders::fund_task(&authority, &task, u64::MAX)),
        ("UpdateTask", builders::update_task(&authority, &task, &params)),
        ("UpdateTaskPackage", builders::update_task_package(&authority, &task, &[7; 32], &[b'l'; 128])),
        ("SetTaskActive", builders::set_task_active(&authority, &task, true)),
        ("Stake", builders::stake(&authority, &task, u64::MAX, &[b'u'; 128])),
        ("RequestUnstake", builders::request_unstake(&authority, &task)),
        ("WithdrawStake", builders::withdraw_stake(&authority, &task, u64::MAX)),
        ("SubmitProof", {
            let reveal = builders::Reveal { digest: [0xff; 32], locator: vec![b'c'; 64], salt: [0xff; 32] };
            builders::submit_proof(&authority, &task, u64::MAX, Some([0xff; 32]), Some(&reveal))
        }),
        ("CloseTask", builders::close_task(&authority, &task)),
        ("RaiseAudit", builders::raise_audit(&authority, &task, &Keypair::new().pubkey(), u64::MAX)),
        ("VoteAudit", builders::vote_audit(&authority, &task, &Keypair::new().pubkey(), true)),
        ("ProposeDistribution", {
            let mut proposal = proposal_of(u64::MAX, &[([7; 32], u64::MAX)]);
            proposal.url = vec![b'u'; 128];
            builders::propose_distribution(&authority, &task, &proposal)
        }),
        ("VoteDistribution", builders::vote_distribution(&authority, &task, u64::MAX, true)),
        ("ResolveDistribution", builders::resolve_distribution(&task, u64::MAX, &authority, &authority)),
        (
            "ClaimReward (deepest proof the program accepts)",
            builders::claim_reward(&authority, &task, u64::MAX, u64::MAX, &deepest_proof()),
        ),
        ("ExpireDistribution", builders::expire_distribution(&task, u64::MAX, &authority)),
        ("ResolveAudit", {
            let others: Vec<Address> = (0..4).map(|_| Keypair::new().pubkey()).collect();
            builders::resolve_audit(&others[0], &task, &others[1], &others[2], &others[3])
        }),
    ];
    for (name, instruction) in largest {
        let size = transaction_size(instruction, &payer);
        assert!(size <= PACKET_DATA_SIZE, "{name} needs {size} bytes");
        eprintln!("{name}: {size} bytes");
    }
}

/// A full bucket and the most siblings the program accepts.
fn deepest_proof() -> Proof {
    Proof {
        bucket_index: u32::MAX,
        position: 0,
        bucket: vec![[0xee; LEAF_LEN]; BUCKET_LEAVES],
        siblings: vec![[0xee; 32]; MAX_PROOF_DEPTH],
    }
}
