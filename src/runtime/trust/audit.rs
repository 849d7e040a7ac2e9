//! `writ audit verify`: the whole store checked, not only its hash chain. Every event links to
//! the one before; times never go backwards; the first event is the registry's genesis; every
//! act a person must sign carries a statement whose signature holds against the registry in
//! force at that point (so a decision stays verifiable after keys rotate), by the person the
//! event names, about exactly what the event records; and each checkpoint given is held and
//! extended by the store.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::TrustError;
use super::open::{Pinned, RegistryChanged};
use super::proof::{Proof, verify};
use super::statement;
use crate::identity::PublicKey;
use crate::identity::note::{self, Checkpoint};
use crate::runtime::clock;
use crate::runtime::config::Identity;
use crate::runtime::event::{Event, EventKind};
use crate::runtime::record::{Decided, Escalated, Requested, Switch};
use crate::runtime::store::{ChainReport, Store};

/// What the audit found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub events: u64,
    /// Acts proven by a signature, and acts only asserted (`identity: asserted`).
    pub signed: u64,
    pub asserted: u64,
    /// The last event's hash.
    pub head: String,
    /// The first problem, if any: the event and why.
    pub broken: Option<(u64, String)>,
}

/// Audits every event of `store`.
pub fn audit(store: &dyn Store) -> Result<Report, TrustError> {
    let mut report = Report {
        events: 0,
        signed: 0,
        asserted: 0,
        head: crate::runtime::store::chain::GENESIS_HASH.to_owned(),
        broken: None,
    };
    if let ChainReport::Broken { seq, reason } = store.verify()? {
        report.broken = Some((seq, reason));
        return Ok(report);
    }
    let mut walk = Walk {
        registry: None,
        last_at: String::new(),
        report: &mut report,
        batch: Vec::new(),
        failure: None,
        starters: HashMap::new(),
        waiting: HashMap::new(),
    };
    store.scan(&mut |event| {
        if let Err(reason) = walk.event(&event) {
            walk.fail(event.seq, reason);
        }
        if walk.batch.len() >= BATCH {
            walk.flush();
        }
        walk.failure.is_none()
    })?;
    walk.flush();
    let failure = walk.failure.take();
    report.broken = failure;
    Ok(report)
}

/// Signatures are checked in batches of this many, on every core.
const BATCH: usize = 4_096;

/// One signature to check: its event, proof, signer and time, and the registry then.
struct Job {
    seq: u64,
    proof: Proof,
    person: String,
    at: clock::Millis,
    registry: Arc<Pinned>,
    event: Event,
}

impl Job {
    /// The signature holds, and the statement says what the event records.
    fn check(&self) -> Result<(), String> {
        verify(&self.registry, &self.proof, &self.person, self.at).map_err(|e| e.to_string())?;
        match &self.proof.statement {
            Some(text) => agrees(&self.event, text, &self.registry.store),
            None => Ok(()),
        }
    }
}

struct Walk<'a> {
    registry: Option<Arc<Pinned>>,
    last_at: String,
    report: &'a mut Report,
    batch: Vec<Job>,
    /// The first problem found (lowest event number).
    failure: Option<(u64, String)>,
    /// Run -> the person who started it.
    starters: HashMap<String, String>,
    /// (run, confirm) -> the role it waits for.
    waiting: HashMap<(String, String), String>,
}

