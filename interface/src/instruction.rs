//! Instructions: a one-byte discriminator followed by the instruction's data.
//! Fixed-size fields are a `#[repr(C)]` struct read without alignment;
//! variable-length text follows as `u8 length, bytes`.

use bytemuck::{Pod, Zeroable};

use crate::{error::GradualError, state::RoundParams};

/// Instruction discriminators. Values are never renumbered or reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "codama", derive(codama::CodamaInstructions))]
// Optional accounts (a token task's, appended at the end) are left out when
// absent: the program counts accounts and takes no program id in their place.
#[cfg_attr(feature = "codama", codama(optional_account_strategy = omitted))]
#[repr(u8)]
pub enum GradualInstruction {
    /// Creates a task and deposits its first bounty.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable, signer]` The creator, paying rent and the bounty.
    /// 1. `[writable]` The task PDA `["task", creator, task_id]`, not yet created.
    /// 2. `[]` The system program.
    ///
    /// Token tasks only (`Task.mint` set), all 5 or none, appended:
    /// 3. `[]` The task's mint.
    /// 4. `[]` The mint's token program (SPL Token or Token-2022).
    /// 5. `[writable]` The task's vault: its associated token account for the mint.
    /// 6. `[writable]` The creator's token account of the mint, paying the bounty.
    /// 7. `[]` The associated token account program, which creates the vault.
    ///
    /// Data expected by this instruction: [`CreateTaskArgs`], then the name,
    /// the description and the executable locator, each as `u8 length, bytes`.
    #[cfg_attr(feature = "codama", codama(account(name = "creator", writable, signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "systemProgram", default_value = program("system"))))]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "mint", optional, docs = "Token tasks only: the task's mint."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "tokenProgram",
            optional,
            docs = "Token tasks only: the mint's token program."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "vault", writable, optional, docs = "Token tasks only: the task's vault."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "creatorTokens",
            writable,
            optional,
            docs = "Token tasks only: the creator's token account."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "associatedTokenProgram",
            optional,
            docs = "Token tasks only: the associated token account program."
        ))
    )]
    #[cfg_attr(feature = "codama", codama(argument("args", link("createTaskArgs"))))]
    #[cfg_attr(feature = "codama", codama(argument("name", size_prefix(string(utf8), number(u8)))))]
    #[cfg_attr(feature = "codama", codama(argument("description", size_prefix(string(utf8), number(u8)))))]
    #[cfg_attr(
        feature = "codama",
        codama(argument("executableLocator", size_prefix(string(utf8), number(u8))))
    )]
    CreateTask = 0,
    /// Adds to a task's bounty pool: lamports, or a token task's mint.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable, signer]` The funder.
    /// 1. `[writable]` The task.
    /// 2. `[]` The system program.
    ///
    /// Token tasks only (`Task.mint` set), all 4 or none, appended:
    /// 3. `[]` The task's mint.
    /// 4. `[]` The mint's token program (SPL Token or Token-2022).
    /// 5. `[writable]` The task's vault: its associated token account for the mint.
    /// 6. `[writable]` The funder's token account of the mint, paying.
    ///
    /// Data expected by this instruction: `amount: u64`.
    #[cfg_attr(feature = "codama", codama(account(name = "funder", writable, signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "systemProgram", default_value = program("system"))))]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "mint", optional, docs = "Token tasks only: the task's mint."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "tokenProgram",
            optional,
            docs = "Token tasks only: the mint's token program."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "vault", writable, optional, docs = "Token tasks only: the task's vault."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "funderTokens",
            writable,
            optional,
            docs = "Token tasks only: the funder's token account."
        ))
    )]
    #[cfg_attr(feature = "codama", codama(argument("amount", number(u64))))]
    FundTask = 1,
    /// Changes the round parameters from the next round on.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[signer]` The task's manager.
    /// 1. `[writable]` The task.
    ///
    /// Data expected by this instruction: [`RoundParams`].
    #[cfg_attr(feature = "codama", codama(account(name = "manager", signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(feature = "codama", codama(argument("params", link("roundParams"))))]
    UpdateTask = 2,
    /// Pauses or resumes a task.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[signer]` The task's manager.
    /// 1. `[writable]` The task.
    ///
    /// Data expected by this instruction: `active: u8` (0 pauses, 1 resumes).
    #[cfg_attr(feature = "codama", codama(account(name = "manager", signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(feature = "codama", codama(argument("active", boolean)))]
    SetTaskActive = 3,
    /// Creates or tops up the operator's node; the stake counts from the next round.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable, signer]` The operator, paying rent and stake.
    /// 1. `[writable]` The task.
    /// 2. `[writable]` The node PDA `["node", task, operator]`.
    /// 3. `[]` The system program.
    ///
    /// Tasks whose stake is in their mint only (`Task.mint` set and not
    /// `stake_in_lamports`), all 4 or none, appended:
    /// 4. `[]` The task's mint.
    /// 5. `[]` The mint's token program (SPL Token or Token-2022).
    /// 6. `[writable]` The task's vault: its associated token account for the mint.
    /// 7. `[writable]` The operator's token account of the mint, paying the stake.
    ///
    /// Data expected by this instruction: [`StakeArgs`], then the service URL as `u8 length, bytes`.
    #[cfg_attr(feature = "codama", codama(account(name = "operator", writable, signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "node", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "systemProgram", default_value = program("system"))))]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "mint", optional, docs = "Stake in the mint only: the task's mint."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "tokenProgram",
            optional,
            docs = "Stake in the mint only: the mint's token program."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "vault",
            writable,
            optional,
            docs = "Stake in the mint only: the task's vault."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "operatorTokens",
            writable,
            optional,
            docs = "Stake in the mint only: the operator's token account."
        ))
    )]
    #[cfg_attr(feature = "codama", codama(argument("args", link("stakeArgs"))))]
    #[cfg_attr(feature = "codama", codama(argument("serviceUrl", size_prefix(string(utf8), number(u8)))))]
    Stake = 4,
    /// Stops the node's stake counting from the next round and starts its cooldown.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[signer]` The operator.
    /// 1. `[writable]` The node.
    /// 2. `[writable]` The task.
    #[cfg_attr(feature = "codama", codama(account(name = "operator", signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "node", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    RequestUnstake = 5,
    /// Withdraws stake after the cooldown; withdrawing all of it closes the node.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable, signer]` The operator, receiving the lamports.
    /// 1. `[writable]` The node.
    /// 2. `[writable]` The task.
    ///
    /// Nodes whose stake is in the task's mint only (`Node.stake_in_tokens` 1), all 4 or none, appended:
    /// 3. `[]` The task's mint.
    /// 4. `[]` The mint's token program (SPL Token or Token-2022).
    /// 5. `[writable]` The task's vault: its associated token account for the mint.
    /// 6. `[writable]` The operator's token account of the mint, receiving the stake.
    ///
    /// Data expected by this instruction: `amount: u64`.
    #[cfg_attr(feature = "codama", codama(account(name = "operator", writable, signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "node", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "mint", optional, docs = "Stake in the mint only: the task's mint."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "tokenProgram",
            optional,
            docs = "Stake in the mint only: the mint's token program."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "vault",
            writable,
            optional,
            docs = "Stake in the mint only: the task's vault."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "operatorTokens",
            writable,
            optional,
            docs = "Stake in the mint only: the operator's token account."
        ))
    )]
    #[cfg_attr(feature = "codama", codama(argument("amount", number(u64))))]
    WithdrawStake = 6,
    /// In round `c + 1`'s submission window: commits to round `c`'s proof and/or reveals round `c - 1`'s.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[signer]` The operator.
    /// 1. `[writable]` The node.
    /// 2. `[]` The task.
    ///
    /// Data expected by this instruction: [`SubmitProofArgs`], then the
    /// revealed locator as `u8 length, bytes` (empty without a reveal).
    #[cfg_attr(feature = "codama", codama(account(name = "operator", signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "node", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task")))]
    #[cfg_attr(feature = "codama", codama(argument("args", link("submitProofArgs"))))]
    #[cfg_attr(feature = "codama", codama(argument("locator", size_prefix(string(utf8), number(u8)))))]
    SubmitProof = 7,
    /// Closes a finished or paused task with no nodes, returning its pool and
    /// rent; a token task's vault pays its whole balance to the creator and closes.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable, signer]` The creator.
    /// 1. `[writable]` The task.
    ///
    /// Token tasks only (`Task.mint` set), all 4 or none, appended:
    /// 2. `[]` The task's mint.
    /// 3. `[]` The mint's token program (SPL Token or Token-2022).
    /// 4. `[writable]` The task's vault: its associated token account for the mint.
    /// 5. `[writable]` The creator's token account of the mint, receiving the vault's balance.
    #[cfg_attr(feature = "codama", codama(account(name = "creator", writable, signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "mint", optional, docs = "Token tasks only: the task's mint."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "tokenProgram",
            optional,
            docs = "Token tasks only: the mint's token program."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "vault", writable, optional, docs = "Token tasks only: the task's vault."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "creatorTokens",
            writable,
            optional,
            docs = "Token tasks only: the creator's token account."
        ))
    )]
    CloseTask = 8,
    /// Raises an audit against another node's proof for round `r`, inside
    /// round `r + 2`'s audit window, depositing round `r`'s audit bond. The
    /// raise is the raiser's "invalid" vote.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable, signer]` The raiser's operator, paying bond and rent.
    /// 1. `[writable]` The raiser's node.
    /// 2. `[writable]` The target node.
    /// 3. `[]` The task.
    /// 4. `[writable]` The audit PDA `["audit", target, r]`, not yet created.
    /// 5. `[]` The system program.
    ///
    /// Data expected by this instruction: [`RaiseAuditArgs`].
    #[cfg_attr(feature = "codama", codama(account(name = "raiserOperator", writable, signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "raiserNode", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "target", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task")))]
    #[cfg_attr(feature = "codama", codama(account(name = "audit", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "systemProgram", default_value = program("system"))))]
    #[cfg_attr(feature = "codama", codama(argument("args", link("raiseAuditArgs"))))]
    RaiseAudit = 9,
    /// Votes on an open audit with the voter's committee seats.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[signer]` The voter's operator.
    /// 1. `[writable]` The voter's node.
    /// 2. `[writable]` The audit.
    ///
    /// Data expected by this instruction: `valid: u8` (1: the proof is valid, 0: invalid).
    #[cfg_attr(feature = "codama", codama(account(name = "voterOperator", signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "voterNode", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "audit", writable)))]
    #[cfg_attr(feature = "codama", codama(argument("valid", boolean)))]
    VoteAudit = 10,
    /// Settles an audit once its window has closed: slashes and excludes the
    /// target if upheld, forfeits the bond to the target if not, and closes
    /// the audit. Anyone may send it.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable]` The audit.
    /// 1. `[writable]` The task.
    /// 2. `[writable]` The target node.
    /// 3. `[writable]` The raiser's operator (the audit's `raiser_operator`).
    /// 4. `[writable]` The target's operator.
    ///
    /// Tasks whose stake is in their mint only (`Task.mint` set and not
    /// `stake_in_lamports`), all 4 or none, appended:
    /// 5. `[]` The task's mint.
    /// 6. `[]` The mint's token program (SPL Token or Token-2022).
    /// 7. `[writable]` The task's vault: its associated token account for the mint.
    /// 8. `[writable]` The raiser operator's token account of the mint, receiving its share of a slash.
    #[cfg_attr(feature = "codama", codama(account(name = "audit", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "target", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "raiserOperator", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "targetOperator", writable)))]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "mint", optional, docs = "Stake in the mint only: the task's mint."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "tokenProgram",
            optional,
            docs = "Stake in the mint only: the mint's token program."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "vault",
            writable,
            optional,
            docs = "Stake in the mint only: the task's vault."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "raiserTokens",
            writable,
            optional,
            docs = "Stake in the mint only: the raiser operator's token account."
        ))
    )]
    ResolveAudit = 11,
    /// Proposes round `r`'s distribution list during the distribution window
    /// of round `r + 3 + a` (attempt `a`), if the proposer is entitled (see
    /// `selection`). Posts the audit bond and moves the list's total from the
    /// pool into the distribution account. The proposal is the proposer's
    /// "valid" vote.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable, signer]` The proposer's operator, paying bond (and rent on the first attempt).
    /// 1. `[]` The proposer's node.
    /// 2. `[writable]` The task.
    /// 3. `[writable]` The distribution PDA `["distribution", task, r]`.
    /// 4. `[]` The system program.
    ///
    /// Data expected by this instruction: [`ProposeDistributionArgs`], then the URL as `u8 length, bytes`.
    #[cfg_attr(feature = "codama", codama(account(name = "proposerOperator", writable, signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "proposerNode")))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "distribution", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "systemProgram", default_value = program("system"))))]
    #[cfg_attr(feature = "codama", codama(argument("args", link("proposeDistributionArgs"))))]
    #[cfg_attr(feature = "codama", codama(argument("url", size_prefix(string(utf8), number(u8)))))]
    ProposeDistribution = 12,
    /// Votes on an open list with the voter's stake for its round. The first
    /// "invalid" vote of an attempt (the dispute) posts round `r`'s audit
    /// bond, forfeited to the pool if the list stands.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable, signer]` The voter's operator, paying a dispute's bond.
    /// 1. `[writable]` The voter's node.
    /// 2. `[writable]` The distribution.
    /// 3. `[]` The system program.
    ///
    /// Data expected by this instruction: `valid: u8` (1: the list is right, 0: wrong).
    #[cfg_attr(feature = "codama", codama(account(name = "voterOperator", writable, signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "voterNode", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "distribution", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "systemProgram", default_value = program("system"))))]
    #[cfg_attr(feature = "codama", codama(argument("valid", boolean)))]
    VoteDistribution = 13,
    /// Settles a list after its vote window: approved, the bond returns to
    /// the proposer and a dispute's bond goes to the pool; rejected, the
    /// dispute's bond returns to the disputer, the proposer's bond and the
    /// total go to the pool, and the next attempt may propose (or, after the
    /// last allowed attempt, the round fails).
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable]` The distribution.
    /// 1. `[writable]` The task.
    /// 2. `[writable]` The proposer's operator.
    /// 3. `[writable]` The disputer's operator (the proposer's when nobody disputed).
    #[cfg_attr(feature = "codama", codama(account(name = "distribution", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "proposerOperator", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "disputerOperator", writable)))]
    ResolveDistribution = 14,
    /// Pays a node's amount from an approved list, once, against a Merkle proof.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable, signer]` The node's operator, receiving the lamports.
    /// 1. `[writable]` The node.
    /// 2. `[writable]` The distribution.
    /// 3. `[]` The Clock sysvar.
    ///
    /// Lists in the task's mint only (`Distribution.reserve_in_tokens` 1), all 5 or none, appended:
    /// 4. `[]` The task.
    /// 5. `[]` The task's mint.
    /// 6. `[]` The mint's token program (SPL Token or Token-2022).
    /// 7. `[writable]` The task's vault: its associated token account for the mint.
    /// 8. `[writable]` The operator's token account of the mint, receiving the amount.
    ///
    /// Data expected by this instruction: `bucket_index: u32`, `position: u8`
    /// (the leaf's place in its bucket), `leaf_count: u8`, the bucket's
    /// leaves (40 bytes each), then the sibling hashes (32 bytes each, at most 21).
    #[cfg_attr(feature = "codama", codama(account(name = "operator", writable, signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "node", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "distribution", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "clock", default_value = sysvar("clock"))))]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "task", optional, docs = "Lists in the mint only: the task."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(name = "mint", optional, docs = "Lists in the mint only: the task's mint."))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "tokenProgram",
            optional,
            docs = "Lists in the mint only: the mint's token program."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "vault",
            writable,
            optional,
            docs = "Lists in the mint only: the task's vault."
        ))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(account(
            name = "operatorTokens",
            writable,
            optional,
            docs = "Lists in the mint only: the operator's token account."
        ))
    )]
    #[cfg_attr(feature = "codama", codama(argument("bucketIndex", number(u32))))]
    #[cfg_attr(feature = "codama", codama(argument("position", number(u8))))]
    #[cfg_attr(
        feature = "codama",
        codama(argument("leaves", array(fixed_size(bytes, 40), prefixed_count(number(u8)))))
    )]
    #[cfg_attr(
        feature = "codama",
        codama(argument("siblings", array(fixed_size(bytes, 32), remainder_count)))
    )]
    ClaimReward = 15,
    /// After the claim period (or once the round failed), returns what is
    /// left of the reserve to the pool and closes the distribution.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[writable]` The distribution.
    /// 1. `[writable]` The task.
    /// 2. `[writable]` The payer recorded in the distribution, receiving the rent.
    #[cfg_attr(feature = "codama", codama(account(name = "distribution", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(feature = "codama", codama(account(name = "payer", writable)))]
    ExpireDistribution = 16,
    /// Schedules a new package (sha256 and locator) from the next round on;
    /// rounds before it keep the package they ran.
    ///
    /// Accounts expected by this instruction:
    /// 0. `[signer]` The task's manager.
    /// 1. `[writable]` The task.
    ///
    /// Data expected by this instruction: `sha256: [u8; 32]`, then the locator as `u8 length, bytes`.
    #[cfg_attr(feature = "codama", codama(account(name = "manager", signer)))]
    #[cfg_attr(feature = "codama", codama(account(name = "task", writable)))]
    #[cfg_attr(feature = "codama", codama(argument("sha256", fixed_size(bytes, 32))))]
    #[cfg_attr(feature = "codama", codama(argument("locator", size_prefix(string(utf8), number(u8)))))]
    UpdateTaskPackage = 17,
}

