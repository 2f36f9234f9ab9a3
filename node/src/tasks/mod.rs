//! Tasks: the four parts a task author writes (design decision 9) — the
//! work, the proof submitted for it, the check of another node's result, and
//! the distribution rule — and the tasks the node runs: `hello` and
//! `http-digest` built in, and any executable speaking `docs/task-protocol.md`.

mod external;
mod hello;
mod http_digest;
mod scheduled;

pub use external::{
    audit_verdict, parse_answer, work_result, External, ExternalConfig, Parts, SandboxChoice,
};
pub use hello::{Hello, HELLO};
pub use http_digest::HttpDigest;
pub use scheduled::Scheduled;

use std::collections::HashSet;

use gradual_interface::{merkle::stake_split, Address};

/// A distribution list: `(node, amount)` leaves.
pub type Leaves = Vec<([u8; 32], u64)>;

/// What a node's work for a round knows about where it runs.
#[derive(Clone, Copy, Debug)]
pub struct WorkContext {
    pub task: Address,
    pub node: Address,
    pub round: u64,
}

/// A proof as a node submitted it on-chain.
#[derive(Clone, Debug)]
pub struct Submitted {
    pub node: Address,
    pub digest: [u8; 32],
    /// Where the node serves its result, relative to its service URL, and
    /// whatever else the task put there.
    pub locator: Vec<u8>,
}

/// An auditor's judgement of another node's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Judgement {
    Valid,
    Invalid(String),
    /// The auditor's own task failed: a node that cannot judge never accuses.
    CannotJudge(String),
}

/// A node that may be paid for a round: its stake in that round and its proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eligible {
    pub node: [u8; 32],
    pub stake: u64,
    pub digest: [u8; 32],
    pub locator: Vec<u8>,
}

/// Everything a distribution rule may use, all read from chain state, so
/// that every voter computes the same list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistributionInputs {
    pub round: u64,
    /// What the round may pay: its bounty, or less if the pool holds less.
    pub bounty: u64,
    /// Nodes whose proof of the round landed and was not excluded, by address.
    pub eligible: Vec<Eligible>,
    /// Nodes whose proof was excluded by an upheld audit; they cannot be paid.
    pub excluded: Vec<[u8; 32]>,
}

/// Where a node serves its result of `round`, relative to its service URL.
pub fn result_locator(round: u64) -> Vec<u8> {
    format!("v1/results/{round}").into_bytes()
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    solana_sha256_hasher::hash(bytes).to_bytes()
}

pub trait Task {
    /// Does a round's work; the result is what the node serves to auditors.
    fn work(&self, context: &WorkContext) -> Result<Vec<u8>, String>;

    /// The proof submitted for a result: a 32-byte digest and a locator.
    /// By default `sha256(result)`, served at `v1/results/{round}`.
    fn submission(&self, round: u64, result: &[u8]) -> Result<([u8; 32], Vec<u8>), String> {
        Ok((sha256(result), result_locator(round)))
    }

    /// Whether `result`, fetched from the node that submitted `submitted`, is
    /// valid work for `round`.
    fn audit(&self, round: u64, submitted: &Submitted, result: &[u8]) -> Judgement;

    /// A round's payees. By default the bounty shared out by stake, rounded
    /// down, among the eligible nodes (see `gradual_interface::merkle::stake_split`).
    fn distribution(&self, inputs: &DistributionInputs) -> Result<Leaves, String> {
        Ok(default_rule(inputs))
    }
}

/// The default rule: [`stake_split`] of the eligible nodes' stakes.
pub fn default_rule(inputs: &DistributionInputs) -> Leaves {
    let eligible: Vec<([u8; 32], u64)> = inputs.eligible.iter().map(|node| (node.node, node.stake)).collect();
    stake_split(inputs.bounty, &eligible).0
}

/// The program's limits on a list, checked before a node proposes or votes
/// for it: at most the round's bounty in all, only eligible nodes, each once.
pub fn check_leaves(inputs: &DistributionInputs, leaves: &Leaves) -> Result<(), String> {
    check_leaves_against(inputs, &eligible_set(inputs), leaves)
}

/// The eligible nodes of `inputs`, for checking many lists against them.
pub fn eligible_set(inputs: &DistributionInputs) -> HashSet<[u8; 32]> {
    inputs.eligible.iter().map(|eligible| eligible.node).collect()
}

/// [`check_leaves`] with the eligible nodes already gathered.
pub fn check_leaves_against(
    inputs: &DistributionInputs,
    eligible: &HashSet<[u8; 32]>,
    leaves: &Leaves,
) -> Result<(), String> {
    let mut total: u64 = 0;
    let mut seen = HashSet::with_capacity(leaves.len());
    for (node, amount) in leaves {
        total = total.checked_add(*amount).ok_or("the list's total overflows")?;
        if !seen.insert(*node) {
            return Err(format!("{} is paid twice", Address::new_from_array(*node)));
        }
        if !eligible.contains(node) {
            return Err(format!(
                "{} is not eligible for round {}",
                Address::new_from_array(*node),
                inputs.round
            ));
        }
    }
    if total > inputs.bounty {
        return Err(format!(
            "the list pays {total} lamports, more than the round's bounty of {}",
            inputs.bounty
        ));
    }
    Ok(())
}

/// Judges `result` against the default proof, `sha256(result)`, first.
pub fn digest_matches(submitted: &Submitted, result: &[u8]) -> bool {
    sha256(result) == submitted.digest
}
