//! Attacks on the trust model that an earlier review found working, each now refused: a valid
//! signature carried into an event it does not describe, a decision by the run's own starter
//! or by a person without the confirm's role put into the store by hand, a signed act stripped
//! of its signer, a signed kill recorded for another workflow, a registry change replayed, one
//! key standing for two people (so one holder would pass four eyes), and an unsigned revive
//! put into the store by hand.
//!
//! Each test starts from `writ init` (ana: analyst, sam: support_lead, olu: ops_lead and admin)
//! with the starter's plan approved by olu; `waiting` starts a run as ana that waits for sam.

use std::fs;

use serde_json::Value;
use writ::runtime::event::{EventKind, NewEvent};
use writ::runtime::store::Store;
use writ::runtime::store::sqlite::SqliteStore;

use crate::support::bed::Bed;
use crate::trust::{
    TRIAGE, audit, code, lacks_kind, priority, rewrite, ssh_keygen, starter, waiting,
};

/// The data of the newest event of `kind` in `run`, as stored.
fn stored_data(bed: &Bed, run: &str, kind: &str) -> Value {
    let text: String = bed.query_one(
        ".writ/state.db",
        &format!(
            "SELECT data FROM events WHERE run = '{run}' AND kind = '{kind}' \
             ORDER BY seq DESC LIMIT 1"
        ),
    );
    serde_json::from_str(&text).unwrap()
}

/// `person` signs, with ssh-keygen, the statement `args` + `--statement` prints.
fn signed_elsewhere(bed: &Bed, args: &[&str], key: &str, file: &str) -> (String, String) {
    let mut all = args.to_vec();
    all.push("--statement");
    let out = bed.writ_raw(&all, &[]);
    code(&out, 0);
    fs::write(bed.path(file), &out.stdout).unwrap();
    let made = ssh_keygen(bed, &["-Y", "sign", "-n", "writ", "-f", key, file]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let signature = fs::read_to_string(bed.path(&format!("{file}.sig"))).unwrap();
    (out.stdout, signature)
}

/// Appends a `confirmed` of `lead_review` in `run` by `person` as `role`, with the request's
/// shows and gates and the given statement and signature: what a hand on the store file adds.
fn insert_confirmed(bed: &Bed, run: &str, person: &str, role: &str, proof: (String, String)) {
    let requested = stored_data(bed, run, "confirmation_requested");
    let fingerprint: String = bed.query_one(
        ".writ/state.db",
        &format!("SELECT fingerprint FROM events WHERE run = '{run}' LIMIT 1"),
    );
    let mut store = SqliteStore::open(&bed.path(".writ/state.db")).unwrap();
    store
        .append(NewEvent {
            run: Some(run.to_owned()),
            workflow: "ticket_triage".into(),
            kind: EventKind::Confirmed,
            person: Some(person.into()),
            role: Some(role.into()),
            fingerprint,
            step: Some("lead_review".into()),
            data: serde_json::json!({
                "shows": requested["shows"],
                "gates": requested["gates"],
                "identity": "signed",
                "statement": proof.0,
                "signature": proof.1,
            }),
        })
        .unwrap();
}

#[track_caller]
fn nothing_written(bed: &Bed, run: &str) {
    let out = bed.writ_raw(&["resume", run], &[]);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        priority(bed),
        "low",
        "the write happened: {}",
        out.describe()
    );
    lacks_kind(bed, run, "written");
}

#[test]
fn a_signed_decision_for_one_run_allows_no_write_in_another() {
    let bed = starter("attack-other-run");
    let first = waiting(&bed);
    let second = waiting(&bed);
    code(
        &bed.writ_raw(
            &["approve", &first, "lead_review", "--key", "keys/sam"],
            &[],
        ),
        0,
    );
    // Sam's real statement and signature, about the first run, copied into the second.
    let decided = stored_data(&bed, &first, "confirmed");
    let proof = (
        decided["statement"].as_str().unwrap().to_owned(),
        decided["signature"].as_str().unwrap().to_owned(),
    );
    insert_confirmed(&bed, &second, "sam", "support_lead", proof);
    nothing_written(&bed, &second);
}

#[test]
fn the_starters_own_signed_decision_allows_no_write() {
    let bed = starter("attack-starter");
    let run = waiting(&bed);
    // Ana started the run; the command refuses her decision, so she signs its bytes herself
    // and puts the event in the store, under a role of her own.
    let args = ["approve", &run, "lead_review", "--as", "ana"];
    let proof = signed_elsewhere(&bed, &args, "keys/ana", "ana.json");
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/ana"], &[]),
        1,
    );
    insert_confirmed(&bed, &run, "ana", "analyst", proof);
    nothing_written(&bed, &run);
    let out = audit(&bed, &[]);
    code(&out, 1);
    assert!(out.stdout.contains("four eyes"), "{}", out.describe());
}

