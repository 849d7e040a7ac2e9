//! Rollbacks that compare before they reverse: the captured rows must still be the write's
//! after-image (else nothing is reversed and a person repairs it with both versions), and a
//! write that changed rows its capture does not read (a trigger, a cascade) is never claimed
//! fully reversed.

use crate::crash::{Case, WORKFLOW, both_written, ticket};

fn done(case: &Case) -> String {
    let run = case.start();
    case.approve(&run);
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(case.ticket(), both_written());
    run
}

fn rollback_error(case: &Case, run: &str, step: &str) -> String {
    let events = case.bed.events(run);
    events
        .iter()
        .find(|e| e["kind"] == "rollback_failed" && e["step"] == step)
        .and_then(|e| e["data"]["error"].as_str())
        .unwrap_or_else(|| panic!("a rollback_failed for `{step}`: {events:?}"))
        .to_owned()
}

#[test]
fn a_human_edit_before_the_rollback_is_kept_and_surfaced_with_both_versions() {
    let case = Case::new("rollback-human-edit", WORKFLOW);
    let run = done(&case);
    // A person sets the priority by hand after the run.
    case.bed.sql(
        "helpdesk.db",
        "UPDATE tickets SET priority = 'normal' WHERE id = 105",
    );
    let report = case.report(&["rollback", &run, "--as", "olu", "--format", "json"], 1);
    assert_eq!(report["status"], "needs_repair", "{report}");
    assert_eq!(
        case.ticket(),
        ticket("normal", 1, "open"),
        "`second` is reversed; the person's priority is not overwritten"
    );
    let error = rollback_error(&case, &run, "undo_first");
    assert!(
        error.contains("\"normal\"") && error.contains("\"urgent\""),
        "both versions are named: {error}"
    );
}

#[test]
fn a_write_whose_trigger_changed_other_rows_is_not_claimed_fully_reversed() {
    let case = Case::new("rollback-trigger", WORKFLOW);
    case.bed.sql(
        "helpdesk.db",
        "CREATE TABLE history (ticket INTEGER, priority TEXT);
         CREATE TRIGGER remember AFTER UPDATE OF priority ON tickets
         BEGIN INSERT INTO history VALUES (new.id, new.priority); END;",
    );
    let run = done(&case);
    let events = case.bed.events(&run);
    let first = events
        .iter()
        .find(|e| e["kind"] == "written" && e["step"] == "first")
        .expect("`first` written");
    assert_eq!(
        first["data"]["beyond"], 1,
        "the trigger's row is recorded: {first}"
    );
    let report = case.report(&["rollback", &run, "--as", "olu", "--format", "json"], 1);
    assert_eq!(report["status"], "needs_repair", "{report}");
    let error = rollback_error(&case, &run, "undo_first");
    assert!(error.contains("cannot claim a full reversal"), "{error}");
}

#[test]
fn a_write_whose_cascade_changed_other_rows_is_not_claimed_fully_reversed() {
    let workflow = WORKFLOW
        .replace(
            "UPDATE tickets SET priority = :suggest.priority, writes = writes + 1 WHERE id = :ticket_id",
            "UPDATE tickets SET priority = :suggest.priority, writes = writes + 1, id = 9105 WHERE id = :ticket_id",
        )
        .replace(
            "SELECT priority, writes FROM tickets WHERE id = :ticket_id",
            "SELECT priority, writes FROM tickets WHERE id IN (:ticket_id, 9105)",
        )
        .replace(
            "UPDATE tickets SET priority = :before.priority, writes = :before.writes WHERE id = :ticket_id",
            "UPDATE tickets SET priority = :before.priority, writes = :before.writes, id = :ticket_id WHERE id = 9105",
        )
        .replace(
            "SELECT status FROM tickets WHERE id = :ticket_id",
            "SELECT status FROM tickets WHERE id = 9105",
        )
        .replace(
            "UPDATE tickets SET status = 'pending' WHERE id = :ticket_id",
            "UPDATE tickets SET status = 'pending' WHERE id = 9105",
        )
        .replace(
            "UPDATE tickets SET status = :before.status WHERE id = :ticket_id",
            "UPDATE tickets SET status = :before.status WHERE id = 9105",
        );
    let case = Case::new("rollback-cascade", &workflow);
    case.bed.sql(
        "helpdesk.db",
        "CREATE TABLE notes (ticket INTEGER REFERENCES tickets(id) ON UPDATE CASCADE, body TEXT);
         INSERT INTO notes VALUES (105, 'called the customer');",
    );
    let run = case.start();
    case.approve(&run);
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "{done}");
    let moved: i64 = case
        .bed
        .query_one("helpdesk.db", "SELECT ticket FROM notes");
    assert_eq!(moved, 9105, "the cascade moved the note");
    let events = case.bed.events(&run);
    let first = events
        .iter()
        .find(|e| e["kind"] == "written" && e["step"] == "first")
        .expect("`first` written");
    assert_eq!(
        first["data"]["beyond"], 1,
        "the cascaded row is recorded: {first}"
    );
    let report = case.report(&["rollback", &run, "--as", "olu", "--format", "json"], 1);
    assert_eq!(report["status"], "needs_repair", "{report}");
    let error = rollback_error(&case, &run, "undo_first");
    assert!(error.contains("cannot claim a full reversal"), "{error}");
}
