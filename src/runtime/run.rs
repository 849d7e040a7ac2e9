//! A run's state, computed only by replaying its events: what `writ status` says and what an
//! auditor reads in `writ log` cannot disagree, because there is nothing else to read.
//!
//! INVARIANT: [`RunState::apply`] is the only way a run's state changes; the executor applies
//! each event it appends, so its view is always the replay of the store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::clock::{self, Millis};
use super::event::{Event, EventKind};
use super::record::{
    AutoConfirmed, BeforeImage, Cause, Decided, Ended, Escalated, Gate, Recommended, Requested,
    Reversal, RunStarted, Wrote,
};
use super::value::Value;
use crate::plan::Name;

/// Where a run stands (`status` in every command's JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A writ process is working on it now (seen from its lock, not from events).
    Running,
    /// Not finished and nothing waits for a human: `writ resume` continues it (after
    /// decisions, or after a crash).
    Ready,
    /// A confirm waits for a human decision.
    Waiting,
    Done,
    Failed,
    Rejected,
    Expired,
    RolledBack,
    NeedsRepair,
    /// Ended with writes a kill turned into drafts (nothing written for them): after
    /// `writ revive`, `writ resume` asks their confirms again, and a new approval writes them.
    Drafted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Ready => "ready",
            Status::Waiting => "waiting",
            Status::Done => "done",
            Status::Failed => "failed",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
            Status::RolledBack => "rolled_back",
            Status::NeedsRepair => "needs_repair",
            Status::Drafted => "drafted",
        }
    }

    /// Whether the run has ended (a later `writ rollback` may still reverse a `done` one).
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Running | Status::Ready | Status::Waiting)
    }
}

/// Where one forward step stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A recommend step's output is recorded.
    Recommended,
    /// A confirm waits for its `by` role.
    Requested,
    /// A confirm waits for its escalation role.
    Escalated,
    Confirmed,
    Rejected,
    Expired,
    /// An execute the autonomy gate confirmed, not yet written.
    AutoConfirmed,
    /// An execute whose before-image is recorded but not its write: a crash came between.
    InDoubt,
    /// Written, with a `verify` that has not passed yet (none recorded): not complete.
    Verifying,
    Written,
    Drafted,
    /// The system refused the write: nothing was applied, and the step failed.
    Refused,
}

impl Phase {
    /// Whether the step's work is done, so the steps after it may start.
    pub fn is_complete(self) -> bool {
        matches!(
            self,
            Phase::Recommended | Phase::Confirmed | Phase::Written | Phase::Drafted
        )
    }
}

/// One step's record.
#[derive(Clone, Debug, Default)]
pub struct StepState {
    pub phase: Option<Phase>,
    /// Outputs (recommend, execute) checked against `yields`.
    pub values: BTreeMap<Name, Value>,
    /// The open request of a confirm, and when it was made.
    pub request: Option<(Requested, Millis)>,
    /// The current deadline of a waiting confirm (moved by an escalation).
    pub deadline: Option<Millis>,
    /// The role that decides now: `by`, or the escalation role.
    pub deciding_role: Option<Name>,
    pub before: Option<BeforeImage>,
    /// The `seq` of its `written` event (the order of completion for rollbacks).
    pub written_seq: Option<u64>,
    /// Rows its write changed beyond its capture (`written`'s `beyond`).
    pub beyond: Option<u64>,
    /// For a drafted write: the kill-switch event that stopped it.
    pub killed_by: Option<u64>,
    /// Rows its write's statement changed (`written`'s `changes`; sqlite only).
    pub changes: Option<u64>,
    /// A quorum confirm's people who have confirmed so far, and their events.
    pub signers: Vec<String>,
    pub signer_events: Vec<u64>,
}

/// Where the reversal of one execute stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReversalPhase {
    Started,
    RolledBack,
    Failed,
}

