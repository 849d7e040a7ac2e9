//! Who may do what, checked again by `writ audit verify` over the recorded events. The
//! commands refuse these acts at the time (`writ approve-plan`, `run`, `kill`, `revive`,
//! `rollback`); an event that breaks one of the rules was put into the store by other means,
//! even when its signature holds — a signature proves who acted, not that they were allowed.
//!
//! The rules, each judged against the registry in force when the event was recorded:
//! - a plan is approved by a person of its `owner` role, and of the workflow's owner role of
//!   record (its first approved plan's) when that differs; the approval's source gives the
//!   fingerprint and owner it records;
//! - a run starts from an approved plan and records that plan's owner;
//! - anyone in the registry may kill; a revive is by a person holding every owner role of what
//!   it revives (a workflow's owner of record; for a system, the owner of every workflow whose
//!   runs write it);
//! - a rollback a person asks for is by one of the run's plan's owner or `repair by` roles.

use std::collections::HashMap;

use serde::Deserialize;

use super::plans::PlanApproved;
use super::proof::Proof;
use super::registry::Registry;
use crate::runtime::event::{Event, EventKind};
use crate::runtime::record::{RunStarted, Switch};
use crate::runtime::store::{Store, StoreError};

/// What the walk has learnt so far about plans, runs and owners.
#[derive(Default)]
pub(super) struct Authority {
    /// Workflow name -> its owner role of record.
    owners: HashMap<String, String>,
    /// Plan fingerprint -> the roles that may ask for a rollback (the owner first).
    plans: HashMap<String, Vec<String>>,
    /// Run -> its plan's fingerprint.
    runs: HashMap<String, String>,
    /// System name -> the owners of the workflows whose runs write it.
    system_owners: HashMap<String, Vec<String>>,
}

impl Authority {
    /// Checks `event` against the rules above and learns from it.
    pub(super) fn check(&mut self, event: &Event, registry: &Registry) -> Result<(), String> {
        let new = &event.event;
        let person = new.person.as_deref().unwrap_or_default();
        match new.kind {
            EventKind::PlanApproved => self.plan_approved(event, registry, person),
            EventKind::RunStarted => self.run_started(event),
            EventKind::WorkflowKilled => match registry.roles_of(person) {
                Some(_) => Ok(()),
                None => Err(format!("`{person}` is not in the registry and killed")),
            },
            EventKind::WorkflowRevived => self.revived(event, registry, person),
            // Only a requested rollback carries a statement; one that follows a rejection
            // names the person who rejected, in the role they decided in.
            EventKind::RollbackStarted if Proof::of(&new.data).is_some() => {
                self.rollback_asked(event, registry, person)
            }
            _ => Ok(()),
        }
    }

    fn plan_approved(
        &mut self,
        event: &Event,
        registry: &Registry,
        person: &str,
    ) -> Result<(), String> {
        let data = PlanApproved::deserialize(&event.event.data)
            .map_err(|e| format!("the plan approval cannot be read: {e}"))?;
        let (plan, _) = crate::plan::plan_source(&data.source)
            .map_err(|_| "the approved plan's source does not check".to_owned())?;
        if plan.fingerprint != data.fingerprint || plan.body.workflow.owner.as_str() != data.owner {
            return Err("the approved plan's source does not give the plan it records".into());
        }
        let of_record = self
            .owners
            .entry(data.workflow.clone())
            .or_insert_with(|| data.owner.clone());
        for role in [data.owner.as_str(), of_record.as_str()] {
            if !registry.has_role(person, role) {
                return Err(format!(
                    "`{person}` approved a plan of `{}` without the owner role `{role}`",
                    data.workflow
                ));
            }
        }
        let mut roles = vec![data.owner.clone()];
        for role in plan
            .body
            .rollbacks
            .iter()
            .filter_map(|r| r.repair_by.as_ref())
        {
            if !roles.iter().any(|r| r == role.as_str()) {
                roles.push(role.to_string());
            }
        }
        self.plans.insert(data.fingerprint, roles);
        Ok(())
    }

