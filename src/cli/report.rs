//! Where a run stands, for a person (text) or a program (`--format json`: one JSON object on
//! stdout with at least `run` and `status`, docs/runtime.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::runtime::record::Gate;
use crate::runtime::run::{Phase, ReversalPhase, RunState, Status};
use crate::runtime::value::Value;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for a person.
    #[default]
    Text,
    /// One JSON object.
    Json,
}

#[derive(Serialize)]
pub struct Report<'a> {
    pub run: &'a str,
    pub workflow: &'a str,
    pub status: &'static str,
    pub started_by: &'a str,
    pub started_at: &'a str,
    /// How the people of this run were identified: `signed`, or `asserted` (development).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<&'static str>,
    pub fingerprint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<&'a str>,
    pub steps: BTreeMap<&'a str, &'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<Waiting<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub rollbacks: BTreeMap<&'a str, &'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repair_by: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreversed: Vec<&'a str>,
    /// The kill switch over this run: the kill holding its workflow now, else the one that
    /// drafted its writes (`writ status` fills it in; it reads the store's kill events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub killed: Option<Killed>,
}

/// Who killed a workflow, when and why, and whether the kill still holds.
#[derive(Clone, Debug, Serialize)]
pub struct Killed {
    /// The `workflow_killed` event.
    pub event: u64,
    pub by: String,
    pub at: String,
    pub reason: String,
    /// A system the kill names (`writ kill --system`), rather than the workflow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub holds: bool,
}

impl Killed {
    pub fn of(event: &crate::runtime::event::Event, holds: bool) -> Killed {
        let switch =
            crate::runtime::record::Switch::deserialize(&event.event.data).unwrap_or_default();
        Killed {
            event: event.seq,
            by: event.event.person.clone().unwrap_or_default(),
            at: event.at.clone(),
            reason: switch.reason.unwrap_or_default(),
            system: switch.system.map(|s| s.to_string()),
            holds,
        }
    }

    /// One line for a person.
    pub fn text(&self, workflow: &str) -> String {
        let what = match &self.system {
            Some(system) => format!("system `{system}`"),
            None => format!("workflow `{workflow}`"),
        };
        let revive = match &self.system {
            Some(system) => format!("writ revive --system {system}"),
            None => format!("writ revive {workflow}"),
        };
        if self.holds {
            format!(
                "{what} killed by {} at {}: {} (every write is drafted until `{revive}`)",
                self.by, self.at, self.reason
            )
        } else {
            format!(
                "drafted by the kill of {what} by {} at {}: {} (revived since)",
                self.by, self.at, self.reason
            )
        }
    }
}

#[derive(Serialize)]
pub struct Waiting<'a> {
    pub step: &'a str,
    /// The role that decides now (`by`, or the escalation role).
    pub role: &'a str,
    pub escalated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    pub shows: &'a [(String, Value)],
    pub allows: &'a [Gate],
}

pub fn report(state: &RunState, status: Status) -> Report<'_> {
    let end = state.end.as_ref();
    Report {
        run: &state.id,
        workflow: &state.workflow,
        status: status.as_str(),
        started_by: &state.starter,
        started_at: &state.started_at,
        identity: state.identity.map(|i| i.as_str()),
        fingerprint: &state.fingerprint,
        context: state.started.context.as_deref(),
        steps: state
            .steps
            .iter()
            .filter_map(|(name, s)| Some((name.as_str(), phase_name(s.phase?))))
            .collect(),
        waiting: if status == Status::Waiting {
            waiting(state)
        } else {
            vec![]
        },
        rollbacks: state
            .reversals
            .iter()
            .map(|(name, (phase, _))| (name.as_str(), reversal_name(*phase)))
            .collect(),
        step: end.and_then(|e| e.step.as_deref()),
        reason: end.and_then(|e| e.reason.as_deref()),
        repair_by: end
            .map(|e| e.repair_by.iter().map(|r| r.as_str()).collect())
            .unwrap_or_default(),
        unreversed: end
            .map(|e| e.unreversed.iter().map(|r| r.as_str()).collect())
            .unwrap_or_default(),
        killed: None,
    }
}

fn waiting(state: &RunState) -> Vec<Waiting<'_>> {
    state
        .waiting()
        .into_iter()
        .filter_map(|(name, s)| {
            let (request, _) = s.request.as_ref()?;
            Some(Waiting {
                step: name,
                role: s.deciding_role.as_deref().unwrap_or(&request.role),
                escalated: s.phase == Some(Phase::Escalated),
                deadline: s.deadline.map(crate::runtime::clock::format),
                shows: &request.shows,
                allows: &request.gates,
            })
        })
        .collect()
}

pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Recommended => "recommended",
        Phase::Requested => "waiting",
        Phase::Escalated => "escalated",
        Phase::Confirmed => "confirmed",
        Phase::Rejected => "rejected",
        Phase::Expired => "expired",
        Phase::AutoConfirmed => "auto_confirmed",
        Phase::InDoubt => "in_doubt",
        Phase::Verifying => "verifying",
        Phase::Written => "written",
        Phase::Drafted => "drafted",
        Phase::Refused => "refused",
    }
}

fn reversal_name(phase: ReversalPhase) -> &'static str {
    match phase {
        ReversalPhase::Started => "started",
        ReversalPhase::RolledBack => "rolled_back",
        ReversalPhase::Failed => "rollback_failed",
    }
}

/// Prints the report: JSON on stdout, or lines for a person on stdout.
pub fn print(state: &RunState, status: Status, format: Format) {
    out!("{}", rendered(state, status, format));
}

/// What [`print`] prints (the service sends it, so a client prints the same bytes).
pub fn rendered(state: &RunState, status: Status, format: Format) -> String {
    rendered_report(&report(state, status), state, format)
}

/// Prints a report built (and perhaps completed) by the caller.
pub fn print_report(report: &Report<'_>, state: &RunState, format: Format) {
    out!("{}", rendered_report(report, state, format));
}

fn rendered_report(report: &Report<'_>, state: &RunState, format: Format) -> String {
    match format {
        Format::Json => format!("{}\n", serde_json::to_string(report).unwrap_or_default()),
        Format::Text => super::terminal::escape_lines(&text(report, state)),
    }
}

fn text(report: &Report<'_>, state: &RunState) -> String {
    let mut out = format!(
        "run {} ({}): {}\n",
        report.run, report.workflow, report.status
    );
    if let Some(killed) = &report.killed {
        out.push_str(&format!("  {}\n", killed.text(report.workflow)));
    }
    if report.identity == Some("asserted") {
        out.push_str("  identity: asserted (development: names were typed, not signed)\n");
    }
    for (step, phase) in &report.steps {
        out.push_str(&format!("  {step:<24} {phase}\n"));
    }
    for (step, phase) in &report.rollbacks {
        out.push_str(&format!("  rollback of {step:<12} {phase}\n"));
    }
    for wait in &report.waiting {
        out.push_str(&waiting_text(wait, state));
    }
    match (report.step, report.reason) {
        (Some(step), Some(reason)) => out.push_str(&format!("  at `{step}`: {reason}\n")),
        (None, Some(reason)) => out.push_str(&format!("  reason: {reason}\n")),
        _ => {}
    }
    if !report.repair_by.is_empty() {
        out.push_str(&format!(
            "  needs repair by: {} (writes left in place: {})\n",
            report.repair_by.join(", "),
            if report.unreversed.is_empty() {
                "none".to_owned()
            } else {
                report.unreversed.join(", ")
            }
        ));
    }
    if report.status == "drafted" && report.killed.as_ref().is_none_or(|k| !k.holds) {
        out.push_str(&format!(
            "  next: writ resume {} (asks for a new approval of the drafts)\n",
            report.run
        ));
    }
    if report.status == "ready" {
        out.push_str(&format!("  next: writ resume {}\n", report.run));
    }
    out
}

fn waiting_text(wait: &Waiting<'_>, state: &RunState) -> String {
    let mut out = format!(
        "  `{}` waits for a `{}`{} (not {}, who started the run)\n",
        wait.step,
        wait.role,
        if wait.escalated { " (escalated)" } else { "" },
        state.starter
    );
    if let Some(deadline) = &wait.deadline {
        out.push_str(&format!("    expires at {deadline}\n"));
    }
    for (reference, value) in wait.shows {
        out.push_str(&format!("    shows {reference} = {value}\n"));
    }
    for gate in wait.allows {
        out.push_str(&format!(
            "    allows {} on {}: {}\n",
            gate.step, gate.target, gate.action
        ));
    }
    out.push_str(&format!(
        "    decide: writ approve {run} {step} --key KEY   |   writ reject {run} {step} --key KEY --reason TEXT\n",
        run = state.id,
        step = wait.step
    ));
    out
}
