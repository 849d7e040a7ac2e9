//! The exec sandbox and exact binding, attacked with real programs through the real binary: a
//! recommend program (the AI side) tries to write the helpdesk, read writ's environment or a
//! key in the state folder, reach a Unix socket there, use the network, or outlive its step;
//! an approved execute program is swapped, shadowed on `PATH`, or its database re-pointed.
//!
//! Also: a rollback whose `before.COL` the capture did not return fails instead of writing
//! NULL.
//!
//! Each hostile program reports `yes` (the attack worked) or `no` in its recommendation's
//! `reason`; the tests also look at the systems themselves.

use crate::support::bed;

use std::fs;
use std::os::unix::net::UnixListener;

use bed::{Bed, HELPDESK_CONFIG, Outcome};

const TRIAGE: &str = include_str!("../../workflows/ticket_triage.writ");
const NOTIFY: &str = include_str!("../runtime/notify.writ");

/// A recommend program for ticket_triage that runs `attack` (shell) and reports whether it
/// succeeded as the recommendation's `reason`.
fn hostile(attack: &str) -> String {
    format!(
        "#!/bin/sh\nif {{ {attack} ; }} >/dev/null 2>&1; then ok=yes; else ok=no; fi\n\
         printf '{{\"priority\":\"low\",\"reason\":\"%s\"}}\\n' \"$ok\"\n"
    )
}

/// A folder with the helpdesk, ticket_triage and `attack` as its recommend program; `more` is
/// added to the config.
fn bed_with(name: &str, attack: &str, more: &str) -> Bed {
    let bed = Bed::new(name);
    bed.file("writ.yaml", &format!("{HELPDESK_CONFIG}{more}"));
    bed.helpdesk("helpdesk.db");
    bed.file("triage.writ", TRIAGE);
    bed.script("scripts/suggest_priority", &hostile(attack));
    bed
}

/// Starts a triage run for ticket 101 (with `env`): it must wait for the lead; the reason
/// the hostile program gave.
#[track_caller]
fn attacked(bed: &Bed, env: &[(&str, &str)]) -> (String, String) {
    let (out, run) = bed.start_with_env("triage.writ", &["ticket_id=101"], "ana", env);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    let events = bed.events(&run);
    let recommended = events
        .iter()
        .find(|e| e["kind"] == "recommended")
        .expect("a recommendation");
    let reason = recommended["data"]["output"]["reason"]
        .as_str()
        .expect("a reason")
        .to_owned();
    (run, reason)
}

fn priority(bed: &Bed, db: &str) -> String {
    bed.query_one(db, "SELECT priority FROM tickets WHERE id = 101")
}

#[test]
fn a_recommend_program_cannot_write_the_helpdesk() {
    let bed = bed_with(
        "write-db",
        "sqlite3 helpdesk.db \"UPDATE tickets SET priority = 'urgent' WHERE id = 101\"",
        "",
    );
    let before = fs::read(bed.path("helpdesk.db")).unwrap();
    let (_, reason) = attacked(&bed, &[]);
    assert_eq!(reason, "no", "the program wrote the helpdesk");
    assert_eq!(priority(&bed, "helpdesk.db"), "normal");

    let bed = bed_with("append-db", "echo corrupt >> helpdesk.db", "");
    let (_, reason) = attacked(&bed, &[]);
    assert_eq!(reason, "no");
    assert_eq!(fs::read(bed.path("helpdesk.db")).unwrap(), before);
}

#[test]
fn a_recommend_program_cannot_read_writs_environment() {
    // Its parent is the launcher; writ is the launcher's parent. Neither shows the secret.
    let attack = "read -r line < /proc/$PPID/stat; rest=${line##*) }; set -- $rest; \
                  cat /proc/$PPID/environ /proc/$2/environ | tr '\\0' '\\n' | grep -q hunter2";
    let bed = bed_with("environ", attack, "");
    let (_, reason) = attacked(&bed, &[("WRIT_TEST_SECRET", "hunter2")]);
    assert_eq!(reason, "no", "the program read writ's environment");
}

