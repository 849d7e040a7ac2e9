//! The exec sandbox: every program a workflow runs is untrusted (the AI side), so it runs
//! confined by Landlock, with no new privileges, in a fresh scratch folder, and nothing it starts
//! outlives its step.
//!
//! `unsafe` is forbidden, so writ cannot confine a child between `fork` and `exec`. Instead it
//! runs itself again as a small launcher (`writ __sandbox POLICY`, [`launcher`]) that confines
//! *itself* (no_new_privs, the Landlock ruleset, child subreaper), then starts the program, and
//! when the program exits (or writ closes the launcher's stdin at the step's timeout, or writ
//! dies) kills and reaps every remaining descendant: they reparent to the subreaper even after
//! `setsid` or a double fork.
//!
//! What a program may reach ([`Policy`]): read (and execute) its workflow's folder and the
//! system's paths (`/usr`, `/bin`, `/lib*`, `/etc` but for its secrets, a few devices, its own
//! `/proc/self` but no other process's),
//! write one scratch folder (`WRIT_SCRATCH`, also `HOME` and `TMPDIR`), removed after the step.
//! An execute or rollback program may besides write what its exec system's `write:` lists, and
//! reach the network only where the system says `network: allow`. A recommend or verify program
//! reaches the network unless the config says `sandbox: { network: deny }`. The state folder
//! and the config file are never granted, even inside the workflow's folder. writ itself is not
//! dumpable, so `/proc/PID/environ` of writ cannot be read by its programs.

pub mod launcher;
mod paths;
mod reap;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset, RulesetAttr, Scope,
};
use serde::{Deserialize, Serialize};

pub use paths::{granted_reads, system_reads};

/// The hidden subcommand that runs the launcher.
pub const LAUNCHER_ARG: &str = "__sandbox";
/// The variable that names a program's scratch folder.
pub const SCRATCH_ENV: &str = "WRIT_SCRATCH";

/// Whether programs may use the network (TCP bind and connect; Landlock does not cover UDP).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    #[default]
    Allow,
    Deny,
}

/// The config's `sandbox:`: off (only where the config says so), or on with the network
/// default for recommend and verify programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxConfig {
    Off,
    On { network: Network },
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig::On {
            network: Network::Allow,
        }
    }
}

/// What an exec system's config grants its execute and rollback programs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// Paths they may write (resolved against the config's folder).
    pub write: Vec<PathBuf>,
    /// `network: allow`; denied when not given.
    pub network: Network,
}

impl Grants {
    /// What an execute program gets when its system grants nothing: no writes, no network.
    pub fn none() -> Grants {
        Grants {
            write: Vec::new(),
            network: Network::Deny,
        }
    }
}

/// The sandbox in force for a run, as `run_started` records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InForce {
    /// Landlock, with what this kernel enforces of it.
    Landlock {
        /// TCP bind/connect rules (ABI 4 and later): `network: deny` holds.
        network: bool,
        /// Abstract Unix sockets and signals scoped to the sandbox (ABI 6 and later).
        scopes: bool,
    },
    /// `sandbox: off` in the config.
    Off,
}

/// Why exec programs cannot run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SandboxError {
    #[error("this kernel offers no Landlock sandbox, and the workflow runs programs (`exec`)")]
    #[diagnostic(
        code(writ::no_sandbox),
        help(
            "run on Linux 5.13 or later with Landlock enabled (the `lsm=` boot option), or, \
             only where the programs are trusted, set `sandbox: off` in the config"
        )
    )]
    Unavailable,
}

