//! The floor for writ's sqlite writes: the same SQL work with the same number of syncs, in the
//! smallest program rusqlite allows. Per write, on the system's database: `BEGIN IMMEDIATE`,
//! the capture, the `UPDATE`, the capture again, the marker row, `COMMIT`; on a second file
//! standing for the store (WAL, `synchronous=FULL`, as writ's), one durable insert before the
//! system's `COMMIT` (the `before_image` event) and one after it (`written`). One connection
//! each, statements cached: nothing writ's rules add (decisions, hashes, events' JSON).

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

/// About the size of one of writ's events in its store (measured: a few hundred bytes).
const EVENT_BYTES: usize = 400;

/// Runs `count` floor writes against the database at `system` (table `t (id, v)` with rows
/// `0..count`) and a fresh store file at `store`; returns the time they took.
pub fn floor_writes(system: &Path, store: &Path, count: usize) -> Duration {
    let _ = std::fs::remove_file(store);
    let mut db = Connection::open(system).unwrap();
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS writ_writes (run TEXT NOT NULL, step TEXT NOT NULL,
         hash TEXT NOT NULL, written_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
         PRIMARY KEY (run, step))",
    )
    .unwrap();
    let events = Connection::open(store).unwrap();
    events
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE events (seq INTEGER PRIMARY KEY, data TEXT NOT NULL);",
        )
        .unwrap();
    let body = "x".repeat(EVENT_BYTES);
    let append = |events: &Connection| {
        events
            .prepare_cached("INSERT INTO events (data) VALUES (?1)")
            .unwrap()
            .execute([&body])
            .unwrap();
    };
    let started = Instant::now();
    for id in 0..count {
        let id = i64::try_from(id).unwrap();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let capture = |tx: &rusqlite::Transaction<'_>| -> i64 {
            tx.prepare_cached("SELECT v FROM t WHERE id = ?1")
                .unwrap()
                .query_row([id], |row| row.get(0))
                .unwrap()
        };
        let before = capture(&tx);
        tx.prepare_cached("UPDATE t SET v = v + 1 WHERE id = ?1")
            .unwrap()
            .execute([id])
            .unwrap();
        let after = capture(&tx);
        assert_eq!(after, before + 1);
        tx.prepare_cached("INSERT INTO writ_writes (run, step, hash) VALUES (?1, ?2, ?3)")
            .unwrap()
            .execute(rusqlite::params!["floor", id, "h"])
            .unwrap();
        append(&events);
        tx.commit().unwrap();
        append(&events);
    }
    started.elapsed()
}