/// The state folder made before writ makes it, private as writ requires.
fn private_state_folder(bed: &Bed) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(bed.path(".writ")).unwrap();
    fs::set_permissions(bed.path(".writ"), fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn a_recommend_program_cannot_read_the_state_folder_or_the_config() {
    let bed = bed_with(
        "key",
        "cat .writ/some_key || cat .writ/runner_key || cat writ.yaml",
        "",
    );
    private_state_folder(&bed);
    bed.file(".writ/some_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    let (_, reason) = attacked(&bed, &[]);
    assert_eq!(reason, "no", "the program read a key or the config");
    // It still reads the workflow's folder.
    let bed = bed_with("reads-folder", "cat triage.writ", "");
    assert_eq!(attacked(&bed, &[]).1, "yes");
}

#[test]
fn a_recommend_program_cannot_connect_to_a_socket_in_the_state_folder() {
    let bed = bed_with(
        "socket",
        "/usr/bin/python3 -c \"import socket; socket.socket(socket.AF_UNIX).connect('.writ/s')\"",
        "",
    );
    private_state_folder(&bed);
    let listener = UnixListener::bind(bed.path(".writ/s")).unwrap();
    listener.set_nonblocking(true).unwrap();
    let (_, reason) = attacked(&bed, &[]);
    assert_eq!(reason, "no", "the program reached the socket");
    assert!(listener.accept().is_err(), "nothing connected");
}

#[test]
fn nothing_a_program_starts_outlives_its_step() {
    // A double fork into a new session: the sleeper's parent is gone, its group is its own.
    let bed = Bed::new("setsid");
    bed.file("writ.yaml", HELPDESK_CONFIG);
    bed.helpdesk("helpdesk.db");
    bed.file("triage.writ", TRIAGE);
    bed.script(
        "scripts/suggest_priority",
        "#!/bin/sh\npid=$(sh -c 'setsid sleep 30 >/dev/null 2>&1 & echo $!')\n\
         printf '{\"priority\":\"low\",\"reason\":\"%s\"}\\n' \"$pid\"\n",
    );
    let (_, pid) = attacked(&bed, &[]);
    let alive = || {
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.contains(") Z ") && stat.contains("(sleep)"))
    };
    let was_alive = alive();
    if was_alive {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
    }
    assert!(
        !was_alive,
        "process {pid}, started by the program, outlived its step"
    );
}

#[test]
fn network_deny_closes_tcp_for_recommend_programs() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let attack = format!("bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}'");
    let open = bed_with("net-open", &attack, "");
    assert_eq!(
        attacked(&open, &[]).1,
        "yes",
        "the network is open by default"
    );
    let closed = bed_with("net-deny", &attack, "sandbox: { network: deny }\n");
    assert_eq!(attacked(&closed, &[]).1, "no", "network: deny held");
}

