//! Crash safety (docs/runtime.md, "The order of side effects"): the real `writ` binary is
//! killed with SIGKILL (`WRIT_FAULT=POINT:STEP`) at every point of a run's forward path and of
//! its compensation; `writ resume` and `writ rollback` must then finish the run without ever
//! writing twice, and without leaving a write in place that the run says it reversed.
//!
//! The helpdesk table gets a `writes` counter that every forward write increments, so a double
//! write is visible in the database itself, not only in the log.

use crate::support::bed;

use std::thread;

use bed::{Bed, HELPDESK_CONFIG};
use serde_json::Value;

/// Two writes to one ticket, each with a capture that tells its before- and after-image apart.
pub(crate) const WORKFLOW: &str = r#"workflow crashy {
  owner ops_lead
  role support_lead, ops_lead
  system helpdesk: sqlite inside
  input ticket_id: int

  recommend suggest {
    reads helpdesk
    run exec "scripts/suggest" [ticket_id]
    yields priority: text in ["low", "normal", "urgent"]
  }

  confirm review {
    after suggest
    by support_lead
    shows suggest.priority
    expires 4h -> reject
  }

  execute first {
    after review
    writes helpdesk
    risk medium
    approver support_lead
    capture sql "SELECT priority, writes FROM tickets WHERE id = :ticket_id"
    run sql "UPDATE tickets SET priority = :suggest.priority, writes = writes + 1 WHERE id = :ticket_id"
  }

  rollback undo_first undoes first {
    repair by ops_lead
    run sql "UPDATE tickets SET priority = :before.priority, writes = :before.writes WHERE id = :ticket_id"
  }

  execute second {
    after first
    writes helpdesk
    risk medium
    approver support_lead
    capture sql "SELECT status FROM tickets WHERE id = :ticket_id"
    run sql "UPDATE tickets SET status = 'pending' WHERE id = :ticket_id"
  }

  rollback undo_second undoes second {
    repair by ops_lead
    run sql "UPDATE tickets SET status = :before.status WHERE id = :ticket_id"
  }
}
"#;

const SUGGEST: &str = "#!/bin/sh\necho '{\"priority\":\"urgent\"}'\n";

/// The ticket the runs write: 105 is `low` and `open` in workflows/data/helpdesk.sql.
const TICKET: &str = "105";

/// The columns of ticket 105 that the workflow writes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Ticket {
    priority: String,
    writes: i64,
    status: String,
}

pub(crate) fn ticket(priority: &str, writes: i64, status: &str) -> Ticket {
    Ticket {
        priority: priority.to_owned(),
        writes,
        status: status.to_owned(),
    }
}

pub(crate) fn original() -> Ticket {
    ticket("low", 0, "open")
}

pub(crate) fn both_written() -> Ticket {
    ticket("urgent", 1, "pending")
}

/// Which command a fault is injected into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    Run,
    Approve,
    Resume,
}

/// One kill point of the forward path.
pub(crate) struct Point {
    pub(crate) fault: &'static str,
    pub(crate) stage: Stage,
    /// The ticket right after the kill: shows the fault fired where it claims to.
    pub(crate) at_kill: fn() -> Ticket,
}

const FORWARD: [Point; 9] = [
    Point {
        fault: "recommended:suggest",
        stage: Stage::Run,
        at_kill: original,
    },
    Point {
        fault: "confirmation_requested:review",
        stage: Stage::Run,
        at_kill: original,
    },
    Point {
        fault: "confirmed:review",
        stage: Stage::Approve,
        at_kill: original,
    },
    // Inside the write's transaction, before COMMIT: nothing is written.
    Point {
        fault: "before_image:first",
        stage: Stage::Resume,
        at_kill: original,
    },
    Point {
        fault: "commit:first",
        stage: Stage::Resume,
        at_kill: || ticket("urgent", 1, "open"),
    },
    Point {
        fault: "written:first",
        stage: Stage::Resume,
        at_kill: || ticket("urgent", 1, "open"),
    },
    Point {
        fault: "before_image:second",
        stage: Stage::Resume,
        at_kill: || ticket("urgent", 1, "open"),
    },
    Point {
        fault: "commit:second",
        stage: Stage::Resume,
        at_kill: both_written,
    },
    Point {
        fault: "written:second",
        stage: Stage::Resume,
        at_kill: both_written,
    },
];

