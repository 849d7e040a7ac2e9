//! The operations layer: the verbs both the command line and the service call (start a run,
//! decide, resume, roll back, status, the inbox). Each takes a typed request (an act comes with its signed
//! statement and signature, never a typed name) and returns a value or an [`OpsError`] that
//! knows its exit code and its HTTP status. Nothing here prints and nothing speaks HTTP: `cli`
//! renders what a verb returns, `serve` answers with it.
//!
//! INVARIANT: every act is verified here, against the store's pinned registry, whoever called:
//! the command line's own signing does not stand in for it.

pub mod decide;
pub mod inbox;
pub mod resume;
pub mod rollback;
pub mod start;
pub mod status;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::diagnostics::{RenderOptions, draw};
use crate::plan::{Plan, plan_source};
use crate::runtime::clock;
use crate::runtime::config::{Config, Identity};
use crate::runtime::engine::shared::Observer;
use crate::runtime::engine::{Engine, Mode, Shared};
use crate::runtime::lock::{self, RunLock};
use crate::runtime::run::{ReplayError, RunState, replay};
use crate::runtime::store::Store;
use crate::runtime::store::sqlite::SqliteStore;
use crate::runtime::systems;
use crate::runtime::trust::statement::{Act, Draft};
use crate::runtime::trust::{Create, Pinned, Proof, TrustError, open_store, plans, verify};

/// What kind of failure: the exit code the command line gives it, the status the service does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Refused or failed: a decision not allowed, a run that failed (exit 1, HTTP 409).
    Refused,
    /// No such run (exit 1, HTTP 404).
    NotFound,
    /// The act is signed by someone it does not hold for (exit 1, HTTP 403).
    Forbidden,
    /// The act is not signed at all (exit 2, HTTP 401).
    Unsigned,
    /// The request or the setup is unusable: bad input, config, store (exit 2, HTTP 400).
    Usage,
    /// The store or the runtime failed under the request (exit 2, HTTP 500).
    Internal,
}

impl Failure {
    pub fn exit_code(self) -> u8 {
        match self {
            Failure::Refused | Failure::NotFound | Failure::Forbidden => 1,
            Failure::Unsigned | Failure::Usage | Failure::Internal => 2,
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            Failure::Refused => 409,
            Failure::NotFound => 404,
            Failure::Forbidden => 403,
            Failure::Unsigned => 401,
            Failure::Usage => 400,
            Failure::Internal => 500,
        }
    }
}

/// What a failure says: a diagnostic (drawn as every command draws them), or lines already in
/// the command line's words (`error: ...`).
pub enum Report {
    Diagnostic(Box<dyn miette::Diagnostic + Send + Sync>),
    Lines(String),
}

/// A verb's failure: what kind, and what to tell the person.
pub struct OpsError {
    pub failure: Failure,
    pub report: Report,
}

impl std::fmt::Debug for OpsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plain = RenderOptions {
            color: false,
            width: 100,
        };
        write!(f, "{:?}: {}", self.failure, self.render(plain))
    }
}

impl OpsError {
    pub fn diagnostic(
        failure: Failure,
        diagnostic: impl miette::Diagnostic + Send + Sync + 'static,
    ) -> OpsError {
        OpsError {
            failure,
            report: Report::Diagnostic(Box::new(diagnostic)),
        }
    }

    /// One `error: TEXT` line.
    pub fn error(failure: Failure, text: impl std::fmt::Display) -> OpsError {
        OpsError {
            failure,
            report: Report::Lines(format!("error: {text}\n")),
        }
    }

    /// Lines exactly as given (each ending in a newline).
    pub fn lines(failure: Failure, text: String) -> OpsError {
        OpsError {
            failure,
            report: Report::Lines(text),
        }
    }

    /// The text the command line prints on stderr (and the service sends).
    pub fn render(&self, options: RenderOptions) -> String {
        match &self.report {
            Report::Diagnostic(diagnostic) => draw(diagnostic.as_ref(), options),
            Report::Lines(text) => text.clone(),
        }
    }

    /// A refusal by the trust checks: unsigned (401), signed by the wrong person or not
    /// holding (403), or the store and files behind them (2).
    pub fn trust(error: TrustError) -> OpsError {
        let failure = match &error {
            TrustError::Usage { .. } => Failure::Unsigned,
            TrustError::Store(_) | TrustError::Io(_) => Failure::Usage,
            TrustError::Refused(_) | TrustError::Help { .. } => Failure::Forbidden,
        };
        OpsError::diagnostic(failure, error)
    }

    /// Opening the store: refusals exit 1, setup problems 2 (as every command does).
    fn opening(error: TrustError) -> OpsError {
        let failure = if error.is_usage() {
            Failure::Usage
        } else {
            Failure::Refused
        };
        OpsError::diagnostic(failure, error)
    }
}

/// An act as submitted: the exact statement bytes and their signature, or (only where the
/// store says `identity: asserted`) a bare name.
#[derive(Clone, Debug)]
pub struct Signed {
    pub person: String,
    pub proof: Proof,
}

impl Signed {
    /// A signed statement: the person is the one it names.
    pub fn statement(statement: String, signature: String) -> Result<Signed, OpsError> {
        let person = crate::runtime::trust::statement::parse(&statement)
            .map_err(OpsError::trust)?
            .get("person")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                OpsError::trust(TrustError::Refused(
                    "the statement names no `person`".into(),
                ))
            })?;
        Ok(Signed {
            person,
            proof: Proof::signed(statement, signature),
        })
    }

    /// A bare claim, taken at its word only by an `identity: asserted` store.
    pub fn asserted(person: String) -> Signed {
        Signed {
            person,
            proof: Proof::asserted(),
        }
    }
}

