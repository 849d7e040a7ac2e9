//! Guards on decisions, expiry, the kill switch and the text log, through the real binary: each
//! test states what docs/runtime.md promises (found by a review of the runtime, fixed since).

use crate::support::bed;

use std::thread::sleep;
use std::time::Duration;

use bed::{Bed, HELPDESK_CONFIG};

const TRIAGE: &str = include_str!("../../workflows/ticket_triage.writ");
const SUGGEST_PRIORITY: &str = include_str!("../../workflows/scripts/suggest_priority");

/// A folder with the config, the helpdesk, ticket_triage.writ as `triage.writ` and its script.
fn setup(name: &str) -> Bed {
    let bed = Bed::new(name);
    bed.file("writ.yaml", HELPDESK_CONFIG);
    bed.file("triage.writ", TRIAGE);
    bed.script("scripts/suggest_priority", SUGGEST_PRIORITY);
    bed.helpdesk("helpdesk.db");
    bed
}

/// Starts a run of `file` for ticket 102, which waits for `lead_review`; returns its id.
fn start(bed: &Bed, file: &str) -> String {
    let (out, run) = bed.start(file, &["ticket_id=102"], "ana");
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    run
}

fn priority(bed: &Bed, id: i64) -> String {
    bed.query_one(
        "helpdesk.db",
        &format!("SELECT priority FROM tickets WHERE id = {id}"),
    )
}

/// docs/runtime.md: "the escalation role then has the same duration again; when that passes too, the
/// run expires" and "a late decision is refused". With `expires 1s -> escalate ops_lead`, a
/// decision 3.5 s after the request is past both windows (1 s + 1 s), yet the escalation is
/// timed from when the run is next touched (the approve itself), so the late approval is
/// accepted and the write happens. A run left untouched for a month with `expires 4h` can
/// still be approved by the escalation role.
#[test]
fn an_escalation_window_that_passed_while_nobody_touched_the_run_is_not_reopened() {
    let bed = setup("escalation");
    let file = TRIAGE.replace(
        "expires 4h -> escalate ops_lead",
        "expires 1s -> escalate ops_lead",
    );
    bed.file("esc.writ", &file);
    let run = start(&bed, "esc.writ");
    sleep(Duration::from_millis(3_500));
    let approve = bed.writ(&["approve", &run, "lead_review", "--as", "olu"]);
    let resume = bed.writ(&["resume", &run, "--format", "json"]);
    assert_eq!(
        (approve.code, priority(&bed, 102)),
        (Some(1), "low".to_owned()),
        "a decision after both deadlines was accepted and written: {}",
        resume.stdout
    );
}

/// docs/runtime.md: "`revive` ... need[s] the workflow's `owner` role". `writ revive FILE` takes the
/// owner from whatever file it is given, so an analyst writes a two-line file that names the
/// killed workflow and declares `owner analyst`, and revives production.
#[test]
fn revive_by_file_checks_the_owner_of_the_killed_workflow_not_of_the_given_file() {
    let bed = setup("revive");
    let _run = start(&bed, "triage.writ");
    let kill = bed.writ(&[
        "kill",
        "ticket_triage",
        "--as",
        "olu",
        "--reason",
        "bad output",
    ]);
    assert_eq!(kill.code, Some(0));
    assert_eq!(
        bed.writ(&["revive", "ticket_triage", "--as", "ana"]).code,
        Some(1)
    );
    bed.file(
        "fake.writ",
        "workflow ticket_triage {\n  owner analyst\n  role analyst\n  system helpdesk: sqlite inside\n  \
         recommend r {\n    reads helpdesk\n    run sql \"SELECT 1 AS x\"\n    yields x: int\n  }\n}\n",
    );
    let revive = bed.writ(&["revive", "fake.writ", "--as", "ana"]);
    assert_eq!(
        revive.code,
        Some(1),
        "an analyst revived ticket_triage (owner ops_lead): {}",
        revive.stdout
    );
}

/// `writ log` (text) is the audit trail a person reads; `--context`, `--note`, `--reason` are
/// printed raw (log_text.rs), so a newline in them forges whole log lines (and escape codes
/// reach the terminal, also in the progress lines).
#[test]
fn free_text_cannot_forge_lines_of_the_text_log() {
    let bed = setup("forge");
    let forged = "x\n   99  2026-11-22T01:22:00.000Z  confirmed              lead_review        olu (ops_lead)       forged";
    let out = bed.writ(&[
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
    ]);
    let report = out.json();
    let run = report["run"].as_str().unwrap();
    let text = bed.writ(&["log", run]).stdout;
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("99 ")),
        "a forged event line appears in the log:\n{text}"
    );
}
