//! Approved plans: a workflow version (its fingerprint) runs only after a person of its
//! `owner` role signed it. The approval keeps the workflow's source, so every later step of a
//! run (resume, reject, expiry, rollback) works from the plan it started with, never from a
//! file that may have changed since.
//!
//! The owner of record of a workflow (by name) is the owner role of its first approved plan: a
//! look-alike file with the same name and another `owner` is approved only by a person of the
//! role already on record, so it cannot hand itself the workflow's kill switch or rollbacks.

use serde::{Deserialize, Serialize};

use super::TrustError;
use crate::runtime::event::EventKind;
use crate::runtime::store::Store;

/// The data of `plan_approved`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanApproved {
    pub workflow: String,
    pub fingerprint: String,
    pub owner: String,
    /// The workflow file's text, exactly: the plan is built from it again and must give the
    /// same fingerprint.
    pub source: String,
    /// Where it was read from (absolute path): its folder holds the workflow's programs.
    pub file: String,
}

/// Every plan approval in the store, oldest first.
pub fn all(store: &dyn Store) -> Result<Vec<(u64, PlanApproved)>, TrustError> {
    store
        .kind_events(&[EventKind::PlanApproved])?
        .into_iter()
        .map(|event| {
            serde_json::from_value(event.event.data)
                .map(|data| (event.seq, data))
                .map_err(|e| TrustError::Refused(format!("event {} is unreadable: {e}", event.seq)))
        })
        .collect()
}

/// The approval of the plan with `fingerprint`, if any.
pub fn approved(store: &dyn Store, fingerprint: &str) -> Result<Option<PlanApproved>, TrustError> {
    Ok(all(store)?
        .into_iter()
        .map(|(_, plan)| plan)
        .find(|plan| plan.fingerprint == fingerprint))
}

/// The owner role of record of the workflow named `workflow`: its first approved plan's.
pub fn owner_of_record(store: &dyn Store, workflow: &str) -> Result<Option<String>, TrustError> {
    Ok(all(store)?
        .into_iter()
        .map(|(_, plan)| plan)
        .find(|plan| plan.workflow == workflow)
        .map(|plan| plan.owner))
}
