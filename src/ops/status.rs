//! Where runs stand, replayed from their events: one run, or a line per run. A run that is
//! `ready` while a process holds its lock is `running`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Failure, OpsError, replayed, trusted};
use crate::runtime::config::Config;
use crate::runtime::event::{Event, EventKind};
use crate::runtime::lock;
use crate::runtime::run::{RunState, Status};
use crate::runtime::store::Store;
use crate::runtime::switch;
use crate::runtime::trust::Create;

/// One run's line in a listing.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Line {
    pub run: String,
    pub workflow: String,
    pub status: String,
    pub started_by: String,
    pub started_at: String,
}

fn status_of(config: &Config, state: &RunState) -> Status {
    match state.status() {
        Status::Ready if lock::is_held(&config.state, &state.id) => Status::Running,
        other => other,
    }
}

/// One run and its status now.
pub fn one(config: &Config, run: &str) -> Result<(RunState, Status), OpsError> {
    let (store, _) = trusted(config, Create::Never)?;
    let state = replayed(&store, run)?;
    let status = status_of(config, &state);
    Ok((state, status))
}

/// Every run (none when there is no store yet). One unreadable run (its events edited) is
/// listed as such; it never hides the others.
pub fn list(config: &Config) -> Result<Vec<Line>, OpsError> {
    if !config.state.exists() {
        return Ok(Vec::new());
    }
    let (store, _) = trusted(config, Create::Never)?;
    let runs = store
        .runs()
        .map_err(|e| OpsError::error(Failure::Usage, e))?;
    Ok(runs
        .iter()
        .map(|run| match replayed(&store, run) {
            Ok(state) => Line {
                status: status_of(config, &state).as_str().to_owned(),
                run: state.id,
                workflow: state.workflow,
                started_by: state.starter,
                started_at: state.started_at,
            },
            Err(_) => Line {
                status: "unreadable".to_owned(),
                run: run.to_string(),
                workflow: String::new(),
                started_by: String::new(),
                started_at: String::new(),
            },
        })
        .collect())
}

/// The kill holding `state`'s workflow now (by name, or a system it writes, by name or by the
/// target the config resolves it to), with its revive checked as the executor does.
fn holding(store: &dyn Store, config: &Config, state: &RunState) -> Option<Event> {
    let writes = &state.started.writes;
    let targets: Vec<String> = writes
        .iter()
        .filter_map(|w| config.systems.get(w.as_str()))
        .map(switch::config_key)
        .collect();
    switch::holding(store, &state.workflow, writes, &targets)
        .ok()
        .flatten()
}

/// What the kill switch says of one run: the kill holding its workflow now (`true`), else the
/// kill that drafted one of its writes, revived since (`false`).
pub fn kill_of(config: &Config, state: &RunState) -> Result<Option<(Event, bool)>, OpsError> {
    let (store, _) = trusted(config, Create::Never)?;
    if let Some(kill) = holding(&store, config, state) {
        return Ok(Some((kill, true)));
    }
    let Some(seq) = state.steps.values().find_map(|s| s.killed_by) else {
        return Ok(None);
    };
    let event = store
        .event(seq)
        .map_err(|e| OpsError::error(Failure::Usage, e))?;
    Ok(event
        .filter(|e| e.event.kind == EventKind::WorkflowKilled)
        .map(|e| (e, false)))
}

/// The kill holding each listed workflow now, by workflow name (one run of each is asked).
pub fn kills_now(config: &Config, lines: &[Line]) -> Result<BTreeMap<String, Event>, OpsError> {
    let mut kills = BTreeMap::new();
    if lines.is_empty() {
        return Ok(kills);
    }
    let (store, _) = trusted(config, Create::Never)?;
    let mut asked = std::collections::BTreeSet::new();
    for line in lines {
        if line.workflow.is_empty() || !asked.insert(line.workflow.as_str()) {
            continue;
        }
        if let Ok(state) = replayed(&store, &line.run)
            && let Some(kill) = holding(&store, config, &state)
        {
            kills.insert(line.workflow.clone(), kill);
        }
    }
    Ok(kills)
}
