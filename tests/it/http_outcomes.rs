//! What an HTTP answer to a write means for the run: 2xx applied, 4xx (but 408/429) refused
//! with nothing applied, 5xx in doubt; a 2xx whose body does not fit `yields` is a failed step
//! whose write is rolled back; every write carries its idempotency key.

use std::sync::Arc;

use crate::support::bed::Bed;
use crate::support::https::{self, Https, Reply, Seen};

const CRM_NOTE: &str = include_str!("../runtime/crm_note.writ");

/// A CRM whose lead reads and PATCHes succeed and whose `POST /notes` answers `note`.
fn crm(bed: &Bed, note: fn() -> Reply) -> Https {
    crm_with(bed, note, "")
}

/// [`crm`], with more keys for the system (`, record: full`).
fn crm_with(bed: &Bed, note: fn() -> Reply, more: &str) -> Https {
    let handler = move |request: &Seen| match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/api/leads/1") => {
            https::json(200, r#"{"id":1,"stage":"qualified","current":"contacted"}"#)
        }
        ("POST", "/api/notes") => note(),
        _ => https::json(200, r#"{"ok":true}"#),
    };
    let server = https::serve(Arc::new(handler));
    bed.file("ca.pem", &server.ca_pem);
    bed.file(
        "writ.yaml",
        &format!(
            "state: .writ/state.db\npeople:\n  ben: [account_exec]\n  max: [sales_manager]\n\
             systems:\n  crm: {{ http: \"https://127.0.0.1:{}/api\", ca_file: ca.pem, \
             auth: {{ header: X-API-Key, key_env: CRM_KEY }}{more} }}\n",
            server.port
        ),
    );
    bed.file("crm.writ", CRM_NOTE);
    server
}

const ENV: [(&str, &str); 1] = [("CRM_KEY", "k-123")];

/// Starts, approves and resumes the run; returns it and the resume's JSON.
fn run_to_end(bed: &Bed) -> (String, serde_json::Value) {
    let (out, run) = bed.start_with_env("crm.writ", &[], "max", &ENV);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    let approve = [
        "approve",
        &run,
        "rep_review",
        "--as",
        "ben",
        "--format",
        "json",
    ];
    let out = bed.writ_with_env(&approve, &ENV);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let out = bed.writ_with_env(&["resume", &run, "--format", "json"], &ENV);
    (run, out.json())
}

fn requests(server: &Https) -> Vec<(String, String)> {
    let seen = server.seen.lock().expect("seen");
    seen.iter()
        .map(|s| (s.method.clone(), s.path.clone()))
        .collect()
}

fn pair(method: &str, path: &str) -> (String, String) {
    (method.to_owned(), path.to_owned())
}

