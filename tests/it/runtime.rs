//! The runtime end to end, through the real `writ` binary: runs, decisions, expiry, the kill
//! switch, compensation, the http connector and the audit chain, each checked by its exit code,
//! its JSON, the rows the systems hold afterwards and the events `writ log` shows.
//!
//! Every test works in its own folder (a [`bed::Bed`]): a `writ.yaml`, a real SQLite helpdesk
//! built from `workflows/data/helpdesk.sql`, the workflow files and their scripts.

use crate::support::bed;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use bed::{Bed, Outcome};
use serde_json::Value;

const TRIAGE: &str = include_str!("../../workflows/ticket_triage.writ");
const SUGGEST_PRIORITY: &str = include_str!("../../workflows/scripts/suggest_priority");
const TWO_WRITES: &str = include_str!("../runtime/two_writes.writ");
const CRM_STAGE: &str = include_str!("../runtime/crm_stage.writ");
const TWO_CONFIRMS: &str = include_str!("../runtime/two_confirms.writ");
const SIDE_BY_SIDE: &str = include_str!("../runtime/side_by_side.writ");
const NOTIFY: &str = include_str!("../runtime/notify.writ");

/// The expiry clause of ticket_triage.writ, replaced by the expiry tests.
const TRIAGE_EXPIRY: &str = "expires 4h -> escalate ops_lead";

/// Ticket 101 is `normal` in the helpdesk and `suggest_priority` says `low` for it.
const TICKET: &str = "ticket_id=101";

/// The helpdesk as `workflows/data/helpdesk.sql` creates it: (id, priority, status).
const ORIGINAL: [(i64, &str, &str); 5] = [
    (101, "normal", "open"),
    (102, "low", "open"),
    (103, "normal", "open"),
    (104, "normal", "pending"),
    (105, "low", "open"),
];

fn original() -> Vec<(i64, String, String)> {
    ORIGINAL
        .iter()
        .map(|(id, p, s)| (*id, (*p).to_owned(), (*s).to_owned()))
        .collect()
}

const PEOPLE: &str = "people:
  ana: [analyst]
  sam: [support_lead]
  sue: [support_lead]
  olu: [ops_lead]
  pat: [ops_lead, support_lead]
  ben: [account_exec]
  max: [sales_manager]
";

/// One test's folder: a [`Bed`] (which it derefs to, for writing files and running `writ`) with
/// the helpdesk and ticket_triage, and the commands and checks these tests repeat.
struct Sandbox {
    bed: Bed,
}

impl Deref for Sandbox {
    type Target = Bed;

    fn deref(&self) -> &Bed {
        &self.bed
    }
}

impl Sandbox {
    /// A fresh folder with `writ.yaml` (the helpdesk only), the helpdesk database, the
    /// ticket_triage workflow as `triage.writ` and its script.
    fn new(name: &str) -> Sandbox {
        let sandbox = Sandbox {
            bed: Bed::new(name),
        };
        sandbox.config("");
        sandbox.helpdesk("helpdesk.db");
        sandbox.script("scripts/suggest_priority", SUGGEST_PRIORITY);
        sandbox.file("triage.writ", TRIAGE);
        sandbox
    }

    /// Writes `writ.yaml`: the store, the people, the helpdesk and `more` (lines indented by
    /// two spaces go under `systems:`, then top-level keys such as `limits:`).
    fn config(&self, more: &str) {
        let text = format!(
            "state: .writ/state.db\n{PEOPLE}systems:\n  helpdesk: {{ sqlite: helpdesk.db }}\n{more}"
        );
        self.file("writ.yaml", &text);
    }

    /// A run of `file` for ticket 101 started by ana, which waits for a confirm.
    fn waiting(&self, file: &str) -> String {
        let (out, run) = self.start(file, &[TICKET], "ana");
        expect_code(&out, 3);
        run
    }

    /// A run of triage.writ for ticket 101 started by ana, which waits for lead_review.
    fn waiting_triage(&self) -> String {
        self.waiting("triage.writ")
    }

    /// A run of `file` for ticket 101 started by ana, its `lead_review` approved by sam.
    fn approved(&self, file: &str) -> String {
        let run = self.waiting(file);
        expect_code(&self.approve(&run, "lead_review", "sam"), 0);
        run
    }

    /// A run of triage.writ for ticket 101, approved (not resumed yet).
    fn approved_triage(&self) -> String {
        self.approved("triage.writ")
    }

    fn approve(&self, run: &str, step: &str, person: &str) -> Outcome {
        self.writ(&["approve", run, step, "--as", person, "--format", "json"])
    }

    fn reject(&self, run: &str, step: &str, person: &str, reason: &str) -> Outcome {
        self.writ(&[
            "reject", run, step, "--as", person, "--reason", reason, "--format", "json",
        ])
    }

    fn resume(&self, run: &str) -> Outcome {
        self.writ(&["resume", run, "--format", "json"])
    }

    /// `writ status RUN --format json`.
    fn status(&self, run: &str) -> Value {
        let out = self.writ(&["status", run, "--format", "json"]);
        expect_code(&out, 0);
        out.json()
    }

    /// `writ status --format json`: the `runs` list.
    fn runs(&self) -> Vec<Value> {
        let out = self.writ(&["status", "--format", "json"]);
        expect_code(&out, 0);
        out.json()["runs"]
            .as_array()
            .unwrap_or_else(|| panic!("no `runs` list:\n{}", out.describe()))
            .clone()
    }

    /// The helpdesk's tickets: (id, priority, status), by id.
    fn tickets(&self) -> Vec<(i64, String, String)> {
        let db = self.db("helpdesk.db");
        let mut query = db
            .prepare("SELECT id, priority, status FROM tickets ORDER BY id")
            .expect("prepare");
        query
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn priority(&self, id: i64) -> String {
        self.tickets()
            .into_iter()
            .find(|t| t.0 == id)
            .map(|t| t.1)
            .expect("ticket exists")
    }

    /// Asserts the helpdesk is exactly as created: nothing was written (or all was undone).
    fn assert_untouched(&self) {
        assert_eq!(self.tickets(), original(), "the helpdesk must be unchanged");
    }

    /// `writ plan FILE --format json`: its fingerprint.
    fn fingerprint(&self, file: &str) -> String {
        let out = self.writ(&["plan", file, "--format", "json"]);
        expect_code(&out, 0);
        out.json()["fingerprint"]
            .as_str()
            .expect("a fingerprint")
            .to_owned()
    }
}

#[track_caller]
fn expect_code(out: &Outcome, code: i32) {
    assert_eq!(out.code, Some(code), "{}", out.describe());
}

#[track_caller]
fn position(kinds: &[String], kind: &str) -> usize {
    kinds
        .iter()
        .position(|k| k == kind)
        .unwrap_or_else(|| panic!("no `{kind}` event in {kinds:?}"))
}

/// Asserts that each kind occurs, each after the one before it.
#[track_caller]
fn in_order(kinds: &[String], order: &[&str]) {
    let at: Vec<usize> = order.iter().map(|k| position(kinds, k)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "expected {order:?} in this order in {kinds:?}"
    );
}

fn has(kinds: &[String], kind: &str) -> bool {
    kinds.iter().any(|k| k == kind)
}

#[track_caller]
fn lacks(kinds: &[String], forbidden: &[&str]) {
    for kind in forbidden {
        assert!(!has(kinds, kind), "unexpected `{kind}` event in {kinds:?}");
    }
}

/// Asserts the run drafted its write instead of writing it (a kill switch was on).
#[track_caller]
fn assert_drafted(kinds: &[String]) {
    assert!(has(kinds, "drafted"), "{kinds:?}");
    lacks(kinds, &["before_image", "written"]);
}

/// Asserts the run's confirm expired before anything was confirmed or written.
#[track_caller]
fn assert_expired_unwritten(kinds: &[String]) {
    assert!(has(kinds, "expired"), "{kinds:?}");
    lacks(kinds, &["confirmed", "before_image", "written"]);
}

/// The events of one kind.
fn of_kind<'a>(log: &'a [Value], kind: &str) -> Vec<&'a Value> {
    log.iter().filter(|e| e["kind"] == kind).collect()
}

fn pause(millis: u64) {
    thread::sleep(Duration::from_millis(millis));
}

// ---------------------------------------------------------------------------------------------
// Waiting, deciding, writing.

