//! Captures for every write shape (docs/runtime.md, "Before-images"): a DELETE (before-image
//! only), a write of several rows (its rollback runs once per captured row), BLOB columns
//! (recorded as base64, bound back as BLOBs), and a write that changes no row, which fails its
//! step unless the step says `allow no rows`.

use serde_json::Value;

use crate::crash::{Case, WORKFLOW};

/// `WORKFLOW` with its `first` execute and rollback replaced.
fn with_first(capture: &str, run: &str, undo: &str, extra: &str) -> String {
    WORKFLOW
        .replace(
            "capture sql \"SELECT priority, writes FROM tickets WHERE id = :ticket_id\"",
            &format!("capture sql \"{capture}\"{extra}"),
        )
        .replace(
            "run sql \"UPDATE tickets SET priority = :suggest.priority, writes = writes + 1 WHERE id = :ticket_id\"",
            &format!("run sql \"{run}\""),
        )
        .replace(
            "run sql \"UPDATE tickets SET priority = :before.priority, writes = :before.writes WHERE id = :ticket_id\"",
            &format!("run sql \"{undo}\""),
        )
}

fn event<'a>(events: &'a [Value], kind: &str, step: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["kind"] == kind && e["step"] == step)
        .unwrap_or_else(|| panic!("a `{kind}` for `{step}`: {events:#?}"))
}

fn attachments(case: &Case) -> Vec<(i64, String, String)> {
    let db = case.bed.db("helpdesk.db");
    let mut statement = db
        .prepare("SELECT id, typeof(data), hex(data) FROM attachments ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_delete_of_blob_rows_is_captured_before_only_and_reversed_byte_for_byte() {
    let workflow = with_first(
        "SELECT id, ticket, data FROM attachments WHERE ticket = :ticket_id",
        "DELETE FROM attachments WHERE ticket = :ticket_id",
        "INSERT INTO attachments (id, ticket, data) VALUES (:before.id, :before.ticket, :before.data)",
        "",
    );
    let case = Case::new("shapes-delete", &workflow);
    case.bed.sql(
        "helpdesk.db",
        "CREATE TABLE attachments (id INTEGER PRIMARY KEY, ticket INTEGER, data BLOB);
         INSERT INTO attachments VALUES (1, 105, x'00ff10'), (2, 105, x''), (3, 101, x'aa');",
    );
    let original = attachments(&case);
    let run = case.start();
    case.approve(&run);
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(attachments(&case), [(3, "blob".into(), "AA".into())]);

    let events = case.bed.events(&run);
    let image = &event(&events, "before_image", "first")["data"];
    assert_eq!(
        image["before"],
        serde_json::json!([
            {"id": 1, "ticket": 105, "data": {"base64": "AP8Q"}},
            {"id": 2, "ticket": 105, "data": {"base64": ""}},
        ]),
        "both rows, BLOBs as base64: {image}"
    );
    assert_eq!(
        image["after"],
        serde_json::json!([]),
        "a DELETE leaves no row"
    );
    assert_eq!(event(&events, "written", "first")["data"]["changes"], 2);

    let report = case.rollback(&run);
    assert_eq!(report["status"], "rolled_back", "{report}");
    assert_eq!(
        attachments(&case),
        original,
        "every row is back, its BLOB bound as a BLOB with the same bytes"
    );
}

const MANY: [&str; 3] = [
    "SELECT id, priority, writes FROM tickets WHERE status = 'open'",
    "UPDATE tickets SET priority = :suggest.priority, writes = writes + 1 WHERE status = 'open'",
    "UPDATE tickets SET priority = :before.priority, writes = :before.writes WHERE id = :before.id",
];

fn priorities(case: &Case) -> Vec<(i64, String, i64)> {
    let db = case.bed.db("helpdesk.db");
    let mut statement = db
        .prepare("SELECT id, priority, writes FROM tickets ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_write_of_several_rows_is_reversed_once_per_captured_row() {
    let case = Case::new("shapes-many", &with_first(MANY[0], MANY[1], MANY[2], ""));
    let original = priorities(&case);
    let run = case.start();
    case.approve(&run);
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "{done}");
    let urgent = priorities(&case)
        .iter()
        .filter(|(_, priority, writes)| priority == "urgent" && *writes == 1)
        .count();
    assert_eq!(urgent, 4, "the four open tickets: {:?}", priorities(&case));
    let events = case.bed.events(&run);
    let image = &event(&events, "before_image", "first")["data"];
    assert_eq!(image["before"].as_array().map(Vec::len), Some(4), "{image}");
    assert!(
        event(&events, "written", "first")["data"]
            .get("beyond")
            .is_none(),
        "every changed row is a captured row"
    );

    let report = case.rollback(&run);
    assert_eq!(report["status"], "rolled_back", "{report}");
    assert_eq!(
        priorities(&case),
        original,
        "each row has its own values back"
    );
    let events = case.bed.events(&run);
    let started = event(&events, "rollback_started", "undo_first");
    assert_eq!(
        started["data"]["action"].as_array().map(Vec::len),
        Some(4),
        "one rendered action per row: {started}"
    );
}

#[test]
fn a_person_editing_one_of_several_rows_stops_the_whole_reversal() {
    let case = Case::new(
        "shapes-many-edit",
        &with_first(MANY[0], MANY[1], MANY[2], ""),
    );
    let run = case.start();
    case.approve(&run);
    assert_eq!(case.resume(&run, 0)["status"], "done");
    case.bed.sql(
        "helpdesk.db",
        "UPDATE tickets SET priority = 'normal' WHERE id = 102",
    );
    let edited = priorities(&case);
    let report = case.report(&["rollback", &run, "--as", "olu", "--format", "json"], 1);
    assert_eq!(report["status"], "needs_repair", "{report}");
    let now: Vec<_> = priorities(&case)
        .into_iter()
        .filter(|(id, ..)| *id != 105)
        .collect();
    let kept: Vec<_> = edited.into_iter().filter(|(id, ..)| *id != 105).collect();
    assert_eq!(
        now, kept,
        "no row of `first` was reversed, the edit is kept"
    );
}

const ABSENT: [&str; 3] = [
    "SELECT priority, writes FROM tickets WHERE id = 99999",
    "UPDATE tickets SET priority = :suggest.priority, writes = writes + 1 WHERE id = 99999",
    "UPDATE tickets SET priority = :before.priority, writes = :before.writes WHERE id = 99999",
];

#[test]
fn a_write_that_changes_no_row_fails_its_step_and_writes_nothing() {
    let case = Case::new(
        "shapes-none",
        &with_first(ABSENT[0], ABSENT[1], ABSENT[2], ""),
    );
    let run = case.start();
    case.approve(&run);
    let failed = case.resume(&run, 1);
    assert_eq!(failed["status"], "failed", "{failed}");
    let kinds = case.bed.kinds(&run);
    assert!(
        !kinds.iter().any(|k| k == "before_image" || k == "written"),
        "nothing was recorded as written: {kinds:?}"
    );
    let events = case.bed.events(&run);
    let end = events
        .iter()
        .find(|e| e["kind"] == "run_failed")
        .unwrap_or_else(|| panic!("a `run_failed`: {events:#?}"));
    let reason = end["data"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("changed no row") && reason.contains("allow no rows"),
        "{end}"
    );
    assert_eq!(
        case.ticket(),
        crate::crash::original(),
        "`second` never ran"
    );
}

#[test]
fn allow_no_rows_lets_a_write_of_nothing_pass_and_its_rollback_reverses_nothing() {
    let workflow = with_first(ABSENT[0], ABSENT[1], ABSENT[2], "\n    allow no rows");
    let case = Case::new("shapes-none-allowed", &workflow);
    let run = case.start();
    case.approve(&run);
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "{done}");
    let events = case.bed.events(&run);
    assert_eq!(event(&events, "written", "first")["data"]["changes"], 0);
    assert_eq!(case.rollback(&run)["status"], "rolled_back");
    assert_eq!(case.ticket(), crate::crash::original());
}