impl GradualInstruction {
    pub const ALL: [GradualInstruction; 18] = [
        Self::CreateTask,
        Self::FundTask,
        Self::UpdateTask,
        Self::SetTaskActive,
        Self::Stake,
        Self::RequestUnstake,
        Self::WithdrawStake,
        Self::SubmitProof,
        Self::CloseTask,
        Self::RaiseAudit,
        Self::VoteAudit,
        Self::ResolveAudit,
        Self::ProposeDistribution,
        Self::VoteDistribution,
        Self::ResolveDistribution,
        Self::ClaimReward,
        Self::ExpireDistribution,
        Self::UpdateTaskPackage,
    ];

    /// Splits instruction data into its discriminator and the rest.
    pub fn unpack(data: &[u8]) -> Result<(Self, &[u8]), GradualError> {
        let (&tag, rest) = data.split_first().ok_or(GradualError::InvalidInstructionData)?;
        let instruction = *Self::ALL.get(usize::from(tag)).ok_or(GradualError::InvalidInstructionData)?;
        Ok((instruction, rest))
    }
}

/// Fixed part of `CreateTask`'s data.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct CreateTaskArgs {
    /// Chosen by the creator; part of the task's address.
    pub task_id: u64,
    /// Lamports moved from the creator into the bounty pool.
    pub initial_bounty: u64,
    pub start_slot: u64,
    pub round_length: u64,
    pub unstake_cooldown_rounds: u64,
    #[cfg_attr(feature = "codama", codama(type = public_key))]
    pub manager: [u8; 32],
    pub executable_sha256: [u8; 32],
    pub params: RoundParams,
    pub allowed_failed_distributions: u8,
    /// Bump of the task PDA (see `pda::find_task_address`).
    pub bump: u8,
    /// Fewest committee seats for an audit to be upheld; at least 1.
    pub min_audit_seats: u16,
    /// Seats on each audit's committee, shared out by stake; at least `min_audit_seats`.
    pub audit_committee_seats: u16,
    /// 1: a token task whose nodes stake SOL rather than the mint. 0 otherwise.
    pub stake_in_lamports: u8,
    pub _padding: [u8; 1],
}

