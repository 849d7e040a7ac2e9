//! One writ process at a time per run: `run`, `resume`, `approve`, `reject` and `rollback`
//! hold the run's lock (an advisory `flock` on a file beside the store) while they act, so two
//! processes can never both execute, decide or reverse the same run. The operating system
//! drops the lock when its holder dies, even by SIGKILL, so a crash never leaves a run locked.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

/// How long a command waits for another process to finish with a run.
const WAIT: Duration = Duration::from_secs(10);

pub struct RunLock {
    _file: Flock<File>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LockError {
    #[error("run `{run}` is busy: another writ process has been working on it for over {} s", WAIT.as_secs())]
    #[diagnostic(
        code(writ::run_busy),
        help("wait for that process (`writ status {run}` shows `running`), then try again")
    )]
    Busy { run: String },
    #[error("cannot lock run `{run}` at `{path}`: {reason}")]
    #[diagnostic(code(writ::lock))]
    Io {
        run: String,
        path: String,
        reason: String,
    },
}

/// The folder of the lock files of the store at `state`.
fn folder(state: &Path) -> PathBuf {
    // The store's real path: two configs that reach one store by different paths (a symlink)
    // share its locks. (The store itself refuses a second driver too: `Store::append_after`.)
    let real = fs::canonicalize(state).unwrap_or_else(|_| state.to_path_buf());
    let state = real.as_path();
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".locks");
    state.with_file_name(name)
}

fn open(state: &Path, run: &str) -> Result<File, LockError> {
    let dir = folder(state);
    let path = dir.join(format!("{run}.lock"));
    let io = |error: std::io::Error| LockError::Io {
        run: run.to_owned(),
        path: path.display().to_string(),
        reason: error.to_string(),
    };
    fs::create_dir_all(&dir).map_err(io)?;
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)
}

/// Takes the lock of `run` (an id already checked to be a plain name), waiting a while for
/// another process to release it.
pub fn lock(state: &Path, run: &str) -> Result<RunLock, LockError> {
    let deadline = Instant::now() + WAIT;
    let mut file = open(state, run)?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => return Ok(RunLock { _file: locked }),
            Err((back, _)) if Instant::now() < deadline => {
                file = back;
                thread::sleep(Duration::from_millis(20));
            }
            Err(_) => {
                return Err(LockError::Busy {
                    run: run.to_owned(),
                });
            }
        }
    }
}

/// Whether a process holds the lock of `run` now (for `writ status`).
pub fn is_held(state: &Path, run: &str) -> bool {
    let path = folder(state).join(format!("{run}.lock"));
    let Ok(file) = OpenOptions::new().write(true).open(path) else {
        return false;
    };
    Flock::lock(file, FlockArg::LockExclusiveNonblock).is_err()
}

/// Whether `run` is a plain run id (letters, digits, `-`, `_`; at most 64): anything else
/// names no run and must never reach a path.
pub fn is_run_id(run: &str) -> bool {
    !run.is_empty()
        && run.len() <= 64
        && run
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
