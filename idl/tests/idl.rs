//! The committed IDL is what the interface generates, and it agrees with the
//! interface's instruction builders and enums.

use gradual_interface::{
    builders,
    error::GradualError,
    instruction::{CreateTaskArgs, GradualInstruction},
    merkle::Proof,
    state::RoundParams,
    Address,
};
use serde_json::Value;

fn idl() -> Value {
    serde_json::from_str(&gradual_idl::generate_json().expect("the IDL generates")).unwrap()
}

#[test]
fn the_committed_idl_is_what_the_interface_generates() {
    let generated = gradual_idl::generate_json().expect("the IDL generates");
    let path = gradual_idl::workspace_root().join(gradual_idl::IDL_PATH);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale: it differs from what the interface crate generates. Run `make idl` \
         (and commit idl/gradual.json and clients/js/src/generated)",
        gradual_idl::IDL_PATH
    );
}

fn camel(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|first| first.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// One instruction of each kind, from the builders the node and CLI use.
fn built(instruction: GradualInstruction) -> solana_instruction::Instruction {
    let [a, b, c, d] = [1u8, 2, 3, 4].map(|byte| Address::new_from_array([byte; 32]));
    let proof = Proof { bucket_index: 0, position: 0, bucket: vec![[0; 40]], siblings: vec![] };
    use GradualInstruction::*;
    match instruction {
        CreateTask => builders::create_task(
            &a,
            &builders::CreateTaskConfig {
                args: bytemuck::Zeroable::zeroed(),
                name: b"n".to_vec(),
                description: vec![],
                executable_locator: b"l".to_vec(),
            },
        ),
        FundTask => builders::fund_task(&a, &b, 1),
        UpdateTask => builders::update_task(&a, &b, &RoundParams::default()),
        SetTaskActive => builders::set_task_active(&a, &b, true),
        Stake => builders::stake(&a, &b, 1, b"u"),
        RequestUnstake => builders::request_unstake(&a, &b),
        WithdrawStake => builders::withdraw_stake(&a, &b, 1),
        SubmitProof => builders::submit_proof(&a, &b, 1, Some([1; 32]), None),
        CloseTask => builders::close_task(&a, &b),
        RaiseAudit => builders::raise_audit(&a, &b, &c, 1),
        VoteAudit => builders::vote_audit(&a, &b, &c, true),
        ResolveAudit => builders::resolve_audit(&a, &b, &c, &d, &a),
        ProposeDistribution => {
            builders::propose_distribution(&a, &b, &builders::Proposal::of(1, &[([5; 32], 7)], b"u".to_vec()))
        }
        VoteDistribution => builders::vote_distribution(&a, &b, 1, true),
        ResolveDistribution => builders::resolve_distribution(&b, 1, &c, &d),
        ClaimReward => builders::claim_reward(&a, &b, 1, 7, &proof),
        ExpireDistribution => builders::expire_distribution(&b, 1, &c),
        UpdateTaskPackage => builders::update_task_package(&a, &b, &[0; 32], b"l"),
    }
}

#[test]
fn instructions_match_the_discriminators_and_the_builders_accounts() {
    let idl = idl();
    let instructions = idl["program"]["instructions"].as_array().unwrap();
    assert_eq!(instructions.len(), GradualInstruction::ALL.len());
    for (node, instruction) in instructions.iter().zip(GradualInstruction::ALL) {
        let name = format!("{instruction:?}");
        assert_eq!(node["name"], camel(&name));
        let discriminator = &node["arguments"][0];
        assert_eq!(discriminator["name"], "discriminator", "{name}");
        assert_eq!(discriminator["defaultValue"]["number"], instruction as u8, "{name}");
        let built = built(instruction);
        assert_eq!(built.data[0], instruction as u8);
        let accounts = node["accounts"].as_array().unwrap();
        assert_eq!(accounts.len(), built.accounts.len(), "{name}: accounts");
        for (account, meta) in accounts.iter().zip(&built.accounts) {
            let what = format!("{name}.{}", account["name"]);
            assert_eq!(account["isSigner"], meta.is_signer, "{what}: signer");
            assert_eq!(account["isWritable"], meta.is_writable, "{what}: writable");
            if let Some(fixed) = account["defaultValue"]["publicKey"].as_str() {
                assert_eq!(fixed, meta.pubkey.to_string(), "{what}: fixed address");
            }
        }
    }
}

#[test]
fn the_fixed_part_of_create_task_is_its_args_struct() {
    let idl = idl();
    let create = &idl["program"]["instructions"][0];
    assert_eq!(create["arguments"][1]["type"]["name"], "createTaskArgs");
    let types = idl["program"]["definedTypes"].as_array().unwrap();
    let args = types.iter().find(|t| t["name"] == "createTaskArgs").unwrap();
    let fields: Vec<&str> =
        args["type"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(fields.first(), Some(&"taskId"));
    assert_eq!(fields.last(), Some(&"padding"));
    assert_eq!(core::mem::size_of::<CreateTaskArgs>(), 176);
}

#[test]
fn every_error_and_event_is_there_with_its_code_and_kind() {
    let idl = idl();
    let errors = idl["program"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), GradualError::ALL.len());
    for (node, error) in errors.iter().zip(GradualError::ALL) {
        assert_eq!(node["code"], *error as u32);
        assert_eq!(node["name"], camel(error.name()));
    }
    // Every instruction but SubmitProof logs one event, whose kind is the instruction's.
    let mut kinds: Vec<u64> = idl["program"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["discriminators"][0]["constant"]["value"]["number"].as_u64().unwrap())
        .collect();
    kinds.sort_unstable();
    let expected: Vec<u64> = GradualInstruction::ALL
        .iter()
        .filter(|i| **i != GradualInstruction::SubmitProof)
        .map(|i| *i as u64)
        .collect();
    assert_eq!(kinds, expected);
}
