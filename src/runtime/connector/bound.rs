//! The one trait every connector meets, bound to one system's resolved target: the executor
//! reads, writes and verifies through [`Connector`] and never matches on the kind of system.
//!
//! A write calls `record` with the images right before it can take effect (sqlite: inside the
//! transaction, after the statement and before `COMMIT`; exec and http: before the call, with
//! no images); if `record` fails, nothing is written. That is where the executor makes the
//! `before_image` event durable (docs/runtime.md, "The order of side effects").

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::marker::Mark;
use super::session::Connections;
use super::sqlite::{self, Images};
use super::{ConnectorError, Row, exec, http};
use crate::runtime::render::{BoundProgram, Rendered};
use crate::runtime::sandbox::{self, Grants, InForce, Network, Policy, Scratch};
use crate::runtime::systems::Sandboxing;

/// What a read answered: sqlite rows as a JSON array, or a program's or server's JSON object;
/// and a program's own output, verbatim.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub output: serde_json::Value,
    /// Whether the log may keep `output` whole (not an http system's answer without
    /// `record: full`, which may hold personal data: then only the yielded fields).
    pub whole: bool,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

/// What a write did: rows changed (sqlite), or the system's answer (exec, http).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// The HTTP status of the answer (http).
    pub status: Option<u16>,
    /// The answer's identifying headers (http: `Location`, `ETag`, a request id).
    pub headers: Vec<(String, String)>,
    /// Whether the log may keep `output` whole (see [`Answer::whole`]).
    pub whole: bool,
    pub changes: Option<u64>,
    /// Rows changed beyond those the statement named or its capture read (sqlite: triggers,
    /// cascades, a statement matching more rows than its one captured row).
    pub beyond: Option<u64>,
    pub output: Option<serde_json::Value>,
}

/// Records the images of a write before it can take effect; an error stops the write.
pub type Record<'a> = dyn FnMut(Images<'_>) -> Result<(), String> + 'a;

/// Why a write did not simply succeed, by what it left behind in the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteFailure {
    /// The system refused it (an HTTP 4xx other than 408/429), or it was never sent: nothing
    /// was applied, so there is nothing to reverse and nothing to repair.
    Refused { status: Option<u16>, reason: String },
    /// The system applied it (a 2xx) but its answer is unusable (not JSON, too large): a write
    /// to reverse like any other, whose step fails.
    AnsweredBadly { reason: String },
    /// Anything else: the write may or may not have acted (sqlite tells by its marker row;
    /// a 5xx, 408, 429, timeout or reset is in doubt).
    Failed(String),
}

impl From<String> for WriteFailure {
    fn from(reason: String) -> Self {
        WriteFailure::Failed(reason)
    }
}

impl std::fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteFailure::Refused { reason, .. }
            | WriteFailure::AnsweredBadly { reason, .. }
            | WriteFailure::Failed(reason) => f.write_str(reason),
        }
    }
}

pub trait Connector {
    /// Runs a read-only action.
    fn read(&self, action: &Rendered) -> Result<Answer, String>;

    /// Runs a write, with its before-image (`capture`, sqlite only) recorded first, and
    /// `mark` (sqlite: writ's marker row, in the write's transaction) naming it. By default
    /// (exec, http: a call writ cannot look inside) the intent is recorded, with no images, and
    /// the call made.
    fn write(
        &self,
        action: &Rendered,
        _capture: Option<&Rendered>,
        _mark: Option<Mark<'_>>,
        record: &mut Record<'_>,
    ) -> Result<Applied, WriteFailure> {
        record(Images {
            before: None,
            after: None,
            changes: None,
        })?;
        let output = self.call_write(action)?.output;
        Ok(Applied {
            status: None,
            headers: Vec::new(),
            whole: true,
            changes: None,
            beyond: None,
            output: Some(output),
        })
    }