#[test]
fn allow_no_rows_stands_only_on_an_execute_that_runs_sql() {
    let bed = crate::support::bed::Bed::new("shapes-allow-check");
    let on_exec = WORKFLOW.replace(
        "run sql \"UPDATE tickets SET status = 'pending' WHERE id = :ticket_id\"",
        "run exec \"scripts/suggest\" [ticket_id]\n    allow no rows",
    );
    let on_recommend = WORKFLOW.replace(
        "yields priority: text in [\"low\", \"normal\", \"urgent\"]",
        "yields priority: text in [\"low\", \"normal\", \"urgent\"]\n    allow no rows",
    );
    let twice = WORKFLOW.replace(
        "approver support_lead\n    capture sql \"SELECT status",
        "approver support_lead\n    allow no rows\n    allow no rows\n    capture sql \"SELECT status",
    );
    for (name, text, expected) in [
        ("exec", &on_exec, "whose action is not `sql`"),
        (
            "recommend",
            &on_recommend,
            "`allow no rows` is not allowed on a recommend",
        ),
        ("twice", &twice, "E0104"),
    ] {
        assert_ne!(&WORKFLOW, text, "[{name}] the replacement applied");
        let file = format!("{name}.writ");
        bed.file(&file, text);
        let out = bed.writ(&["check", &file]);
        assert_eq!(out.code, Some(1), "[{name}] {}", out.stderr);
        assert!(
            out.stderr.contains("E0104") && out.stderr.contains(expected),
            "[{name}] {}",
            out.stderr
        );
    }
}
