//! Killing and reaping every descendant of the launcher. The launcher is a child subreaper, so
//! whatever a program started reparents to it when its parent dies (after `setsid`, after a
//! double fork): killing its children until none is left ends the whole tree.

use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// How often the sweep looks again while children are still dying.
const SWEEP_PAUSE: Duration = Duration::from_micros(200);
/// A bound on the sweep: a tree that keeps forking faster than SIGKILL lands is still ended
/// when writ gives up on the launcher and kills it (its stdin closes at the step's deadline).
const MAX_SWEEPS: usize = 50_000;

/// SIGKILLs the program's process group and every child of this process, reaps them, and
/// repeats until this process has no child left.
pub fn kill_all(group: Option<Pid>) {
    let me = nix::unistd::getpid();
    for _ in 0..MAX_SWEEPS {
        if let Some(group) = group {
            let _ = killpg(group, Signal::SIGKILL);
        }
        // The common case, a program that left nothing behind, needs no walk of `/proc`.
        if !reap_some() {
            return;
        }
        for child in children_of(me) {
            let _ = kill(child, Signal::SIGKILL);
        }
        if !reap_some() {
            return;
        }
        std::thread::sleep(SWEEP_PAUSE);
    }
}

/// Reaps every child that has ended; `false` once this process has no child at all.
fn reap_some() -> bool {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return true,
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

/// The processes whose parent is `parent`, from `/proc/*/stat`.
fn children_of(parent: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            (parent_in(&stat)? == parent.as_raw()).then(|| Pid::from_raw(pid))
        })
        .collect()
}

/// The parent's id in a `/proc/PID/stat` line: the second field after the command, which is
/// in parentheses and may itself hold `)` and spaces (so the last `)` is where it ends).
fn parent_in(stat: &str) -> Option<i32> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parent_in;

    #[test]
    fn the_parent_is_read_past_a_command_holding_parentheses() {
        assert_eq!(parent_in("42 (a) b) S 7 42 42 0"), Some(7));
        assert_eq!(parent_in("42 (sh) S 1 42"), Some(1));
        assert_eq!(parent_in("garbage"), None);
    }
}
