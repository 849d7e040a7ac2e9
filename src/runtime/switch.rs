//! The kill switch (docs/runtime.md): `writ kill` puts one workflow, or
//! every workflow that writes one system, in draft-only mode at once; `writ revive` lifts it.
//!
//! The switch's state is the latest `workflow_killed` / `workflow_revived` event of each scope,
//! read from the store right before each write, so a kill from another process stops the next
//! write of a run already under way. A workflow-scope event carries the workflow's name; a
//! system-scope event carries an empty workflow and the system, with its resolved target, in
//! its data.

use super::config::SystemConfig;
use super::event::{Event, EventKind};
use super::record::Switch;
use super::store::{Store, StoreError};
use super::systems::Target;
use crate::plan::Name;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The kill event holding `workflow` (or one of the `systems` it writes, or any system whose
/// resolved target is one of `targets`, see [`target_key`]) in draft-only mode: `None` when
/// none does.
pub fn holding(
    store: &dyn Store,
    workflow: &str,
    systems: &[Name],
    targets: &[String],
) -> Result<Option<Event>, StoreError> {
    let pinned = crate::runtime::trust::open::current(store).ok().flatten();
    // A revive lifts a kill only when its signed statement holds, says this revive and is by a
    // person of every owner role it needs: one put into the store by hand, with a signature
    // made for something else or by a person who may not revive, counts for nothing. (A forged
    // kill needs no such check: it can only stop writes.)
    let events: Vec<Event> = store
        .switch_events()?
        .into_iter()
        .filter(|e| {
            e.event.kind != EventKind::WorkflowRevived || revive_holds(store, pinned.as_ref(), e)
        })
        .collect();
    Ok(holding_in(&events, workflow, systems, targets))
}

/// Whether a `workflow_revived` event is proven, against the registry the store trusts now.
fn revive_holds(
    store: &dyn Store,
    pinned: Option<&crate::runtime::trust::Pinned>,
    event: &Event,
) -> bool {
    use crate::runtime::trust::authority::{may_revive, revive_owners};
    use crate::runtime::trust::{Proof, audit::agrees, verify};
    let (Some(pinned), Some(proof), Some(person), Some(at)) = (
        pinned,
        Proof::of(&event.event.data),
        event.event.person.as_deref(),
        super::clock::parse(&event.at),
    ) else {
        return false;
    };
    verify(pinned, &proof, person, at).is_ok()
        && proof
            .statement
            .as_deref()
            .is_none_or(|text| agrees(event, text, &pinned.store).is_ok())
        && revive_owners(store, event)
            .is_ok_and(|owners| may_revive(&pinned.registry, person, &owners).is_ok())
}

/// [`holding`] over events already read. For a system, the latest kill or revive that names
/// it, or names its resolved target, decides: a kill of one database under another system
/// name holds it too, and a revive of that database lifts it.
pub fn holding_in(
    events: &[Event],
    workflow: &str,
    systems: &[Name],
    targets: &[String],
) -> Option<Event> {
    let latest = |matches: &dyn Fn(&Event) -> bool| events.iter().rev().find(|e| matches(e));
    let killed = |event: Option<&Event>| {
        event
            .filter(|e| e.event.kind == EventKind::WorkflowKilled)
            .cloned()
    };
    let own = latest(&|e| e.event.workflow == workflow && scope(e).is_none());
    let by_name = |system: &Name| {
        killed(latest(&|e| {
            e.event.workflow.is_empty()
                && scope(e).is_some_and(|s| s.system.as_deref() == Some(system.as_str()))
        }))
    };
    let by_target = |target: &String| {
        killed(latest(&|e| {
            e.event.workflow.is_empty()
                && scope(e).is_some_and(|s| s.target.as_ref() == Some(target))
        }))
    };
    killed(own)
        .or_else(|| systems.iter().find_map(by_name))
        .or_else(|| targets.iter().find_map(by_target))
}

/// What kills match a system on besides its name: its resolved target, with a database's path
/// made canonical (symlinks and `..` resolved), so one file under two names is one target.
pub fn target_key(target: &Target) -> String {
    match target {
        Target::Sqlite { path } => format!("sqlite:{}", canonical(path).display()),
        other => other.describe(),
    }
}

/// [`target_key`] of a system as the config names it (for `writ kill --system`).
pub fn config_key(system: &SystemConfig) -> String {
    match system {
        SystemConfig::Sqlite { path } => format!("sqlite:{}", canonical(path).display()),
        SystemConfig::Http(http) => format!("http:{}", http.base_url),
        SystemConfig::Exec { workdir, .. } => {
            let folder = workdir.clone().unwrap_or_default();
            format!("exec:{}", canonical(&folder).display())
        }
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// A system-scope event's system name and target.
struct Scope {
    system: Option<Name>,
    target: Option<String>,
}

fn scope(event: &Event) -> Option<Scope> {
    let switch = Switch::deserialize(&event.event.data).ok()?;
    switch.system.as_ref()?;
    Some(Scope {
        system: switch.system,
        target: switch.target,
    })
}
