//! The embedded store: one SQLite file in WAL mode, shared by every writ process on a machine.
//!
//! Durability: `synchronous=FULL` syncs the write-ahead log at every commit, so `append`
//! returns only once its event would survive a power cut (docs/runtime.md, "The order of side effects").
//!
//! Sharing: a `run` and an `approve` may append at the same moment, each through its own
//! connection. Each append is one `BEGIN IMMEDIATE` transaction, which takes the write lock
//! *before* reading the last event, so two writers can never pick the same `seq` or fork the
//! chain; `busy_timeout` makes the second wait for the first instead of failing.
//!
//! Append-only: no code path updates or deletes an event, and triggers make SQLite refuse to.
//! Anyone with the file can drop the triggers; `verify` then finds the edit, unless it removed
//! only the newest events (a chain cannot tell a truncated log from a shorter one).

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{
    Connection, ErrorCode, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior,
    params,
};

use super::chain::{self, Chained, GENESIS_HASH};
use super::{ChainReport, Store, StoreError};
use crate::runtime::event::{Event, EventKind, NewEvent};

/// The layout below; a file with another version is refused rather than misread.
const SCHEMA_VERSION: i64 = 1;

/// How long an append waits for another process's append before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    run         TEXT,
    workflow    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    person      TEXT,
    role        TEXT,
    fingerprint TEXT NOT NULL,
    step        TEXT,
    data        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX events_run ON events (run);
CREATE INDEX events_workflow ON events (workflow);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'writ events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'writ events are append-only'); END;
";

/// The columns of an event, in the order [`RawRow::read`] reads them.
const COLUMNS: &str = "seq, at, run, workflow, kind, person, role, fingerprint, step, data, \
                       prev_hash, hash";

/// The durable record in one SQLite file. One value per connection: give each thread its own.
pub struct SqliteStore {
    connection: Connection,
}

impl SqliteStore {
    /// Opens the store at `path`, creating its folder and the file if missing.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let failed = |reason: String| StoreError::Open {
            path: path.display().to_string(),
            reason,
        };
        if let Some(folder) = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
        {
            fs::create_dir_all(folder)
                .map_err(|error| failed(format!("cannot create its folder: {error}")))?;
        }
        // No URI flag: a state path is a file name, never `file:...?mode=...` options.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut connection =
            Connection::open_with_flags(path, flags).map_err(|error| failed(error.to_string()))?;
        prepare_patiently(&mut connection).map_err(|error| failed(error.to_string()))?;
        Ok(SqliteStore { connection })
    }

    /// Events matching one `WHERE` clause with one parameter, in order.
    fn select(&self, condition: &str, value: &str) -> Result<Vec<Event>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM events WHERE {condition} ORDER BY seq");
        let mut statement = self.connection.prepare_cached(&sql).map_err(backend)?;
        let mut rows = statement.query([value]).map_err(backend)?;
        let mut events = Vec::new();
        while let Some(row) = rows.next().map_err(backend)? {
            let raw = RawRow::read(row).map_err(|error| StoreError::Corrupt(error.to_string()))?;
            let event = raw.into_event().map_err(StoreError::Corrupt)?;
            events.push(event);
        }
        Ok(events)
    }
}

