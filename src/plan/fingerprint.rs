//! The plan fingerprint: SHA-256 over the canonical serialisation of the plan body.
//!
//! What is in it: the schema version and every field of [`PlanBody`] as `plan --format json`
//! prints them: the workflow's name, title, description and owner; roles, systems (connector
//! and envelope) and inputs (type, default); each forward step with its kind, direct
//! predecessors and every clause; each rollback; each write's derived safety facts.
//!
//! What is not: whitespace, comments, spans, and the order of anything whose order carries no
//! meaning (items in the file, steps, roles, systems, inputs, `reads`, `after`, `yields`,
//! JSON body keys): the body is built sorted (see `build.rs`). The order of `shows`, of `exec`
//! arguments and of `in [...]` lists is kept: it is what a confirmer or a program sees.
//!
//! The canonical serialisation is compact JSON of the body (serde_json, fields in declaration
//! order, no whitespace), prefixed by `writ-plan-v{SCHEMA_VERSION}\n`.

use super::model::{PlanBody, SCHEMA_VERSION};
use crate::digest::json_sha256;

pub(super) fn fingerprint(body: &PlanBody) -> String {
    // Streamed into the hash: a 100,000-step plan is tens of MB of JSON, never held in memory.
    json_sha256(&format!("writ-plan-v{SCHEMA_VERSION}\n"), body)
}
