//! Earned autonomy's scope and fallbacks, through the real binary: each test states what
//! DESIGN.md promises (found by a review of the runtime, fixed since).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

/// Production: `add_note` writes `notes`, confirmed by a `lead`, auto after 2 s / min 2.
const PRODUCTION: &str = r#"
workflow notes {
  owner lead
  role agent, lead
  system notes: sqlite outside
  input id: int
  recommend suggest {
    run exec "scripts/suggest" [id]
    yields text: text
  }
  confirm review {
    by lead
    shows suggest.text
  }
  execute add_note {
    after review
    writes notes
    risk low
    approver lead
    auto when acceptance >= 90% over 2s min 2
    run sql "INSERT INTO notes (id, text) VALUES (:id, :suggest.text)"
  }
  rollback remove_note undoes add_note {
    repair by lead
    run sql "DELETE FROM notes WHERE id = :id"
  }
}
"#;

/// A copy with the same workflow name and step names and the same SQL text, but it writes a
/// scratch database and is confirmed by an `agent` (a role that never confirms production).
const SANDBOX: &str = r#"
workflow notes {
  owner agent
  role agent
  system scratch: sqlite outside
  input id: int
  recommend suggest {
    run exec "scripts/suggest" [id]
    yields text: text
  }
  confirm review {
    by agent
    shows suggest.text
  }
  execute add_note {
    after review
    writes scratch
    risk low
    approver agent
    auto when acceptance >= 90% over 2s min 2
    run sql "INSERT INTO notes (id, text) VALUES (:id, :suggest.text)"
  }
  rollback remove_note undoes add_note {
    repair by agent
    run sql "DELETE FROM notes WHERE id = :id"
  }
}
"#;

/// `review` gates two writes: `add_note` (with an earned gate) and `add_more`, which comes
/// after `add_note` and has no gate: a human must still confirm `review` for it.
const CHAIN: &str = r#"
workflow chain {
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
  }
  execute add_note {
    after review
    writes notes
    risk low
    approver agent
    auto when acceptance >= 90% over 2s min 2
    run sql "INSERT INTO notes (id, text) VALUES (:id, :suggest.text)"
  }
  rollback remove_note undoes add_note {
    repair by lead
    run sql "DELETE FROM notes WHERE id = :id"
  }
  execute add_more {
    after add_note
    writes notes
    risk low
    approver agent
    run sql "INSERT INTO notes (id, text) VALUES (:id + 1000, :suggest.text)"
  }
  rollback remove_more undoes add_more {
    repair by lead
    run sql "DELETE FROM notes WHERE id = :id + 1000"
  }
}
"#;

const CONFIG: &str = "state: .writ/state.db
people:
  ana: [agent]
  sam: [agent]
  lee: [lead]
systems:
  notes: { sqlite: notes.db }
  scratch: { sqlite: scratch.db }
";