#[derive(Clone, Debug)]
pub struct RunState {
    pub id: String,
    pub workflow: String,
    pub fingerprint: String,
    pub starter: String,
    pub started_at: String,
    pub started: RunStarted,
    /// How the starter was identified (`signed`, or `asserted` in development).
    pub identity: Option<crate::runtime::config::Identity>,
    pub steps: BTreeMap<Name, StepState>,
    /// Per execute, the hashes of the actions a decision allows.
    pub allowed: BTreeMap<Name, Vec<String>>,
    /// Per allowed action hash, the decisions that allow it: each a list of events (one, or a
    /// quorum's every confirmation), checked again right before the write.
    pub allowed_by: BTreeMap<String, Vec<Vec<u64>>>,
    /// Per execute, the reversal's state (keyed by the execute, not the rollback).
    pub reversals: BTreeMap<Name, (ReversalPhase, Reversal)>,
    /// Compensation under way (rollbacks started, the run not ended since).
    pub compensating: Option<Cause>,
    /// What started the compensation: the step and the reason (from its first reversal).
    pub compensating_for: (Option<Name>, Option<String>),
    pub end: Option<Ended>,
    /// The last event applied.
    pub last_seq: u64,
}

/// Why events cannot be replayed into a run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no run `{0}` in the store")]
    NoRun(String),
    #[error("run `{run}`: event {seq} ({kind}) cannot be read: {reason}")]
    Corrupt {
        run: String,
        seq: u64,
        kind: &'static str,
        reason: String,
    },
}

/// Replays one run's events, oldest first.
pub fn replay(run: &str, events: &[Event]) -> Result<RunState, ReplayError> {
    let Some((first, rest)) = events.split_first() else {
        return Err(ReplayError::NoRun(run.to_owned()));
    };
    let mut state = RunState::start(first)?;
    for event in rest {
        state.apply(event)?;
    }
    Ok(state)
}

fn read<T: serde::de::DeserializeOwned>(event: &Event) -> Result<T, ReplayError> {
    T::deserialize(&event.event.data).map_err(|error| corrupt(event, error))
}

fn corrupt(event: &Event, reason: impl ToString) -> ReplayError {
    ReplayError::Corrupt {
        run: event.event.run.clone().unwrap_or_default(),
        seq: event.seq,
        kind: event.event.kind.as_str(),
        reason: reason.to_string(),
    }
}

impl RunState {
    /// The state after the run's first event, which must be its `run_started`.
    pub fn start(event: &Event) -> Result<RunState, ReplayError> {
        if event.event.kind != EventKind::RunStarted {
            return Err(corrupt(event, "a run's first event must be run_started"));
        }
        Ok(RunState {
            id: event.event.run.clone().unwrap_or_default(),
            workflow: event.event.workflow.clone(),
            fingerprint: event.event.fingerprint.clone(),
            starter: event.event.person.clone().unwrap_or_default(),
            started_at: event.at.clone(),
            started: read(event)?,
            identity: crate::runtime::trust::Proof::of(&event.event.data).map(|p| p.identity),
            steps: BTreeMap::new(),
            allowed: BTreeMap::new(),
            allowed_by: BTreeMap::new(),
            reversals: BTreeMap::new(),
            compensating: None,
            compensating_for: (None, None),
            end: None,
            last_seq: event.seq,
        })
    }

