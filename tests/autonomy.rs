//! Earned autonomy through the real binary (DESIGN.md, "Earned autonomy"): a low-risk write
//! outside the envelope is confirmed by the gate once the human record spans the window and
//! meets the threshold, with the figures in `auto_confirmed`; humans confirm again when the
//! workflow is killed.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

const WORKFLOW: &str = r#"
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
    by agent
    shows suggest.text
    expires 1h -> reject
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
}
"#;

const CONFIG: &str = "state: .writ/state.db
people:
  ana: [agent]
  sam: [agent]
  lee: [lead]
systems:
  notes: { sqlite: notes.db }
";

fn setup() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("writ-autonomy-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("scripts")).unwrap();
    fs::write(dir.join("notes.writ"), WORKFLOW).unwrap();
    fs::write(dir.join("writ.yaml"), CONFIG).unwrap();
    let script = dir.join("scripts/suggest");
    fs::write(&script, "#!/bin/sh\necho '{\"text\": \"call back\"}'\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let db = rusqlite::Connection::open(dir.join("notes.db")).unwrap();
    db.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
        .unwrap();
    dir
}

/// Runs writ in `dir`; returns the exit code and stdout.
fn writ(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Starts a run for note `id`; returns (exit code, run id).
fn start(dir: &Path, id: u32) -> (i32, String) {
    let input = format!("id={id}");
    let (code, out) = writ(
        dir,
        &[
            "run",
            "notes.writ",
            "--input",
            &input,
            "--as",
            "ana",
            "--format",
            "json",
        ],
    );
    let run = json(&out)["run"].as_str().unwrap().to_owned();
    (code, run)
}

/// A full human-confirmed run.
fn confirmed_by_hand(dir: &Path, id: u32) {
    let (code, run) = start(dir, id);
    assert_eq!(code, 3, "run {id} waits for an agent");
    assert_eq!(writ(dir, &["approve", &run, "review", "--as", "sam"]).0, 0);
    assert_eq!(writ(dir, &["resume", &run]).0, 0);
}

fn kinds(dir: &Path, run: &str) -> Vec<String> {
    let (_, out) = writ(dir, &["log", run, "--format", "jsonl"]);
    out.lines()
        .map(|line| json(line)["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_gate_confirms_once_earned_and_humans_confirm_again_when_killed() {
    let dir = setup();
    confirmed_by_hand(&dir, 1);
    // Two decisions would meet `min 2`, but the record does not span `over 2s` yet.
    confirmed_by_hand(&dir, 2);
    let (code, early) = start(&dir, 3);
    assert_eq!(code, 3, "no autonomy before the record spans the window");
    assert_eq!(
        writ(&dir, &["approve", &early, "review", "--as", "sam"]).0,
        0
    );
    assert_eq!(writ(&dir, &["resume", &early]).0, 0);
    sleep(Duration::from_millis(2_100));
    // The first decision is now over 2 s old; two more inside the window keep `min 2`.
    confirmed_by_hand(&dir, 4);
    confirmed_by_hand(&dir, 5);
    let (code, auto) = start(&dir, 6);
    assert_eq!(code, 0, "the gate holds: done without a human");
    let (_, log) = writ(&dir, &["log", &auto, "--format", "jsonl"]);
    let gate = log
        .lines()
        .map(json)
        .find(|e| e["kind"] == "auto_confirmed")
        .expect("an auto_confirmed event");
    assert_eq!(gate["step"], "add_note");
    assert_eq!(gate["role"], "agent");
    assert!(gate["person"].is_null(), "the gate is not a person");
    let figures = &gate["data"]["figures"];
    assert_eq!(figures["confirmed"], figures["decisions"]);
    assert!(figures["decisions"].as_u64().unwrap() >= 2, "{figures}");
    assert_eq!(figures["required_basis_points"], 9_000);
    assert!(!kinds(&dir, &auto).contains(&"confirmation_requested".to_owned()));
    let db = rusqlite::Connection::open(dir.join("notes.db")).unwrap();
    let count: i64 = db
        .query_row("SELECT count(*) FROM notes WHERE id = 6", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 1, "the auto-confirmed write happened");

    // The kill switch takes the workflow back to humans at once.
    let kill = [
        "kill",
        "notes",
        "--as",
        "ana",
        "--reason",
        "drafts look off",
    ];
    assert_eq!(writ(&dir, &kill).0, 0);
    let (code, after_kill) = start(&dir, 7);
    assert_eq!(code, 3, "killed: a human must confirm again");
    assert!(kinds(&dir, &after_kill).contains(&"confirmation_requested".to_owned()));
    fs::remove_dir_all(&dir).ok();
}
