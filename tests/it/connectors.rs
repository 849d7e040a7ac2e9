//! The connectors against real SQLite files and real child processes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use writ::runtime::connector::sqlite::Images;
use writ::runtime::connector::{ConnectorError, exec, sqlite};
use writ::runtime::value::{Blob, Value};

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("connectors")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn tickets(name: &str) -> PathBuf {
    let db = temp_dir(name).join("helpdesk.db");
    let connection = rusqlite::Connection::open(&db).unwrap();
    connection
        .execute_batch(
            "CREATE TABLE tickets (id INTEGER PRIMARY KEY, priority TEXT, score REAL, note TEXT);
             INSERT INTO tickets VALUES (1, 'low', 1.5, NULL), (2, 'low', 0.0, 'x'), (3, 'high', 2.0, '');",
        )
        .unwrap();
    db
}

fn priorities(db: &Path) -> Vec<String> {
    sqlite::read(db, "SELECT priority FROM tickets ORDER BY id", &[], SECOND)
        .unwrap()
        .into_iter()
        .map(|row| match row.get("priority") {
            Some(Value::Text(t)) => t.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

#[test]
fn read_binds_parameters_and_maps_types() {
    let db = tickets("read");
    let rows = sqlite::read(
        &db,
        "SELECT id, priority, score, note FROM tickets WHERE id = ?1",
        &[Value::Int(1)],
        SECOND,
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], Value::Int(1));
    assert_eq!(rows[0]["priority"], text("low"));
    assert_eq!(rows[0]["score"], Value::Number(1.5));
    assert_eq!(rows[0]["note"], Value::Null);

    let hostile = text("low'; DROP TABLE tickets; --");
    let rows = sqlite::read(
        &db,
        "SELECT id FROM tickets WHERE priority = ?1",
        &[hostile],
        SECOND,
    )
    .unwrap();
    assert!(rows.is_empty());
    assert_eq!(priorities(&db).len(), 3, "the table is still there");

    let blob = sqlite::read(&db, "SELECT x'00ff' AS b", &[], SECOND).unwrap();
    assert_eq!(blob[0]["b"], Value::Blob(Blob(vec![0, 255])));
}

#[test]
fn read_only_connection_refuses_writes() {
    let db = tickets("read_only");
    let result = sqlite::read(&db, "UPDATE tickets SET priority = 'urgent'", &[], SECOND);
    assert!(
        matches!(&result, Err(ConnectorError::NotARead { what }) if what == "write to `tickets`"),
        "{result:?}"
    );
    assert_eq!(priorities(&db), ["low", "low", "high"]);
}

#[test]
fn write_captures_the_before_image_in_the_same_transaction() {
    let db = tickets("write");
    let written = sqlite::write(
        &db,
        Some((
            "SELECT priority FROM tickets WHERE id = ?1",
            &[Value::Int(1)],
        )),
        (
            "UPDATE tickets SET priority = ?1 WHERE id = ?2",
            &[text("urgent"), Value::Int(1)],
        ),
        SECOND,
        |images: Images<'_>| {
            // The hook sees both images before the write commits.
            assert_eq!(
                images.before.and_then(|rows| rows.first()?.get("priority")),
                Some(&text("low"))
            );
            assert_eq!(
                images.after.and_then(|rows| rows.first()?.get("priority")),
                Some(&text("urgent"))
            );
            assert_eq!(images.changes, Some(1));
            // Another connection cannot see the write yet: it is not committed.
            assert_eq!(priorities(&db), ["low", "low", "high"]);
            Ok::<(), ConnectorError>(())
        },
    )
    .unwrap();
    assert_eq!(written.changes, 1);
    let before = written.before.unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].get("priority"), Some(&text("low")));
    assert_eq!(
        written
            .after
            .and_then(|rows| rows.first()?.get("priority").cloned()),
        Some(text("urgent"))
    );
    assert_eq!(priorities(&db), ["urgent", "low", "high"]);

    let no_capture = sqlite::write(
        &db,
        None,
        (
            "UPDATE tickets SET priority = 'low' WHERE id = ?1",
            &[Value::Int(1)],
        ),
        SECOND,
        nothing,
    )
    .unwrap();
    assert_eq!(no_capture.before, None);
    assert_eq!(priorities(&db), ["low", "low", "high"]);
}