    /// Applies one event of this run.
    pub fn apply(&mut self, event: &Event) -> Result<(), ReplayError> {
        let step = event.event.step.as_deref().map(Name::new);
        let at = clock::parse(&event.at).ok_or_else(|| corrupt(event, "unreadable time"))?;
        self.last_seq = event.seq;
        let named = || step.clone().ok_or_else(|| corrupt(event, "no step named"));
        match event.event.kind {
            EventKind::RunStarted => return Err(corrupt(event, "a second run_started")),
            EventKind::Recommended => {
                let data: Recommended = read(event)?;
                let state = self.step_mut(named()?);
                state.phase = Some(Phase::Recommended);
                state.values = data.values;
            }
            EventKind::ConfirmationRequested => {
                let data: Requested = read(event)?;
                let deadline = match &data.deadline {
                    Some(text) => Some(clock::parse(text).ok_or_else(|| corrupt(event, text))?),
                    None => None,
                };
                self.reopen_drafts(&data.gates);
                let state = self.step_mut(named()?);
                state.phase = Some(Phase::Requested);
                state.deciding_role = Some(data.role.clone());
                state.deadline = deadline;
                // A new request starts a new quorum (a draft's confirm asked again).
                state.signers.clear();
                state.signer_events.clear();
                state.request = Some((data, at));
            }
            EventKind::Escalated => {
                let data: Escalated = read(event)?;
                let deadline = Some(
                    clock::parse(&data.deadline).ok_or_else(|| corrupt(event, &data.deadline))?,
                );
                let state = self.step_mut(named()?);
                state.phase = Some(Phase::Escalated);
                state.deciding_role = Some(data.to);
                state.deadline = deadline;
            }
            EventKind::Confirmed | EventKind::Rejected | EventKind::Expired => {
                let data: Decided = read(event)?;
                // A decision recorded at or after its deadline never counts, however it got
                // into the store (a clock set back, an event written by hand): the wait stays
                // open for the timer to end.
                let late = self
                    .steps
                    .get(named()?.as_str())
                    .and_then(|s| s.deadline)
                    .is_some_and(|deadline| at >= deadline);
                if late && event.event.kind != EventKind::Expired {
                    return Ok(());
                }
                // Nor does a decision the rules never let a command record: by the run's
                // starter (four eyes), or in a role other than the one the confirm waits for.
                if event.event.kind != EventKind::Expired {
                    let waited = self
                        .steps
                        .get(named()?.as_str())
                        .and_then(|s| s.deciding_role.as_ref())
                        .map(Name::as_str);
                    let person = event.event.person.as_deref();
                    if person == Some(self.starter.as_str())
                        || waited.is_none()
                        || waited != event.event.role.as_deref()
                    {
                        return Ok(());
                    }
                }
                let phase = match event.event.kind {
                    EventKind::Confirmed => {
                        if data.quorum.is_some_and(|q| q.signed < q.needed) {
                            // One more of the quorum: the step still waits for the rest.
                            let state = self.step_mut(named()?);
                            state.signers.extend(event.event.person.clone());
                            state.signer_events.push(event.seq);
                            return Ok(());
                        }
                        let mut decisions = self
                            .steps
                            .get(named()?.as_str())
                            .map(|s| s.signer_events.clone())
                            .unwrap_or_default();
                        decisions.push(event.seq);
                        self.allow(&data.gates, &decisions);
                        Phase::Confirmed
                    }
                    EventKind::Rejected => Phase::Rejected,
                    _ => Phase::Expired,
                };
                self.step_mut(named()?).phase = Some(phase);
            }
            EventKind::AutoConfirmed => {
                let data: AutoConfirmed = read(event)?;
                self.allow(&data.gates, &[event.seq]);
                self.step_mut(named()?).phase = Some(Phase::AutoConfirmed);
            }
            EventKind::BeforeImage => {
                let data: BeforeImage = read(event)?;
                let state = self.step_mut(named()?);
                state.phase = Some(Phase::InDoubt);
                state.before = Some(data);
            }
            EventKind::WriteRefused => {
                self.step_mut(named()?).phase = Some(Phase::Refused);
            }
            EventKind::Written | EventKind::Drafted => {
                let data: Wrote = read(event)?;
                let written = event.event.kind == EventKind::Written;
                let state = self.step_mut(named()?);
                state.phase = Some(match (written, data.verify_pending) {
                    (true, true) => Phase::Verifying,
                    (true, false) => Phase::Written,
                    (false, _) => Phase::Drafted,
                });
                state.values = data.values;
                state.written_seq = written.then_some(event.seq);
                state.beyond = data.beyond;
                state.killed_by = data.killed_by.filter(|_| !written);
                state.changes = data.changes;
            }
            EventKind::Verified => {
                let state = self.step_mut(named()?);
                if state.phase == Some(Phase::Verifying) {
                    state.phase = Some(Phase::Written);
                }
            }
            EventKind::RollbackStarted | EventKind::RolledBack | EventKind::RollbackFailed => {
                let data: Reversal = read(event)?;
                let phase = match event.event.kind {
                    EventKind::RollbackStarted => ReversalPhase::Started,
                    EventKind::RolledBack => ReversalPhase::RolledBack,
                    _ => ReversalPhase::Failed,
                };
                if phase == ReversalPhase::Started && self.compensating.is_none() {
                    self.compensating = Some(data.cause);
                    self.compensating_for = (data.because_of.clone(), data.reason.clone());
                }
                self.reversals.insert(data.undoes.clone(), (phase, data));
            }
            EventKind::RunFinished | EventKind::RunFailed => {
                self.end = Some(read(event)?);
                self.compensating = None;
            }
            EventKind::WorkflowKilled | EventKind::WorkflowRevived => {
                return Err(corrupt(event, "a kill-switch event inside a run"));
            }
            EventKind::PlanApproved | EventKind::RegistryChanged => {
                return Err(corrupt(event, "a store-level event inside a run"));
            }
        }
        Ok(())
    }

