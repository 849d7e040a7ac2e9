//! The executor's last check before a write: a decision that allows it must still hold now.
//!
//! A `confirmed` event allows a write when its gates name the write's hash. Right before the
//! write, each such decision is verified again against the registry the store trusts *now*:
//! its signature, its signer, and the signer's role. A decision whose key was revoked, whose
//! signer lost the role, or that was put into the store by hand without a valid signature
//! allows nothing. An `auto_confirmed` event is the runner's own (the autonomy gate).

use std::collections::{BTreeMap, BTreeSet};

use super::open;
use super::proof::{Proof, verify};
use crate::runtime::clock::Millis;
use crate::runtime::event::EventKind;
use crate::runtime::record::Decided;
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
    for event in &events {
        let allows = |gates: &[crate::runtime::record::Gate]| gates.iter().any(|g| g.hash == hash);
        match event.event.kind {
            EventKind::AutoConfirmed => {
                let data: crate::runtime::record::AutoConfirmed =
                    match serde_json::from_value(event.event.data.clone()) {
                        Ok(data) => data,
                        Err(_) => continue,
                    };
                if allows(&data.gates) {
                    return Ok(());
                }
            }
            EventKind::Confirmed => {
                let Ok(data) = serde_json::from_value::<Decided>(event.event.data.clone()) else {
                    continue;
                };
                if !allows(&data.gates) {
                    continue;
                }
                let person = event.event.person.as_deref().unwrap_or_default();
                let role = event.event.role.as_deref().unwrap_or_default();
                let confirm = event.event.step.as_deref().unwrap_or_default();
                let entry = holding.entry(confirm).or_default();
                entry.1 = entry.1.max(data.quorum.map_or(1, |q| q.needed));
                let Some(proof) = Proof::of(&event.event.data) else {
                    reasons.push(format!("event {} carries no statement", event.seq));
                    continue;
                };
                if let Err(error) = verify(&pinned, &proof, person, now) {
                    reasons.push(format!("event {} by `{person}`: {error}", event.seq));
                    continue;
                }
                if !pinned.registry.has_role(person, role) {
                    reasons.push(format!(
                        "event {}: `{person}` no longer has the role `{role}`",
                        event.seq
                    ));
                    continue;
                }
                entry.0.insert(person);
            }
            _ => {}
        }
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