#[test]
fn a_signed_decision_by_a_person_without_the_confirms_role_allows_no_write() {
    let bed = starter("attack-wrong-role");
    let run = waiting(&bed);
    // Olu is no support_lead: the command refuses him; the event says `ops_lead`.
    let args = ["approve", &run, "lead_review", "--as", "olu"];
    let proof = signed_elsewhere(&bed, &args, "keys/olu", "olu.json");
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/olu"], &[]),
        1,
    );
    insert_confirmed(&bed, &run, "olu", "ops_lead", proof);
    nothing_written(&bed, &run);
    let out = audit(&bed, &[]);
    code(&out, 1);
    assert!(
        out.stdout.contains("did not wait for the role"),
        "{}",
        out.describe()
    );
}

#[test]
fn audit_catches_a_signed_act_stripped_of_its_signer() {
    let bed = starter("attack-stripped");
    let run = waiting(&bed);
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/sam"], &[]),
        0,
    );
    code(&audit(&bed, &[]), 0);
    // The decision made anonymous: no person, no statement, no signature; chain recomputed.
    rewrite(&bed, |e| {
        if e.event.kind == EventKind::Confirmed {
            e.event.person = None;
            if let Value::Object(map) = &mut e.event.data {
                map.remove("identity");
                map.remove("statement");
                map.remove("signature");
            }
        }
    });
    let out = audit(&bed, &[]);
    code(&out, 1);
    assert!(out.stdout.contains("tampered"), "{}", out.describe());
}

#[test]
fn a_registry_change_is_good_once() {
    let bed = starter("attack-registry-replay");
    let config_a = fs::read_to_string(bed.path("writ.yaml")).unwrap();
    let signers_a = fs::read_to_string(bed.path("allowed_signers")).unwrap();
    code(&bed.writ_raw(&["keygen", "--out", "mallory"], &[]), 0);
    let public = fs::read_to_string(bed.path("mallory.pub")).unwrap();
    let write_b = || {
        fs::write(
            bed.path("allowed_signers"),
            format!("{signers_a}mallory {public}"),
        )
        .unwrap();
        fs::write(
            bed.path("writ.yaml"),
            config_a.replace(
                "  sam: [support_lead]",
                "  sam: [support_lead]\n  mallory: [support_lead]",
            ),
        )
        .unwrap();
    };
    // Olu adds mallory (signed elsewhere, submitted with --signature)...
    write_b();
    let update = ["registry", "update", "--as", "olu"];
    signed_elsewhere(&bed, &update, "keys/olu", "change.json");
    code(
        &bed.writ_raw(
            &["registry", "update", "--signature", "change.json.sig"],
            &[],
        ),
        0,
    );
    // ...then takes mallory out again.
    fs::write(bed.path("writ.yaml"), &config_a).unwrap();
    fs::write(bed.path("allowed_signers"), &signers_a).unwrap();
    code(
        &bed.writ_raw(&["registry", "update", "--key", "keys/olu"], &[]),
        0,
    );
    // Olu's first statement, replayed by whoever kept it (it is in the log), adds mallory back.
    write_b();
    let out = bed.writ_raw(
        &["registry", "update", "--signature", "change.json.sig"],
        &[],
    );
    code(&out, 1);
    fs::write(bed.path("writ.yaml"), &config_a).unwrap();
    fs::write(bed.path("allowed_signers"), &signers_a).unwrap();
    let shown = bed.writ_raw(&["registry", "show"], &[]);
    code(&shown, 0);
    assert!(!shown.stdout.contains("mallory"), "{}", shown.describe());
}

#[test]
fn audit_catches_a_kill_moved_to_another_workflow() {
    let bed = starter("attack-kill-moved");
    let kill = [
        "kill",
        "ticket_triage",
        "--key",
        "keys/ana",
        "--reason",
        "odd",
    ];
    code(&bed.writ_raw(&kill, &[]), 0);
    code(&audit(&bed, &[]), 0);
    // Ana's signed kill of ticket_triage, recorded as a kill of another workflow.
    rewrite(&bed, |e| {
        if e.event.kind == EventKind::WorkflowKilled {
            e.event.workflow = "refund_approval".into();
        }
    });
    let out = audit(&bed, &[]);
    code(&out, 1);
    assert!(out.stdout.contains("`workflow`"), "{}", out.describe());
}

