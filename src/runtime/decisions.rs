//! `writ export decisions`: every human decision as a labelled example, the evaluation set
//! that tells a team where the model is reliable. A pure function of the events (and of a
//! check of each proof the caller supplies), like the report.
//!
//! An example is one `confirmed`, `rejected` or `expired` event with what led to it: what the
//! model recommended in that run before the decision, what the confirmer was shown (the `shows`
//! values and the rendered actions), and who decided with how they were identified. Auto
//! decisions (`auto_confirmed`) are not human and are left out; an expiry is kept, labelled
//! `expired` with no person, because "nobody acted in time" is an outcome a team counts too
//! (the gate counts it as a human decision that was not a confirmation).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::clock::{self, Millis};
use super::config::Identity;
use super::event::{Event, EventKind};
use super::record::{Decided, Quorum, Recommended};
use super::trust::Proof;
use super::value::Value;
use crate::plan::Name;

/// The kinds the export reads (the store selects them by index).
pub const KINDS: [EventKind; 4] = [
    EventKind::Recommended,
    EventKind::Confirmed,
    EventKind::Rejected,
    EventKind::Expired,
];

/// The label of an example.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Confirmed,
    Rejected,
    /// The deadline passed with no decision (the timer recorded it; no person).
    Expired,
}

/// One human decision with its context: one line of `writ export decisions`.
#[derive(Debug, Serialize)]
pub struct Example {
    pub workflow: String,
    pub run: String,
    /// The approved plan the run ran.
    pub fingerprint: String,
    /// The confirm step decided on.
    pub step: String,
    pub decision: Label,
    /// `--reason` of a rejection, `--note` of a confirmation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who decided, in which role (none for an expiry).
    pub person: Option<String>,
    pub role: Option<String>,
    pub at: String,
    /// Decided by the escalation role in the `by` role's place.
    pub escalated: bool,
    /// One confirmation of a quorum (`by N of ROLE`): how many had signed with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum: Option<Quorum>,
    pub identity: Option<IdentityRecord>,
    /// What the model recommended in this run before the decision: per recommend step, the
    /// values checked against its `yields`.
    pub recommended: BTreeMap<Name, BTreeMap<Name, Value>>,
    /// What the confirmer was shown.
    pub shown: Shown,
}

/// How the decider was identified.
#[derive(Debug, Serialize)]
pub struct IdentityRecord {
    /// `signed`, or `asserted` (development: a typed name).
    pub how: Identity,
    /// The SHA-256 fingerprint of the key that signed (`SHA256:...`), for a signed decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Whether the proof holds now against the registry the store trusts.
    pub verified: bool,
}

/// What a confirmer saw before deciding.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// The `shows` references and their values, in the order written.
    pub shows: Vec<(String, Value)>,
    /// The writes the decision allows, rendered as they would run.
    pub actions: Vec<ShownAction>,
}

#[derive(Debug, Serialize)]
pub struct ShownAction {
    /// The execute step.
    pub step: Name,
    pub system: Name,
    pub target: String,
    pub action: serde_json::Value,
}

/// Which decisions to export.
pub struct Filter<'a> {
    /// Only decisions at or after this moment.
    pub since: Option<Millis>,
    /// Only this workflow.
    pub workflow: Option<&'a str>,
}

/// The examples among `events` (store order), oldest first. `verified` says whether a proof
/// holds for the event that carries it.
pub fn examples(
    events: &[Event],
    filter: &Filter<'_>,
    verified: &dyn Fn(&Event, &Proof) -> bool,
) -> Vec<Example> {
    let mut recommended: BTreeMap<&str, BTreeMap<Name, BTreeMap<Name, Value>>> = BTreeMap::new();
    let mut out = Vec::new();
    for event in events {
        let e = &event.event;
        if filter.workflow.is_some_and(|w| w != e.workflow) {
            continue;
        }
        let Some(run) = e.run.as_deref() else {
            continue;
        };
        let label = match e.kind {
            EventKind::Recommended => {
                if let (Some(step), Ok(data)) = (&e.step, Recommended::deserialize(&e.data)) {
                    recommended
                        .entry(run)
                        .or_default()
                        .insert(Name::new(step), data.values);
                }
                continue;
            }
            EventKind::Confirmed => Label::Confirmed,
            EventKind::Rejected => Label::Rejected,
            EventKind::Expired => Label::Expired,
            _ => continue,
        };
        let at = clock::parse(&event.at).unwrap_or(0);
        if filter.since.is_some_and(|since| at < since) {
            continue;
        }
        let Ok(decided) = Decided::deserialize(&e.data) else {
            continue;
        };
        out.push(example(
            event,
            label,
            decided,
            recommended.get(run).cloned().unwrap_or_default(),
            verified,
        ));
    }
    out
}