const _: () = assert!(core::mem::size_of::<CreateTaskArgs>() == 176);

/// Fixed part of `Stake`'s data.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct StakeArgs {
    /// Lamports moved from the operator into the node's stake.
    pub amount: u64,
    /// Bump of the node PDA (see `pda::find_node_address`).
    pub bump: u8,
    pub _padding: [u8; 7],
}

const _: () = assert!(core::mem::size_of::<StakeArgs>() == 16);

/// Fixed part of `SubmitProof`'s data.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct SubmitProofArgs {
    /// The round `c` committed to, sent in round `c + 1`; a reveal concerns round `c - 1`.
    pub round: u64,
    /// `SUBMIT_COMMITS`, `SUBMIT_REVEALS` or both.
    pub parts: u8,
    pub _padding: [u8; 7],
    /// Round `c`'s commitment, if `SUBMIT_COMMITS`.
    pub commitment: [u8; 32],
    /// Round `c - 1`'s digest and salt, if `SUBMIT_REVEALS`.
    pub digest: [u8; 32],
    pub salt: [u8; 32],
}

const _: () = assert!(core::mem::size_of::<SubmitProofArgs>() == 112);

/// `SubmitProofArgs::parts`: the instruction commits to round `c`'s proof.
pub const SUBMIT_COMMITS: u8 = 1;
/// `SubmitProofArgs::parts`: the instruction reveals round `c - 1`'s proof.
pub const SUBMIT_REVEALS: u8 = 2;

