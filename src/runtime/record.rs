//! What each event's `data` holds, as types: the executor writes these and replay (`run.rs`)
//! reads them back, so the two cannot drift apart. Documented for auditors in
//! `docs/runtime.md`, "Event data".
//!
//! Actions are kept as the JSON they were rendered to (`action`), next to their `hash`: the
//! record is what the confirmer saw, verbatim; comparisons are by hash only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::connector::Row;
use super::value::Value;
use crate::plan::Name;

/// `run_started`: what was run, with what, by whom and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    /// The workflow file, as an absolute path: `resume` and `approve` read it again.
    pub file: String,
    /// The workflow's `owner` role (who may revive and roll back).
    pub owner: Name,
    pub inputs: BTreeMap<String, Value>,
    /// `--context`: what triggered the run (a ticket, an alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The systems the workflow writes (for the kill switch by system).
    #[serde(default)]
    pub writes: Vec<Name>,
    /// The sandbox its programs run in (absent in runs recorded before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<crate::runtime::sandbox::InForce>,
}

/// `recommended`: the model's output verbatim, and the values checked against `yields`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommended {
    pub output: serde_json::Value,
    pub values: BTreeMap<Name, Value>,
    /// A program's standard output exactly as it printed it (the parsed `output` keeps one
    /// value of a repeated key; this keeps what the model said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    /// The program's standard error, when it wrote any (kept for the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

/// One write a confirmation allows: the execute step, where it writes, the action exactly as
/// it will run, and the hash that binds the decision to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    pub step: Name,
    pub system: Name,
    /// Where the system is, resolved from the config (file, base URL, program folder).
    pub target: String,
    pub action: serde_json::Value,
    /// SHA-256 over system, target and action (`writ-bound-v1`).
    pub hash: String,
    /// SHA-256 of the plan's action text, values unbound: what earned autonomy counts by.
    pub text_hash: String,
}

/// `confirmation_requested`: who must decide, what they see, by when, and what they allow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Requested {
    /// The `by` role.
    pub role: Name,
    /// The `shows` references and their values, in the order written.
    pub shows: Vec<(String, Value)>,
    /// The deadline, in the store's time format, when the confirm `expires`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// The `expires` duration in seconds (a second deadline after an escalation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_seconds: Option<u64>,
    /// `reject` or `escalate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_expiry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<Name>,
    /// The writes this confirmation allows, rendered now.
    pub gates: Vec<Gate>,
    /// Set when the autonomy gate held and this run was sampled for a human review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
}

/// `confirmed` / `rejected` / `expired`: a decision on a confirm step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decided {
    /// What the confirmer saw (copied from the request).
    pub shows: Vec<(String, Value)>,
    /// The writes decided on (copied from the request): allowed when confirmed.
    pub gates: Vec<Gate>,
    /// `--note` or `--reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Decided by the escalation role in the `by` role's place.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub escalated: bool,
    /// For an expiry: the deadline that passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// A confirmation of a quorum (`by N of ROLE`): how many distinct people have confirmed
    /// with this one, of how many needed. The step is confirmed (and its writes allowed) only
    /// by the confirmation that completes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<Quorum>,
}

/// Where a quorum stands after one confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quorum {
    pub signed: u64,
    pub needed: u64,
}

/// `escalated`: the decision passes to another role, with a new deadline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Escalated {
    pub to: Name,
    /// The deadline that passed.
    pub missed: String,
    /// The escalation role's own deadline (the same duration again).
    pub deadline: String,
}

/// `auto_confirmed`: the autonomy gate confirmed one execute on the approver's behalf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoConfirmed {
    /// The confirm steps whose human decision this stands in for, for this execute only.
    pub confirms: Vec<Name>,
    pub figures: Figures,
    pub gates: Vec<Gate>,
}

/// The gate's figures at the moment it held (docs/runtime.md, "Earned autonomy").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Human decisions in the window, and their outcomes.
    pub decisions: u64,
    pub confirmed: u64,
    pub rejected: u64,
    pub expired: u64,
    /// confirmed / decisions, in hundredths of a percent.
    pub acceptance_basis_points: u64,
    pub required_basis_points: u64,
    pub min_decisions: u64,
    pub window_seconds: u64,
    /// When the first human decision on this step and action text was made.
    pub first_decision: String,
    /// Rollbacks and repairs of this step since `counted_since` (`critical`).
    pub critical: u64,
    /// How far back evidence may reach (`2 x window`); 0 in records made before it existed.
    #[serde(default)]
    pub horizon_seconds: u64,
    /// The oldest moment the figures cover: the window's start, or the oldest of the `min`
    /// most recent decisions when the window holds fewer.
    #[serde(default)]
    pub counted_since: String,
    /// Whether the first counted-kind decision is at least a window old.
    #[serde(default)]
    pub spans_window: bool,
}

