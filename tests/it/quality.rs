//! The quality record through the real binary: `writ export decisions` (every human decision
//! as a labelled example), and what `writ status` says about a killed workflow and its drafts.
//! Signed setups from `writ init` (keys for ana, sam and olu), as `trust.rs` builds them.

use std::process::Command;

use serde_json::Value;

use crate::support::bed::{Bed, Outcome};
use crate::trust::{code, starter, waiting};

/// The lines of a JSONL output, each parsed.
#[track_caller]
fn jsonl(out: &Outcome) -> Vec<Value> {
    code(out, 0);
    out.stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// `SHA256:...` of a public key file, as `ssh-keygen -l` prints it.
fn key_fingerprint(bed: &Bed, public: &str) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-l", "-f"])
        .arg(bed.path(public))
        .output()
        .expect("ssh-keygen runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no fingerprint in {text}"))
        .to_owned()
}

fn export(bed: &Bed, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["export", "decisions", "--format", "jsonl"];
    args.extend(extra);
    jsonl(&bed.writ_raw(&args, &[]))
}

#[test]
fn export_decisions_gives_each_human_decision_with_what_was_recommended_and_shown() {
    let bed = starter("quality-export");
    let first = waiting(&bed);
    let approve = [
        "approve",
        &first,
        "lead_review",
        "--key",
        "keys/sam",
        "--note",
        "looks right",
    ];
    code(&bed.writ_raw(&approve, &[]), 0);
    code(&bed.writ_raw(&["resume", &first], &[]), 0);
    let second = waiting(&bed);
    let reject = [
        "reject",
        &second,
        "lead_review",
        "--key",
        "keys/sam",
        "--reason",
        "a customer is waiting, not an outage",
    ];
    code(&bed.writ_raw(&reject, &[]), 0);

    let lines = export(&bed, &[]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (confirmed, rejected) = (&lines[0], &lines[1]);
    let fingerprint = bed.events(&first)[0]["fingerprint"].clone();
    let sam = key_fingerprint(&bed, "keys/sam.pub");
    for (line, run) in [(confirmed, &first), (rejected, &second)] {
        assert_eq!(line["workflow"], "ticket_triage");
        assert_eq!(line["run"], run.as_str());
        assert_eq!(line["fingerprint"], fingerprint);
        assert_eq!(line["step"], "lead_review");
        assert_eq!(line["person"], "sam");
        assert_eq!(line["role"], "support_lead");
        assert!(line["at"].as_str().is_some_and(|at| at.ends_with('Z')));
        assert_eq!(line["identity"]["how"], "signed");
        assert_eq!(line["identity"]["key"], sam.as_str());
        assert_eq!(line["identity"]["verified"], true);
        // Ticket 105: the model suggests `urgent`; the confirmer saw it and the UPDATE.
        assert_eq!(
            line["recommended"]["suggest_priority"]["priority"],
            "urgent"
        );
        assert_eq!(
            line["shown"]["shows"][0],
            serde_json::json!(["suggest_priority.priority", "urgent"])
        );
        let action = &line["shown"]["actions"][0];
        assert_eq!(action["step"], "set_priority");
        assert_eq!(action["system"], "helpdesk");
        assert!(
            action["action"].to_string().contains("UPDATE tickets"),
            "{action}"
        );
    }
    assert_eq!(confirmed["decision"], "confirmed");
    assert_eq!(confirmed["reason"], "looks right");
    assert_eq!(rejected["decision"], "rejected");
    assert_eq!(rejected["reason"], "a customer is waiting, not an outage");

    // Filters: another workflow has none; the last day has both.
    assert!(export(&bed, &["--workflow", "other"]).is_empty());
    assert_eq!(export(&bed, &["--since", "1d"]).len(), 2);
    let out = bed.writ_raw(&["export", "decisions", "--since", "1w"], &[]);
    code(&out, 2);
}

#[test]
fn an_exported_decision_whose_signature_no_longer_holds_says_so() {
    let bed = starter("quality-export-tamper");
    let run = waiting(&bed);
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/sam"], &[]),
        0,
    );
    // The decision's recorded person edited by hand: the statement was signed by sam.
    crate::trust::rewrite(&bed, |event| {
        if event.event.kind == writ::runtime::event::EventKind::Confirmed {
            event.event.person = Some("olu".to_owned());
        }
    });
    let lines = export(&bed, &[]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["person"], "olu");
    assert_eq!(lines[0]["identity"]["verified"], false);
}