impl Walk<'_> {
    fn fail(&mut self, seq: u64, reason: String) {
        if self.failure.as_ref().is_none_or(|(first, _)| seq < *first) {
            self.failure = Some((seq, reason));
        }
    }

    /// Checks the batched signatures on every core; the first failure (by event) is kept.
    fn flush(&mut self) {
        let jobs = std::mem::take(&mut self.batch);
        if jobs.is_empty() {
            return;
        }
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let chunk = jobs.len().div_ceil(threads).max(1);
        let failures: Vec<(u64, String)> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .find_map(|job| job.check().err().map(|e| (job.seq, e)))
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap_or(Some((0, "a check failed".into()))))
                .collect()
        });
        for (seq, reason) in failures {
            self.fail(seq, reason);
        }
    }

    fn event(&mut self, event: &Event) -> Result<(), String> {
        self.report.events = event.seq;
        self.report.head = event.hash.clone();
        if event.at < self.last_at {
            return Err(format!(
                "its time {} is before the event before it ({})",
                event.at, self.last_at
            ));
        }
        self.last_at = event.at.clone();
        let at = clock::parse(&event.at).ok_or("its time cannot be read")?;
        let kind = event.event.kind;
        if kind == EventKind::RegistryChanged {
            return self.registry_changed(event, at);
        }
        if self.registry.is_none() {
            return Err("the store does not begin with its registry (`registry_changed`)".into());
        }
        self.decided_by_rule(event)?;
        let Some(registry) = &self.registry else {
            return Err("the store does not begin with its registry (`registry_changed`)".into());
        };
        if !needs_proof(event) {
            return Ok(());
        }
        // An act a person must sign is never anonymous: stripping its signer is tampering.
        let person = event
            .event
            .person
            .as_deref()
            .ok_or_else(|| format!("`{}` by nobody", kind.as_str()))?;
        let proof = Proof::of(&event.event.data)
            .ok_or_else(|| format!("`{}` by `{person}` carries no statement", kind.as_str()))?;
        match proof.identity {
            Identity::Signed => self.report.signed += 1,
            Identity::Asserted => self.report.asserted += 1,
        }
        self.batch.push(Job {
            seq: event.seq,
            proof,
            person: person.to_owned(),
            at,
            registry: Arc::clone(registry),
            event: event.clone(),
        });
        Ok(())
    }

    /// Keeps each run's starter and the role each confirm waits for, and checks that a
    /// decision is by neither the starter (four eyes) nor a person outside that role: the
    /// commands never record one, so such an event was put into the store by hand.
    fn decided_by_rule(&mut self, event: &Event) -> Result<(), String> {
        let new = &event.event;
        let run = new.run.clone().unwrap_or_default();
        let step = new.step.clone().unwrap_or_default();
        match new.kind {
            EventKind::RunStarted => {
                self.starters
                    .insert(run, new.person.clone().unwrap_or_default());
            }
            EventKind::ConfirmationRequested => {
                let data: Requested = serde_json::from_value(new.data.clone())
                    .map_err(|e| format!("the request cannot be read: {e}"))?;
                self.waiting.insert((run, step), data.role.to_string());
            }
            EventKind::Escalated => {
                let data: Escalated = serde_json::from_value(new.data.clone())
                    .map_err(|e| format!("the escalation cannot be read: {e}"))?;
                self.waiting.insert((run, step), data.to.to_string());
            }
            EventKind::Confirmed | EventKind::Rejected => {
                let person = new.person.as_deref().unwrap_or_default();
                if self.starters.get(&run).map(String::as_str) == Some(person) {
                    return Err(format!(
                        "`{person}` started run `{run}` and decided it (four eyes)"
                    ));
                }
                let role = new.role.as_deref().unwrap_or_default();
                // (A decision with no request recorded before it allows no write: the
                // executor refuses it.)
                let waited = self.waiting.get(&(run, step.clone()));
                if waited.is_some_and(|waited| waited != role) {
                    return Err(format!("`{step}` did not wait for the role `{role}`"));
                }
                let registry = self.registry.as_ref().map(|r| &r.registry);
                if !registry.is_some_and(|r| r.has_role(person, role)) {
                    return Err(format!("`{person}` does not have the role `{role}`"));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn registry_changed(&mut self, event: &Event, at: clock::Millis) -> Result<(), String> {
        let data: RegistryChanged = serde_json::from_value(event.event.data.clone())
            .map_err(|e| format!("the registry cannot be read: {e}"))?;
        match &self.registry {
            None if data.genesis && event.seq == 1 => {}
            None => return Err("the store does not begin with its registry's genesis".into()),
            Some(_) if data.genesis => return Err("a second genesis".into()),
            Some(previous) => {
                // A change is signed by an admin of the registry it replaces.
                let person = event
                    .event
                    .person
                    .as_deref()
                    .ok_or("a registry change by nobody")?;
                if !previous.registry.has_role(person, "admin") {
                    return Err(format!(
                        "`{person}` changed the registry without the role `admin`"
                    ));
                }
                let proof = Proof::of(&event.event.data).ok_or("a registry change unsigned")?;
                verify(previous, &proof, person, at).map_err(|e| e.to_string())?;
                if let Some(text) = &proof.statement {
                    agrees(event, text, &previous.store)?;
                }
                if data.store != previous.store {
                    return Err("a registry change names another store".into());
                }
            }
        }
        if data.registry.hash() != data.hash {
            return Err("the registry does not have the hash it records".into());
        }
        // Signatures under the registry being replaced are checked against it first.
        self.flush();
        self.registry = Some(Arc::new(
            Pinned::new(data, event.seq).map_err(|e| e.to_string())?,
        ));
        Ok(())
    }
}

/// Whether a person's act must carry a statement.
fn needs_proof(event: &Event) -> bool {
    match event.event.kind {
        EventKind::RunStarted
        | EventKind::Confirmed
        | EventKind::Rejected
        | EventKind::PlanApproved
        | EventKind::WorkflowKilled
        | EventKind::WorkflowRevived => true,
        // The first event of a requested rollback carries it; later ones name the person only.
        EventKind::RollbackStarted => Proof::of(&event.event.data).is_some(),
        _ => false,
    }
}

/// The statement says what the event records: the act of its kind, for its store, run, step,
/// plan and (for a decision) exactly the writes the event allows.
pub(crate) fn agrees(event: &Event, text: &str, store: &str) -> Result<(), String> {
    let statement = statement::parse(text).map_err(|e| e.to_string())?;
    let field = |name: &str| statement.get(name).cloned().unwrap_or(Value::Null);
    let text_of = |name: &str| field(name).as_str().map(str::to_owned);
    if text_of("store").as_deref() != Some(store) {
        return Err("the statement was made for another store".into());
    }
    let new = &event.event;
    let act = text_of("act").unwrap_or_default();
    let expected = match new.kind {
        EventKind::RunStarted => "start_run",
        EventKind::Confirmed | EventKind::Rejected => "decide",
        EventKind::PlanApproved => "approve_plan",
        EventKind::WorkflowKilled => "kill",
        EventKind::WorkflowRevived => "revive",
        EventKind::RollbackStarted => "rollback",
        EventKind::RegistryChanged => "change_registry",
        other => return Err(format!("`{}` is not an act a person signs", other.as_str())),
    };
    if act != expected {
        return Err(format!(
            "the statement is `{act}`, the event `{}`",
            new.kind.as_str()
        ));
    }
    let same = |name: &str, value: Option<&str>| {
        if value.is_some() && text_of(name).as_deref() != value {
            return Err(format!("the statement's `{name}` is not the event's"));
        }
        Ok(())
    };
    same("run", new.run.as_deref())?;
    if matches!(
        new.kind,
        EventKind::RunStarted
            | EventKind::Confirmed
            | EventKind::Rejected
            | EventKind::PlanApproved
    ) {
        same("fingerprint", Some(&new.fingerprint))?;
    }
    if matches!(new.kind, EventKind::Confirmed | EventKind::Rejected) {
        same("step", new.step.as_deref())?;
        let decision = if new.kind == EventKind::Confirmed {
            "confirm"
        } else {
            "reject"
        };
        same("decision", Some(decision))?;
        let data: Decided = serde_json::from_value(new.data.clone())
            .map_err(|e| format!("the decision cannot be read: {e}"))?;
        let gates: Vec<Value> = data
            .gates
            .iter()
            .map(|g| Value::from(g.hash.as_str()))
            .collect();
        if field("gates") != Value::Array(gates) {
            return Err("the statement allows other writes than the event records".into());
        }
    }
    if matches!(
        new.kind,
        EventKind::WorkflowKilled | EventKind::WorkflowRevived
    ) {
        let data: Switch = serde_json::from_value(new.data.clone())
            .map_err(|e| format!("the kill switch event cannot be read: {e}"))?;
        match &data.system {
            Some(system) => same("system", Some(system.as_str()))?,
            None if field("system").is_null() => same("workflow", Some(&new.workflow))?,
            None => return Err("the statement's `system` is not the event's".into()),
        }
        same("reason", data.reason.as_deref())?;
    }
    if new.kind == EventKind::RegistryChanged
        && text_of("to").as_deref() != Some(new.fingerprint.as_str())
    {
        return Err("the statement names another registry".into());
    }
    Ok(())
}

/// Checks a checkpoint note against the store: signed by the store's runner key (as its
/// genesis records it), about this store, and held and extended by it (the event at the
/// checkpoint's count has the checkpoint's head hash). Returns the people who cosigned it.
pub fn check_checkpoint(
    store: &dyn Store,
    note_text: &str,
    report: &Report,
) -> Result<Vec<String>, String> {
    let genesis = super::open::history(store)
        .map_err(|e| e.to_string())?
        .into_iter()
        .next()
        .ok_or("the store has no registry")?;
    let latest = super::open::current(store)
        .map_err(|e| e.to_string())?
        .ok_or("the store has no registry")?;
    let runner = PublicKey::from_openssh(&genesis.runner_key).map_err(|e| e.to_string())?;
    let verified = note::verify(note_text, &runner, &latest.signers, clock::now() / 1_000)
        .map_err(|e| e.to_string())?;
    let Checkpoint {
        origin,
        count,
        head,
    } = verified.checkpoint;
    if origin != origin_of(&genesis.store) {
        return Err(format!("the checkpoint is of `{origin}`, not this store"));
    }
    if count > report.events {
        return Err(format!(
            "the checkpoint saw {count} events, the store holds {}: its tail was cut",
            report.events
        ));
    }
    let mut found = None;
    store
        .scan(&mut |event| {
            if event.seq == count {
                found = Some(event.hash);
                return false;
            }
            true
        })
        .map_err(|e| e.to_string())?;
    let at_count = if count == 0 {
        Some(crate::runtime::store::chain::GENESIS_HASH.to_owned())
    } else {
        found
    };
    if at_count.as_deref() != Some(head.as_str()) {
        return Err(format!(
            "event {count} is not the one the checkpoint saw: the chain was rewritten"
        ));
    }
    Ok(verified.cosigners)
}

/// The origin line of a store's checkpoints.
pub fn origin_of(store: &str) -> String {
    format!("writ/{store}")
}
