//! The runtime config, `writ.yaml`: the state location, people and their roles, how to reach
//! each system, and the runtime's limits (docs/config.md).
//!
//! ```yaml
//! state: .writ/state.db            # the store; required
//! people:                          # required: person -> roles (a non-empty list)
//!   ana: [analyst]
//!   sam: [support_lead]
//! systems:                         # optional: system -> exactly one connector
//!   helpdesk: { sqlite: data/helpdesk.db }
//!   crm: { http: "https://crm.example.com/api", auth: { bearer_env: CRM_TOKEN }, timeout: 10s }
//!   notifier: { exec: scripts }    # the programs' working folder; `exec: ~` for none
//!   mailer: { exec: ~, write: [out/], network: allow }  # what its writes may reach
//! limits: { step_timeout: 30s, concurrency: 16 }   # optional; these are the defaults
//! sandbox: { network: deny }       # optional; or `sandbox: off` (see `runtime::sandbox`)
//! ```
//!
//! - Person, role and system names are `[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters.
//! - Relative paths (`state`, `sqlite`, `exec`) are relative to the config file's folder.
//! - `http` takes an `https://` base URL (`http://` only to a loopback host unless
//!   `insecure: true`), with `auth`, `ca_file`, `headers`, `timeout` and `insecure` optional
//!   (`token_env: VAR` is `auth: { bearer_env: VAR }`); only `http` takes them. `auth` is one
//!   of `{ bearer_env | bearer_file }`, `{ scheme: WORD, token_env | token_file }`,
//!   `{ header: NAME, key_env | key_file }`, `{ basic_user: USER, password_env |
//!   password_file }`: the *names* of variables or files that hold secrets, never a secret.
//! - Durations are a whole number and a unit: `30s`, `15m`, `4h`, `28d` (1s to 365d).
//!   `concurrency` is 1 to 1024.
//!
//! Every unknown key, repeated key or name, wrong type and bad value is an error with its line
//! and column ([`ConfigError::Invalid`]). Secrets are never in the file: a `token` (or
//! `password`, `secret`, `api_key`) key, or credentials in a URL, are refused with a pointer
//! to `token_env`. Reading stops at the first problem: serde stops there.
//!
//! Hostile files: at most 1 MiB, UTF-8; sizes are capped (10,000 people, 1,000 systems, 64
//! roles a person) so YAML aliases cannot expand a small file into a large config, and
//! serde_yaml refuses alias replays beyond a hundred times the file's own events.

mod credential;
mod de;
mod error;
mod notify;
mod sandbox;
mod system;
mod values;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::sandbox::{Grants, SandboxConfig};
pub use de::{MAX_PEOPLE, MAX_ROLES, MAX_SYSTEMS};
pub use error::{ConfigError, Invalid, Position};
pub use notify::{Notice, Webhook};
pub use values::MAX_NAME_LEN;

/// The largest config read: 1 MiB.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A loaded, checked config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The store's file, resolved against the config's folder.
    pub state: PathBuf,
    /// The OpenSSH `allowed_signers` file naming people's keys (required unless asserted).
    pub signers: Option<PathBuf>,
    pub identity: Identity,
    /// Person -> roles; each list non-empty, without repeats.
    pub people: BTreeMap<String, Vec<String>>,
    pub systems: BTreeMap<String, SystemConfig>,
    pub limits: Limits,
    /// `sandbox:`: on (the default) with the network default of recommend and verify
    /// programs, or `off`.
    pub sandbox: SandboxConfig,
    /// `notify:`: the webhooks `writ serve` calls.
    pub notify: Vec<Webhook>,
    /// The config file itself.
    pub path: PathBuf,
}

/// How the runtime reaches one system.
/// How people are identified (the `identity` key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// Every human act is a statement signed with the person's SSH key.
    Signed,
    /// Development only: `--as NAME` is taken at its word; every event records it.
    Asserted,
}

impl Identity {
    pub fn as_str(self) -> &'static str {
        match self {
            Identity::Signed => "signed",
            Identity::Asserted => "asserted",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SystemConfig {
    /// A SQLite file, resolved against the config's folder.
    Sqlite { path: PathBuf },
    /// An HTTP API.
    Http(HttpConfig),
    /// Programs run in `workdir` (resolved against the config's folder), if given; its
    /// execute and rollback programs get `grants` in the sandbox.
    Exec {
        workdir: Option<PathBuf>,
        grants: Grants,
    },
}

/// How to reach an HTTP API: its base URL, how writ proves who it is, what it trusts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpConfig {
    /// `https://`, or `http://` to a loopback host (any host with `insecure`).
    pub base_url: String,
    pub auth: Option<Auth>,
    pub timeout: Option<Duration>,
    /// PEM certificates trusted for this system besides the machine's own roots.
    pub ca_file: Option<PathBuf>,
    /// Allows `http://` to a host other than loopback (the token travels in clear).
    pub insecure: bool,
    /// Static headers sent with every request (`Accept`, `Prefer`, an API version).
    pub headers: Vec<(String, String)>,
    /// The header that carries each write's idempotency key (default `Idempotency-Key`).
    pub idempotency_header: Option<String>,
    /// `record: full`: the log keeps the system's whole answers, not only the yielded fields,
    /// the status and the identifying headers (answers may hold personal data).
    pub record_full: bool,
}

/// Where a secret is read from: never the config file itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Secret {
    /// The environment variable of this name.
    Env(String),
    /// This file (its text without the trailing line break), resolved against the config's
    /// folder.
    File(PathBuf),
}

