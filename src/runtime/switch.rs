//! The kill switch (docs/runtime.md): `writ kill` puts one workflow, or
//! every workflow that writes one system, in draft-only mode at once; `writ revive` lifts it.
//!
//! The switch's state is the latest `workflow_killed` / `workflow_revived` event of each scope,
//! read from the store right before each write, so a kill from another process stops the next
//! write of a run already under way. A workflow-scope event carries the workflow's name; a
//! system-scope event carries an empty workflow and the system in its data.

use super::event::{Event, EventKind};
use super::record::Switch;
use super::store::{Store, StoreError};
use crate::plan::Name;
use serde::Deserialize;

/// The kill event holding `workflow` (or one of the `systems` it writes) in draft-only mode:
/// `None` when none does.
pub fn holding(
    store: &dyn Store,
    workflow: &str,
    systems: &[Name],
) -> Result<Option<Event>, StoreError> {
    let pinned = crate::runtime::trust::open::current(store).ok().flatten();
    // A revive lifts a kill only when its signed statement holds and says this revive: one put
    // into the store by hand, or with a signature made for something else, counts for nothing.
    // (A forged kill needs no such check: it can only stop writes.)
    let events: Vec<Event> = store
        .switch_events()?
        .into_iter()
        .filter(|e| e.event.kind != EventKind::WorkflowRevived || revive_holds(pinned.as_ref(), e))
        .collect();
    Ok(holding_in(&events, workflow, systems))
}

/// Whether a `workflow_revived` event is proven, against the registry the store trusts now.
fn revive_holds(pinned: Option<&crate::runtime::trust::Pinned>, event: &Event) -> bool {
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
}

/// [`holding`] over events already read.
pub fn holding_in(events: &[Event], workflow: &str, systems: &[Name]) -> Option<Event> {
    let latest = |matches: &dyn Fn(&Event) -> bool| events.iter().rev().find(|e| matches(e));
    let killed = |event: Option<&Event>| {
        event
            .filter(|e| e.event.kind == EventKind::WorkflowKilled)
            .cloned()
    };
    let own = latest(&|e| e.event.workflow == workflow && scope_system(e).is_none());
    killed(own).or_else(|| {
        systems.iter().find_map(|system| {
            killed(latest(&|e| {
                e.event.workflow.is_empty() && scope_system(e).as_deref() == Some(system.as_str())
            }))
        })
    })
}

fn scope_system(event: &Event) -> Option<Name> {
    Switch::deserialize(&event.event.data)
        .ok()
        .and_then(|s| s.system)
}
