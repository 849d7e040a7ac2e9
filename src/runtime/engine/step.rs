//! One step's work, run on a blocking thread: a recommend step's read, an execute step's write
//! in the order docs/runtime.md fixes (content check, kill switch, before-image, write,
//! `written`, verify). Each returns the events it appended, so the executor's replayed state
//! stays exactly the store's.

use std::sync::Arc;
use std::time::Duration;

use super::shared::Shared;
use crate::plan::{PlanAction, PlanStep};
use crate::runtime::connector::{ConnectorError, Row, exec, http, sqlite};
use crate::runtime::event::{Event, EventKind, NewEvent};
use crate::runtime::record::{self, BeforeImage, Recommended, Wrote};
use crate::runtime::render::{Rendered, Scope, render};
use crate::runtime::store::StoreError;
use crate::runtime::switch;
use crate::runtime::systems::{Target, bound_hash};
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

fn timeout(shared: &Shared) -> Duration {
    shared.config.limits.step_timeout
}

fn recommend(shared: &Arc<Shared>, job: &Job, events: &mut Vec<Event>) -> Result<(), String> {
    let action = job.step.run.as_ref().ok_or("the step has no action")?;
    let target = shared
        .systems
        .for_reading(&job.step.reads, action)
        .map(|(_, t)| t);
    let rendered = render(action, &job.scope).map_err(|e| e.to_string())?;
    let Answer {
        output,
        stdout,
        stderr,
    } = read(shared, target, &rendered)?;
    let first = match &output {
        serde_json::Value::Array(rows) => rows
            .first()
            .cloned()
            .unwrap_or(serde_json::Value::Object(Default::default())),
        other => other.clone(),
    };
    let values = check_output(&job.step.yields, &first)
        .map_err(|e| format!("the recommendation was refused: {e}"))?;
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

/// What a read answered: sqlite rows as a JSON array, or a program's or server's JSON
/// object; and a program's own output, verbatim.
struct Answer {
    output: serde_json::Value,
    stdout: Option<String>,
    stderr: Option<String>,
}

impl Answer {
    fn json(output: serde_json::Value) -> Answer {
        Answer {
            output,
            stdout: None,
            stderr: None,
        }
    }
}

fn read(shared: &Shared, target: Option<&Target>, rendered: &Rendered) -> Result<Answer, String> {
    let fail = |e: ConnectorError| e.to_string();
    match (rendered, target) {
        (Rendered::Sqlite { sql, params }, Some(Target::Sqlite { path })) => {
            let rows = sqlite::read(path, sql, params, timeout(shared)).map_err(fail)?;
            Ok(Answer::json(rows_json(&rows)))
        }
        (Rendered::Exec { program, args }, target) => {
            let out = exec::run(
                &shared.systems.program(program),
                args,
                Some(shared.systems.workdir(target)),
                timeout(shared),
            )
            .map_err(fail)?;
            Ok(Answer {
                output: out.json.unwrap_or_else(empty),
                stdout: Some(out.stdout),
                stderr: Some(out.stderr),
            })
        }
        (Rendered::Http { method, url, body }, Some(target @ Target::Http { .. })) => {
            let out = call_http(shared, target, method, url, body.as_ref())?;
            Ok(Answer::json(out))
        }
        _ => Err("no system fits this action".to_owned()),
    }
}

fn empty() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

fn rows_json(rows: &[Row]) -> serde_json::Value {
    serde_json::Value::Array(
        rows.iter()
            .map(|row| {
                serde_json::Value::Object(
                    row.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
                )
            })
            .collect(),
    )
}

/// One request to an http system, with its token and time limit.
pub(super) fn call_http(
    shared: &Shared,
    target: &Target,
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let Target::Http {
        base_url,
        token,
        timeout: own,
    } = target
    else {
        return Err("not an http system".to_owned());
    };
    let limit = own.unwrap_or(timeout(shared));
    let token = token.as_ref().map_err(Clone::clone)?;
    http::call(base_url, token.as_deref(), method, url, body, limit)
        .map(|out| out.json.unwrap_or_else(empty))
        .map_err(|e| e.to_string())
}

fn execute(shared: &Arc<Shared>, job: &Job, events: &mut Vec<Event>) -> Result<(), String> {
    let step = &job.step;
    let system = step.writes.clone().ok_or("the step writes no system")?;
    let target = shared
        .systems
        .targets
        .get(&system)
        .ok_or("its system is not resolved")?;
    let action = step.run.as_ref().ok_or("the step has no action")?;
    let rendered = render(action, &job.scope).map_err(|e| e.to_string())?;
    let described = target.describe();
    let hash = bound_hash(&system, &described, &rendered);
    // INVARIANT: no write without a decision that saw exactly this action on this target.
    if !job.allowed.contains(&hash) {
        return Err(format!(
            "the action differs from every one a decision allowed (its hash is {hash}); \
             nothing was written"
        ));
    }
    let mut wrote = Wrote {
        system: system.clone(),
        target: described,
        action: record::data(&rendered),
        hash,
        changes: None,
        output: None,
        values: Default::default(),
        recovered: false,
        killed_by: None,
    };
    let systems = [system.clone()];
    let kill = switch::holding(&**shared.store(), &job.header.workflow, &systems)
        .map_err(|e| e.to_string())?;
    if let Some(kill) = kill {
        wrote.killed_by = Some(kill.seq);
        let event = job
            .header
            .event(EventKind::Drafted, &step.name, record::data(&wrote));
        events.push(shared.append(event).map_err(|e| e.to_string())?);
        return Ok(());
    }
    write(shared, job, target, &rendered, &mut wrote, events)?;
    let event = job
        .header
        .event(EventKind::Written, &step.name, record::data(&wrote));
    events.push(shared.append(event).map_err(|e| e.to_string())?);
    if let Some(verify) = &step.verify {
        check(shared, Some(target), verify, &job.scope)
            .map_err(|reason| format!("verify of `{}`: {reason}", step.name))?;
    }
    Ok(())
}

/// The write itself; the before-image is durable before it can take effect.
fn write(
    shared: &Arc<Shared>,
    job: &Job,
    target: &Target,
    rendered: &Rendered,
    wrote: &mut Wrote,
    events: &mut Vec<Event>,
) -> Result<(), String> {
    let step = &job.step;
    let image = |before: Option<&Row>, after: Option<&Row>| {
        let data = BeforeImage {
            system: wrote.system.clone(),
            hash: wrote.hash.clone(),
            before: before.cloned(),
            after: after.cloned(),
        };
        job.header
            .event(EventKind::BeforeImage, &step.name, record::data(&data))
    };
    match (rendered, target) {
        (Rendered::Sqlite { sql, params }, Target::Sqlite { path }) => {
            let capture = match &step.capture {
                Some(action) => match render(action, &job.scope).map_err(|e| e.to_string())? {
                    Rendered::Sqlite { sql, params } => Some((sql, params)),
                    _ => return Err("the capture is not sql".to_owned()),
                },
                None => None,
            };
            let mut appended = None;
            let result = sqlite::write_in_turn(
                path,
                shared.system_turn(&wrote.system),
                capture.as_ref().map(|(s, p)| (s.as_str(), p.as_slice())),
                (sql, params),
                timeout(shared),
                |images: sqlite::Images<'_>| -> Result<(), HookError> {
                    appended = Some(shared.append(image(images.before, images.after))?);
                    Ok(())
                },
            );
            events.extend(appended);
            let written = result.map_err(|e| e.to_string())?;
            shared.crash_if("commit", Some(&step.name));
            wrote.changes = Some(written.changes as u64);
            Ok(())
        }
        (Rendered::Exec { .. } | Rendered::Http { .. }, _) => {
            events.push(
                shared
                    .append(image(None, None))
                    .map_err(|e| e.to_string())?,
            );
            let output = read(shared, Some(target), rendered)?.output;
            wrote.values = check_output(&step.yields, &output)
                .map_err(|e| format!("the system's answer was refused: {e}"))?;
            wrote.output = Some(output);
            Ok(())
        }
        _ => Err("the action does not fit its system".to_owned()),
    }
}

