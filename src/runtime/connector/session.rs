//! SQLite connections as a run uses them: one read-only and one read-write connection per
//! system, opened on first use and kept for the run ([`Connections`]), each with its
//! read-only policy (`authorize.rs`) and its time limit installed once.
//!
//! The time limit is SQLite's progress handler, not a thread: SQLite calls it every few
//! thousand virtual-machine steps, and it interrupts the statement once the call's deadline
//! has passed. A call sets the deadline when it starts and clears it when it ends, so an idle
//! connection has none.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::ConnectorError;
use super::authorize::ReadOnly;

/// How long a call waits for another writer before failing as busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How many virtual-machine steps pass between two looks at the deadline: often enough to
/// stop within a millisecond or so, rarely enough to cost nothing measurable.
const STEPS_PER_CHECK: i32 = 10_000;

/// One open connection with its policy and its limit.
pub struct Session {
    pub(super) connection: Connection,
    pub(super) policy: ReadOnly,
    limit: Limit,
}

/// Whether a connection may write.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

impl Session {
    /// Opens `db`. A read connection is read-only three times over: the file is opened
    /// read-only, `query_only` refuses writes even through anything that could reopen it (an
    /// `ATTACH`), and the authorizer denies every action that is not a read. A write
    /// connection turns `foreign_keys` on, so the database's declared foreign keys and
    /// cascades hold for writ's writes, and holds its captures to reading.
    pub(super) fn open(db: &Path, access: Access) -> Result<Session, ConnectorError> {
        // No CREATE flag: a mistyped path must fail, not write into a new empty database.
        let flags = match access {
            Access::Read => OpenFlags::SQLITE_OPEN_READ_ONLY,
            Access::Write => OpenFlags::SQLITE_OPEN_READ_WRITE,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut connection = Connection::open_with_flags(db, flags)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        match access {
            Access::Read => connection.pragma_update(None, "query_only", true)?,
            Access::Write => connection.pragma_update(None, "foreign_keys", true)?,
        }
        let policy = ReadOnly::install(&mut connection, access == Access::Read)?;
        let limit = Limit::install(&mut connection)?;
        Ok(Session {
            connection,
            policy,
            limit,
        })
    }

    /// Starts the call's clock: past `timeout` from now, its statement is interrupted.
    pub(super) fn arm(&self, timeout: Duration) {
        self.limit.set(Some(Instant::now() + timeout));
    }

    /// Stops the clock: `error`, when the deadline had fired, is reported as the time limit.
    pub(super) fn disarm(&self, error: ConnectorError, timeout: Duration) -> ConnectorError {
        if self.limit.set(None) {
            ConnectorError::Sqlite {
                message: format!(
                    "the query did not finish within {} s",
                    timeout.as_secs_f64()
                ),
            }
        } else {
            error
        }
    }

    /// Stops the clock after a call that succeeded.
    pub(super) fn stop(&self) {
        self.limit.set(None);
    }
}

/// The deadline the progress handler watches.
#[derive(Clone, Default)]
struct Limit {
    deadline: Arc<Mutex<Option<Instant>>>,
    fired: Arc<AtomicBool>,
}

impl Limit {
    fn install(connection: &mut Connection) -> Result<Limit, ConnectorError> {
        let limit = Limit::default();
        let watched = limit.clone();
        connection.progress_handler(
            STEPS_PER_CHECK,
            Some(move || {
                let deadline = *watched
                    .deadline
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let passed = deadline.is_some_and(|d| Instant::now() >= d);
                if passed {
                    watched.fired.store(true, Ordering::SeqCst);
                }
                passed
            }),
        )?;
        Ok(limit)
    }

    /// Sets (or clears) the deadline; returns whether the one it replaces fired.
    fn set(&self, deadline: Option<Instant>) -> bool {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner) = deadline;
        self.fired.swap(false, Ordering::SeqCst)
    }
}

/// One system's connections for a run. The write connection's lock is also the system's turn:
/// this process's writes to one database go one at a time, in the order they reach it, instead
/// of racing for SQLite's write lock (whose busy handler is not fair: a writer could lose until
/// its timeout under load).
#[derive(Default)]
pub struct Connections {
    read: Mutex<Option<Session>>,
    write: Mutex<Option<Session>>,
}

impl Connections {
    /// The read connection, opened on first use. A read that finds it in use by another task
    /// opens one of its own for the call rather than wait (reads may run side by side).
    pub(super) fn read<T>(
        &self,
        db: &Path,
        call: impl FnOnce(&mut Session) -> Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        match self.read.try_lock() {
            Ok(mut slot) => with_session(&mut slot, db, Access::Read, call),
            Err(_) => call(&mut Session::open(db, Access::Read)?),
        }
    }

    /// The write connection, in turn: waits for this process's other writes to the system.
    pub(super) fn write<T, E: From<ConnectorError>>(
        &self,
        db: &Path,
        call: impl FnOnce(&mut Session) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut slot = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        with_session(&mut slot, db, Access::Write, call)
    }
}

/// Runs `call` on the session in `slot`, opening it first when there is none. A call that
/// fails drops the session: the next opens afresh, so a connection left in an odd state (an
/// interrupted statement, a file replaced underneath) is never reused.
fn with_session<T, E: From<ConnectorError>>(
    slot: &mut MutexGuard<'_, Option<Session>>,
    db: &Path,
    access: Access,
    call: impl FnOnce(&mut Session) -> Result<T, E>,
) -> Result<T, E> {
    let session = match slot.take() {
        Some(session) => session,
        None => Session::open(db, access).map_err(E::from)?,
    };
    let mut session = session;
    let result = call(&mut session);
    if result.is_ok() {
        **slot = Some(session);
    }
    result
}
