//! Plans: snapshots of every example's plan, and the fingerprint's promises: it ignores layout,
//! comments and meaningless order, and changes with every semantic change.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use writ::plan::export::{Format, render};
use writ::plan::{Plan, plan_source};

const TRIAGE: &str = include_str!("../../workflows/ticket_triage.writ");

fn plan_of(source: &str) -> Plan {
    match plan_source(source) {
        Ok((plan, _)) => plan,
        Err(diagnostics) => {
            let codes: Vec<String> = diagnostics
                .iter()
                .map(|d| format!("{}: {}", d.code, d.message))
                .collect();
            panic!("refused: {codes:#?}\n{source}")
        }
    }
}

fn fingerprint(source: &str) -> String {
    plan_of(source).fingerprint
}

fn example_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("workflows/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "writ"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_plan_is_snapshotted_as_json_and_text() {
    for path in example_files() {
        let source = fs::read_to_string(&path).expect("UTF-8");
        let plan = plan_of(&source);
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_owned();
        let json = render(&plan, Format::Json).expect("json");
        let text = render(&plan, Format::Text).expect("text");
        insta::with_settings!({ snapshot_path => "../plans/snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("{stem}.json"), json);
            insta::assert_snapshot!(format!("{stem}.text"), text);
        });
    }
}

#[test]
fn every_format_renders_every_example() {
    for path in example_files() {
        let plan = plan_of(&fs::read_to_string(&path).expect("UTF-8"));
        for format in [
            Format::Text,
            Format::Json,
            Format::Yaml,
            Format::Dot,
            Format::Mermaid,
        ] {
            let out = render(&plan, format).expect("renders");
            assert!(
                out.ends_with('\n'),
                "{}: {format:?} ends with a newline",
                path.display()
            );
        }
        let yaml: serde_json::Value =
            serde_yaml::from_str(&render(&plan, Format::Yaml).expect("yaml")).expect("valid YAML");
        let json: serde_json::Value =
            serde_json::from_str(&render(&plan, Format::Json).expect("json")).expect("valid JSON");
        assert_eq!(
            yaml,
            json,
            "{}: YAML and JSON carry the same schema",
            path.display()
        );
        let fingerprint = json
            .get("fingerprint")
            .and_then(|f| f.as_str())
            .unwrap_or("");
        assert!(
            fingerprint.len() == 64
                && fingerprint
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(json.get("schema_version"), Some(&serde_json::json!(1)));
    }
}

/// The same workflow, written differently: one line, no comments, items and steps reordered,
/// lists in another order, `1.50` for `1.5`.
#[test]
fn fingerprint_ignores_layout_comments_and_meaningless_order() {
    let base = fingerprint(TRIAGE);
    let no_comments: String = TRIAGE
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(fingerprint(&no_comments), base, "comments and line breaks");
    let spaced = TRIAGE.replace("  ", "\t\t  ").replace('\n', "\n\n");
    assert_eq!(fingerprint(&spaced), base, "whitespace");

    let reordered = r#"
      workflow ticket_triage {
        rollback restore_priority undoes set_priority {
          run sql "UPDATE tickets SET priority = :before.priority WHERE id = :ticket_id"
          repair by ops_lead
        }
        execute set_priority {
          run sql "UPDATE tickets SET priority = :suggest_priority.priority WHERE id = :ticket_id"
          capture sql "SELECT priority FROM tickets WHERE id = :ticket_id"
          approver support_lead
          risk medium
          writes helpdesk
          after lead_review
        }
        confirm lead_review {
          expires 4h -> escalate ops_lead
          shows suggest_priority.priority, suggest_priority.reason
          by support_lead
          after suggest_priority
        }
        recommend suggest_priority {
          yields reason: text, priority: text in ["low", "normal", "urgent"]
          run exec "scripts/suggest_priority" [ticket_id]
          reads helpdesk
        }
        input ticket_id: int
        system helpdesk: sqlite inside
        role ops_lead
        role support_lead
        owner ops_lead
        title "Re-prioritise one support ticket"
      }"#;
    assert_eq!(
        fingerprint(reordered),
        base,
        "item, step, clause, role and field order"
    );
}

#[test]
fn fingerprint_ignores_the_order_of_sets_and_json_keys() {
    let a = plan_with(
        "after lead_review, suggest_priority",
        "json { id: ticket_id, level: 1.50 }",
    );
    let b = plan_with(
        "after suggest_priority, lead_review",
        "json { level: 1.5, id: ticket_id }",
    );
    assert_eq!(fingerprint(&a), fingerprint(&b));
}

/// A small http workflow whose execute's `after` and body are given.
fn plan_with(after: &str, body: &str) -> String {
    format!(
        r#"workflow crm {{
  owner lead
  role lead, rep
  system crm: http inside
  input ticket_id: int
  recommend suggest_priority {{ run exec "s" [ticket_id] yields level: number }}
  confirm lead_review {{ after suggest_priority by rep shows suggest_priority.level expires 1h -> reject }}
  execute set_priority {{ {after} writes crm risk medium approver rep run http PATCH "/t" {body} }}
  rollback undo undoes set_priority {{ run http PATCH "/t" json {{ id: ticket_id }} repair by lead }}
}}"#
    )
}

