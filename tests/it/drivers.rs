//! One driver per run: two `writ resume` of the same run at once write once, whatever paths or
//! lock files the two processes used (the store refuses an append after another driver's).

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::bed::Bed;

const WORKFLOW: &str = r#"
workflow count {
  owner ops
  role ops, lead
  system db: sqlite inside
  input id: int
  recommend suggest {
    run exec "scripts/suggest" [id]
    yields n: int
  }
  confirm ok {
    by lead
    shows suggest.n
  }
  recommend slow {
    after ok
    run exec "scripts/slow" []
    yields done: bool
  }
  execute bump {
    after slow
    writes db
    risk medium
    approver lead
    run sql "UPDATE counter SET n = n + 1 WHERE id = :id"
  }
  rollback unbump undoes bump {
    repair by ops
    run sql "UPDATE counter SET n = n - 1 WHERE id = :id"
  }
}
"#;

const CONFIG: &str = "state: .writ/state.db
people:
  ana: [ops]
  sam: [lead]
systems:
  db: { sqlite: db.sqlite }
";

fn setup(name: &str) -> (Bed, String) {
    let bed = Bed::new(name);
    bed.file("count.writ", WORKFLOW);
    bed.file("writ.yaml", CONFIG);
    bed.script("scripts/suggest", "#!/bin/sh\necho '{\"n\": 1}'\n");
    bed.script(
        "scripts/slow",
        "#!/bin/sh\nsleep 0.6\necho '{\"done\": true}'\n",
    );
    bed.sql("db.sqlite", "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter VALUES (1, 0);");
    let (out, run) = bed.start("count.writ", &["id=1"], "ana");
    assert_eq!(out.code, Some(3), "{}", out.describe());
    let approved = bed.writ(&["approve", &run, "ok", "--as", "sam"]);
    assert_eq!(approved.code, Some(0), "{}", approved.describe());
    (bed, run)
}

fn resume(bed: &Bed, run: &str, config: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["resume", run, "--config", config])
        .current_dir(bed.path(""))
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("writ runs")
}

fn count(bed: &Bed) -> i64 {
    bed.query_one("db.sqlite", "SELECT n FROM counter WHERE id = 1")
}

#[test]
fn two_drivers_through_two_configs_write_once() {
    let (bed, run) = setup("drivers-symlink");
    // A second config reaching the same store through a symlink.
    std::os::unix::fs::symlink("state.db", bed.path(".writ/alias.db")).unwrap();
    bed.file(
        "other.yaml",
        &CONFIG.replace(".writ/state.db", ".writ/alias.db"),
    );
    let first = resume(&bed, &run, "writ.yaml");
    let second = resume(&bed, &run, "other.yaml");
    let outcomes = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    assert_eq!(count(&bed), 1, "{outcomes:?}");
    let kinds = bed.kinds(&run);
    assert_eq!(
        kinds.iter().filter(|k| *k == "written").count(),
        1,
        "{kinds:?}"
    );
}

#[test]
fn a_deleted_lock_file_does_not_let_a_second_driver_write() {
    let (bed, run) = setup("drivers-lockfile");
    let first = resume(&bed, &run, "writ.yaml");
    std::thread::sleep(Duration::from_millis(200));
    // The lock files removed while the first driver holds one.
    std::fs::remove_dir_all(bed.path(".writ/state.db.locks")).unwrap();
    let second = resume(&bed, &run, "writ.yaml");
    let outcomes = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    assert_eq!(count(&bed), 1, "{outcomes:?}");
    let codes: Vec<Option<i32>> = outcomes.iter().map(|o| o.status.code()).collect();
    assert!(codes.contains(&Some(0)), "{outcomes:?}");
    let kinds = bed.kinds(&run);
    assert_eq!(
        kinds.iter().filter(|k| *k == "written").count(),
        1,
        "{kinds:?}"
    );
}
