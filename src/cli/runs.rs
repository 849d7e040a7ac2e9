//! What the commands that act on runs share: opening a run (its lock, its events, its
//! workflow file and plan, its systems), driving it on tokio, printing where it stands, and the
//! exit code docs/runtime.md gives each status.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::report::{self, Format};
use super::runtime_args::trusted;
use super::{exit, files, render_options};
use crate::diagnostics::{draw, render};
use crate::plan::{Plan, plan_source};
use crate::runtime::config::Config;
use crate::runtime::engine::{Engine, Mode, Shared};
use crate::runtime::lock::{self, RunLock};
use crate::runtime::run::{ReplayError, RunState, Status, replay};
use crate::runtime::store::Store;
use crate::runtime::store::sqlite::SqliteStore;
use crate::runtime::systems;
use crate::runtime::trust::{Create, Pinned, plans};

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

/// A run already in the store: locked, replayed, with its plan and engine, and the registry
/// the store trusts.
pub struct Opened {
    pub engine: Engine,
    pub pinned: Pinned,
    _lock: RunLock,
}

/// Locks, replays and plans run `run` from the plan it started with (kept with the plan's
/// approval in the store, never read again from a file that may have changed).
pub fn open(config: Config, run: &str) -> Result<Opened, u8> {
    if !lock::is_run_id(run) {
        eprintln!("error: no run `{run}` in the store");
        return Err(exit::FINDINGS);
    }
    let (store, pinned) = trusted(&config, Create::Never)?;
    let guard = lock::lock(&config.state, run).map_err(|e| fail(&e, exit::FINDINGS))?;
    let state = replayed(&store, run)?;
    let (plan, file) = approved_plan(&store, &state.fingerprint)?;
    let shared = shared(plan, config, store, &file)?;
    let engine = Engine::load(shared, run).map_err(|e| fail(&e, exit::USAGE))?;
    Ok(Opened {
        engine,
        pinned,
        _lock: guard,
    })
}

/// The approved plan with `fingerprint`, built again from the source its approval keeps, and
/// the workflow file it was read from (whose folder holds the workflow's programs).
pub fn approved_plan(store: &dyn Store, fingerprint: &str) -> Result<(Plan, PathBuf), u8> {
    let approval = plans::approved(store, fingerprint)
        .map_err(|e| fail(&e, exit::USAGE))?
        .ok_or_else(|| {
            eprintln!("error: the store holds no approved plan with fingerprint {fingerprint}");
            exit::FINDINGS
        })?;
    let plan = plan_source(&approval.source)
        .map(|(plan, _)| plan)
        .ok()
        .filter(|plan| plan.fingerprint == fingerprint)
        .ok_or_else(|| {
            eprintln!(
                "error: the approved source of plan {fingerprint} no longer builds that plan \
                 (a different writ version?)"
            );
            exit::USAGE
        })?;
    Ok((plan, PathBuf::from(approval.file)))
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