#[test]
fn a_run_waits_for_its_confirm_and_writes_nothing() {
    let sb = Sandbox::new("waiting");
    let out = sb.writ(&[
        "run",
        "triage.writ",
        "--input",
        TICKET,
        "--as",
        "ana",
        "--context",
        "ticket 101 escalated by phone",
        "--format",
        "json",
    ]);
    expect_code(&out, 3);
    let report = out.json();
    let run = report["run"].as_str().expect("run id").to_owned();
    assert_eq!(report["status"], "waiting");
    assert_eq!(report["workflow"], "ticket_triage");
    assert_eq!(report["started_by"], "ana");
    assert_eq!(report["context"], "ticket 101 escalated by phone");
    assert_eq!(report["fingerprint"], sb.fingerprint("triage.writ"));
    let waiting = report["waiting"].as_array().expect("a waiting list");
    assert_eq!(waiting.len(), 1, "{report}");
    assert_eq!(waiting[0]["step"], "lead_review");
    assert_eq!(waiting[0]["role"], "support_lead");
    assert_eq!(waiting[0]["escalated"], false);
    assert!(
        waiting[0]["allows"][0]["action"]
            .to_string()
            .contains("low"),
        "the confirmer sees the rendered write: {report}"
    );
    sb.assert_untouched();

    let kinds = sb.kinds(&run);
    assert_eq!(
        kinds,
        ["run_started", "recommended", "confirmation_requested"],
        "nothing past the request"
    );
    let log = sb.events(&run);
    assert_eq!(
        log[0]["data"]["context"], "ticket 101 escalated by phone",
        "the trigger is kept in run_started"
    );
    assert_eq!(log[1]["data"]["values"]["priority"], "low");

    let status = sb.status(&run);
    assert_eq!(status["run"], run.as_str());
    assert_eq!(status["status"], "waiting");
    assert_eq!(status["steps"]["lead_review"], "waiting");

    // Resuming a run that still waits changes nothing and exits 3 again.
    let out = sb.resume(&run);
    expect_code(&out, 3);
    assert_eq!(out.json()["status"], "waiting");
    assert_eq!(sb.kinds(&run).len(), 3);
    sb.assert_untouched();
}

#[test]
fn four_eyes_the_starter_cannot_confirm() {
    let sb = Sandbox::new("four-eyes");
    // sam has the confirming role but starts the run.
    let (out, run) = sb.start("triage.writ", &[TICKET], "sam");
    expect_code(&out, 3);
    let out = sb.approve(&run, "lead_review", "sam");
    expect_code(&out, 1);
    assert!(out.stderr.contains("four eyes"), "{}", out.describe());
    let kinds = sb.kinds(&run);
    assert_eq!(kinds.len(), 3, "nothing recorded: {kinds:?}");
    lacks(&kinds, &["confirmed", "rejected"]);
    assert_eq!(sb.status(&run)["status"], "waiting");

    // The starter cannot reject either.
    let out = sb.reject(&run, "lead_review", "sam", "mine");
    expect_code(&out, 1);
    assert_eq!(sb.kinds(&run).len(), 3);

    // A second person with the role can.
    let out = sb.approve(&run, "lead_review", "sue");
    expect_code(&out, 0);
    let out = sb.resume(&run);
    expect_code(&out, 0);
    assert_eq!(sb.priority(101), "low");
}

#[test]
fn a_person_without_the_role_is_refused() {
    let sb = Sandbox::new("wrong-role");
    let run = sb.waiting_triage();
    // olu is ops_lead (the escalation role, not yet escalated); ben is not in this workflow.
    for person in ["olu", "ben"] {
        let out = sb.approve(&run, "lead_review", person);
        expect_code(&out, 1);
        assert!(
            out.stderr.contains("does not have the role"),
            "{}",
            out.describe()
        );
        let out = sb.reject(&run, "lead_review", person, "no");
        expect_code(&out, 1);
    }
    let kinds = sb.kinds(&run);
    assert_eq!(kinds.len(), 3, "nothing recorded: {kinds:?}");
    assert_eq!(sb.status(&run)["status"], "waiting");
    sb.assert_untouched();
}

#[test]
fn an_unknown_person_can_neither_decide_nor_start() {
    let sb = Sandbox::new("unknown-person");
    let run = sb.waiting_triage();
    let out = sb.approve(&run, "lead_review", "mallory");
    expect_code(&out, 1);
    assert!(out.stderr.contains("not a person"), "{}", out.describe());
    assert_eq!(sb.kinds(&run).len(), 3);

    let out = sb.writ(&[
        "run",
        "triage.writ",
        "--input",
        TICKET,
        "--as",
        "mallory",
        "--format",
        "json",
    ]);
    expect_code(&out, 1);
    assert_eq!(sb.runs().len(), 1, "no second run in the store");
    sb.assert_untouched();
}

#[test]
fn unknown_runs_and_steps_are_refused() {
    let sb = Sandbox::new("unknown-run");
    let run = sb.waiting_triage();
    let out = sb.approve("20990101-000000-abcdef", "lead_review", "sam");
    expect_code(&out, 1);
    let out = sb.writ(&["log", "20990101-000000-abcdef", "--format", "jsonl"]);
    expect_code(&out, 1);
    let out = sb.resume("20990101-000000-abcdef");
    expect_code(&out, 1);
    // `set_priority` is an execute, not a confirm.
    let out = sb.approve(&run, "set_priority", "sam");
    expect_code(&out, 1);
    let out = sb.approve(&run, "no_such_step", "sam");
    expect_code(&out, 1);
    assert_eq!(sb.kinds(&run).len(), 3);
    sb.assert_untouched();
}

#[test]
fn approve_records_only_the_decision_and_resume_writes() {
    let sb = Sandbox::new("approve-resume");
    let run = sb.waiting_triage();
    let fingerprint = sb.fingerprint("triage.writ");

    let out = sb.writ(&[
        "approve",
        &run,
        "lead_review",
        "--as",
        "sam",
        "--note",
        "agreed",
        "--format",
        "json",
    ]);
    expect_code(&out, 0);
    let report = out.json();
    assert_eq!(report["run"], run.as_str());
    assert_ne!(
        report["status"], "done",
        "a decision runs nothing: {report}"
    );
    assert_ne!(report["status"], "waiting", "{report}");
    let kinds = sb.kinds(&run);
    assert_eq!(kinds.last().map(String::as_str), Some("confirmed"));
    lacks(&kinds, &["before_image", "written", "run_finished"]);
    sb.assert_untouched();

    // A second decision on the same step is refused.
    let out = sb.approve(&run, "lead_review", "sue");
    expect_code(&out, 1);

    let out = sb.resume(&run);
    expect_code(&out, 0);
    let report = out.json();
    assert_eq!(report["status"], "done");
    assert_eq!(report["steps"]["set_priority"], "written");
    assert_eq!(sb.priority(101), "low", "the confirmed write happened");
    let mut expected = original();
    expected[0].1 = "low".to_owned();
    assert_eq!(sb.tickets(), expected, "only ticket 101 changed");

    let log = sb.events(&run);
    let kinds = sb.kinds(&run);
    in_order(
        &kinds,
        &[
            "run_started",
            "recommended",
            "confirmation_requested",
            "confirmed",
            "before_image",
            "written",
            "run_finished",
        ],
    );
    assert_eq!(kinds.last().map(String::as_str), Some("run_finished"));
    for event in &log {
        assert_eq!(
            event["fingerprint"], fingerprint,
            "every event carries the plan fingerprint: {event}"
        );
        assert_eq!(event["run"], run.as_str());
    }
    let confirmed = of_kind(&log, "confirmed")[0];
    assert_eq!(confirmed["person"], "sam");
    assert_eq!(confirmed["role"], "support_lead");
    assert_eq!(confirmed["step"], "lead_review");
    assert_eq!(confirmed["data"]["note"], "agreed");
    assert_eq!(
        confirmed["data"]["shows"][0],
        serde_json::json!(["suggest_priority.priority", "low"]),
        "the decision records what the confirmer was shown"
    );
    let written = of_kind(&log, "written")[0];
    assert_eq!(written["step"], "set_priority");
    assert_eq!(
        confirmed["data"]["gates"][0]["hash"], written["data"]["hash"],
        "the write is the one the decision allowed"
    );
    let before = of_kind(&log, "before_image")[0];
    assert_eq!(before["data"]["before"][0]["priority"], "normal");
    assert_eq!(of_kind(&log, "run_finished")[0]["data"]["status"], "done");

    // Chained seqs, each linked to the one before.
    for pair in log.windows(2) {
        assert!(pair[0]["seq"].as_u64() < pair[1]["seq"].as_u64());
    }
    expect_code(&sb.writ(&["audit", "verify"]), 0);

    // A finished run resumes to the same place, writing nothing twice.
    let out = sb.resume(&run);
    expect_code(&out, 0);
    assert_eq!(sb.kinds(&run), kinds);
}