/// `RaiseAudit`'s data.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct RaiseAuditArgs {
    /// The round whose proof is audited.
    pub round: u64,
    /// Bump of the audit PDA (see `pda::find_audit_address`).
    pub bump: u8,
    pub _padding: [u8; 7],
    /// The raiser's digest of why it found the proof invalid, logged in
    /// `AuditRaised`; the program does not read it.
    pub reason: [u8; 32],
}

const _: () = assert!(core::mem::size_of::<RaiseAuditArgs>() == 48);

/// Fixed part of `ProposeDistribution`'s data.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[cfg_attr(feature = "codama", derive(codama::CodamaType))]
pub struct ProposeDistributionArgs {
    /// The round whose rewards the list pays.
    pub round: u64,
    pub total: u64,
    pub leaf_count: u64,
    pub root: [u8; 32],
    /// sha256 of the full list as served at the URL.
    pub content_hash: [u8; 32],
    /// Bump of the distribution PDA (see `pda::find_distribution_address`).
    pub bump: u8,
    pub _padding: [u8; 7],
}

const _: () = assert!(core::mem::size_of::<ProposeDistributionArgs>() == 96);

/// Reads a fixed-size struct from the front of `data`.
pub fn read_fixed<T: Pod>(data: &[u8]) -> Result<(T, &[u8]), GradualError> {
    let size = core::mem::size_of::<T>();
    if data.len() < size {
        return Err(GradualError::InvalidInstructionData);
    }
    let (head, rest) = data.split_at(size);
    Ok((bytemuck::pod_read_unaligned(head), rest))
}

