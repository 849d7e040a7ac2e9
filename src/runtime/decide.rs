//! The one function every decision passes through: `writ approve` and `writ reject` (a
//! person), the expiry timer, and the autonomy gate (docs/runtime.md, "Approvals are bound to
//! content", "Expiry is never approval", "Four eyes").
//!
//! [`decide`] is pure: it reads the run (replayed from the store), the plan, the config and the
//! time, and returns the one event to append, or the refusal. A timer has no verdict to give
//! ([`Decider::Timer`] carries none), so an expiry can only ever end or escalate a wait.

use super::clock::{self, Millis};
use super::config::Config;
use super::event::{EventKind, NewEvent};
use super::record::{self, AutoConfirmed, Decided, Escalated, Figures, Gate};
use super::run::{Phase, RunState};
use super::trust::Proof;
use crate::plan::{Name, Plan, PlanStep};

/// Who decides.
#[derive(Clone, Debug)]
pub enum Decider<'a> {
    /// A person from the config, with their verdict and note (`--note` or `--reason`).
    Person {
        name: &'a str,
        verdict: Verdict,
        note: Option<String>,
        /// The signed statement of the decision (or, asserted, the bare claim).
        proof: Proof,
    },
    /// The expiry timer: it can only expire or escalate a wait.
    Timer,
    /// The autonomy gate, confirming one execute on its approver's behalf.
    Gate {
        figures: Figures,
        confirms: Vec<Name>,
        gates: Vec<Gate>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Confirm,
    Reject,
}

/// What a decision is judged against.
pub struct Context<'a> {
    pub run: &'a RunState,
    pub plan: &'a Plan,
    pub config: &'a Config,
    pub now: Millis,
    /// Whether the kill switch holds for the workflow (the gate never decides then).
    pub killed: bool,
}

/// Why a decision is refused. Each message says what was refused and why; `help` what to do.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Refusal {
    #[error("run `{run}` was started from a plan that has changed since")]
    #[diagnostic(
        code(writ::plan_changed),
        help(
            "the run's plan has fingerprint {recorded}, the workflow file's is now {current}; \
             a decision binds to the plan it was asked under: restore the file, or roll the \
             run back and start a new one"
        )
    )]
    PlanChanged {
        run: String,
        recorded: String,
        current: String,
    },
    #[error("`{step}` is not a confirm step of workflow `{workflow}`")]
    #[diagnostic(code(writ::unknown_step), help("the confirm steps are: {confirms}"))]
    NotAConfirm {
        step: String,
        workflow: String,
        confirms: String,
    },
    #[error("`{step}` of run `{run}` is not waiting for a decision ({state})")]
    #[diagnostic(
        code(writ::not_waiting),
        help("`writ status {run}` shows what the run waits for")
    )]
    NotWaiting {
        run: String,
        step: String,
        state: String,
    },
    #[error("`{person}` is not a person in the runtime config")]
    #[diagnostic(
        code(writ::unknown_person),
        help("people and their roles are listed under `people:` in writ.yaml")
    )]
    UnknownPerson { person: String },
    #[error("`{person}` started run `{run}` and cannot also confirm its steps (four eyes)")]
    #[diagnostic(
        code(writ::four_eyes),
        help("a second person with the role `{role}` must decide")
    )]
    FourEyes {
        person: String,
        run: String,
        role: String,
    },
    #[error("`{person}` does not have the role `{role}` that decides `{step}`")]
    #[diagnostic(code(writ::wrong_role), help("{person}'s roles: {roles}"))]
    WrongRole {
        person: String,
        role: String,
        step: String,
        roles: String,
    },
    #[error("`{step}` expired at {deadline}; an expired confirm can no longer be decided")]
    #[diagnostic(
        code(writ::expired),
        help("`writ resume {run}` records the expiry and ends or escalates the wait")
    )]
    Expired {
        run: String,
        step: String,
        deadline: String,
    },
    #[error("`{person}` has confirmed `{step}` already ({signed} of {needed} people)")]
    #[diagnostic(
        code(writ::already_signed),
        help("a quorum needs {needed} different people of the role")
    )]
    AlreadySigned {
        person: String,
        step: String,
        signed: u64,
        needed: u64,
    },
    #[error("the timer of `{step}` is not due")]
    #[diagnostic(code(writ::not_due))]
    NotDue { step: String },
    #[error("`{step}` has no autonomy gate, or its gate does not hold")]
    #[diagnostic(code(writ::gate_closed))]
    GateClosed { step: String },
}

