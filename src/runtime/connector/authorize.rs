//! SQLite's own judgement of a read-only position (a recommend's `sql`, a `capture`, a
//! `verify`): an authorizer on the connection that SQLite consults for every action a
//! statement would take while it is prepared, including the statements SQLite prepares for
//! itself inside a query (a `pragma_*` table-valued function runs its pragma that way, while the
//! query runs).
//!
//! The read-only flag and `query_only` are not enough: `pragma_optimize(...)` is "read-only"
//! to both and runs `ANALYZE`, creating tables in the system of record. So a read may only
//! select, read tables, recurse, call functions without side effects and query the pragmas
//! listed here; everything else (writes to any schema, `ATTACH`, transactions, savepoints,
//! `ANALYZE`, `load_extension`, any pragma that sets or acts) is denied, and the denial is
//! reported in words.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use super::ConnectorError;
use crate::syntax::sql_reads::{function_acts, pragma_reads};

/// The authorizer's state, shared with the connection's callback.
#[derive(Default)]
struct State {
    /// While set, the read-only policy holds; otherwise (a write's own statement) all is allowed.
    reading: AtomicBool,
    /// What the policy denied last, for the error.
    denied: Mutex<Option<String>>,
}

/// The read-only policy installed on one connection.
#[derive(Clone)]
pub struct ReadOnly {
    state: Arc<State>,
}

impl ReadOnly {
    /// Installs the policy on `connection`; it holds from now on when `always`, else only
    /// inside [`ReadOnly::reading`].
    pub fn install(connection: &mut Connection, always: bool) -> Result<ReadOnly, ConnectorError> {
        let state = Arc::new(State::default());
        state.reading.store(always, Ordering::SeqCst);
        let shared = Arc::clone(&state);
        connection.authorizer(Some(move |context: AuthContext<'_>| {
            if !shared.reading.load(Ordering::SeqCst) {
                return Authorization::Allow;
            }
            match judge(&context.action) {
                Ok(()) => Authorization::Allow,
                Err(what) => {
                    *shared.denied.lock().unwrap_or_else(PoisonError::into_inner) = Some(what);
                    Authorization::Deny
                }
            }
        }))?;
        Ok(ReadOnly { state })
    }

    /// Runs `read` under the policy, and turns a denial into words.
    pub fn reading<T>(
        &self,
        read: impl FnOnce() -> Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        let before = self.state.reading.swap(true, Ordering::SeqCst);
        let result = read();
        self.state.reading.store(before, Ordering::SeqCst);
        self.explain(result)
    }

    /// A failed read that the policy caused, said as such.
    pub fn explain<T>(&self, result: Result<T, ConnectorError>) -> Result<T, ConnectorError> {
        let denied = self
            .state
            .denied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match (result, denied) {
            (Err(_), Some(what)) => Err(ConnectorError::NotARead { what }),
            (result, _) => result,
        }
    }
}

/// Allows what a read may do; otherwise says what the statement would have done.
fn judge(action: &AuthAction<'_>) -> Result<(), String> {
    match *action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => Ok(()),
        AuthAction::Function { function_name } if function_acts(function_name) => Err(format!(
            "call `{function_name}`, which acts on the connection"
        )),
        AuthAction::Function { .. } => Ok(()),
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } if pragma_reads(pragma_name, pragma_value.is_some()) => Ok(()),
        AuthAction::Pragma {
            pragma_name,
            pragma_value: Some(value),
        } => Err(format!("run `PRAGMA {pragma_name}` with `{value}`")),
        AuthAction::Pragma { pragma_name, .. } => Err(format!(
            "run `PRAGMA {pragma_name}`, which is not a pragma that only reads"
        )),
        AuthAction::Analyze { .. } => Err("run `ANALYZE`".to_owned()),
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => {
            Err("attach or detach a database".to_owned())
        }
        AuthAction::Insert { table_name }
        | AuthAction::Delete { table_name }
        | AuthAction::Update { table_name, .. } => Err(format!("write to `{table_name}`")),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
            Err("begin or end a transaction".to_owned())
        }
        // Schema changes, vtables, `REINDEX`, and any action this SQLite knows and writ
        // does not: a read never needs them.
        _ => Err("change the database or the connection".to_owned()),
    }
}
