//! Reverse a run's writes, newest first, on a person's signed request. Only the workflow's
//! `owner` role or one of its rollbacks' `repair by` roles may ask; a reversal obeys the kill
//! switch unless forced.

use serde_json::json;

use super::{Failure, OpsError, Signed, open, replayed, trusted, verify_act};
use crate::runtime::config::Config;
use crate::runtime::engine::shared::Observer;
use crate::runtime::lock;
use crate::runtime::run::{RunState, Status};
use crate::runtime::trust::statement::Act;
use crate::runtime::trust::{Create, Pinned};

pub struct Request {
    pub run: String,
    pub reason: Option<String>,
    /// Reverse even while a kill holds the workflow or its systems.
    pub force: bool,
    pub signed: Signed,
}

/// The fields of the statement a person signs to roll back `run`.
pub fn fields(run: &str, reason: Option<&str>, force: bool) -> serde_json::Value {
    json!({ "run": run, "reason": reason, "force": force })
}

/// The registry to sign against, once `run` is known to exist.
pub fn draft(config: &Config, run: &str) -> Result<Pinned, OpsError> {
    if !lock::is_run_id(run) {
        return Err(OpsError::error(
            Failure::NotFound,
            format!("no run `{run}` in the store"),
        ));
    }
    let (store, pinned) = trusted(config, Create::Never)?;
    replayed(&store, run)?;
    Ok(pinned)
}

/// Reverses the run's writes; returns where it stands (`rolled_back`, or `needs_repair`).
pub fn rollback(
    config: Config,
    request: Request,
    observer: Option<Observer>,
) -> Result<RunState, OpsError> {
    let mut opened = open(config, &request.run, observer)?;
    let fields = fields(&request.run, request.reason.as_deref(), request.force);
    let (person, _) = verify_act(&opened.pinned, &request.signed, Act::Rollback, fields, &[])?;
    let roles = opened
        .pinned
        .registry
        .roles_of(&person)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let engine = &mut opened.engine;
    let allowed = engine.rollback_roles();
    let Some(role) = roles
        .iter()
        .find(|r| allowed.iter().any(|a| a == r.as_str()))
    else {
        return Err(OpsError::lines(
            Failure::Forbidden,
            format!(
                "error: `{person}` may not roll back run `{}`: that needs one of the roles {}\n  \
                 help: {person}'s roles: {}\n",
                request.run,
                allowed.join(", "),
                roles.join(", ")
            ),
        ));
    };
    let status = engine.state().status();
    if matches!(
        status,
        Status::RolledBack | Status::Failed | Status::Rejected | Status::Expired
    ) {
        return Err(OpsError::error(
            Failure::Refused,
            format!(
                "run `{}` ended `{}`: its writes were already reversed",
                request.run,
                status.as_str()
            ),
        ));
    }
    engine.act_as(&person, role, Some(request.signed.proof.clone()));
    engine
        .rollback(request.force)
        .map_err(|e| OpsError::diagnostic(Failure::Usage, e))?;
    Ok(opened.engine.into_state())
}
