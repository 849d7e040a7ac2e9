//! The `sqlite` connector: a run keeps one read and one write connection per system
//! (`session.rs`); the free functions without `_kept` open one for the call.
//!
//! Values are bound positionally (`?1`, `?2`, ...), never spliced into the SQL. Column types map
//! to values as INTEGER -> `Int`, REAL -> `Number`, TEXT -> `Text`, NULL -> `Null`; a BLOB (or
//! TEXT that is not UTF-8) is an error rather than a lossy conversion, because a before-image
//! converted on the way out would be written back changed by its rollback. A `Bool` parameter
//! binds as 1 or 0, as SQLite stores booleans.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, Statement, TransactionBehavior, params_from_iter};

use super::authorize::ReadOnly;
use super::marker::{self, Mark};
use super::session::{Access, Connections, Session};
use super::{ConnectorError, Row};
use crate::runtime::value::{Blob, Value};

/// The most rows one read returns; more is an error, not an unbounded allocation.
pub const MAX_ROWS: usize = 100_000;

/// The most rows a `capture` may read. Each row is recorded in the `before_image` event and
/// reversed by its own run of the rollback, so the record stays small enough to show a person
/// and the reversal one bounded transaction; a capture over it fails before anything is written.
pub const MAX_CAPTURE_ROWS: usize = 1_000;

/// What a write did: the before-image its capture read (inside the same transaction), the
/// same capture read again after the write (the after-image), and the rows it changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub before: Option<Vec<Row>>,
    pub after: Option<Vec<Row>>,
    pub changes: usize,
    /// Rows the statement changed besides those it named: through triggers and foreign-key
    /// cascades (SQLite's total change count moved by more than the statement's own).
    pub indirect: u64,
}

/// The images a write's `before_write` hook records: the capture before and after the write,
/// both read inside the write's transaction (`None` without a capture), each up to
/// [`MAX_CAPTURE_ROWS`] rows (none: an INSERT's before-image, a DELETE's after-image); and the
/// rows the write changed, through triggers and cascades included, so a write through a view's
/// `INSTEAD OF` trigger is not taken for none (`None`: a call writ cannot look inside).
#[derive(Clone, Copy, Debug)]
pub struct Images<'a> {
    pub before: Option<&'a [Row]>,
    pub after: Option<&'a [Row]>,
    pub changes: Option<u64>,
}

/// Runs a read on a read-only connection and returns every row (at most [`MAX_ROWS`]); a
/// read still running after `timeout` is interrupted.
pub fn read(
    db: &Path,
    sql: &str,
    params: &[Value],
    timeout: Duration,
) -> Result<Vec<Row>, ConnectorError> {
    read_on(&mut Session::open(db, Access::Read)?, sql, params, timeout)
}

/// [`read`] on a run's connection to the system.
pub fn read_kept(
    connections: &Connections,
    db: &Path,
    sql: &str,
    params: &[Value],
    timeout: Duration,
) -> Result<Vec<Row>, ConnectorError> {
    connections.read(db, |session| read_on(session, sql, params, timeout))
}

fn read_on(
    session: &mut Session,
    sql: &str,
    params: &[Value],
    timeout: Duration,
) -> Result<Vec<Row>, ConnectorError> {
    session.arm(timeout);
    let rows = session.policy.explain(
        session
            .connection
            .prepare(sql)
            .map_err(ConnectorError::from)
            .and_then(|mut statement| query(&mut statement, params)),
    );
    match rows {
        Ok(rows) => {
            session.stop();
            Ok(rows)
        }
        Err(error) => Err(session.disarm(error, timeout)),
    }
}

