//! The launcher, in two stages, both writ run again with a hidden first argument:
//!
//! - `writ __sandbox POLICY` (the *reaper*): sets itself child subreaper, starts the confining
//!   stage in its own process group, and when that (now the program) exits, or when its stdin
//!   closes (writ's timeout for the step, or writ died), kills and reaps every descendant, then
//!   exits as the program did. It is outside the program's Landlock domain, so with scoped
//!   signals the program cannot kill it to orphan its own children.
//! - `writ __sandbox-exec POLICY` (the *confiner*): sets no_new_privs, applies the Landlock
//!   ruleset to itself, checks the bound program's SHA-256, and replaces itself with the program
//!   (`exec`, no new process).
//!
//! A problem of the launcher itself is one line on stderr starting with [`FAILED_PREFIX`] and
//! exit code [`FAILED_CODE`].

use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};
use nix::unistd::Pid;

use super::{Network, Policy, paths, reap};

/// The confining stage's hidden argument.
pub const CONFINE_ARG: &str = "__sandbox-exec";
/// How a launcher's own failure starts on stderr.
pub const FAILED_PREFIX: &str = "writ sandbox: ";
/// The exit code of a launcher's own failure.
pub const FAILED_CODE: u8 = 125;

/// Runs a stage when `args` (without the binary) name one; `None` for any other command line.
pub fn dispatch(args: &[String]) -> Option<ExitCode> {
    let (stage, policy) = match args {
        [stage, policy] => (stage.as_str(), policy),
        _ => return None,
    };
    let run = match stage {
        super::LAUNCHER_ARG => reaper,
        CONFINE_ARG => confiner,
        _ => return None,
    };
    let code = match serde_json::from_str::<Policy>(policy) {
        Ok(parsed) => run(&parsed, policy),
        Err(error) => fail(&format!("unreadable policy: {error}")),
    };
    Some(code)
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "{FAILED_PREFIX}{message}");
    ExitCode::from(FAILED_CODE)
}

/// One cleanup at a time: whichever of the program's exit and the closed stdin comes first
/// kills the tree and ends the process.
static ENDING: Mutex<()> = Mutex::new(());

fn reaper(_policy: &Policy, policy_text: &str) -> ExitCode {
    if let Err(error) = nix::sys::prctl::set_child_subreaper(true) {
        return fail(&format!("cannot become a child subreaper: {error}"));
    }
    let _ = nix::sys::prctl::set_no_new_privs();
    let binary = match std::env::current_exe() {
        Ok(binary) => binary,
        Err(error) => return fail(&format!("cannot find writ's binary: {error}")),
    };
    let mut child = match Command::new(binary)
        .args([CONFINE_ARG, policy_text])
        .process_group(0)
        .stdin(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => return fail(&format!("cannot start the program: {error}")),
    };
    let group = i32::try_from(child.id()).ok().map(Pid::from_raw);
    // writ closes our stdin at the step's deadline; a dead writ closes it too.
    std::thread::spawn(move || {
        let mut sink = [0u8; 64];
        while let Ok(n) = std::io::stdin().read(&mut sink) {
            if n == 0 {
                break;
            }
        }
        let _guard = ENDING.lock();
        reap::kill_all(group);
        std::process::exit(137);
    });
    let status = child.wait();
    let _guard = ENDING.lock();
    reap::kill_all(group);
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(FAILED_CODE)),
            (None, Some(signal)) => die_by(signal),
            (None, None) => fail("the program ended without a status"),
        },
        Err(error) => fail(&format!("cannot wait for the program: {error}")),
    }
}

/// Ends this process by `signal`, as the program ended, so writ reports "killed by a signal".
fn die_by(signal: i32) -> ExitCode {
    if let Ok(signal) = nix::sys::signal::Signal::try_from(signal) {
        let _ = nix::sys::signal::raise(signal);
    }
    ExitCode::from(u8::try_from(128 + signal).unwrap_or(FAILED_CODE))
}