#[test]
fn reject_ends_the_run_and_writes_nothing() {
    let sb = Sandbox::new("reject");
    let run = sb.waiting_triage();

    let out = sb.writ(&[
        "reject",
        &run,
        "lead_review",
        "--as",
        "sam",
        "--reason",
        "  ",
    ]);
    expect_code(&out, 2);
    assert_eq!(sb.kinds(&run).len(), 3, "a blank reason records nothing");

    let out = sb.reject(&run, "lead_review", "sam", "customer already called back");
    expect_code(&out, 0);
    let report = out.json();
    assert_eq!(report["status"], "rejected");
    sb.assert_untouched();

    let log = sb.events(&run);
    let kinds = sb.kinds(&run);
    lacks(&kinds, &["confirmed", "before_image", "written"]);
    let rejected = of_kind(&log, "rejected");
    assert_eq!(rejected.len(), 1, "{kinds:?}");
    assert_eq!(rejected[0]["person"], "sam");
    assert_eq!(rejected[0]["data"]["note"], "customer already called back");
    let end = log.last().expect("events");
    assert!(
        end["kind"] == "run_failed" || end["kind"] == "run_finished",
        "the run ends: {kinds:?}"
    );
    assert_eq!(end["data"]["status"], "rejected");
    assert_eq!(sb.status(&run)["status"], "rejected");

    // Nothing brings it back.
    expect_code(&sb.approve(&run, "lead_review", "sue"), 1);
    let out = sb.resume(&run);
    expect_code(&out, 1);
    assert_eq!(out.json()["status"], "rejected");
    sb.assert_untouched();
    assert_eq!(sb.kinds(&run), kinds);
}

#[test]
fn a_rejection_after_a_write_reverses_it() {
    let sb = Sandbox::new("reject-after-write");
    sb.file("two.writ", TWO_CONFIRMS);
    let run = sb.waiting("two.writ");
    // The second confirm is not reached yet: nothing to decide.
    expect_code(&sb.approve(&run, "ops_review", "olu"), 1);
    expect_code(&sb.approve(&run, "lead_review", "sam"), 0);
    let out = sb.resume(&run);
    expect_code(&out, 3);
    let report = out.json();
    assert_eq!(report["waiting"][0]["step"], "ops_review");
    assert_eq!(report["waiting"][0]["role"], "ops_lead");
    assert_eq!(sb.priority(101), "low", "the first write is in place");

    let out = sb.reject(&run, "ops_review", "olu", "leave it open");
    expect_code(&out, 0);
    let report = out.json();
    assert_eq!(report["status"], "rejected");
    assert_eq!(report["rollbacks"]["set_priority"], "rolled_back");
    sb.assert_untouched();

    let log = sb.events(&run);
    let kinds = sb.kinds(&run);
    in_order(
        &kinds,
        &[
            "written",
            "rejected",
            "rollback_started",
            "rolled_back",
            "run_failed",
        ],
    );
    let started = of_kind(&log, "rollback_started")[0];
    assert_eq!(started["data"]["cause"], "rejected");
    assert_eq!(
        started["person"], "olu",
        "the reversal is recorded as the rejecter's"
    );
    assert_eq!(log.last().unwrap()["data"]["status"], "rejected");
    assert_eq!(of_kind(&log, "written").len(), 1, "park_ticket never ran");
}

// ---------------------------------------------------------------------------------------------
// Expiry.

/// triage.writ with `expiry` (a 1 s deadline) in place of its own, and two runs of it that
/// waited past that deadline.
fn two_past_deadline(sb: &Sandbox, expiry: &str) -> (String, String) {
    sb.file("triage.writ", &TRIAGE.replace(TRIAGE_EXPIRY, expiry));
    let first = sb.waiting_triage();
    let second = sb.waiting_triage();
    pause(1300);
    (first, second)
}

/// Resumes a run whose deadline passed with nobody deciding: `resume` records the expiry and
/// ends the run `expired` (exit 1), nothing confirmed or written.
#[track_caller]
fn assert_resume_expires(sb: &Sandbox, run: &str) {
    let out = sb.resume(run);
    expect_code(&out, 1);
    assert_eq!(out.json()["status"], "expired");
    assert_expired_unwritten(&sb.kinds(run));
}

#[test]
fn an_expired_confirm_ends_the_run_and_a_late_approval_is_refused() {
    let sb = Sandbox::new("expire-reject");
    let (late, idle) = two_past_deadline(&sb, "expires 1s -> reject");

    // A decision after the deadline: the expiry is recorded, the approval refused.
    let out = sb.approve(&late, "lead_review", "sam");
    expect_code(&out, 1);
    assert_expired_unwritten(&sb.kinds(&late));
    assert_eq!(sb.status(&late)["status"], "expired");
    let log = sb.events(&late);
    let expired = of_kind(&log, "expired")[0];
    assert!(expired["person"].is_null(), "the timer decided: {expired}");
    assert_eq!(log.last().unwrap()["data"]["status"], "expired");

    expect_code(&sb.approve(&late, "lead_review", "sue"), 1);
    let out = sb.resume(&late);
    expect_code(&out, 1);
    assert_eq!(out.json()["status"], "expired");

    // Nobody decided on the other run: resume records the expiry and ends it.
    assert_resume_expires(&sb, &idle);

    sb.assert_untouched();
}

#[test]
fn an_expired_confirm_escalates_to_the_escalation_role() {
    let sb = Sandbox::new("expire-escalate");
    let (refused, escalated) = two_past_deadline(&sb, "expires 1s -> escalate ops_lead");

    // After the deadline the support lead is too late: the decision is the ops lead's now.
    let out = sb.approve(&refused, "lead_review", "sam");
    expect_code(&out, 1);
    let kinds = sb.kinds(&refused);
    assert!(has(&kinds, "escalated"), "{kinds:?}");
    lacks(&kinds, &["confirmed", "expired"]);
    let status = sb.status(&refused);
    assert_eq!(status["status"], "waiting");
    assert_eq!(status["waiting"][0]["role"], "ops_lead");
    assert_eq!(status["waiting"][0]["escalated"], true);
    let log = sb.events(&refused);
    assert_eq!(of_kind(&log, "escalated")[0]["data"]["to"], "ops_lead");

    // The ops lead decides on the other run: the deadline passed, so the same command records
    // the escalation, then the ops lead's confirmation in the support lead's place.
    let out = sb.approve(&escalated, "lead_review", "olu");
    expect_code(&out, 0);
    let log = sb.events(&escalated);
    let kinds = sb.kinds(&escalated);
    assert!(
        position(&kinds, "escalated") < position(&kinds, "confirmed"),
        "{kinds:?}"
    );
    let confirmed = of_kind(&log, "confirmed")[0];
    assert_eq!(confirmed["person"], "olu");
    assert_eq!(confirmed["role"], "ops_lead");
    assert_eq!(confirmed["data"]["escalated"], true);
    sb.assert_untouched();
    let out = sb.resume(&escalated);
    expect_code(&out, 0);
    assert_eq!(sb.priority(101), "low");

    // The escalation's own deadline passes too: the first run expires, nothing written there.
    pause(1300);
    assert_resume_expires(&sb, &refused);
}

#[test]
fn an_expiry_after_a_write_reverses_it() {
    let sb = Sandbox::new("expire-after-write");
    let workflow = TWO_CONFIRMS.replace(
        "shows suggest_priority.reason\n    expires 4h -> reject",
        "shows suggest_priority.reason\n    expires 1s -> reject",
    );
    assert_ne!(workflow, TWO_CONFIRMS);
    sb.file("two.writ", &workflow);
    let run = sb.approved("two.writ");
    expect_code(&sb.resume(&run), 3);
    assert_eq!(sb.priority(101), "low");
    pause(1300);

    let out = sb.resume(&run);
    expect_code(&out, 1);
    let report = out.json();
    assert_eq!(report["status"], "expired");
    sb.assert_untouched();
    let log = sb.events(&run);
    let kinds = sb.kinds(&run);
    in_order(
        &kinds,
        &["written", "expired", "rollback_started", "rolled_back"],
    );
    assert_eq!(
        of_kind(&log, "rollback_started")[0]["data"]["cause"],
        "expired"
    );
    assert_eq!(log.last().unwrap()["data"]["status"], "expired");
    expect_code(&sb.approve(&run, "ops_review", "olu"), 1);
}

// ---------------------------------------------------------------------------------------------
// Binding: the plan and the target a decision was made under.

