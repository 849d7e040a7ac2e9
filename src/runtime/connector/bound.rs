//! The one trait every connector meets, bound to one system's resolved target: the executor
//! reads, writes and verifies through [`Connector`] and never matches on the kind of system.
//!
//! A write calls `record` with the images right before it can take effect (sqlite: inside the
//! transaction, after the statement and before `COMMIT`; exec and http: before the call, with
//! no images); if `record` fails, nothing is written. That is where the executor makes the
//! `before_image` event durable (docs/runtime.md, "The order of side effects").

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use super::sqlite::{self, Images};
use super::{ConnectorError, Row, exec, http};
use crate::runtime::render::Rendered;

/// What a read answered: sqlite rows as a JSON array, or a program's or server's JSON object;
/// and a program's own output, verbatim.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub output: serde_json::Value,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

/// What a write did: rows changed (sqlite), or the system's answer (exec, http).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    pub changes: Option<u64>,
    pub output: Option<serde_json::Value>,
}

/// Records the images of a write before it can take effect; an error stops the write.
pub type Record<'a> = dyn FnMut(Images<'_>) -> Result<(), String> + 'a;

pub trait Connector {
    /// Runs a read-only action.
    fn read(&self, action: &Rendered) -> Result<Answer, String>;

    /// Runs a write, with its before-image (`capture`, sqlite only) recorded first. By default
    /// (exec, http: a call writ cannot look inside) the intent is recorded, with no images, and
    /// the call made.
    fn write(
        &self,
        action: &Rendered,
        _capture: Option<&Rendered>,
        record: &mut Record<'_>,
    ) -> Result<Applied, String> {
        record(Images {
            before: None,
            after: None,
        })?;
        let output = self.read(action)?.output;
        Ok(Applied {
            changes: None,
            output: Some(output),
        })
    }

    /// A `verify` read: the answer must be an object whose every value is true, non-zero,
    /// non-null and non-empty.
    fn verify(&self, action: &Rendered) -> Result<(), String> {
        let output = self.read(action)?.output;
        let object = output.as_object().ok_or("the answer is not an object")?;
        match object.iter().find(|(_, v)| !truthy(v)) {
            Some((key, value)) => Err(format!("returned {value} in `{key}`")),
            None if object.is_empty() => Err("returned nothing".to_owned()),
            None => Ok(()),
        }
    }
}

fn truthy(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        serde_json::Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

fn misfit() -> String {
    "the action does not fit its system".to_owned()
}

fn failed(error: ConnectorError) -> String {
    error.to_string()
}

/// A SQLite database; writes take `turn` (this process's writes to it, one at a time).
pub struct SqliteSystem<'a> {
    pub path: &'a Path,
    pub turn: Option<&'a Mutex<()>>,
    pub timeout: Duration,
}

impl Connector for SqliteSystem<'_> {
    fn read(&self, action: &Rendered) -> Result<Answer, String> {
        let Rendered::Sqlite { sql, params } = action else {
            return Err(misfit());
        };
        let rows = sqlite::read(self.path, sql, params, self.timeout).map_err(failed)?;
        Ok(Answer {
            output: rows_json(&rows),
            stdout: None,
            stderr: None,
        })
    }

    fn write(
        &self,
        action: &Rendered,
        capture: Option<&Rendered>,
        record: &mut Record<'_>,
    ) -> Result<Applied, String> {
        let Rendered::Sqlite { sql, params } = action else {
            return Err(misfit());
        };
        let capture = match capture {
            Some(Rendered::Sqlite { sql, params }) => Some((sql.as_str(), params.as_slice())),
            Some(_) => return Err("the capture is not sql".to_owned()),
            None => None,
        };
        let written = sqlite::write_in_turn(
            self.path,
            self.turn,
            capture,
            (sql, params),
            self.timeout,
            |images| record(images).map_err(|message| ConnectorError::Sqlite { message }),
        )
        .map_err(failed)?;
        Ok(Applied {
            changes: Some(written.changes as u64),
            output: None,
        })
    }

    fn verify(&self, action: &Rendered) -> Result<(), String> {
        let Rendered::Sqlite { sql, params } = action else {
            return Err(misfit());
        };
        sqlite::verify(self.path, sql, params, self.timeout).map_err(failed)
    }
}

fn rows_json(rows: &[Row]) -> serde_json::Value {
    let object = |row: &Row| {
        serde_json::Value::Object(row.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    };
    serde_json::Value::Array(rows.iter().map(object).collect())
}

/// Programs: a path with a slash starts from `folder` (the workflow's), and they run in
/// `workdir`.
pub struct ExecSystem<'a> {
    pub folder: &'a Path,
    pub workdir: &'a Path,
    pub timeout: Duration,
}

impl Connector for ExecSystem<'_> {
    fn read(&self, action: &Rendered) -> Result<Answer, String> {
        let Rendered::Exec { program, args } = action else {
            return Err(misfit());
        };
        let path = if program.contains('/') {
            self.folder.join(program)
        } else {
            program.into()
        };
        let out = exec::run(&path, args, Some(self.workdir), self.timeout).map_err(failed)?;
        Ok(Answer {
            output: out.json.unwrap_or_else(empty),
            stdout: Some(out.stdout),
            stderr: Some(out.stderr),
        })
    }
}

/// An HTTP API; its client was made (its secret read) when the system was resolved, or why it
/// could not be.
pub struct HttpSystem<'a> {
    pub client: Result<&'a http::Client, &'a str>,
}

impl Connector for HttpSystem<'_> {
    fn read(&self, action: &Rendered) -> Result<Answer, String> {
        let Rendered::Http { method, url, body } = action else {
            return Err(misfit());
        };
        let client = self.client.map_err(str::to_owned)?;
        let out = client.call(method, url, body.as_ref()).map_err(failed)?;
        Ok(Answer {
            output: out.json.unwrap_or_else(empty),
            stdout: None,
            stderr: None,
        })
    }
}

fn empty() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}
