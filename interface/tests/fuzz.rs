//! Fuzzing what people and peers control in the interface crate: instruction
//! data and account bytes. Every decoder must refuse bad input with an error
//! or `None`, never panic, and must give back exactly what a builder encoded.
//! `PROPTEST_CASES=N` runs longer (docs/testing.md).

#![allow(clippy::arithmetic_side_effects)]

use gradual_interface::{
    builders::{self, CreateTaskConfig, Proposal},
    error::GradualError,
    instruction::{
        expect_end, read_fixed, read_text, read_u64_exact, CreateTaskArgs, GradualInstruction,
        ProposeDistributionArgs, RaiseAuditArgs, StakeArgs, SubmitProofArgs, SUBMIT_COMMITS, SUBMIT_REVEALS,
    },
    state::{
        tracked_lamports, Account, AccountKind, Audit, Distribution, Node, RoundParams, Task, ACCOUNT_VERSION,
    },
    Address,
};
use proptest::{collection::vec, prelude::*};

/// Checks `read_fixed::<T>` against its contract on `data`.
fn check_fixed<T: bytemuck::Pod>(data: &[u8]) -> Result<(), TestCaseError> {
    let size = core::mem::size_of::<T>();
    match read_fixed::<T>(data) {
        Ok((value, rest)) => {
            prop_assert!(data.len() >= size);
            prop_assert_eq!(bytemuck::bytes_of(&value), &data[..size]);
            prop_assert_eq!(rest, &data[size..]);
        }
        Err(error) => {
            prop_assert!(data.len() < size);
            prop_assert_eq!(error, GradualError::InvalidInstructionData);
        }
    }
    Ok(())
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..300)
}

fn round_params() -> impl Strategy<Value = RoundParams> {
    any::<[u64; 7]>().prop_flat_map(|numbers| {
        any::<u16>().prop_map(move |slash_rate_bps| RoundParams {
            bounty_per_round: numbers[0],
            submission_window: numbers[1],
            audit_window: numbers[2],
            distribution_window: numbers[3],
            distribution_audit_window: numbers[4],
            min_stake: numbers[5],
            audit_bond: numbers[6],
            slash_rate_bps,
            _padding: [0; 6],
        })
    })
}

