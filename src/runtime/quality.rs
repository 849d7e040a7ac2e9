//! The quality record (`writ report`): per workflow and step, what humans decided about the
//! model's suggestions, what the gate did, and whether it holds now and why not. A pure
//! function of the events, the approved plans and a `now`, like the gate itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::autonomy;
use super::clock::{self, Millis};
use super::event::{Event, EventKind};
use super::record::{Decided, Ended, Figures, Gate, Requested, Reversal};
use super::run::Status;
use crate::plan::{Name, Plan, PlanAuto};

/// The kinds the report reads (and nothing else: the store selects them by index).
pub const KINDS: [EventKind; 9] = [
    EventKind::RunStarted,
    EventKind::ConfirmationRequested,
    EventKind::Confirmed,
    EventKind::Rejected,
    EventKind::Expired,
    EventKind::AutoConfirmed,
    EventKind::RolledBack,
    EventKind::RollbackFailed,
    EventKind::RunFailed,
];

/// How many of the most recent human decisions "had it held" looks back on.
const WOULD_HAVE: usize = 20;

#[derive(Debug, Serialize)]
pub struct Report {
    /// Counters cover events at or after this moment; the gate is judged on the whole record.
    pub since: Option<String>,
    pub now: String,
    pub workflows: Vec<WorkflowRecord>,
}

#[derive(Debug, Serialize)]
pub struct WorkflowRecord {
    pub workflow: String,
    pub runs: u64,
    /// Who killed it, when and why, while the kill switch holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub killed: Option<Killed>,
    pub steps: Vec<StepRecord>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Killed {
    pub by: String,
    pub at: String,
    pub reason: String,
}

#[derive(Debug, Default, Serialize)]
pub struct StepRecord {
    pub step: String,
    pub decisions: u64,
    pub confirmed: u64,
    pub rejected: u64,
    pub expired: u64,
    pub acceptance_basis_points: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejections: Vec<Rejection>,
    pub auto_decisions: u64,
    pub sampled_reviews: u64,
    pub rollbacks: u64,
    pub repairs: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateRecord>,
}

#[derive(Debug, Serialize)]
pub struct Rejection {
    pub at: String,
    pub by: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct GateRecord {
    /// The rule as written (`acceptance >= 90% over 28d min 20 ...`).
    pub rule: String,
    pub holds: bool,
    /// What keeps it closed, in words (empty when it holds).
    pub missing: Vec<String>,
    pub figures: Figures,
    /// What the most recent human decisions would have been had the gate held.
    pub had_it_held: String,
}

/// Where a workflow's gates are judged: its latest run's approved plan and the kill switch.
pub struct Context<'a> {
    pub now: Millis,
    pub since: Option<Millis>,
    /// The approved plan with a fingerprint, when the store holds it.
    pub plan: &'a dyn Fn(&str) -> Option<Plan>,
    /// The kill switch's `workflow_killed` holding for a workflow (given the systems it writes).
    pub killed: &'a dyn Fn(&str, &[Name]) -> Option<Event>,
}

/// The report over `events` (any order of workflows, in store order within one).
pub fn report(events: &[Event], context: &Context<'_>, only: Option<&str>) -> Report {
    let mut by_workflow: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for event in events {
        if only.is_none_or(|w| w == event.event.workflow) {
            by_workflow
                .entry(event.event.workflow.as_str())
                .or_default()
                .push(event);
        }
    }
    Report {
        since: context.since.map(clock::format),
        now: clock::format(context.now),
        workflows: by_workflow
            .into_iter()
            .map(|(workflow, events)| workflow_record(workflow, &events, context))
            .collect(),
    }
}

fn workflow_record(workflow: &str, events: &[&Event], context: &Context<'_>) -> WorkflowRecord {
    let mut steps: BTreeMap<String, StepRecord> = BTreeMap::new();
    let mut runs = 0;
    let mut latest: Option<(&str, Vec<Name>)> = None;
    for event in events {
        let e = &event.event;
        if e.kind == EventKind::RunStarted {
            let writes = serde_json::from_value::<Writes>(e.data.clone()).map(|w| w.writes);
            latest = Some((e.fingerprint.as_str(), writes.unwrap_or_default()));
        }
        let at = clock::parse(&event.at).unwrap_or(0);
        if context.since.is_some_and(|since| at < since) {
            continue;
        }
        if e.kind == EventKind::RunStarted {
            runs += 1;
        } else {
            count(event, &mut steps);
        }
    }
    let killed = latest
        .as_ref()
        .and_then(|(_, writes)| (context.killed)(workflow, writes))
        .map(|event| killed_by(&event));
    if let Some((fingerprint, _)) = latest
        && let Some(plan) = (context.plan)(fingerprint)
    {
        let owned: Vec<Event> = events.iter().map(|e| (*e).clone()).collect();
        for step in plan.body.steps.iter().filter(|s| s.kind == "execute") {
            let Some(auto) = &step.auto else { continue };
            let gate = gate_record(
                &owned,
                fingerprint,
                &step.name,
                auto,
                killed.is_some(),
                context.now,
            );
            if let Some(gate) = gate {
                entry(&mut steps, &step.name).gate = Some(gate);
            }
        }
    }
    for record in steps.values_mut() {
        record.acceptance_basis_points = record
            .confirmed
            .saturating_mul(10_000)
            .checked_div(record.decisions)
            .unwrap_or(0);
    }
    WorkflowRecord {
        workflow: workflow.to_owned(),
        runs,
        killed,
        steps: steps.into_values().collect(),
    }
}

#[derive(Deserialize)]
struct Writes {
    #[serde(default)]
    writes: Vec<Name>,
}

fn killed_by(event: &Event) -> Killed {
    let reason = serde_json::from_value::<super::record::Switch>(event.event.data.clone())
        .ok()
        .and_then(|s| s.reason)
        .unwrap_or_default();
    Killed {
        by: event.event.person.clone().unwrap_or_default(),
        at: event.at.clone(),
        reason,
    }
}

fn entry<'s>(steps: &'s mut BTreeMap<String, StepRecord>, step: &str) -> &'s mut StepRecord {
    steps.entry(step.to_owned()).or_insert_with(|| StepRecord {
        step: step.to_owned(),
        ..StepRecord::default()
    })
}

