//! The embedded SQLite store on real files: round trips, the hash chain, tampering found by
//! `verify`, several writers on one file, and bad files refused without a panic.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;

use rusqlite::Connection;
use serde_json::json;
use writ::runtime::event::{Event, EventKind, NewEvent};
use writ::runtime::store::chain::{Chained, GENESIS_HASH};
use writ::runtime::store::sqlite::SqliteStore;
use writ::runtime::store::{ChainReport, Store, StoreError};

/// A fresh, empty folder for one test.
fn folder(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("store")
        .join(name);
    if path.exists() {
        fs::remove_dir_all(&path).unwrap();
    }
    fs::create_dir_all(&path).unwrap();
    path
}

fn event(run: &str, kind: EventKind, n: usize) -> NewEvent {
    NewEvent {
        run: Some(run.to_owned()),
        workflow: "refund".to_owned(),
        kind,
        person: Some("sam".to_owned()),
        role: Some("support_lead".to_owned()),
        fingerprint: "ab".repeat(32),
        step: Some(format!("step_{n}")),
        data: json!({ "n": n, "note": "ünïcode \"quoted\"\n", "list": [1, 2.5, null] }),
    }
}

/// A store at `folder/state.db` holding `count` events of run `r1`.
fn store_with(folder: &Path, count: usize) -> (SqliteStore, PathBuf) {
    let path = folder.join("state.db");
    let mut store = SqliteStore::open(&path).unwrap();
    for n in 1..=count {
        store
            .append(event("r1", EventKind::Recommended, n))
            .unwrap();
    }
    (store, path)
}

/// A raw connection to the file, with the append-only triggers dropped: what a tamperer does.
fn tamper(path: &Path) -> Connection {
    let connection = Connection::open(path).unwrap();
    connection
        .execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
        .unwrap();
    connection
}

/// Recomputes the stored hash of event `seq` from its (edited) content: a forger who knows
/// the format.
fn rehash(connection: &Connection, seq: u64) {
    let hash = connection
        .query_row(
            "SELECT at, run, workflow, kind, person, role, fingerprint, step, data, prev_hash \
             FROM events WHERE seq = ?1",
            [seq as i64],
            |row| {
                let text = |i| row.get::<_, Option<String>>(i);
                let (at, run, workflow, kind) = (text(0)?, text(1)?, text(2)?, text(3)?);
                let (person, role, fingerprint) = (text(4)?, text(5)?, text(6)?);
                let (step, data, prev_hash) = (text(7)?, text(8)?, text(9)?);
                Ok(Chained {
                    seq,
                    at: at.as_deref().unwrap(),
                    run: run.as_deref(),
                    workflow: workflow.as_deref().unwrap(),
                    kind: kind.as_deref().unwrap(),
                    person: person.as_deref(),
                    role: role.as_deref(),
                    fingerprint: fingerprint.as_deref().unwrap(),
                    step: step.as_deref(),
                    data: data.as_deref().unwrap(),
                    prev_hash: prev_hash.as_deref().unwrap(),
                }
                .hash())
            },
        )
        .unwrap();
    connection
        .execute(
            "UPDATE events SET hash = ?1 WHERE seq = ?2",
            (hash, seq as i64),
        )
        .unwrap();
}

fn broken_at(store: &SqliteStore) -> (u64, String) {
    match store.verify().unwrap() {
        ChainReport::Broken { seq, reason } => (seq, reason),
        intact => panic!("expected a broken chain, got {intact:?}"),
    }
}

#[test]
fn events_read_back_as_appended() {
    let (mut store, _) = store_with(&folder("round_trip"), 0);
    let kill = NewEvent {
        run: None,
        workflow: "refund".to_owned(),
        kind: EventKind::WorkflowKilled,
        person: Some("olu".to_owned()),
        role: None,
        fingerprint: String::new(),
        step: None,
        data: json!({ "reason": "odd refunds" }),
    };
    let mut appended = Vec::new();
    for kind in EventKind::ALL {
        appended.push(store.append(event("r2", kind, 0)).unwrap());
    }
    appended.push(store.append(event("r1", EventKind::RunStarted, 1)).unwrap());
    appended.push(store.append(kill.clone()).unwrap());
    let other = NewEvent {
        workflow: "other".to_owned(),
        ..event("r3", EventKind::RunStarted, 2)
    };
    store.append(other).unwrap();

    let r2 = store.run_events("r2").unwrap();
    assert_eq!(r2, appended[..EventKind::ALL.len()]);
    assert_eq!(
        r2.iter().map(|e| e.event.kind).collect::<Vec<_>>(),
        EventKind::ALL
    );
    assert_eq!(store.workflow_events("refund").unwrap(), appended);
    assert_eq!(
        store
            .workflow_events("refund")
            .unwrap()
            .last()
            .unwrap()
            .event,
        kill
    );
    assert_eq!(store.run_events("nope").unwrap(), Vec::<Event>::new());
    // Oldest first by first event, not by name.
    assert_eq!(store.runs().unwrap(), ["r2", "r1", "r3"]);
}