#[test]
fn a_4xx_to_a_write_is_refused_and_the_earlier_write_rolled_back_without_repair() {
    let bed = Bed::new("http-refused");
    let server = crm(&bed, || {
        https::json(422, r#"{"text":["This field may not be blank."]}"#)
    });
    let (run, end) = run_to_end(&bed);
    assert_eq!(end["status"], "failed", "{end}");
    assert_eq!(
        requests(&server),
        [
            pair("GET", "/api/leads/1"),
            pair("PATCH", "/api/leads/1"),
            pair("POST", "/api/notes"),
            pair("PATCH", "/api/leads/1"),
        ]
    );
    let seen = server.seen.lock().expect("seen").clone();
    assert_eq!(seen[3].body, r#"{"stage":"contacted"}"#, "the rollback");
    let kinds = bed.kinds(&run);
    assert!(kinds.contains(&"write_refused".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"rolled_back".to_owned()), "{kinds:?}");
    let refused = bed
        .events(&run)
        .into_iter()
        .find(|e| e["kind"] == "write_refused")
        .expect("write_refused");
    assert_eq!(refused["data"]["status"], 422, "{refused}");
    assert_eq!(refused["step"], "add_note");
}

#[test]
fn a_5xx_to_a_write_is_in_doubt_and_needs_repair() {
    let bed = Bed::new("http-in-doubt");
    let server = crm(&bed, || https::json(503, "{}"));
    let (_, end) = run_to_end(&bed);
    assert_eq!(end["status"], "needs_repair", "{end}");
    // Nothing is reversed while a write is in doubt: the lead's PATCH is not undone.
    assert_eq!(requests(&server).len(), 3);
}

#[test]
fn a_429_to_a_write_is_in_doubt_not_refused() {
    let bed = Bed::new("http-429");
    let _server = crm(&bed, || https::json(429, "{}"));
    let (_, end) = run_to_end(&bed);
    assert_eq!(end["status"], "needs_repair", "{end}");
}

#[test]
fn a_204_to_a_write_with_yields_fails_the_step_and_rolls_both_writes_back() {
    let bed = Bed::new("http-204");
    let server = crm(&bed, || https::json(204, ""));
    let (run, end) = run_to_end(&bed);
    assert_eq!(end["status"], "failed", "{end}");
    assert_eq!(
        requests(&server),
        [
            pair("GET", "/api/leads/1"),
            pair("PATCH", "/api/leads/1"),
            pair("POST", "/api/notes"),
            pair("DELETE", "/api/notes/1"),
            pair("PATCH", "/api/leads/1"),
        ]
    );
    let written = bed
        .events(&run)
        .into_iter()
        .filter(|e| e["kind"] == "written")
        .collect::<Vec<_>>();
    assert_eq!(written.len(), 2);
    assert_eq!(written[1]["data"]["status"], 204, "{}", written[1]);
    let failed = bed
        .events(&run)
        .into_iter()
        .find(|e| e["kind"] == "run_failed")
        .expect("run_failed");
    let reason = failed["data"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("answered 204 with no body"), "{reason}");
}

#[test]
fn a_2xx_body_that_does_not_fit_yields_is_applied_and_rolled_back() {
    let bed = Bed::new("http-unfit");
    let server = crm(&bed, || https::json(201, r#"{"note":"not a number"}"#));
    let (_, end) = run_to_end(&bed);
    assert_eq!(end["status"], "failed", "{end}");
    assert!(requests(&server).contains(&pair("DELETE", "/api/notes/1")));
}

#[test]
fn every_write_carries_its_idempotency_key_and_the_log_keeps_it() {
    let bed = Bed::new("http-idempotency");
    let server = crm(&bed, || https::json(201, r#"{"note":7}"#));
    let (run, end) = run_to_end(&bed);
    assert_eq!(end["status"], "done", "{end}");
    let seen = server.seen.lock().expect("seen").clone();
    assert_eq!(seen[0].header("idempotency-key"), None, "a read has none");
    let (patch, post) = (&seen[1], &seen[2]);
    assert_eq!(patch.header("x-api-key"), Some("k-123"));
    let written: Vec<serde_json::Value> = bed
        .events(&run)
        .into_iter()
        .filter(|e| e["kind"] == "written")
        .collect();
    for (request, event) in [patch, post].into_iter().zip(&written) {
        let key = request.header("idempotency-key").expect("a key");
        assert!(key.starts_with("writ-"), "{key}");
        assert_eq!(event["data"]["idempotency_key"], key);
    }
    assert_ne!(
        patch.header("idempotency-key"),
        post.header("idempotency-key")
    );
    assert_eq!(written[1]["data"]["status"], 201);
    // The same run, step and action always name the same write (a resume sends it again
    // under the same key); another run never does.
    let hash = "abc";
    assert_eq!(
        writ::runtime::connector::http::idempotency_key(&run, "add_note", hash),
        writ::runtime::connector::http::idempotency_key(&run, "add_note", hash)
    );
    assert_ne!(
        writ::runtime::connector::http::idempotency_key(&run, "add_note", hash),
        writ::runtime::connector::http::idempotency_key("other", "add_note", hash)
    );
}

#[test]
fn the_idempotency_header_is_named_per_system() {
    let config = writ::runtime::config::parse(
        "state: s.db\npeople: { ana: [analyst] }\nsystems:\n  crm: { http: \"https://crm.example.com\", idempotency_header: X-Request-Key }\n",
        std::path::Path::new("/srv/writ/writ.yaml"),
    )
    .expect("loads");
    let writ::runtime::config::SystemConfig::Http(http) = &config.systems["crm"] else {
        panic!("not http");
    };
    assert_eq!(http.idempotency_header.as_deref(), Some("X-Request-Key"));
    let refused = writ::runtime::config::parse(
        "state: s.db\npeople: { ana: [analyst] }\nsystems:\n  crm: { http: \"https://crm.example.com\", idempotency_header: \"a b\" }\n",
        std::path::Path::new("/srv/writ/writ.yaml"),
    );
    assert!(refused.is_err());
}

/// A created note with its identifying headers and a body holding personal data.
fn created() -> Reply {
    Reply {
        status: 201,
        headers: vec![
            ("Location".to_owned(), "/api/notes/7".to_owned()),
            ("ETag".to_owned(), "\"v1\"".to_owned()),
            ("X-Request-Id".to_owned(), "req-42".to_owned()),
        ],
        body: r#"{"note":7,"author_email":"ana@example.com"}"#.to_owned(),
    }
}

#[test]
fn the_log_keeps_status_identifying_headers_and_yields_not_whole_answers() {
    let bed = Bed::new("http-audit");
    let _server = crm(&bed, created);
    let (run, end) = run_to_end(&bed);
    assert_eq!(end["status"], "done", "{end}");
    let events = bed.events(&run);
    let note = events
        .iter()
        .find(|e| e["kind"] == "written" && e["step"] == "add_note")
        .expect("written");
    assert_eq!(note["data"]["status"], 201, "{note}");
    assert_eq!(note["data"]["headers"]["location"], "/api/notes/7");
    assert_eq!(note["data"]["headers"]["etag"], "\"v1\"");
    assert_eq!(note["data"]["headers"]["x-request-id"], "req-42");
    assert_eq!(note["data"]["values"]["note"], 7);
    assert!(note["data"].get("output").is_none(), "{note}");
    let recommended = events
        .iter()
        .find(|e| e["kind"] == "recommended")
        .expect("recommended");
    assert!(
        recommended["data"]["output"].get("id").is_none(),
        "{recommended}"
    );
    let log = bed.writ(&["log", &run, "--format", "jsonl"]).stdout;
    assert!(!log.contains("ana@example.com"), "{log}");
}

#[test]
fn record_full_keeps_whole_answers() {
    let bed = Bed::new("http-audit-full");
    let _server = crm_with(&bed, created, ", record: full");
    let (run, end) = run_to_end(&bed);
    assert_eq!(end["status"], "done", "{end}");
    let log = bed.writ(&["log", &run, "--format", "jsonl"]).stdout;
    assert!(log.contains("ana@example.com"), "{log}");
}
