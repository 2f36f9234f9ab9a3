//! What the sandbox adds to a task call: the median time of a `work` call
//! to the SDK's hello packages (Python and JavaScript), sandboxed and with
//! `--unsandboxed`, over the same process-per-call path `node run` uses.
//! `make bench-sandbox` runs it; the rows go in `docs/benchmarks.md`.

use std::time::{Duration, Instant};

use gradual_interface::Address;
use gradual_node::{
    package,
    tasks::{External, ExternalConfig, SandboxChoice, Task, WorkContext},
};

const CALLS: usize = 60;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn calls(dir: &str, unsandboxed: bool) -> Duration {
    let work = tempfile::tempdir().expect("temp dir");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
    let (_, bytes) = package::pack(&path).expect("pack");
    let sha256 = gradual_node::tasks::sha256(&bytes);
    let installed = package::install_bytes(&bytes, &sha256, &work.path().join("cache")).expect("install");
    let task = External::start(ExternalConfig {
        package: installed,
        work_dir: work.path().join("work"),
        variables: Default::default(),
        sandbox: SandboxChoice { unsandboxed, ..SandboxChoice::default() },
    })
    .expect("start");
    let context = WorkContext {
        task: Address::new_from_array([1; 32]),
        node: Address::new_from_array([2; 32]),
        round: 0,
    };
    // One call unmeasured, so caches are warm for both.
    task.work(&context).expect("work");
    median(
        (0..CALLS)
            .map(|_| {
                let started = Instant::now();
                task.work(&context).expect("work");
                started.elapsed()
            })
            .collect(),
    )
}

fn main() {
    println!("| runtime | unsandboxed | sandboxed | added |");
    println!("|---|---|---|---|");
    for (name, dir) in [("Python 3.11", "sdk/python/examples/hello"), ("Node 20", "sdk/js/examples/hello")] {
        let open = calls(dir, true);
        let confined = calls(dir, false);
        let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
        println!(
            "| {name} | {:.1} ms | {:.1} ms | {:.1} ms |",
            ms(open),
            ms(confined),
            ms(confined) - ms(open)
        );
    }
}
