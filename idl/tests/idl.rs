//! The committed IDL is what the interface generates, and it agrees with the
//! interface's instruction builders and enums.

use gradual_interface::{
    builders::{self, TaskMint},
    error::GradualError,
    instruction::{CreateTaskArgs, GradualInstruction},
    merkle::Proof,
    state::RoundParams,
    token::{ASSOCIATED_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID},
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

/// The mint of the token forms in [`built_for_tokens`].
const MINT: TaskMint =
    TaskMint { mint: Address::new_from_array([9; 32]), token_program: TOKEN_2022_PROGRAM_ID };

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

/// The token form of each instruction that has one (token accounts appended),
/// from the builders the node and CLI use; `None` for the others.
fn built_for_tokens(instruction: GradualInstruction) -> Option<solana_instruction::Instruction> {
    let [a, b, c, d, e] = [1u8, 2, 3, 4, 5].map(|byte| Address::new_from_array([byte; 32]));
    let proof = Proof { bucket_index: 0, position: 0, bucket: vec![[0; 40]], siblings: vec![] };
    use GradualInstruction::*;
    Some(match instruction {
        CreateTask => builders::create_token_task(
            &a,
            &builders::CreateTaskConfig {
                args: bytemuck::Zeroable::zeroed(),
                name: b"n".to_vec(),
                description: vec![],
                executable_locator: b"l".to_vec(),
            },
            &MINT,
        ),
        FundTask => builders::fund_task_tokens(&a, &b, &MINT, 1),
        Stake => builders::stake_tokens(&a, &b, &MINT, 1, b"u"),
        WithdrawStake => builders::withdraw_stake_tokens(&a, &b, &MINT, 1),
        CloseTask => builders::close_task_tokens(&a, &b, &MINT),
        ResolveAudit => builders::resolve_audit_tokens(&a, &b, (&c, &e), &d, &MINT),
        ClaimReward => builders::claim_reward_tokens(&a, &b, (1, 7), &proof, &MINT),
        UpdateTask | SetTaskActive | RequestUnstake | SubmitProof | RaiseAudit | VoteAudit
        | ProposeDistribution | VoteDistribution | ResolveDistribution | ExpireDistribution
        | UpdateTaskPackage => return None,
    })
}

/// Fails unless the IDL's `accounts` are `metas`, in order: flags, fixed
/// addresses, and the token accounts' addresses by name (`mint`,
/// `tokenProgram`, `vault`, `associatedTokenProgram`, and `<wallet>Tokens`:
/// the token account of the account named `<wallet>` or `<wallet>Operator`).
fn assert_accounts(what: &str, accounts: &[&Value], metas: &[solana_instruction::AccountMeta]) {
    assert_eq!(accounts.len(), metas.len(), "{what}: accounts");
    let address_of = |name: &str| {
        let at = accounts.iter().position(|account| account["name"] == name)?;
        Some(metas[at].pubkey)
    };
    for (account, meta) in accounts.iter().zip(metas) {
        let name = account["name"].as_str().unwrap();
        let what = format!("{what}.{name}");
        assert_eq!(account["isSigner"], meta.is_signer, "{what}: signer");
        assert_eq!(account["isWritable"], meta.is_writable, "{what}: writable");
        if let Some(fixed) = account["defaultValue"]["publicKey"].as_str() {
            assert_eq!(fixed, meta.pubkey.to_string(), "{what}: fixed address");
        }
        if account["isOptional"] != true {
            continue;
        }
        let task = address_of("task").expect("a task account");
        let expected = match name {
            "task" => task,
            "mint" => MINT.mint,
            "tokenProgram" => MINT.token_program,
            "vault" => MINT.vault(&task),
            "associatedTokenProgram" => ASSOCIATED_TOKEN_PROGRAM_ID,
            _ => {
                let wallet = name.strip_suffix("Tokens").unwrap_or_else(|| panic!("{what}: unknown"));
                let owner = address_of(wallet).or_else(|| address_of(&format!("{wallet}Operator")));
                MINT.account_of(&owner.unwrap_or_else(|| panic!("{what}: no account {wallet}")))
            }
        };
        assert_eq!(meta.pubkey, expected, "{what}: address");
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
        // The program counts accounts: a missing optional account is left
        // out, never replaced by the program id.
        assert_eq!(node["optionalAccountStrategy"], "omitted", "{name}");
        let accounts: Vec<&Value> = node["accounts"].as_array().unwrap().iter().collect();
        // The optional accounts (a token task's) come last, with no default
        // value, which clients would send for a lamport task too.
        let required = accounts.iter().take_while(|account| account["isOptional"] != true).count();
        for account in &accounts[required..] {
            assert_eq!(
                account["isOptional"], true,
                "{name}.{}: required after an optional one",
                account["name"]
            );
            assert!(account["defaultValue"].is_null(), "{name}.{}: optional with a default", account["name"]);
        }
        // The lamport form: the required accounts.
        let built = built(instruction);
        assert_eq!(built.data[0], instruction as u8);
        assert_accounts(&name, &accounts[..required], &built.accounts);
        // The token form, where there is one: all of them.
        match built_for_tokens(instruction) {
            Some(tokens) => {
                assert_eq!(tokens.data, built.data, "{name}: the token form's data");
                assert!(required < accounts.len(), "{name}: no optional accounts for the token form");
                assert_accounts(&format!("{name} (tokens)"), &accounts, &tokens.accounts);
            }
            None => assert_eq!(required, accounts.len(), "{name}: optional accounts but no token form"),
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
