//! Opening a store: its folder and files private to their owner, its registry pinned.
//!
//! A new store's first event is `registry_changed` with `genesis: true`: the store's id, the
//! registry the config names, and the runner's public key (a new ed25519 key, `runner_key` in
//! the state folder, that signs checkpoints). From then on every command compares the config's
//! registry with the newest recorded one and refuses on any difference: editing `writ.yaml` or
//! the signers file, or pointing `--config` at another file, grants nothing until an admin of
//! the recorded registry signs the change (`writ registry update`).

use std::fs::{self, DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::TrustError;
use super::proof::Proof;
use super::registry::Registry;
use crate::identity::note::RunnerKey;
use crate::runtime::config::Config;
use crate::runtime::event::{Event, EventKind, NewEvent};
use crate::runtime::store::Store;
use crate::runtime::store::sqlite::SqliteStore;

/// Whether a missing store may be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// Commands that start something (`run`, `approve-plan`, `kill`): a new store is made.
    IfMissing,
    /// Every other command: a missing store is an error, never an empty one.
    Never,
}

/// The data of `registry_changed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistryChanged {
    /// The store's id (in every statement, and the origin of its checkpoints).
    pub store: String,
    pub registry: Registry,
    pub hash: String,
    /// The first event of the store: recorded from the config, signed by nobody.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub genesis: bool,
    /// The runner's public key (OpenSSH form), which signs checkpoints.
    pub runner_key: String,
}

/// The registry a store trusts now, and the store's identity.
#[derive(Clone, Debug)]
pub struct Pinned {
    pub store: String,
    pub registry: Registry,
    pub hash: String,
    pub runner_key: String,
    /// The event that recorded it.
    pub seq: u64,
    /// The registry's keys, parsed once.
    pub signers: crate::identity::AllowedSigners,
}

impl Pinned {
    /// The registry `data` records, as event `seq` did.
    pub fn new(data: RegistryChanged, seq: u64) -> Result<Pinned, TrustError> {
        let signers = data.registry.allowed()?;
        Ok(Pinned {
            store: data.store,
            registry: data.registry,
            hash: data.hash,
            runner_key: data.runner_key,
            seq,
            signers,
        })
    }

    fn from_event(event: &Event) -> Result<Pinned, TrustError> {
        let data: RegistryChanged = serde_json::from_value(event.event.data.clone())
            .map_err(|e| TrustError::Refused(format!("event {} is unreadable: {e}", event.seq)))?;
        Pinned::new(data, event.seq)
    }
}

/// The runner's key file beside the store.
pub fn runner_key_path(state: &Path) -> PathBuf {
    folder_of(state).join("runner_key")
}

