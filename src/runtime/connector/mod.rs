//! Connectors: how a rendered action (`render::Rendered`) reaches a real system. Each is a
//! few free functions that run one action and report exactly what happened, and all three meet
//! one trait, [`bound::Connector`], bound to a resolved target, which the executor uses.
//! Deciding whether an action may run at all (approvals, the kill switch) happens above, never
//! here.
//!
//! - `sqlite`: reads on a read-only connection; a write runs in one transaction with its
//!   before-image; `verify` is a read that must come back true.
//! - `exec`: a program run without a shell, with a timeout, whose output is one JSON object.
//! - `http`: one request to a URL under the system's base URL, with a timeout; a 2xx response
//!   body, when not empty, must be one JSON object.

use std::collections::BTreeMap;
use std::time::Duration;

use super::value::Value;

pub mod authorize;
pub mod bound;
pub mod exec;
pub mod http;
pub mod marker;
pub mod session;
pub mod sqlite;

/// One result row: column name to value.
pub type Row = BTreeMap<String, Value>;

/// Why a connector could not run an action, or refused its result.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConnectorError {
    #[error("could not run `{program}`: {source}")]
    Io {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The sandbox could not confine the program, or a bound program changed.
    #[error("the sandbox refused to run `{program}`: {message}")]
    Sandbox { program: String, message: String },
    #[error("`{program}` did not finish within {} s and was killed", .after.as_secs_f64())]
    Timeout { program: String, after: Duration },
    #[error("`{program}` failed ({}){}", exit_text(*.code), stderr_text(.stderr_tail))]
    Failed {
        program: String,
        /// `None` when the program was ended by a signal.
        code: Option<i32>,
        /// The last lines of its standard error.
        stderr_tail: String,
    },
    #[error("`{program}` wrote more than {limit} bytes to {stream}")]
    TooMuchOutput {
        program: String,
        stream: &'static str,
        limit: usize,
    },
    #[error("the output of `{program}` is not one JSON object: {reason}")]
    NotJson { program: String, reason: String },
    #[error("sqlite: {message}")]
    Sqlite { message: String },
    #[error("column `{column}` {reason}")]
    Column {
        column: String,
        reason: &'static str,
    },
    #[error(
        "the capture query returned more than {limit} rows; nothing was written (narrow its \
         `WHERE`, or split the write)"
    )]
    CaptureRows { limit: usize },
    /// SQLite's authorizer stopped a read-only position from acting.
    #[error(
        "a read may not {what}; a recommend's `sql`, a `capture` and a `verify` may only read \
         (nothing was written)"
    )]
    NotARead { what: String },
    #[error("the query returned more than {limit} rows")]
    TooManyRows { limit: usize },
    #[error("the verify query {reason}")]
    VerifyFailed { reason: String },
    /// The base URL from the config or the step's relative URL cannot be used. Never holds
    /// the token (it is only ever a header).
    #[error("http: cannot use URL `{url}`: {reason}")]
    HttpUrl { url: String, reason: &'static str },
    /// The system's client cannot be set up (its CA file, its headers): before any request.
    #[error("http system at `{url}`: {reason}")]
    HttpSetup { url: String, reason: String },
    #[error("http {method} `{url}`: {message}")]
    Http {
        method: String,
        url: String,
        message: String,
    },
    #[error("http {method} `{url}` did not finish within {} s", .after.as_secs_f64())]
    HttpTimeout {
        method: String,
        url: String,
        after: Duration,
    },
    #[error("http {method} `{url}` answered {status}{}", stderr_text(.body_head))]
    HttpStatus {
        method: String,
        url: String,
        status: u16,
        /// The first bytes of the response body (lossy UTF-8).
        body_head: String,
    },
    #[error("http {method} `{url}`: the response body is larger than {limit} bytes")]
    HttpTooLarge {
        method: String,
        url: String,
        limit: usize,
    },
    #[error("http {method} `{url}`: the response body is not one JSON object: {reason}")]
    HttpNotJson {
        method: String,
        url: String,
        reason: String,
    },
}

impl From<rusqlite::Error> for ConnectorError {
    fn from(error: rusqlite::Error) -> Self {
        ConnectorError::Sqlite {
            message: error.to_string(),
        }
    }
}

fn exit_text(code: Option<i32>) -> String {
    code.map_or_else(
        || "killed by a signal".to_owned(),
        |code| format!("exit code {code}"),
    )
}

fn stderr_text(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {tail}")
    }
}
