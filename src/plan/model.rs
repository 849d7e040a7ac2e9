//! The plan as data: what a confirmer, an auditor and the runtime look at. Its JSON and YAML
//! forms are this structure serialised (documented in `docs/plan-format.md`).
//!
//! INVARIANT: a `Plan` is built only by [`super::plan`] from a `CheckedWorkflow`. Its fields are
//! public to read, but the private `sealed` field keeps code outside this module from writing a
//! `Plan { .. }` literal, and there is deliberately no `Deserialize`: a plan read back from JSON
//! would be a plan nobody checked.

use std::collections::BTreeMap;

use serde::Serialize;
use smol_str::SmolStr;

/// A name in a plan: a step, role, system or field (short names are stored inline).
pub type Name = SmolStr;

/// The version of the JSON/YAML schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub schema_version: u32,
    /// SHA-256 of the canonical plan, 64 lowercase hex digits (see `fingerprint.rs`).
    pub fingerprint: String,
    #[serde(flatten)]
    pub body: PlanBody,
    #[serde(skip)]
    #[allow(dead_code)]
    // never read: it exists so that nothing outside this module builds a Plan
    pub(super) sealed: Sealed,
}

/// Only this module can make one, so only it can make a [`Plan`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Sealed(());

/// Everything in a plan but its fingerprint: exactly what the fingerprint is computed over.
#[derive(Clone, Debug, Serialize)]
pub struct PlanBody {
    pub workflow: WorkflowInfo,
    /// Declared roles, sorted.
    pub roles: Vec<Name>,
    /// Declared systems, sorted by name.
    pub systems: Vec<SystemInfo>,
    /// Declared inputs, sorted by name.
    pub inputs: Vec<InputInfo>,
    /// The forward steps (recommend, confirm, execute) in a deterministic topological order:
    /// among steps ready at the same time, by name.
    pub steps: Vec<PlanStep>,
    /// Ordering edges, sorted by (from, to), without duplicates.
    pub edges: Vec<PlanEdge>,
    /// Rollback steps, sorted by name; each reverses one execute step.
    pub rollbacks: Vec<PlanRollback>,
    /// The safety facts of every write, in the order of `steps`.
    pub writes: Vec<WriteFacts>,
}

#[derive(Clone, Debug, Serialize)]
pub struct WorkflowInfo {
    pub name: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The role accountable for the workflow.
    pub owner: Name,
}

#[derive(Clone, Debug, Serialize)]
pub struct SystemInfo {
    pub name: Name,
    /// `sqlite`, `exec` or `http`.
    pub connector: &'static str,
    /// `inside` (a system of record) or `outside` (advisory).
    pub envelope: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct InputInfo {
    pub name: Name,
    #[serde(rename = "type")]
    pub ty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanStep {
    pub name: Name,
    /// `recommend`, `confirm` or `execute`.
    pub kind: &'static str,
    /// The steps this one directly follows (from `after` and references), sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<Name>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writes: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<PlanAction>,
    /// Typed outputs, sorted by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub yields: Vec<PlanField>,
    /// Confirm: the role that decides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<Name>,
    /// Confirm: how many distinct people of `by` must confirm (`by N of ROLE`); 1 is left out
    /// of the plan, so a plan without a quorum keeps its fingerprint.
    #[serde(skip_serializing_if = "is_one")]
    pub quorum: u64,
    /// Confirm: what the confirmer sees, in the order written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shows: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<PlanExpiry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approver: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto: Option<PlanAuto>,
    /// Execute: the before-image query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<PlanAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<PlanAction>,
    /// Execute: its `sql` may change no row (`allow no rows`); left out when false, so a plan
    /// without it keeps its fingerprint.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_no_rows: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanEdge {
    pub from: Name,
    pub to: Name,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanRollback {
    pub name: Name,
    /// The execute step this reverses.
    pub undoes: Name,
    /// The system it writes: its execute's.
    pub writes: Name,
    pub run: PlanAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<PlanAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair_by: Option<Name>,
}

/// What an auditor asks of one write: who approves it, which confirmation precedes it, how it
/// is reversed and who repairs a failed reversal.
#[derive(Clone, Debug, Serialize)]
pub struct WriteFacts {
    pub step: Name,
    pub system: Name,
    pub connector: &'static str,
    pub envelope: &'static str,
    pub risk: &'static str,
    pub approver: Name,
    /// The confirms that bind the write (the binding rule): among the confirms by the approver
    /// role above the step, the latest ones, those not above another one of them. Never empty
    /// in a plan (E0203).
    pub confirmed_by: Vec<Name>,
    pub rollback: Name,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair_by: Option<Name>,
    /// Whether a before-image is captured before writing.
    pub before_image: bool,
    /// Whether a `verify` read checks the write.
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto: Option<PlanAuto>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanField {
    pub name: Name,
    #[serde(rename = "type")]
    pub ty: &'static str,
    /// `in [...]`: the only values allowed, in the order written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<serde_json::Value>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanExpiry {
    /// The deadline in seconds, and as written (`4h`).
    pub seconds: u64,
    pub written: String,
    /// `reject`, or `escalate`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalate_to: Option<Name>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanAuto {
    /// The acceptance threshold in hundredths of a percent (`95%` = 9500).
    pub acceptance_basis_points: u64,
    pub over_seconds: u64,
    pub over_written: String,
    /// `min N`, 20 when not written (docs/runtime.md).
    pub min_decisions: u64,
    pub no_critical: bool,
    /// `review R%` in hundredths of a percent, when written. Absent from the canonical plan
    /// when not written, so plans written before `review` keep their fingerprints; read it
    /// through [`PlanAuto::review_basis_points`].
    #[serde(
        rename = "review_basis_points",
        skip_serializing_if = "Option::is_none"
    )]
    pub review_written: Option<u64>,
}

/// `review` when not written: one run in ten still goes to a human once the gate holds.
pub const DEFAULT_REVIEW_BASIS_POINTS: u64 = 1_000;

impl PlanAuto {
    /// The share of runs sent to a human while the gate holds (hundredths of a percent).
    pub fn review_basis_points(&self) -> u64 {
        self.review_written
            .unwrap_or(DEFAULT_REVIEW_BASIS_POINTS)
            .min(10_000)
    }

    /// How far back evidence may reach (`2 x over`): the figures are the most recent human
    /// decisions, at least `min`, none older than this.
    pub fn horizon_seconds(&self) -> u64 {
        self.over_seconds.saturating_mul(2)
    }
}

/// An action as the runtime will render it.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "connector", rename_all = "lowercase")]
pub enum PlanAction {
    Sqlite {
        sql: String,
        /// The `:references` in the SQL, in order; each is bound by value.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        references: Vec<String>,
    },
    Exec {
        program: String,
        args: Vec<PlanValue>,
    },
    Http {
        method: &'static str,
        /// A template: `{ref}` is replaced by the value, percent-encoded.
        url: String,
        /// The `{references}` of the URL, in order (none: the field is left out, so plans
        /// without templates keep their fingerprints).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        references: Vec<String>,
        /// The JSON body, by key.
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<BTreeMap<String, PlanValue>>,
    },
}

/// An argument or body value: a literal, or a reference resolved at run time.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum PlanValue {
    Reference {
        #[serde(rename = "ref")]
        reference: String,
    },
    Literal(serde_json::Value),
}

fn is_one(n: &u64) -> bool {
    *n == 1
}
