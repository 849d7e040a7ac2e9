//! The one decision function, judged directly: every rule of docs/runtime.md's "Approvals are bound
//! to content", "Expiry is never approval" and "Four eyes", on a run replayed from events.

use std::path::Path;

use serde_json::json;
use writ::plan::{Plan, plan_source};
use writ::runtime::clock;
use writ::runtime::config::{self, Config};
use writ::runtime::decide::{Context, Decider, Refusal, Verdict, decide};
use writ::runtime::event::{Event, EventKind, NewEvent};
use writ::runtime::record::Figures;
use writ::runtime::run::{Phase, RunState};

const HOUR: i64 = 3_600_000;

fn plan() -> Plan {
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/ticket_triage.writ"),
    )
    .expect("the example exists");
    plan_source(&source).expect("the example checks").0
}

fn config() -> Config {
    let text = "state: s.db\npeople:\n  ana: [analyst]\n  sam: [support_lead]\n  \
                olu: [ops_lead]\n  bo: [support_lead, ops_lead]\n";
    config::parse(text, Path::new("writ.yaml")).expect("a valid config")
}

/// A stored event at `at` (ms), built from its parts; the chain fields do not matter here.
fn event(seq: u64, at: i64, kind: EventKind, step: Option<&str>, data: serde_json::Value) -> Event {
    Event {
        seq,
        at: clock::format(at),
        event: NewEvent {
            run: Some("r1".to_owned()),
            workflow: "ticket_triage".to_owned(),
            kind,
            person: (kind == EventKind::RunStarted).then(|| "ana".to_owned()),
            role: None,
            fingerprint: plan().fingerprint,
            step: step.map(str::to_owned),
            data,
        },
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// A ticket triage run started by ana at `start`, waiting at `lead_review` (4 h deadline).
fn waiting_run(start: i64) -> RunState {
    let started = event(
        1,
        start,
        EventKind::RunStarted,
        None,
        json!({"file": "t.writ", "owner": "ops_lead", "inputs": {"ticket_id": 105}}),
    );
    let mut run = RunState::start(&started).expect("run_started");
    let requested = json!({
        "role": "support_lead",
        "shows": [["suggest_priority.priority", "urgent"]],
        "deadline": clock::format(start + 4 * HOUR),
        "expires_seconds": 14_400,
        "on_expiry": "escalate",
        "escalate_to": "ops_lead",
        "gates": [{"step": "set_priority", "system": "helpdesk", "target": "sqlite:/h.db",
                   "action": {"sql": "UPDATE"}, "hash": "h1", "text_hash": "t1"}],
    });
    run.apply(&event(
        2,
        start,
        EventKind::ConfirmationRequested,
        Some("lead_review"),
        requested,
    ))
    .expect("request");
    run
}

fn judge(run: &RunState, now: i64, decider: Decider<'_>) -> Result<NewEvent, Refusal> {
    let (plan, config) = (plan(), config());
    let context = Context {
        run,
        plan: &plan,
        config: &config,
        now,
        killed: false,
    };
    decide(&context, "lead_review", decider)
}

fn person(name: &str, verdict: Verdict) -> Decider<'_> {
    Decider::Person {
        name,
        verdict,
        note: None,
        proof: writ::runtime::trust::Proof::asserted(),
    }
}

#[test]
fn a_second_person_with_the_role_confirms_and_the_event_binds_the_content() {
    let run = waiting_run(0);
    let confirmed = judge(&run, HOUR, person("sam", Verdict::Confirm)).expect("allowed");
    assert_eq!(confirmed.kind, EventKind::Confirmed);
    assert_eq!(confirmed.person.as_deref(), Some("sam"));
    assert_eq!(confirmed.role.as_deref(), Some("support_lead"));
    assert_eq!(confirmed.fingerprint, plan().fingerprint);
    assert_eq!(confirmed.data["gates"][0]["hash"], "h1");
    assert_eq!(confirmed.data["shows"][0][1], "urgent");
    let rejected = judge(&run, HOUR, person("sam", Verdict::Reject)).expect("allowed");
    assert_eq!(rejected.kind, EventKind::Rejected);
}

#[test]
fn the_starter_an_unknown_person_and_a_wrong_role_are_refused() {
    let run = waiting_run(0);
    assert!(matches!(
        judge(&run, HOUR, person("ana", Verdict::Confirm)),
        Err(Refusal::FourEyes { .. })
    ));
    assert!(matches!(
        judge(&run, HOUR, person("mallory", Verdict::Confirm)),
        Err(Refusal::UnknownPerson { .. })
    ));
    assert!(matches!(
        judge(&run, HOUR, person("olu", Verdict::Confirm)),
        Err(Refusal::WrongRole { .. })
    ));
}

#[test]
fn a_decision_under_a_changed_plan_is_refused() {
    let mut run = waiting_run(0);
    run.fingerprint = "0".repeat(64);
    assert!(matches!(
        judge(&run, HOUR, person("sam", Verdict::Confirm)),
        Err(Refusal::PlanChanged { .. })
    ));
}

#[test]
fn expiry_escalates_then_expires_and_never_approves() {
    let mut run = waiting_run(0);
    assert!(matches!(
        judge(&run, HOUR, Decider::Timer),
        Err(Refusal::NotDue { .. })
    ));
    // Past the deadline, a person can no longer decide; the timer escalates.
    assert!(matches!(
        judge(&run, 5 * HOUR, person("sam", Verdict::Confirm)),
        Err(Refusal::Expired { .. })
    ));
    let escalated = judge(&run, 5 * HOUR, Decider::Timer).expect("due");
    assert_eq!(escalated.kind, EventKind::Escalated);
    assert_eq!(escalated.data["to"], "ops_lead");
    run.apply(&event(
        3,
        5 * HOUR,
        EventKind::Escalated,
        Some("lead_review"),
        escalated.data,
    ))
    .expect("applies");
    assert_eq!(run.phase("lead_review"), Some(Phase::Escalated));
    // Now the escalation role decides in the `by` role's place.
    assert!(matches!(
        judge(&run, 6 * HOUR, person("sam", Verdict::Confirm)),
        Err(Refusal::WrongRole { .. })
    ));
    let by_olu = judge(&run, 6 * HOUR, person("olu", Verdict::Confirm)).expect("escalated");
    assert_eq!(by_olu.role.as_deref(), Some("ops_lead"));
    assert_eq!(by_olu.data["escalated"], true);
    // The escalation's own deadline passes: the run expires; the timer gives no approval.
    let expired = judge(&run, 10 * HOUR, Decider::Timer).expect("due again");
    assert_eq!(expired.kind, EventKind::Expired);
}

#[test]
fn a_decided_confirm_is_not_decided_again() {
    let mut run = waiting_run(0);
    let confirmed = judge(&run, HOUR, person("sam", Verdict::Confirm)).expect("allowed");
    let mut recorded = event(
        3,
        HOUR,
        EventKind::Confirmed,
        Some("lead_review"),
        confirmed.data,
    );
    // As the command records it: by sam, in the role the confirm waits for.
    recorded.event.person = confirmed.person;
    recorded.event.role = confirmed.role;
    run.apply(&recorded).expect("applies");
    assert!(matches!(
        judge(&run, HOUR, person("bo", Verdict::Reject)),
        Err(Refusal::NotWaiting { .. })
    ));
    assert!(matches!(
        judge(&run, HOUR, Decider::Timer),
        Err(Refusal::NotWaiting { .. })
    ));
}

#[test]
fn the_autonomy_gate_cannot_confirm_a_step_without_a_gate() {
    let run = waiting_run(0);
    let (plan, config) = (plan(), config());
    let figures = Figures {
        decisions: 100,
        confirmed: 100,
        rejected: 0,
        expired: 0,
        acceptance_basis_points: 10_000,
        required_basis_points: 9_000,
        min_decisions: 20,
        window_seconds: 1,
        first_decision: clock::format(0),
        critical: 0,
        horizon_seconds: 2,
        counted_since: clock::format(0),
        spans_window: true,
    };
    let context = Context {
        run: &run,
        plan: &plan,
        config: &config,
        now: HOUR,
        killed: false,
    };
    // set_priority has no `auto when`: perfect figures still do not let it through.
    let gate = Decider::Gate {
        figures,
        confirms: vec!["lead_review".into()],
        gates: vec![],
    };
    assert!(matches!(
        decide(&context, "set_priority", gate),
        Err(Refusal::GateClosed { .. })
    ));
}
