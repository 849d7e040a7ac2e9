//! The executor's last check before a write: a decision that allows it must still hold now.
//!
//! A `confirmed` event allows a write when its gates name the write's hash. Right before the
//! write, each such decision is verified again against the registry the store trusts *now*:
//! its signature, its signer, and the signer's role; that its statement says exactly what the
//! event records (this run, step, plan and writes); that its signer did not start the run; and
//! that the role is the one the confirm waited for. A decision whose key was revoked, whose
//! signer lost the role, or that was put into the store by hand without a valid signature, or
//! with a valid one made for something else, allows nothing. An `auto_confirmed` event is the runner's own (the autonomy gate).

use std::collections::{BTreeMap, BTreeSet};

use super::audit::agrees;
use super::open::{self, Pinned};
use super::proof::{Proof, verify};
use crate::runtime::clock::Millis;
use crate::runtime::event::{Event, EventKind};
use crate::runtime::record::Decided;
use crate::runtime::run::RunState;
use crate::runtime::store::Store;

/// `Ok` when some decision on run `run` that allows `hash` still holds at `now`; otherwise
/// why not, in words.
pub fn holds(store: &dyn Store, run: &str, hash: &str, now: Millis) -> Result<(), String> {
    let pinned = open::current(store)
        .map_err(|e| e.to_string())?
        .ok_or("the store has no registry")?;
    let events = store.run_events(run).map_err(|e| e.to_string())?;
    let mut reasons = Vec::new();
    // Per confirm step: the people whose decision allowing `hash` still holds, and how many
    // it needs (a quorum's every confirmation must still hold).
    let mut holding: BTreeMap<&str, (BTreeSet<&str>, u64)> = BTreeMap::new();
    // The run as it stood before each event: who started it, which role each confirm waits
    // for. A decision is judged against that, never against what its own event claims.
    let mut state: Option<RunState> = None;
    for event in &events {
        let allows = |gates: &[crate::runtime::record::Gate]| gates.iter().any(|g| g.hash == hash);
        match (event.event.kind, &state) {
            (EventKind::AutoConfirmed, _) => {
                let data: crate::runtime::record::AutoConfirmed =
                    match serde_json::from_value(event.event.data.clone()) {
                        Ok(data) => data,
                        Err(_) => continue,
                    };
                if allows(&data.gates) {
                    return Ok(());
                }
            }
            (EventKind::Confirmed, Some(before)) => {
                let Ok(data) = serde_json::from_value::<Decided>(event.event.data.clone()) else {
                    continue;
                };
                if !allows(&data.gates) {
                    continue;
                }
                let person = event.event.person.as_deref().unwrap_or_default();
                let confirm = event.event.step.as_deref().unwrap_or_default();
                let entry = holding.entry(confirm).or_default();
                entry.1 = entry.1.max(data.quorum.map_or(1, |q| q.needed));
                match still_holds(&pinned, before, event, now) {
                    Ok(()) => {
                        entry.0.insert(person);
                    }
                    Err(reason) => reasons.push(format!("event {}: {reason}", event.seq)),
                }
            }
            _ => {}
        }
        state = match state.take() {
            None => RunState::start(event).ok(),
            Some(mut run) => run.apply(event).ok().map(|()| run),
        };
    }
    for (confirm, (people, needed)) in &holding {
        if people.len() as u64 >= *needed {
            return Ok(());
        }
        if *needed > 1 {
            reasons.push(format!(
                "`{confirm}` needs {needed} people and {} still hold",
                people.len()
            ));
        }
    }
    if reasons.is_empty() {
        reasons.push("no decision allows it".to_owned());
    }
    Err(format!(
        "no decision that still holds allows this write ({}); nothing was written",
        reasons.join("; ")
    ))
}

/// Whether the `confirmed` `event` still holds, judged against the run as it stood `before`
/// it: signed now-validly by its person, about exactly this run, step, plan and writes, not by
/// the run's starter (four eyes), and by a person of the role the confirm waited for.
fn still_holds(
    pinned: &Pinned,
    before: &RunState,
    event: &Event,
    now: Millis,
) -> Result<(), String> {
    let person = event.event.person.as_deref().unwrap_or_default();
    let role = event.event.role.as_deref().unwrap_or_default();
    let proof = Proof::of(&event.event.data).ok_or("it carries no statement")?;
    verify(&pinned.registry, &proof, person, now).map_err(|e| format!("`{person}`: {e}"))?;
    if let Some(text) = &proof.statement {
        agrees(event, text, &pinned.store)?;
    }
    if person == before.starter {
        return Err(format!("`{person}` started the run (four eyes)"));
    }
    let confirm = event.event.step.as_deref().unwrap_or_default();
    let waited_for = before
        .steps
        .get(confirm)
        .and_then(|s| s.deciding_role.as_ref())
        .map(|r| r.as_str());
    if waited_for != Some(role) {
        return Err(format!("`{confirm}` did not wait for the role `{role}`"));
    }
    if !pinned.registry.has_role(person, role) {
        return Err(format!("`{person}` no longer has the role `{role}`"));
    }
    Ok(())
}