    /// Several writes in order as one (a rollback run once per captured row): sqlite runs
    /// them in one transaction, with the capture read before the first and after the last.
    /// Other systems take exactly one.
    fn write_all(
        &self,
        actions: &[Rendered],
        capture: Option<&Rendered>,
        mark: Option<Mark<'_>>,
        record: &mut Record<'_>,
    ) -> Result<Applied, WriteFailure> {
        match actions {
            [action] => self.write(action, capture, mark, record),
            _ => Err(WriteFailure::Failed(format!(
                "{} writes cannot run as one; only a sql system reverses several captured rows",
                actions.len()
            ))),
        }
    }

    /// The call a default [`Connector::write`] makes once its intent is recorded: by default the
    /// same as a read (http); exec programs that write run with their system's grants.
    fn call_write(&self, action: &Rendered) -> Result<Answer, String> {
        self.read(action)
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

/// A SQLite database, through the run's connections to it (`None`: a connection per call).
/// Writes through `connections` take its turn (this process's writes to it, one at a time).
pub struct SqliteSystem<'a> {
    pub path: &'a Path,
    pub connections: Option<&'a Connections>,
    pub timeout: Duration,
}

impl Connector for SqliteSystem<'_> {
    fn read(&self, action: &Rendered) -> Result<Answer, String> {
        let Rendered::Sqlite { sql, params } = action else {
            return Err(misfit());
        };
        let rows = match self.connections {
            Some(kept) => sqlite::read_kept(kept, self.path, sql, params, self.timeout),
            None => sqlite::read(self.path, sql, params, self.timeout),
        }
        .map_err(failed)?;
        Ok(Answer {
            output: rows_json(&rows),
            whole: true,
            stdout: None,
            stderr: None,
        })
    }

    fn write(
        &self,
        action: &Rendered,
        capture: Option<&Rendered>,
        mark: Option<Mark<'_>>,
        record: &mut Record<'_>,
    ) -> Result<Applied, WriteFailure> {
        self.write_all(std::slice::from_ref(action), capture, mark, record)
    }

    fn write_all(
        &self,
        actions: &[Rendered],
        capture: Option<&Rendered>,
        mark: Option<Mark<'_>>,
        record: &mut Record<'_>,
    ) -> Result<Applied, WriteFailure> {
        let writes = actions
            .iter()
            .map(|action| match action {
                Rendered::Sqlite { sql, params } => Ok((sql.as_str(), params.as_slice())),
                _ => Err(misfit()),
            })
            .collect::<Result<Vec<_>, String>>()?;
        let capture = match capture {
            Some(Rendered::Sqlite { sql, params }) => Some((sql.as_str(), params.as_slice())),
            Some(_) => return Err(WriteFailure::Failed("the capture is not sql".to_owned())),
            None => None,
        };
        let hook = |images: Images<'_>| {
            record(images).map_err(|message| ConnectorError::Sqlite { message })
        };
        let written = match self.connections {
            Some(kept) => {
                sqlite::write_kept(kept, self.path, mark, capture, &writes, self.timeout, hook)
            }
            None => sqlite::write_all(self.path, None, mark, capture, &writes, self.timeout, hook),
        }
        .map_err(failed)?;
        let named = written.changes as u64;
        // Each captured row is one the statement names: an UPDATE's rows before and after,
        // a DELETE's before, an INSERT's after.
        let captured = written
            .before
            .iter()
            .chain(&written.after)
            .map(Vec::len)
            .max()
            .map_or(0, |n| n as u64);
        let beyond = written.indirect
            + if captured > 0 {
                named.saturating_sub(captured)
            } else {
                0
            };
        Ok(Applied {
            status: None,
            headers: Vec::new(),
            whole: true,
            changes: Some(named),
            beyond: (beyond > 0).then_some(beyond),
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

/// Programs: a bound program is its file; otherwise a path with a slash starts from `folder`
/// (the workflow's) and a bare name is looked up on `PATH` (recommend and verify programs
/// only: execute and rollback programs are always bound). They run in `workdir`, confined by
/// `sandbox`; `grants` is what the system gives its execute and rollback programs (`None`: a
/// program run for a `verify` on another kind of system).
pub struct ExecSystem<'a> {
    pub folder: &'a Path,
    pub workdir: &'a Path,
    pub timeout: Duration,
    pub sandbox: &'a Sandboxing,
    pub grants: Option<&'a Grants>,
}

/// Whether a program reads (recommend, verify) or writes (execute, rollback).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Read,
    Write,
}

impl ExecSystem<'_> {
    fn call(&self, action: &Rendered, role: Role) -> Result<Answer, String> {
        let Rendered::Exec {
            program,
            args,
            bound,
        } = action
        else {
            return Err(misfit());
        };
        let path = match bound {
            Some(bound) => PathBuf::from(&bound.path),
            None if program.contains('/') => self.folder.join(program),
            None => program.into(),
        };
        let out = match self.sandbox.in_force {
            InForce::Off => exec::run(&path, args, Some(self.workdir), self.timeout),
            InForce::Landlock { .. } => {
                let scratch = Scratch::create()
                    .map_err(|e| format!("cannot create a scratch folder: {e}"))?;
                let policy = self.policy(path, args, bound, role, scratch.path());
                exec::run_sandboxed(&policy, scratch.path(), self.timeout)
            }
        }
        .map_err(failed)?;
        Ok(Answer {
            output: out.json.unwrap_or_else(empty),
            whole: true,
            stdout: Some(out.stdout),
            stderr: Some(out.stderr),
        })
    }