/// One case: a fresh folder with the config, the workflow, its script and the helpdesk db.
pub(crate) struct Case {
    pub(crate) bed: Bed,
    label: String,
}

impl Case {
    pub(crate) fn new(name: &str, workflow: &str) -> Case {
        let bed = Bed::new(name);
        bed.file("writ.yaml", HELPDESK_CONFIG);
        bed.file("crashy.writ", workflow);
        bed.script("scripts/suggest", SUGGEST);
        bed.helpdesk("helpdesk.db");
        bed.sql(
            "helpdesk.db",
            "ALTER TABLE tickets ADD COLUMN writes INTEGER NOT NULL DEFAULT 0",
        );
        let case = Case {
            bed,
            label: name.to_owned(),
        };
        let check = case.bed.writ(&["check", "crashy.writ"]);
        assert_eq!(
            check.code,
            Some(0),
            "[{name}] the workflow checks clean: {}",
            check.stderr
        );
        assert_eq!(case.ticket(), original(), "[{name}] the fresh ticket");
        case
    }

    /// Runs a command that must be killed by its fault (`WRIT_FAULT`).
    pub(crate) fn killed(&self, args: &[&str], fault: &str) {
        let out = self.bed.writ_with_env(args, &[("WRIT_FAULT", fault)]);
        assert_eq!(
            out.signal,
            Some(9),
            "[{}] `writ {}` with WRIT_FAULT={fault} must die by SIGKILL, but exited {:?}\n\
             stdout: {}\nstderr: {}",
            self.label,
            args.join(" "),
            out.code,
            out.stdout,
            out.stderr
        );
    }

    /// Runs a command that must exit with `code` and print one JSON report; returns it.
    pub(crate) fn report(&self, args: &[&str], code: i32) -> Value {
        let out = self.bed.writ(args);
        let shown = format!(
            "[{}] `writ {}`: exit {:?}, signal {:?}\nstdout: {}\nstderr: {}",
            self.label,
            args.join(" "),
            out.code,
            out.signal,
            out.stdout,
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "a panic: {shown}");
        assert_eq!(out.code, Some(code), "{shown}");
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("a JSON report on stdout ({e}): {shown}"))
    }

    pub(crate) fn start(&self) -> String {
        let report = self.report(&self.run_args(), 3);
        assert_eq!(report["status"], "waiting", "[{}] {report}", self.label);
        report["run"]
            .as_str()
            .unwrap_or_else(|| panic!("[{}] no run id in {report}", self.label))
            .to_owned()
    }

    fn run_args(&self) -> Vec<&'static str> {
        vec![
            "run",
            "crashy.writ",
            "--input",
            "ticket_id=105",
            "--as",
            "ana",
            "--format",
            "json",
        ]
    }

    pub(crate) fn approve(&self, run: &str) {
        self.report(
            &["approve", run, "review", "--as", "sam", "--format", "json"],
            0,
        );
    }

    /// `writ resume RUN`, which must exit with `code`; its report.
    pub(crate) fn resume(&self, run: &str, code: i32) -> Value {
        self.report(&["resume", run, "--format", "json"], code)
    }

    /// `writ rollback RUN` by the repair role, which must succeed; its report.
    pub(crate) fn rollback(&self, run: &str) -> Value {
        self.report(&["rollback", run, "--as", "olu", "--format", "json"], 0)
    }

    /// The one run in the store (for a run whose `writ run` was killed before printing it).
    fn only_run(&self) -> String {
        let report = self.report(&["status", "--format", "json"], 0);
        let runs = report["runs"]
            .as_array()
            .unwrap_or_else(|| panic!("[{}] no `runs` in {report}", self.label));
        assert_eq!(
            runs.len(),
            1,
            "[{}] one run in the store: {report}",
            self.label
        );
        runs[0]["run"].as_str().expect("a run id").to_owned()
    }

    /// Drives a run to `point` and kills writ there; returns the run's id.
    pub(crate) fn crash_at(&self, point: &Point) -> String {
        if point.stage == Stage::Run {
            self.killed(&self.run_args(), point.fault);
            return self.only_run();
        }
        let run = self.start();
        if point.stage == Stage::Approve {
            self.killed(&["approve", &run, "review", "--as", "sam"], point.fault);
            return run;
        }
        self.approve(&run);
        self.killed(&["resume", &run], point.fault);
        run
    }

    pub(crate) fn ticket(&self) -> Ticket {
        self.bed
            .db("helpdesk.db")
            .query_row(
                "SELECT priority, writes, status FROM tickets WHERE id = ?1",
                [TICKET],
                |row| {
                    Ok(Ticket {
                        priority: row.get(0)?,
                        writes: row.get(1)?,
                        status: row.get(2)?,
                    })
                },
            )
            .expect("read ticket 105")
    }

    fn audit_is_intact(&self) {
        let out = self.bed.writ(&["audit", "verify"]);
        assert_eq!(
            out.code,
            Some(0),
            "[{}] writ audit verify: {}{}",
            self.label,
            out.stdout,
            out.stderr
        );
    }

    /// The run has ended: the audit chain is intact, the run's last event is `kind` and ends it
    /// with `status`, and no other event ends it. Returns the run's events.
    pub(crate) fn ended(&self, run: &str, kind: &str, status: &str) -> Vec<Value> {
        self.audit_is_intact();
        let events = self.bed.events(run);
        let last = events.last().expect("the run has events");
        assert_eq!(
            last["kind"], kind,
            "[{}] the last event: {last}",
            self.label
        );
        assert_eq!(
            last["data"]["status"], status,
            "[{}] the last event: {last}",
            self.label
        );
        let ends = events
            .iter()
            .filter(|e| e["kind"] == "run_finished" || e["kind"] == "run_failed")
            .count();
        assert_eq!(ends, 1, "[{}] exactly one event ends the run", self.label);
        events
    }

    pub(crate) fn step_phase(&self, run: &str, step: &str) -> Value {
        let report = self.report(&["status", run, "--format", "json"], 0);
        report["steps"][step].clone()
    }
}