/// [`prepare`], tried again while another process holds a lock, for up to [`BUSY_TIMEOUT`].
///
/// Switching a new file to WAL needs an exclusive lock, and SQLite reports a busy database there
/// at once instead of calling the busy handler: two processes opening a new store together
/// (measured: 1 open in 25 with two threads) would otherwise fail.
fn prepare_patiently(connection: &mut Connection) -> Result<(), PrepareError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match prepare(connection) {
            Err(PrepareError::Sqlite(error)) if is_busy(&error) && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            outcome => return outcome,
        }
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Settings and schema of a freshly opened connection; any failure means the file is not
/// a writ store writ can use.
fn prepare(connection: &mut Connection) -> Result<(), PrepareError> {
    // First, so that the statements below wait for other processes rather than fail.
    connection.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = connection.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        let mode: String =
            connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(PrepareError::NoWal(mode));
        }
    }
    connection.pragma_update(None, "synchronous", "FULL")?;
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction
        .execute_batch("CREATE TABLE IF NOT EXISTS writ_schema (version INTEGER NOT NULL)")?;
    let version: Option<i64> = transaction
        .query_row("SELECT version FROM writ_schema", [], |row| row.get(0))
        .optional()?;
    match version {
        None => {
            transaction.execute_batch(SCHEMA)?;
            transaction.execute(
                "INSERT INTO writ_schema (version) VALUES (?1)",
                [SCHEMA_VERSION],
            )?;
        }
        Some(SCHEMA_VERSION) => {}
        Some(other) => return Err(PrepareError::Version(other)),
    }
    // Outside the versioned layout: an index any store of layout 1 may have or gain.
    transaction.execute_batch("CREATE INDEX IF NOT EXISTS events_kind ON events (kind)")?;
    transaction.commit()?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
enum PrepareError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("its file system does not support write-ahead logging (journal mode `{0}`)")]
    NoWal(String),
    #[error("it has store layout {0}, and this writ reads layout {SCHEMA_VERSION} only")]
    Version(i64),
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

impl Store for SqliteStore {
    fn append(&mut self, event: NewEvent) -> Result<Event, StoreError> {
        self.append_checked(event, None)
    }

    fn append_after(&mut self, event: NewEvent, after: Option<u64>) -> Result<Event, StoreError> {
        self.append_checked(event, Some(after))
    }

    fn event(&self, seq: u64) -> Result<Option<Event>, StoreError> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX).to_string();
        Ok(self
            .select("seq = CAST(?1 AS INTEGER)", &seq)?
            .into_iter()
            .next())
    }

    fn run_events(&self, run: &str) -> Result<Vec<Event>, StoreError> {
        self.select("run = ?1", run)
    }

    fn workflow_events(&self, workflow: &str) -> Result<Vec<Event>, StoreError> {
        self.select("workflow = ?1", workflow)
    }

    fn switch_events(&self) -> Result<Vec<Event>, StoreError> {
        self.select(
            "kind IN ('workflow_killed', 'workflow_revived') AND ?1 = ?1",
            "",
        )
    }

    fn kind_events(&self, kinds: &[EventKind]) -> Result<Vec<Event>, StoreError> {
        let mut events = Vec::new();
        for kind in kinds {
            events.extend(self.select("kind = ?1", kind.as_str())?);
        }
        events.sort_by_key(|event| event.seq);
        Ok(events)
    }

    fn scan(&self, visit: &mut dyn FnMut(Event) -> bool) -> Result<(), StoreError> {
        let mut statement = self
            .connection
            .prepare(&format!("SELECT {COLUMNS} FROM events ORDER BY seq"))
            .map_err(backend)?;
        let mut rows = statement.query([]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let raw = RawRow::read(row).map_err(|error| StoreError::Corrupt(error.to_string()))?;
            if !visit(raw.into_event().map_err(StoreError::Corrupt)?) {
                break;
            }
        }
        Ok(())
    }

    fn runs(&self) -> Result<Vec<String>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT run FROM events WHERE run IS NOT NULL GROUP BY run ORDER BY MIN(seq)",
            )
            .map_err(backend)?;
        let runs = statement
            .query_map([], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        Ok(runs)
    }

    fn verify(&self) -> Result<ChainReport, StoreError> {
        // One statement reads one snapshot: appends by other processes during the walk are
        // not seen, so a concurrent append cannot look like a break.
        let mut statement = self
            .connection
            .prepare(&format!("SELECT {COLUMNS} FROM events ORDER BY seq"))
            .map_err(backend)?;
        let mut rows = statement.query([]).map_err(backend)?;
        let mut expected: u64 = 1;
        let mut prev_hash = GENESIS_HASH.to_owned();
        while let Some(row) = rows.next().map_err(backend)? {
            let broken = |reason: String| ChainReport::Broken {
                seq: expected,
                reason,
            };
            let raw = match RawRow::read(row) {
                Ok(raw) => raw,
                Err(error) => return Ok(broken(format!("the event cannot be read: {error}"))),
            };
            if let Err(reason) = raw.check_link(expected, &prev_hash) {
                return Ok(broken(reason));
            }
            if let Err(reason) = raw.parts() {
                return Ok(broken(reason));
            }
            prev_hash = raw.hash;
            expected += 1;
        }
        Ok(ChainReport::Intact {
            events: expected - 1,
        })
    }
}

