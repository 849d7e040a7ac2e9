//! One step's work, run on a blocking thread: a recommend step's read, an execute step's write
//! in the order docs/runtime.md fixes (content check, kill switch, before-image, write,
//! `written`, verify). Each returns the events it appended, so the executor's replayed state
//! stays exactly the store's.

use std::sync::Arc;

use super::shared::Shared;
use crate::plan::{Name, PlanAction, PlanStep};
use crate::runtime::connector::bound::{Answer, Applied, Connector, WriteFailure};
use crate::runtime::connector::marker::Mark;
use crate::runtime::event::{Event, EventKind, NewEvent};
use crate::runtime::record::{self, BeforeImage, Recommended, Verified, WriteRefused, Wrote};
use crate::runtime::render::bind;
use crate::runtime::render::{Rendered, Scope, render};
use crate::runtime::switch;
use crate::runtime::systems::bound_hash;
use crate::runtime::value::{Value, check_output};

/// Who a step's events belong to.
#[derive(Clone, Debug)]
pub struct Header {
    pub run: String,
    pub workflow: String,
    pub fingerprint: String,
}

impl Header {
    pub fn event(&self, kind: EventKind, step: &str, data: serde_json::Value) -> NewEvent {
        NewEvent {
            run: Some(self.run.clone()),
            workflow: self.workflow.clone(),
            kind,
            person: None,
            role: None,
            fingerprint: self.fingerprint.clone(),
            step: Some(step.to_owned()),
            data,
        }
    }
}

/// A step to run, with the values its actions refer to.
pub struct Job {
    pub header: Header,
    pub step: Arc<PlanStep>,
    pub scope: Scope,
    /// Execute: the action hashes decisions allow.
    pub allowed: Vec<String>,
    /// Per hash this step may write, the decisions that allow it (`RunState::allowed_by`).
    pub allowed_by: std::collections::BTreeMap<String, Vec<Vec<u64>>>,
    /// Execute: the write is recorded and its `verify` is not; run only the verify.
    pub verify_only: bool,
}

/// What a step did: the events it appended and, if it failed, why.
pub struct Outcome {
    pub events: Vec<Event>,
    pub failure: Option<String>,
}

impl Outcome {
    fn failed(events: Vec<Event>, reason: impl ToString) -> Outcome {
        Outcome {
            events,
            failure: Some(reason.to_string()),
        }
    }
}

pub fn run(shared: &Arc<Shared>, job: &Job) -> Outcome {
    let mut events = Vec::new();
    let result = match job.step.kind {
        "recommend" => recommend(shared, job, &mut events),
        _ => execute(shared, job, &mut events),
    };
    match result {
        Ok(()) => Outcome {
            events,
            failure: None,
        },
        Err(reason) => Outcome::failed(events, reason),
    }
}

fn recommend(shared: &Arc<Shared>, job: &Job, events: &mut Vec<Event>) -> Result<(), String> {
    let action = job.step.run.as_ref().ok_or("the step has no action")?;
    let (system, target) = shared
        .systems
        .for_reading(&job.step.reads, action)
        .map_or((None, None), |(name, target)| (Some(name), Some(target)));
    let rendered = render(action, &job.scope).map_err(|e| e.to_string())?;
    let Answer {
        output,
        whole,
        stdout,
        stderr,
    } = shared
        .connector(system.as_deref(), target)
        .read(&rendered)?;
    let first = match &output {
        serde_json::Value::Array(rows) => rows
            .first()
            .cloned()
            .unwrap_or(serde_json::Value::Object(Default::default())),
        other => other.clone(),
    };
    let values = check_output(&job.step.yields, &first)
        .map_err(|e| format!("the recommendation was refused: {e}"))?;
    // The log keeps what the step yields, not a system's whole answer (unless `record: full`).
    let output = if whole {
        output
    } else {
        serde_json::Value::Object(
            values
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_json()))
                .collect(),
        )
    };
    let data = Recommended {
        output,
        values,
        stdout,
        stderr: stderr.filter(|s| !s.trim().is_empty()),
    };
    let event = job
        .header
        .event(EventKind::Recommended, &job.step.name, record::data(&data));
    events.push(shared.append(event).map_err(|e| e.to_string())?);
    Ok(())
}