    /// A confirm asked again for writes a kill drafted: those executes start over (their old
    /// allowances are void, so only the new decision can allow them) and the run is open again.
    fn reopen_drafts(&mut self, gates: &[Gate]) {
        let mut reopened = false;
        for gate in gates {
            let Some(state) = self.steps.get_mut(gate.step.as_str()) else {
                continue;
            };
            if state.phase != Some(Phase::Drafted) {
                continue;
            }
            *state = StepState::default();
            for hash in self.allowed.remove(gate.step.as_str()).unwrap_or_default() {
                self.allowed_by.remove(&hash);
            }
            reopened = true;
        }
        if reopened
            && self
                .end
                .as_ref()
                .is_some_and(|e| e.status == Status::Drafted)
        {
            self.end = None;
        }
    }

    /// The executes a kill turned into drafts, in plan-name order.
    pub fn drafted(&self) -> Vec<&Name> {
        self.steps
            .iter()
            .filter(|(_, s)| s.phase == Some(Phase::Drafted))
            .map(|(name, _)| name)
            .collect()
    }

    fn step_mut(&mut self, name: Name) -> &mut StepState {
        self.steps.entry(name).or_default()
    }

    fn allow(&mut self, gates: &[Gate], decisions: &[u64]) {
        for gate in gates {
            self.allowed
                .entry(gate.step.clone())
                .or_default()
                .push(gate.hash.clone());
            self.allowed_by
                .entry(gate.hash.clone())
                .or_default()
                .push(decisions.to_vec());
        }
    }

    pub fn phase(&self, step: &str) -> Option<Phase> {
        self.steps.get(step).and_then(|s| s.phase)
    }

    /// Where the run stands, from its events alone (never `Running`: that is the lock's).
    pub fn status(&self) -> Status {
        if let (Some(end), None) = (&self.end, self.compensating) {
            return end.status;
        }
        if self.compensating.is_none() && !self.waiting().is_empty() {
            return Status::Waiting;
        }
        Status::Ready
    }

    /// The confirm steps waiting for a human, with the role that decides now.
    pub fn waiting(&self) -> Vec<(&Name, &StepState)> {
        self.steps
            .iter()
            .filter(|(_, s)| matches!(s.phase, Some(Phase::Requested | Phase::Escalated)))
            .collect()
    }

    /// The value of a reference: `input` or `step.field`.
    pub fn value(&self, reference: &str) -> Option<&Value> {
        match reference.split_once('.') {
            Some((step, field)) => self.steps.get(step)?.values.get(field),
            None => self.started.inputs.get(reference),
        }
    }

    /// Executes written and not yet reversed, newest first: the order rollbacks run in.
    pub fn to_reverse(&self) -> Vec<Name> {
        let mut written: Vec<(u64, &Name)> = self
            .steps
            .iter()
            .filter_map(|(name, s)| Some((s.written_seq?, name)))
            .filter(|(_, name)| {
                !matches!(
                    self.reversals.get(*name),
                    Some((ReversalPhase::RolledBack, _))
                )
            })
            .collect();
        written.sort_by_key(|w| std::cmp::Reverse(w.0));
        written.into_iter().map(|(_, name)| name.clone()).collect()
    }

    /// Whether any write reached a system and stays there.
    pub fn has_writes(&self) -> bool {
        !self.to_reverse().is_empty()
    }
}
