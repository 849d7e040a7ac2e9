//! writ's marker table in a SQLite system of record: one row per write writ committed there,
//! inserted in the write's own transaction, so the row exists exactly when the write does.
//! Crash recovery asks this table whether a write in doubt committed, and never compares
//! values (another writer may have changed the row since, or made it look written).
//!
//! The table is writ's, as Sqitch's `changes` and Liquibase's `DATABASECHANGELOG` are theirs:
//! created on first use, documented in docs/runtime.md, and never read for anything else.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::ConnectorError;

/// The table's name in the system's database.
pub const TABLE: &str = "writ_writes";

/// Created inside the write's transaction: a database without it has never had a write from
/// writ committed. `(run, step)` is the key, so a second commit of one step's write fails
/// and rolls back instead of writing twice.
const CREATE: &str = "CREATE TABLE IF NOT EXISTS writ_writes (
    run TEXT NOT NULL,
    step TEXT NOT NULL,
    hash TEXT NOT NULL,
    written_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (run, step)
)";

/// The write a marker row names: the run, the execute step, and the hash of its bound action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark<'a> {
    pub run: &'a str,
    pub step: &'a str,
    pub hash: &'a str,
}

/// What the marker table says of one step's write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Marked {
    /// No row: the write never committed.
    Absent,
    /// A row with this hash: that write committed.
    Present { hash: String },
}

/// Inserts the marker row, in `transaction` (the write's, before its `COMMIT`).
pub fn insert(transaction: &Transaction<'_>, mark: Mark<'_>) -> Result<(), ConnectorError> {
    // Cached: on a run's kept connection both are prepared once, not once per write.
    transaction.prepare_cached(CREATE)?.execute([])?;
    transaction
        .prepare_cached("INSERT INTO writ_writes (run, step, hash) VALUES (?1, ?2, ?3)")
        .and_then(|mut insert| insert.execute([mark.run, mark.step, mark.hash]))
        .map_err(|error| ConnectorError::Sqlite {
            message: format!(
                "could not record writ's marker for `{}` in `{TABLE}` ({error}); nothing was written",
                mark.step
            ),
        })?;
    Ok(())
}

/// Asks the marker table of `connection` about `run`'s `step`.
pub fn lookup(connection: &Connection, run: &str, step: &str) -> Result<Marked, ConnectorError> {
    let exists: Option<i64> = connection
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [TABLE],
            |row| row.get(0),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(Marked::Absent);
    }
    let hash: Option<String> = connection
        .query_row(
            "SELECT hash FROM writ_writes WHERE run = ?1 AND step = ?2",
            [run, step],
            |row| row.get(0),
        )
        .optional()?;
    Ok(hash.map_or(Marked::Absent, |hash| Marked::Present { hash }))
}

/// [`lookup`] on a read-only connection to `db`.
pub fn ask(db: &Path, run: &str, step: &str) -> Result<Marked, ConnectorError> {
    let (connection, _) = super::sqlite::open_read_only(db)?;
    lookup(&connection, run, step)
}