/// A `before_write` hook that records nothing.
fn nothing(_: Images<'_>) -> Result<(), ConnectorError> {
    Ok(())
}

#[test]
fn a_failing_before_write_hook_writes_nothing() {
    let db = tickets("hook_fails");
    let result = sqlite::write(
        &db,
        Some((
            "SELECT priority FROM tickets WHERE id = ?1",
            &[Value::Int(1)],
        )),
        (
            "UPDATE tickets SET priority = 'urgent' WHERE id = ?1",
            &[Value::Int(1)],
        ),
        SECOND,
        |_: Images<'_>| {
            Err(ConnectorError::Sqlite {
                message: "the store is full".to_owned(),
            })
        },
    );
    assert!(
        matches!(result, Err(ConnectorError::Sqlite { .. })),
        "{result:?}"
    );
    assert_eq!(
        priorities(&db),
        ["low", "low", "high"],
        "rolled back: nothing written"
    );
}

#[test]
fn write_with_a_capture_over_the_limit_writes_nothing() {
    let db = tickets("capture_rows");
    let update = ("UPDATE tickets SET priority = 'urgent'", &[][..]);
    // Two rows are a multi-row capture: recorded, both of them.
    let two = sqlite::write(
        &db,
        Some((
            "SELECT id, priority FROM tickets WHERE priority = 'low' ORDER BY id",
            &[],
        )),
        (
            "UPDATE tickets SET priority = 'low' WHERE priority = 'low'",
            &[],
        ),
        SECOND,
        nothing,
    )
    .unwrap();
    assert_eq!(two.before.map(|rows| rows.len()), Some(2));
    assert_eq!(two.changes, 2);
    let limit = sqlite::MAX_CAPTURE_ROWS;
    let over = sqlite::write(
        &db,
        Some((
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT ?1) SELECT i FROM n",
            &[Value::Int(limit as i64 + 1)],
        )),
        update,
        SECOND,
        nothing,
    );
    assert!(
        matches!(over, Err(ConnectorError::CaptureRows { limit: l }) if l == limit),
        "{over:?}"
    );
    assert_eq!(priorities(&db), ["low", "low", "high"]);
    // The transaction was released: a later write goes through at once.
    sqlite::write(&db, None, update, SECOND, nothing).unwrap();
    assert_eq!(priorities(&db), ["urgent", "urgent", "urgent"]);
}

