//! Where a workflow's systems are: its `system NAME: CONNECTOR` declarations joined with the
//! runtime config's `systems:`, checked once before a run does anything, so a missing or
//! mismatched system stops a run before its first step, not half-way.
//!
//! The resolved target (the SQLite file, the base URL, the programs' folder) is part of what an
//! approval binds ([`bound_hash`]): editing `writ.yaml` after an approval cannot redirect an
//! approved write to another database or server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::config::{Config, HttpConfig, SystemConfig};
use super::connector::http::{Client, ClientConfig};
use super::render::Rendered;
use super::sandbox::{self, Grants, InForce, Network, Protected, SandboxConfig};
use crate::digest::json_sha256;
use crate::plan::{Name, Plan, PlanAction};

/// One system, resolved.
#[derive(Clone, Debug)]
pub enum Target {
    Sqlite {
        path: PathBuf,
    },
    Http {
        base_url: String,
        /// The system's client (its secret read, its CA file loaded), or why it could not be
        /// made: only a call needs it, so recording a decision never requires the secret.
        client: Result<Box<Client>, String>,
    },
    Exec {
        workdir: PathBuf,
        /// What its execute and rollback programs may reach besides the defaults.
        grants: Grants,
    },
}

impl Target {
    /// What an approval binds: the file (its canonical path and, read now, its identity:
    /// device and inode), the base URL or the folder (never a token). A database replaced or
    /// re-pointed since the approval describes differently, so the write is refused.
    pub fn describe(&self) -> String {
        match self {
            Target::Sqlite { path } => match file_identity(path) {
                Some((device, inode)) => {
                    format!("sqlite:{}#dev={device},ino={inode}", path.display())
                }
                None => format!("sqlite:{}", path.display()),
            },
            Target::Http { base_url, .. } => format!("http:{base_url}"),
            Target::Exec { workdir, .. } => format!("exec:{}", workdir.display()),
        }
    }
}

/// The device and inode of the file at `path` (symlinks followed), if it exists.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.dev(), metadata.ino()))
}

/// Every system of one workflow, and the folder its `exec` paths start from.
#[derive(Clone, Debug)]
pub struct Systems {
    pub targets: BTreeMap<Name, Target>,
    /// The workflow file's folder.
    pub folder: PathBuf,
    /// How its programs are confined.
    pub sandbox: Sandboxing,
}

/// The sandbox of one run's programs: what is in force, and what every program may read.
#[derive(Clone, Debug)]
pub struct Sandboxing {
    pub in_force: InForce,
    /// The network of recommend and verify programs.
    pub network: Network,
    pub protected: Protected,
    /// The system paths and the workflow's folder, minus what is protected.
    pub reads: Vec<PathBuf>,
}

impl Sandboxing {
    /// The sandbox `config` asks for, refused when the kernel has none and `plan` runs
    /// programs; what every program may read is listed once here.
    fn resolve(plan: &Plan, config: &Config, folder: &Path) -> Result<Sandboxing, SystemError> {
        let in_force = match sandbox::in_force(config.sandbox) {
            Ok(in_force) => in_force,
            Err(error) if runs_programs(plan) => return Err(SystemError::Sandbox(error)),
            // Nothing to confine: the run records that no sandbox was needed or possible.
            Err(_) => InForce::Off,
        };
        let network = match config.sandbox {
            SandboxConfig::On { network } => network,
            SandboxConfig::Off => Network::Allow,
        };
        // Besides the store and the config: the signers file, the starter's development keys
        // (`keys/` beside the config) and the key this process was given (`WRIT_KEY`).
        let mut protected = Protected::new(&config.state, &config.path);
        if let Some(signers) = &config.signers {
            protected = protected.with(signers);
        }
        if let Some(folder) = config.path.parent() {
            protected = protected.with(&folder.join("keys"));
        }
        if let Some(key) = std::env::var_os("WRIT_KEY") {
            protected = protected.with(std::path::Path::new(&key));
        }
        let mut reads = sandbox::system_reads(&protected);
        reads.extend(sandbox::granted_reads(folder, &protected));
        Ok(Sandboxing {
            in_force,
            network,
            protected,
            reads,
        })
    }
}

/// Whether any step of `plan` runs a program (its action or its `verify`).
fn runs_programs(plan: &Plan) -> bool {
    plan.body.steps.iter().any(|step| {
        [&step.run, &step.verify, &step.capture]
            .into_iter()
            .flatten()
            .any(|action| matches!(action, PlanAction::Exec { .. }))
    })
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SystemError {
    #[error("system `{system}` of workflow `{workflow}` is not in the runtime config")]
    #[diagnostic(
        code(writ::unknown_system),
        help("add it under `systems:` in {config}, e.g. `{system}: {{ {connector}: ... }}`")
    )]
    Missing {
        system: String,
        workflow: String,
        connector: &'static str,
        config: String,
    },
    #[error("system `{system}` is `{declared}` in the workflow but `{configured}` in the config")]
    #[diagnostic(
        code(writ::system_mismatch),
        help("the connector in {config} must be the one the workflow declares")
    )]
    Mismatch {
        system: String,
        declared: &'static str,
        configured: &'static str,
        config: String,
    },
    #[error("system `{system}`: {reason}")]
    #[diagnostic(code(writ::system_unusable))]
    Unusable { system: String, reason: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sandbox(sandbox::SandboxError),
}

