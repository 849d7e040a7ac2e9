//! Start a run: a signed `start_run` statement for an approved plan, its inputs and context.
//! The run is driven until it is done, waits for a human, or failed (after rollback).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value as Json, json};

use super::{Failure, OpsError, Signed, approved_plan, drive, shared, trusted, verify_act};
use crate::plan::Plan;
use crate::runtime::config::Config;
use crate::runtime::engine::shared::Observer;
use crate::runtime::engine::{Engine, Mode, new_run_id};
use crate::runtime::lock;
use crate::runtime::run::RunState;
use crate::runtime::store::Store;
use crate::runtime::trust::statement::Act;
use crate::runtime::trust::{Create, plans};
use crate::runtime::value::Value;

/// Where the run's plan comes from.
pub enum Source {
    /// A workflow file the caller planned (its approval is checked here too); its folder holds
    /// the workflow's programs.
    File { plan: Box<Plan>, file: PathBuf },
    /// The approved plan with this fingerprint, from the source its approval keeps.
    Approved { fingerprint: String },
}

pub struct Request {
    pub source: Source,
    pub inputs: BTreeMap<String, Value>,
    pub context: Option<String>,
    pub signed: Signed,
}

/// Starts and drives the run; returns where it stands.
pub fn start(
    config: Config,
    request: Request,
    observer: Option<Observer>,
) -> Result<RunState, OpsError> {
    let (store, pinned) = trusted(&config, Create::IfMissing)?;
    let (plan, file) = match request.source {
        Source::File { plan, file } => (*plan, file),
        Source::Approved { fingerprint } => approved_plan(&store, &fingerprint)?,
    };
    // INVARIANT: only an approved version runs (the command line said so in its own words
    // already; a request to the service is judged here).
    if plans::approved(&store, &plan.fingerprint)
        .map_err(|e| OpsError::diagnostic(Failure::Usage, e))?
        .is_none()
    {
        return Err(OpsError::error(
            Failure::Refused,
            format!(
                "this version of `{}` (plan {}) is not approved to run",
                plan.body.workflow.name, plan.fingerprint
            ),
        ));
    }
    let fields = json!({
        "run": new_run_id(),
        "workflow": plan.body.workflow.name,
        "fingerprint": plan.fingerprint,
        "inputs": request.inputs,
        "context": request.context,
    });
    let fresh = fields.get("run").cloned().unwrap_or(Json::Null);
    let (person, statement) =
        verify_act(&pinned, &request.signed, Act::StartRun, fields, &["run"])?;
    // A submitted statement names its own run id: a new one, in writ's form.
    let id = match statement.get("run").or(Some(&fresh)).and_then(Json::as_str) {
        Some(given) if lock::is_run_id(given) => given.to_owned(),
        Some(given) => {
            return Err(OpsError::error(
                Failure::Refused,
                format!("`{given}` is not a run id writ makes"),
            ));
        }
        None => return Err(OpsError::error(Failure::Internal, "no run id")),
    };
    if store.run_events(&id).map(|e| !e.is_empty()).unwrap_or(true) {
        return Err(OpsError::error(
            Failure::Refused,
            format!("run `{id}` exists already: a statement starts one run, once"),
        ));
    }
    let concurrency = config.limits.concurrency;
    let state_path = config.state.clone();
    let shared = shared(plan, config, store, &file, observer)?;
    shared
        .systems
        .check_tokens()
        .map_err(|e| OpsError::diagnostic(Failure::Usage, e))?;
    // Locked before the run exists, so no other process can act on it between its first
    // event and this one driving it.
    let _guard =
        lock::lock(&state_path, &id).map_err(|e| OpsError::diagnostic(Failure::Refused, e))?;
    let mut engine = Engine::start(
        shared,
        id,
        &file,
        request.inputs,
        &person,
        request.context,
        &request.signed.proof,
    )
    .map_err(|e| OpsError::diagnostic(Failure::Usage, e))?;
    drive(&mut engine, Mode::Run, concurrency)?;
    Ok(engine.into_state())
}

/// A statement's `inputs`, read by the plan's declared types (the service's form of
/// `--input`): every problem is reported.
pub fn inputs_of(plan: &Plan, given: &Json) -> Result<BTreeMap<String, Value>, OpsError> {
    let empty = serde_json::Map::new();
    let given = given.as_object().unwrap_or(&empty);
    let mut values = BTreeMap::new();
    let mut problems = String::new();
    for (name, value) in given {
        match plan.body.inputs.iter().find(|i| i.name == name.as_str()) {
            Some(input) => match Value::from_json(value, input.ty) {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None => problems.push_str(&format!(
                    "error: input `{name}` is `{}`, and the statement's value is not one\n",
                    input.ty
                )),
            },
            None => problems.push_str(&format!("error: the workflow has no input `{name}`\n")),
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(OpsError::lines(Failure::Usage, problems))
    }
}
