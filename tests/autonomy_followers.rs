//! A confirm whose gated writes all pass their autonomy gate but with another step behind it
//! (a recommend) is still asked: that step waits for the human decision while the gated write
//! goes ahead (found by a review: skipping the confirm left the run stuck `ready`).

#[path = "support/bed.rs"]
mod bed;

use std::thread::sleep;
use std::time::Duration;

use bed::Bed;

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
  recommend follow_up {
    after review
    run exec "scripts/suggest" [id]
    yields text: text
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

fn setup() -> Bed {
    let bed = Bed::new("skip");
    bed.file("notes.writ", WORKFLOW);
    bed.file("writ.yaml", CONFIG);
    bed.script(
        "scripts/suggest",
        "#!/bin/sh\necho '{\"text\": \"call back\"}'\n",
    );
    bed.sql(
        "notes.db",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
    );
    bed
}

fn by_hand(bed: &Bed, id: u32) {
    let input = format!("id={id}");
    let (out, run) = bed.start("notes.writ", &[&input], "ana");
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert_eq!(
        bed.writ(&["approve", &run, "review", "--as", "sam"]).code,
        Some(0)
    );
    let resumed = bed.writ(&["resume", &run]);
    assert_eq!(resumed.code, Some(0), "{}", resumed.describe());
}

/// A confirm with a step other than gated writes behind it (here a recommend) is asked, not
/// skipped: the recommend waits for its decision, while the auto-confirmed write goes ahead.
/// (Skipping it left the recommend stuck and the run `ready` forever.)
#[test]
fn a_recommend_behind_a_gate_still_gets_its_human_decision() {
    let bed = setup();
    by_hand(&bed, 1);
    sleep(Duration::from_millis(2_100));
    by_hand(&bed, 2);
    by_hand(&bed, 3);
    let (out, run) = bed.start("notes.writ", &["id=4"], "ana");
    assert_eq!(out.code, Some(3), "waits for the agent: {}", out.describe());
    let kinds = bed.kinds(&run);
    for kind in ["confirmation_requested", "auto_confirmed", "written"] {
        assert!(kinds.contains(&kind.to_owned()), "{kind}: {kinds:?}");
    }
    assert_eq!(
        bed.writ(&["approve", &run, "review", "--as", "sam"]).code,
        Some(0)
    );
    let resumed = bed.writ(&["resume", &run, "--format", "json"]);
    assert_eq!(resumed.code, Some(0), "{}", resumed.describe());
    assert_eq!(resumed.json()["steps"]["follow_up"], "recommended");
    let written = bed.kinds(&run).iter().filter(|k| *k == "written").count();
    assert_eq!(written, 1, "the auto-confirmed write is not written again");
}