/// Judges one decision; on success, the event that records it.
pub fn decide(
    context: &Context<'_>,
    step: &str,
    decider: Decider<'_>,
) -> Result<NewEvent, Refusal> {
    let run = context.run;
    if run.fingerprint != context.plan.fingerprint {
        return Err(Refusal::PlanChanged {
            run: run.id.clone(),
            recorded: run.fingerprint.clone(),
            current: context.plan.fingerprint.clone(),
        });
    }
    match decider {
        Decider::Person {
            name,
            verdict,
            note,
            proof,
        } => {
            let mut event = by_person(context, confirm(context, step)?, name, verdict, note)?;
            proof.attach(&mut event.data);
            Ok(event)
        }
        Decider::Timer => by_timer(context, confirm(context, step)?),
        Decider::Gate {
            figures,
            confirms,
            gates,
        } => by_gate(context, step, figures, confirms, gates),
    }
}

/// The confirm step `step`, waiting for a decision.
fn confirm<'p>(context: &Context<'p>, step: &str) -> Result<&'p PlanStep, Refusal> {
    let steps = &context.plan.body.steps;
    let Some(found) = steps.iter().find(|s| s.name == step && s.kind == "confirm") else {
        let confirms: Vec<&str> = steps
            .iter()
            .filter(|s| s.kind == "confirm")
            .map(|s| s.name.as_str())
            .collect();
        return Err(Refusal::NotAConfirm {
            step: step.to_owned(),
            workflow: context.run.workflow.clone(),
            confirms: confirms.join(", "),
        });
    };
    let phase = context.run.phase(step);
    if !matches!(phase, Some(Phase::Requested | Phase::Escalated)) || context.run.end.is_some() {
        let state = match (context.run.end.as_ref(), phase) {
            (Some(end), _) => format!("the run ended {}", end.status.as_str()),
            (None, Some(phase)) => format!("it is {}", phase_text(phase)),
            (None, None) => "the run has not reached it".to_owned(),
        };
        return Err(Refusal::NotWaiting {
            run: context.run.id.clone(),
            step: step.to_owned(),
            state,
        });
    }
    Ok(found)
}

fn phase_text(phase: Phase) -> &'static str {
    match phase {
        Phase::Confirmed => "already confirmed",
        Phase::Rejected => "already rejected",
        Phase::Expired => "expired",
        _ => "not waiting",
    }
}

fn by_person(
    context: &Context<'_>,
    step: &PlanStep,
    person: &str,
    verdict: Verdict,
    note: Option<String>,
) -> Result<NewEvent, Refusal> {
    let run = context.run;
    let Some(roles) = context.config.roles_of(person) else {
        return Err(Refusal::UnknownPerson {
            person: person.to_owned(),
        });
    };
    let state = run.steps.get(step.name.as_str());
    let role = state
        .and_then(|s| s.deciding_role.clone())
        .or_else(|| step.by.clone())
        .unwrap_or_default();
    if person == run.starter {
        return Err(Refusal::FourEyes {
            person: person.to_owned(),
            run: run.id.clone(),
            role: role.to_string(),
        });
    }
    if let Some(deadline) = state.and_then(|s| s.deadline)
        && context.now >= deadline
    {
        return Err(Refusal::Expired {
            run: run.id.clone(),
            step: step.name.to_string(),
            deadline: clock::format(deadline),
        });
    }
    if !roles.iter().any(|r| r == role.as_str()) {
        return Err(Refusal::WrongRole {
            person: person.to_owned(),
            role: role.to_string(),
            step: step.name.to_string(),
            roles: roles.join(", "),
        });
    }
    let (shows, gates) = requested(context, step);
    let escalated = state.is_some_and(|s| s.phase == Some(Phase::Escalated));
    let kind = match verdict {
        Verdict::Confirm => EventKind::Confirmed,
        Verdict::Reject => EventKind::Rejected,
    };
    // A quorum: each distinct person's confirmation is its own event; the one that completes
    // it confirms the step.
    let signers = state.map(|s| s.signers.as_slice()).unwrap_or_default();
    if signers.iter().any(|s| s == person) {
        return Err(Refusal::AlreadySigned {
            person: person.to_owned(),
            step: step.name.to_string(),
            signed: signers.len() as u64,
            needed: step.quorum,
        });
    }
    let quorum = (step.quorum > 1 && verdict == Verdict::Confirm).then(|| record::Quorum {
        signed: signers.len() as u64 + 1,
        needed: step.quorum,
    });
    let data = Decided {
        shows,
        gates,
        note,
        escalated,
        deadline: None,
        quorum,
    };
    Ok(event(context, kind, &step.name, Some(person), Some(&role)).with(&data))
}