#[test]
fn a_run_works_from_the_plan_it_started_with_whatever_the_file_says_since() {
    let sb = Sandbox::new("plan-changed");
    let first = sb.waiting_triage();
    let recorded = sb.status(&first)["fingerprint"].clone();

    // A semantic change to the file (the write's SQL) after the run started: the run keeps
    // the approved plan it started from, so its decision, write and reversal are unaffected.
    let changed = TRIAGE.replace(
        "WHERE id = :ticket_id\"\n  }\n\n  rollback",
        "WHERE id = :ticket_id AND status = 'open'\"\n  }\n\n  rollback",
    );
    assert_ne!(changed, TRIAGE);
    sb.file("triage.writ", &changed);
    assert_ne!(sb.fingerprint("triage.writ"), recorded);
    expect_code(&sb.approve(&first, "lead_review", "sam"), 0);
    expect_code(&sb.resume(&first), 0);
    assert_eq!(sb.priority(101), "low");
    assert_eq!(sb.status(&first)["fingerprint"], recorded);

    // The changed version is a new plan: it runs only once its owner approved it.
    let out = sb.writ_raw(
        &["run", "triage.writ", "--input", TICKET, "--as", "ana"],
        &[],
    );
    expect_code(&out, 1);
    assert!(out.stderr.contains("approve-plan"), "{}", out.describe());
}

#[test]
fn an_approval_is_bound_to_the_database_it_was_given_for() {
    let sb = Sandbox::new("target-bound");
    let run = sb.approved_triage();

    // After the approval the config points the helpdesk at another database.
    fs::copy(sb.path("helpdesk.db"), sb.path("other.db")).expect("copy");
    let text = fs::read_to_string(sb.path("writ.yaml")).unwrap();
    sb.file("writ.yaml", &text.replace("helpdesk.db", "other.db"));

    let out = sb.resume(&run);
    expect_code(&out, 1);
    lacks(&sb.kinds(&run), &["before_image", "written"]);
    sb.assert_untouched();
    let priority: String = sb.query_one("other.db", "SELECT priority FROM tickets WHERE id = 101");
    assert_eq!(priority, "normal", "the redirected database is not written");
}

// ---------------------------------------------------------------------------------------------
// The audit chain.

#[test]
fn a_tampered_store_fails_audit_verify() {
    let sb = Sandbox::new("tampered");
    let run = sb.approved_triage();
    expect_code(&sb.resume(&run), 0);
    let out = sb.writ(&["audit", "verify"]);
    expect_code(&out, 0);
    assert!(out.stdout.contains("intact"));

    // The store refuses an update in place...
    let state = sb.db(".writ/state.db");
    let update = "UPDATE events SET person = 'olu' WHERE kind = 'confirmed'";
    assert!(
        state.execute(update, []).is_err(),
        "the trigger guards rows"
    );
    // ...so the tamperer drops the trigger first.
    state
        .execute_batch("DROP TRIGGER events_no_update")
        .expect("drop trigger");
    assert_eq!(state.execute(update, []).expect("update"), 1);
    drop(state);

    let out = sb.writ(&["audit", "verify"]);
    expect_code(&out, 1);
    assert!(out.stdout.contains("tampered"), "{}", out.describe());
}

#[test]
fn a_removed_event_fails_audit_verify() {
    let sb = Sandbox::new("removed");
    let run = sb.waiting_triage();
    expect_code(&sb.reject(&run, "lead_review", "sam", "no"), 0);
    expect_code(&sb.writ(&["audit", "verify"]), 0);
    let state = sb.db(".writ/state.db");
    state
        .execute_batch("DROP TRIGGER events_no_delete")
        .expect("drop trigger");
    assert_eq!(
        state
            .execute("DELETE FROM events WHERE kind = 'rejected'", [])
            .expect("delete"),
        1
    );
    drop(state);
    expect_code(&sb.writ(&["audit", "verify"]), 1);
}

// ---------------------------------------------------------------------------------------------
// The kill switch.

#[test]
fn a_killed_workflow_drafts_and_revive_needs_the_owner() {
    let sb = Sandbox::new("kill-workflow");
    let out = sb.writ(&[
        "kill",
        "triage.writ",
        "--as",
        "ana",
        "--reason",
        "wrong priorities",
    ]);
    expect_code(&out, 0);
    // Killing it again is refused: it already is.
    let out = sb.writ(&["kill", "ticket_triage", "--as", "ana", "--reason", "again"]);
    expect_code(&out, 1);

    let run = sb.approved_triage();
    let out = sb.resume(&run);
    // Drafted, not done: exit 3 (a revive and a new approval carry it out).
    expect_code(&out, 3);
    assert_eq!(out.json()["status"], "drafted");
    assert_eq!(out.json()["steps"]["set_priority"], "drafted");
    sb.assert_untouched();
    let log = sb.events(&run);
    let kinds = sb.kinds(&run);
    lacks(
        &kinds,
        &[
            "before_image",
            "written",
            "workflow_killed",
            "workflow_revived",
        ],
    );
    let drafted = of_kind(&log, "drafted");
    assert_eq!(drafted.len(), 1, "{kinds:?}");
    assert!(
        drafted[0]["data"]["action"]
            .to_string()
            .contains("UPDATE tickets"),
        "the draft says what would have been written: {}",
        drafted[0]
    );
    assert!(drafted[0]["data"]["killed_by"].is_u64());

    // Reviving needs the owner role (ops_lead).
    let out = sb.writ(&["revive", "ticket_triage", "--as", "sam"]);
    expect_code(&out, 1);
    let out = sb.writ(&["revive", "ticket_triage", "--as", "nobody"]);
    expect_code(&out, 1);
    let out = sb.writ(&["revive", "ticket_triage", "--as", "olu"]);
    expect_code(&out, 0);
    let out = sb.writ(&["revive", "ticket_triage", "--as", "olu"]);
    expect_code(&out, 1);

    let run = sb.approved_triage();
    expect_code(&sb.resume(&run), 0);
    assert_eq!(sb.priority(101), "low");
    let kinds = sb.kinds(&run);
    assert!(has(&kinds, "written"), "{kinds:?}");
    lacks(&kinds, &["drafted"]);
    expect_code(&sb.writ(&["audit", "verify"]), 0);
}

#[test]
fn a_kill_takes_effect_on_a_run_already_approved() {
    let sb = Sandbox::new("kill-midway");
    let run = sb.approved_triage();
    let out = sb.writ(&[
        "kill",
        "ticket_triage",
        "--as",
        "sam",
        "--reason",
        "stop now",
    ]);
    expect_code(&out, 0);
    expect_code(&sb.resume(&run), 3);
    assert_drafted(&sb.kinds(&run));
    sb.assert_untouched();
}

#[test]
fn killing_a_system_drafts_every_workflow_that_writes_it() {
    let sb = Sandbox::new("kill-system");
    // A first run, so the store knows who owns the workflows that write the helpdesk.
    let first = sb.approved_triage();
    expect_code(&sb.resume(&first), 0);
    assert_eq!(sb.priority(101), "low");
    {
        let db = sb.db("helpdesk.db");
        db.execute("UPDATE tickets SET priority = 'normal' WHERE id = 101", [])
            .unwrap();
    }

    let out = sb.writ(&["kill", "--system", "nosuch", "--as", "ana", "--reason", "x"]);
    expect_code(&out, 1);
    let out = sb.writ(&[
        "kill",
        "--system",
        "helpdesk",
        "--as",
        "ana",
        "--reason",
        "helpdesk migration",
    ]);
    expect_code(&out, 0);

    let run = sb.approved_triage();
    expect_code(&sb.resume(&run), 3);
    assert_drafted(&sb.kinds(&run));
    sb.assert_untouched();

    let out = sb.writ(&["revive", "--system", "helpdesk", "--as", "sam"]);
    expect_code(&out, 1);
    let out = sb.writ(&["revive", "--system", "helpdesk", "--as", "olu"]);
    expect_code(&out, 0);
    let run = sb.approved_triage();
    expect_code(&sb.resume(&run), 0);
    assert_eq!(sb.priority(101), "low");
}

