//! The executor (docs/runtime.md, "A run is its events"): drives one run from its events to its next
//! stop: done, waiting for a human, or failed (after rollback).
//!
//! Ready steps run concurrently on tokio's blocking pool, at most `limits.concurrency` at once,
//! each bounded by `limits.step_timeout` (enforced inside every connector: a program is killed,
//! a query interrupted, a request abandoned). Confirm requests and autonomy decisions are made
//! on the driving task, one at a time, through `decide`. Every event is applied to the run's
//! replayed state as it is appended, so the executor never acts on anything the store does not
//! hold.

mod compensate;
mod recover;
mod requests;
pub mod shared;
mod step;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

pub use shared::Shared;
use step::{Header, Job, Outcome};
use tokio::task::JoinSet;

use super::clock;
use super::decide::{self, Decider, Refusal};
use super::event::{EventKind, NewEvent};
use super::record::{self, Cause, Ended, RunStarted};
use super::run::{Phase, ReplayError, RunState, Status, replay};
use super::store::StoreError;
use super::switch;
use super::value::Value;
use crate::plan::{Name, PlanStep, WriteFacts};
use crate::runtime::trust::Proof;

/// What stops the executor itself (not a run's step: those failures are recorded as events).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Refused(#[from] Refusal),
    #[error("a step's task stopped unexpectedly: {0}")]
    Task(String),
}

/// How far `drive` goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Run every step that can run, until done, waiting or failed.
    Run,
    /// Only settle what decisions already decided: end a rejected or expired run (rolling back
    /// its writes). `writ approve`/`reject` use this: a decision never runs other steps.
    Settle,
}

pub struct Engine {
    shared: Arc<Shared>,
    state: RunState,
    header: Header,
    /// The plan's forward steps by name.
    steps: BTreeMap<Name, Arc<PlanStep>>,
    successors: BTreeMap<Name, Vec<Name>>,
    facts: BTreeMap<Name, WriteFacts>,
    /// Per confirm, the executes it gates (those with it among their `confirmed_by`).
    gated: BTreeMap<Name, Vec<Name>>,
    /// The autonomy gate's verdict per execute, computed once per drive.
    gates: BTreeMap<Name, Option<record::Figures>>,
    /// Executes whose gate held but whose run was sampled for a human review (`review R%`).
    reviews: BTreeMap<Name, record::Review>,
    /// The workflow's history, read once per drive for the autonomy gates (not once per gate).
    history: Option<Arc<Vec<super::event::Event>>>,
    /// The person (and role) on whose command the engine acts, recorded on the events that
    /// end or reverse a run (`writ rollback`, `writ reject`).
    actor: Option<(String, String)>,
    /// The proof of the command's act (its signed statement), kept by the first event the
    /// command appends.
    proof: std::cell::Cell<Option<Proof>>,
    /// `writ rollback --force`: reversals run even while a kill holds the workflow or system.
    force: bool,
}