impl SqliteStore {
    /// The one append: with `check`, only if the event's run still ends at that event (see
    /// [`Store::append_after`]).
    fn append_checked(
        &mut self,
        event: NewEvent,
        check: Option<Option<u64>>,
    ) -> Result<Event, StoreError> {
        let data = serde_json::to_string(&event.data)
            .map_err(|error| StoreError::Backend(format!("cannot encode event data: {error}")))?;
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        if let (Some(after), Some(run)) = (check, event.run.as_deref()) {
            let last: Option<i64> = transaction
                .prepare_cached("SELECT MAX(seq) FROM events WHERE run = ?1")
                .and_then(|mut statement| statement.query_row([run], |row| row.get(0)))
                .map_err(backend)?;
            if last.and_then(|seq| u64::try_from(seq).ok()) != after {
                return Err(StoreError::Conflict {
                    run: run.to_owned(),
                });
            }
        }
        let (seq, prev_hash, last_at) = next_link(&transaction)?;
        // Taken under the write lock; a clock that reads earlier than the last event is refused,
        // so times never run backwards along the chain (the RFC 3339 form with fixed width
        // compares as text in time order).
        let at = chain::now()
            .ok_or_else(|| StoreError::Backend("the system clock reads before 1970".into()))?;
        if let Some(last) = last_at.filter(|last| at.as_str() < last.as_str()) {
            return Err(StoreError::ClockBackwards { now: at, last });
        }
        let mut stored = Event {
            seq,
            at,
            event,
            prev_hash,
            hash: String::new(),
        };
        stored.hash = chained(&stored, &data).hash();
        insert(&transaction, &stored, &data)?;
        // INVARIANT: with synchronous=FULL the commit returns once the event is on disk.
        transaction.commit().map_err(backend)?;
        Ok(stored)
    }
}

/// The `seq` and `prev_hash` of the next event (one past the last event, linked to its hash),
/// and the last event's time.
fn next_link(transaction: &Transaction<'_>) -> Result<(u64, String, Option<String>), StoreError> {
    let last: Option<(i64, String, String)> = transaction
        .prepare_cached("SELECT seq, hash, at FROM events ORDER BY seq DESC LIMIT 1")
        .and_then(|mut statement| {
            statement
                .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()
        })
        .map_err(backend)?;
    let Some((seq, hash, at)) = last else {
        return Ok((1, GENESIS_HASH.to_owned(), None));
    };
    let next = u64::try_from(seq)
        .ok()
        .and_then(|seq| seq.checked_add(1))
        .ok_or_else(|| StoreError::Corrupt(format!("the last event is numbered {seq}")))?;
    Ok((next, hash, Some(at)))
}

/// What the hash of `event` covers, its data given as the text the store keeps.
fn chained<'a>(event: &'a Event, data: &'a str) -> Chained<'a> {
    let new = &event.event;
    Chained {
        seq: event.seq,
        at: &event.at,
        run: new.run.as_deref(),
        workflow: &new.workflow,
        kind: new.kind.as_str(),
        person: new.person.as_deref(),
        role: new.role.as_deref(),
        fingerprint: &new.fingerprint,
        step: new.step.as_deref(),
        data,
        prev_hash: &event.prev_hash,
    }
}