#[test]
fn a_key_that_stands_for_two_people_is_refused() {
    let bed = starter("attack-shared-key");
    // One key for sam and sue: sue would start runs that sam then confirms with the same key.
    let signers = fs::read_to_string(bed.path("allowed_signers"))
        .unwrap()
        .replace("sam ssh-ed25519", "sam,sue ssh-ed25519");
    fs::write(bed.path("allowed_signers"), signers).unwrap();
    let config = fs::read_to_string(bed.path("writ.yaml")).unwrap().replace(
        "  sam: [support_lead]",
        "  sam: [support_lead]\n  sue: [analyst]",
    );
    fs::write(bed.path("writ.yaml"), config).unwrap();
    let out = bed.writ_raw(&["registry", "update", "--key", "keys/olu"], &[]);
    code(&out, 1);
    // miette wraps long lines: compare the words.
    let words: Vec<&str> = out
        .stderr
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect();
    assert!(
        words.join(" ").contains("stands for sam, sue"),
        "{}",
        out.describe()
    );
}

/// A run sam approved whose write ana's kill then drafted; returns the run.
fn approved_then_killed(bed: &Bed) -> String {
    let run = waiting(bed);
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/sam"], &[]),
        0,
    );
    let kill = [
        "kill",
        "ticket_triage",
        "--key",
        "keys/ana",
        "--reason",
        "odd",
    ];
    code(&bed.writ_raw(&kill, &[]), 0);
    run
}

#[test]
fn a_revive_put_into_the_store_by_hand_lifts_no_kill() {
    let bed = starter("attack-revive-by-hand");
    let run = approved_then_killed(&bed);
    // An unsigned revive "by olu", appended by whoever can write the store file.
    let mut store = SqliteStore::open(&bed.path(".writ/state.db")).unwrap();
    store
        .append(NewEvent {
            run: None,
            workflow: "ticket_triage".into(),
            kind: EventKind::WorkflowRevived,
            person: Some("olu".into()),
            role: Some("ops_lead".into()),
            fingerprint: String::new(),
            step: None,
            data: serde_json::json!({"identity": "signed"}),
        })
        .unwrap();
    drop(store);
    let _ = bed.writ_raw(&["resume", &run], &[]);
    assert_eq!(
        priority(&bed),
        "low",
        "the kill switch was lifted by an unsigned event"
    );
    lacks_kind(&bed, &run, "written");
    code(&audit(&bed, &[]), 1);
}

#[test]
fn an_auto_confirmed_put_into_the_store_by_hand_allows_no_write() {
    let bed = starter("attack-auto");
    let run = waiting(&bed);
    let requested = stored_data(&bed, &run, "confirmation_requested");
    let fingerprint: String = bed.query_one(
        ".writ/state.db",
        &format!("SELECT fingerprint FROM events WHERE run = '{run}' LIMIT 1"),
    );
    let mut store = SqliteStore::open(&bed.path(".writ/state.db")).unwrap();
    store
        .append(NewEvent {
            run: Some(run.clone()),
            workflow: "ticket_triage".into(),
            kind: EventKind::AutoConfirmed,
            person: None,
            role: Some("support_lead".into()),
            fingerprint,
            step: Some("set_priority".into()),
            data: serde_json::json!({
                "confirms": ["lead_review"],
                "figures": {"decisions": 50, "confirmed": 50, "rejected": 0, "expired": 0,
                    "acceptance_basis_points": 10000, "required_basis_points": 9500,
                    "min_decisions": 20, "window_seconds": 86400,
                    "first_decision": "2026-01-01T00:00:00.000Z", "critical": 0},
                "gates": requested["gates"],
            }),
        })
        .unwrap();
    drop(store);
    nothing_written(&bed, &run);
}

#[test]
fn the_models_program_can_neither_read_a_key_nor_approve_its_own_write() {
    let bed = starter("attack-program");
    // The stand-in model turned hostile: it looks for sam's key and the signers, and tries to
    // approve the run as sam with writ itself, a second after it answers.
    let writ = env!("CARGO_BIN_EXE_writ");
    let script = format!(
        "#!/bin/sh\n\
         k=blocked\n\
         for f in ../keys/sam keys/sam ../allowed_signers ../writ.yaml; do\n\
           if cat \"$f\" >/dev/null 2>&1; then k=read; fi\n\
         done\n\
         ( sleep 1; run=$({writ} status --format json --config ../writ.yaml | head -c 200); \
           {writ} approve \"$run\" lead_review --key ../keys/sam --config ../writ.yaml ) \
           >/dev/null 2>&1 &\n\
         printf '{{\"priority\":\"urgent\",\"reason\":\"%s\"}}' \"$k\"\n"
    );
    fs::write(bed.path("workflows/scripts/suggest_priority"), script).unwrap();
    code(
        &bed.writ_raw(
            &[
                "approve-plan",
                "workflows/ticket_triage.writ",
                "--key",
                "keys/olu",
            ],
            &[],
        ),
        0,
    );
    let run = waiting(&bed);
    let recommended = stored_data(&bed, &run, "recommended");
    assert_eq!(recommended["values"]["reason"], "blocked", "{recommended}");
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    lacks_kind(&bed, &run, "confirmed");
    let status = bed.writ_raw(&["status", &run, "--format", "json"], &[]);
    assert_eq!(status.json()["status"], "waiting", "{}", status.describe());
}