impl Engine {
    /// Starts run `id` (from [`new_run_id`], locked by the caller first): appends
    /// `run_started` and returns the engine to drive it.
    pub fn start(
        shared: Arc<Shared>,
        id: String,
        file: &Path,
        inputs: BTreeMap<String, Value>,
        person: &str,
        context: Option<String>,
        proof: &Proof,
    ) -> Result<Engine, EngineError> {
        let plan = &shared.plan;
        let data = RunStarted {
            file: file.display().to_string(),
            owner: plan.body.workflow.owner.clone(),
            inputs,
            context,
            writes: plan
                .body
                .writes
                .iter()
                .map(|w| w.system.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            sandbox: Some(shared.systems.sandbox.in_force.clone()),
        };
        let event = NewEvent {
            run: Some(id),
            workflow: plan.body.workflow.name.to_string(),
            kind: EventKind::RunStarted,
            person: Some(person.to_owned()),
            role: None,
            fingerprint: plan.fingerprint.clone(),
            step: None,
            data: record::data(&data),
        };
        let mut event = event;
        proof.attach(&mut event.data);
        shared.claim(&id_of(&event), None);
        let stored = shared.append(event)?;
        let state = RunState::start(&stored)?;
        Ok(Engine::new(shared, state))
    }

    /// The engine of a run already in the store.
    pub fn load(shared: Arc<Shared>, run: &str) -> Result<Engine, EngineError> {
        let events = shared.store().run_events(run)?;
        let state = replay(run, &events)?;
        shared.claim(run, Some(state.last_seq));
        Ok(Engine::new(shared, state))
    }

    fn new(shared: Arc<Shared>, state: RunState) -> Engine {
        let body = &shared.plan.body;
        let steps: BTreeMap<Name, Arc<PlanStep>> = body
            .steps
            .iter()
            .map(|s| (s.name.clone(), Arc::new(s.clone())))
            .collect();
        let mut successors: BTreeMap<Name, Vec<Name>> = BTreeMap::new();
        for step in &body.steps {
            for pred in &step.after {
                successors
                    .entry(pred.clone())
                    .or_default()
                    .push(step.name.clone());
            }
        }
        let facts = body
            .writes
            .iter()
            .map(|w| (w.step.clone(), w.clone()))
            .collect();
        let mut gated: BTreeMap<Name, Vec<Name>> = BTreeMap::new();
        for write in &body.writes {
            for confirm in &write.confirmed_by {
                gated
                    .entry(confirm.clone())
                    .or_default()
                    .push(write.step.clone());
            }
        }
        let header = Header {
            run: state.id.clone(),
            workflow: state.workflow.clone(),
            fingerprint: state.fingerprint.clone(),
        };
        Engine {
            shared,
            state,
            header,
            steps,
            successors,
            facts,
            gated,
            gates: BTreeMap::new(),
            reviews: BTreeMap::new(),
            history: None,
            actor: None,
            proof: std::cell::Cell::new(None),
            force: false,
        }
    }

    /// Records `person` acting in `role` on the events this engine appends for a command.
    pub fn act_as(&mut self, person: &str, role: &str, proof: Option<Proof>) {
        self.actor = Some((person.to_owned(), role.to_owned()));
        self.proof.set(proof);
    }

    /// The run's systems, resolved.
    pub fn systems(&self) -> &super::systems::Systems {
        &self.shared.systems
    }

    pub fn state(&self) -> &RunState {
        &self.state
    }

    pub fn into_state(self) -> RunState {
        self.state
    }

    /// Appends an event and applies it to the run.
    fn record(&mut self, event: NewEvent) -> Result<(), EngineError> {
        let stored = self.shared.append(event)?;
        self.state.apply(&stored)?;
        Ok(())
    }

    fn context(&self, now: clock::Millis) -> Result<decide::Context<'_>, EngineError> {
        let killed = switch::holding(
            &**self.shared.store(),
            &self.state.workflow,
            &self.state.started.writes,
            &self.shared.target_keys(&self.state.started.writes),
        )?
        .is_some();
        Ok(decide::Context {
            run: &self.state,
            plan: &self.shared.plan,
            config: &self.shared.config,
            now,
            killed,
        })
    }

    /// A decision through `decide::decide`, recorded when allowed.
    pub fn decide(&mut self, step: &str, decider: Decider<'_>) -> Result<(), EngineError> {
        let event = decide::decide(&self.context(clock::now())?, step, decider)?;
        self.record(event)
    }

    /// Records every expiry that is due: `expired`, or `escalated` to the escalation role
    /// (whose own deadline may have passed too: then it expires at once).
    pub fn apply_timers(&mut self) -> Result<(), EngineError> {
        let now = clock::now();
        loop {
            let due = self
                .state
                .waiting()
                .into_iter()
                .find(|(_, s)| s.deadline.is_some_and(|d| now >= d))
                .map(|(name, _)| name.clone());
            let Some(step) = due else {
                return Ok(());
            };
            let event = decide::decide(&self.context(now)?, &step, Decider::Timer)?;
            self.record(event)?;
        }
    }