/// notify.writ with `send` as its execute program (in the workflow's `scripts/`), a run of it
/// approved by sam, not resumed.
fn approved_notify(name: &str, send_program: &str, send: &str) -> (Bed, String) {
    let bed = Bed::new(name);
    bed.file(
        "writ.yaml",
        &format!("{HELPDESK_CONFIG}  outbox: {{ exec: outbox, write: [outbox] }}\n"),
    );
    fs::create_dir_all(bed.path("outbox")).unwrap();
    bed.file(
        "notify.writ",
        &NOTIFY.replace("\"scripts/send_note\"", &format!("\"{send_program}\"")),
    );
    bed.script(
        "scripts/suggest_priority",
        include_str!("../../workflows/scripts/suggest_priority"),
    );
    bed.script("scripts/send_note", send);
    bed.script("send_note", send);
    bed.script("scripts/recall_note", "#!/bin/sh\nexit 0\n");
    let (out, run) = bed.start("notify.writ", &["ticket_id=101"], "ana");
    assert_eq!(out.code, Some(3), "{}", out.describe());
    let out = bed.writ(&["approve", &run, "lead_review", "--as", "sam"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    (bed, run)
}

const SEND: &str = "#!/bin/sh\necho \"$1 $2\" >> sent.log\nprintf '{\"queued\":true}\\n'\n";

fn resume(bed: &Bed, run: &str) -> Outcome {
    bed.writ(&["resume", run, "--format", "json"])
}

#[test]
fn a_script_swapped_after_the_approval_is_refused() {
    let (bed, run) = approved_notify("swapped", "scripts/send_note", SEND);
    bed.script(
        "scripts/send_note",
        "#!/bin/sh\necho swapped >> sent.log\nprintf '{\"queued\":true}\\n'\n",
    );
    let out = resume(&bed, &run);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(
        !bed.path("outbox/sent.log").exists(),
        "the swapped script ran"
    );
    assert!(
        out.stdout.contains("nothing was written"),
        "{}",
        out.describe()
    );
}

#[test]
fn an_execute_program_is_never_looked_up_on_path() {
    let (bed, run) = approved_notify("path-hijack", "send_note", SEND);
    fs::create_dir_all(bed.path("evil")).unwrap();
    bed.script(
        "evil/send_note",
        "#!/bin/sh\necho hijacked >> sent.log\nprintf '{\"queued\":true}\\n'\n",
    );
    let path = format!("{}:/usr/bin:/bin", bed.path("evil").display());
    let out = bed.writ_with_env(&["resume", &run, "--format", "json"], &[("PATH", &path)]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(
        fs::read_to_string(bed.path("outbox/sent.log")).unwrap(),
        "101 low\n",
        "the workflow's own send_note ran, not the one first on PATH"
    );
}

#[test]
fn a_database_re_pointed_after_the_approval_is_not_written() {
    let bed = Bed::new("symlink");
    let config = HELPDESK_CONFIG.replace("sqlite: helpdesk.db", "sqlite: link.db");
    bed.file("writ.yaml", &config);
    bed.helpdesk("helpdesk.db");
    bed.helpdesk("other.db");
    std::os::unix::fs::symlink("helpdesk.db", bed.path("link.db")).unwrap();
    bed.file("triage.writ", TRIAGE);
    bed.script(
        "scripts/suggest_priority",
        include_str!("../../workflows/scripts/suggest_priority"),
    );
    let (out, run) = bed.start("triage.writ", &["ticket_id=101"], "ana");
    assert_eq!(out.code, Some(3), "{}", out.describe());
    let out = bed.writ(&["approve", &run, "lead_review", "--as", "sam"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    fs::remove_file(bed.path("link.db")).unwrap();
    std::os::unix::fs::symlink("other.db", bed.path("link.db")).unwrap();
    let out = resume(&bed, &run);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_eq!(
        priority(&bed, "other.db"),
        "normal",
        "the re-pointed database"
    );
    assert_eq!(priority(&bed, "helpdesk.db"), "normal");
}

#[test]
fn a_before_column_missing_from_a_select_star_capture_fails_the_rollback() {
    let bed = Bed::new("before-missing");
    bed.file("writ.yaml", HELPDESK_CONFIG);
    bed.helpdesk("helpdesk.db");
    bed.sql(
        "helpdesk.db",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); \
         INSERT INTO notes VALUES (101, 'original');",
    );
    let workflow = TRIAGE
        .replace(
            "SELECT priority FROM tickets WHERE id = :ticket_id",
            "SELECT * FROM notes WHERE id = :ticket_id",
        )
        .replace(
            "UPDATE tickets SET priority = :suggest_priority.priority WHERE id = :ticket_id",
            "UPDATE notes SET body = :suggest_priority.priority WHERE id = :ticket_id",
        )
        .replace(
            "UPDATE tickets SET priority = :before.priority WHERE id = :ticket_id",
            "UPDATE notes SET body = :before.text WHERE id = :ticket_id",
        );
    bed.file("triage.writ", &workflow);
    bed.script(
        "scripts/suggest_priority",
        include_str!("../../workflows/scripts/suggest_priority"),
    );
    let (out, run) = bed.start("triage.writ", &["ticket_id=101"], "ana");
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert_eq!(
        bed.writ(&["approve", &run, "lead_review", "--as", "sam"])
            .code,
        Some(0)
    );
    assert_eq!(resume(&bed, &run).code, Some(0));
    let out = bed.writ(&["rollback", &run, "--as", "olu", "--format", "json"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    let body: Option<String> =
        bed.query_one("helpdesk.db", "SELECT body FROM notes WHERE id = 101");
    assert_eq!(
        body.as_deref(),
        Some("low"),
        "the record was left as written, not nulled"
    );
}

#[test]
fn run_started_records_the_sandbox_in_force() {
    let bed = bed_with("in-force", "true", "");
    let (run, _) = attacked(&bed, &[]);
    let sandbox = &bed.events(&run)[0]["data"]["sandbox"];
    assert_eq!(sandbox["kind"], "landlock", "{sandbox}");
    assert_eq!(sandbox["network"], true);

    let off = bed_with("in-force-off", "true", "sandbox: off\n");
    let (run, _) = attacked(&off, &[]);
    assert_eq!(off.events(&run)[0]["data"]["sandbox"]["kind"], "off");
}