#[test]
fn reviving_a_system_needs_the_owner_role_of_every_workflow_writing_it() {
    let sb = Sandbox::new("revive-system");
    sb.file(
        "other.writ",
        &TRIAGE
            .replace("workflow ticket_triage", "workflow ticket_triage_b")
            .replace("owner ops_lead", "owner support_lead"),
    );
    let triage = sb.waiting_triage();
    let other = sb.waiting("other.writ");
    let out = sb.writ(&[
        "kill", "--system", "helpdesk", "--as", "ben", "--reason", "outage",
    ]);
    expect_code(&out, 0);

    for run in [&triage, &other] {
        expect_code(&sb.approve(run, "lead_review", "sam"), 0);
        expect_code(&sb.resume(run), 3);
        assert_drafted(&sb.kinds(run));
    }
    sb.assert_untouched();

    // ops_lead owns ticket_triage, support_lead owns ticket_triage_b: reviving needs both.
    for person in ["olu", "sam", "ben"] {
        let out = sb.writ(&["revive", "--system", "helpdesk", "--as", person]);
        expect_code(&out, 1);
    }
    let out = sb.writ(&["revive", "--system", "helpdesk", "--as", "pat"]);
    expect_code(&out, 0);
    let run = sb.approved("other.writ");
    expect_code(&sb.resume(&run), 0);
    assert_eq!(sb.priority(101), "low");
}

// ---------------------------------------------------------------------------------------------
// Failure and compensation.

/// A two_writes run for tickets 101 (suggested `low`) and 102 (`other_priority`), approved.
fn approved_two_writes(sb: &Sandbox, other_priority: &str) -> String {
    let other = format!("other_priority={other_priority}");
    let (out, run) = sb.start("two.writ", &[TICKET, "other_id=102", &other], "ana");
    expect_code(&out, 3);
    expect_code(&sb.approve(&run, "lead_review", "sam"), 0);
    run
}

#[test]
fn a_failing_write_rolls_back_the_writes_before_it() {
    let sb = Sandbox::new("compensate");
    sb.file("two.writ", TWO_WRITES);
    // `bogus` breaks the CHECK on tickets.priority: the second write fails.
    let run = approved_two_writes(&sb, "bogus");
    let out = sb.resume(&run);
    expect_code(&out, 1);
    let report = out.json();
    assert_eq!(report["status"], "failed");
    assert_eq!(report["step"], "set_other");
    assert!(report["reason"].is_string(), "{report}");
    sb.assert_untouched();

    let log = sb.events(&run);
    let kinds = sb.kinds(&run);
    let written = of_kind(&log, "written");
    assert_eq!(written.len(), 1, "{kinds:?}");
    assert_eq!(written[0]["step"], "set_priority");
    in_order(
        &kinds,
        &["written", "rollback_started", "rolled_back", "run_failed"],
    );
    assert_eq!(kinds.last().map(String::as_str), Some("run_failed"));
    let started = of_kind(&log, "rollback_started");
    assert_eq!(started.len(), 1, "{kinds:?}");
    assert_eq!(started[0]["step"], "restore_priority");
    assert_eq!(started[0]["data"]["undoes"], "set_priority");
    assert_eq!(started[0]["data"]["cause"], "failed");
    assert_eq!(sb.status(&run)["status"], "failed");

    // A failed run stays failed: no retry, no second reversal.
    let out = sb.resume(&run);
    expect_code(&out, 1);
    assert_eq!(sb.kinds(&run), kinds);
    sb.assert_untouched();
}

#[test]
fn a_failed_verify_rolls_back_newest_first() {
    let sb = Sandbox::new("verify-fails");
    sb.file(
        "two.writ",
        &TWO_WRITES.replace(
            "run sql \"UPDATE tickets SET priority = :other_priority WHERE id = :other_id\"",
            "run sql \"UPDATE tickets SET priority = :other_priority WHERE id = :other_id\"\n    \
             verify sql \"SELECT priority = 'low' FROM tickets WHERE id = :other_id\"",
        ),
    );
    expect_code(&sb.writ(&["check", "two.writ"]), 0);
    let run = approved_two_writes(&sb, "urgent");
    let out = sb.resume(&run);
    expect_code(&out, 1);
    assert_eq!(out.json()["status"], "failed");
    assert_eq!(out.json()["step"], "set_other");
    sb.assert_untouched();

    let log = sb.events(&run);
    assert_eq!(of_kind(&log, "written").len(), 2);
    let undone: Vec<&Value> = of_kind(&log, "rolled_back")
        .iter()
        .map(|e| &e["data"]["undoes"])
        .collect();
    assert_eq!(undone, ["set_other", "set_priority"], "newest first");
    assert_eq!(log.last().unwrap()["kind"], "run_failed");
}

#[test]
fn a_failing_rollback_needs_repair_by_its_repair_role() {
    let sb = Sandbox::new("needs-repair");
    sb.file(
        "two.writ",
        &TWO_WRITES.replace(
            "run sql \"UPDATE tickets SET priority = :before.priority WHERE id = :ticket_id\"",
            "run sql \"UPDATE tickets SET priority = 'gone' WHERE id = :ticket_id\"",
        ),
    );
    let run = approved_two_writes(&sb, "bogus");
    let out = sb.resume(&run);
    expect_code(&out, 1);
    let report = out.json();
    assert_eq!(report["status"], "needs_repair", "{report}");
    assert_eq!(report["repair_by"], serde_json::json!(["ops_lead"]));
    assert_eq!(report["unreversed"], serde_json::json!(["set_priority"]));
    // The write stays in place for the repair role.
    assert_eq!(sb.priority(101), "low");
    assert_eq!(sb.priority(102), "low");

    let kinds = sb.kinds(&run);
    in_order(
        &kinds,
        &[
            "written",
            "rollback_started",
            "rollback_failed",
            "run_failed",
        ],
    );
    lacks(&kinds, &["rolled_back"]);
    let log = sb.events(&run);
    let failed = of_kind(&log, "rollback_failed")[0];
    assert_eq!(failed["data"]["repair_by"], "ops_lead");
    assert!(failed["data"]["error"].is_string(), "{failed}");
    let end = log.last().unwrap();
    assert_eq!(end["data"]["status"], "needs_repair");
    assert_eq!(end["data"]["repair_by"], serde_json::json!(["ops_lead"]));

    let status = sb.status(&run);
    assert_eq!(status["status"], "needs_repair");
    assert_eq!(status["repair_by"], serde_json::json!(["ops_lead"]));

    // A support lead may not ask for the rollback again; nothing is retried by itself.
    expect_code(&sb.writ(&["rollback", &run, "--as", "sam"]), 1);
    expect_code(&sb.resume(&run), 1);
    assert_eq!(sb.kinds(&run), kinds);
}

#[test]
fn writ_rollback_retries_a_failed_reversal_once_repaired() {
    let sb = Sandbox::new("repair-retry");
    sb.file("two.writ", TWO_WRITES);
    let run = approved_two_writes(&sb, "bogus");
    // The helpdesk refuses to set any ticket back to `normal` for now.
    let db = sb.db("helpdesk.db");
    db.execute_batch(
        "CREATE TRIGGER frozen BEFORE UPDATE OF priority ON tickets \
         WHEN NEW.priority = 'normal' BEGIN SELECT RAISE(ABORT, 'frozen'); END;",
    )
    .unwrap();
    let out = sb.resume(&run);
    expect_code(&out, 1);
    assert_eq!(out.json()["status"], "needs_repair");
    assert_eq!(sb.priority(101), "low");

    // The repair role clears the cause and asks again.
    db.execute_batch("DROP TRIGGER frozen").unwrap();
    drop(db);
    let out = sb.writ(&["rollback", &run, "--as", "olu", "--format", "json"]);
    expect_code(&out, 0);
    assert_eq!(out.json()["status"], "rolled_back");
    sb.assert_untouched();
    let kinds = sb.kinds(&run);
    in_order(
        &kinds,
        &[
            "rollback_failed",
            "run_failed",
            "rolled_back",
            "run_finished",
        ],
    );
    assert_eq!(sb.status(&run)["status"], "rolled_back");
}

#[test]
fn a_repair_role_may_roll_back_as_well_as_the_owner() {
    let sb = Sandbox::new("repair-role");
    sb.file(
        "triage.writ",
        &TRIAGE.replace("repair by ops_lead", "repair by support_lead"),
    );
    let run = sb.approved_triage();
    expect_code(&sb.resume(&run), 0);
    assert_eq!(sb.priority(101), "low");
    expect_code(&sb.writ(&["rollback", &run, "--as", "ana"]), 1);
    let out = sb.writ(&["rollback", &run, "--as", "sue", "--format", "json"]);
    expect_code(&out, 0);
    assert_eq!(out.json()["status"], "rolled_back");
    sb.assert_untouched();
    let log = sb.events(&run);
    let started = of_kind(&log, "rollback_started")[0];
    assert_eq!(started["person"], "sue");
    assert_eq!(started["role"], "support_lead");
}

