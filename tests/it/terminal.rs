//! What reaches a person's terminal: a hostile program's stderr is escaped in `writ run`'s
//! report and `writ log`, and a closed stdout ends a command quietly with its exit code.

use crate::support::bed;

use std::process::{Command, Stdio};

use bed::{Bed, HELPDESK_CONFIG};

const TRIAGE: &str = include_str!("../../workflows/ticket_triage.writ");

/// A recommend program that fails with an escape sequence, a bidi override and a zero-width
/// space on stderr.
const HOSTILE: &str = "#!/bin/sh\nprintf 'ok\\033]0;pwned\\007 \\342\\200\\256evil \\342\\200\\213x\\n' >&2\nexit 1\n";

fn bed(name: &str) -> Bed {
    let bed = Bed::new(name);
    bed.file("writ.yaml", HELPDESK_CONFIG);
    bed.helpdesk("helpdesk.db");
    bed.file("triage.writ", TRIAGE);
    bed.script("scripts/suggest_priority", HOSTILE);
    bed
}

fn assert_escaped(text: &str) {
    for raw in ['\u{1b}', '\u{7}', '\u{202e}', '\u{200b}'] {
        assert!(
            !text.contains(raw),
            "{raw:?} reached the terminal: {text:?}"
        );
    }
    assert!(
        text.contains("\\u{1b}") && text.contains("\\u{202e}"),
        "{text:?}"
    );
}

#[test]
fn a_programs_stderr_is_escaped_in_the_report_and_the_log() {
    let bed = bed("escaped");
    let out = bed.writ(&[
        "run",
        "triage.writ",
        "--input",
        "ticket_id=101",
        "--as",
        "ana",
    ]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert_escaped(&out.stdout);
    let run = out
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("the run's id")
        .to_owned();
    let log = bed.writ(&["log", &run]);
    assert_eq!(log.code, Some(0), "{}", log.describe());
    assert_escaped(&log.stdout);
}

#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let bed = bed("closed-stdout");
    let _ = bed.writ(&[
        "run",
        "triage.writ",
        "--input",
        "ticket_id=101",
        "--as",
        "ana",
    ]);
    for args in [&["status"][..], &["explain", "W0306"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
            .args(args)
            .current_dir(bed.path(""))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn an_input_error_is_said_once_escaped_and_bounded() {
    let bed = bed("input-error");
    let huge = format!("ticket_id=\u{1b}[31m{}", "x".repeat(10_000));
    let out = bed.writ(&["run", "triage.writ", "--input", &huge, "--as", "ana"]);
    assert_eq!(out.code, Some(2), "{}", out.describe());
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error"))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("ticket_id") && errors[0].len() < 300,
        "{errors:?}"
    );
    assert!(!out.stderr.contains('\u{1b}'), "{}", out.stderr);
}
