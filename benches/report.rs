//! `writ report` over a large store (the figure: 1,000,000 events under 2 s), and
//! `writ export decisions` over the same store, each timed as the real binary run end to end
//! (opening the store and its trust checks included).
//!
//! The store is built directly in one transaction (hashes computed as the store computes
//! them), as `benches/audit.rs` does: ten approved workflows with an earned-autonomy gate, and
//! runs of seven events each (`run_started`, `recommended`, `confirmation_requested`, a
//! decision (rejections falling from one in four to one in twenty, a few expiries), `before_image`, `written`, `run_finished`), spread over
//! the last 60 days.
//!
//! `cargo bench --bench report`; under `cargo test --all-targets` a small store only.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};
use writ::runtime::clock;
use writ::runtime::config;
use writ::runtime::event::EventKind;
use writ::runtime::store::chain::Chained;
use writ::runtime::trust::{Create, open_store};

const WORKFLOWS: usize = 10;
const PER_RUN: usize = 7;

const WORKFLOW: &str = r#"workflow notes {
  owner lead
  role agent, lead
  system notes: sqlite outside
  input id: int
  recommend suggest {
    run exec "scripts/suggest" [id]
    yields text: text
  }
  confirm review {
    by agent
    shows suggest.text
    expires 1h -> reject
  }
  execute add_note {
    after review
    writes notes
    risk low
    approver agent
    auto when acceptance >= 90% over 28d min 20 review 10%
    run sql "INSERT INTO notes (id, text) VALUES (:id, :suggest.text)"
  }
  rollback remove_note undoes add_note {
    repair by lead
    run sql "DELETE FROM notes WHERE id = :id"
  }
}
"#;

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    // `WRIT_REPORT_STORE=DIR`: build a store of 20,000 events in DIR and keep it (the store
    // `scripts/report-screenshot` renders for docs/report.png).
    let keep = std::env::var_os("WRIT_REPORT_STORE").map(std::path::PathBuf::from);
    let events = match (full, &keep) {
        (true, _) => 1_000_000,
        (false, Some(_)) => 20_000,
        (false, None) => 2_000,
    };
    let dir = keep
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("writ-bench-report-{events}")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let built = Instant::now();
    let total = build(&dir, events);
    let built = built.elapsed();
    for (label, args) in [
        ("report --format json", &["report", "--format", "json"][..]),
        ("report (text)", &["report"][..]),
        (
            "report --since 7d --workflow notes3",
            &["report", "--since", "7d", "--workflow", "notes3"][..],
        ),
        (
            "export decisions",
            &["export", "decisions", "--format", "jsonl"][..],
        ),
    ] {
        // The fastest of three runs: the store's pages are in the page cache, as on a runner
        // that reports regularly.
        let mut best = f64::MAX;
        let mut bytes = 0;
        for _ in 0..3 {
            let started = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_writ"))
                .args(args)
                .current_dir(&dir)
                .output()
                .unwrap();
            best = best.min(started.elapsed().as_secs_f64());
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            bytes = out.stdout.len();
        }
        println!("writ {label}: {total} events: {best:.2} s ({bytes} bytes out)");
    }
    if full {
        println!("(store built in {:.1} s)", built.as_secs_f64());
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A store with about `events` events after its genesis and the plan approvals; returns how
/// many events it holds.
fn build(dir: &Path, events: usize) -> usize {
    std::fs::write(
        dir.join("writ.yaml"),
        "state: .writ/state.db\nidentity: asserted\npeople:\n  ana: [agent]\n  sam: [agent]\n  lee: [lead]\nsystems:\n  notes: { sqlite: notes.db }\n",
    )
    .unwrap();
    let config = config::load(&dir.join("writ.yaml")).unwrap();
    drop(open_store(&config, Create::IfMissing).unwrap());
    let db = rusqlite::Connection::open(dir.join(".writ/state.db")).unwrap();
    db.execute_batch("PRAGMA synchronous = OFF; BEGIN").unwrap();
    let (prev, last): (String, i64) = db
        .query_row(
            "SELECT hash, seq FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut chain = Chain {
        db: &db,
        prev,
        seq: last as u64,
    };
    let now = clock::now();
    let start = now - 60 * 86_400_000;
    let mut fingerprints = Vec::new();
    for w in 0..WORKFLOWS {
        let name = format!("notes{w}");
        let source = WORKFLOW.replace("workflow notes", &format!("workflow {name}"));
        let (plan, _) = writ::plan::plan_source(&source).unwrap();
        let data = json!({ "workflow": name, "fingerprint": plan.fingerprint, "owner": "lead",
            "source": source, "file": dir.join("notes.writ").display().to_string(),
            "identity": "asserted" });
        chain.push(
            start,
            None,
            &name,
            EventKind::PlanApproved,
            Some("lee"),
            "",
            None,
            &data,
        );
        fingerprints.push((name, plan.fingerprint.clone()));
    }
    let runs = events / PER_RUN;
    let gate = json!({ "step": "add_note", "system": "notes", "target": "sqlite:/srv/notes.db",
        "action": { "sql": "INSERT INTO notes (id, text) VALUES (?1, ?2)", "params": [1, "call back"] },
        "hash": "a".repeat(64), "text_hash": "b".repeat(64) });
    for r in 0..runs {
        let (workflow, fingerprint) = &fingerprints[r % WORKFLOWS];
        let at = start + (r as i64) * (now - start) / runs as i64;
        let run = format!("20260101-000000-{r:08x}");
        let shows = json!([["suggest.text", "call back"]]);
        // Rejections fall from one in four to one in twenty over the 60 days; one in fifty
        // expires.
        let draw = (r * 7_919) % 100;
        let rejecting = 25 - 20 * r / runs.max(1);
        let decision = if draw < 2 {
            EventKind::Expired
        } else if draw < 2 + rejecting {
            EventKind::Rejected
        } else {
            EventKind::Confirmed
        };
        let (decider, reason) = match decision {
            EventKind::Expired => (None, Value::Null),
            EventKind::Rejected => (Some("sam"), json!("wrong customer")),
            _ => (Some("sam"), Value::Null),
        };
        let kinds = [
            (
                EventKind::RunStarted,
                Some("ana"),
                None,
                json!({ "file": "/srv/notes.writ",
                "owner": "lead", "inputs": { "id": r }, "writes": ["notes"], "identity": "asserted" }),
            ),
            (
                EventKind::Recommended,
                None,
                Some("suggest"),
                json!({ "output": { "text": "call back" },
                "values": { "text": "call back" } }),
            ),
            (
                EventKind::ConfirmationRequested,
                None,
                Some("review"),
                json!({ "role": "agent",
                "shows": shows, "gates": [gate] }),
            ),
            (
                decision,
                decider,
                Some("review"),
                json!({ "shows": shows, "gates": [gate], "note": reason, "identity": "asserted" }),
            ),
            (
                EventKind::BeforeImage,
                None,
                Some("add_note"),
                json!({ "system": "notes",
                "hash": "a".repeat(64), "before": null, "after": null }),
            ),
            (
                EventKind::Written,
                None,
                Some("add_note"),
                json!({ "system": "notes",
                "target": "sqlite:/srv/notes.db", "action": gate["action"], "hash": "a".repeat(64),
                "changes": 1 }),
            ),
            (
                EventKind::RunFinished,
                None,
                None,
                json!({ "status": "done" }),
            ),
        ];
        for (kind, person, step, data) in kinds {
            chain.push(
                at,
                Some(&run),
                workflow,
                kind,
                person,
                fingerprint,
                step,
                &data,
            );
        }
    }
    db.execute_batch("COMMIT").unwrap();
    chain.seq as usize
}

/// The end of the chain being built.
struct Chain<'a> {
    db: &'a rusqlite::Connection,
    prev: String,
    seq: u64,
}

impl Chain<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        at: i64,
        run: Option<&str>,
        workflow: &str,
        kind: EventKind,
        person: Option<&str>,
        fingerprint: &str,
        step: Option<&str>,
        data: &Value,
    ) {
        self.seq += 1;
        let at = clock::format(at);
        let data = serde_json::to_string(data).unwrap();
        let role = person.map(|p| if p == "lee" { "lead" } else { "agent" });
        let hash = Chained {
            seq: self.seq,
            at: &at,
            run,
            workflow,
            kind: kind.as_str(),
            person,
            role,
            fingerprint,
            step,
            data: &data,
            prev_hash: &self.prev,
        }
        .hash();
        self.db
            .execute(
                "INSERT INTO events (seq, at, run, workflow, kind, person, role, fingerprint, \
                 step, data, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
                 ?11, ?12)",
                rusqlite::params![
                    self.seq as i64,
                    at,
                    run,
                    workflow,
                    kind.as_str(),
                    person,
                    role,
                    fingerprint,
                    step,
                    data,
                    self.prev,
                    hash
                ],
            )
            .unwrap();
        self.prev = hash;
    }
}