#[test]
fn verify_needs_a_true_first_row() {
    let db = tickets("verify");
    let q = "SELECT priority = ?1, id FROM tickets WHERE id = ?2";
    sqlite::verify(&db, q, &[text("low"), Value::Int(1)], SECOND).unwrap();
    let false_row = sqlite::verify(&db, q, &[text("high"), Value::Int(1)], SECOND);
    assert!(matches!(
        false_row,
        Err(ConnectorError::VerifyFailed { .. })
    ));
    let no_row = sqlite::verify(&db, q, &[text("low"), Value::Int(99)], SECOND);
    assert!(matches!(no_row, Err(ConnectorError::VerifyFailed { .. })));
    sqlite::verify(
        &db,
        "SELECT note, priority FROM tickets WHERE id = 2",
        &[],
        SECOND,
    )
    .unwrap();
    for zero in [
        "score FROM tickets WHERE id = 2",
        "note FROM tickets WHERE id = 3",
    ] {
        let result = sqlite::verify(&db, &format!("SELECT {zero}"), &[], SECOND);
        assert!(
            matches!(result, Err(ConnectorError::VerifyFailed { .. })),
            "{zero}"
        );
    }
    assert!(sqlite::verify(&db, "SELECT 0.0", &[], SECOND).is_err());
    assert!(sqlite::verify(&db, "SELECT NULL", &[], SECOND).is_err());
    assert!(sqlite::verify(&db, "SELECT ''", &[], SECOND).is_err());
    assert!(sqlite::verify(&db, "SELECT 1, 'x', 2.5", &[], SECOND).is_ok());
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

const SECOND: Duration = Duration::from_secs(10);

#[test]
fn exec_reads_one_json_object() {
    let dir = temp_dir("exec_json");
    let program = script(
        &dir,
        "suggest",
        r#"echo '  {"priority": "urgent"}  '; echo note >&2"#,
    );
    let out = exec::run(&program, &[], None, SECOND).unwrap();
    assert_eq!(out.json, Some(serde_json::json!({"priority": "urgent"})));
    assert_eq!(out.stderr, "note\n");

    let quiet = script(&dir, "quiet", "exit 0");
    assert_eq!(exec::run(&quiet, &[], None, SECOND).unwrap().json, None);

    for (name, body) in [
        ("text", "echo hello"),
        ("array", "echo '[1]'"),
        ("two", "echo '{}'; echo '{}'"),
    ] {
        let program = script(&dir, name, body);
        let result = exec::run(&program, &[], None, SECOND);
        assert!(
            matches!(result, Err(ConnectorError::NotJson { .. })),
            "{name}: {result:?}"
        );
    }
}

#[test]
fn exec_reports_a_failure_with_the_end_of_stderr() {
    let dir = temp_dir("exec_fail");
    let program = script(
        &dir,
        "fail",
        "for i in $(seq 1 30); do echo line$i >&2; done; exit 3",
    );
    match exec::run(&program, &[], None, SECOND) {
        Err(ConnectorError::Failed {
            code, stderr_tail, ..
        }) => {
            assert_eq!(code, Some(3));
            assert!(stderr_tail.ends_with("line29\nline30"), "{stderr_tail}");
            assert!(!stderr_tail.contains("line1\n"), "{stderr_tail}");
        }
        other => panic!("{other:?}"),
    }
    let missing = exec::run(&dir.join("nope"), &[], None, SECOND);
    assert!(
        matches!(missing, Err(ConnectorError::Io { .. })),
        "{missing:?}"
    );
}

#[test]
fn exec_kills_a_program_that_runs_too_long() {
    let dir = temp_dir("exec_timeout");
    let pid_file = dir.join("pid");
    let program = script(
        &dir,
        "slow",
        &format!("echo $$ > '{}'\nsleep 5", pid_file.display()),
    );
    let started = Instant::now();
    let result = exec::run(&program, &[], None, Duration::from_millis(300));
    assert!(
        matches!(result, Err(ConnectorError::Timeout { .. })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let pid = fs::read_to_string(&pid_file).unwrap();
    assert!(
        !Path::new("/proc").join(pid.trim()).exists(),
        "the child {pid} is still there"
    );
}

#[test]
fn exec_passes_arguments_verbatim_without_a_shell() {
    let dir = temp_dir("exec_args");
    let program = script(
        &dir,
        "args",
        r#"for a in "$@"; do printf '%s\n' "$a" >&2; done; pwd"#,
    );
    let args = vec![
        "two words".to_owned(),
        r#"it's "quoted""#.to_owned(),
        "$HOME; rm -rf /".to_owned(),
        "*".to_owned(),
    ];
    let out = exec::run(&program, &args, Some(&dir), SECOND);
    // `pwd` prints a path, not JSON: the error still proves the workdir, stderr the arguments.
    assert!(matches!(out, Err(ConnectorError::NotJson { .. })));
    let program = script(
        &dir,
        "args_json",
        r#"printf '{"n": %d, "dir": "%s"}' "$#" "$(pwd)"; for a in "$@"; do printf '%s\n' "$a" >&2; done"#,
    );
    let out = exec::run(&program, &args, Some(&dir), SECOND).unwrap();
    assert_eq!(out.stderr, format!("{}\n", args.join("\n")));
    let json = out.json.unwrap();
    assert_eq!(json["n"], 4);
    assert_eq!(
        fs::canonicalize(json["dir"].as_str().unwrap()).unwrap(),
        fs::canonicalize(&dir).unwrap()
    );
}

/// An exec program sees only a small allowlist of writ's environment: never the variables that
/// hold http tokens (`token_env`), nor anything else of writ's.
#[test]
fn exec_programs_do_not_inherit_writs_environment() {
    let dir = temp_dir("exec_env");
    // `cargo test` sets CARGO_MANIFEST_DIR for the test process; PATH is allowed through.
    let probe = script(
        &dir,
        "probe",
        r#"printf '{"leaked": "%s", "path": "%s"}' "$CARGO_MANIFEST_DIR" "$PATH""#,
    );
    let out = exec::run(&probe, &[], None, SECOND).unwrap();
    let json = out.json.expect("one JSON object");
    if std::env::var_os("CARGO_MANIFEST_DIR").is_some() {
        assert_eq!(
            json["leaked"], "",
            "a variable outside the allowlist reached the program"
        );
    }
    assert_ne!(json["path"], "", "PATH is passed through");
}

/// A query that would run for minutes is interrupted at its time limit, and a write whose
/// transaction runs past its limit writes nothing.
#[test]
fn sqlite_calls_stop_at_their_time_limit() {
    let db = tickets("time_limit");
    let endless =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
    let started = Instant::now();
    let result = sqlite::read(&db, endless, &[], Duration::from_millis(300));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "returned in time"
    );
    match result {
        Err(ConnectorError::Sqlite { message }) => {
            assert!(message.contains("did not finish"), "{message}")
        }
        other => panic!("expected the time limit, got {other:?}"),
    }
    let slow_capture = format!("SELECT priority FROM tickets WHERE id = 1 AND ({endless}) > 0");
    let write = sqlite::write(
        &db,
        Some((slow_capture.as_str(), &[][..])),
        ("UPDATE tickets SET priority = 'urgent'", &[][..]),
        Duration::from_millis(300),
        nothing,
    );
    assert!(write.is_err());
    assert_eq!(priorities(&db), ["low", "low", "high"], "nothing written");
}

/// What a program starts in the background ends with it: after a timeout, and after it exits,
/// no process it left behind can act (here: create a marker file a moment later).
#[test]
fn nothing_a_program_started_outlives_its_step() {
    let dir = temp_dir("exec_group");
    let marker = dir.join("late-write");
    let body = format!("(sleep 0.5; touch '{}') & sleep 5", marker.display());
    let slow = script(&dir, "slow", &body);
    let started = Instant::now();
    let result = exec::run(&slow, &[], None, Duration::from_millis(200));
    assert!(
        matches!(result, Err(ConnectorError::Timeout { .. })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "returned in time"
    );

    let quick = script(
        &dir,
        "quick",
        &format!("(sleep 0.5; touch '{}') &\necho '{{}}'", marker.display()),
    );
    let out = exec::run(&quick, &[], None, SECOND).unwrap();
    assert_eq!(
        out.json,
        Some(serde_json::json!({})),
        "a program that exits is not a timeout"
    );

    std::thread::sleep(Duration::from_millis(1_200));
    assert!(!marker.exists(), "a background job outlived its step");
}

#[test]
fn an_infinite_real_is_refused_not_read_as_null() {
    let db = tickets("infinite");
    let result = sqlite::read(&db, "SELECT 9e999 AS big", &[], SECOND);
    assert!(
        matches!(result, Err(ConnectorError::Column { .. })),
        "{result:?}"
    );
}

/// A run's connections to a system are kept between calls: state that lives only in one
/// connection (a `temp` table) made by one write is seen by the next; and a call that fails
/// drops its connection, so the next starts on a fresh one.
#[test]
fn a_runs_sqlite_connections_are_kept_between_calls() {
    use writ::runtime::connector::session::Connections;
    let db = tickets("kept");
    let kept = Connections::default();
    let write =
        |sql: &str| sqlite::write_kept(&kept, &db, None, None, &[(sql, &[][..])], SECOND, nothing);
    write("CREATE TEMP TABLE seen (n INTEGER)").unwrap();
    write("INSERT INTO temp.seen VALUES (1)").unwrap();
    write("INSERT INTO temp.seen VALUES (2)").expect("the same connection: `seen` is there");
    // A failed call (a constraint) drops the connection: its temp table goes with it.
    let broken = write("INSERT INTO tickets (id, priority) VALUES (1, 'low')");
    assert!(broken.is_err(), "{broken:?}");
    let fresh = write("INSERT INTO temp.seen VALUES (3)");
    assert!(
        matches!(&fresh, Err(ConnectorError::Sqlite { message }) if message.contains("seen")),
        "{fresh:?}"
    );
    // Reads keep theirs too, and still stop at their time limit.
    let endless =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
    for _ in 0..2 {
        let rows = sqlite::read_kept(&kept, &db, "SELECT count(*) AS n FROM tickets", &[], SECOND);
        assert_eq!(rows.unwrap()[0]["n"], Value::Int(3));
        let slow = sqlite::read_kept(&kept, &db, endless, &[], Duration::from_millis(200));
        assert!(
            matches!(&slow, Err(ConnectorError::Sqlite { message }) if message.contains("did not finish")),
            "{slow:?}"
        );
    }
}