    /// Drives the run to its next stop and returns its state.
    pub async fn drive(&mut self, mode: Mode) -> Result<&RunState, EngineError> {
        if self.state.end.is_some() && self.state.compensating.is_none() {
            return Ok(&self.state);
        }
        if let Some(cause) = self.state.compensating {
            self.compensate(cause, None, None)?;
            return Ok(&self.state);
        }
        self.apply_timers()?;
        if let Some((cause, step)) = self.decided_against() {
            self.compensate(cause, Some(step), None)?;
            return Ok(&self.state);
        }
        if mode == Mode::Settle {
            return Ok(&self.state);
        }
        let redo = match self.recover()? {
            Some(redo) => redo,
            None => return Ok(&self.state),
        };
        let failure = self.run_steps(redo).await?;
        match failure {
            Some((step, reason)) => self.compensate(Cause::Failed, Some(step), Some(reason))?,
            None if self.complete() => self.finish()?,
            None => {}
        }
        Ok(&self.state)
    }

    /// A confirm decided against: rejected, or expired without escalation.
    fn decided_against(&self) -> Option<(Cause, Name)> {
        self.state.steps.iter().find_map(|(name, s)| match s.phase {
            Some(Phase::Rejected) => Some((Cause::Rejected, name.clone())),
            Some(Phase::Expired) => Some((Cause::Expired, name.clone())),
            _ => None,
        })
    }

    /// Runs ready steps, concurrently and bounded, until none is ready or one fails; returns
    /// the failure. After a failure no new step starts, and the running ones are awaited
    /// (their writes are then rolled back with the rest).
    async fn run_steps(
        &mut self,
        redo: BTreeSet<Name>,
    ) -> Result<Option<(Name, String)>, EngineError> {
        let limit = self.shared.config.limits.concurrency.max(1);
        let mut queue: VecDeque<Name> = self
            .shared
            .plan
            .body
            .steps
            .iter()
            .map(|s| s.name.clone())
            .collect();
        let mut running: JoinSet<(Name, Outcome)> = JoinSet::new();
        let mut in_flight: BTreeSet<Name> = BTreeSet::new();
        let mut failure: Option<(Name, String)> = None;
        loop {
            let mut ready = Vec::new();
            while failure.is_none() && in_flight.len() < limit {
                let Some(name) = queue.pop_front() else { break };
                if in_flight.contains(&name) {
                    continue;
                }
                if let Some(job) = self.examine(&name, &redo, &mut queue)? {
                    in_flight.insert(name.clone());
                    ready.push((name, job));
                }
            }
            let outcome = match (ready.len(), running.is_empty()) {
                // The only step that can run: run it here, without two thread hand-offs
                // (about 40 µs a step of a chain on this machine, measured in benches/runtime.rs).
                (1, true) => ready.pop().map(|(name, job)| {
                    let outcome = step::run(&self.shared, &job);
                    (name, outcome)
                }),
                _ => {
                    for (name, job) in ready {
                        let shared = Arc::clone(&self.shared);
                        running.spawn_blocking(move || {
                            let outcome = step::run(&shared, &job);
                            (name, outcome)
                        });
                    }
                    match running.join_next().await {
                        Some(joined) => Some(joined.map_err(|e| EngineError::Task(e.to_string()))?),
                        None => None,
                    }
                }
            };
            let Some((name, outcome)) = outcome else {
                break;
            };
            in_flight.remove(&name);
            for event in &outcome.events {
                self.state.apply(event)?;
            }
            match outcome.failure {
                Some(reason) => {
                    failure.get_or_insert((name, reason));
                }
                None => queue.extend(self.successors.get(&name).into_iter().flatten().cloned()),
            }
        }
        Ok(failure)
    }

    /// Whether every recommend and execute step is complete and no confirm waits.
    fn complete(&self) -> bool {
        self.state.waiting().is_empty()
            && self.steps.values().all(|s| {
                s.kind == "confirm" || self.state.phase(&s.name).is_some_and(Phase::is_complete)
            })
    }

    fn finish(&mut self) -> Result<(), EngineError> {
        let data = Ended {
            status: Status::Done,
            step: None,
            reason: None,
            repair_by: vec![],
            unreversed: vec![],
        };
        let event = self.actor_event(EventKind::RunFinished, None, &data);
        self.record(event)
    }