/// Appends what a hand on the store file adds: an event by `person` as `role` carrying a
/// statement and signature they made themselves.
fn insert_signed(bed: &Bed, event: NewEvent, proof: (String, String)) {
    let mut event = event;
    event.data["identity"] = "signed".into();
    event.data["statement"] = proof.0.into();
    event.data["signature"] = proof.1.into();
    let mut store = SqliteStore::open(&bed.path(".writ/state.db")).unwrap();
    store.append(event).unwrap();
}

#[test]
fn a_revive_signed_by_a_person_who_may_not_revive_lifts_no_kill() {
    let bed = starter("attack-revive-by-analyst");
    let run = approved_then_killed(&bed);
    // Ana may pull the brake but not lift it (that needs the owner role, ops_lead). The
    // command refuses her, so she signs the revive's bytes herself and appends the event.
    let revive = ["revive", "ticket_triage", "--as", "ana"];
    let proof = signed_elsewhere(&bed, &revive, "keys/ana", "revive.json");
    code(
        &bed.writ_raw(&["revive", "ticket_triage", "--key", "keys/ana"], &[]),
        1,
    );
    let event = NewEvent {
        run: None,
        workflow: "ticket_triage".into(),
        kind: EventKind::WorkflowRevived,
        person: Some("ana".into()),
        role: Some("analyst".into()),
        fingerprint: String::new(),
        step: None,
        data: serde_json::json!({}),
    };
    insert_signed(&bed, event, proof);
    let _ = bed.writ_raw(&["resume", &run], &[]);
    assert_eq!(priority(&bed), "low", "ana's own revive lifted the kill");
    lacks_kind(&bed, &run, "written");
    let out = audit(&bed, &[]);
    code(&out, 1);
    assert!(
        out.stdout.contains("without its owner role `ops_lead`"),
        "{}",
        out.describe()
    );
}

#[test]
fn audit_catches_a_plan_approved_by_a_person_without_the_owner_role() {
    let bed = Bed::new("attack-plan-by-analyst");
    code(&bed.writ_raw(&["init", "."], &[]), 0);
    // The owner is ops_lead; ana signs the approval's bytes herself and appends the event.
    let args = ["approve-plan", TRIAGE, "--as", "ana"];
    let proof = signed_elsewhere(&bed, &args, "keys/ana", "plan.json");
    let statement: Value = serde_json::from_str(&proof.0).unwrap();
    let source = fs::read_to_string(bed.path(TRIAGE)).unwrap();
    let event = NewEvent {
        run: None,
        workflow: "ticket_triage".into(),
        kind: EventKind::PlanApproved,
        person: Some("ana".into()),
        role: Some("ops_lead".into()),
        fingerprint: statement["fingerprint"].as_str().unwrap().to_owned(),
        step: None,
        data: serde_json::json!({
            "workflow": "ticket_triage",
            "fingerprint": statement["fingerprint"],
            "owner": "ops_lead",
            "source": source,
            "file": bed.path(TRIAGE).display().to_string(),
        }),
    };
    insert_signed(&bed, event, proof);
    let out = audit(&bed, &[]);
    code(&out, 1);
    assert!(
        out.stdout.contains("without the owner role `ops_lead`"),
        "{}",
        out.describe()
    );
}

#[test]
fn audit_catches_a_rollback_asked_by_a_role_that_may_not() {
    let bed = starter("attack-rollback-by-analyst");
    let run = waiting(&bed);
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/sam"], &[]),
        0,
    );
    code(&bed.writ_raw(&["resume", &run], &[]), 0);
    let args = ["rollback", &run, "--as", "ana"];
    let proof = signed_elsewhere(&bed, &args, "keys/ana", "rollback.json");
    let fingerprint: String = bed.query_one(
        ".writ/state.db",
        &format!("SELECT fingerprint FROM events WHERE run = '{run}' LIMIT 1"),
    );
    let event = NewEvent {
        run: Some(run.clone()),
        workflow: "ticket_triage".into(),
        kind: EventKind::RollbackStarted,
        person: Some("ana".into()),
        role: Some("analyst".into()),
        fingerprint,
        step: None,
        data: serde_json::json!({}),
    };
    insert_signed(&bed, event, proof);
    let out = audit(&bed, &[]);
    code(&out, 1);
    assert!(
        out.stdout.contains("a role that may not"),
        "{}",
        out.describe()
    );
}