/// Who acts, proven: the statement is exactly the one for `act` with `fields` (`free` fields
/// taken as given), made within the allowed skew of the runner's clock, signed by a key the
/// pinned registry holds for the person it names. Returns the person and the parsed statement
/// (`Null` when asserted).
pub fn verify_act(
    pinned: &Pinned,
    signed: &Signed,
    act: Act,
    fields: Value,
    free: &[&str],
) -> Result<(String, Value), OpsError> {
    let now = clock::now();
    let statement = match (&signed.proof.identity, &signed.proof.statement) {
        (Identity::Signed, Some(text)) => Draft::new(act, &pinned.store, &signed.person, fields)
            .matches(text, now, free)
            .map_err(OpsError::trust)?,
        (Identity::Signed, None) => {
            return Err(OpsError::trust(TrustError::Refused(
                "a signed act without its signature".into(),
            )));
        }
        (Identity::Asserted, _) => Value::Null,
    };
    let person = verify(pinned, &signed.proof, &signed.person, now).map_err(OpsError::trust)?;
    Ok((person, statement))
}

/// What a person is told who did not sign: how to.
pub fn needs_key(pinned: &Pinned) -> TrustError {
    let help = if pinned.registry.identity == Identity::Asserted {
        "give `--as PERSON` (this store is for development: `identity: asserted`)"
    } else {
        "sign with `--key KEY` (or set WRIT_KEY): a key in the signers file; `--statement` \
         prints what to sign elsewhere"
    };
    TrustError::Usage {
        message: "who acts? this store takes only signed statements".into(),
        help: help.into(),
    }
}

/// Opens `config`'s store through the trust checks.
pub fn trusted(config: &Config, create: Create) -> Result<(SqliteStore, Pinned), OpsError> {
    open_store(config, create).map_err(OpsError::opening)
}

/// Run `run` replayed from `store`.
pub fn replayed(store: &dyn Store, run: &str) -> Result<RunState, OpsError> {
    if !lock::is_run_id(run) {
        return Err(no_run(run));
    }
    let events = store
        .run_events(run)
        .map_err(|e| OpsError::error(Failure::Usage, e))?;
    replay(run, &events).map_err(|error| {
        let failure = match error {
            ReplayError::NoRun(_) => Failure::NotFound,
            ReplayError::Corrupt { .. } => Failure::Usage,
        };
        OpsError::error(failure, error)
    })
}

fn no_run(run: &str) -> OpsError {
    OpsError::error(Failure::NotFound, format!("no run `{run}` in the store"))
}

/// Resolves the plan's systems and builds what the engine shares.
pub fn shared(
    plan: Plan,
    config: Config,
    store: SqliteStore,
    file: &Path,
    observer: Option<Observer>,
) -> Result<Arc<Shared>, OpsError> {
    let systems = systems::resolve(&plan, &config, file)
        .map_err(|e| OpsError::diagnostic(Failure::Usage, e))?;
    let shared = Shared::new(Box::new(store), plan, config, systems);
    Ok(Arc::new(match observer {
        Some(observer) => shared.observe(observer),
        None => shared,
    }))
}

/// A run already in the store: locked, replayed, with its plan and engine, and the registry
/// the store trusts.
pub struct Opened {
    pub engine: Engine,
    pub pinned: Pinned,
    _lock: RunLock,
}

/// Locks, replays and plans run `run` from the plan it started with (kept with the plan's
/// approval in the store, never read again from a file that may have changed).
pub fn open(config: Config, run: &str, observer: Option<Observer>) -> Result<Opened, OpsError> {
    if !lock::is_run_id(run) {
        return Err(no_run(run));
    }
    let (store, pinned) = trusted(&config, Create::Never)?;
    let guard =
        lock::lock(&config.state, run).map_err(|e| OpsError::diagnostic(Failure::Refused, e))?;
    let state = replayed(&store, run)?;
    let (plan, file) = approved_plan(&store, &state.fingerprint)?;
    let shared = shared(plan, config, store, &file, observer)?;
    let engine = Engine::load(shared, run).map_err(|e| OpsError::diagnostic(Failure::Usage, e))?;
    Ok(Opened {
        engine,
        pinned,
        _lock: guard,
    })
}

/// The approved plan with `fingerprint`, built again from the source its approval keeps, and
/// the workflow file it was read from (whose folder holds the workflow's programs).
pub fn approved_plan(store: &dyn Store, fingerprint: &str) -> Result<(Plan, PathBuf), OpsError> {
    let approval = plans::approved(store, fingerprint)
        .map_err(|e| OpsError::diagnostic(Failure::Usage, e))?
        .ok_or_else(|| {
            OpsError::error(
                Failure::Refused,
                format!("the store holds no approved plan with fingerprint {fingerprint}"),
            )
        })?;
    let plan = plan_source(&approval.source)
        .map(|(plan, _)| plan)
        .ok()
        .filter(|plan| plan.fingerprint == fingerprint)
        .ok_or_else(|| {
            OpsError::error(
                Failure::Usage,
                format!(
                    "the approved source of plan {fingerprint} no longer builds that plan \
                     (a different writ version?)"
                ),
            )
        })?;
    Ok((plan, PathBuf::from(approval.file)))
}

/// Drives a run on a tokio runtime of its own, sized by the config's concurrency (a verb is
/// synchronous: the service calls it on a blocking thread).
pub fn drive(engine: &mut Engine, mode: Mode, concurrency: usize) -> Result<(), OpsError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(concurrency.max(1) + 4)
        .build()
        .map_err(|error| {
            OpsError::error(
                Failure::Internal,
                format!("cannot start the runtime: {error}"),
            )
        })?;
    runtime
        .block_on(engine.drive(mode))
        .map(|_| ())
        .map_err(|e| OpsError::diagnostic(Failure::Usage, e))
}