fn insert(transaction: &Transaction<'_>, event: &Event, data: &str) -> Result<(), StoreError> {
    let seq = i64::try_from(event.seq)
        .map_err(|_| StoreError::Backend(format!("event number {} is too large", event.seq)))?;
    let new = &event.event;
    transaction
        .prepare_cached(&format!(
            "INSERT INTO events ({COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ))
        .and_then(|mut statement| {
            statement.execute(params![
                seq,
                event.at,
                new.run,
                new.workflow,
                new.kind.as_str(),
                new.person,
                new.role,
                new.fingerprint,
                new.step,
                data,
                event.prev_hash,
                event.hash,
            ])
        })
        .map_err(backend)?;
    Ok(())
}

/// One row as stored, before any of it is trusted.
struct RawRow {
    seq: i64,
    at: String,
    run: Option<String>,
    workflow: String,
    kind: String,
    person: Option<String>,
    role: Option<String>,
    fingerprint: String,
    step: Option<String>,
    data: String,
    prev_hash: String,
    hash: String,
}

impl RawRow {
    /// Reads the columns of [`COLUMNS`]; fails on a value of the wrong type (a blob, a NULL).
    fn read(row: &Row<'_>) -> rusqlite::Result<RawRow> {
        Ok(RawRow {
            seq: row.get(0)?,
            at: row.get(1)?,
            run: row.get(2)?,
            workflow: row.get(3)?,
            kind: row.get(4)?,
            person: row.get(5)?,
            role: row.get(6)?,
            fingerprint: row.get(7)?,
            step: row.get(8)?,
            data: row.get(9)?,
            prev_hash: row.get(10)?,
            hash: row.get(11)?,
        })
    }

    /// Checks that this row is event `expected`, follows `prev_hash`, and matches its hash.
    fn check_link(&self, expected: u64, prev_hash: &str) -> Result<(), String> {
        if u64::try_from(self.seq).ok() != Some(expected) {
            return Err(if u64::try_from(self.seq).is_ok_and(|seq| seq > expected) {
                format!(
                    "the event is missing: the chain jumps to event {}",
                    self.seq
                )
            } else {
                format!("an event numbered {} stands in its place", self.seq)
            });
        }
        if self.prev_hash != prev_hash {
            return Err(if expected == 1 {
                "its `prev_hash` is not the start of a chain (64 zeros)".to_owned()
            } else {
                format!(
                    "its `prev_hash` is not the hash of event {}: an event before it was \
                     removed, replaced or moved",
                    expected - 1
                )
            });
        }
        if self.chained(expected).hash() != self.hash {
            return Err("its content does not match its hash: it was edited".to_owned());
        }
        Ok(())
    }

    fn chained(&self, seq: u64) -> Chained<'_> {
        Chained {
            seq,
            at: &self.at,
            run: self.run.as_deref(),
            workflow: &self.workflow,
            kind: &self.kind,
            person: self.person.as_deref(),
            role: self.role.as_deref(),
            fingerprint: &self.fingerprint,
            step: self.step.as_deref(),
            data: &self.data,
            prev_hash: &self.prev_hash,
        }
    }

    /// The kind and data, which must be readable even when the hash matches.
    fn parts(&self) -> Result<(EventKind, serde_json::Value), String> {
        let kind = EventKind::parse(&self.kind)
            .ok_or_else(|| format!("unknown event kind `{}`", shown(&self.kind)))?;
        let data = serde_json::from_str(&self.data)
            .map_err(|error| format!("its data is not JSON: {error}"))?;
        Ok((kind, data))
    }

    fn into_event(self) -> Result<Event, String> {
        let seq =
            u64::try_from(self.seq).map_err(|_| format!("an event is numbered {}", self.seq))?;
        let (kind, data) = self
            .parts()
            .map_err(|reason| format!("event {seq}: {reason}"))?;
        Ok(Event {
            seq,
            at: self.at,
            event: NewEvent {
                run: self.run,
                workflow: self.workflow,
                kind,
                person: self.person,
                role: self.role,
                fingerprint: self.fingerprint,
                step: self.step,
                data,
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Text from the store, safe to print in a message: escaped and at most 40 characters.
fn shown(text: &str) -> String {
    let mut escaped: String = text.chars().take(40).flat_map(char::escape_debug).collect();
    if text.chars().nth(40).is_some() {
        escaped.push_str("...");
    }
    escaped
}