/// Why a run went to a human although its gate held (`review R%`), in the
/// `confirmation_requested` that asked: the share, the draw and the words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// The execute whose gate held.
    pub step: Name,
    /// `review R%` in hundredths of a percent.
    pub share_basis_points: u64,
    /// The random draw, reduced to 0..10,000; below the share means a human decides.
    pub draw: u64,
    pub reason: String,
}

/// `before_image`: appended right before a write can take effect (for sqlite inside its
/// transaction, before COMMIT), so a crash leaves the write in doubt, never invisible.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BeforeImage {
    pub system: Name,
    pub hash: String,
    /// The captured rows before the write (`None` without `capture`; empty before an INSERT).
    #[serde(default, deserialize_with = "rows_or_row")]
    pub before: Option<Vec<Row>>,
    /// The same capture after the write, before commit (sqlite with `capture` only; empty
    /// after a DELETE).
    #[serde(default, deserialize_with = "rows_or_row")]
    pub after: Option<Vec<Row>>,
}

/// An image as recorded: a list of rows, or (in records made when a capture read exactly one
/// row) that row alone.
fn rows_or_row<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Row>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Image {
        Rows(Vec<Row>),
        Row(Row),
    }
    Ok(
        Option::<Image>::deserialize(deserializer)?.map(|image| match image {
            Image::Rows(rows) => rows,
            Image::Row(row) => vec![row],
        }),
    )
}

/// `written` and `drafted`: the write-back (or, killed, what it would have been).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Wrote {
    pub system: Name,
    pub target: String,
    pub action: serde_json::Value,
    pub hash: String,
    /// The HTTP status of the system's answer (http).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The idempotency key the write was sent with (http): the same on every attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The answer's identifying headers (http: `location`, `etag`, a request id).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Rows changed (sqlite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<u64>,
    /// Rows changed beyond the one its capture read (triggers, cascades, a statement matching
    /// more rows): its rollback cannot claim a full reversal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beyond: Option<u64>,
    /// The system's whole answer (exec; http only with `record: full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    /// The values checked against the step's `yields`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<Name, Value>,
    /// Found committed by `resume` after a crash, rather than seen to commit.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
    /// For `drafted`: the kill-switch event that stopped the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed_by: Option<u64>,
    /// For `written`: the step has a `verify` that must pass (a `verified` event) before the
    /// step is complete; a resumed run runs it when that event is missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verify_pending: bool,
}

/// `write_refused`: the system refused the write as it stood; nothing was applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WriteRefused {
    pub system: Name,
    pub target: String,
    pub hash: String,
    /// The HTTP status of the refusal; `None` when the request was never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub reason: String,
}

/// `verified`: the verify action that passed, as rendered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    pub action: serde_json::Value,
}

/// Why compensation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// A step failed.
    Failed,
    /// A confirm was rejected.
    Rejected,
    /// A confirm expired.
    Expired,
    /// `writ rollback`.
    Requested,
}

/// `rollback_started`, `rolled_back`, `rollback_failed`; the event's `step` is the rollback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reversal {
    pub undoes: Name,
    pub cause: Cause,
    /// The step whose failure (or rejection, expiry) started the reversal, and why: kept so a
    /// reversal resumed after a crash still ends with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub because_of: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Who repairs by hand if this reversal fails (the rollback's `repair by`, else the owner).
    pub repair_by: Name,
}

/// `run_finished` / `run_failed`: how the run ended, or ended again after `writ rollback`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ended {
    pub status: super::run::Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The roles who must repair by hand (`needs_repair`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repair_by: Vec<Name>,
    /// Writes left in place (not reversed) for the repair role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreversed: Vec<Name>,
}

/// `workflow_killed` / `workflow_revived`: the kill switch, for one workflow or every workflow
/// that writes one system.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Switch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Name>,
    /// A system-scope event's resolved target (`switch::config_key`): the same database
    /// under another system name is held too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The data of an event as a JSON value (these types always serialise).
pub fn data(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