/// Every kind of semantic change gives a new fingerprint, and no two changes collide.
#[test]
fn fingerprint_changes_with_every_semantic_change() {
    let changes: &[(&str, &str, &str)] = &[
        (
            "risk",
            "risk medium",
            "risk low\n    auto when acceptance >= 95% over 28d and critical == 0",
        ),
        (
            "sql text",
            "SET priority = :suggest_priority.priority",
            "SET priority = lower(:suggest_priority.priority)",
        ),
        (
            "capture",
            "SELECT priority FROM",
            "SELECT priority, id FROM",
        ),
        ("expiry", "expires 4h", "expires 5h"),
        ("escalation", "-> escalate ops_lead", "-> reject"),
        (
            "shows order",
            "shows suggest_priority.priority, suggest_priority.reason",
            "shows suggest_priority.reason, suggest_priority.priority",
        ),
        ("exec argument", "[ticket_id]", "[ticket_id, \"fast\"]"),
        (
            "allowed values",
            "[\"low\", \"normal\", \"urgent\"]",
            "[\"low\", \"urgent\"]",
        ),
        ("envelope", "sqlite inside", "sqlite outside"),
        (
            "input type",
            "input ticket_id: int",
            "input ticket_id: int = 7",
        ),
        (
            "title",
            "Re-prioritise one support ticket",
            "Re-prioritise a support ticket",
        ),
        (
            "repair role",
            "repair by ops_lead",
            "repair by support_lead",
        ),
        ("owner", "owner ops_lead", "owner support_lead"),
        ("step name", "set_priority", "update_priority"),
    ];
    let base = fingerprint(TRIAGE);
    let mut seen = HashSet::from([base.clone()]);
    for (what, from, to) in changes {
        if from == to {
            continue;
        }
        assert!(TRIAGE.contains(from), "{what}: `{from}` not in the example");
        let changed = fingerprint(&TRIAGE.replace(from, to));
        assert_ne!(changed, base, "{what} must change the fingerprint");
        assert!(seen.insert(changed), "{what} collides with another change");
    }
    // An added edge and an added role, which need more than one replacement.
    let edge = TRIAGE.replace(
        "    after lead_review\n",
        "    after lead_review, suggest_priority\n",
    );
    assert_eq!(
        fingerprint(&edge),
        base,
        "an edge already implied by a reference is the same edge"
    );
    let role = TRIAGE
        .replace(
            "role support_lead, ops_lead",
            "role support_lead, ops_lead, auditor",
        )
        .replace("repair by ops_lead", "repair by auditor");
    assert!(seen.insert(fingerprint(&role)), "a role change");
}

fn confirmed_by(plan: &Plan, step: &str) -> Vec<String> {
    plan.body
        .writes
        .iter()
        .find(|w| w.step == step)
        .map(|w| w.confirmed_by.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

/// A one-execute workflow skeleton; `steps` are the recommend/confirm steps before `write`.
fn shaped(steps: &str, write_after: &str) -> String {
    format!(
        r#"workflow shape {{
  owner lead
  role lead, clerk
  system db: sqlite outside
  input id: int
  {steps}
  execute write {{ after {write_after} writes db risk medium approver clerk run sql "UPDATE t SET a = :id" }}
  rollback undo undoes write {{ run sql "UPDATE t SET a = 0" repair by lead }}
}}"#
    )
}

#[test]
fn confirmed_by_names_the_latest_confirms_on_every_shape() {
    let confirm = |name: &str, after: &str| {
        format!("confirm {name} {{ after {after} by clerk shows r.x expires 1h -> reject }}")
    };
    let read = r#"recommend r { run exec "p" [id] yields x: int }"#;
    // chain: r -> c1 -> c2 -> write: only the latest confirm.
    let chain = shaped(
        &format!("{read} {} {}", confirm("c1", "r"), confirm("c2", "c1")),
        "c2",
    );
    assert_eq!(confirmed_by(&plan_of(&chain), "write"), ["c2"]);
    // diamond: r -> a, r -> b, both confirm, write after both.
    let diamond = shaped(
        &format!("{read} {} {}", confirm("a", "r"), confirm("b", "r")),
        "a, b",
    );
    assert_eq!(confirmed_by(&plan_of(&diamond), "write"), ["a", "b"]);
    // parallel branches: a confirm on a branch the write does not follow is not listed.
    let parallel = shaped(
        &format!("{read} {} {}", confirm("mine", "r"), confirm("other", "r")),
        "mine",
    );
    assert_eq!(confirmed_by(&plan_of(&parallel), "write"), ["mine"]);
    // the sibling branch alone does not make a plan.
    let sibling = shaped(
        &format!(
            "{read} {} recommend s {{ after r run exec \"q\" [id] }}",
            confirm("c", "r")
        ),
        "s",
    );
    assert!(
        plan_source(&sibling).is_err(),
        "a confirm on a sibling branch is E0203"
    );
}

#[test]
fn topological_order_is_by_name_among_ready_steps() {
    let plan = plan_of(&shaped(
        r#"recommend zeta { run exec "p" [id] } recommend alpha { run exec "p" [id] }
           confirm c { after zeta, alpha by clerk shows id expires 1h -> reject }"#,
        "c",
    ));
    let order: Vec<&str> = plan.body.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, ["alpha", "zeta", "c", "write"]);
}

#[test]
fn a_refused_workflow_has_no_plan() {
    let broken = TRIAGE.replace("approver support_lead", "");
    let diagnostics = plan_source(&broken).expect_err("refused");
    assert!(diagnostics.iter().any(|d| d.code == writ::Code::E0201));
}
