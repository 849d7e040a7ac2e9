//! The `exec` connector: runs a program without a shell (arguments reach it verbatim), stdin
//! closed, with a timeout; its standard output, when not empty, must be one JSON object.
//!
//! Both pipes are drained on their own threads so a child that writes a lot cannot block on a
//! full pipe while we wait for it. A grandchild that keeps a pipe open after the child exits is
//! not waited for beyond the timeout.
//!
//! [`run_sandboxed`] runs the program through the sandbox's launcher (`runtime::sandbox`):
//! writ holds the launcher's stdin and closes it at the deadline, which makes the launcher kill
//! the program and everything it started.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use super::ConnectorError;
use crate::runtime::sandbox::{self, Policy, launcher};

/// The most each of stdout and stderr may hold.
pub const OUTPUT_LIMIT: usize = 8 * 1024 * 1024;
/// How many trailing lines of stderr an error shows.
const STDERR_LINES: usize = 10;
const POLL: Duration = Duration::from_millis(10);

/// What a program printed. `json` is `None` when stdout was empty (only whitespace).
#[derive(Clone, Debug, PartialEq)]
pub struct ExecOutput {
    pub json: Option<serde_json::Value>,
    pub stdout: String,
    pub stderr: String,
}

/// A drained pipe: its bytes up to the limit, whether it went beyond, or the read error.
type Drained = std::io::Result<(Vec<u8>, bool)>;

/// The variables an exec program inherits from writ; nothing else (no secrets) passes.
const INHERITED_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

/// Runs `program` as it is, unconfined (`sandbox: off`).
pub fn run(
    program: &Path,
    args: &[String],
    workdir: Option<&Path>,
    timeout: Duration,
) -> Result<ExecOutput, ConnectorError> {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null());
    if let Some(dir) = workdir {
        command.current_dir(dir);
    }
    launch(command, &program.display().to_string(), timeout, None)
}

/// Runs the program `policy` names confined by it, through the launcher, with `scratch` as
/// its `WRIT_SCRATCH`, `HOME` and `TMPDIR`.
pub fn run_sandboxed(
    policy: &Policy,
    scratch: &Path,
    timeout: Duration,
) -> Result<ExecOutput, ConnectorError> {
    let name = policy.program.display().to_string();
    let io = |source| ConnectorError::Io {
        program: name.clone(),
        source,
    };
    let text = serde_json::to_string(policy).map_err(|e| io(std::io::Error::other(e)))?;
    let mut command = Command::new(sandbox::launcher_binary().map_err(io)?);
    command
        .args([sandbox::LAUNCHER_ARG, text.as_str()])
        .current_dir(&policy.workdir)
        .stdin(Stdio::piped());
    let scratch_env = [sandbox::SCRATCH_ENV, "HOME", "TMPDIR"];
    launch(
        command,
        &name,
        timeout,
        Some(&scratch_env.map(|k| (k, scratch))),
    )
}

/// Spawns `command` with a clean environment (plus `extra_env`), in its own process group,
/// and collects what it printed. With `extra_env` (a sandboxed launch) its stdin is the
/// launcher's control pipe, closed at the deadline.
fn launch(
    mut command: Command,
    name: &str,
    timeout: Duration,
    extra_env: Option<&[(&str, &Path); 3]>,
) -> Result<ExecOutput, ConnectorError> {
    let io = |source| ConnectorError::Io {
        program: name.to_owned(),
        source,
    };
    // A timeout too large to add is no deadline a run can reach: treat it as a day.
    let deadline = Instant::now()
        .checked_add(timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
    // The program gets a clean environment: writ's own holds the tokens of http systems
    // (`token_env`), which an exec program must never see, print, or echo into an error.
    command.env_clear();
    for name in INHERITED_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    for (key, value) in extra_env.into_iter().flatten() {
        command.env(key, value);
    }
    // Its own process group, so the program and everything it starts can be ended together.
    command.process_group(0);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(io)?;
    let control = child.stdin.take();
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = match wait(&mut child, deadline).map_err(io)? {
        Some(status) => status,
        None => return Err(timed_out(&mut child, control, name, timeout)),
    };
    let name = name.to_owned();
    // The program is done: whatever it left running in its group ends with it, so nothing it
    // started acts after its step is recorded, and no leftover holds its output pipes open.
    kill_group(&child);
    let stdout = collect(&stdout, deadline, &name, timeout, "stdout")?;
    let stderr = collect(&stderr, deadline, &name, timeout, "stderr")?;
    let stdout = String::from_utf8(stdout).map_err(|_| ConnectorError::NotJson {
        program: name.clone(),
        reason: "it is not UTF-8".to_owned(),
    });
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    if extra_env.is_some() && status.code() == Some(i32::from(launcher::FAILED_CODE)) {
        let last = stderr.lines().last().unwrap_or_default();
        if let Some(message) = last.strip_prefix(launcher::FAILED_PREFIX) {
            return Err(ConnectorError::Sandbox {
                program: name,
                message: message.to_owned(),
            });
        }
    }
    if !status.success() {
        return Err(ConnectorError::Failed {
            program: name,
            code: status.code(),
            stderr_tail: tail(&stderr),
        });
    }
    let stdout = stdout?;
    let json = parse(&stdout, &name)?;
    Ok(ExecOutput {
        json,
        stdout,
        stderr,
    })
}

/// Reads a pipe to its end on its own thread.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> Receiver<Drained> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let result = match pipe {
            Some(pipe) => read_capped(pipe),
            None => Ok((Vec::new(), false)),
        };
        // The receiver is gone only after a timeout was reported; nothing waits for this.
        let _ = sender.send(result);
    });
    receiver
}

