//! URL templates in `http` actions: `{ref}` checked like every other value (E0101, uses,
//! ordering, E0209), `{{`/`}}` literal, and each value percent-encoded as one component at
//! run time.

use std::sync::Arc;

use crate::support::bed::Bed;
use crate::support::https::{self, Seen};

const BY_ID: &str = include_str!("../runtime/crm_lead_by_id.writ");

fn codes(source: &str) -> Vec<String> {
    writ::check_source(source)
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

#[test]
fn a_template_url_checks_clean_and_its_input_counts_as_used() {
    assert_eq!(codes(BY_ID), Vec::<String>::new());
    let checked = writ::check_source(BY_ID);
    let plan = writ::plan(&checked.workflow.expect("checked"));
    let json = serde_json::to_value(&plan).expect("json").to_string();
    assert!(
        json.contains(r#""references":["lead_id","suggest.stage"]"#),
        "{json}"
    );
}

#[test]
fn an_unknown_reference_in_a_url_is_e0101() {
    let source = BY_ID.replace("\"/leads/{lead_id}?fields", "\"/leads/{lead}?fields");
    let found = codes(&source);
    assert!(
        found
            .iter()
            .any(|c| c.starts_with("E0101") && c.contains("`lead`")),
        "{found:?}"
    );
}

#[test]
fn a_url_value_the_confirmer_did_not_see_is_e0209() {
    // `peek` runs after the confirmation, so no confirmer saw its `id`.
    let source = BY_ID
        .replace(
            "  execute move_lead {\n    after rep_review",
            "  recommend peek {\n    after rep_review\n    reads crm\n    run http GET \"/next\"\n    yields id: text\n  }\n\n  execute move_lead {\n    after peek",
        )
        .replace("/stage/{suggest.stage}", "/stage/{peek.id}");
    let found = codes(&source);
    assert!(found.iter().any(|c| c.starts_with("E0209")), "{found:?}");
}

#[test]
fn a_url_reference_orders_its_step_after_the_one_it_reads() {
    // `move_lead` names no `after` on the confirm; the reference to `suggest` still orders it
    // after `suggest` (and E0203 then asks for the confirm), never a cycle or unknown order.
    let source = BY_ID.replace("    after rep_review\n    writes crm", "    writes crm");
    let found = codes(&source);
    assert!(found.iter().any(|c| c.starts_with("E0203")), "{found:?}");
    assert!(!found.iter().any(|c| c.starts_with("E0101")), "{found:?}");
}

#[test]
fn a_brace_that_is_not_a_template_is_e0001() {
    for bad in ["/leads/{lead_id", "/leads/}", "/leads/{a b}"] {
        let source = BY_ID.replace("/leads/{lead_id}?fields={{stage}}", bad);
        let found = codes(&source);
        assert!(
            found
                .iter()
                .any(|c| c.starts_with("E0001") && c.contains("template")),
            "{bad}: {found:?}"
        );
    }
}

#[test]
fn a_run_addresses_the_lead_by_its_encoded_id() {
    let bed = Bed::new("url-templates");
    let handler = |request: &Seen| match request.method.as_str() {
        "GET" => https::json(200, r#"{"stage":"qualified","current":"new"}"#),
        _ => https::json(200, r#"{"ok":true}"#),
    };
    let server = https::serve(Arc::new(handler));
    bed.file("ca.pem", &server.ca_pem);
    bed.file(
        "writ.yaml",
        &format!(
            "state: .writ/state.db\npeople:\n  ben: [account_exec]\n  max: [sales_manager]\n\
             systems:\n  crm: {{ http: \"https://127.0.0.1:{}/api\", ca_file: ca.pem }}\n",
            server.port
        ),
    );
    bed.file("crm.writ", BY_ID);
    let (out, run) = bed.start("crm.writ", &["lead_id=L 7é"], "max");
    assert_eq!(out.code, Some(3), "{}", out.describe());
    let out = bed.writ(&["approve", &run, "rep_review", "--as", "ben"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let out = bed.writ(&["resume", &run, "--format", "json"]);
    assert_eq!(out.json()["status"], "done", "{}", out.describe());
    let out = bed.writ(&["rollback", &run, "--as", "max", "--reason", "test"]);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let paths: Vec<String> = server
        .seen
        .lock()
        .expect("seen")
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert_eq!(
        paths,
        [
            "GET /api/leads/L%207%C3%A9?fields={stage}",
            "PATCH /api/leads/L%207%C3%A9/stage/qualified",
            "PATCH /api/leads/L%207%C3%A9",
        ]
    );
}