#[test]
fn writ_rollback_reverses_a_finished_run_for_the_owner_only() {
    let sb = Sandbox::new("rollback");
    let run = sb.approved_triage();
    expect_code(&sb.resume(&run), 0);
    assert_eq!(sb.priority(101), "low");

    for person in ["sam", "ana", "nobody"] {
        let out = sb.writ(&["rollback", &run, "--as", person, "--format", "json"]);
        expect_code(&out, 1);
    }
    assert_eq!(sb.priority(101), "low");

    let out = sb.writ(&["rollback", &run, "--as", "olu", "--format", "json"]);
    expect_code(&out, 0);
    assert_eq!(out.json()["status"], "rolled_back");
    sb.assert_untouched();
    let log = sb.events(&run);
    let kinds = sb.kinds(&run);
    let done = position(&kinds, "run_finished");
    assert!(done < position(&kinds, "rollback_started"), "{kinds:?}");
    let started = of_kind(&log, "rollback_started")[0];
    assert_eq!(started["person"], "olu");
    assert_eq!(started["data"]["cause"], "requested");
    assert!(has(&kinds, "rolled_back"));
    assert_eq!(log.last().unwrap()["data"]["status"], "rolled_back");
    assert_eq!(sb.status(&run)["status"], "rolled_back");

    // Twice is refused: the write is already reversed.
    let out = sb.writ(&["rollback", &run, "--as", "olu"]);
    expect_code(&out, 1);
    sb.assert_untouched();
}

// ---------------------------------------------------------------------------------------------
// Recommendations checked against `yields`.

#[test]
fn a_recommendation_outside_its_yields_fails_the_run() {
    let sb = Sandbox::new("yields");
    sb.script(
        "scripts/suggest_priority",
        "#!/bin/sh\nprintf '{\"priority\":\"critical\",\"reason\":\"made up\"}\\n'\n",
    );
    let (out, run) = sb.start("triage.writ", &[TICKET], "ana");
    expect_code(&out, 1);
    let report = out.json();
    assert_eq!(report["status"], "failed");
    assert_eq!(report["step"], "suggest_priority");
    let kinds = sb.kinds(&run);
    assert_eq!(kinds.first().map(String::as_str), Some("run_started"));
    assert_eq!(kinds.last().map(String::as_str), Some("run_failed"));
    lacks(
        &kinds,
        &[
            "recommended",
            "confirmation_requested",
            "before_image",
            "written",
        ],
    );
    assert_eq!(sb.status(&run)["status"], "failed");

    // A missing field and output that is not JSON fail the same way.
    for script in [
        "#!/bin/sh\nprintf '{\"priority\":\"low\"}\\n'\n",
        "#!/bin/sh\necho 'urgent, clearly'\n",
        "#!/bin/sh\necho 'model unavailable' >&2\nexit 4\n",
    ] {
        sb.script("scripts/suggest_priority", script);
        let (out, run) = sb.start("triage.writ", &[TICKET], "ana");
        expect_code(&out, 1);
        lacks(&sb.kinds(&run), &["recommended", "confirmation_requested"]);
    }
    sb.assert_untouched();
}

#[test]
fn exec_programs_do_not_see_the_environment() {
    let sb = Sandbox::new("clean-env");
    sb.script(
        "scripts/suggest_priority",
        "#!/bin/sh\nprintf '{\"priority\":\"low\",\"reason\":\"%s\"}\\n' \"${CRM_TOKEN:-none}\"\n",
    );
    let (out, run) = sb.start_with_env("triage.writ", &[TICKET], "ana", &[("CRM_TOKEN", "s3cret")]);
    expect_code(&out, 3);
    let log = sb.events(&run);
    assert_eq!(
        of_kind(&log, "recommended")[0]["data"]["values"]["reason"],
        "none"
    );
}

// ---------------------------------------------------------------------------------------------
// The http connector.

/// One request the test server saw.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

/// How the test server answers one request (and how long it waits first).
struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

/// Decides the reply to each request.
type Responder = Box<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// The CRM's usual answers: `GET` gives the lead, anything else `{"ok": true}`.
fn usual(request: &Seen) -> Reply {
    let body = if request.method == "GET" {
        r#"{"id":1,"stage":"qualified","current":"contacted"}"#
    } else {
        r#"{"ok":true}"#
    };
    Reply {
        status: 200,
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}

/// A small HTTP/1.1 server on 127.0.0.1, one thread per connection, answering with `respond`
/// and recording every request as soon as it is read. Returns its port.
fn serve(seen: Arc<Mutex<Vec<Seen>>>, respond: Responder) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let respond = Arc::new(respond);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let seen = Arc::clone(&seen);
            let respond = Arc::clone(&respond);
            thread::spawn(move || answer(stream, &seen, &respond));
        }
    });
    port
}

fn answer(mut stream: std::net::TcpStream, seen: &Mutex<Vec<Seen>>, respond: &Responder) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            break;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let request = Seen {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let reply = respond(&request);
    seen.lock().unwrap().push(request);
    thread::sleep(reply.delay);
    let _ = write!(
        stream,
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{}",
        reply.status,
        reply.body.len(),
        reply.body
    );
    let _ = stream.flush();
}

/// A sandbox whose `writ.yaml` has the `crm` http system at a test server (with `extra`
/// settings), and `crm.writ`.
fn crm_sandbox(name: &str, respond: Responder, extra: &str) -> (Sandbox, Arc<Mutex<Vec<Seen>>>) {
    let sb = Sandbox::new(name);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let port = serve(Arc::clone(&seen), respond);
    sb.config(&format!(
        "  crm: {{ http: \"http://127.0.0.1:{port}/api\", token_env: CRM_TOKEN{extra} }}\n"
    ));
    sb.file("crm.writ", CRM_STAGE);
    (sb, seen)
}

