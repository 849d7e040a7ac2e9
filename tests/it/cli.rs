//! The real `writ` binary, driven as a user or CI would: exit codes, output streams, files.
//! One integration-test binary for the whole command line.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CLEAN: &str = include_str!("../../workflows/ticket_triage.writ");

fn writ(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the writ binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh directory under the target dir, removed first if a previous run left it.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

#[test]
fn check_clean_file_exits_zero() {
    let dir = temp_dir("clean");
    fs::write(dir.join("t.writ"), CLEAN).unwrap();
    let out = writ(&["check", "t.writ"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("checked 1 file: 0 errors, 0 warnings"));
    assert!(out.stdout.is_empty(), "human diagnostics go to stderr only");
}

#[test]
fn check_errors_exit_one_and_report_every_problem() {
    let dir = temp_dir("errors");
    let broken = CLEAN
        .replace("approver support_lead", "")
        .replace("risk medium", "risk high");
    fs::write(dir.join("t.writ"), broken).unwrap();
    let out = writ(&["check", "t.writ"], &dir);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("E0201") && text.contains("E0204"),
        "both problems reported: {text}"
    );
    assert!(
        text.contains("t.writ:"),
        "the file and position are named: {text}"
    );
}

#[test]
fn warnings_alone_exit_zero() {
    let dir = temp_dir("warnings");
    fs::write(
        dir.join("t.writ"),
        CLEAN.replace("expires 4h -> escalate ops_lead", ""),
    )
    .unwrap();
    let out = writ(&["check", "t.writ"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("W0302"));
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = temp_dir("missing");
    let out = writ(&["check", "nope.writ"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read `nope.writ`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn invalid_utf8_is_named_as_such() {
    let dir = temp_dir("utf8");
    let mut bytes = b"workflow x {\n  title \"".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"\"\n}\n");
    fs::write(dir.join("bad.writ"), bytes).unwrap();
    let out = writ(&["check", "bad.writ"], &dir);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.contains("not valid UTF-8") && text.contains("offset 22") && text.contains("line 2"),
        "{text}"
    );
}

#[test]
fn oversize_file_is_refused_before_reading() {
    let dir = temp_dir("oversize");
    let file = fs::File::create(dir.join("huge.writ")).unwrap();
    file.set_len(64 * 1024 * 1024 + 1).unwrap();
    let out = writ(&["check", "huge.writ"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("over the limit"), "{}", stderr(&out));
}

#[test]
fn directories_are_walked_for_writ_files() {
    let dir = temp_dir("walk");
    fs::create_dir_all(dir.join("a/b")).unwrap();
    fs::write(dir.join("a/one.writ"), CLEAN).unwrap();
    fs::write(
        dir.join("a/b/two.writ"),
        CLEAN.replace("risk medium", "risk high"),
    )
    .unwrap();
    fs::write(dir.join("a/b/notes.txt"), "not a workflow").unwrap();
    let out = writ(&["check", "a"], &dir);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("checked 2 files: 1 error"), "{text}");
    assert!(text.contains("two.writ"), "{text}");
}

#[test]
fn empty_directory_is_a_usage_error() {
    let dir = temp_dir("emptydir");
    fs::create_dir_all(dir.join("none")).unwrap();
    let out = writ(&["check", "none"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no `.writ` files"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn io_problem_wins_over_findings() {
    let dir = temp_dir("mixed");
    fs::write(dir.join("bad.writ"), "workflow {").unwrap();
    let out = writ(&["check", "bad.writ", "missing.writ"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("E0001"),
        "the readable file is still checked"
    );
}

#[test]
fn check_without_paths_is_a_usage_error() {
    let dir = temp_dir("nopaths");
    let out = writ(&["check"], &dir);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn explain_every_code() {
    let dir = temp_dir("explain");
    for code in writ::Code::ALL {
        let out = writ(&["explain", code.as_str()], &dir);
        assert_eq!(out.status.code(), Some(0), "{code}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(code.as_str()) && text.contains("```writ"),
            "{code}: {text}"
        );
    }
    let lower = writ(&["explain", "w0301"], &dir);
    assert_eq!(lower.status.code(), Some(0), "codes are case-insensitive");
}

#[test]
fn explain_unknown_code_exits_two() {
    let dir = temp_dir("explain-unknown");
    let out = writ(&["explain", "E9999"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown code `E9999`"));
}

#[test]
fn plan_prints_every_format_on_stdout() {
    let dir = temp_dir("plan");
    fs::write(dir.join("t.writ"), CLEAN).unwrap();
    for format in ["text", "json", "yaml", "dot", "mermaid"] {
        let out = writ(&["plan", "t.writ", "--format", format], &dir);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        let marker = match format {
            "text" => "verdict: 1 write",
            "json" => "\"fingerprint\": \"",
            "yaml" => "fingerprint: ",
            "dot" => "digraph \"ticket_triage\"",
            _ => "flowchart TD",
        };
        assert!(text.contains(marker), "{format}: {text}");
        assert!(
            stderr(&out).is_empty(),
            "{format}: a clean plan prints nothing on stderr"
        );
    }
    let default = writ(&["plan", "t.writ"], &dir);
    assert!(String::from_utf8_lossy(&default.stdout).starts_with("plan `ticket_triage`"));
}

#[test]
fn plan_of_a_refused_workflow_prints_diagnostics_and_no_plan() {
    let dir = temp_dir("plan-refused");
    fs::write(
        dir.join("t.writ"),
        CLEAN.replace("risk medium", "risk high"),
    )
    .unwrap();
    let out = writ(&["plan", "t.writ", "--format", "json"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no plan on stdout");
    let text = stderr(&out);
    assert!(text.contains("E0204") && text.contains("refused"), "{text}");
}

#[test]
fn plan_with_warnings_prints_them_and_the_plan() {
    let dir = temp_dir("plan-warnings");
    fs::write(
        dir.join("t.writ"),
        CLEAN.replace("expires 4h -> escalate ops_lead", ""),
    )
    .unwrap();
    let out = writ(&["plan", "t.writ", "--format", "json"], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("W0302"));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(plan["workflow"]["name"], "ticket_triage");
}

#[test]
fn plan_usage_errors_exit_two() {
    let dir = temp_dir("plan-usage");
    assert_eq!(writ(&["plan", "missing.writ"], &dir).status.code(), Some(2));
    fs::write(dir.join("t.writ"), CLEAN).unwrap();
    assert_eq!(
        writ(&["plan", "t.writ", "--format", "pdf"], &dir)
            .status
            .code(),
        Some(2)
    );
}

/// A config and a store with one run of three events, written through the library.
fn store_with_a_run(dir: &Path) {
    use writ::runtime::event::{EventKind, NewEvent};
    use writ::runtime::store::{Store, sqlite::SqliteStore};
    fs::write(
        dir.join("writ.yaml"),
        "state: state/writ.db\nidentity: asserted\npeople:\n  ana: [analyst]\n  sam: [support_lead]\n",
    )
    .unwrap();
    // The store's first event is its registry (the genesis), as writ records it.
    let config = writ::runtime::config::load(&dir.join("writ.yaml")).unwrap();
    let (mut store, _) =
        writ::runtime::trust::open_store(&config, writ::runtime::trust::Create::IfMissing).unwrap();
    let _: &SqliteStore = &store;
    for (kind, person, role) in [
        (EventKind::RunStarted, Some("ana"), Some("analyst")),
        (EventKind::Recommended, None, None),
        (EventKind::Confirmed, Some("sam"), Some("support_lead")),
    ] {
        store
            .append(NewEvent {
                run: Some("r1".to_owned()),
                workflow: "ticket_triage".to_owned(),
                kind,
                person: person.map(str::to_owned),
                role: role.map(str::to_owned),
                fingerprint: "f".repeat(64),
                step: Some("lead_review".to_owned()),
                data: serde_json::json!({"note": "fine", "identity": "asserted"}),
            })
            .unwrap();
    }
}

#[test]
fn log_prints_a_runs_events_as_text_or_jsonl() {
    let dir = temp_dir("log");
    store_with_a_run(&dir);
    let out = writ(&["log", "r1", "--format", "jsonl"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let kinds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("one JSON object per line")["kind"].to_string())
        .collect();
    assert_eq!(
        kinds,
        ["\"run_started\"", "\"recommended\"", "\"confirmed\""]
    );
    let text = writ(&["log", "r1"], &dir);
    assert!(String::from_utf8_lossy(&text.stdout).contains("sam (support_lead)"));
    let unknown = writ(&["log", "nope"], &dir);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no run `nope`"));
}

#[test]
fn audit_verify_finds_a_tampered_store() {
    let dir = temp_dir("audit");
    store_with_a_run(&dir);
    let intact = writ(&["audit", "verify"], &dir);
    assert_eq!(intact.status.code(), Some(0), "{}", stderr(&intact));
    assert!(String::from_utf8_lossy(&intact.stdout).contains("intact: 4 events"));

    // Someone edits the store behind writ's back (its triggers refuse updates: drop them first).
    let db = rusqlite::Connection::open(dir.join("state/writ.db")).unwrap();
    db.execute_batch(
        "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;
         UPDATE events SET person = 'mallory' WHERE seq = 4;",
    )
    .unwrap();
    drop(db);
    let tampered = writ(&["audit", "verify"], &dir);
    assert_eq!(tampered.status.code(), Some(1));
    let said = String::from_utf8_lossy(&tampered.stdout);
    assert!(said.contains("tampered: event 4"), "{said}");
}

#[test]
fn a_bad_config_is_a_usage_error_with_its_line() {
    let dir = temp_dir("bad-config");
    fs::write(
        dir.join("writ.yaml"),
        "state: s.db\npeople:\n  ana: [analyst]\ncolour: blue\n",
    )
    .unwrap();
    let out = writ(&["audit", "verify"], &dir);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.contains("colour") && text.contains("writ.yaml:4"),
        "{text}"
    );
    let missing = writ(&["audit", "verify", "--config", "nowhere.yaml"], &dir);
    assert_eq!(missing.status.code(), Some(2));
}

/// Files are checked on all cores; the report keeps the order of the paths, run after run.
#[test]
fn many_files_report_in_path_order_every_time() {
    let dir = temp_dir("many");
    fs::create_dir_all(dir.join("flows")).unwrap();
    for i in 0..60 {
        let text = if i % 3 == 0 {
            CLEAN.replace("risk medium", "risk high")
        } else {
            CLEAN.to_owned()
        };
        fs::write(dir.join(format!("flows/f{i:02}.writ")), text).unwrap();
    }
    let first = writ(&["check", "flows"], &dir);
    let second = writ(&["check", "flows"], &dir);
    assert_eq!(first.status.code(), Some(1));
    assert_eq!(
        stderr(&first),
        stderr(&second),
        "the same report every time"
    );
    let named: Vec<String> = stderr(&first)
        .lines()
        .filter_map(|line| line.split("flows/").nth(1))
        .filter_map(|rest| rest.get(..3).map(str::to_owned))
        .collect();
    let mut sorted = named.clone();
    sorted.sort();
    assert_eq!(named.len(), 20, "{named:?}");
    assert_eq!(named, sorted, "reported in path order");
    assert!(stderr(&first).contains("checked 60 files: 20 errors"));
}