fn setup(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("writ-review-auto-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("scripts")).unwrap();
    fs::write(dir.join("notes.writ"), PRODUCTION).unwrap();
    fs::write(dir.join("sandbox.writ"), SANDBOX).unwrap();
    fs::write(dir.join("chain.writ"), CHAIN).unwrap();
    fs::write(dir.join("writ.yaml"), CONFIG).unwrap();
    let script = dir.join("scripts/suggest");
    fs::write(&script, "#!/bin/sh\necho '{\"text\": \"call back\"}'\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    for db in ["notes.db", "scratch.db"] {
        rusqlite::Connection::open(dir.join(db))
            .unwrap()
            .execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
            .unwrap();
    }
    dir
}

fn writ(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(args)
        .current_dir(dir)
        .env_remove("WRIT_FAULT")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn start(dir: &Path, file: &str, id: u32) -> (i32, serde_json::Value) {
    let input = format!("id={id}");
    let args = [
        "run", file, "--input", &input, "--as", "ana", "--format", "json",
    ];
    let (code, out) = writ(dir, &args);
    (code, serde_json::from_str(&out).unwrap())
}

fn by_hand(dir: &Path, file: &str, id: u32, approver: &str) {
    let (code, report) = start(dir, file, id);
    assert_eq!(code, 3, "{report}");
    let run = report["run"].as_str().unwrap();
    assert_eq!(
        writ(dir, &["approve", run, "review", "--as", approver]).0,
        0
    );
    assert_eq!(writ(dir, &["resume", run]).0, 0);
}

/// DESIGN.md: autonomy counts "only the history of this step with this same action text". A
/// different workflow file that only shares the workflow's *name* (another system, another
/// confirming role) must not earn autonomy for production: here no `lead` ever confirmed a
/// production write, yet the gate confirms one.
#[test]
fn decisions_on_another_system_by_another_role_do_not_earn_production_autonomy() {
    let dir = setup("sandbox");
    by_hand(&dir, "sandbox.writ", 1, "sam");
    by_hand(&dir, "sandbox.writ", 2, "sam");
    sleep(Duration::from_millis(2_100));
    by_hand(&dir, "sandbox.writ", 3, "sam");
    by_hand(&dir, "sandbox.writ", 4, "sam");
    let (code, report) = start(&dir, "notes.writ", 5);
    let prod: i64 = rusqlite::Connection::open(dir.join("notes.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        (code, prod),
        (3, 0),
        "production was auto-confirmed and written from sandbox decisions: {report}"
    );
}

/// docs/runtime.md: "a confirm whose every following step is such an execute is not asked at
/// all; one with other writes behind it still waits for a human". `add_more` is behind
/// `review` (through `add_note`), so `review` must be asked; instead it is skipped and the run
/// fails at `add_more` (no decision allows it), rolling back `add_note`.
#[test]
fn a_confirm_with_an_ungated_write_further_behind_still_waits_for_a_human() {
    let dir = setup("chain");
    by_hand(&dir, "chain.writ", 1, "sam");
    by_hand(&dir, "chain.writ", 2, "sam");
    sleep(Duration::from_millis(2_100));
    by_hand(&dir, "chain.writ", 3, "sam");
    by_hand(&dir, "chain.writ", 4, "sam");
    let (code, report) = start(&dir, "chain.writ", 5);
    assert_eq!(
        (code, report["status"].as_str()),
        (3, Some("waiting")),
        "review must wait for a human for add_more: {report}"
    );
}

/// An exec write with an earned gate and `critical == 0`.
const CRITICAL: &str = r#"
workflow post {
  owner lead
  role agent, lead
  system gw: exec outside
  input id: int
  recommend suggest {
    run exec "scripts/suggest" [id]
    yields text: text
  }
  confirm review {
    by agent
    shows suggest.text
  }
  execute send {
    after review
    writes gw
    risk low
    approver agent
    auto when acceptance >= 50% over 2s min 2 and critical == 0
    run exec "scripts/send" [id, suggest.text]
  }
  rollback unsend undoes send {
    repair by lead
    run exec "scripts/send" [id, "undo"]
  }
}
"#;

/// DESIGN.md: with `critical == 0` the gate holds only when "no run of that step was rolled
/// back or needed repair within DUR". A run whose `send` call failed half-way ends
/// `needs_repair` (the write is in doubt), yet it is not counted as critical: only
/// `rolled_back` / `rollback_failed` events are, and an in-doubt write records neither.
#[test]
fn a_run_that_needed_repair_counts_as_critical() {
    let dir = setup("critical");
    fs::write(dir.join("post.writ"), CRITICAL).unwrap();
    fs::write(
        dir.join("writ.yaml"),
        format!("{CONFIG}  gw: {{ exec: ~ }}\n"),
    )
    .unwrap();
    let send = dir.join("scripts/send");
    fs::write(&send, "#!/bin/sh\n[ \"$1\" = 3 ] && exit 1\necho '{}'\n").unwrap();
    fs::set_permissions(&send, fs::Permissions::from_mode(0o755)).unwrap();
    by_hand(&dir, "post.writ", 1, "sam");
    by_hand(&dir, "post.writ", 2, "sam");
    sleep(Duration::from_millis(2_100));
    let (code, report) = start(&dir, "post.writ", 3);
    assert_eq!(code, 3, "{report}");
    let run = report["run"].as_str().unwrap();
    assert_eq!(writ(&dir, &["approve", run, "review", "--as", "sam"]).0, 0);
    let (code, out) = writ(&dir, &["resume", run, "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("needs_repair"), "{out}");
    by_hand(&dir, "post.writ", 4, "sam");
    let (code, report) = start(&dir, "post.writ", 5);
    assert_eq!(
        code, 3,
        "the gate confirmed although a run of `send` needed repair within the window: {report}"
    );
}

/// `auto when acceptance >= 0% over 2s min 0` passes the checker. Once the one human decision
/// is older than the window and none is inside it, the engine's own gate test
/// (`requests.rs::compute_gate`) holds, so `review` is not requested, but `decide::by_gate`
/// refuses (`decisions > 0`): nothing asks a human and nothing writes. The run stays `ready`
/// forever; every `writ resume` repeats it (exit 1, "next: writ resume").
#[test]
fn a_gate_that_decide_refuses_falls_back_to_a_human() {
    let dir = setup("min0");
    let file = PRODUCTION
        .replace("by lead", "by agent")
        .replace("approver lead", "approver agent")
        .replace(
            "acceptance >= 90% over 2s min 2",
            "acceptance >= 0% over 2s min 0",
        );
    fs::write(dir.join("zero.writ"), file).unwrap();
    by_hand(&dir, "zero.writ", 1, "sam");
    sleep(Duration::from_millis(2_300));
    let (code, report) = start(&dir, "zero.writ", 2);
    assert_eq!(
        (code, report["status"].as_str()),
        (3, Some("waiting")),
        "neither asked nor written: {report}"
    );
}
