//! SQL writes that are exact across crashes: `resume` asks writ's marker table
//! (`writ_writes`, committed in the write's own transaction) whether a write in doubt
//! committed, and never compares values, so another writer changing the row between the crash
//! and the resume can neither make writ write twice nor make it record a write that never
//! happened.

use crate::crash::{Case, Point, Stage, Ticket, WORKFLOW, both_written, original, ticket, written};

/// Kills a run of the crash workflow at `fault` (inside `writ resume`), then lets another
/// writer set ticket 105's written columns to `priority` and `writes`.
fn crashed_then_changed(
    name: &str,
    fault: &'static str,
    at_kill: fn() -> Ticket,
    priority: &str,
    writes: i64,
) -> (Case, String) {
    let case = Case::new(name, WORKFLOW);
    let point = Point {
        fault,
        stage: Stage::Resume,
        at_kill,
    };
    let run = case.crash_at(&point);
    assert_eq!(case.ticket(), at_kill(), "the ticket right after the kill");
    assert_eq!(case.step_phase(&run, "first"), "in_doubt");
    case.bed.sql(
        "helpdesk.db",
        &format!("UPDATE tickets SET priority = '{priority}', writes = {writes} WHERE id = 105"),
    );
    (case, run)
}

fn recovered(events: &[serde_json::Value], step: &str) -> bool {
    let written = written(events, step);
    assert_eq!(written.len(), 1, "one `written` for `{step}`: {written:?}");
    written[0]["data"]["recovered"].as_bool().unwrap_or(false)
}

#[test]
fn a_committed_write_whose_row_another_writer_changed_is_recovered_not_written_again() {
    // The other writer puts the row back to exactly the before-image: comparing values would
    // call the write uncommitted and apply it a second time.
    let (case, run) = crashed_then_changed(
        "exact-committed",
        "commit:first",
        || ticket("urgent", 1, "open"),
        "low",
        0,
    );
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(
        case.ticket(),
        ticket("low", 0, "pending"),
        "`first` is not applied again over the other writer's change"
    );
    let events = case.ended(&run, "run_finished", "done");
    assert!(
        recovered(&events, "first"),
        "`first` is recorded as recovered"
    );
    assert!(!recovered(&events, "second"));
}

#[test]
fn a_write_that_never_committed_runs_even_when_another_writer_made_the_row_look_written() {
    // The other writer sets the row to exactly the after-image: comparing values would record
    // a write that never happened (and its rollback would erase the other writer's change).
    let (case, run) = crashed_then_changed(
        "exact-uncommitted",
        "before_image:first",
        original,
        "urgent",
        1,
    );
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(
        case.ticket(),
        ticket("urgent", 2, "pending"),
        "`first` runs now, on top of the other writer's change"
    );
    let events = case.ended(&run, "run_finished", "done");
    assert!(
        !recovered(&events, "first"),
        "`first` was written by this resume"
    );
}

#[test]
fn every_committed_write_leaves_a_marker_row_naming_run_step_and_hash() {
    let case = Case::new("exact-marker", WORKFLOW);
    let run = case.start();
    case.approve(&run);
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "{done}");
    let events = case.ended(&run, "run_finished", "done");
    let db = case.bed.db("helpdesk.db");
    let mut statement = db
        .prepare("SELECT run, step, hash FROM writ_writes ORDER BY step")
        .expect("writ's marker table exists");
    let rows: Vec<(String, String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("read the markers")
        .collect::<Result<_, _>>()
        .expect("marker rows");
    let hash = |step: &str| {
        written(&events, step)[0]["data"]["hash"]
            .as_str()
            .expect("a hash")
            .to_owned()
    };
    assert_eq!(
        rows,
        vec![
            (run.clone(), "first".to_owned(), hash("first")),
            (run.clone(), "second".to_owned(), hash("second")),
        ]
    );
}

/// [`WORKFLOW`] with a `verify` on `first` that holds when the ticket's priority is `expected`.
fn with_verify(expected: &str) -> String {
    WORKFLOW.replace(
        "    run sql \"UPDATE tickets SET priority = :suggest.priority, writes = writes + 1 WHERE id = :ticket_id\"\n",
        &format!(
            "    run sql \"UPDATE tickets SET priority = :suggest.priority, writes = writes + 1 WHERE id = :ticket_id\"\n    verify sql \"SELECT priority = '{expected}' AS ok FROM tickets WHERE id = :ticket_id\"\n"
        ),
    )
}

/// Kills the run right after `first`'s `written` event, before its verify ran.
fn crashed_before_verify(name: &str, expected: &str) -> (Case, String) {
    let workflow = with_verify(expected);
    assert!(workflow.contains("verify sql"), "the verify was added");
    let case = Case::new(name, &workflow);
    let point = Point {
        fault: "written:first",
        stage: Stage::Resume,
        at_kill: || ticket("urgent", 1, "open"),
    };
    let run = case.crash_at(&point);
    assert_eq!(case.step_phase(&run, "first"), "verifying");
    (case, run)
}

#[test]
fn a_verify_interrupted_by_a_crash_runs_on_resume_and_its_failure_rolls_back() {
    let (case, run) = crashed_before_verify("verify-after-crash-fails", "normal");
    let failed = case.resume(&run, 1);
    assert_eq!(
        failed["status"], "failed",
        "the verify ran and failed: {failed}"
    );
    assert_eq!(case.ticket(), original(), "`first` was rolled back");
    let events = case.ended(&run, "run_failed", "failed");
    assert_eq!(
        written(&events, "first").len(),
        1,
        "the write is not run again"
    );
    assert!(!events.iter().any(|e| e["kind"] == "verified"));
}

#[test]
fn a_verify_interrupted_by_a_crash_runs_on_resume_and_records_verified() {
    let (case, run) = crashed_before_verify("verify-after-crash-passes", "urgent");
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(case.ticket(), both_written(), "each write exactly once");
    let events = case.ended(&run, "run_finished", "done");
    let verified: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "verified" && e["step"] == "first")
        .collect();
    assert_eq!(verified.len(), 1, "one `verified` for `first`: {events:?}");
}