fn execute(shared: &Arc<Shared>, job: &Job, events: &mut Vec<Event>) -> Result<(), String> {
    let step = &job.step;
    let system = step.writes.clone().ok_or("the step writes no system")?;
    if job.verify_only {
        return verify(shared, job, &system, events);
    }
    let target = shared
        .systems
        .targets
        .get(&system)
        .ok_or("its system is not resolved")?;
    let action = step.run.as_ref().ok_or("the step has no action")?;
    let rendered = render(action, &job.scope).map_err(|e| e.to_string())?;
    let rendered = bind(rendered, &shared.systems.folder).map_err(|e| e.to_string())?;
    let described = target.describe();
    let hash = bound_hash(&system, &described, &rendered);
    // INVARIANT: no write without a decision that saw exactly this action on this target.
    if !job.allowed.contains(&hash) {
        return Err(format!(
            "the action differs from every one a decision allowed (its hash is {hash}); \
             nothing was written"
        ));
    }
    // INVARIANT: the decision that allows the write still holds now (signature, signer, role,
    // against the registry the store trusts at this moment).
    crate::runtime::trust::allowance::holds(
        &**shared.store(),
        &shared.verified,
        job.allowed_by.get(&hash).map_or(&[][..], Vec::as_slice),
        &hash,
        crate::runtime::clock::now(),
    )?;
    let mut wrote = Wrote {
        system: system.clone(),
        target: described,
        action: record::data(&rendered),
        hash,
        status: None,
        idempotency_key: None,
        headers: Default::default(),
        changes: None,
        beyond: None,
        output: None,
        values: Default::default(),
        recovered: false,
        killed_by: None,
        verify_pending: step.verify.is_some(),
    };
    if let Some(seq) = kill_holding(shared, job, &system)? {
        return drafted(shared, job, &mut wrote, seq, events);
    }
    let connector = shared.connector(Some(&system), Some(target));
    let unfit = match write(shared, job, &*connector, &rendered, &mut wrote, events)? {
        WriteEnd::Killed(seq) => return drafted(shared, job, &mut wrote, seq, events),
        WriteEnd::Refused { status, reason } => {
            return refused(shared, job, &wrote, status, reason, events);
        }
        WriteEnd::Applied => None,
        WriteEnd::AppliedUnfit(reason) => Some(reason),
    };
    let event = job
        .header
        .event(EventKind::Written, &step.name, record::data(&wrote));
    events.push(shared.append(event).map_err(|e| e.to_string())?);
    // INVARIANT: an answer that does not fit `yields` comes after the write took effect: the
    // write is recorded (so it is rolled back like any other) and then the step fails.
    if let Some(reason) = unfit {
        return Err(reason);
    }
    verify(shared, job, &system, events)
}

/// How a write ended, for the events that follow it.
enum WriteEnd {
    /// A kill stopped it at the last moment: nothing was written.
    Killed(u64),
    /// The system refused it: nothing was applied.
    Refused {
        status: Option<u16>,
        reason: String,
    },
    Applied,
    /// Applied, but the answer does not fit the step's `yields`: the step fails.
    AppliedUnfit(String),
}

/// Records that the system refused the write (so it is neither in doubt nor to reverse) and
/// fails the step.
fn refused(
    shared: &Arc<Shared>,
    job: &Job,
    wrote: &Wrote,
    status: Option<u16>,
    reason: String,
    events: &mut Vec<Event>,
) -> Result<(), String> {
    let data = WriteRefused {
        system: wrote.system.clone(),
        target: wrote.target.clone(),
        hash: wrote.hash.clone(),
        status,
        reason: reason.clone(),
    };
    let event = job
        .header
        .event(EventKind::WriteRefused, &job.step.name, record::data(&data));
    events.push(shared.append(event).map_err(|e| e.to_string())?);
    Err(reason)
}

/// Runs the step's `verify`, if any, and records `verified` when it passes: until then the
/// step is not complete, and a resumed run runs the verify again (never the write).
fn verify(
    shared: &Arc<Shared>,
    job: &Job,
    system: &Name,
    events: &mut Vec<Event>,
) -> Result<(), String> {
    let step = &job.step;
    let Some(verify) = &step.verify else {
        return Ok(());
    };
    let target = shared.systems.targets.get(system);
    let rendered = render(verify, &job.scope).map_err(|e| e.to_string())?;
    shared
        .connector_for(Some(system), target, &rendered)
        .verify(&rendered)
        .map_err(|reason| format!("verify of `{}`: {reason}", step.name))?;
    let data = Verified {
        action: record::data(&rendered),
    };
    let event = job
        .header
        .event(EventKind::Verified, &step.name, record::data(&data));
    events.push(shared.append(event).map_err(|e| e.to_string())?);
    Ok(())
}

/// The kill event (its seq) that holds `job`'s workflow or `system` in draft-only mode now.
fn kill_holding(shared: &Arc<Shared>, job: &Job, system: &Name) -> Result<Option<u64>, String> {
    let systems = [system.clone()];
    let targets = shared.target_keys(&systems);
    switch::holding(&**shared.store(), &job.header.workflow, &systems, &targets)
        .map(|kill| kill.map(|k| k.seq))
        .map_err(|e| e.to_string())
}

/// Records the write as `drafted`: a kill held it, and nothing was written.
fn drafted(
    shared: &Arc<Shared>,
    job: &Job,
    wrote: &mut Wrote,
    kill: u64,
    events: &mut Vec<Event>,
) -> Result<(), String> {
    wrote.killed_by = Some(kill);
    let event = job
        .header
        .event(EventKind::Drafted, &job.step.name, record::data(wrote));
    events.push(shared.append(event).map_err(|e| e.to_string())?);
    Ok(())
}