/// Runs `capture` (when given) and `write` in one `BEGIN IMMEDIATE` transaction: the capture
/// may return up to [`MAX_CAPTURE_ROWS`] rows, else the transaction rolls back before anything
/// is written.
/// After the write the capture runs again, in the same transaction: the after-image.
///
/// `before_write` runs after the write statement and before `COMMIT`, while the transaction
/// holds the write lock, with both images: the runtime makes them durable there
/// (docs/runtime.md, "The order of side effects"), so a crash can never leave a committed
/// write without its before-image. If it fails, the transaction rolls back and nothing is
/// written.
///
/// The whole transaction is interrupted, and rolled back, if it runs past `timeout`.
pub fn write<E: From<ConnectorError>>(
    db: &Path,
    capture: Option<(&str, &[Value])>,
    write: (&str, &[Value]),
    timeout: Duration,
    before_write: impl FnOnce(Images<'_>) -> Result<(), E>,
) -> Result<Written, E> {
    write_in_turn(db, None, capture, write, timeout, before_write)
}

/// [`write`], taking `turn` (when given) after the connection is open and before `BEGIN`: the
/// caller's writes to one database then go one at a time instead of racing for
/// SQLite's write lock, whose busy handler is not fair (a writer can lose until its timeout).
pub fn write_in_turn<E: From<ConnectorError>>(
    db: &Path,
    turn: Option<&Mutex<()>>,
    capture: Option<(&str, &[Value])>,
    write: (&str, &[Value]),
    timeout: Duration,
    before_write: impl FnOnce(Images<'_>) -> Result<(), E>,
) -> Result<Written, E> {
    write_marked(db, turn, None, capture, write, timeout, before_write)
}

/// [`write_in_turn`], inserting `mark` (when given) into writ's marker table
/// ([`marker::TABLE`]) in the same transaction, after the write and before `before_write`:
/// the row is committed exactly when the write is, which is what crash recovery asks.
pub fn write_marked<E: From<ConnectorError>>(
    db: &Path,
    turn: Option<&Mutex<()>>,
    mark: Option<Mark<'_>>,
    capture: Option<(&str, &[Value])>,
    write: (&str, &[Value]),
    timeout: Duration,
    before_write: impl FnOnce(Images<'_>) -> Result<(), E>,
) -> Result<Written, E> {
    write_all(db, turn, mark, capture, &[write], timeout, before_write)
}

/// [`write_marked`] with several statements, run in order in the one transaction (a rollback
/// run once per captured row); `changes` is their sum.
pub fn write_all<E: From<ConnectorError>>(
    db: &Path,
    turn: Option<&Mutex<()>>,
    mark: Option<Mark<'_>>,
    capture: Option<(&str, &[Value])>,
    writes: &[(&str, &[Value])],
    timeout: Duration,
    before_write: impl FnOnce(Images<'_>) -> Result<(), E>,
) -> Result<Written, E> {
    let mut session = Session::open(db, Access::Write).map_err(E::from)?;
    // The turn before the clock starts: a write waiting for its turn is not yet running.
    let _turn = turn.map(|lock| {
        lock.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    });
    write_on(&mut session, mark, capture, writes, timeout, before_write)
}

/// [`write_all`] on a run's connection to the system, in its turn.
pub fn write_kept<E: From<ConnectorError>>(
    connections: &Connections,
    db: &Path,
    mark: Option<Mark<'_>>,
    capture: Option<(&str, &[Value])>,
    writes: &[(&str, &[Value])],
    timeout: Duration,
    before_write: impl FnOnce(Images<'_>) -> Result<(), E>,
) -> Result<Written, E> {
    connections.write(db, |session| {
        write_on(session, mark, capture, writes, timeout, before_write)
    })
}

fn write_on<E: From<ConnectorError>>(
    session: &mut Session,
    mark: Option<Mark<'_>>,
    capture: Option<(&str, &[Value])>,
    writes: &[(&str, &[Value])],
    timeout: Duration,
    before_write: impl FnOnce(Images<'_>) -> Result<(), E>,
) -> Result<Written, E> {
    session.arm(timeout);
    let Session {
        connection, policy, ..
    } = session;
    let result = write_in_transaction(connection, policy, mark, capture, writes, before_write);
    match result {
        Ok(written) => {
            session.stop();
            Ok(written)
        }
        Err(Failure::Connector(error)) => Err(E::from(session.disarm(error, timeout))),
        Err(Failure::Hook(error)) => {
            session.stop();
            Err(error)
        }
    }
}

/// What stopped a write: the connector, or the caller's `before_write` hook.
enum Failure<E> {
    Connector(ConnectorError),
    Hook(E),
}

fn write_in_transaction<E>(
    connection: &mut Connection,
    policy: &ReadOnly,
    mark: Option<Mark<'_>>,
    capture: Option<(&str, &[Value])>,
    writes: &[(&str, &[Value])],
    before_write: impl FnOnce(Images<'_>) -> Result<(), E>,
) -> Result<Written, Failure<E>> {
    let sqlite = |error: rusqlite::Error| Failure::Connector(ConnectorError::from(error));
    // INVARIANT: every early return below drops `transaction`, which rolls it back.
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    let before = match capture {
        Some((sql, params)) => Some(
            policy
                .reading(|| capture_rows(&transaction, sql, params))
                .map_err(Failure::Connector)?,
        ),
        None => None,
    };
    let total_before = transaction.total_changes();
    let mut changes = 0usize;
    for (sql, params) in writes {
        // Cached: a run's connection prepares a write's statement once, not once per write.
        let named = transaction
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement.execute(params_from_iter(params.iter().map(to_sql)))
            })
            .map_err(sqlite)?;
        changes = changes.saturating_add(named);
    }
    let indirect = transaction
        .total_changes()
        .saturating_sub(total_before)
        .saturating_sub(changes as u64);
    let after = match capture {
        Some((sql, params)) => Some(
            policy
                .reading(|| capture_rows(&transaction, sql, params))
                .map_err(Failure::Connector)?,
        ),
        None => None,
    };
    if let Some(mark) = mark {
        marker::insert(&transaction, mark).map_err(Failure::Connector)?;
    }
    before_write(Images {
        before: before.as_deref(),
        after: after.as_deref(),
        changes: Some((changes as u64).saturating_add(indirect)),
    })
    .map_err(Failure::Hook)?;
    transaction.commit().map_err(sqlite)?;
    Ok(Written {
        before,
        after,
        changes,
        indirect,
    })
}

/// The capture query's rows (at most [`MAX_CAPTURE_ROWS`]), read inside the write transaction.
fn capture_rows(
    transaction: &rusqlite::Transaction<'_>,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, ConnectorError> {
    let mut statement = transaction.prepare(sql)?;
    // `readonly()` is also true of BEGIN, COMMIT or SAVEPOINT: a capture must also return columns.
    if !statement.readonly() || statement.column_count() == 0 {
        return Err(ConnectorError::Sqlite {
            message: "the capture query is not a read".to_owned(),
        });
    }
    query_at_most(&mut statement, params, MAX_CAPTURE_ROWS).map_err(|error| match error {
        ConnectorError::TooManyRows { limit } => ConnectorError::CaptureRows { limit },
        other => other,
    })
}

/// Runs a read that must come back true: at least one row, and every value of the first row
/// true, non-zero, non-null and non-empty.
pub fn verify(
    db: &Path,
    sql: &str,
    params: &[Value],
    timeout: Duration,
) -> Result<(), ConnectorError> {
    let rows = read(db, sql, params, timeout)?;
    let first = rows.first().ok_or_else(|| ConnectorError::VerifyFailed {
        reason: "returned no row".to_owned(),
    })?;
    match first.iter().find(|(_, value)| !truthy(value)) {
        Some((column, value)) => Err(ConnectorError::VerifyFailed {
            reason: format!("returned {value} in column `{column}`"),
        }),
        None => Ok(()),
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Number(n) => *n != 0.0,
        Value::Text(t) => !t.is_empty(),
        Value::Blob(b) => !b.0.is_empty(),
    }
}

/// A read-only connection to `db` (for writ's own marker lookups).
pub(super) fn open_read_only(db: &Path) -> Result<(Connection, ReadOnly), ConnectorError> {
    let session = Session::open(db, Access::Read)?;
    Ok((session.connection, session.policy))
}

fn query(statement: &mut Statement<'_>, params: &[Value]) -> Result<Vec<Row>, ConnectorError> {
    query_at_most(statement, params, MAX_ROWS)
}

fn query_at_most(
    statement: &mut Statement<'_>,
    params: &[Value],
    limit: usize,
) -> Result<Vec<Row>, ConnectorError> {
    let names: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let mut rows = statement.query(params_from_iter(params.iter().map(to_sql)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        if out.len() == limit {
            return Err(ConnectorError::TooManyRows { limit });
        }
        let mut values = Row::new();
        for (index, name) in names.iter().enumerate() {
            values.insert(name.clone(), from_sql(name, row.get_ref(index)?)?);
        }
        out.push(values);
    }
    Ok(out)
}

fn to_sql(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Int(i) => SqlValue::Integer(*i),
        Value::Number(n) => SqlValue::Real(*n),
        Value::Text(t) => SqlValue::Text(t.clone()),
        Value::Blob(b) => SqlValue::Blob(b.0.clone()),
    }
}

fn from_sql(column: &str, value: ValueRef<'_>) -> Result<Value, ConnectorError> {
    let unrepresentable = |reason| ConnectorError::Column {
        column: column.to_owned(),
        reason,
    };
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) => Ok(Value::Int(i)),
        // An infinite REAL would serialise (and hash) like NULL: refused, as BLOBs are.
        ValueRef::Real(n) if n.is_finite() => Ok(Value::Number(n)),
        ValueRef::Real(_) => Err(unrepresentable("holds a number that is not finite")),
        ValueRef::Text(bytes) => String::from_utf8(bytes.to_vec())
            .map(Value::Text)
            .map_err(|_| unrepresentable("holds text that is not UTF-8")),
        ValueRef::Blob(bytes) => Ok(Value::Blob(Blob(bytes.to_vec()))),
    }
}