fn example(
    event: &Event,
    label: Label,
    decided: Decided,
    recommended: BTreeMap<Name, BTreeMap<Name, Value>>,
    verified: &dyn Fn(&Event, &Proof) -> bool,
) -> Example {
    let e = &event.event;
    // An expiry is the timer's: whatever its data says, no person and no identity.
    let human = label != Label::Expired;
    let identity = Proof::of(&e.data)
        .filter(|_| human)
        .map(|proof| IdentityRecord {
            how: proof.identity,
            key: proof
                .signature
                .as_deref()
                .and_then(|armored| crate::identity::Signature::parse(armored).ok())
                .map(|signature| signature.public_key().fingerprint()),
            verified: verified(event, &proof),
        });
    Example {
        workflow: e.workflow.clone(),
        run: e.run.clone().unwrap_or_default(),
        fingerprint: e.fingerprint.clone(),
        step: e.step.clone().unwrap_or_default(),
        decision: label,
        reason: decided.note,
        person: e.person.clone().filter(|_| human),
        role: e.role.clone().filter(|_| human),
        at: event.at.clone(),
        escalated: decided.escalated,
        quorum: decided.quorum,
        identity,
        recommended,
        shown: Shown {
            shows: decided.shows,
            actions: decided
                .gates
                .into_iter()
                .map(|gate| ShownAction {
                    step: gate.step,
                    system: gate.system,
                    target: gate.target,
                    action: gate.action,
                })
                .collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::event::NewEvent;
    use serde_json::json;

    fn event(seq: u64, kind: EventKind, person: Option<&str>, data: serde_json::Value) -> Event {
        Event {
            seq,
            at: "2026-01-02T03:04:05.000Z".to_owned(),
            event: NewEvent {
                run: Some("r1".to_owned()),
                workflow: "w".to_owned(),
                kind,
                person: person.map(str::to_owned),
                role: person.map(|_| "lead".to_owned()),
                fingerprint: "f".to_owned(),
                step: Some(
                    if kind == EventKind::Recommended {
                        "suggest"
                    } else {
                        "review"
                    }
                    .to_owned(),
                ),
                data,
            },
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn auto_decisions_are_left_out_and_an_expiry_names_nobody() {
        let decided = json!({"shows": [], "gates": [], "identity": "asserted"});
        let events = [
            event(
                1,
                EventKind::Recommended,
                None,
                json!({"output": {}, "values": {"p": "low"}}),
            ),
            event(
                2,
                EventKind::AutoConfirmed,
                None,
                json!({"confirms": [], "figures": {}, "gates": []}),
            ),
            // An expiry whose data claims a person: the timer decided, not a person.
            event(3, EventKind::Expired, Some("sam"), decided.clone()),
            event(4, EventKind::Rejected, Some("sam"), decided),
        ];
        let filter = Filter {
            since: None,
            workflow: None,
        };
        let out = examples(&events, &filter, &|_, _| true);
        let labels: Vec<Label> = out.iter().map(|e| e.decision).collect();
        assert_eq!(labels, [Label::Expired, Label::Rejected]);
        assert_eq!(
            (out[0].person.as_deref(), out[0].identity.is_none()),
            (None, true)
        );
        assert_eq!(out[1].person.as_deref(), Some("sam"));
        assert_eq!(
            out[0].recommended.get("suggest").and_then(|v| v.get("p")),
            Some(&Value::Text("low".to_owned()))
        );
        let later = Filter {
            since: Some(i64::MAX),
            workflow: None,
        };
        assert!(examples(&events, &later, &|_, _| true).is_empty());
    }
}
