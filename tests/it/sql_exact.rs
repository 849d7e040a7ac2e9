//! SQL writes that are exact across crashes: `resume` asks writ's marker table
//! (`writ_writes`, committed in the write's own transaction) whether a write in doubt
//! committed, and never compares values, so another writer changing the row between the crash
//! and the resume can neither make writ write twice nor make it record a write that never
//! happened.

use crate::crash::{Case, Point, Stage, Ticket, WORKFLOW, original, ticket, written};

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
