//! `gradual task check PATH`: calls each part of a task the way nodes and
//! attackers will, on made-up inputs, and says what each answer was worth,
//! before anyone stakes: its own result must pass its audit, a tampered one
//! must fail it, and its rule must give the same list every time.

use std::{path::PathBuf, time::Duration, time::Instant};

use clap::Args;
use gradual_interface::Address;
use serde_json::{json, Value};

use super::{
    options::{OutputOption, SandboxOptions},
    simulate::{install_task, start_task, WorkDirs},
    CliError, CliResult, Context,
};
use crate::package::hex;
use crate::tasks::{
    check_leaves, DistributionInputs, Eligible, Judgement, Leaves, Submitted, Task, WorkContext,
};

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
    /// Seconds a call may take before it is killed and counted as late.
    #[arg(long, default_value_t = 60.0)]
    call_timeout: f64,
    /// Keep the task's working directory after the check (it is removed otherwise).
    #[arg(long)]
    keep_dirs: bool,
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

fn skipped(part: &str, needs: &str) -> Value {
    json!({ "part": part, "ok": false, "skipped": format!("needs {needs}, which failed") })
}

/// A node address for made-up inputs.
fn node(index: u8) -> Address {
    Address::new_from_array([index; 32])
}

/// Audits of the task's own result and of a tampered copy of it.
fn audits(task: &dyn Task, round: u64, submitted: &Submitted, result: &[u8]) -> [Value; 2] {
    let started = Instant::now();
    let own = match task.audit(round, submitted, result) {
        Judgement::Valid => Ok(json!({ "valid": true })),
        Judgement::Invalid(reason) => {
            Err(format!("the task's own honest result was judged invalid: {reason}"))
        }
        Judgement::CannotJudge(error) => Err(format!("the task cannot judge its own result: {error}")),
    };
    let own = verdict("audit", started, own);
    let started = Instant::now();
    // One bit changed in its middle: well-formed as far as a byte can keep it, and not the work.
    let forged = match task.audit(round, submitted, &crate::misbehaviour::corrupted(result.to_vec())) {
        Judgement::Invalid(reason) => Ok(json!({ "valid": false, "reason": reason })),
        Judgement::Valid => Err("a tampered result (one bit changed) was judged valid".to_string()),
        Judgement::CannotJudge(error) => {
            Err(format!("the audit failed on a tampered result instead of judging it invalid: {error}"))
        }
    };
    [own, verdict("audit_tampered", started, forged)]
}

/// The rule on small and large inputs, each twice or more: every list must
/// keep to the program's limits, and repeated calls must give the same one.
fn distributions(task: &dyn Task, round: u64, proof: ([u8; 32], &[u8])) -> Result<Value, String> {
    let eligible = |nodes: u8, stake: &dyn Fn(u8) -> u64| -> Vec<Eligible> {
        (1..=nodes)
            .map(|index| Eligible {
                node: node(index).to_bytes(),
                stake: stake(index),
                digest: proof.0,
                locator: proof.1.to_vec(),
            })
            .collect()
    };
    let cases = [
        ("2 nodes, equal stakes", eligible(2, &|_| 2_000_000_000), 2),
        ("40 nodes, stakes of 1 to 40 SOL", eligible(40, &|index| u64::from(index) * 1_000_000_000), 3),
    ];
    let mut lists = Vec::new();
    for (case, eligible, calls) in cases {
        let inputs = DistributionInputs {
            round,
            bounty: 1_000_000_000,
            eligible,
            excluded: vec![node(200).to_bytes()],
        };
        let first: Leaves = task.distribution(&inputs).map_err(|error| format!("{case}: {error}"))?;
        check_leaves(&inputs, &first).map_err(|error| format!("{case}: {error}"))?;
        for _ in 1..calls {
            let again = task.distribution(&inputs).map_err(|error| format!("{case}: {error}"))?;
            if again != first {
                return Err(format!(
                    "{case}: calls on the same inputs gave different lists: the rule must be deterministic"
                ));
            }
        }
        let root = gradual_interface::merkle::tree_of(&first).root();
        lists.push(json!({ "case": case, "leaves": first.len(), "total": first.iter().map(|leaf| leaf.1).sum::<u64>(), "root": hex(&root) }));
    }
    Ok(json!({ "lists": lists }))
}

pub fn check(context: &Context, args: CheckArgs) -> CliResult {
    if !(args.call_timeout.is_finite() && args.call_timeout > 0.0 && args.call_timeout <= 3_600.0) {
        return Err(CliError::usage("--call-timeout must be between 0 and 3600 seconds"));
    }
    let installed = install_task(&args.executable, &args.sandbox)?;
    let mut dirs = WorkDirs::new("check")?;
    let timeout = Some(Duration::from_secs_f64(args.call_timeout));
    let task = start_task(&installed, dirs.node(0), &args.task_env, &args.sandbox, timeout)?;
    let parts = task.parts().clone();
    let me = node(7);
    let work_context = WorkContext { task: node(1), node: me, round: args.round };
    let mut verdicts = Vec::new();

    let started = Instant::now();
    let result = task.work(&work_context);
    let outcome = result.as_ref().map(|bytes| json!({ "result_bytes": bytes.len() })).map_err(Clone::clone);
    verdicts.push(verdict("work", started, outcome));
    let proof = result.ok().map(|result| {
        let started = Instant::now();
        let proof = task.submission(args.round, &result);
        let outcome = proof.as_ref().map(|(digest, locator)| {
            json!({ "digest": hex(digest), "locator": String::from_utf8_lossy(locator), "implemented": parts.submission })
        });
        verdicts.push(verdict("submission", started, outcome.map_err(Clone::clone)));
        (result, proof.ok())
    });
    match proof {
        Some((result, Some((digest, locator)))) => {
            let submitted = Submitted { node: me, digest, locator };
            verdicts.extend(audits(&task, args.round, &submitted, &result));
        }
        Some((_, None)) => {
            verdicts.extend([skipped("audit", "submission"), skipped("audit_tampered", "submission")])
        }
        None => verdicts.extend(["submission", "audit", "audit_tampered"].map(|part| skipped(part, "work"))),
    }
    let started = Instant::now();
    let listed = distributions(&task, args.round, ([3; 32], b"v1/results/0"));
    verdicts.push(verdict(
        "distribution",
        started,
        listed.map(|lists| json!({ "implemented": parts.distribution, "checked": lists })),
    ));
    drop(task);
    if args.keep_dirs {
        if let Some(kept) = dirs.keep() {
            eprintln!("check: the task's working directory is kept in {}", kept.display());
        }
    }

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
        let skipped: Vec<&str> = verdicts
            .iter()
            .filter(|verdict| verdict.get("skipped").is_some())
            .filter_map(|verdict| verdict["part"].as_str())
            .collect();
        for verdict in verdicts.iter().filter(|verdict| verdict.get("skipped").is_none()) {
            let status = if verdict["ok"] == true { "ok    " } else { "FAILED" };
            let detail = verdict.get("error").or_else(|| verdict.get("answer")).cloned().unwrap_or_default();
            out!(
                "{status} {:<14} {:>7.3} s  {detail}",
                verdict["part"].as_str().unwrap_or_default(),
                verdict["seconds"].as_f64().unwrap_or(0.0)
            );
        }
        if !skipped.is_empty() {
            out!("SKIPPED {}: they need a part that failed above", skipped.join(", "));
        }
    }
    if ok {
        Ok(())
    } else {
        Err(CliError::usage("some parts of the task failed; see above"))
    }
}
