//! The kill switch inside the write's transaction: a kill recorded while a write waits for the
//! database's lock stops that write, because the switch is read again after the lock is held,
//! just before `COMMIT`.

use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use crate::crash::{Case, WORKFLOW, both_written, original};
use crate::support::bed::HELPDESK_CONFIG;

#[test]
fn a_kill_recorded_while_the_write_waits_for_the_database_lock_stops_it() {
    let case = Case::new("kill-in-transaction", WORKFLOW);
    let run = case.start();
    case.approve(&run);

    // Another writer holds the helpdesk's write lock, so the resume's `BEGIN IMMEDIATE` waits.
    let holder = case.bed.db("helpdesk.db");
    holder
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let resume = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["resume", &run, "--format", "json"])
        .current_dir(case.bed.path(""))
        .env("NO_COLOR", "1")
        .env_remove("WRIT_FAULT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start writ resume");
    // Time for the resume to reach the write and block on the lock (its busy wait is 5 s).
    thread::sleep(Duration::from_millis(1500));
    let kill = case
        .bed
        .writ(&["kill", "crashy", "--as", "olu", "--reason", "stop"]);
    assert_eq!(
        kill.code,
        Some(0),
        "writ kill: {}{}",
        kill.stdout,
        kill.stderr
    );
    holder
        .execute_batch("COMMIT")
        .expect("release the write lock");
    let out = resume.wait_with_output().expect("writ resume ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "resume: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(
        case.ticket(),
        original(),
        "nothing was written after the kill"
    );
    let events = case.bed.events(&run);
    let seq = |kind: &str, step: &str| {
        events
            .iter()
            .find(|e| e["kind"] == kind && e["step"] == step)
            .and_then(|e| e["seq"].as_u64())
    };
    assert_eq!(
        seq("written", "first"),
        None,
        "`first` is not written: {events:?}"
    );
    let drafted = events
        .iter()
        .find(|e| e["kind"] == "drafted" && e["step"] == "first")
        .unwrap_or_else(|| panic!("`first` is drafted: {events:?}"));
    let killed_by = drafted["data"]["killed_by"].as_u64().expect("killed_by");
    // The write reached its transaction (its before-image is recorded) only after the kill.
    let before = seq("before_image", "first").expect("`first` reached its transaction");
    assert!(
        killed_by < before,
        "the kill ({killed_by}) came before the before-image ({before})"
    );
    let marker: i64 = case.bed.query_one(
        "helpdesk.db",
        "SELECT count(*) FROM sqlite_master WHERE name = 'writ_writes'",
    );
    assert_eq!(
        marker, 0,
        "the rolled-back transaction left no marker table either"
    );
}

#[test]
fn a_rollback_obeys_the_kill_switch_unless_forced() {
    let case = Case::new("kill-rollback", WORKFLOW);
    let run = case.start();
    case.approve(&run);
    let done = case.resume(&run, 0);
    assert_eq!(done["status"], "done", "{done}");
    let kill = case
        .bed
        .writ(&["kill", "crashy", "--as", "olu", "--reason", "stop"]);
    assert_eq!(
        kill.code,
        Some(0),
        "writ kill: {}{}",
        kill.stdout,
        kill.stderr
    );

    let refused = case.report(&["rollback", &run, "--as", "olu", "--format", "json"], 1);
    assert_eq!(refused["status"], "needs_repair", "{refused}");
    assert_eq!(
        case.ticket(),
        both_written(),
        "a killed workflow's rollback writes nothing"
    );
    let events = case.bed.events(&run);
    let failed = events
        .iter()
        .find(|e| e["kind"] == "rollback_failed")
        .unwrap_or_else(|| panic!("a rollback_failed event: {events:?}"));
    assert!(
        failed["data"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("--force")),
        "the refusal says how to force it: {failed}"
    );

    let forced = case.report(
        &[
            "rollback", &run, "--as", "olu", "--force", "--format", "json",
        ],
        0,
    );
    assert_eq!(forced["status"], "rolled_back", "{forced}");
    assert_eq!(
        case.ticket(),
        original(),
        "the forced rollback restores the ticket"
    );
}

#[test]
fn killing_a_system_holds_the_same_database_under_another_system_name() {
    let case = Case::new("kill-by-target", WORKFLOW);
    // `mirror` is the helpdesk's database through a symbolic link.
    std::os::unix::fs::symlink(case.bed.path("helpdesk.db"), case.bed.path("mirror.db"))
        .expect("link the database");
    case.bed.file(
        "writ.yaml",
        &format!("{HELPDESK_CONFIG}  mirror: {{ sqlite: mirror.db }}\n"),
    );
    let run = case.start();
    case.approve(&run);
    let kill = case.bed.writ(&[
        "kill", "--system", "mirror", "--as", "olu", "--reason", "outage",
    ]);
    assert_eq!(
        kill.code,
        Some(0),
        "writ kill: {}{}",
        kill.stdout,
        kill.stderr
    );
    let _ = case.resume(&run, 0);
    assert_eq!(
        case.ticket(),
        original(),
        "the helpdesk is held by the kill of `mirror`"
    );
    let kinds = case.bed.kinds(&run);
    assert!(kinds.iter().any(|k| k == "drafted"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "written"), "{kinds:?}");
}
