//! Every error the program returns, as `ProgramError::Custom(code)`.
//! Codes are stable: a variant is never renumbered or reused.

use solana_program_error::ProgramError;

macro_rules! errors {
    ($( $(#[doc = $doc:literal])+ $name:ident = $code:literal, )+) => {
        /// Custom errors of the Gradual program.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        pub enum GradualError {
            $( $(#[doc = $doc])+ $name = $code, )+
        }

        impl GradualError {
            /// Every variant, in code order.
            pub const ALL: &'static [GradualError] = &[$(GradualError::$name,)+];

            /// The variant with this code, if any.
            pub const fn from_code(code: u32) -> Option<Self> {
                match code {
                    $( $code => Some(GradualError::$name), )+
                    _ => None,
                }
            }

            /// The variant's name, as in `docs/protocol.md`.
            pub const fn name(self) -> &'static str {
                match self { $( GradualError::$name => stringify!($name), )+ }
            }

            /// One line saying what went wrong.
            pub const fn message(self) -> &'static str {
                match self { $( GradualError::$name => concat!($($doc),+), )+ }
            }
        }
    };
}

errors! {
    /// The instruction data is malformed: empty, an unknown discriminator, the wrong length or an invalid value.
    InvalidInstructionData = 0,
    /// The task account is not a Gradual task (wrong owner, length, discriminator or version).
    InvalidTaskAccount = 1,
    /// The node account is not a Gradual node (wrong owner, length, discriminator or version).
    InvalidNodeAccount = 2,
    /// The task account's address is not a PDA of its creator, task id and the given bump.
    InvalidTaskAddress = 3,
    /// The node account's address is not a PDA of its task, operator and the given bump.
    InvalidNodeAddress = 4,
    /// The node account belongs to another task.
    NodeTaskMismatch = 5,
    /// The signer is not the node's operator.
    OperatorMismatch = 6,
    /// The signer is not the task's manager.
    ManagerMismatch = 7,
    /// The signer is not the task's creator.
    CreatorMismatch = 8,
    /// The system program account is not the system program.
    InvalidSystemProgram = 9,
    /// The account to create already holds data or belongs to another program.
    AccountAlreadyInUse = 10,
    /// An amount overflowed or underflowed.
    ArithmeticOverflow = 11,
    /// An amount of zero lamports was given where a positive amount is required.
    ZeroAmount = 12,
    /// The task name is empty or longer than 32 bytes.
    InvalidName = 13,
    /// The task description is longer than 192 bytes.
    InvalidDescription = 14,
    /// The executable locator is empty or longer than 128 bytes.
    InvalidExecutableLocator = 15,
    /// The bounty per round is zero.
    ZeroBountyPerRound = 16,
    /// The round length is zero.
    ZeroRoundLength = 17,
    /// A window (submission, audit, distribution or distribution audit) is zero slots long.
    ZeroWindow = 18,
    /// The submission and audit windows together are longer than a round.
    SubmissionWindowsExceedRound = 19,
    /// The distribution and distribution audit windows together are longer than a round.
    DistributionWindowsExceedRound = 20,
    /// The minimum stake is zero.
    ZeroMinimumStake = 21,
    /// The slash rate is above 10,000 basis points.
    SlashRateTooHigh = 22,
    /// The audit bond is below 890,880 lamports, the rent-exempt minimum of an empty account, so refunding it could fail.
    AuditBondBelowRent = 23,
    /// The unstake cooldown is shorter than 3 rounds, so an audit could still reach a node that left.
    UnstakeCooldownTooShort = 24,
    /// The first round's start slot is already in the past.
    StartSlotInPast = 25,
    /// More than 5 failed distributions allowed per round.
    TooManyFailedDistributions = 26,
    /// The manager is the default (all-zero) address.
    InvalidManager = 27,
    /// The task is paused.
    TaskPaused = 28,
    /// The task is already in the requested active state.
    TaskStateUnchanged = 29,
    /// The service URL is empty or longer than 128 bytes.
    InvalidServiceUrl = 30,
    /// The node's total stake would be below the task's minimum stake.
    StakeBelowMinimum = 31,
    /// The node has asked to unstake; it cannot add stake or ask again.
    NodeExiting = 32,
    /// The node has not asked to unstake.
    NodeNotExiting = 33,
    /// The unstake cooldown has not yet elapsed.
    CooldownNotElapsed = 34,
    /// Audits against the node are still open.
    OpenAuditsPending = 35,
    /// The amount is more than the node's stake.
    InsufficientStake = 36,
    /// The slot is outside the submission window for that round.
    OutsideSubmissionWindow = 37,
    /// The node's stake was not active (or below the minimum) for that round.
    StakeNotActiveForRound = 38,
    /// The node already submitted a proof for that round.
    AlreadySubmitted = 39,
    /// The proof locator is empty or longer than 64 bytes.
    InvalidProofLocator = 40,
    /// Nodes are still staked on the task.
    TaskHasStake = 41,
    /// The task is active and its pool still funds another round.
    TaskNotFinished = 42,
    /// The task's parameters for that round are no longer kept on-chain.
    RoundParamsUnavailable = 43,
    /// Reserved padding bytes in the instruction data are not zero.
    NonZeroPadding = 44,
    /// More accounts were passed than the instruction takes.
    TooManyAccounts = 45,
    /// The paying account does not hold enough lamports.
    InsufficientFunds = 46,
    /// The task's audit quorum (`min_audit_seats`) is zero.
    ZeroMinimumSeats = 47,
    /// The audit account is not a Gradual audit (wrong owner, length, discriminator or version).
    InvalidAuditAccount = 48,
    /// The audit account's address is not a PDA of its target node, round and the given bump.
    InvalidAuditAddress = 49,
    /// The slot is outside the audit window for that round.
    OutsideAuditWindow = 50,
    /// A node cannot audit or vote on its own proof.
    SelfAudit = 51,
    /// The target node has no proof for that round.
    NoSubmissionForRound = 52,
    /// That proof has already been audited.
    AlreadyAudited = 53,
    /// The node already voted in this audit or on this list.
    AlreadyVoted = 54,
    /// The node has cast its maximum number of votes for that round.
    VoteLimitReached = 55,
    /// The audit window has not closed yet.
    AuditWindowOpen = 56,
    /// An account passed to resolve the audit is not the one it records.
    AuditAccountMismatch = 57,
    /// The distribution window is shorter than 8 slots or longer than 500.
    InvalidDistributionWindow = 58,
    /// The distribution account is not a Gradual distribution (wrong owner, length, discriminator or version).
    InvalidDistributionAccount = 59,
    /// The distribution account's address is not a PDA of its task, round and the given bump.
    InvalidDistributionAddress = 60,
    /// The slot is outside a distribution window of that round (or every attempt is used up).
    OutsideDistributionWindow = 61,
    /// The node is not entitled to propose at this slot of this attempt.
    NotEntitledToPropose = 62,
    /// The proposal's total exceeds the round's bounty or the pool.
    TotalExceedsBounty = 63,
    /// The list's URL is empty or longer than 128 bytes, or it has no leaves but a non-zero total.
    InvalidDistributionList = 64,
    /// The round's list is open for votes, approved or failed, or this attempt has already proposed.
    DistributionNotOpenForProposal = 65,
    /// The list is not open for votes.
    DistributionNotOpenForVotes = 66,
    /// The slot is outside the list's distribution audit window.
    OutsideDistributionAuditWindow = 67,
    /// The proposer cannot vote on its own list.
    ProposerCannotVote = 68,
    /// The distribution audit window has not closed yet.
    DistributionVoteOpen = 69,
    /// The list is not approved.
    DistributionNotApproved = 70,
    /// The claim period is over.
    ClaimPeriodOver = 71,
    /// The node already claimed this round's reward, or an upheld audit excluded it from the round.
    AlreadyClaimed = 72,
    /// The Merkle proof does not lead from this node and amount to the list's root.
    InvalidProof = 73,
    /// The claim would take the list's claims above its total.
    ClaimExceedsTotal = 74,
    /// The distribution cannot expire yet.
    DistributionNotExpired = 75,
    /// The slot hash that seeds proposer selection or an audit committee is no longer available.
    SeedUnavailable = 76,
    /// An account passed to settle the distribution is not the one it records.
    DistributionAccountMismatch = 77,
    /// Distribution accounts of the task have not expired yet.
    TaskHasOpenDistributions = 78,
    /// An audit window (of proofs or of lists) is shorter than 2 slots: raises or disputes need its first half, answers the rest.
    AuditWindowTooShort = 79,
    /// The proposer has no unexcluded proof for the round it proposes to pay.
    ProposerHasNoProof = 80,
    /// The round already has a distribution account (one per round, whatever the bump).
    DistributionAlreadyExists = 81,
    /// The voter holds no seat on this audit's committee.
    NotOnCommittee = 82,
    /// Disputes (votes against a list) are taken only in the first half of its vote window.
    DisputeWindowClosed = 83,
    /// The audit committee has no seats, or fewer than `min_audit_seats`.
    InvalidCommitteeSeats = 84,
    /// The audit window is longer than 1,000 slots: its votes could come after the committee seed leaves the slot hashes.
    AuditWindowTooLong = 85,
    /// The revealed proof does not hash to the round's commitment.
    RevealMismatch = 86,
    /// There is no unrevealed commitment for the round being revealed.
    NothingToReveal = 87,
    /// The submission neither commits nor reveals, or names parts that do not exist.
    InvalidSubmissionParts = 88,
    /// The account given as the Clock sysvar is not it.
    InvalidClockAccount = 89,
    /// The package scheduled before has been in effect for fewer than 9 rounds: rounds it ran may still be audited or distributed.
    PackageChangePending = 90,
    /// The bump gives an address on the ed25519 curve, which no program can sign for: try another bump.
    BumpOnCurve = 91,
    /// The mint is not an initialised mint of the SPL Token or Token-2022 program.
    InvalidMint = 92,
    /// The mint's Token-2022 extensions do not parse.
    MalformedMint = 93,
    /// The mint has a permanent delegate, who could move the task's escrowed tokens.
    MintHasPermanentDelegate = 94,
    /// The mint has a transfer hook, whose program could refuse every claim.
    MintHasTransferHook = 95,
    /// The mint's tokens cannot be transferred.
    MintNonTransferable = 96,
    /// The mint's new token accounts start frozen, the task's escrow among them.
    MintDefaultFrozen = 97,
    /// The mint has a Token-2022 extension this program does not know, which could let a third party move or lock the escrow.
    MintUnknownExtension = 98,
    /// The token program account is not SPL Token or Token-2022, or not the task's.
    InvalidTokenProgram = 99,
    /// The mint account is not the task's mint.
    MintMismatch = 100,
    /// The escrow account is not the task's vault (the task's associated token account).
    VaultMismatch = 101,
    /// The token account is not a token account of the task's mint owned by the wallet this instruction pays or charges.
    InvalidTokenAccount = 102,
    /// The associated token account program account is not that program.
    InvalidAssociatedTokenProgram = 103,
    /// SOL stake was asked for a task that already pays in SOL, or a stake asset flag is not 0 or 1.
    InvalidStakeAsset = 104,
}

impl From<GradualError> for ProgramError {
    fn from(error: GradualError) -> Self {
        ProgramError::Custom(error as u32)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_and_round_trip() {
        for (index, error) in GradualError::ALL.iter().enumerate() {
            assert_eq!(*error as u32 as usize, index);
            assert_eq!(GradualError::from_code(*error as u32), Some(*error));
            assert!(!error.message().is_empty());
        }
        let past_end = u32::try_from(GradualError::ALL.len()).unwrap();
        assert_eq!(GradualError::from_code(past_end), None);
    }
}
