//! What waits for one person: every waiting confirm whose deciding role (`by`, or the
//! escalation role after an escalation) is one of theirs, in runs they did not start (four
//! eyes: the starter can never decide).

use serde::Serialize;

use super::{Failure, OpsError, replayed, trusted};
use crate::runtime::clock;
use crate::runtime::config::Config;
use crate::runtime::record::Gate;
use crate::runtime::run::{Phase, Status};
use crate::runtime::store::Store;
use crate::runtime::trust::Create;
use crate::runtime::value::Value;

#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub run: String,
    pub workflow: String,
    pub step: String,
    pub role: String,
    pub escalated: bool,
    pub started_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    pub shows: Vec<(String, Value)>,
    pub allows: Vec<Gate>,
}

/// The waiting items of `person`; unknown people are refused (404).
pub fn inbox(config: &Config, person: &str) -> Result<Vec<Item>, OpsError> {
    let (store, pinned) = trusted(config, Create::Never)?;
    let Some(roles) = pinned.registry.roles_of(person) else {
        return Err(OpsError::error(
            Failure::NotFound,
            format!("`{person}` is not in the store's registry"),
        ));
    };
    let runs = store
        .runs()
        .map_err(|e| OpsError::error(Failure::Usage, e))?;
    let mut items = Vec::new();
    for run in &runs {
        // An unreadable run waits for nobody; `writ audit verify` is where it is seen.
        let Ok(state) = replayed(&store, run) else {
            continue;
        };
        if state.status() != Status::Waiting || state.starter == person {
            continue;
        }
        for (name, step) in state.waiting() {
            let Some((request, _)) = step.request.as_ref() else {
                continue;
            };
            let role = step.deciding_role.as_deref().unwrap_or(&request.role);
            if !roles.iter().any(|r| r == role) {
                continue;
            }
            items.push(Item {
                run: state.id.clone(),
                workflow: state.workflow.clone(),
                step: name.to_string(),
                role: role.to_owned(),
                escalated: step.phase == Some(Phase::Escalated),
                started_by: state.starter.clone(),
                deadline: step.deadline.map(clock::format),
                shows: request.shows.clone(),
                allows: request.gates.clone(),
            });
        }
    }
    Ok(items)
}