/// Keeps at most `OUTPUT_LIMIT` bytes but reads on to the end, so the child never blocks.
fn read_capped(mut pipe: impl Read) -> Drained {
    let mut kept = Vec::new();
    let mut over = false;
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let n = match pipe.read(&mut buffer) {
            Ok(0) => return Ok((kept, over)),
            Ok(n) => n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let room = OUTPUT_LIMIT.saturating_sub(kept.len());
        let chunk = buffer.get(..n).unwrap_or_default();
        if chunk.len() > room {
            over = true;
        }
        kept.extend_from_slice(chunk.get(..room.min(n)).unwrap_or_default());
    }
}

/// Waits for the child until the deadline; `None` when it is still running then. The pause
/// between looks is at most 1 ms for the first 100 ms, then [`POLL`], so a quick program
/// is not held up by it and a slow one costs few wake-ups.
fn wait(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    let started = Instant::now();
    let mut pause = Duration::from_micros(100);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        let most = if now - started < Duration::from_millis(100) {
            Duration::from_millis(1)
        } else {
            POLL
        };
        pause = (pause * 2).min(most);
    }
}

/// Sends SIGKILL to the child's process group (its id: see `process_group(0)`). A group that no
/// longer exists is fine.
fn kill_group(child: &Child) {
    if let Ok(id) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(id),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// How long a launcher gets to end its program's tree after its control pipe closed.
const LAUNCHER_GRACE: Duration = Duration::from_secs(2);

fn timed_out(
    child: &mut Child,
    control: Option<ChildStdin>,
    program: &str,
    after: Duration,
) -> ConnectorError {
    // A launcher ends every descendant of the program when its stdin closes; it is killed
    // itself only if it does not exit soon.
    if let Some(control) = control {
        drop(control);
        let _ = wait(child, Instant::now() + LAUNCHER_GRACE);
    }
    // Best effort: the child may have exited between the last poll and now; either way it is
    // reaped by the wait, so no zombie is left behind.
    kill_group(child);
    let _ = child.kill();
    let _ = child.wait();
    ConnectorError::Timeout {
        program: program.to_owned(),
        after,
    }
}

fn collect(
    pipe: &Receiver<Drained>,
    deadline: Instant,
    program: &str,
    timeout: Duration,
    stream: &'static str,
) -> Result<Vec<u8>, ConnectorError> {
    let timed_out = || ConnectorError::Timeout {
        program: program.to_owned(),
        after: timeout,
    };
    let result = match pipe.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => return Err(timed_out()),
        Err(RecvTimeoutError::Disconnected) => Ok((Vec::new(), false)),
    };
    match result {
        Ok((_, true)) => Err(ConnectorError::TooMuchOutput {
            program: program.to_owned(),
            stream,
            limit: OUTPUT_LIMIT,
        }),
        Ok((bytes, false)) => Ok(bytes),
        Err(source) => Err(ConnectorError::Io {
            program: program.to_owned(),
            source,
        }),
    }
}

fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    let start = lines.len().saturating_sub(STDERR_LINES);
    lines.get(start..).unwrap_or_default().join("\n")
}

fn parse(stdout: &str, program: &str) -> Result<Option<serde_json::Value>, ConnectorError> {
    let text = stdout.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let not_json = |reason: String| ConnectorError::NotJson {
        program: program.to_owned(),
        reason,
    };
    // `from_str` refuses anything after the first value, so two objects are refused too.
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|error| not_json(error.to_string()))?;
    if json.is_object() {
        Ok(Some(json))
    } else {
        Err(not_json(format!("it is {}", kind(&json))))
    }
}

fn kind(json: &serde_json::Value) -> &'static str {
    match json {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