/// How writ authenticates to an HTTP API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer SECRET` (`bearer_env` / `bearer_file`; `token_env` too).
    Bearer(Secret),
    /// `Authorization: SCHEME SECRET`, e.g. Django REST framework's `Token`.
    Scheme { scheme: String, secret: Secret },
    /// `HEADER: SECRET`, e.g. `X-API-Key`.
    Header { header: String, secret: Secret },
    /// `Authorization: Basic base64(USER:PASSWORD)`.
    Basic { user: String, password: Secret },
}

/// The header an [`Auth`] sends, its secret read: `secret` is what errors must never show.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub header: String,
    pub value: String,
    pub secret: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({}: [secret])", self.header)
    }
}

/// Bounds on a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How long one step may take: default 30s.
    pub step_timeout: Duration,
    /// How many steps may run at once: default 16, 1 to 1024.
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            step_timeout: Duration::from_secs(30),
            concurrency: 16,
        }
    }
}

/// Reads, parses and checks the config at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = read(path)?;
    parse(&text, path)
}

/// Parses and checks `text`, the config at `path` (whose folder relative paths start from).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
            size: text.len() as u64,
        });
    }
    // libyaml, told the input is UTF-8, would read a byte order mark as content.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let parsed =
        de::parse(body).map_err(|(error, problem)| error::invalid(&error, problem, text, path))?;
    let folder = path.parent().unwrap_or(Path::new(""));
    let systems = parsed
        .systems
        .into_iter()
        .map(|(name, system)| (name, resolve_system(folder, system)))
        .collect();
    Ok(Config {
        state: folder.join(parsed.state),
        signers: parsed.signers.map(|s| folder.join(s)),
        identity: parsed.identity,
        people: parsed.people,
        systems,
        limits: parsed.limits,
        sandbox: parsed.sandbox,
        notify: parsed.notify,
        path: path.to_path_buf(),
    })
}

/// Relative paths start from the config's folder (`join` keeps an absolute path as it is).
fn resolve_system(folder: &Path, system: SystemConfig) -> SystemConfig {
    match system {
        SystemConfig::Sqlite { path } => SystemConfig::Sqlite {
            path: folder.join(path),
        },
        SystemConfig::Exec { workdir, grants } => SystemConfig::Exec {
            workdir: workdir.map(|w| folder.join(w)),
            grants: Grants {
                write: grants.write.iter().map(|w| folder.join(w)).collect(),
                network: grants.network,
            },
        },
        SystemConfig::Http(http) => SystemConfig::Http(HttpConfig {
            ca_file: http.ca_file.map(|f| folder.join(f)),
            auth: http.auth.map(|auth| credential::resolve(folder, auth)),
            ..http
        }),
    }
}

/// The file's text: at most [`MAX_CONFIG_BYTES`] (read no further, even if it grows), UTF-8.
fn read(path: &Path) -> Result<String, ConfigError> {
    let io_error = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let before = error.as_bytes().get(..offset).unwrap_or_default();
        ConfigError::NotUtf8 {
            path: path.to_path_buf(),
            offset,
            line: 1 + before.iter().filter(|b| **b == b'\n').count(),
        }
    })
}

impl Config {
    /// The roles of `person`, or `None` for someone not in the config.
    pub fn roles_of(&self, person: &str) -> Option<&[String]> {
        self.people.get(person).map(Vec::as_slice)
    }

    /// Whether `person` is in the config with `role`.
    pub fn has_role(&self, person: &str, role: &str) -> bool {
        self.roles_of(person)
            .is_some_and(|roles| roles.iter().any(|r| r == role))
    }

    /// The credential of `system`, its secret read from the environment or its file: `None`
    /// when the system takes none; an error when the secret cannot be read.
    pub fn credential(&self, system: &str) -> Result<Option<Credential>, ConfigError> {
        let Some(config) = self.systems.get(system) else {
            return Err(ConfigError::UnknownSystem {
                system: system.to_owned(),
            });
        };
        match config {
            SystemConfig::Http(HttpConfig {
                auth: Some(auth), ..
            }) => credential::read(system, auth).map(Some),
            _ => Ok(None),
        }
    }
}