/// Reads `u8 length, bytes` from the front of `data`.
pub fn read_text(data: &[u8]) -> Result<(&[u8], &[u8]), GradualError> {
    let (&len, rest) = data.split_first().ok_or(GradualError::InvalidInstructionData)?;
    let len = usize::from(len);
    if rest.len() < len {
        return Err(GradualError::InvalidInstructionData);
    }
    Ok(rest.split_at(len))
}

/// Reads a `u64` that must be the whole of `data`.
pub fn read_u64_exact(data: &[u8]) -> Result<u64, GradualError> {
    let bytes: [u8; 8] = data.try_into().map_err(|_| GradualError::InvalidInstructionData)?;
    Ok(u64::from_le_bytes(bytes))
}

/// Fails unless `data` is fully consumed.
pub fn expect_end(data: &[u8]) -> Result<(), GradualError> {
    if data.is_empty() {
        Ok(())
    } else {
        Err(GradualError::InvalidInstructionData)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn every_discriminator_unpacks_to_itself() {
        for (index, instruction) in GradualInstruction::ALL.iter().enumerate() {
            assert_eq!(*instruction as u8 as usize, index);
            let data = [*instruction as u8, 9];
            let (found, rest) = GradualInstruction::unpack(&data).unwrap();
            assert_eq!(found, *instruction);
            assert_eq!(rest, &[9]);
        }
    }

    #[test]
    fn unknown_and_empty_discriminators_fail() {
        for tag in GradualInstruction::ALL.len()..=usize::from(u8::MAX) {
            let tag = u8::try_from(tag).unwrap();
            assert_eq!(GradualInstruction::unpack(&[tag]), Err(GradualError::InvalidInstructionData));
        }
        assert_eq!(GradualInstruction::unpack(&[]), Err(GradualError::InvalidInstructionData));
    }

    #[test]
    fn text_and_fixed_reads_reject_short_data() {
        assert_eq!(read_text(&[3, b'a', b'b']), Err(GradualError::InvalidInstructionData));
        assert_eq!(read_text(&[2, b'a', b'b', 7]), Ok((&b"ab"[..], &[7u8][..])));
        assert!(read_fixed::<SubmitProofArgs>(&[0; 39]).is_err());
        assert_eq!(read_u64_exact(&[1, 0, 0, 0, 0, 0, 0, 0]), Ok(1));
        assert!(read_u64_exact(&[1, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(read_u64_exact(&[0; 9]).is_err());
    }
}
