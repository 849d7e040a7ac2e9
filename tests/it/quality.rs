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

fn json(bed: &Bed, args: &[&str], expected: i32) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = bed.writ_raw(&all, &[]);
    code(&out, expected);
    out.json()
}

#[test]
fn a_killed_workflow_says_who_killed_it_and_its_draft_is_written_after_revive_by_a_new_approval() {
    let bed = starter("quality-kill");
    let run = waiting(&bed);
    let approve = ["approve", &run, "lead_review", "--key", "keys/sam"];
    code(&bed.writ_raw(&approve, &[]), 0);
    let kill = [
        "kill",
        "ticket_triage",
        "--key",
        "keys/olu",
        "--reason",
        "suggestions look wrong",
    ];
    code(&bed.writ_raw(&kill, &[]), 0);

    // The write is drafted: the run ends `drafted` with exit 3, nothing written.
    let resumed = json(&bed, &["resume", &run], 3);
    assert_eq!(resumed["status"], "drafted", "{resumed}");
    assert_eq!(resumed["steps"]["set_priority"], "drafted");
    assert_eq!(crate::trust::priority(&bed), "low");
    let status = json(&bed, &["status", &run], 0);
    assert_eq!(status["status"], "drafted");
    assert_eq!(status["step"], "set_priority");
    let killed = &status["killed"];
    assert_eq!(
        (&killed["by"], &killed["reason"], &killed["holds"]),
        (
            &Value::from("olu"),
            &Value::from("suggestions look wrong"),
            &Value::from(true)
        ),
        "{status}"
    );
    assert!(killed["at"].as_str().is_some_and(|at| at.ends_with('Z')));
    let listed = json(&bed, &["status"], 0);
    assert_eq!(listed["runs"][0]["status"], "drafted");
    assert_eq!(listed["killed"]["ticket_triage"]["by"], "olu", "{listed}");
    let text = bed.writ_raw(&["status", &run], &[]);
    assert!(
        text.stdout
            .contains("workflow `ticket_triage` killed by olu at")
            && text.stdout.contains("suggestions look wrong"),
        "{}",
        text.describe()
    );
    let text = bed.writ_raw(&["status"], &[]);
    assert!(text.stdout.contains("killed by olu"), "{}", text.describe());

    // While the kill holds, nothing reopens and the old approval cannot be given again.
    code(&bed.writ_raw(&["resume", &run], &[]), 3);
    code(&bed.writ_raw(&approve, &[]), 1);
    let asked = |bed: &Bed| {
        bed.kinds(&run)
            .iter()
            .filter(|k| *k == "confirmation_requested")
            .count()
    };
    assert_eq!(asked(&bed), 1);

    code(
        &bed.writ_raw(&["revive", "ticket_triage", "--key", "keys/olu"], &[]),
        0,
    );
    let status = json(&bed, &["status", &run], 0);
    assert_eq!(status["killed"]["holds"], false, "{status}");
    // After revive, resume asks the draft's confirm again: the approval before the kill does
    // not write it.
    let reopened = json(&bed, &["resume", &run], 3);
    assert_eq!(reopened["status"], "waiting", "{reopened}");
    assert_eq!(reopened["waiting"][0]["step"], "lead_review");
    assert_eq!(asked(&bed), 2);
    assert_eq!(crate::trust::priority(&bed), "low");
    code(&bed.writ_raw(&["resume", &run], &[]), 3);
    assert_eq!(crate::trust::priority(&bed), "low");

    // A new signed approval carries it out.
    code(&bed.writ_raw(&approve, &[]), 0);
    let done = json(&bed, &["resume", &run], 0);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["steps"]["set_priority"], "written");
    assert_eq!(crate::trust::priority(&bed), "urgent");
    let kinds = bed.kinds(&run);
    let at = |kind: &str| kinds.iter().rposition(|k| k == kind);
    assert!(at("drafted") < at("written"), "{kinds:?}");
    code(&crate::trust::audit(&bed, &[]), 0);
    // The export has both approvals, each its own labelled example.
    assert_eq!(export(&bed, &[]).len(), 2);
}

#[test]
fn the_html_report_is_one_offline_file_with_a_chart_each_and_the_text_reports_figures() {
    let bed = starter("quality-html");
    let first = waiting(&bed);
    code(
        &bed.writ_raw(
            &["approve", &first, "lead_review", "--key", "keys/sam"],
            &[],
        ),
        0,
    );
    code(&bed.writ_raw(&["resume", &first], &[]), 0);
    let second = waiting(&bed);
    let reject = [
        "reject",
        &second,
        "lead_review",
        "--key",
        "keys/sam",
        "--reason",
        "needs <context> & care",
    ];
    code(&bed.writ_raw(&reject, &[]), 0);

    let out = bed.writ_raw(&["report", "--format", "html"], &[]);
    code(&out, 0);
    let html = out.stdout.trim();
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>"));
    assert_eq!(html.matches("<html").count(), 1);
    // Nothing is fetched: no address, no script, no external file.
    for forbidden in ["http://", "https://", "<script", " src=", "href=", "url("] {
        assert!(!html.contains(forbidden), "`{forbidden}` in the page");
    }
    assert!(html.contains("<style>"));
    // One SVG per chart: acceptance, decisions per week, outcomes.
    assert_eq!(html.matches("<svg").count(), 3, "{html}");
    assert!(html.contains("Acceptance per week") && html.contains("Outcomes per step"));
    // The figures of the text report.
    let text = bed.writ_raw(&["report"], &[]);
    code(&text, 0);
    assert!(
        text.stdout
            .contains("human decisions 2: 1 confirmed, 1 rejected, 0 expired (acceptance 50%)"),
        "{}",
        text.stdout
    );
    assert!(html.contains("workflow ticket_triage: 2 runs"));
    assert!(
        html.contains("<td>lead_review</td><td>2</td><td>1</td><td>1</td><td>0</td><td>50%</td>"),
        "{html}"
    );
    // Free text is escaped.
    assert!(html.contains("needs &lt;context&gt; &amp; care"));
    assert!(!html.contains("<context>"));
}