pub(crate) fn written<'a>(events: &'a [Value], step: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "written" && e["step"] == step)
        .collect()
}

/// Runs `case` for every point on its own thread (named after the point, so a panic names
/// it) and fails once, listing every point that failed.
fn each_point(points: &[Point], case: fn(&Point)) {
    let failed: Vec<&str> = thread::scope(|scope| {
        let handles: Vec<_> = points
            .iter()
            .map(|point| {
                let handle = thread::Builder::new()
                    .name(point.fault.to_owned())
                    .spawn_scoped(scope, move || case(point))
                    .expect("spawn a thread");
                (point.fault, handle)
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|(fault, handle)| handle.join().is_err().then_some(fault))
            .collect()
    });
    assert!(
        failed.is_empty(),
        "failed at {} of {} kill points: {failed:?} (each point's panic is printed above)",
        failed.len(),
        points.len()
    );
}

/// The step whose write a fault interrupts between its before-image and its `written` event.
fn in_doubt_step(fault: &str) -> Option<&str> {
    let (kind, step) = fault.split_once(':')?;
    matches!(kind, "before_image" | "commit").then_some(step)
}

/// A case named after `what` and `point`, with a run of [`WORKFLOW`] killed at `point` and the
/// ticket checked right after the kill; returns the case and the run's id.
fn crashed(what: &str, point: &Point) -> (Case, String) {
    let name = format!("{what}-{}", point.fault.replace(':', "-"));
    let case = Case::new(&name, WORKFLOW);
    let run = case.crash_at(point);
    assert_eq!(
        case.ticket(),
        (point.at_kill)(),
        "[{}] the ticket right after the kill",
        point.fault
    );
    (case, run)
}

fn resume_finishes(point: &Point) {
    let (case, run) = crashed("resume", point);
    let at = point.fault;
    if let Some(step) = in_doubt_step(at) {
        assert_eq!(
            case.step_phase(&run, step),
            "in_doubt",
            "[{at}] `{step}` is in doubt after the kill"
        );
    }

    if point.stage == Stage::Run {
        // The kill came before anyone approved: resume reaches the confirm and waits.
        let waiting = case.resume(&run, 3);
        assert_eq!(waiting["status"], "waiting", "[{at}] {waiting}");
        case.approve(&run);
    }
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "[{at}] resume ends done: {done}");

    assert_eq!(
        case.ticket(),
        both_written(),
        "[{at}] each write took effect exactly once (writes == 1)"
    );
    let events = case.ended(&run, "run_finished", "done");
    for step in ["first", "second"] {
        let written = written(&events, step);
        assert_eq!(
            written.len(),
            1,
            "[{at}] exactly one `written` event for `{step}`: {written:?}"
        );
        // A write that committed before the kill is recorded as recovered, never run again.
        let recovered = at == format!("commit:{step}");
        assert_eq!(
            written[0]["data"]["recovered"].as_bool().unwrap_or(false),
            recovered,
            "[{at}] `recovered` on the `written` of `{step}`: {}",
            written[0]
        );
    }
}