/// A `before_write` failure: the store, or the connector (converted by the connector itself).
#[derive(Debug, thiserror::Error)]
enum HookError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
}

/// A `verify` read: sqlite through the connector's own check; a program's or server's JSON
/// object must have every value true, non-zero, non-null and non-empty.
pub fn check(
    shared: &Shared,
    target: Option<&Target>,
    action: &PlanAction,
    scope: &Scope,
) -> Result<(), String> {
    let rendered = render(action, scope).map_err(|e| e.to_string())?;
    if let (Rendered::Sqlite { sql, params }, Some(Target::Sqlite { path })) = (&rendered, target) {
        return sqlite::verify(path, sql, params, timeout(shared)).map_err(|e| e.to_string());
    }
    let output = read(shared, target, &rendered)?.output;
    let object = output.as_object().ok_or("the answer is not an object")?;
    match object.iter().find(|(_, v)| !truthy(v)) {
        Some((key, value)) => Err(format!("returned {value} in `{key}`")),
        None if object.is_empty() => Err("returned nothing".to_owned()),
        None => Ok(()),
    }
}

fn truthy(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Null => false,
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        serde_json::Value::String(s) => !s.is_empty(),
        _ => true,
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
        PlanAction::Http { body, .. } => body
            .iter()
            .flat_map(|b| b.values())
            .filter_map(of)
            .collect(),
    }
}
