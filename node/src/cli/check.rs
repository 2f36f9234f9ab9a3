//! `gradual task check PATH`: calls each part of a task executable once, on
//! made-up inputs, and says what each answer was worth, before anyone stakes.

use std::{path::PathBuf, time::Instant};

use clap::Args;
use gradual_interface::Address;
use serde_json::{json, Value};

use super::{
    options::{OutputOption, SandboxOptions},
    simulate::external_task,
    CliError, CliResult, Context,
};
use crate::tasks::{check_leaves, DistributionInputs, Eligible, Judgement, Submitted, Task, WorkContext};

#[derive(Args)]
pub struct CheckArgs {
    /// The task: a package directory or file, or a single executable.
    pub executable: PathBuf,
    /// The round to work.
    #[arg(long, default_value_t = 0)]
    round: u64,
    /// A variable for the executable, KEY=VALUE (repeatable); passed only if the task declares it.
    #[arg(long = "task-env", value_name = "KEY=VALUE")]
    task_env: Vec<String>,
    #[command(flatten)]
    pub sandbox: SandboxOptions,
    #[command(flatten)]
    pub options: OutputOption,
}

/// One part's verdict: whether its answer is usable, what it was, and how long it took.
fn verdict(part: &str, started: Instant, outcome: Result<Value, String>) -> Value {
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(detail) => json!({ "part": part, "ok": true, "seconds": seconds, "answer": detail }),
        Err(error) => json!({ "part": part, "ok": false, "seconds": seconds, "error": error }),
    }
}

pub fn check(context: &Context, args: CheckArgs) -> CliResult {
    let task = external_task(&args.executable, &args.task_env, "check", &args.sandbox)?;
    let parts = task.parts().clone();
    let (me, peer) = (Address::new_from_array([7; 32]), Address::new_from_array([8; 32]));
    let work_context = WorkContext { task: Address::new_from_array([1; 32]), node: me, round: args.round };
    let mut verdicts = Vec::new();

    let started = Instant::now();
    let result = task.work(&work_context);
    verdicts.push(verdict(
        "work",
        started,
        result.as_ref().map(|bytes| json!({ "result_bytes": bytes.len() })).map_err(Clone::clone),
    ));
    let result = result.unwrap_or_default();

    let started = Instant::now();
    let proof = task.submission(args.round, &result);
    verdicts.push(verdict(
        "submission",
        started,
        proof
            .as_ref()
            .map(|(digest, locator)| {
                json!({
                    "digest": digest.iter().map(|byte| format!("{byte:02x}")).collect::<String>(),
                    "locator": String::from_utf8_lossy(locator),
                    "implemented": parts.submission,
                })
            })
            .map_err(Clone::clone),
    ));
    let (digest, locator) = proof.unwrap_or_default();

    // An auditor judging this node's own honest result must find it valid.
    let started = Instant::now();
    let submitted = Submitted { node: me, digest, locator: locator.clone() };
    let judged = match task.audit(args.round, &submitted, &result) {
        Judgement::Valid => Ok(json!({ "valid": true })),
        Judgement::Invalid(reason) => {
            Err(format!("the task's own honest result was judged invalid: {reason}"))
        }
        Judgement::CannotJudge(error) => Err(format!("the task cannot judge: {error}")),
    };
    verdicts.push(verdict("audit", started, judged));

    let started = Instant::now();
    let eligible = [me, peer]
        .iter()
        .map(|node| Eligible {
            node: node.to_bytes(),
            stake: 2_000_000_000,
            digest,
            locator: locator.clone(),
        })
        .collect();
    let inputs = DistributionInputs {
        round: args.round,
        bounty: 1_000_000_000,
        eligible,
        excluded: vec![Address::new_from_array([9; 32]).to_bytes()],
    };
    let listed = task.distribution(&inputs).and_then(|leaves| {
        check_leaves(&inputs, &leaves)?;
        let again = task.distribution(&inputs)?;
        if again != leaves {
            return Err("two calls on the same inputs gave different lists: the rule must be deterministic".into());
        }
        Ok(json!({
            "leaves": leaves.iter().map(|(node, amount)| json!({ "node": Address::new_from_array(*node).to_string(), "amount": amount })).collect::<Vec<_>>(),
            "implemented": parts.distribution,
        }))
    });
    verdicts.push(verdict("distribution", started, listed));

    let ok = verdicts.iter().all(|verdict| verdict["ok"] == true);
    let report = json!({
        "executable": args.executable,
        "protocol": parts.protocol,
        "variables": parts.variables,
        "parts": verdicts,
        "ok": ok,
    });
    if context.json {
        out!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        out!("{} speaks protocol {}", args.executable.display(), parts.protocol);
        for verdict in &verdicts {
            let status = if verdict["ok"] == true { "ok    " } else { "FAILED" };
            let detail = verdict.get("error").or_else(|| verdict.get("answer")).cloned().unwrap_or_default();
            out!(
                "{status} {:<12} {:>7.3} s  {detail}",
                verdict["part"].as_str().unwrap_or_default(),
                verdict["seconds"].as_f64().unwrap_or(0.0)
            );
        }
    }
    if ok {
        Ok(())
    } else {
        Err(CliError::usage("some parts of the task failed; see above"))
    }
}
