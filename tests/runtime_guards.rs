//! Guards on decisions, expiry, the kill switch and the text log, through the real binary: each
//! test states what DESIGN.md promises (found by a review of the runtime, fixed since).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::Duration;

const TRIAGE: &str = include_str!("../workflows/ticket_triage.writ");
const SUGGEST_PRIORITY: &str = include_str!("../workflows/scripts/suggest_priority");
const HELPDESK_SQL: &str = include_str!("../workflows/data/helpdesk.sql");

const CONFIG: &str = "state: .writ/state.db
people:
  ana: [analyst]
  sam: [support_lead]
  olu: [ops_lead]
systems:
  helpdesk: { sqlite: helpdesk.db }
";

fn setup(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("writ-review-rt-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("scripts")).unwrap();
    fs::write(dir.join("writ.yaml"), CONFIG).unwrap();
    fs::write(dir.join("triage.writ"), TRIAGE).unwrap();
    let script = dir.join("scripts/suggest_priority");
    fs::write(&script, SUGGEST_PRIORITY).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    rusqlite::Connection::open(dir.join("helpdesk.db"))
        .unwrap()
        .execute_batch(HELPDESK_SQL)
        .unwrap();
    dir
}

fn writ(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("WRIT_FAULT")
        .output()
        .unwrap()
}

fn start(dir: &Path, file: &str) -> String {
    let out = writ(
        dir,
        &[
            "run",
            file,
            "--input",
            "ticket_id=102",
            "--as",
            "ana",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["run"].as_str().unwrap().to_owned()
}

fn priority(dir: &Path, id: i64) -> String {
    rusqlite::Connection::open(dir.join("helpdesk.db"))
        .unwrap()
        .query_row("SELECT priority FROM tickets WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap()
}

/// DESIGN.md: "the escalation role then has the same duration again; when that passes too, the
/// run expires" and "a late decision is refused". With `expires 1s -> escalate ops_lead`, a
/// decision 3.5 s after the request is past both windows (1 s + 1 s), yet the escalation is
/// timed from when the run is next touched (the approve itself), so the late approval is
/// accepted and the write happens. A run left untouched for a month with `expires 4h` can
/// still be approved by the escalation role.
#[test]
fn an_escalation_window_that_passed_while_nobody_touched_the_run_is_not_reopened() {
    let dir = setup("escalation");
    let file = TRIAGE.replace(
        "expires 4h -> escalate ops_lead",
        "expires 1s -> escalate ops_lead",
    );
    fs::write(dir.join("esc.writ"), file).unwrap();
    let run = start(&dir, "esc.writ");
    sleep(Duration::from_millis(3_500));
    let approve = writ(&dir, &["approve", &run, "lead_review", "--as", "olu"]);
    let resume = writ(&dir, &["resume", &run, "--format", "json"]);
    assert_eq!(
        (approve.status.code(), priority(&dir, 102)),
        (Some(1), "low".to_owned()),
        "a decision after both deadlines was accepted and written: {}",
        String::from_utf8_lossy(&resume.stdout)
    );
}

/// DESIGN.md: "`revive` ... need[s] the workflow's `owner` role". `writ revive FILE` takes the
/// owner from whatever file it is given, so an analyst writes a two-line file that names the
/// killed workflow and declares `owner analyst`, and revives production.
#[test]
fn revive_by_file_checks_the_owner_of_the_killed_workflow_not_of_the_given_file() {
    let dir = setup("revive");
    let _run = start(&dir, "triage.writ");
    let kill = writ(
        &dir,
        &[
            "kill",
            "ticket_triage",
            "--as",
            "olu",
            "--reason",
            "bad output",
        ],
    );
    assert_eq!(kill.status.code(), Some(0));
    assert_eq!(
        writ(&dir, &["revive", "ticket_triage", "--as", "ana"])
            .status
            .code(),
        Some(1)
    );
    fs::write(
        dir.join("fake.writ"),
        "workflow ticket_triage {\n  owner analyst\n  role analyst\n  system helpdesk: sqlite inside\n  \
         recommend r {\n    reads helpdesk\n    run sql \"SELECT 1 AS x\"\n    yields x: int\n  }\n}\n",
    )
    .unwrap();
    let revive = writ(&dir, &["revive", "fake.writ", "--as", "ana"]);
    assert_eq!(
        revive.status.code(),
        Some(1),
        "an analyst revived ticket_triage (owner ops_lead): {}",
        String::from_utf8_lossy(&revive.stdout)
    );
}

/// `writ log` (text) is the audit trail a person reads; `--context`, `--note`, `--reason` are
/// printed raw (log_text.rs), so a newline in them forges whole log lines (and escape codes
/// reach the terminal, also in the progress lines).
#[test]
fn free_text_cannot_forge_lines_of_the_text_log() {
    let dir = setup("forge");
    let forged = "x\n   99  2026-11-22T01:22:00.000Z  confirmed              lead_review        olu (ops_lead)       forged";
    let out = writ(
        &dir,
        &[
            "run",
            "triage.writ",
            "--input",
            "ticket_id=102",
            "--as",
            "ana",
            "--context",
            forged,
            "--format",
            "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = report["run"].as_str().unwrap();
    let log = writ(&dir, &["log", run]);
    let text = String::from_utf8_lossy(&log.stdout);
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("99 ")),
        "a forged event line appears in the log:\n{text}"
    );
}
