//! Earned autonomy's scope and fallbacks, through the real binary: each test states what
//! docs/runtime.md promises (found by a review of the runtime, fixed since).

use crate::support::bed;

use std::thread::sleep;
use std::time::Duration;

use bed::Bed;

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
    auto when acceptance >= 90% over 2s min 2 review 0%
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
    auto when acceptance >= 90% over 2s min 2 review 0%
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
    auto when acceptance >= 90% over 2s min 2 review 0%
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

/// `lee` holds both owner roles: the sandbox copy (owner `agent`) is approved first, so the
/// production version (owner `lead`) takes a person of the owner role on record as well.
const CONFIG: &str = "state: .writ/state.db
people:
  ana: [agent]
  sam: [agent]
  lee: [lead, agent]
systems:
  notes: { sqlite: notes.db }
  scratch: { sqlite: scratch.db }
";

/// A folder with the config, the three workflows, their script and an empty `notes` table in
/// both `notes.db` and `scratch.db`.
fn setup(name: &str) -> Bed {
    let bed = Bed::new(name);
    bed.file("notes.writ", PRODUCTION);
    bed.file("sandbox.writ", SANDBOX);
    bed.file("chain.writ", CHAIN);
    bed.file("writ.yaml", CONFIG);
    bed.script(
        "scripts/suggest",
        "#!/bin/sh\necho '{\"text\": \"call back\"}'\n",
    );
    for db in ["notes.db", "scratch.db"] {
        bed.sql(
            db,
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
        );
    }
    bed
}

/// Starts a run of `file` for note `id`; returns (exit code, the JSON report).
fn start(bed: &Bed, file: &str, id: u32) -> (Option<i32>, serde_json::Value) {
    let input = format!("id={id}");
    let (out, _) = bed.start(file, &[&input], "ana");
    (out.code, out.json())
}

/// A full run of `file` for note `id`, `review` confirmed by `approver`.
fn by_hand(bed: &Bed, file: &str, id: u32, approver: &str) {
    let (code, report) = start(bed, file, id);
    assert_eq!(code, Some(3), "{report}");
    let run = report["run"].as_str().unwrap();
    let approve = bed.writ(&["approve", run, "review", "--as", approver]);
    assert_eq!(approve.code, Some(0));
    assert_eq!(bed.writ(&["resume", run]).code, Some(0));
}

/// docs/runtime.md: autonomy counts "only the history of this step with this same action text". A
/// different workflow file that only shares the workflow's *name* (another system, another
/// confirming role) must not earn autonomy for production: here no `lead` ever confirmed a
/// production write, yet the gate confirms one.
#[test]
fn decisions_on_another_system_by_another_role_do_not_earn_production_autonomy() {
    let bed = setup("sandbox");
    by_hand(&bed, "sandbox.writ", 1, "sam");
    by_hand(&bed, "sandbox.writ", 2, "sam");
    sleep(Duration::from_millis(2_100));
    // The sandbox's own gate holds now; production's has no decision at all.
    let (code, report) = start(&bed, "notes.writ", 5);
    let prod: i64 = bed.query_one("notes.db", "SELECT count(*) FROM notes");
    assert_eq!(
        (code, prod),
        (Some(3), 0),
        "production was auto-confirmed and written from sandbox decisions: {report}"
    );
}

/// docs/runtime.md: "a confirm whose every following step is such an execute is not asked at
/// all; one with other writes behind it still waits for a human". `add_more` is behind
/// `review` (through `add_note`), so `review` must be asked; instead it is skipped and the run
/// fails at `add_more` (no decision allows it), rolling back `add_note`.
#[test]
fn a_confirm_with_an_ungated_write_further_behind_still_waits_for_a_human() {
    let bed = setup("chain");
    by_hand(&bed, "chain.writ", 1, "sam");
    by_hand(&bed, "chain.writ", 2, "sam");
    sleep(Duration::from_millis(2_100));
    by_hand(&bed, "chain.writ", 3, "sam");
    by_hand(&bed, "chain.writ", 4, "sam");
    let (code, report) = start(&bed, "chain.writ", 5);
    assert_eq!(
        (code, report["status"].as_str()),
        (Some(3), Some("waiting")),
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
    auto when acceptance >= 50% over 2s min 2 and critical == 0 review 0%
    run exec "scripts/send" [id, suggest.text]
  }
  rollback unsend undoes send {
    repair by lead
    run exec "scripts/send" [id, "undo"]
  }
}
"#;

/// docs/runtime.md: with `critical == 0` the gate holds only when "no run of that step was rolled
/// back or needed repair within DUR". A run whose `send` call failed half-way ends
/// `needs_repair` (the write is in doubt), yet it is not counted as critical: only
/// `rolled_back` / `rollback_failed` events are, and an in-doubt write records neither.
#[test]
fn a_run_that_needed_repair_counts_as_critical() {
    let bed = setup("critical");
    bed.file("post.writ", CRITICAL);
    bed.file("writ.yaml", &format!("{CONFIG}  gw: {{ exec: ~ }}\n"));
    bed.script(
        "scripts/send",
        "#!/bin/sh\n[ \"$1\" = 3 ] && exit 1\necho '{}'\n",
    );
    by_hand(&bed, "post.writ", 1, "sam");
    by_hand(&bed, "post.writ", 2, "sam");
    // Past the horizon (2 x 2 s): both decisions are stale, so run 3 goes to a human.
    sleep(Duration::from_millis(4_200));
    let (code, report) = start(&bed, "post.writ", 3);
    assert_eq!(code, Some(3), "{report}");
    let run = report["run"].as_str().unwrap();
    let approve = bed.writ(&["approve", run, "review", "--as", "sam"]);
    assert_eq!(approve.code, Some(0));
    let resume = bed.writ(&["resume", run, "--format", "json"]);
    let out = &resume.stdout;
    assert_eq!(resume.code, Some(1), "{out}");
    assert!(out.contains("needs_repair"), "{out}");
    by_hand(&bed, "post.writ", 4, "sam");
    let (code, report) = start(&bed, "post.writ", 5);
    assert_eq!(
        code,
        Some(3),
        "the gate confirmed although a run of `send` needed repair within the window: {report}"
    );
}

/// `auto when acceptance >= 0% over 2s min 0` passes the checker. Once the one human decision
/// is older than the window and none is inside it, `min 0` takes none from the horizon: no
/// decision counts, the gate (which always needs one) is closed, and a human is asked.
#[test]
fn a_gate_that_decide_refuses_falls_back_to_a_human() {
    let bed = setup("min0");
    let file = PRODUCTION
        .replace("by lead", "by agent")
        .replace("approver lead", "approver agent")
        .replace(
            "acceptance >= 90% over 2s min 2",
            "acceptance >= 0% over 2s min 0",
        );
    bed.file("zero.writ", &file);
    by_hand(&bed, "zero.writ", 1, "sam");
    sleep(Duration::from_millis(2_300));
    let (code, report) = start(&bed, "zero.writ", 2);
    assert_eq!(
        (code, report["status"].as_str()),
        (Some(3), Some("waiting")),
        "neither asked nor written: {report}"
    );
}