#[test]
fn seq_and_prev_hash_form_a_chain() {
    let (store, _) = store_with(&folder("continuity"), 10);
    let events = store.run_events("r1").unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(events[0].prev_hash, GENESIS_HASH);
    for pair in events.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for event in &events {
        assert_eq!(event.hash.len(), 64);
        assert!(
            event
                .hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        // 2026-01-02T03:04:05.678Z
        let at = event.at.as_bytes();
        assert_eq!(
            (at.len(), at[4], at[10], at[19], at[23]),
            (24, b'-', b'T', b'.', b'Z')
        );
    }
    assert!(events.windows(2).all(|pair| pair[0].at <= pair[1].at));
    assert_eq!(store.verify().unwrap(), ChainReport::Intact { events: 10 });
}

#[test]
fn a_reopened_store_continues_the_chain() {
    let (store, path) = store_with(&folder("reopen"), 3);
    let third = store.run_events("r1").unwrap().pop().unwrap();
    drop(store);
    let mut store = SqliteStore::open(&path).unwrap();
    let fourth = store.append(event("r1", EventKind::Written, 4)).unwrap();
    assert_eq!((fourth.seq, &fourth.prev_hash), (4, &third.hash));
    store
        .append(event("r1", EventKind::RunFinished, 5))
        .unwrap();
    assert_eq!(store.verify().unwrap(), ChainReport::Intact { events: 5 });
}

#[test]
fn an_empty_store_is_intact() {
    let (store, _) = store_with(&folder("empty"), 0);
    assert_eq!(store.verify().unwrap(), ChainReport::Intact { events: 0 });
    assert_eq!(store.runs().unwrap(), Vec::<String>::new());
}

#[test]
fn sqlite_itself_refuses_updates_and_deletes() {
    let (store, path) = store_with(&folder("triggers"), 2);
    let raw = Connection::open(&path).unwrap();
    let update = raw.execute("UPDATE events SET data = '{}' WHERE seq = 1", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = raw.execute("DELETE FROM events WHERE seq = 2", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    assert_eq!(store.verify().unwrap(), ChainReport::Intact { events: 2 });
}

#[test]
fn an_edited_event_breaks_the_chain_where_it_was_edited() {
    let (store, path) = store_with(&folder("tamper_edit"), 6);
    let raw = tamper(&path);
    raw.execute("UPDATE events SET data = '{\"n\":99}' WHERE seq = 3", [])
        .unwrap();
    let (seq, reason) = broken_at(&store);
    assert_eq!(seq, 3);
    assert!(reason.contains("does not match its hash"), "{reason}");
}

#[test]
fn a_forged_hash_breaks_the_link_to_the_next_event() {
    let (store, path) = store_with(&folder("tamper_forge"), 6);
    let raw = tamper(&path);
    raw.execute("UPDATE events SET person = 'mallory' WHERE seq = 3", [])
        .unwrap();
    rehash(&raw, 3);
    let (seq, reason) = broken_at(&store);
    assert_eq!(seq, 4);
    assert!(reason.contains("not the hash of event 3"), "{reason}");
}

#[test]
fn a_deleted_event_is_reported_missing() {
    let (store, path) = store_with(&folder("tamper_delete"), 6);
    tamper(&path)
        .execute("DELETE FROM events WHERE seq = 3", [])
        .unwrap();
    let (seq, reason) = broken_at(&store);
    assert_eq!(seq, 3);
    assert!(reason.contains("missing"), "{reason}");
}

#[test]
fn a_deleted_first_event_is_reported_missing() {
    let (store, path) = store_with(&folder("tamper_delete_first"), 3);
    tamper(&path)
        .execute("DELETE FROM events WHERE seq = 1", [])
        .unwrap();
    assert_eq!(broken_at(&store).0, 1);
}

#[test]
fn swapped_events_break_the_chain_at_the_first() {
    let (store, path) = store_with(&folder("tamper_swap"), 6);
    let raw = tamper(&path);
    raw.execute_batch(
        "UPDATE events SET seq = -3 WHERE seq = 3;
         UPDATE events SET seq = 3 WHERE seq = 5;
         UPDATE events SET seq = 5 WHERE seq = -3;",
    )
    .unwrap();
    let (seq, reason) = broken_at(&store);
    assert_eq!(seq, 3);
    assert!(reason.contains("prev_hash"), "{reason}");
}

#[test]
fn a_changed_prev_hash_breaks_the_chain_there() {
    let (store, path) = store_with(&folder("tamper_prev"), 6);
    let raw = tamper(&path);
    raw.execute(
        "UPDATE events SET prev_hash = ?1 WHERE seq = 4",
        ["f".repeat(64)],
    )
    .unwrap();
    let (seq, reason) = broken_at(&store);
    assert_eq!(seq, 4);
    assert!(reason.contains("not the hash of event 3"), "{reason}");

    let (store, path) = store_with(&folder("tamper_prev_first"), 2);
    let raw = tamper(&path);
    raw.execute(
        "UPDATE events SET prev_hash = ?1 WHERE seq = 1",
        ["1".repeat(64)],
    )
    .unwrap();
    rehash(&raw, 1);
    assert_eq!(broken_at(&store).0, 1);
}

#[test]
fn unreadable_events_break_the_chain_and_fail_reads_without_panic() {
    let (store, path) = store_with(&folder("unreadable_kind"), 4);
    let raw = tamper(&path);
    raw.execute(
        "UPDATE events SET kind = 'teleported\u{7}' WHERE seq = 2",
        [],
    )
    .unwrap();
    rehash(&raw, 2);
    let (seq, reason) = broken_at(&store);
    assert_eq!(seq, 2);
    assert_eq!(reason, "unknown event kind `teleported\\u{7}`");
    assert!(matches!(
        store.run_events("r1"),
        Err(StoreError::Corrupt(_))
    ));

    let (store, path) = store_with(&folder("unreadable_json"), 4);
    let raw = tamper(&path);
    raw.execute("UPDATE events SET data = '{not json' WHERE seq = 3", [])
        .unwrap();
    rehash(&raw, 3);
    let (seq, reason) = broken_at(&store);
    assert_eq!(seq, 3);
    assert!(reason.contains("not JSON"), "{reason}");
    assert!(matches!(
        store.workflow_events("refund"),
        Err(StoreError::Corrupt(_))
    ));

    let (store, path) = store_with(&folder("unreadable_blob"), 4);
    tamper(&path)
        .execute("UPDATE events SET data = x'00ff' WHERE seq = 2", [])
        .unwrap();
    let (seq, reason) = broken_at(&store);
    assert_eq!(seq, 2);
    assert!(reason.contains("cannot be read"), "{reason}");
    assert!(matches!(
        store.run_events("r1"),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn two_writers_on_one_file_leave_no_gaps() {
    let path = folder("concurrent").join("state.db");
    let writers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|run| {
            let path = path.clone();
            thread::spawn(move || {
                let mut store = SqliteStore::open(&path).unwrap();
                for n in 0..200 {
                    store.append(event(run, EventKind::Recommended, n)).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.verify().unwrap(), ChainReport::Intact { events: 400 });
    let mut seqs: Vec<u64> = ["a", "b"]
        .iter()
        .flat_map(|run| store.run_events(run).unwrap())
        .map(|event| event.seq)
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=400).collect::<Vec<_>>());
}

#[test]
fn the_state_folder_is_created_if_missing() {
    let path = folder("creates_folder").join("a/b/.writ/state.db");
    let mut store = SqliteStore::open(&path).unwrap();
    store.append(event("r1", EventKind::RunStarted, 1)).unwrap();
    assert!(path.is_file());
}

#[test]
fn a_file_that_is_not_a_store_is_refused() {
    let folder = folder("garbage");
    let garbage = folder.join("garbage.db");
    fs::write(&garbage, b"not a database at all ".repeat(500)).unwrap();
    let error = SqliteStore::open(&garbage).err().unwrap();
    assert!(matches!(error, StoreError::Open { .. }), "{error:?}");

    // A folder where the file should be.
    let error = SqliteStore::open(&folder).err().unwrap();
    assert!(matches!(error, StoreError::Open { .. }), "{error:?}");

    // A SQLite file of another writ layout.
    let newer = folder.join("newer.db");
    Connection::open(&newer)
        .unwrap()
        .execute_batch(
            "CREATE TABLE writ_schema (version INTEGER); INSERT INTO writ_schema VALUES (2);",
        )
        .unwrap();
    let error = SqliteStore::open(&newer).err().unwrap();
    assert!(error.to_string().contains("layout 2"), "{error}");

    // A parent "folder" that is a file.
    let error = SqliteStore::open(&garbage.join("state.db")).err().unwrap();
    assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
}
