//! The executor's last check before a write: a decision that allows it must still hold now.
//!
//! The run's replayed state names, per allowed action hash, the decisions that allow it (one
//! `confirmed` event, every confirmation of a quorum, or the runner's `auto_confirmed`); the
//! replay already leaves out a decision by the run's starter or by a role the confirm did not
//! wait for (`run.rs`), so those allow nothing whatever their signature. Right
//! before the write each is checked against the registry the store trusts *now*: its
//! signature, its signer, and the signer's role. A decision whose key was revoked, whose signer
//! lost the role, or that was put into the store by hand without a valid signature allows
//! nothing. A decision's signature is verified once per process and registry; later writes it
//! allows re-check only that its key and role still hold (so 1,000 writes behind one decision
//! cost one signature check, not 1,000).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::audit::agrees;
use super::open::{self, Pinned};
use super::proof::{Proof, verify};
use crate::identity::{NAMESPACE, PublicKey, Signature};
use crate::runtime::clock::Millis;
use crate::runtime::event::EventKind;
use crate::runtime::record::{AutoConfirmed, Decided, Gate};
use crate::runtime::store::Store;

/// What was verified of one decision event.
#[derive(Clone, Debug)]
struct Checked {
    /// The registry event it was verified against.
    registry: u64,
    /// `None` for the runner's own `auto_confirmed`.
    signer: Option<Signer>,
}

#[derive(Clone, Debug)]
struct Signer {
    person: String,
    role: String,
    /// The key that signed (`None` when asserted).
    key: Option<PublicKey>,
}

/// The decisions this process has verified, by event.
#[derive(Default)]
pub struct Verifications(Mutex<BTreeMap<u64, Checked>>);

/// `Ok` when one of `decisions` (each a list of events that must all hold) allows `hash` and
/// still holds at `now`; otherwise why not, in words.
pub fn holds(
    store: &dyn Store,
    cache: &Verifications,
    decisions: &[Vec<u64>],
    hash: &str,
    now: Millis,
) -> Result<(), String> {
    let pinned = open::current(store)
        .map_err(|e| e.to_string())?
        .ok_or("the store has no registry")?;
    let mut reasons = Vec::new();
    for decision in decisions {
        let held: Result<(), String> = decision
            .iter()
            .try_for_each(|seq| one(store, cache, &pinned, *seq, hash, now));
        match held {
            Ok(()) if !decision.is_empty() => return Ok(()),
            Ok(()) => {}
            Err(reason) => reasons.push(reason),
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

/// Whether decision event `seq` allows `hash` and holds now.
fn one(
    store: &dyn Store,
    cache: &Verifications,
    pinned: &Pinned,
    seq: u64,
    hash: &str,
    now: Millis,
) -> Result<(), String> {
    let known = cache
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&seq)
        .cloned()
        .filter(|c| c.registry == pinned.seq);
    let checked = match known {
        Some(checked) => checked,
        None => {
            let checked = full(store, pinned, seq, hash, now)?;
            cache
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(seq, checked.clone());
            checked
        }
    };
    let Some(signer) = checked.signer else {
        return Ok(()); // the runner's autonomy gate
    };
    // Still true now: the key stands for the person (validity times), and the role is theirs.
    if let Some(key) = &signer.key
        && !pinned
            .signers
            .principals_for(key, NAMESPACE, now / 1_000)
            .contains(&signer.person.as_str())
    {
        return Err(format!(
            "event {seq}: `{}`'s key no longer holds",
            signer.person
        ));
    }
    if !pinned.registry.has_role(&signer.person, &signer.role) {
        return Err(format!(
            "event {seq}: `{}` no longer has the role `{}`",
            signer.person, signer.role
        ));
    }
    Ok(())
}

/// Reads decision event `seq` and verifies it in full.
fn full(
    store: &dyn Store,
    pinned: &Pinned,
    seq: u64,
    hash: &str,
    now: Millis,
) -> Result<Checked, String> {
    let event = store
        .event(seq)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("event {seq} is missing"))?;
    let allows = |gates: &[Gate]| gates.iter().any(|g| g.hash == hash);
    let data = &event.event.data;
    match event.event.kind {
        EventKind::AutoConfirmed => {
            let auto: AutoConfirmed = serde_json::from_value(data.clone())
                .map_err(|e| format!("event {seq} is unreadable: {e}"))?;
            if !allows(&auto.gates) {
                return Err(format!("event {seq} does not allow this write"));
            }
            Ok(Checked {
                registry: pinned.seq,
                signer: None,
            })
        }
        EventKind::Confirmed => {
            let decided: Decided = serde_json::from_value(data.clone())
                .map_err(|e| format!("event {seq} is unreadable: {e}"))?;
            if !allows(&decided.gates) {
                return Err(format!("event {seq} does not allow this write"));
            }
            let person = event.event.person.clone().unwrap_or_default();
            let role = event.event.role.clone().unwrap_or_default();
            let proof =
                Proof::of(data).ok_or_else(|| format!("event {seq} carries no statement"))?;
            verify(pinned, &proof, &person, now)
                .map_err(|e| format!("event {seq} by `{person}`: {e}"))?;
            // The signed statement is about exactly this event: this store, run, step, plan
            // and writes (a real signature copied into another run's event allows nothing).
            if let Some(text) = &proof.statement {
                agrees(&event, text, &pinned.store).map_err(|e| format!("event {seq}: {e}"))?;
            }
            let key = proof
                .signature
                .as_deref()
                .and_then(|s| Signature::parse(s).ok())
                .map(|s| s.public_key());
            Ok(Checked {
                registry: pinned.seq,
                signer: Some(Signer { person, role, key }),
            })
        }
        other => Err(format!(
            "event {seq} is `{}`, not a decision",
            other.as_str()
        )),
    }
}