fn confiner(policy: &Policy, _text: &str) -> ExitCode {
    if let Err(error) = nix::sys::prctl::set_no_new_privs() {
        return fail(&format!("cannot set no_new_privs: {error}"));
    }
    if let Err(message) = confine(policy).and_then(|()| forbid_unix_sockets()) {
        return fail(&message);
    }
    if let Some(expected) = &policy.sha256 {
        match crate::digest::file_sha256(&policy.program) {
            Ok(found) if &found == expected => {}
            Ok(found) => {
                return fail(&format!(
                    "`{}` changed since it was approved (SHA-256 {found}, approved {expected})",
                    policy.program.display()
                ));
            }
            Err(error) => {
                return fail(&format!(
                    "cannot read `{}`: {error}",
                    policy.program.display()
                ));
            }
        }
    }
    let error = Command::new(&policy.program)
        .args(&policy.args)
        .current_dir(&policy.workdir)
        .exec();
    fail(&format!(
        "cannot run `{}`: {error}",
        policy.program.display()
    ))
}

/// Applies the policy's Landlock ruleset to this process (and so to the program it becomes).
fn confine(policy: &Policy) -> Result<(), String> {
    let abi = ABI::V6;
    let error = |e: landlock::RulesetError| format!("cannot set up Landlock: {e}");
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(abi))
        .map_err(error)?
        .scope(Scope::from_all(abi))
        .map_err(error)?;
    if policy.network == Network::Deny {
        // Handled with no rule: every TCP bind and connect is refused.
        ruleset = ruleset
            .handle_access(AccessNet::from_all(abi))
            .map_err(error)?;
    }
    let mut created = ruleset.create().map_err(error)?;
    let read = AccessFs::from_read(abi);
    let all = AccessFs::from_all(abi);
    let rules = policy
        .read
        .iter()
        .map(|p| (p.as_path(), read))
        .chain(paths::PROC_READS.iter().map(|p| (Path::new(*p), read)))
        .chain(paths::DEVICES.iter().map(|d| (Path::new(*d), all)))
        .chain(policy.write.iter().map(|p| (p.as_path(), all)));
    for (path, access) in rules {
        // A path that is gone (a folder this system lacks) grants nothing.
        let Ok(fd) = PathFd::new(path) else { continue };
        let access = if path.is_dir() {
            access
        } else {
            access & AccessFs::from_file(abi)
        };
        created = created
            .add_rule(PathBeneath::new(fd, access))
            .map_err(error)?;
    }
    let status = created.restrict_self().map_err(error)?;
    match status.ruleset {
        RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced => Ok(()),
        RulesetStatus::NotEnforced => Err("this kernel does not enforce Landlock".to_owned()),
    }
}

/// `socket` on the architectures writ builds for.
#[cfg(target_arch = "x86_64")]
const SYS_SOCKET: i64 = 41;
#[cfg(any(target_arch = "aarch64", target_arch = "riscv64"))]
const SYS_SOCKET: i64 = 198;

/// Refuses `socket(AF_UNIX, ...)` (EACCES): a program cannot reach the service's socket, an
/// ssh-agent or any other local daemon by path, which Landlock (before ABI 9) does not cover.
/// `socketpair` stays allowed: it reaches nothing outside the program.
fn forbid_unix_sockets() -> Result<(), String> {
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule,
    };
    let error = |e: &dyn std::fmt::Display| format!("cannot set up the seccomp filter: {e}");
    const AF_UNIX: u64 = 1;
    let condition = SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, AF_UNIX)
        .map_err(|e| error(&e))?;
    let rule = SeccompRule::new(vec![condition]).map_err(|e| error(&e))?;
    let arch = std::env::consts::ARCH.try_into().map_err(|e| error(&e))?;
    let filter = SeccompFilter::new(
        [(SYS_SOCKET, vec![rule])].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(13),
        arch,
    )
    .map_err(|e| error(&e))?;
    let program: BpfProgram = filter.try_into().map_err(|e| error(&e))?;
    seccompiler::apply_filter(&program).map_err(|e| error(&e))
}
