//! How fast `writ lint` and `writ fmt --check` go over a repository of workflows: a tree of
//! 10,000 typical files (~1 KB each, 100 folders of 100) in a temporary folder, timed as a CI
//! job runs them (the real binary, wall clock), beside `find . -name '*.writ' | xargs cat >
//! /dev/null` on the same tree in the same run, the floor of reading the files at all.
//!
//! `cargo bench --bench lint` prints the median of 5 runs of each and the ratio of lint to the
//! floor. Under `cargo test --all-targets` it runs once on 200 files, only to prove it works.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A typical workflow: the shape of the shipped examples, 1 KB.
fn typical(index: usize) -> String {
    format!(
        "// Re-prioritise a support ticket ({index}): the model suggests, a lead confirms.
workflow ticket_triage_{index} {{
  title \"Re-prioritise one support ticket\"
  owner ops_lead

  role support_lead, ops_lead

  system helpdesk: sqlite inside

  input ticket_id: int

  recommend suggest_priority {{
    reads helpdesk
    run exec \"scripts/suggest_priority\" [ticket_id]
    yields priority: text in [\"low\", \"normal\", \"urgent\"], reason: text
  }}

  confirm lead_review {{
    after suggest_priority
    by support_lead
    shows suggest_priority.priority, suggest_priority.reason
    expires 4h -> escalate ops_lead
  }}

  execute set_priority {{
    after lead_review
    writes helpdesk
    risk medium
    approver support_lead
    capture sql \"SELECT priority FROM tickets WHERE id = :ticket_id\"
    run sql \"UPDATE tickets SET priority = :suggest_priority.priority WHERE id = :ticket_id\"
  }}

  rollback restore_priority undoes set_priority {{
    repair by ops_lead
    run sql \"UPDATE tickets SET priority = :before.priority WHERE id = :ticket_id\"
  }}
}}
"
    )
}

fn tree(files: usize) -> PathBuf {
    let root = std::env::temp_dir().join(format!("writ-bench-lint-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    for index in 0..files {
        let dir = root.join(format!("team{:03}", index / 100));
        fs::create_dir_all(&dir).expect("create folder");
        fs::write(dir.join(format!("flow{index:05}.writ")), typical(index)).expect("write");
    }
    root
}

/// The median wall time of `runs` runs of `command` in `dir`, which must exit with `expected`.
fn median(runs: usize, dir: &Path, program: &str, args: &[&str], expected: i32) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let status = Command::new(program)
                .args(args)
                .current_dir(dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .expect("the command runs");
            let took = started.elapsed();
            assert_eq!(status.code(), Some(expected), "{program} {args:?}");
            took
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (files, runs) = if full { (10_000, 5) } else { (200, 1) };
    let root = tree(files);
    let bytes: u64 = fs::read_dir(root.join("team000"))
        .expect("read")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum::<u64>()
        / (files.min(100) as u64);
    let writ = env!("CARGO_BIN_EXE_writ");
    let cat = median(
        runs,
        &root,
        "sh",
        &["-c", "find . -name '*.writ' | xargs cat > /dev/null"],
        0,
    );
    let lint = median(runs, &root, writ, &["lint", "--format", "json"], 0);
    let fmt = median(runs, &root, writ, &["fmt", "--check"], 0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("lint bench: {files} files of ~{bytes} bytes, {cores} cores, median of {runs}");
    println!("  find | xargs cat   {:>8.3} s", cat.as_secs_f64());
    println!(
        "  writ lint          {:>8.3} s   ({:.1}x the cat)",
        lint.as_secs_f64(),
        lint.as_secs_f64() / cat.as_secs_f64().max(1e-9)
    );
    println!("  writ fmt --check   {:>8.3} s", fmt.as_secs_f64());
    let _ = fs::remove_dir_all(&root);
}
