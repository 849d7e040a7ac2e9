//! Plans: the checked workflow as a graph with every write, its approver, its reversal and its
//! risk in plain sight, and the fingerprint that binds runs and approvals to it.
//!
//! [`plan`] takes a [`CheckedWorkflow`], so a plan cannot exist for a workflow with errors; the
//! [`Plan`] type is sealed (see `model.rs`). The export functions render one plan five ways.
//!
//! ```compile_fail
//! // A plan cannot be written by hand, only built from a checked workflow:
//! // the `sealed` field is private to this module.
//! fn forge(body: writ::plan::PlanBody) -> writ::plan::Plan {
//!     writ::plan::Plan { schema_version: 1, fingerprint: String::new(), body, sealed: Default::default() }
//! }
//! ```
//!
//! ```
//! let source = std::fs::read_to_string("workflows/ticket_triage.writ").unwrap();
//! let checked = writ::check_source(&source);
//! let plan = writ::plan(checked.workflow.as_ref().expect("the example checks clean"));
//! assert_eq!(plan.fingerprint.len(), 64);
//! assert_eq!(plan.body.writes[0].confirmed_by, ["lead_review"]);
//! ```

mod build;
pub mod export;
mod fingerprint;
mod model;

pub use model::*;

use crate::check::{CheckedWorkflow, check_source};
use crate::diagnostics::Diagnostic;

/// Builds the plan of a checked workflow.
pub fn plan(checked: &CheckedWorkflow) -> Plan {
    let body = build::body(checked);
    Plan {
        schema_version: SCHEMA_VERSION,
        fingerprint: fingerprint::fingerprint(&body),
        body,
        sealed: Sealed::default(),
    }
}

/// Parses, checks and plans one file's text; on refusal, every diagnostic (errors and
/// warnings) of the file.
pub fn plan_source(source: &str) -> Result<(Plan, Vec<Diagnostic>), Vec<Diagnostic>> {
    let checked = check_source(source);
    match checked.workflow {
        Some(workflow) => Ok((plan(&workflow), checked.diagnostics)),
        None => Err(checked.diagnostics),
    }
}