/// What this kernel offers, probed once per process by creating (not applying) rulesets.
pub fn probe() -> Option<InForce> {
    static PROBED: OnceLock<Option<InForce>> = OnceLock::new();
    PROBED
        .get_or_init(|| {
            let hard = |ruleset: Ruleset| ruleset.set_compatibility(CompatLevel::HardRequirement);
            let fs = hard(Ruleset::default())
                .handle_access(AccessFs::from_all(ABI::V1))
                .and_then(|r| r.create())
                .is_ok();
            if !fs {
                return None;
            }
            let network = hard(Ruleset::default())
                .handle_access(AccessNet::from_all(ABI::V4))
                .and_then(|r| r.create())
                .is_ok();
            let scopes = hard(Ruleset::default())
                .scope(Scope::from_all(ABI::V6))
                .and_then(|r| r.create())
                .is_ok();
            Some(InForce::Landlock { network, scopes })
        })
        .clone()
}

/// The sandbox a run starts with: refused when the config wants one and the kernel has none.
pub fn in_force(config: SandboxConfig) -> Result<InForce, SandboxError> {
    match config {
        SandboxConfig::Off => Ok(InForce::Off),
        SandboxConfig::On { .. } => probe().ok_or(SandboxError::Unavailable),
    }
}

/// Makes this process not dumpable: its `/proc/PID/environ` and memory are then readable by
/// no other process of the same user, its programs included. Best effort: a failure leaves
/// the Landlock ptrace restriction as the only guard.
pub fn harden_self() {
    let _ = nix::sys::prctl::set_dumpable(false);
}

/// The binary that runs the launcher: writ itself, unless an embedder (a benchmark, a test
/// linking the library) names the writ binary with [`set_launcher`].
pub fn launcher_binary() -> std::io::Result<PathBuf> {
    match LAUNCHER.get() {
        Some(path) => Ok(path.clone()),
        None => std::env::current_exe(),
    }
}

static LAUNCHER: OnceLock<PathBuf> = OnceLock::new();

/// Names the writ binary to run the launcher with, for programs that link writ's library.
/// The first call wins.
pub fn set_launcher(path: PathBuf) {
    let _ = LAUNCHER.set(path);
}

/// Everything the launcher needs, passed to it as one JSON argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub workdir: PathBuf,
    /// Paths the program may read and execute.
    pub read: Vec<PathBuf>,
    /// Paths the program may write (the scratch folder first).
    pub write: Vec<PathBuf>,
    pub network: Network,
    /// The SHA-256 the program's file must have, for a bound (execute or rollback) program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Paths no program may reach, even inside a folder it is granted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Protected(pub Vec<PathBuf>);

impl Protected {
    /// The state folder (the store, its locks and sockets) and the config file; any further
    /// path (a signers file, keys) is added with [`Protected::with`]. A store kept directly
    /// in the config's folder (or above it) protects its own files (`state.db`, `state.db-wal`,
    /// `state.db.lock`, ...) instead of the folder, which holds the workflows.
    pub fn new(state: &Path, config: &Path) -> Protected {
        let state = paths::canonical(state);
        let config = paths::canonical(config);
        let folder = state.parent().unwrap_or(&state).to_path_buf();
        let mut protected = vec![config.clone()];
        if config.parent().is_some_and(|c| c.starts_with(&folder)) {
            let name = state.file_name().map(|n| n.to_string_lossy().into_owned());
            let siblings = std::fs::read_dir(&folder).into_iter().flatten().flatten();
            protected.extend(
                siblings
                    .filter(|e| {
                        name.as_deref()
                            .is_some_and(|n| e.file_name().to_string_lossy().starts_with(n))
                    })
                    .map(|e| e.path()),
            );
            protected.push(state);
        } else {
            protected.push(folder);
        }
        Protected(protected)
    }

    pub fn with(mut self, path: &Path) -> Protected {
        self.0.push(paths::canonical(path));
        self
    }
}

/// A fresh scratch folder (mode 0700) under the system's temporary folder, removed on drop.
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub fn create() -> std::io::Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = paths::canonical(&std::env::temp_dir());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut last = None;
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("writ-scratch-{}-{nanos:x}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(Scratch { path }),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no scratch folder")))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // The program and all it started are dead by now (the launcher reaped them).
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