fn rollback_restores(point: &Point) {
    let (case, run) = crashed("rollback", point);
    let at = point.fault;
    let report = case.rollback(&run);
    assert_eq!(report["status"], "rolled_back", "[{at}] {report}");
    assert_eq!(
        case.ticket(),
        original(),
        "[{at}] after `writ rollback` (status {}) the ticket is as before the run",
        report["status"]
    );
    case.ended(&run, "run_finished", "rolled_back");
}

#[test]
fn resume_after_a_kill_at_every_forward_point_writes_exactly_once() {
    each_point(&FORWARD, resume_finishes);
}

#[test]
fn rollback_after_a_kill_at_every_forward_point_restores_the_ticket() {
    each_point(&FORWARD, rollback_restores);
}

/// `second` violates the CHECK on `tickets.status`, so the run fails after `first` wrote and
/// compensation rolls `first` back; the kill comes during that rollback.
fn failing_case(name: &str, fault: &str) -> (Case, String) {
    let case = Case::new(
        name,
        &WORKFLOW.replace("status = 'pending'", "status = 'bogus'"),
    );
    let run = case.start();
    case.approve(&run);
    case.killed(&["resume", &run], fault);
    (case, run)
}

#[test]
fn a_kill_when_a_rollback_started_ends_needs_repair() {
    let (case, run) = failing_case("rollback-started", "rollback_started:undo_first");
    // The kill came right after `rollback_started`: the rollback itself never ran.
    assert_eq!(
        case.ticket(),
        ticket("urgent", 1, "open"),
        "the ticket after the kill"
    );

    // writ cannot tell whether the rollback ran: it must not guess, nor run it silently again.
    let report = case.resume(&run, 1);
    assert_eq!(report["status"], "needs_repair", "{report}");
    assert_eq!(
        report["repair_by"],
        serde_json::json!(["ops_lead"]),
        "{report}"
    );
    assert!(
        report["unreversed"]
            .as_array()
            .is_some_and(|u| u.iter().any(|s| s == "first")),
        "`first` is named as a write left in place: {report}"
    );
    assert_eq!(
        case.ticket(),
        ticket("urgent", 1, "open"),
        "resume does not run the interrupted rollback again"
    );
    let events = case.ended(&run, "run_failed", "needs_repair");
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "rollback_failed" && e["step"] == "undo_first"),
        "the interrupted rollback is recorded as failed"
    );

    // The repair role asks for the rollback explicitly: now it runs, once.
    let rolled = case.rollback(&run);
    assert_eq!(rolled["status"], "rolled_back", "{rolled}");
    assert_eq!(
        case.ticket(),
        original(),
        "the explicit rollback restores the ticket"
    );
    case.audit_is_intact();
}

#[test]
fn a_kill_after_a_rollback_finished_ends_failed() {
    let (case, run) = failing_case("rolled-back", "rolled_back:undo_first");
    assert_eq!(
        case.ticket(),
        original(),
        "the rollback ran before the kill"
    );

    let report = case.resume(&run, 1);
    assert_eq!(report["status"], "failed", "{report}");
    assert_eq!(
        case.ticket(),
        original(),
        "the ticket stays as before the run"
    );
    let events = case.ended(&run, "run_failed", "failed");
    let reversals = events
        .iter()
        .filter(|e| e["kind"] == "rollback_started" && e["step"] == "undo_first")
        .count();
    assert_eq!(reversals, 1, "the finished rollback is not run again");
}
