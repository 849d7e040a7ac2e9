//! Writes to one database take turns (`sqlite::write_in_turn`), and the turn is taken before
//! the time limit starts: a write that waited keeps its limit, and its errors are its own, not
//! reported as the time limit (found by a review).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use writ::runtime::connector::ConnectorError;
use writ::runtime::connector::sqlite;
use writ::runtime::value::Value;

fn db(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("sqlite_turns")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("t.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO t VALUES (1, 0);",
        )
        .unwrap();
    db
}

// About 2 s or more of work in one statement.
const SLOW: &str = "UPDATE t SET n = (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT count(*) FROM c) WHERE id = 1";

fn write_after_turn_held(
    db: &Path,
    sql: &str,
    held: Duration,
    limit: Duration,
) -> (Result<sqlite::Written, ConnectorError>, Duration) {
    let turn = Arc::new(Mutex::new(()));
    let guard = turn.lock().unwrap();
    let (db2, turn2, sql2) = (db.to_path_buf(), Arc::clone(&turn), sql.to_owned());
    let writer = thread::spawn(move || {
        let start = Instant::now();
        let r = sqlite::write_in_turn::<ConnectorError>(
            &db2,
            Some(&turn2),
            None,
            (&sql2, &[] as &[Value]),
            limit,
            |_| Ok(()),
        );
        (r, start.elapsed())
    });
    thread::sleep(held);
    drop(guard);
    writer.join().unwrap()
}

#[test]
fn a_write_that_waited_for_its_turn_still_has_its_time_limit() {
    let db = db("limit");
    // Alone, the slow write is stopped at its limit.
    let turn = Mutex::new(());
    let alone = sqlite::write_in_turn::<ConnectorError>(
        &db,
        Some(&turn),
        None,
        (SLOW, &[]),
        Duration::from_millis(500),
        |_| Ok(()),
    );
    assert!(alone.is_err(), "the slow statement takes longer than 0.5 s");
    // Behind another write (the turn held 1 s), the same write must still be stopped.
    let (queued, took) = write_after_turn_held(
        &db,
        SLOW,
        Duration::from_secs(1),
        Duration::from_millis(500),
    );
    assert!(
        queued.is_err(),
        "ran {took:?} with a 0.5 s limit and was not stopped: {queued:?}"
    );
}

#[test]
fn a_constraint_error_after_waiting_is_not_reported_as_the_time_limit() {
    let db = db("explain");
    let (result, _) = write_after_turn_held(
        &db,
        "INSERT INTO t VALUES (1, 1)",
        Duration::from_secs(1),
        Duration::from_millis(500),
    );
    let message = result.expect_err("duplicate key").to_string();
    assert!(
        message.contains("UNIQUE"),
        "the real error is hidden: {message}"
    );
}
