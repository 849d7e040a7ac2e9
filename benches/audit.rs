//! `writ audit verify` over a large store: the chain, every event's time, and every signed act's
//! signature checked against the registry in force (the figure: 100,000 events under 3 s).
//!
//! The store is built directly (one transaction, hashes computed as the store computes them)
//! so that building it does not take 100,000 fsyncs: a registry of 50 people with ed25519 keys,
//! then runs of four events each, one of them a signed act (a quarter of all events signed, as
//! in real runs: `run_started` and each decision are signed, the steps between are not); and a
//! worst case where every event is a signed act.
//!
//! `cargo bench --bench audit`; under `cargo test --all-targets` a small store only.

use std::path::Path;
use std::time::Instant;

use serde_json::json;
use writ::identity::{Signer, keygen};
use writ::runtime::clock;
use writ::runtime::config;
use writ::runtime::event::{EventKind, NewEvent};
use writ::runtime::store::chain::Chained;
use writ::runtime::store::sqlite::SqliteStore;
use writ::runtime::trust::audit::audit;
use writ::runtime::trust::statement::{Act, Draft};
use writ::runtime::trust::{Create, Proof, open_store};

const PEOPLE: usize = 50;

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let sizes: &[(usize, usize)] = if full {
        &[(100_000, 4), (100_000, 1)]
    } else {
        &[(2_000, 4)]
    };
    for &(events, every) in sizes {
        let dir = std::env::temp_dir().join(format!("writ-bench-audit-{events}-{every}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let signed = build(&dir, events, every);
        let store = SqliteStore::open(&dir.join(".writ/state.db")).unwrap();
        let started = Instant::now();
        let report = audit(&store).unwrap();
        let took = started.elapsed();
        assert!(report.broken.is_none(), "{:?}", report.broken);
        assert_eq!(report.signed as usize, signed);
        println!(
            "audit verify: {} events ({} signed acts): {:.2} s ({:.1} µs an event, {:.1} µs a signature)",
            report.events,
            signed,
            took.as_secs_f64(),
            took.as_secs_f64() * 1e6 / report.events as f64,
            took.as_secs_f64() * 1e6 / signed.max(1) as f64,
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The signed `plan_approved` of workflow `w` (owner `lead`) by `approver`.
fn approval(store: &str, approver: &(String, Signer)) -> NewEvent {
    let source = include_str!("../tests/corpus/ok/basic_ticket_triage.writ")
        .replace("workflow ticket_triage", "workflow w")
        .replace("ops_lead", "lead");
    let (plan, _) = writ::plan::plan_source(&source).unwrap();
    let fields = json!({ "workflow": "w", "fingerprint": plan.fingerprint, "owner": "lead" });
    let text = Draft::new(Act::ApprovePlan, store, &approver.0, fields)
        .at(clock::now())
        .unwrap();
    let signature = approver.1.sign(text.as_bytes()).unwrap();
    let mut data = json!({
        "workflow": "w", "fingerprint": plan.fingerprint, "owner": "lead",
        "source": source, "file": "/nowhere/w.writ",
    });
    Proof::signed(text, signature.armored().to_owned()).attach(&mut data);
    NewEvent {
        run: None,
        workflow: "w".into(),
        kind: EventKind::PlanApproved,
        person: Some(approver.0.clone()),
        role: Some("lead".into()),
        fingerprint: plan.fingerprint,
        step: None,
        data,
    }
}

/// A store with `events` events after its genesis, one in `every` a signed act; returns how
/// many acts are signed.
fn build(dir: &Path, events: usize, every: usize) -> usize {
    let mut signers = String::new();
    let mut people = String::new();
    let mut keys = Vec::new();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    for i in 0..PEOPLE {
        let name = format!("p{i}");
        let key = dir.join("keys").join(&name);
        let public = keygen(&key, "").unwrap();
        signers.push_str(&format!("{name} {}\n", public.to_openssh()));
        people.push_str(&format!("  {name}: [lead]\n"));
        keys.push((name, Signer::open(&key).unwrap()));
    }
    std::fs::write(dir.join("allowed_signers"), signers).unwrap();
    std::fs::write(
        dir.join("writ.yaml"),
        format!("state: .writ/state.db\nsigners: allowed_signers\npeople:\n{people}"),
    )
    .unwrap();
    let config = config::load(&dir.join("writ.yaml")).unwrap();
    let (store, pinned) = open_store(&config, Create::IfMissing).unwrap();
    drop(store);
    let db = rusqlite::Connection::open(dir.join(".writ/state.db")).unwrap();
    db.execute_batch("PRAGMA synchronous = OFF; BEGIN").unwrap();
    let (mut prev, _): (String, i64) = db
        .query_row(
            "SELECT hash, seq FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let at = clock::format(clock::now());
    let mut signed = 0;
    for n in 0..events {
        let seq = n as u64 + 2;
        let run = format!("20260101-000000-{:06x}", n / every);
        let event = if n == 0 {
            // The workflow's plan, approved by its owner: who may revive it comes from here.
            signed += 1;
            approval(&pinned.store, &keys[0])
        } else if n % every == 0 {
            signed += 1;
            let (person, signer) = &keys[n % PEOPLE];
            let kill = signed % 2 == 0;
            let act = if kill { Act::Kill } else { Act::Revive };
            let fields =
                json!({ "workflow": "w", "system": null, "reason": "r", "after": seq - 1 });
            let text = Draft::new(act, &pinned.store, person, fields)
                .at(clock::now())
                .unwrap();
            let signature = signer.sign(text.as_bytes()).unwrap();
            let mut data = json!({ "reason": "r" });
            Proof::signed(text, signature.armored().to_owned()).attach(&mut data);
            NewEvent {
                run: None,
                workflow: "w".into(),
                kind: if kill {
                    EventKind::WorkflowKilled
                } else {
                    EventKind::WorkflowRevived
                },
                person: Some(person.clone()),
                role: Some("lead".into()),
                fingerprint: String::new(),
                step: None,
                data,
            }
        } else {
            NewEvent {
                run: Some(run),
                workflow: "w".into(),
                kind: EventKind::Recommended,
                person: None,
                role: None,
                fingerprint: "f".repeat(64),
                step: Some("suggest".into()),
                data: json!({ "output": { "priority": "urgent" }, "values": { "priority": "urgent" } }),
            }
        };
        let data = serde_json::to_string(&event.data).unwrap();
        let hash = Chained {
            seq,
            at: &at,
            run: event.run.as_deref(),
            workflow: &event.workflow,
            kind: event.kind.as_str(),
            person: event.person.as_deref(),
            role: event.role.as_deref(),
            fingerprint: &event.fingerprint,
            step: event.step.as_deref(),
            data: &data,
            prev_hash: &prev,
        }
        .hash();
        db.execute(
            "INSERT INTO events (seq, at, run, workflow, kind, person, role, fingerprint, step, \
             data, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            rusqlite::params![
                seq as i64,
                at,
                event.run,
                event.workflow,
                event.kind.as_str(),
                event.person,
                event.role,
                event.fingerprint,
                event.step,
                data,
                prev,
                hash
            ],
        )
        .unwrap();
        prev = hash;
    }
    db.execute_batch("COMMIT").unwrap();
    signed
}