#[test]
fn an_http_system_is_read_and_written_with_the_token() {
    let (sb, seen) = crm_sandbox("http", Box::new(usual), "");
    let token = [("CRM_TOKEN", "tok-4711-secret")];

    // Without the token the run does not start.
    let out = sb.writ(&["run", "crm.writ", "--as", "max", "--format", "json"]);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    assert_ne!(out.code, Some(3), "{}", out.describe());
    assert!(
        seen.lock().unwrap().is_empty(),
        "no request without a token"
    );

    let (out, run) = sb.start_with_env("crm.writ", &[], "max", &token);
    expect_code(&out, 3);
    assert_eq!(out.json()["waiting"][0]["role"], "account_exec");
    {
        let requests = seen.lock().unwrap();
        assert_eq!(requests.len(), 1, "{requests:?}");
        assert_eq!(requests[0].method, "GET");
        assert_eq!(requests[0].path, "/api/leads/1");
    }
    let log = sb.events(&run);
    assert_eq!(
        of_kind(&log, "recommended")[0]["data"]["values"]["stage"],
        "qualified"
    );

    let out = sb.writ_with_env(
        &[
            "approve",
            &run,
            "rep_review",
            "--as",
            "ben",
            "--format",
            "json",
        ],
        &token,
    );
    expect_code(&out, 0);
    assert_eq!(seen.lock().unwrap().len(), 1, "a decision calls nothing");
    let out = sb.writ_with_env(&["resume", &run, "--format", "json"], &token);
    expect_code(&out, 0);
    assert_eq!(out.json()["status"], "done");

    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let patch = &requests[1];
    assert_eq!(patch.method, "PATCH");
    assert_eq!(patch.path, "/api/leads/1");
    let body: Value = serde_json::from_str(&patch.body).expect("a JSON body");
    assert_eq!(body, serde_json::json!({ "stage": "qualified" }));
    assert!(
        patch
            .headers
            .get("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{patch:?}"
    );
    for request in &requests {
        assert_eq!(
            request.headers.get("authorization").map(String::as_str),
            Some("Bearer tok-4711-secret"),
            "{request:?}"
        );
    }
    let kinds = sb.kinds(&run);
    in_order(
        &kinds,
        &["confirmed", "before_image", "written", "run_finished"],
    );
    let log = sb.events(&run);
    // The log keeps the status and yields of an http answer, not the whole body (no
    // `record: full`).
    assert_eq!(
        of_kind(&log, "written")[0]["data"]["output"],
        serde_json::Value::Null
    );
    assert_eq!(of_kind(&log, "written")[0]["data"]["status"], 200);

    // The rollback PATCHes back the stage the recommend step read.
    let out = sb.writ_with_env(
        &["rollback", &run, "--as", "max", "--format", "json"],
        &token,
    );
    expect_code(&out, 0);
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[2].method, "PATCH");
    let body: Value = serde_json::from_str(&requests[2].body).expect("a JSON body");
    assert_eq!(body, serde_json::json!({ "stage": "contacted" }));

    // The token is in no event and no file of the store.
    let out = sb.writ(&["log", &run, "--format", "jsonl"]);
    assert!(!out.stdout.contains("tok-4711-secret"));
    for entry in fs::read_dir(sb.path(".writ")).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let bytes = fs::read(&path).unwrap();
        assert!(
            !bytes
                .windows(b"tok-4711-secret".len())
                .any(|w| w == b"tok-4711-secret"),
            "the token reached {}",
            path.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Status and inputs.

#[test]
fn status_lists_every_run() {
    let sb = Sandbox::new("status-list");
    assert!(sb.runs().is_empty());
    let out = sb.writ(&["status"]);
    expect_code(&out, 0);

    let waiting = sb.waiting_triage();
    let done = sb.approved_triage();
    expect_code(&sb.resume(&done), 0);
    let runs = sb.runs();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let status_of = |id: &str| {
        runs.iter()
            .find(|r| r["run"] == id)
            .unwrap_or_else(|| panic!("run {id} listed: {runs:?}"))["status"]
            .clone()
    };
    assert_eq!(status_of(&waiting), "waiting");
    assert_eq!(status_of(&done), "done");
    for run in &runs {
        assert_eq!(run["workflow"], "ticket_triage");
        assert_eq!(run["started_by"], "ana");
    }

    let out = sb.writ(&["status", "20990101-000000-abcdef", "--format", "json"]);
    expect_code(&out, 1);
}

#[test]
fn bad_inputs_are_usage_errors_and_start_nothing() {
    let sb = Sandbox::new("inputs");
    let cases: [&[&str]; 6] = [
        &["ticket=101"],
        &["ticket_id=abc"],
        &["ticket_id=1.5"],
        &[],
        &["ticket_id"],
        &["ticket_id=101", "ticket_id=102"],
    ];
    for inputs in cases {
        let mut args = vec!["run", "triage.writ", "--as", "ana", "--format", "json"];
        for input in inputs {
            args.extend(["--input", input]);
        }
        let out = sb.writ(&args);
        expect_code(&out, 2);
        assert!(
            out.stderr.contains("ticket_id"),
            "the error names the input: {inputs:?}\n{}",
            out.describe()
        );
    }
    assert!(sb.runs().is_empty(), "nothing in the store");
    sb.assert_untouched();

    let out = sb.writ(&["run", "triage.writ", "--input", TICKET, "--format", "json"]);
    expect_code(&out, 2);
    assert!(sb.runs().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Writes in doubt, paths, time limits, concurrency, the other connectors.

/// A write whose outcome writ cannot know (`report` is the run's) must not be left unreported:
/// either the run goes to `repair_role`, or its rollback ran (`rolled_back`) and `reversed`
/// says the reversal reached the system.
#[track_caller]
fn assert_in_doubt_reported(
    sb: &Sandbox,
    run: &str,
    report: &Value,
    repair_role: &str,
    reversed: bool,
) {
    let kinds = sb.kinds(run);
    let handed_over = report["status"] == "needs_repair"
        && report["repair_by"] == serde_json::json!([repair_role]);
    let reversed = has(&kinds, "rolled_back") && reversed;
    assert!(
        handed_over || reversed,
        "a write in doubt was left unreported: {report}\nevents: {kinds:?}"
    );
}

#[test]
fn a_timed_out_http_write_is_in_doubt_and_goes_to_the_repair_role() {
    // The server applies the PATCH, then answers after the system's 1 s timeout.
    let patches = std::sync::atomic::AtomicUsize::new(0);
    let slow_first_patch = move |request: &Seen| {
        let mut reply = usual(request);
        if request.method == "PATCH"
            && patches.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0
        {
            reply.delay = Duration::from_secs(3);
        }
        reply
    };
    let (sb, seen) = crm_sandbox("http-timeout", Box::new(slow_first_patch), ", timeout: 1s");
    let token = [("CRM_TOKEN", "tok")];
    let (out, run) = sb.start_with_env("crm.writ", &[], "max", &token);
    expect_code(&out, 3);
    let out = sb.writ_with_env(&["approve", &run, "rep_review", "--as", "ben"], &token);
    expect_code(&out, 0);
    let out = sb.writ_with_env(&["resume", &run, "--format", "json"], &token);
    expect_code(&out, 1);
    let report = out.json();
    let patches: Vec<Seen> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.method == "PATCH")
        .cloned()
        .collect();
    assert!(!patches.is_empty(), "the write reached the server");

    // writ cannot know whether the CRM applied the write, so it may not end the run `failed`
    // (which says every write was reversed) with the write left in place and no one to repair
    // it. Either it hands the run to the repair role, or it runs the rollback.
    assert_in_doubt_reported(&sb, &run, &report, "sales_manager", patches.len() == 2);
}

#[test]
fn relative_paths_are_relative_to_the_config_folder() {
    let sb = Sandbox::new("config-folder");
    fs::create_dir_all(sb.path("ops")).unwrap();
    fs::rename(sb.path("helpdesk.db"), sb.path("ops/helpdesk.db")).unwrap();
    let config = fs::read_to_string(sb.path("writ.yaml"))
        .unwrap()
        .replace(".writ/state.db", "records/writ/state.db");
    sb.file("ops/writ.yaml", &config);
    fs::remove_file(sb.path("writ.yaml")).unwrap();
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--config", "ops/writ.yaml", "--format", "json"]);
        sb.writ(&all)
    };

    let out = with(&["run", "triage.writ", "--input", TICKET, "--as", "ana"]);
    expect_code(&out, 3);
    let run = out.json()["run"].as_str().unwrap().to_owned();
    assert!(
        sb.path("ops/records/writ/state.db").is_file(),
        "the state's folder is created, under the config's folder"
    );
    assert!(!sb.path(".writ").exists());
    expect_code(&with(&["approve", &run, "lead_review", "--as", "sam"]), 0);
    let out = with(&["resume", &run]);
    expect_code(&out, 0);
    let priority: String = sb.query_one(
        "ops/helpdesk.db",
        "SELECT priority FROM tickets WHERE id = 101",
    );
    assert_eq!(priority, "low", "the helpdesk named relative to the config");
    assert!(
        !sb.path("helpdesk.db").exists(),
        "nothing created beside the workflow"
    );

    // Without --config there is no ./writ.yaml: a usage error.
    expect_code(&sb.writ(&["status"]), 2);
}

#[test]
fn a_step_that_hangs_is_stopped_at_the_step_timeout() {
    let sb = Sandbox::new("step-timeout");
    sb.config("limits: { step_timeout: 1s }\n");
    sb.script(
        "scripts/suggest_priority",
        "#!/bin/sh\nsleep 10\nprintf '{\"priority\":\"low\",\"reason\":\"late\"}\\n'\n",
    );
    let started = std::time::Instant::now();
    let (out, run) = sb.start("triage.writ", &[TICKET], "ana");
    expect_code(&out, 1);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the program was not waited for: {:?}",
        started.elapsed()
    );
    let report = out.json();
    assert_eq!(report["status"], "failed");
    assert_eq!(report["step"], "suggest_priority");
    lacks(&sb.kinds(&run), &["recommended", "confirmation_requested"]);
    sb.assert_untouched();
}

/// A script that marks itself started, then waits up to 2 s for `other` to have started.
fn rendezvous(me: &str, other: &str, output: &str) -> String {
    format!(
        "#!/bin/sh\ntouch {me}.started\ni=0\nwhile [ ! -e {other}.started ]; do\n  \
         i=$((i + 1))\n  [ $i -gt 20 ] && {{ echo 'alone' >&2; exit 7; }}\n  sleep 0.1\ndone\n\
         printf '%s\\n' '{output}'\n"
    )
}

#[test]
fn independent_steps_run_concurrently() {
    let sb = Sandbox::new("concurrent");
    // The two programs meet through files in the workflow's folder, which the exec sandbox
    // keeps read-only: this test of concurrency runs them unconfined.
    sb.config("sandbox: off\n");
    sb.file("pair.writ", SIDE_BY_SIDE);
    sb.script(
        "scripts/left",
        &rendezvous("left", "right", r#"{"priority":"low"}"#),
    );
    sb.script(
        "scripts/right",
        &rendezvous("right", "left", r#"{"reason":"both ran"}"#),
    );
    let run = sb.waiting("pair.writ");
    let log = sb.events(&run);
    assert_eq!(of_kind(&log, "recommended").len(), 2);
    let request = of_kind(&log, "confirmation_requested")[0];
    assert_eq!(
        request["data"]["shows"],
        serde_json::json!([["left.priority", "low"], ["right.reason", "both ran"]])
    );

    // With `concurrency: 1` they run one after the other, and the first gives up waiting.
    for name in ["left.started", "right.started"] {
        fs::remove_file(sb.path(name)).unwrap();
    }
    sb.config("limits: { concurrency: 1 }\nsandbox: off\n");
    let (out, _) = sb.start("pair.writ", &[TICKET], "ana");
    expect_code(&out, 1);
    sb.assert_untouched();
}

#[test]
fn a_refused_workflow_or_a_missing_system_starts_nothing() {
    let sb = Sandbox::new("refused");
    sb.file("high.writ", &TRIAGE.replace("risk medium", "risk high"));
    let out = sb.writ(&["run", "high.writ", "--input", TICKET, "--as", "ana"]);
    expect_code(&out, 1);
    assert!(out.stderr.contains("E0204"));

    // The helpdesk configured as an http system: not the sqlite the workflow declares.
    sb.config("");
    let config = fs::read_to_string(sb.path("writ.yaml")).unwrap().replace(
        "helpdesk: { sqlite: helpdesk.db }",
        "helpdesk: { http: \"http://127.0.0.1:9/api\" }",
    );
    sb.file("writ.yaml", &config);
    let out = sb.writ(&["run", "triage.writ", "--input", TICKET, "--as", "ana"]);
    expect_code(&out, 2);

    // No helpdesk in the config at all.
    sb.file("writ.yaml", &format!("state: .writ/state.db\n{PEOPLE}"));
    let out = sb.writ(&["run", "triage.writ", "--input", TICKET, "--as", "ana"]);
    expect_code(&out, 2);
    assert!(out.stderr.contains("helpdesk"));

    // The helpdesk pointed at writ's own store: refused before anything, not a lock-up later.
    sb.file(
        "writ.yaml",
        &format!(
            "state: .writ/state.db\n{PEOPLE}systems:\n  helpdesk: {{ sqlite: .writ/state.db }}\n"
        ),
    );
    let out = sb.writ(&["run", "triage.writ", "--input", TICKET, "--as", "ana"]);
    expect_code(&out, 2);
    assert!(out.stderr.contains("writ's own store"), "{}", out.stderr);

    sb.config("");
    assert!(sb.runs().is_empty(), "nothing in the store");
    sb.assert_untouched();
}

#[test]
fn a_capture_without_exactly_one_row_fails_before_writing() {
    let sb = Sandbox::new("capture-none");
    // Ticket 999 does not exist: the capture finds no row.
    let (out, run) = sb.start("triage.writ", &["ticket_id=999"], "ana");
    expect_code(&out, 3);
    expect_code(&sb.approve(&run, "lead_review", "sam"), 0);
    let out = sb.resume(&run);
    expect_code(&out, 1);
    let report = out.json();
    assert_eq!(report["status"], "failed");
    assert_eq!(report["step"], "set_priority");
    let kinds = sb.kinds(&run);
    lacks(&kinds, &["before_image", "written", "rollback_started"]);
    assert_eq!(kinds.last().map(String::as_str), Some("run_failed"));
    sb.assert_untouched();
}

/// A sandbox with the `outbox` exec system (its programs run in `outbox/`; `more` is added to
/// the config after it), notify.writ with `send` and `recall` as its programs, and a run of it
/// approved by sam.
fn approved_notify(name: &str, more: &str, send: &str, recall: &str) -> (Sandbox, String) {
    let sb = Sandbox::new(name);
    sb.config(&format!(
        "  outbox: {{ exec: outbox, write: [outbox] }}\n{more}"
    ));
    fs::create_dir_all(sb.path("outbox")).unwrap();
    sb.file("notify.writ", NOTIFY);
    sb.script("scripts/send_note", send);
    sb.script("scripts/recall_note", recall);
    let run = sb.approved("notify.writ");
    (sb, run)
}

#[test]
fn an_exec_system_runs_its_programs_in_its_own_folder() {
    let (sb, run) = approved_notify(
        "exec-system",
        "",
        "#!/bin/sh\necho \"$1 $2\" >> sent.log\nprintf '{\"queued\":true}\\n'\n",
        "#!/bin/sh\n[ \"$2\" = true ] || exit 3\necho \"$1\" >> recalled.log\n",
    );
    assert!(
        !sb.path("outbox/sent.log").exists(),
        "a decision runs nothing"
    );
    let out = sb.resume(&run);
    expect_code(&out, 0);
    assert_eq!(
        fs::read_to_string(sb.path("outbox/sent.log")).unwrap(),
        "101 low\n",
        "the program ran once, in the system's folder, with the approved arguments"
    );
    let log = sb.events(&run);
    let kinds = sb.kinds(&run);
    assert!(
        position(&kinds, "before_image") < position(&kinds, "written"),
        "{kinds:?}"
    );
    let written = of_kind(&log, "written")[0];
    assert_eq!(written["data"]["values"]["queued"], true);

    let out = sb.writ(&["rollback", &run, "--as", "olu", "--format", "json"]);
    expect_code(&out, 0);
    assert_eq!(
        fs::read_to_string(sb.path("outbox/recalled.log")).unwrap(),
        "101\n"
    );
    assert_eq!(
        fs::read_to_string(sb.path("outbox/sent.log")).unwrap(),
        "101 low\n",
        "nothing ran twice"
    );
}

#[test]
fn a_token_echoed_in_an_error_is_not_recorded() {
    // A server that answers 500 with the request's Authorization header in the body.
    let echo = |request: &Seen| Reply {
        status: 500,
        body: format!(
            r#"{{"error":"bad request","auth":"{}"}}"#,
            request
                .headers
                .get("authorization")
                .cloned()
                .unwrap_or_default()
        ),
        delay: Duration::ZERO,
    };
    let (sb, seen) = crm_sandbox("http-echo", Box::new(echo), "");
    let (out, run) = sb.start_with_env("crm.writ", &[], "max", &[("CRM_TOKEN", "tok-echo-9")]);
    expect_code(&out, 1);
    assert_eq!(out.json()["status"], "failed");
    assert_eq!(seen.lock().unwrap().len(), 1);
    let shown = [
        out.describe(),
        sb.writ(&["log", &run, "--format", "jsonl"]).describe(),
        sb.writ(&["log", &run]).describe(),
        sb.writ(&["status", &run, "--format", "json"]).describe(),
    ];
    for text in shown {
        assert!(!text.contains("tok-echo-9"), "the token leaked:\n{text}");
    }
    lacks(&sb.kinds(&run), &["recommended", "confirmation_requested"]);
}

#[test]
fn a_sql_recommendation_reads_the_system_it_reads() {
    let sb = Sandbox::new("sql-recommend");
    sb.file(
        "triage.writ",
        &TRIAGE.replace(
            "run exec \"scripts/suggest_priority\" [ticket_id]",
            "run sql \"SELECT CASE status WHEN 'open' THEN 'urgent' ELSE 'low' END AS priority, \
             subject AS reason FROM tickets WHERE id = :ticket_id\"",
        ),
    );
    let run = sb.waiting_triage();
    let log = sb.events(&run);
    let values = &of_kind(&log, "recommended")[0]["data"]["values"];
    assert_eq!(values["priority"], "urgent");
    assert_eq!(values["reason"], "Cannot log in after password reset");
    expect_code(&sb.approve(&run, "lead_review", "sam"), 0);
    expect_code(&sb.resume(&run), 0);
    assert_eq!(sb.priority(101), "urgent");

    // No row: the recommendation has no fields, and the run fails before anything is asked.
    let (out, run) = sb.start("triage.writ", &["ticket_id=999"], "ana");
    expect_code(&out, 1);
    lacks(&sb.kinds(&run), &["recommended", "confirmation_requested"]);
}

#[test]
fn a_timed_out_exec_write_is_in_doubt_and_goes_to_the_repair_role() {
    // The note goes out, then the program hangs past the step timeout.
    let (sb, run) = approved_notify(
        "exec-timeout",
        "limits: { step_timeout: 1s }\n",
        "#!/bin/sh\necho \"$1 $2\" >> sent.log\nsleep 10\nprintf '{\"queued\":true}\\n'\n",
        "#!/bin/sh\necho \"$1\" >> recalled.log\n",
    );
    let out = sb.resume(&run);
    expect_code(&out, 1);
    let report = out.json();
    assert_eq!(
        fs::read_to_string(sb.path("outbox/sent.log")).unwrap(),
        "101 low\n",
        "the note went out"
    );

    let recalled = sb.path("outbox/recalled.log").exists();
    assert_in_doubt_reported(&sb, &run, &report, "ops_lead", recalled);
}