fn by_timer(context: &Context<'_>, step: &PlanStep) -> Result<NewEvent, Refusal> {
    let state = context.run.steps.get(step.name.as_str());
    let deadline = state.and_then(|s| s.deadline);
    let Some(deadline) = deadline.filter(|d| context.now >= *d) else {
        return Err(Refusal::NotDue {
            step: step.name.to_string(),
        });
    };
    let request = state.and_then(|s| s.request.as_ref()).map(|(r, _)| r);
    let first_wait = state.is_some_and(|s| s.phase == Some(Phase::Requested));
    if let (true, Some(request), Some(to)) = (
        first_wait,
        request,
        request.and_then(|r| r.escalate_to.clone()),
    ) {
        // The escalation role's window runs from the deadline that was missed, not from when
        // writ noticed: a run nobody touched for a month is not reopened for anyone.
        let seconds = request.expires_seconds.unwrap_or(0);
        let next = deadline
            .saturating_add(i64::try_from(seconds.saturating_mul(1_000)).unwrap_or(i64::MAX));
        let data = Escalated {
            to,
            missed: clock::format(deadline),
            deadline: clock::format(next),
        };
        return Ok(event(context, EventKind::Escalated, &step.name, None, None).with(&data));
    }
    let (shows, gates) = requested(context, step);
    let data = Decided {
        shows,
        gates,
        note: None,
        escalated: !first_wait,
        deadline: Some(clock::format(deadline)),
        quorum: None,
    };
    Ok(event(context, EventKind::Expired, &step.name, None, None).with(&data))
}

fn by_gate(
    context: &Context<'_>,
    step: &str,
    figures: Figures,
    confirms: Vec<Name>,
    gates: Vec<Gate>,
) -> Result<NewEvent, Refusal> {
    let closed = || Refusal::GateClosed {
        step: step.to_owned(),
    };
    let planned = context
        .plan
        .body
        .steps
        .iter()
        .find(|s| s.name == step && s.kind == "execute")
        .ok_or_else(closed)?;
    let auto = planned.auto.as_ref().ok_or_else(closed)?;
    let holds = super::autonomy::holds(&figures, auto, context.killed)
        && gates.iter().all(|g| g.step == step)
        && !gates.is_empty();
    if !holds || context.run.phase(step).is_some() {
        return Err(closed());
    }
    let role = planned.approver.clone();
    let data = AutoConfirmed {
        confirms,
        figures,
        gates,
    };
    Ok(event(
        context,
        EventKind::AutoConfirmed,
        &planned.name,
        None,
        role.as_deref(),
    )
    .with(&data))
}

/// What the confirmer was shown and what the decision covers: the open request's.
fn requested(
    context: &Context<'_>,
    step: &PlanStep,
) -> (Vec<(String, super::value::Value)>, Vec<Gate>) {
    context
        .run
        .steps
        .get(step.name.as_str())
        .and_then(|s| s.request.as_ref())
        .map(|(r, _)| (r.shows.clone(), r.gates.clone()))
        .unwrap_or_default()
}

fn event(
    context: &Context<'_>,
    kind: EventKind,
    step: &str,
    person: Option<&str>,
    role: Option<&str>,
) -> NewEvent {
    NewEvent {
        run: Some(context.run.id.clone()),
        workflow: context.run.workflow.clone(),
        kind,
        person: person.map(str::to_owned),
        role: role.map(str::to_owned),
        fingerprint: context.run.fingerprint.clone(),
        step: Some(step.to_owned()),
        data: serde_json::Value::Null,
    }
}

trait WithData {
    fn with(self, data: &impl serde::Serialize) -> NewEvent;
}

impl WithData for NewEvent {
    fn with(mut self, data: &impl serde::Serialize) -> NewEvent {
        self.data = record::data(data);
        self
    }
}
