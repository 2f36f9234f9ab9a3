//! The Codama IDL of the Gradual program, generated from the interface crate.
//!
//! Codama's own loader (`codama::Codama::load`) reads `interface/src` and
//! the `#[codama(...)]` attributes on its types: accounts, defined types,
//! instructions and events. The attributes sit behind the interface's
//! `codama` feature, which only lets Codama's derive macros check them; the
//! loader reads the source, so this crate does not enable it (workspace
//! builds keep one feature set of the interface). What
//! the macros cannot express is filled in here from the interface's own
//! constants and types, so nothing is written twice:
//!
//! - array lengths named by constants (`[StakeCheckpoint; STAKE_HISTORY]`):
//!   Codama reads source, not values, so the plugin below resolves them
//!   from the constants themselves, and `[u8; N]` becomes `N` fixed bytes;
//! - errors: `GradualError` is declared through a `macro_rules!` Codama
//!   does not expand; they come from `GradualError::ALL`;
//! - account and event discriminators (`Account::KIND`, `Event::KIND`,
//!   `ACCOUNT_VERSION`, `EVENT_VERSION`) and account sizes;
//! - PDAs, whose constant seeds are `pda.rs`'s.
//!
//! Every account, type and event is then checked to encode to exactly the
//! size of its Rust layout.

mod plugin;

use codama::{
    AccountNode, ConstantDiscriminatorNode, ConstantPdaSeedNode, ConstantValueNode, ErrorNode,
    FieldDiscriminatorNode, NumberTypeNode, NumberValueNode, PdaLinkNode, PdaNode, PublicKeyTypeNode,
    RootNode, StructFieldTypeNode, StructTypeNode, TypeNode, ValueNode, VariablePdaSeedNode, U64, U8,
};
use gradual_interface::{
    error::GradualError,
    event::{self, Event, EVENT_VERSION},
    pda,
    state::{self, Account, ACCOUNT_VERSION},
};
use std::path::Path;

/// Where the committed IDL lives, relative to the workspace root.
pub const IDL_PATH: &str = "idl/gradual.json";

/// The workspace root (this crate is `idl/`).
pub fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The IDL as committed: pretty JSON with a final newline.
pub fn generate_json() -> Result<String, String> {
    let mut json = serde_json::to_string_pretty(&generate()?).map_err(|e| e.to_string())?;
    json.push('\n');
    Ok(json)
}

/// The root node: Codama's reading of the interface, completed.
pub fn generate() -> Result<RootNode, String> {
    let interface = workspace_root().join("interface");
    let codama = codama::Codama::load(&interface)
        .map_err(|e| format!("codama: {e}"))?
        .without_default_plugin()
        .add_plugin(plugin::GradualPlugin);
    let mut root = codama.get_idl().map_err(|e| format!("codama: {e:?}"))?;
    let program = &mut root.program;
    program.name = "gradual".into();
    // The id of builds without `GRADUAL_PROGRAM_ID` (local validators and
    // tests), so that the file does not depend on the build; clients of a
    // deployment with its own id pass it (`programAddress` in the JS client).
    program.public_key = gradual_interface::DEFAULT_ID.to_string();
    for defined in &mut program.defined_types {
        if let TypeNode::Struct(data) = &mut *defined.r#type {
            zero_padding(data);
        }
    }
    for event in &mut program.events {
        if let TypeNode::Struct(data) = &mut *event.data {
            zero_padding(data);
        }
    }
    let types = program.defined_types.clone();
    for account in &mut program.accounts {
        complete_account(account, &types)?;
    }
    for event in &mut program.events {
        let (kind, size) = event_kind(event.name.as_ref())?;
        // The head's `kind` (byte 0) and `version` (byte 1), as `AnyEvent::decode` reads them.
        let byte = |value: u8| ConstantValueNode::new(NumberTypeNode::le(U8), NumberValueNode::new(value));
        event.discriminators = vec![
            ConstantDiscriminatorNode::new(byte(kind), 0).into(),
            ConstantDiscriminatorNode::new(byte(EVENT_VERSION), 1).into(),
        ];
        check_size(&format!("event {}", event.name.as_ref()), &event.data, size, &program.defined_types)?;
    }
    for (name, size) in defined_type_sizes() {
        let defined = program
            .defined_types
            .iter()
            .find(|t| t.name.as_ref() == name)
            .ok_or_else(|| format!("defined type {name} is missing"))?;
        check_size(&format!("type {name}"), &defined.r#type, size, &program.defined_types)?;
    }
    program.pdas = pdas();
    program.errors = GradualError::ALL
        .iter()
        .map(|error| ErrorNode::new(camel(error.name()), *error as u32, error.message().trim()))
        .collect();
    Ok(root)
}

