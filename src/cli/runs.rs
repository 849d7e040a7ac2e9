//! What the commands that act on runs share: reading a workflow file, printing what the
//! operations layer (`crate::ops`: opening, locking and driving runs) returns or refuses,
//! progress on a terminal, and the exit code docs/runtime.md gives each status.

use std::io::IsTerminal;
use std::path::Path;

use super::report::{self, Format};
use super::{exit, files, render_options};
use crate::diagnostics::{draw, render};
use crate::ops::OpsError;
use crate::plan::{Plan, plan_source};
use crate::runtime::engine::shared::Observer;
use crate::runtime::run::{RunState, Status};

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

/// Prints what a verb of the operations layer refused or failed with, and returns its exit code.
pub fn ops_fail(error: &OpsError) -> u8 {
    eprint!("{}", error.render(render_options()));
    error.failure.exit_code()
}

/// Progress on a terminal, one line per event; quiet when piped (docs/runtime.md).
pub fn progress() -> Option<Observer> {
    std::io::stderr().is_terminal().then(|| -> Observer {
        Box::new(|event| {
            eprintln!("  {}", super::log_text::line(event));
        })
    })
}

/// The exit code of `run` and `resume` for a status: 0 done, 3 waiting (for a decision, or
/// drafted: for a revive and a new approval), 1 anything else.
pub fn exit_for(status: Status) -> u8 {
    match status {
        Status::Done => exit::OK,
        Status::Waiting | Status::Drafted => exit::WAITING,
        _ => exit::FINDINGS,
    }
}

/// Prints where the run stands and returns the status.
pub fn show(state: &RunState, format: Format) -> Status {
    let status = state.status();
    report::print(state, status, format);
    status
}