/// The write itself; the before-image is durable before it can take effect. Returns how it
/// ended when the system acted or refused; an error when it may have acted (in doubt).
fn write(
    shared: &Arc<Shared>,
    job: &Job,
    connector: &dyn Connector,
    rendered: &Rendered,
    wrote: &mut Wrote,
    events: &mut Vec<Event>,
) -> Result<WriteEnd, String> {
    let step = &job.step;
    let capture = match &step.capture {
        Some(action) => Some(render(action, &job.scope).map_err(|e| e.to_string())?),
        None => None,
    };
    let (system, hash) = (wrote.system.clone(), wrote.hash.clone());
    let mark = Mark {
        run: &job.header.run,
        step: &step.name,
        hash: &hash,
    };
    let mut killed = None;
    let result = connector.write(rendered, capture.as_ref(), Some(mark), &mut |images| {
        // INVARIANT: a write that changed nothing does not pass for done. Refused here, inside
        // the transaction and before any event, so it rolls back and the step fails clean.
        if images.changes == Some(0) && !step.allow_no_rows {
            return Err(format!(
                "the write of `{}` changed no row, so the step failed and nothing was written; \
                 if no row to change is a correct outcome, add `allow no rows` to the step",
                step.name
            ));
        }
        let data = BeforeImage {
            system: system.clone(),
            hash: hash.clone(),
            before: images.before.map(<[_]>::to_vec),
            after: images.after.map(<[_]>::to_vec),
        };
        let event = job
            .header
            .event(EventKind::BeforeImage, &step.name, record::data(&data));
        events.push(shared.append(event).map_err(|e| e.to_string())?);
        // INVARIANT: a kill recorded before this point wins. The switch is read again here,
        // inside the write's transaction (sqlite: after any wait for the database's lock) or
        // right before the call (exec, http), once `before_image` is durable: a kill ordered
        // before that event stops the write; one after it comes after the write.
        if let Some(seq) = kill_holding(shared, job, &system)? {
            killed = Some(seq);
            return Err(format!("killed by event {seq}; nothing was written"));
        }
        Ok(())
    });
    if let Some(seq) = killed {
        return Ok(WriteEnd::Killed(seq));
    }
    if matches!(rendered, Rendered::Http { .. }) {
        wrote.idempotency_key = Some(crate::runtime::connector::http::idempotency_key(
            &job.header.run,
            &step.name,
            &hash,
        ));
    }
    let applied = match result {
        Ok(applied) => applied,
        Err(WriteFailure::Refused { status, reason }) => {
            return Ok(WriteEnd::Refused { status, reason });
        }
        Err(WriteFailure::AnsweredBadly { reason }) => {
            return Ok(WriteEnd::AppliedUnfit(format!(
                "the system's answer was refused: {reason}"
            )));
        }
        Err(WriteFailure::Failed(reason)) => return Err(reason),
    };
    shared.crash_if("commit", Some(&step.name));
    Ok(took_effect(step, applied, wrote))
}

/// A write that took effect: its answer checked against the step's `yields`.
fn took_effect(step: &PlanStep, applied: Applied, wrote: &mut Wrote) -> WriteEnd {
    wrote.changes = applied.changes;
    wrote.beyond = applied.beyond;
    wrote.status = applied.status;
    wrote.headers = applied.headers.into_iter().collect();
    let whole = applied.whole;
    let output = match (applied.output, applied.status) {
        (Some(output), _) => output,
        (None, Some(status)) if !step.yields.is_empty() => {
            return WriteEnd::AppliedUnfit(format!(
                "the system's answer was refused: it answered {status} with no body, but the \
                 step yields `{}`; the write was applied",
                step.yields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join("`, `")
            ));
        }
        (None, _) => return WriteEnd::Applied,
    };
    let checked = check_output(&step.yields, &output);
    wrote.output = whole.then_some(output);
    match checked {
        Ok(values) => {
            wrote.values = values;
            WriteEnd::Applied
        }
        Err(e) => WriteEnd::AppliedUnfit(format!(
            "the system's answer was refused: {e}; the write was applied"
        )),
    }
}

/// The values of the references `actions` use, from `lookup`.
pub fn scope<'a>(
    actions: impl IntoIterator<Item = &'a PlanAction>,
    lookup: impl Fn(&str) -> Option<Value>,
) -> Scope {
    let mut scope = Scope::new();
    for action in actions {
        for reference in references(action) {
            if let Some(value) = lookup(&reference) {
                scope.insert(reference, value);
            }
        }
    }
    scope
}

fn references(action: &PlanAction) -> Vec<String> {
    use crate::plan::PlanValue;
    let of = |v: &PlanValue| match v {
        PlanValue::Reference { reference } => Some(reference.clone()),
        PlanValue::Literal(_) => None,
    };
    match action {
        PlanAction::Sqlite { references, .. } => references.clone(),
        PlanAction::Exec { args, .. } => args.iter().filter_map(of).collect(),
        PlanAction::Http {
            references, body, ..
        } => references
            .iter()
            .cloned()
            .chain(body.iter().flat_map(|b| b.values()).filter_map(of))
            .collect(),
    }
}