    /// What the program may reach: every program reads the system paths, the workflow's
    /// folder, its working folder and its own file, and writes its scratch folder; a writing
    /// one also writes what its system grants, and reaches the network only if granted.
    fn policy(
        &self,
        program: PathBuf,
        args: &[String],
        bound: &Option<BoundProgram>,
        role: Role,
        scratch: &Path,
    ) -> Policy {
        let protected = &self.sandbox.protected;
        let mut read = self.sandbox.reads.clone();
        read.extend(sandbox::granted_reads(self.workdir, protected));
        if program.is_absolute() || program.components().count() > 1 {
            read.extend(sandbox::granted_reads(&program, protected));
        }
        let mut write = vec![scratch.to_path_buf()];
        let network = match (role, self.grants) {
            (Role::Read, _) => self.sandbox.network,
            (Role::Write, None) => Network::Deny,
            (Role::Write, Some(grants)) => {
                for path in &grants.write {
                    write.extend(sandbox::granted_reads(path, protected));
                }
                grants.network
            }
        };
        Policy {
            program,
            args: args.to_vec(),
            workdir: self.workdir.to_path_buf(),
            read,
            write,
            network,
            sha256: bound.as_ref().map(|b| b.sha256.clone()),
        }
    }
}

impl Connector for ExecSystem<'_> {
    fn read(&self, action: &Rendered) -> Result<Answer, String> {
        self.call(action, Role::Read)
    }

    fn call_write(&self, action: &Rendered) -> Result<Answer, String> {
        self.call(action, Role::Write)
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
        let out = client
            .call(method, url, body.as_ref(), None)
            .map_err(failed)?;
        Ok(Answer {
            output: out.json.unwrap_or_else(empty),
            whole: client.records_full(),
            stdout: None,
            stderr: None,
        })
    }

    /// A write names itself with an idempotency key (from `mark`: the same run, step and
    /// action give the same key on `resume`) and reports what the answer says happened.
    fn write(
        &self,
        action: &Rendered,
        _capture: Option<&Rendered>,
        mark: Option<Mark<'_>>,
        record: &mut Record<'_>,
    ) -> Result<Applied, WriteFailure> {
        let Rendered::Http { method, url, body } = action else {
            return Err(misfit().into());
        };
        let refused = |reason: String| WriteFailure::Refused {
            status: None,
            reason,
        };
        let client = self.client.map_err(|e| refused(e.to_owned()))?;
        record(Images {
            before: None,
            after: None,
            changes: None,
        })?;
        let key = mark.map(|m| http::idempotency_key(m.run, m.step, m.hash));
        let out = client
            .call(method, url, body.as_ref(), key.as_deref())
            .map_err(|e| http::outcome(&e))?;
        Ok(Applied {
            status: Some(out.status),
            headers: out.headers,
            whole: client.records_full(),
            changes: None,
            beyond: None,
            output: out.json,
        })
    }
}

fn empty() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}
