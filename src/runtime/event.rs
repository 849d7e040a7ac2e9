//! Events: every moment of a run, appended to the store, never updated in place.
//!
//! Each event carries who (person and role), when, the plan fingerprint, its own data, and the
//! hash of the event before it in the store, so `writ audit verify` can detect any edit,
//! deletion or reordering (docs/runtime.md, "A run is its events").

use serde::{Deserialize, Serialize};

/// The kinds of event, with exactly the names docs/runtime.md uses (the `kind` of `writ log`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    RunStarted,
    Recommended,
    ConfirmationRequested,
    Confirmed,
    Rejected,
    Expired,
    Escalated,
    AutoConfirmed,
    BeforeImage,
    Written,
    /// The system refused a write (an HTTP 4xx other than 408/429): nothing was applied.
    WriteRefused,
    /// An execute's `verify` passed after its write (a resumed run re-runs one without it).
    Verified,
    Drafted,
    RollbackStarted,
    RolledBack,
    RollbackFailed,
    RunFinished,
    RunFailed,
    WorkflowKilled,
    WorkflowRevived,
    PlanApproved,
    RegistryChanged,
}

impl EventKind {
    pub const ALL: [EventKind; 22] = [
        EventKind::RunStarted,
        EventKind::Recommended,
        EventKind::ConfirmationRequested,
        EventKind::Confirmed,
        EventKind::Rejected,
        EventKind::Expired,
        EventKind::Escalated,
        EventKind::AutoConfirmed,
        EventKind::BeforeImage,
        EventKind::Written,
        EventKind::WriteRefused,
        EventKind::Verified,
        EventKind::Drafted,
        EventKind::RollbackStarted,
        EventKind::RolledBack,
        EventKind::RollbackFailed,
        EventKind::RunFinished,
        EventKind::RunFailed,
        EventKind::WorkflowKilled,
        EventKind::WorkflowRevived,
        EventKind::PlanApproved,
        EventKind::RegistryChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RunStarted => "run_started",
            EventKind::Recommended => "recommended",
            EventKind::ConfirmationRequested => "confirmation_requested",
            EventKind::Confirmed => "confirmed",
            EventKind::Rejected => "rejected",
            EventKind::Expired => "expired",
            EventKind::Escalated => "escalated",
            EventKind::AutoConfirmed => "auto_confirmed",
            EventKind::BeforeImage => "before_image",
            EventKind::Written => "written",
            EventKind::WriteRefused => "write_refused",
            EventKind::Verified => "verified",
            EventKind::Drafted => "drafted",
            EventKind::RollbackStarted => "rollback_started",
            EventKind::RolledBack => "rolled_back",
            EventKind::RollbackFailed => "rollback_failed",
            EventKind::RunFinished => "run_finished",
            EventKind::RunFailed => "run_failed",
            EventKind::WorkflowKilled => "workflow_killed",
            EventKind::WorkflowRevived => "workflow_revived",
            EventKind::PlanApproved => "plan_approved",
            EventKind::RegistryChanged => "registry_changed",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// An event to append: everything but its place in the store and the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// The run it belongs to; `None` for workflow-level events (kill switch).
    pub run: Option<String>,
    /// The workflow's name (kill-switch events and every run event carry it).
    pub workflow: String,
    pub kind: EventKind,
    /// The person who acted, when a person did (not for timers and the autonomy gate).
    pub person: Option<String>,
    /// The role they acted in.
    pub role: Option<String>,
    /// The plan fingerprint the event is bound to (empty for workflow-level events).
    pub fingerprint: String,
    /// The step it is about, if any.
    pub step: Option<String>,
    /// Kind-specific content: the recommendation verbatim, the context shown to a confirmer,
    /// the rendered action and its hash, a before-image, the gate's figures, a reason.
    pub data: serde_json::Value,
}

/// An event as stored: its sequence number, time, and place in the hash chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the whole store, from 1, without gaps.
    pub seq: u64,
    /// When it was appended: RFC 3339, UTC, millisecond precision.
    pub at: String,
    #[serde(flatten)]
    pub event: NewEvent,
    /// The hash of the previous event (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 over the canonical JSON of every other field, `prev_hash` included.
    pub hash: String,
}