    /// A run event with the acting person, if a person's command caused it.
    fn actor_event(
        &self,
        kind: EventKind,
        step: Option<&str>,
        data: &impl serde::Serialize,
    ) -> NewEvent {
        let mut data = record::data(data);
        if let Some(proof) = self.proof.take() {
            proof.attach(&mut data);
        }
        NewEvent {
            run: Some(self.state.id.clone()),
            workflow: self.state.workflow.clone(),
            kind,
            person: self.actor.as_ref().map(|(p, _)| p.clone()),
            role: self.actor.as_ref().map(|(_, r)| r.clone()),
            fingerprint: self.state.fingerprint.clone(),
            step: step.map(str::to_owned),
            data,
        }
    }

    /// The value of a reference in this run.
    fn lookup(&self, reference: &str) -> Option<Value> {
        self.state.value(reference).cloned()
    }

    fn job(&self, step: &Arc<PlanStep>) -> Job {
        let actions = step.run.iter().chain(&step.capture).chain(&step.verify);
        Job {
            header: self.header.clone(),
            step: Arc::clone(step),
            scope: step::scope(actions, |r| self.lookup(r)),
            allowed: self
                .state
                .allowed
                .get(&step.name)
                .cloned()
                .unwrap_or_default(),
            allowed_by: self
                .state
                .allowed
                .get(&step.name)
                .into_iter()
                .flatten()
                .filter_map(|hash| {
                    let by = self.state.allowed_by.get(hash)?;
                    Some((hash.clone(), by.clone()))
                })
                .collect(),
            verify_only: self.state.phase(&step.name) == Some(Phase::Verifying),
        }
    }
}

fn id_of(event: &NewEvent) -> String {
    event.run.clone().unwrap_or_default()
}

/// A new run's id: the UTC date and time it started and six hex digits, e.g.
/// `20261122-143501-3f9a2c` (sortable, short enough to type, unique per process and instant).
pub fn new_run_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = clock::format(clock::now());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let salt = format!(
        "{nanos}:{}:{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let digest = crate::digest::json_sha256("writ-run-id\n", &salt);
    run_id(&now, digest.get(..6).unwrap_or(""))
}

/// `YYYYMMDD-HHMMSS-SALT` from a time in the store's format. The date and the time are cut
/// at the `T`, not at fixed offsets, so a clock past the year 9999 still gives a readable id
/// (`100000101-000000-...`) rather than one with its digits shifted.
fn run_id(at: &str, salt: &str) -> String {
    let (date, time) = at.split_once('T').unwrap_or((at, ""));
    let date: String = date.chars().filter(char::is_ascii_digit).collect();
    let time: String = time.chars().take(8).filter(char::is_ascii_digit).collect();
    format!("{date}-{time}-{salt}")
}

impl Engine {
    /// `writ rollback`: reverses every write still in place, newest first, and ends the run
    /// `rolled_back` (or `needs_repair`). A reversal obeys the kill switch, as every write does,
    /// unless `force` (`writ rollback --force`: a person reverses a killed workflow's writes).
    pub fn rollback(&mut self, force: bool) -> Result<(), EngineError> {
        self.force = force;
        let result = self.compensate(Cause::Requested, None, None);
        self.force = false;
        result
    }

    /// The roles that may ask for a rollback: the owner, and every `repair by` role.
    pub fn rollback_roles(&self) -> Vec<String> {
        let mut roles = vec![self.shared.plan.body.workflow.owner.to_string()];
        for rollback in &self.shared.plan.body.rollbacks {
            if let Some(role) = &rollback.repair_by
                && !roles.iter().any(|r| r == role.as_str())
            {
                roles.push(role.to_string());
            }
        }
        roles
    }
}

#[cfg(test)]
mod run_id_tests {
    use super::run_id;

    #[test]
    fn run_ids_stay_readable_past_the_year_9999() {
        assert_eq!(
            run_id("2026-12-03T13:36:35.248Z", "33ede5"),
            "20261203-133635-33ede5"
        );
        assert_eq!(
            run_id("10000-01-01T00:00:00.000Z", "abcdef"),
            "100000101-000000-abcdef"
        );
    }
}