    fn run_started(&mut self, event: &Event) -> Result<(), String> {
        let new = &event.event;
        let run = new.run.clone().unwrap_or_default();
        let Some(roles) = self.plans.get(&new.fingerprint) else {
            return Err(format!("run `{run}` started from a plan nobody approved"));
        };
        let data = RunStarted::deserialize(&new.data)
            .map_err(|e| format!("the run's start cannot be read: {e}"))?;
        let owner = roles.first().map(String::as_str).unwrap_or_default();
        if data.owner.as_str() != owner {
            return Err(format!(
                "run `{run}` records the owner `{}`, its plan `{owner}`",
                data.owner
            ));
        }
        for system in &data.writes {
            let owners = self.system_owners.entry(system.to_string()).or_default();
            if !owners.iter().any(|o| o == owner) {
                owners.push(owner.to_owned());
            }
        }
        self.runs.insert(run, new.fingerprint.clone());
        Ok(())
    }

    fn revived(&self, event: &Event, registry: &Registry, person: &str) -> Result<(), String> {
        let new = &event.event;
        let data = Switch::deserialize(&new.data)
            .map_err(|e| format!("the revive cannot be read: {e}"))?;
        let owners = match &data.system {
            Some(system) => self
                .system_owners
                .get(system.as_str())
                .cloned()
                .unwrap_or_default(),
            None => self
                .owners
                .get(&new.workflow)
                .cloned()
                .into_iter()
                .collect(),
        };
        may_revive(registry, person, &owners)
            .map_err(|e| format!("{}: {e}", revived(&new.workflow, data.system.as_deref())))
    }

    fn rollback_asked(
        &self,
        event: &Event,
        registry: &Registry,
        person: &str,
    ) -> Result<(), String> {
        let new = &event.event;
        let run = new.run.as_deref().unwrap_or_default();
        let role = new.role.as_deref().unwrap_or_default();
        let allowed = self
            .runs
            .get(run)
            .and_then(|fingerprint| self.plans.get(fingerprint));
        if !allowed.is_some_and(|roles| roles.iter().any(|r| r == role)) {
            return Err(format!(
                "`{person}` asked to roll back run `{run}` as `{role}`, a role that may not"
            ));
        }
        if !registry.has_role(person, role) {
            return Err(format!("`{person}` does not have the role `{role}`"));
        }
        Ok(())
    }
}

/// Whether `person` holds every owner role a revive needs (none known: nobody may revive).
pub(crate) fn may_revive(
    registry: &Registry,
    person: &str,
    owners: &[String],
) -> Result<(), String> {
    if owners.is_empty() {
        return Err("revived, but nobody owns it".into());
    }
    match owners.iter().find(|role| !registry.has_role(person, role)) {
        Some(role) => Err(format!(
            "`{person}` revived it without its owner role `{role}`"
        )),
        None => Ok(()),
    }
}

fn revived(workflow: &str, system: Option<&str>) -> String {
    system.map_or_else(
        || format!("workflow `{workflow}`"),
        |system| format!("system `{system}`"),
    )
}

/// The owner roles the revive `event` needs, from the events recorded before it: for a
/// workflow its owner of record, for a system the owner of every workflow whose runs write it.
/// (The runtime asks this only of revives, which are rare, right before lifting a kill.)
pub(crate) fn revive_owners(store: &dyn Store, event: &Event) -> Result<Vec<String>, StoreError> {
    let system = Switch::deserialize(&event.event.data)
        .ok()
        .and_then(|data| data.system);
    let before = |e: &Event| e.seq < event.seq;
    let mut owners: Vec<String> = Vec::new();
    let mut add = |owner: &str| {
        if !owners.iter().any(|o| o == owner) {
            owners.push(owner.to_owned());
        }
    };
    match system {
        None => {
            let first = store
                .kind_events(&[EventKind::PlanApproved])?
                .into_iter()
                .filter(before)
                .filter_map(|e| PlanApproved::deserialize(&e.event.data).ok())
                .find(|plan| plan.workflow == event.event.workflow);
            if let Some(plan) = first {
                add(&plan.owner);
            }
        }
        Some(system) => {
            for started in store
                .kind_events(&[EventKind::RunStarted])?
                .iter()
                .filter(|e| before(e))
            {
                if let Ok(data) = RunStarted::deserialize(&started.event.data)
                    && data.writes.iter().any(|w| w == &system)
                {
                    add(data.owner.as_str());
                }
            }
        }
    }
    Ok(owners)
}