proptest! {
    #[test]
    fn any_instruction_data_decodes_or_is_refused(data in vec(any::<u8>(), 0..512)) {
        match GradualInstruction::unpack(&data) {
            Ok((instruction, rest)) => {
                prop_assert_eq!(instruction as u8, data[0]);
                prop_assert_eq!(rest, &data[1..]);
            }
            Err(error) => {
                prop_assert_eq!(error, GradualError::InvalidInstructionData);
                prop_assert!(data.is_empty() || usize::from(data[0]) >= GradualInstruction::ALL.len());
            }
        }
        let body = data.get(1..).unwrap_or_default();
        check_fixed::<CreateTaskArgs>(body)?;
        check_fixed::<StakeArgs>(body)?;
        check_fixed::<SubmitProofArgs>(body)?;
        check_fixed::<RaiseAuditArgs>(body)?;
        check_fixed::<ProposeDistributionArgs>(body)?;
        check_fixed::<RoundParams>(body)?;
        match read_text(body) {
            Ok((text, rest)) => {
                prop_assert_eq!(text.len(), usize::from(body[0]));
                prop_assert_eq!(text.len() + rest.len() + 1, body.len());
            }
            Err(_) => prop_assert!(body.is_empty() || body.len() <= usize::from(body[0])),
        }
        prop_assert_eq!(read_u64_exact(body).is_ok(), body.len() == 8);
        prop_assert_eq!(expect_end(body).is_ok(), body.is_empty());
    }

    #[test]
    fn create_task_data_decodes_to_what_was_built(
        task_id in any::<u64>(),
        numbers in any::<[u64; 4]>(),
        params in round_params(),
        name in text(),
        description in text(),
        locator in text(),
    ) {
        let creator = Address::new_from_array([9; 32]);
        let config = CreateTaskConfig {
            args: CreateTaskArgs {
                task_id,
                initial_bounty: numbers[0],
                start_slot: numbers[1],
                round_length: numbers[2],
                unstake_cooldown_rounds: numbers[3],
                manager: [3; 32],
                executable_sha256: [4; 32],
                params,
                allowed_failed_distributions: 2,
                bump: 0,
                min_audit_seats: 1,
                audit_committee_seats: 1,
                stake_in_lamports: 0,
                _padding: [0; 1],
            },
            name: name.clone(),
            description: description.clone(),
            executable_locator: locator.clone(),
        };
        let instruction = builders::create_task(&creator, &config);
        let (kind, rest) = GradualInstruction::unpack(&instruction.data).expect("discriminator");
        prop_assert_eq!(kind, GradualInstruction::CreateTask);
        let (args, rest) = read_fixed::<CreateTaskArgs>(rest).expect("args");
        prop_assert_eq!(CreateTaskArgs { bump: 0, ..args }, config.args);
        let (decoded_name, rest) = read_text(rest).expect("name");
        let (decoded_description, rest) = read_text(rest).expect("description");
        let (decoded_locator, rest) = read_text(rest).expect("locator");
        prop_assert!(expect_end(rest).is_ok());
        // Text longer than 255 bytes is cut by the builder, never misread.
        prop_assert_eq!(decoded_name, &name[..name.len().min(255)]);
        prop_assert_eq!(decoded_description, &description[..description.len().min(255)]);
        prop_assert_eq!(decoded_locator, &locator[..locator.len().min(255)]);
    }

    #[test]
    fn proof_stake_and_list_data_decode_to_what_was_built(
        round in any::<u64>(),
        amount in any::<u64>(),
        digest in any::<[u8; 32]>(),
        locator in text(),
        leaves in vec((any::<[u8; 32]>(), 0u64..u64::MAX / 64), 1..16),
    ) {
        let (operator, task) = (Address::new_from_array([1; 32]), Address::new_from_array([2; 32]));

        let reveal = builders::Reveal { digest, locator: locator.clone(), salt: [9; 32] };
        let submit = builders::submit_proof(&operator, &task, round, Some([7; 32]), Some(&reveal));
        let (kind, rest) = GradualInstruction::unpack(&submit.data).expect("discriminator");
        prop_assert_eq!(kind, GradualInstruction::SubmitProof);
        let (args, rest) = read_fixed::<SubmitProofArgs>(rest).expect("args");
        let parts = SUBMIT_COMMITS | SUBMIT_REVEALS;
        let expected =
            SubmitProofArgs { round, parts, _padding: [0; 7], commitment: [7; 32], digest, salt: [9; 32] };
        prop_assert_eq!(args, expected);
        let (decoded, rest) = read_text(rest).expect("locator");
        prop_assert_eq!(decoded, &locator[..locator.len().min(255)]);
        prop_assert!(expect_end(rest).is_ok());

        let stake = builders::stake(&operator, &task, amount, &locator);
        let (kind, rest) = GradualInstruction::unpack(&stake.data).expect("discriminator");
        prop_assert_eq!(kind, GradualInstruction::Stake);
        let (args, rest) = read_fixed::<StakeArgs>(rest).expect("args");
        prop_assert_eq!(args.amount, amount);
        prop_assert!(read_text(rest).is_ok_and(|(_, rest)| rest.is_empty()));

        let withdraw = builders::withdraw_stake(&operator, &task, amount);
        prop_assert_eq!(read_u64_exact(&withdraw.data[1..]), Ok(amount));

        let proposal = Proposal::of(round, &leaves, locator.clone());
        let propose = builders::propose_distribution(&operator, &task, &proposal);
        let (kind, rest) = GradualInstruction::unpack(&propose.data).expect("discriminator");
        prop_assert_eq!(kind, GradualInstruction::ProposeDistribution);
        let (args, rest) = read_fixed::<ProposeDistributionArgs>(rest).expect("args");
        prop_assert_eq!((args.round, args.total, args.leaf_count), (round, proposal.total, leaves.len() as u64));
        prop_assert_eq!((args.root, args.content_hash), (proposal.root, proposal.content_hash));
        prop_assert!(read_text(rest).is_ok_and(|(_, rest)| rest.is_empty()));
    }

    #[test]
    fn any_account_bytes_load_or_are_refused(
        kind in 0u8..6,
        version in prop_oneof![Just(ACCOUNT_VERSION), any::<u8>()],
        length in prop_oneof![Just(None), (0usize..3000).prop_map(Some)],
        misalign in prop_oneof![Just(0usize), 1usize..8],
        seed in any::<u64>(),
    ) {
        let lengths = [Task::LEN, Node::LEN, Audit::LEN, Distribution::LEN];
        let len = length.unwrap_or(lengths[usize::from(kind) % lengths.len()]);
        // Random bytes from a cheap generator: the header is what the loaders judge.
        let mut state = seed | 1;
        let mut buffer: Vec<u8> = (0..len + 8)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        // An 8-aligned start, then `misalign` bytes in.
        let start = (8 - (buffer.as_ptr() as usize % 8)) % 8 + misalign;
        if buffer.len() < start + len {
            buffer.resize(start + len, 0);
        }
        let data = &mut buffer[start..start + len];
        if len >= 2 {
            data[0] = kind;
            data[1] = version;
        }
        check_account::<Task>(data, |task| {
            let _ = (task.name(), task.description(), task.executable_locator(), task.is_active());
            let timeline = task.timeline();
            let _ = (timeline.round_at(seed), timeline.position_at(seed), timeline.round_start(seed));
            let _ = task.params_for(seed % 64);
        })?;
        check_account::<Node>(data, |node| {
            let _ = (node.service_url(), node.total_stake(), node.is_exiting());
            let _ = (node.stake_for_round(seed), node.submission(seed).map(|entry| entry.locator()));
        })?;
        check_account::<Audit>(data, |audit| {
            let _ = audit.is_upheld();
        })?;
        check_account::<Distribution>(data, |list| {
            let _ = (list.url(), list.is_rejected());
        })?;
        // What each kind tracks, read the way the conservation check reads it.
        let expected = Task::read(data)
            .map(|task| Some(task.bounty_pool))
            .or_else(|| Node::read(data).map(|node| Some(node.total_stake())))
            .or_else(|| Audit::read(data).map(|audit| Some(audit.bond)))
            .or_else(|| Distribution::read(data).map(|list| list.bond.checked_add(list.reserved)))
            .flatten();
        let known = [AccountKind::Task, AccountKind::Node, AccountKind::Audit, AccountKind::Distribution];
        let recognised = len >= 2
            && version == ACCOUNT_VERSION
            && known.iter().zip(lengths).any(|(account, size)| *account as u8 == kind && size == len);
        prop_assert!(expected.is_none() || recognised);
        prop_assert_eq!(tracked_lamports(data), expected);
    }
}

/// `load` views `data` only when its length, kind, version and alignment are
/// right; `read` copies it whatever the alignment. Accessors never panic.
fn check_account<T: Account>(data: &mut [u8], use_it: impl Fn(&T)) -> Result<(), TestCaseError> {
    let header_ok = data.len() == T::LEN && data[0] == T::KIND as u8 && data[1] == ACCOUNT_VERSION;
    let aligned = (data.as_ptr() as usize).is_multiple_of(core::mem::align_of::<T>());
    prop_assert_eq!(T::load(data).is_some(), header_ok && aligned);
    prop_assert_eq!(T::load_mut(data).is_some(), header_ok && aligned);
    let read = T::read(data);
    prop_assert_eq!(read.is_some(), header_ok);
    if let Some(value) = read {
        use_it(&value);
    }
    Ok(())
}