/// `TaskCreated` → `taskCreated`.
fn camel(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|first| first.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// Completes an account from its Rust layout: the `discriminator` and
/// `version` fields' values, both discriminators the program checks (the
/// kind byte and the exact length), the size and the PDA.
fn complete_account(account: &mut AccountNode, types: &[codama::DefinedTypeNode]) -> Result<(), String> {
    let (kind, len) = match account.name.as_ref() {
        "task" => (state::Task::KIND, state::Task::LEN),
        "node" => (state::Node::KIND, state::Node::LEN),
        "audit" => (state::Audit::KIND, state::Audit::LEN),
        "distribution" => (state::Distribution::KIND, state::Distribution::LEN),
        other => return Err(format!("account {other} has no layout in the interface")),
    };
    let codama::NestedTypeNode::Value(data) = &mut account.data else {
        return Err(format!("account {} is not a plain struct", account.name.as_ref()));
    };
    zero_padding(data);
    set_default(data, "discriminator", kind as u8)?;
    set_default(data, "version", ACCOUNT_VERSION)?;
    account.discriminators = vec![
        FieldDiscriminatorNode::new("discriminator", 0).into(),
        codama::SizeDiscriminatorNode::new(len as u64).into(),
    ];
    account.size = Some(len as u64);
    account.pda = Some(PdaLinkNode::new(account.name.clone()));
    let data = TypeNode::Struct(data.clone());
    check_size(&format!("account {}", account.name.as_ref()), &data, len, types)
}

/// Padding fields (`_padding`, `_next_padding`, …) are zero, which encoders
/// fill in: the program rejects anything else in instruction data.
fn zero_padding(data: &mut StructTypeNode) {
    for field in &mut data.fields {
        let TypeNode::FixedSize(fixed) = &*field.r#type else { continue };
        if field.name.as_ref().to_ascii_lowercase().contains("padding") {
            let zeros = "00".repeat(fixed.size);
            *field.default_value = Some(codama::BytesValueNode::base16(zeros).into());
            field.default_value_strategy = Some(codama::DefaultValueStrategy::Omitted);
        }
    }
}

/// Gives `field` a fixed value that encoders fill in (`omitted`).
fn set_default(data: &mut StructTypeNode, field: &str, value: u8) -> Result<(), String> {
    let found: &mut StructFieldTypeNode = data
        .fields
        .iter_mut()
        .find(|f| f.name.as_ref() == field)
        .ok_or_else(|| format!("no field {field}"))?;
    *found.default_value = Some(ValueNode::from(NumberValueNode::new(value)));
    found.default_value_strategy = Some(codama::DefaultValueStrategy::Omitted);
    Ok(())
}

macro_rules! events {
    ($($name:ident),* $(,)?) => {
        /// Each event's kind byte and size, from its Rust type.
        const EVENTS: &[(&str, u8, usize)] = &[
            $((stringify!($name), <event::$name as Event>::KIND as u8, core::mem::size_of::<event::$name>())),*
        ];
    };
}

events!(
    TaskCreated,
    TaskFunded,
    TaskUpdated,
    TaskActiveSet,
    Staked,
    UnstakeRequested,
    StakeWithdrawn,
    TaskClosed,
    AuditRaised,
    AuditVoted,
    AuditResolved,
    ListProposed,
    ListVoted,
    ListResolved,
    RewardClaimed,
    ListExpired,
    PackageUpdated,
);

fn event_kind(name: &str) -> Result<(u8, usize), String> {
    EVENTS
        .iter()
        .find(|(event, _, _)| camel(event) == name)
        .map(|(_, kind, size)| (*kind, *size))
        .ok_or_else(|| format!("event {name} has no kind in idl/src/lib.rs"))
}

/// The size of every defined type's Rust layout.
fn defined_type_sizes() -> Vec<(&'static str, usize)> {
    use core::mem::size_of;
    use gradual_interface::instruction::*;
    vec![
        ("stakeCheckpoint", size_of::<state::StakeCheckpoint>()),
        ("paramsCheckpoint", size_of::<state::ParamsCheckpoint>()),
        ("roundParams", size_of::<state::RoundParams>()),
        ("roundSet", size_of::<state::RoundSet>()),
        ("submission", size_of::<state::Submission>()),
        ("voteRecord", size_of::<state::VoteRecord>()),
        ("eventHead", size_of::<event::EventHead>()),
        ("createTaskArgs", size_of::<CreateTaskArgs>()),
        ("stakeArgs", size_of::<StakeArgs>()),
        ("submitProofArgs", size_of::<SubmitProofArgs>()),
        ("raiseAuditArgs", size_of::<RaiseAuditArgs>()),
        ("proposeDistributionArgs", size_of::<ProposeDistributionArgs>()),
    ]
}

/// `pda.rs`: the constant seed and the variable ones, in order.
fn pdas() -> Vec<PdaNode> {
    let constant = |seed: &[u8]| -> codama::PdaSeedNode {
        let text = std::str::from_utf8(seed).expect("seeds are ASCII");
        ConstantPdaSeedNode::new(codama::StringTypeNode::utf8(), codama::StringValueNode::new(text)).into()
    };
    let address = |name: &str| -> codama::PdaSeedNode {
        VariablePdaSeedNode::new(name, PublicKeyTypeNode::new()).into()
    };
    let number = |name: &str| -> codama::PdaSeedNode {
        VariablePdaSeedNode::new(name, NumberTypeNode::le(U64)).into()
    };
    vec![
        PdaNode::new("task", vec![constant(pda::TASK_SEED), address("creator"), number("taskId")]),
        PdaNode::new("node", vec![constant(pda::NODE_SEED), address("task"), address("operator")]),
        PdaNode::new("audit", vec![constant(pda::AUDIT_SEED), address("target"), number("round")]),
        PdaNode::new(
            "distribution",
            vec![constant(pda::DISTRIBUTION_SEED), address("task"), number("round")],
        ),
    ]
}

/// Fails unless `node` encodes to exactly `size` bytes.
fn check_size(
    what: &str,
    node: &TypeNode,
    size: usize,
    types: &[codama::DefinedTypeNode],
) -> Result<(), String> {
    let json = serde_json::to_value(node).map_err(|e| e.to_string())?;
    let types: Vec<serde_json::Value> =
        types.iter().map(serde_json::to_value).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    match fixed_size(&json, &types) {
        Some(found) if found == size => Ok(()),
        found => Err(format!("{what}: the IDL encodes {found:?} bytes, the Rust layout has {size}")),
    }
}

/// The encoded size of a fixed-size type node, as JSON.
fn fixed_size(node: &serde_json::Value, types: &[serde_json::Value]) -> Option<usize> {
    let number = |format: &str| -> Option<usize> {
        Some(match format {
            "u8" | "i8" => 1,
            "u16" | "i16" => 2,
            "u32" | "i32" | "f32" => 4,
            "u64" | "i64" | "f64" => 8,
            "u128" | "i128" => 16,
            _ => return None,
        })
    };
    match node["kind"].as_str()? {
        "numberTypeNode" => number(node["format"].as_str()?),
        "booleanTypeNode" => fixed_size(&node["size"], types),
        "publicKeyTypeNode" => Some(32),
        "fixedSizeTypeNode" => node["size"].as_u64().map(|size| size as usize),
        "arrayTypeNode" if node["count"]["kind"] == "fixedCountNode" => {
            fixed_size(&node["item"], types)?.checked_mul(node["count"]["value"].as_u64()? as usize)
        }
        "structTypeNode" => node["fields"]
            .as_array()?
            .iter()
            .try_fold(0usize, |total, field| total.checked_add(fixed_size(&field["type"], types)?)),
        "definedTypeLinkNode" => {
            let defined = types.iter().find(|t| t["name"] == node["name"])?;
            fixed_size(&defined["type"], types)
        }
        _ => None,
    }
}
