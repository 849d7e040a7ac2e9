//! Where runs stand, replayed from their events: one run, or a line per run. A run that is
//! `ready` while a process holds its lock is `running`.

use serde::Serialize;

use super::{Failure, OpsError, replayed, trusted};
use crate::runtime::config::Config;
use crate::runtime::lock;
use crate::runtime::run::{RunState, Status};
use crate::runtime::store::Store;
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