/// Resolves every system `plan` declares against `config`, with tokens read from the
/// environment now (a missing token fails the run before it starts).
pub fn resolve(plan: &Plan, config: &Config, workflow_file: &Path) -> Result<Systems, SystemError> {
    let folder = absolute(workflow_file.parent().unwrap_or(Path::new("")));
    let mut targets = BTreeMap::new();
    for system in &plan.body.systems {
        let shown = config.path.display().to_string();
        let Some(configured) = config.systems.get(system.name.as_str()) else {
            return Err(SystemError::Missing {
                system: system.name.to_string(),
                workflow: plan.body.workflow.name.to_string(),
                connector: system.connector,
                config: shown,
            });
        };
        let kind = connector_of(configured);
        if kind != system.connector {
            return Err(SystemError::Mismatch {
                system: system.name.to_string(),
                declared: system.connector,
                configured: kind,
                config: shown,
            });
        }
        let target = match configured {
            // The store's own file as a system would deadlock: a write holds the system's
            // lock while its before-image is appended to the store.
            SystemConfig::Sqlite { path } if canonical(path) == canonical(&config.state) => {
                return Err(SystemError::Unusable {
                    system: system.name.to_string(),
                    reason: format!(
                        "its database `{}` is writ's own store (`state:`); give it its own file",
                        path.display()
                    ),
                });
            }
            // The path the link points to now: a symlink re-pointed later is another target.
            SystemConfig::Sqlite { path } => Target::Sqlite {
                path: canonical(path),
            },
            SystemConfig::Http(http) => Target::Http {
                base_url: http.base_url.clone(),
                client: http_client(config, &system.name, http),
            },
            SystemConfig::Exec { workdir, grants } => Target::Exec {
                workdir: absolute(workdir.as_ref().unwrap_or(&folder)),
                grants: grants.clone(),
            },
        };
        targets.insert(system.name.clone(), target);
    }
    let sandbox = Sandboxing::resolve(plan, config, &folder)?;
    Ok(Systems {
        targets,
        folder,
        sandbox,
    })
}

/// A path with its symlinks resolved where it exists (as [`absolute`] otherwise).
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| absolute(path))
}

/// The client of an http system: its secret read now, its CA file loaded.
fn http_client(config: &Config, system: &str, http: &HttpConfig) -> Result<Box<Client>, String> {
    let credential = config.credential(system).map_err(|e| e.to_string())?;
    Client::new(ClientConfig {
        base_url: &http.base_url,
        credential,
        ca_file: http.ca_file.as_deref(),
        headers: &http.headers,
        idempotency_header: http.idempotency_header.as_deref(),
        record_full: http.record_full,
        timeout: http.timeout.unwrap_or(config.limits.step_timeout),
    })
    .map(Box::new)
    .map_err(|e| e.to_string())
}

/// An absolute path, so the target an approval binds names one place whatever the folder
/// writ runs in.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn connector_of(system: &SystemConfig) -> &'static str {
    match system {
        SystemConfig::Sqlite { .. } => "sqlite",
        SystemConfig::Http(_) => "http",
        SystemConfig::Exec { .. } => "exec",
    }
}

impl Systems {
    /// Refuses when a system's token cannot be read: checked before a run starts or resumes,
    /// so a missing secret stops it before its first step.
    pub fn check_tokens(&self) -> Result<(), SystemError> {
        for (name, target) in &self.targets {
            if let Target::Http {
                client: Err(reason),
                ..
            } = target
            {
                return Err(SystemError::Unusable {
                    system: name.to_string(),
                    reason: reason.clone(),
                });
            }
        }
        Ok(())
    }

    /// The system an action of a recommend step runs on: of the systems it `reads`, the one
    /// whose connector fits the action (the checker guarantees one for `sql` and `http`). An
    /// `exec` action needs none.
    pub fn for_reading(&self, reads: &[Name], action: &PlanAction) -> Option<(Name, &Target)> {
        reads.iter().find_map(|name| {
            let target = self.targets.get(name)?;
            let fits = matches!(
                (action, target),
                (PlanAction::Sqlite { .. }, Target::Sqlite { .. })
                    | (PlanAction::Http { .. }, Target::Http { .. })
                    | (PlanAction::Exec { .. }, Target::Exec { .. })
            );
            fits.then(|| (name.clone(), target))
        })
    }

    /// Where an `exec` action runs: its system's folder, or the workflow's.
    pub fn workdir<'a>(&'a self, target: Option<&'a Target>) -> &'a Path {
        match target {
            Some(Target::Exec { workdir, .. }) => workdir,
            _ => &self.folder,
        }
    }
}

/// The hash an approval binds: the system's name, its resolved target and the rendered action
/// (`writ-bound-v1`).
pub fn bound_hash(system: &str, target: &str, action: &Rendered) -> String {
    #[derive(Serialize)]
    struct Bound<'a> {
        system: &'a str,
        target: &'a str,
        action: &'a Rendered,
    }
    json_sha256(
        "writ-bound-v1\n",
        &Bound {
            system,
            target,
            action,
        },
    )
}

/// What earned autonomy counts decisions by: the execute's action text with its values
/// unbound, the system it writes, its approver, and the confirms (with their `by` roles) that
/// gate it. A changed action, a different system or different deciders start from zero.
pub fn text_hash(
    action: &PlanAction,
    system: &str,
    approver: &str,
    confirms: &[(&str, &str)],
) -> String {
    #[derive(Serialize)]
    struct Slice<'a> {
        action: &'a PlanAction,
        system: &'a str,
        approver: &'a str,
        confirms: &'a [(&'a str, &'a str)],
    }
    json_sha256(
        "writ-action-text-v2\n",
        &Slice {
            action,
            system,
            approver,
            confirms,
        },
    )
}