/// Adds one event to its step's counters.
fn count(event: &Event, steps: &mut BTreeMap<String, StepRecord>) {
    let e = &event.event;
    let step = e.step.as_deref().unwrap_or_default();
    match e.kind {
        EventKind::Confirmed | EventKind::Rejected | EventKind::Expired => {
            let record = entry(steps, step);
            record.decisions += 1;
            match e.kind {
                EventKind::Confirmed => record.confirmed += 1,
                EventKind::Rejected => {
                    record.rejected += 1;
                    let note = Decided::deserialize(&e.data).ok().and_then(|d| d.note);
                    record.rejections.push(Rejection {
                        at: event.at.clone(),
                        by: e.person.clone().unwrap_or_default(),
                        reason: note.unwrap_or_default(),
                    });
                }
                _ => record.expired += 1,
            }
        }
        EventKind::AutoConfirmed => entry(steps, step).auto_decisions += 1,
        EventKind::ConfirmationRequested => {
            if let Some(review) = Requested::deserialize(&e.data).ok().and_then(|r| r.review) {
                entry(steps, &review.step).sampled_reviews += 1;
            }
        }
        EventKind::RolledBack | EventKind::RollbackFailed => {
            if let Ok(reversal) = Reversal::deserialize(&e.data) {
                entry(steps, &reversal.undoes).rollbacks += 1;
            }
        }
        EventKind::RunFailed => {
            if let Ok(ended) = Ended::deserialize(&e.data)
                && ended.status == Status::NeedsRepair
            {
                entry(steps, ended.step.as_deref().unwrap_or(step)).repairs += 1;
            }
        }
        _ => {}
    }
}

/// The gate of `execute` judged now, from the latest decision that records it on this plan.
fn gate_record(
    events: &[Event],
    fingerprint: &str,
    execute: &Name,
    auto: &PlanAuto,
    killed: bool,
    now: Millis,
) -> Option<GateRecord> {
    let mut gate: Option<Gate> = None;
    let mut confirms: Vec<Name> = Vec::new();
    let mut recent: Vec<EventKind> = Vec::new();
    for event in events.iter().filter(|e| e.event.fingerprint == fingerprint) {
        let e = &event.event;
        if !matches!(
            e.kind,
            EventKind::Confirmed | EventKind::Rejected | EventKind::Expired
        ) {
            continue;
        }
        let Ok(decided) = Decided::deserialize(&e.data) else {
            continue;
        };
        let Some(found) = decided.gates.into_iter().find(|g| &g.step == execute) else {
            continue;
        };
        if let Some(step) = e.step.as_deref()
            && !confirms.iter().any(|c| c == step)
        {
            confirms.push(step.into());
        }
        recent.push(e.kind);
        gate = Some(found);
    }
    let gate = gate?;
    let figures = autonomy::figures(events, fingerprint, &gate, &confirms, auto, now);
    let mut missing = autonomy::missing(&figures, auto, now);
    if killed {
        missing.insert(
            0,
            "the workflow is killed: humans decide every run".to_owned(),
        );
    }
    let last: Vec<EventKind> = recent.iter().rev().take(WOULD_HAVE).copied().collect();
    let good = last.iter().filter(|k| **k == EventKind::Confirmed).count();
    let had_it_held = format!(
        "{good} of the last {} would have been confirmed automatically and were confirmed by a human; {} a human rejected or let expire would have been written",
        last.len(),
        last.len() - good
    );
    Some(GateRecord {
        rule: rule_text(auto),
        holds: autonomy::holds(&figures, auto, killed),
        missing,
        figures,
        had_it_held,
    })
}

fn rule_text(auto: &PlanAuto) -> String {
    format!(
        "acceptance >= {} over {} min {}{} review {}",
        autonomy::percent(auto.acceptance_basis_points),
        auto.over_written,
        auto.min_decisions,
        if auto.no_critical {
            " and critical == 0"
        } else {
            ""
        },
        autonomy::percent(auto.review_basis_points())
    )
}