fn folder_of(state: &Path) -> PathBuf {
    state
        .parent()
        .filter(|f| !f.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Opens the config's store (creating it when `create` allows), checks its files' modes and
/// that the config names exactly the registry the store trusts.
pub fn open_store(config: &Config, create: Create) -> Result<(SqliteStore, Pinned), TrustError> {
    let wanted = Registry::from_config(config)?;
    let state = &config.state;
    let exists = state.exists();
    if !exists && create == Create::Never {
        return Err(TrustError::Io(format!(
            "there is no store at `{}` (the config's `state`); nothing has run here yet",
            state.display()
        )));
    }
    prepare_files(state)?;
    let mut store = SqliteStore::open(state)?;
    let pinned = match current(&store)? {
        Some(pinned) => pinned,
        None => genesis(&mut store, state, &wanted)?,
    };
    if pinned.hash != wanted.hash() {
        let differences = pinned.registry.differences(&wanted);
        return Err(TrustError::help(
            format!(
                "writ.yaml names a registry the store does not trust ({})",
                differences.join("; ")
            ),
            "the people, roles and keys a store trusts change only by `writ registry update \
             --key KEY`, signed by a person the store already trusts with the role `admin`",
        ));
    }
    Ok((store, pinned))
}

/// The newest recorded registry, if the store has one.
pub fn current(store: &dyn Store) -> Result<Option<Pinned>, TrustError> {
    let events = store.kind_events(&[EventKind::RegistryChanged])?;
    events.last().map(Pinned::from_event).transpose()
}

/// The registry in force at each event, for `audit verify`: every registry change in order.
pub fn history(store: &dyn Store) -> Result<Vec<Pinned>, TrustError> {
    store
        .kind_events(&[EventKind::RegistryChanged])?
        .iter()
        .map(Pinned::from_event)
        .collect()
}

fn genesis(
    store: &mut SqliteStore,
    state: &Path,
    registry: &Registry,
) -> Result<Pinned, TrustError> {
    let mut empty = true;
    store.scan(&mut |_| {
        empty = false;
        false
    })?;
    if !empty {
        return Err(TrustError::help(
            "the store has events but no recorded registry (it was made by an older writ)",
            "start a new store: point `state:` at a new file",
        ));
    }
    let key_path = runner_key_path(state);
    let store_id = new_store_id();
    let runner = if key_path.exists() {
        RunnerKey::load(&key_path)
    } else {
        RunnerKey::create(&key_path, &format!("writ/{store_id}"))
    }
    .map_err(|e| TrustError::Io(e.to_string()))?;
    let data = RegistryChanged {
        store: store_id,
        registry: registry.clone(),
        hash: registry.hash(),
        genesis: true,
        runner_key: runner.public_key().to_openssh(),
    };
    let event = store.append(registry_event(&data, None, None))?;
    Pinned::from_event(&event)
}

/// The `registry_changed` event for `data`, signed by `person` when a person changes it.
pub fn registry_event(
    data: &RegistryChanged,
    person: Option<&str>,
    proof: Option<&Proof>,
) -> NewEvent {
    let mut value = crate::runtime::record::data(data);
    if let Some(proof) = proof {
        proof.attach(&mut value);
    }
    NewEvent {
        run: None,
        workflow: String::new(),
        kind: EventKind::RegistryChanged,
        person: person.map(str::to_owned),
        role: person.map(|_| "admin".to_owned()),
        fingerprint: data.hash.clone(),
        step: None,
        data: value,
    }
}

/// A random id for a new store.
fn new_store_id() -> String {
    let salt = format!(
        "{}:{}:{:?}",
        crate::runtime::clock::now(),
        std::process::id(),
        std::time::SystemTime::now()
    );
    let digest = crate::digest::json_sha256("writ-store-id\n", &salt);
    digest.get(..16).unwrap_or(&digest).to_owned()
}

/// The state folder 0700 and the store file 0600, created so before SQLite touches them
/// (SQLite gives its `-wal` and `-shm` files the database file's mode); an existing folder or
/// file that others may read or write is refused.
fn prepare_files(state: &Path) -> Result<(), TrustError> {
    let folder = folder_of(state);
    let io = |what: &str, path: &Path, e: std::io::Error| {
        TrustError::Io(format!("cannot {what} `{}`: {e}", path.display()))
    };
    if !folder.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&folder)
            .map_err(|e| io("create the state folder", &folder, e))?;
    }
    private(&folder, "the state folder", 0o700)?;
    if !state.exists() {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(state)
            .map_err(|e| io("create the store", state, e))?;
    }
    private(state, "the store", 0o600)
}

fn private(path: &Path, what: &str, mode: u32) -> Result<(), TrustError> {
    let meta = fs::metadata(path)
        .map_err(|e| TrustError::Io(format!("cannot read `{}`: {e}", path.display())))?;
    let actual = meta.permissions().mode() & 0o777;
    if actual & 0o077 != 0 {
        return Err(TrustError::help(
            format!(
                "{what} `{}` is open to other users (mode {actual:o})",
                path.display()
            ),
            format!("`chmod {mode:o} {}`", path.display()),
        ));
    }
    Ok(())
}

/// Opens an existing store for reading it as it is (`writ audit`): no registry comparison, so
/// an auditor can check a store whatever config they hold. A missing store is an error.
pub fn open_existing(config: &Config) -> Result<SqliteStore, TrustError> {
    if !config.state.is_file() {
        return Err(TrustError::Io(format!(
            "there is no store at `{}` (the config's `state`)",
            config.state.display()
        )));
    }
    Ok(SqliteStore::open(&config.state)?)
}
