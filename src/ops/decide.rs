//! A human decision on a waiting confirm, through `decide::decide` (four eyes by signer, the
//! step's role, the run's plan, exactly the writes the request allows). A decision never runs
//! the steps after it: the command line's `writ resume` does, the service at once. A rejection
//! ends the run, reversing any write.

use serde_json::{Value, json};

use super::{Failure, OpsError, Signed, drive, open, replayed, trusted, verify_act};
use crate::runtime::config::Config;
use crate::runtime::decide::{Decider, Verdict};
use crate::runtime::engine::shared::Observer;
use crate::runtime::engine::{EngineError, Mode};
use crate::runtime::run::RunState;
use crate::runtime::trust::statement::Act;
use crate::runtime::trust::{Create, Pinned};

pub struct Request {
    pub run: String,
    pub step: String,
    pub verdict: Verdict,
    /// The note of a confirm, the reason of a rejection.
    pub note: Option<String>,
    pub signed: Signed,
}

/// The fields of the statement a person signs to decide `step` of `state`: this run, this
/// confirm, this plan, exactly the writes the waiting request allows, and the verdict.
pub fn fields(state: &RunState, step: &str, verdict: Verdict, note: Option<&str>) -> Value {
    let gates: Vec<String> = state
        .steps
        .get(step)
        .and_then(|s| s.request.as_ref())
        .map(|(request, _)| request.gates.iter().map(|g| g.hash.clone()).collect())
        .unwrap_or_default();
    json!({
        "run": state.id,
        "step": step,
        "fingerprint": state.fingerprint,
        "decision": verdict_name(verdict),
        "gates": gates,
        "note": note,
    })
}

pub fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Confirm => "confirm",
        Verdict::Reject => "reject",
    }
}

/// What a person would sign to decide `step` of `run`, and the registry to sign against.
pub fn draft(
    config: &Config,
    run: &str,
    step: &str,
    verdict: Verdict,
    note: Option<&str>,
) -> Result<(Value, Pinned), OpsError> {
    let (store, pinned) = trusted(config, Create::Never)?;
    let state = replayed(&store, run)?;
    Ok((fields(&state, step, verdict, note), pinned))
}

/// Records the decision (after any deadline that passed: a late decision is never an
/// approval) and settles what it decided; returns where the run stands. A refusal is
/// returned after settling, as [`Failure::Refused`].
pub fn decide(
    config: Config,
    request: Request,
    observer: Option<Observer>,
) -> Result<RunState, OpsError> {
    let concurrency = config.limits.concurrency;
    let mut opened = open(config, &request.run, observer)?;
    let engine = &mut opened.engine;
    engine
        .apply_timers()
        .map_err(|e| OpsError::diagnostic(Failure::Usage, e))?;
    let fields = fields(
        engine.state(),
        &request.step,
        request.verdict,
        request.note.as_deref(),
    );
    let (person, _) = verify_act(&opened.pinned, &request.signed, Act::Decide, fields, &[])?;
    let engine = &mut opened.engine;
    let decider = Decider::Person {
        name: &person,
        verdict: request.verdict,
        note: request.note,
        proof: request.signed.proof,
    };
    let refused = match engine.decide(&request.step, decider) {
        Ok(()) => None,
        Err(EngineError::Refused(refusal)) => Some(refusal),
        Err(other) => return Err(OpsError::diagnostic(Failure::Usage, other)),
    };
    if request.verdict == Verdict::Reject && refused.is_none() {
        let role = engine
            .state()
            .steps
            .get(request.step.as_str())
            .and_then(|s| s.deciding_role.clone())
            .unwrap_or_default();
        engine.act_as(&person, &role, None);
    }
    drive(engine, Mode::Settle, concurrency)?;
    match refused {
        Some(refusal) => Err(OpsError::diagnostic(Failure::Refused, refusal)),
        None => Ok(opened.engine.into_state()),
    }
}
