//! What the commands that act on runs share: opening a run (its lock, its events, its
//! workflow file and plan, its systems), driving it on tokio, printing where it stands, and the
//! exit code docs/runtime.md gives each status.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use super::report::{self, Format};
use super::{exit, files, render_options};
use crate::diagnostics::{draw, render};
use crate::plan::{Plan, plan_source};
use crate::runtime::config::Config;
use crate::runtime::decide::Refusal;
use crate::runtime::engine::{Engine, Mode, Shared};
use crate::runtime::lock::{self, RunLock};
use crate::runtime::run::{ReplayError, RunState, Status, replay};
use crate::runtime::store::Store;
use crate::runtime::store::sqlite::SqliteStore;
use crate::runtime::systems;

/// Prints any miette diagnostic the way every command does.
pub fn fail(error: &dyn miette::Diagnostic, code: u8) -> u8 {
    eprint!("{}", draw(error, render_options()));
    code
}

/// Reads and plans a workflow file; a refused or unreadable file is printed and `Err(code)`.
pub fn load_plan(file: &Path) -> Result<Plan, u8> {
    let source = files::read(file).map_err(|error| {
        eprintln!("error: {error}");
        exit::USAGE
    })?;
    plan_source(&source)
        .map(|(plan, _)| plan)
        .map_err(|diagnostics| {
            let name = files::shown(file);
            eprint!("{}", render(&name, &source, &diagnostics, render_options()));
            eprintln!("refused: `{name}` has errors; nothing was run");
            exit::FINDINGS
        })
}

/// Resolves the plan's systems and builds what the engine shares.
pub fn shared(
    plan: Plan,
    config: Config,
    store: SqliteStore,
    file: &Path,
) -> Result<Arc<Shared>, u8> {
    let systems = systems::resolve(&plan, &config, file).map_err(|e| fail(&e, exit::USAGE))?;
    let shared = Shared::new(Box::new(store), plan, config, systems);
    // Progress on a terminal, one line per event; quiet when piped (docs/runtime.md).
    let shared = if std::io::stderr().is_terminal() {
        shared.observe(Box::new(|event| {
            eprintln!("  {}", super::log_text::line(event));
        }))
    } else {
        shared
    };
    Ok(Arc::new(shared))
}

/// The roles of `person`; someone not in the config is refused (exit 1) with the message and
/// help `decide` gives, whichever command they tried.
pub fn roles_of(config: &Config, person: &str) -> Result<Vec<String>, u8> {
    config
        .roles_of(person)
        .map(<[String]>::to_vec)
        .ok_or_else(|| {
            let refusal = Refusal::UnknownPerson {
                person: person.to_owned(),
            };
            fail(&refusal, exit::FINDINGS)
        })
}

/// Run `run` replayed from `store`: exit 1 when there is no such run (or the id could name
/// none), 2 when its events cannot be read.
pub fn replayed(store: &dyn Store, run: &str) -> Result<RunState, u8> {
    if !lock::is_run_id(run) {
        eprintln!("error: no run `{run}` in the store");
        return Err(exit::FINDINGS);
    }
    let events = store.run_events(run).map_err(|error| {
        eprintln!("error: {error}");
        exit::USAGE
    })?;
    replay(run, &events).map_err(|error| {
        eprintln!("error: {error}");
        match error {
            ReplayError::NoRun(_) => exit::FINDINGS,
            ReplayError::Corrupt { .. } => exit::USAGE,
        }
    })
}

/// A run already in the store: locked, replayed, with its plan and engine.
pub struct Opened {
    pub engine: Engine,
    _lock: RunLock,
}

/// Locks, replays and plans run `run`; refuses (exit 1) when its workflow file's plan has
/// changed since the run started.
pub fn open(config: Config, run: &str) -> Result<Opened, u8> {
    if !lock::is_run_id(run) {
        eprintln!("error: no run `{run}` in the store");
        return Err(exit::FINDINGS);
    }
    let store = SqliteStore::open(&config.state).map_err(|error| {
        eprintln!("error: {error}");
        exit::USAGE
    })?;
    let guard = lock::lock(&config.state, run).map_err(|e| fail(&e, exit::FINDINGS))?;
    let state = replayed(&store, run)?;
    let file = Path::new(&state.started.file).to_path_buf();
    let plan = load_plan(&file).inspect_err(|_| {
        eprintln!(
            "  help: run `{run}` was started from `{}`; writ reads it again to continue",
            file.display()
        );
    })?;
    if plan.fingerprint != state.fingerprint {
        eprintln!(
            "error: the workflow `{}` has changed since run `{run}` started",
            file.display()
        );
        eprintln!(
            "  help: the run's plan has fingerprint {}, the file's is now {}; restore the \
             file to continue, or `writ rollback {run}` and start a new run",
            state.fingerprint, plan.fingerprint
        );
        return Err(exit::FINDINGS);
    }
    let shared = shared(plan, config, store, &file)?;
    let engine = Engine::load(shared, run).map_err(|e| fail(&e, exit::USAGE))?;
    Ok(Opened {
        engine,
        _lock: guard,
    })
}

/// Drives a run on a tokio runtime sized by the config's concurrency.
pub fn drive(engine: &mut Engine, mode: Mode, concurrency: usize) -> Result<(), u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(concurrency.max(1) + 4)
        .build()
        .map_err(|error| {
            eprintln!("error: cannot start the runtime: {error}");
            exit::USAGE
        })?;
    runtime
        .block_on(engine.drive(mode))
        .map(|_| ())
        .map_err(|e| fail(&e, exit::USAGE))
}

/// The exit code of `run` and `resume` for a status: 0 done, 3 waiting, 1 anything else.
pub fn exit_for(status: Status) -> u8 {
    match status {
        Status::Done => exit::OK,
        Status::Waiting => exit::WAITING,
        _ => exit::FINDINGS,
    }
}

/// Prints where the run stands and returns the status.
pub fn show(state: &RunState, format: Format) -> Status {
    let status = state.status();
    report::print(state, status, format);
    status
}
