//! The http connector over real TLS: a local HTTPS server with a CA the test makes, the
//! system's `ca_file`, auth other than bearer, static headers, keep-alive, redirects named,
//! and the config refusing what cannot be used safely.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use writ::runtime::config::{self, Auth, ConfigError, Credential, Secret, SystemConfig};
use writ::runtime::connector::ConnectorError;
use writ::runtime::connector::http::{Client, ClientConfig};

use crate::support::bed::Bed;
use crate::support::https::{self, Https, Reply, Seen};

const TIMEOUT: Duration = Duration::from_secs(10);
const CRM_STAGE: &str = include_str!("../runtime/crm_stage.writ");

fn lead(request: &Seen) -> Reply {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/api/leads/1") => https::json(
            200,
            r#"{"id":1,"stage":"qualified","current":"contacted","owner":null}"#,
        ),
        ("GET", "/api/moved") => Reply {
            status: 301,
            headers: vec![(
                "Location".to_owned(),
                "https://elsewhere.example/x".to_owned(),
            )],
            body: String::new(),
        },
        _ => https::json(200, r#"{"ok":true}"#),
    }
}

/// The server, and its CA written to `folder/ca.pem`.
fn server(folder: &Path) -> Https {
    let server = https::serve(Arc::new(lead));
    std::fs::create_dir_all(folder).expect("folder");
    std::fs::write(folder.join("ca.pem"), &server.ca_pem).expect("ca.pem");
    server
}

fn client(server: &Https, ca_file: Option<&Path>, credential: Option<Credential>) -> Client {
    Client::new(ClientConfig {
        base_url: &format!("https://127.0.0.1:{}/api", server.port),
        credential,
        ca_file,
        headers: &[
            ("Prefer".to_owned(), "return=representation".to_owned()),
            ("X-Api-Version".to_owned(), "2024-06".to_owned()),
        ],
        idempotency_header: None,
        record_full: false,
        timeout: TIMEOUT,
    })
    .expect("a client")
}

#[test]
fn a_system_with_its_ca_file_is_read_and_written_over_https() {
    let bed = Bed::new("https-client");
    let server = server(&bed.path(""));
    let key = Credential {
        header: "X-API-Key".to_owned(),
        value: "k-991".to_owned(),
        secret: "k-991".to_owned(),
    };
    let client = client(&server, Some(&bed.path("ca.pem")), Some(key));
    let out = client.call("GET", "/leads/1", None, None).expect("read");
    assert_eq!(out.json.expect("json")["stage"], "qualified");
    let out = client
        .call("PATCH", "/leads/1", Some(&json!({ "stage": "won" })), None)
        .expect("write");
    assert_eq!(out.status, 200);
    let seen = server.seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert_eq!(request.header("x-api-key"), Some("k-991"), "{request:?}");
        assert_eq!(request.header("authorization"), None);
        assert_eq!(request.header("prefer"), Some("return=representation"));
        assert_eq!(request.header("x-api-version"), Some("2024-06"));
    }
    assert_eq!(seen[1].body, r#"{"stage":"won"}"#);
}

#[test]
fn a_server_whose_ca_is_not_trusted_is_refused_before_anything_is_sent() {
    let bed = Bed::new("https-untrusted");
    let server = server(&bed.path(""));
    let client = client(&server, None, None);
    let error = client
        .call("GET", "/leads/1", None, None)
        .expect_err("untrusted");
    let text = error.to_string().to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("issuer"),
        "{text}"
    );
    assert!(server.seen.lock().expect("seen").is_empty());
}

#[test]
fn a_ca_file_that_holds_no_certificate_is_refused_when_the_client_is_made() {
    let bed = Bed::new("https-bad-ca");
    bed.file("ca.pem", "not a certificate\n");
    let made = Client::new(ClientConfig {
        base_url: "https://127.0.0.1:1/api",
        credential: None,
        ca_file: Some(&bed.path("ca.pem")),
        headers: &[],
        idempotency_header: None,
        record_full: false,
        timeout: TIMEOUT,
    });
    match made {
        Err(ConnectorError::HttpSetup { reason, .. }) => {
            assert!(reason.contains("no PEM certificate"), "{reason}");
        }
        other => panic!("expected a setup error, got {other:?}"),
    }
}

#[test]
fn one_client_keeps_one_connection_alive() {
    let bed = Bed::new("https-keepalive");
    let server = server(&bed.path(""));
    let client = client(&server, Some(&bed.path("ca.pem")), None);
    for _ in 0..20 {
        client.call("GET", "/leads/1", None, None).expect("read");
    }
    assert_eq!(server.seen.lock().expect("seen").len(), 20);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[test]
fn a_redirect_is_not_followed_and_the_error_names_its_target() {
    let bed = Bed::new("https-redirect");
    let server = server(&bed.path(""));
    let client = client(&server, Some(&bed.path("ca.pem")), None);
    match client.call("GET", "/moved", None, None) {
        Err(ConnectorError::HttpStatus {
            status, body_head, ..
        }) => {
            assert_eq!(status, 301);
            assert!(
                body_head.contains("https://elsewhere.example/x"),
                "{body_head}"
            );
        }
        other => panic!("expected a 301 error, got {other:?}"),
    }
    assert_eq!(server.seen.lock().expect("seen").len(), 1);
}

fn parse(systems: &str) -> Result<config::Config, ConfigError> {
    let text = format!("state: s.db\npeople: {{ ana: [analyst] }}\nsystems:\n{systems}");
    config::parse(&text, Path::new("/srv/writ/writ.yaml"))
}

fn invalid(systems: &str) -> (String, String) {
    match parse(systems) {
        Err(ConfigError::Invalid(invalid)) => (invalid.message.clone(), invalid.help.clone()),
        other => panic!("expected an invalid config, got {other:?}"),
    }
}

#[test]
fn plain_http_is_only_for_loopback_unless_insecure() {
    for ok in [
        "http://127.0.0.1:8080/api",
        "http://localhost/api",
        "http://[::1]:9/",
        "https://crm.example.com/api",
    ] {
        assert!(
            parse(&format!("  crm: {{ http: \"{ok}\" }}\n")).is_ok(),
            "{ok}"
        );
    }
    let (message, help) = invalid("  crm: { http: \"http://crm.example.com/api\" }\n");
    assert!(message.contains("plain `http://`"), "{message}");
    assert!(help.contains("insecure: true"), "{help}");
    let config = parse("  crm: { http: \"http://crm.example.com/api\", insecure: true }\n")
        .expect("allowed when asked");
    let SystemConfig::Http(http) = &config.systems["crm"] else {
        panic!("an http system");
    };
    assert!(http.insecure);
    let (message, _) = invalid("  crm: { http: \"ftp://crm.example.com\" }\n");
    assert!(
        message.contains("not an `http://` or `https://` URL"),
        "{message}"
    );
}

#[test]
fn every_auth_form_loads_and_sends_its_header() {
    let bed = Bed::new("auth-forms");
    bed.file("secrets/crm", "pa:ss\n");
    let text = "state: s.db\npeople: { ana: [analyst] }\nsystems:\n  \
                drf: { http: \"https://a\", auth: { scheme: Token, token_env: WRIT_TEST_AUTH_TOK } }\n  \
                key: { http: \"https://a\", auth: { header: X-API-Key, key_file: secrets/crm } }\n  \
                basic: { http: \"https://a\", auth: { basic_user: writ, password_file: secrets/crm } }\n  \
                bearer: { http: \"https://a\", auth: { bearer_file: secrets/crm }, ca_file: ca.pem }\n";
    let config = config::parse(text, &bed.path("writ.yaml")).expect("loads");
    let SystemConfig::Http(drf) = &config.systems["drf"] else {
        panic!("http");
    };
    assert_eq!(
        drf.auth,
        Some(Auth::Scheme {
            scheme: "Token".to_owned(),
            secret: Secret::Env("WRIT_TEST_AUTH_TOK".to_owned())
        })
    );
    let SystemConfig::Http(bearer) = &config.systems["bearer"] else {
        panic!("http");
    };
    assert_eq!(
        bearer.ca_file.as_deref(),
        Some(bed.path("ca.pem").as_path())
    );
    let key = config.credential("key").expect("read").expect("some");
    assert_eq!(
        (key.header.as_str(), key.value.as_str()),
        ("X-API-Key", "pa:ss")
    );
    let basic = config.credential("basic").expect("read").expect("some");
    // base64("writ:pa:ss")
    assert_eq!(basic.value, "Basic d3JpdDpwYTpzcw==");
    let bearer = config.credential("bearer").expect("read").expect("some");
    assert_eq!(bearer.value, "Bearer pa:ss");
    // The variable is unset: the error names it, never a value.
    let error = config.credential("drf").expect_err("unset");
    assert!(error.to_string().contains("WRIT_TEST_AUTH_TOK"), "{error}");
}

#[test]
fn auth_that_is_not_one_form_or_holds_a_secret_is_refused() {
    let (message, help) =
        invalid("  crm: { http: \"https://a\", auth: { bearer_env: A, key_env: B } }\n");
    assert!(message.contains("not one way to authenticate"), "{message}");
    assert!(help.contains("basic_user"), "{help}");
    let (message, _) = invalid("  crm: { http: \"https://a\", auth: { password: hunter2 } }\n");
    assert!(message.contains("has a secret in the file"), "{message}");
    assert!(!message.contains("hunter2"));
    let (message, _) =
        invalid("  crm: { http: \"https://a\", auth: { header: Authorization, key_env: B } }\n");
    assert!(message.contains("writ sets itself"), "{message}");
    let (message, _) =
        invalid("  crm: { http: \"https://a\", token_env: A, auth: { bearer_env: B } }\n");
    assert!(message.contains("both `token_env` and `auth`"), "{message}");
    let (message, _) = invalid("  crm: { sqlite: a.db, ca_file: ca.pem }\n");
    assert!(message.contains("only for `http` systems"), "{message}");
}

#[test]
fn static_headers_are_checked() {
    let config =
        parse("  crm: { http: \"https://a\", headers: { Accept: application/ld+json, Prefer: \"return=minimal\" } }\n")
            .expect("loads");
    let SystemConfig::Http(http) = &config.systems["crm"] else {
        panic!("http");
    };
    assert_eq!(http.headers.len(), 2);
    for bad in [
        "{ Authorization: x }",
        "{ \"Bad Name\": x }",
        "{ Accept: a, accept: b }",
        "{ X-A: \"line\\nbreak\" }",
    ] {
        assert!(
            parse(&format!(
                "  crm: {{ http: \"https://a\", headers: {bad} }}\n"
            ))
            .is_err(),
            "{bad}"
        );
    }
}

/// The CRM workflow end to end over HTTPS: the system trusts the test's CA and authenticates
/// with DRF's `Token` scheme; the run reads, waits for the rep, and writes.
#[test]
fn a_run_reads_and_writes_an_https_system_with_a_token_scheme() {
    let bed = Bed::new("https-run");
    let server = server(&bed.path(""));
    bed.file(
        "writ.yaml",
        &format!(
            "state: .writ/state.db\npeople:\n  ben: [account_exec]\n  max: [sales_manager]\n\
             systems:\n  crm: {{ http: \"https://127.0.0.1:{}/api\", ca_file: ca.pem, \
             auth: {{ scheme: Token, token_env: CRM_TOKEN }}, headers: {{ Prefer: return=minimal }} }}\n",
            server.port
        ),
    );
    bed.file("crm.writ", CRM_STAGE);
    let env = [("CRM_TOKEN", "drf-4711")];
    let (out, run) = bed.start_with_env("crm.writ", &[], "max", &env);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    let out = bed.writ_with_env(
        &[
            "approve",
            &run,
            "rep_review",
            "--as",
            "ben",
            "--format",
            "json",
        ],
        &env,
    );
    assert_eq!(out.code, Some(0), "{}", out.describe());
    let out = bed.writ_with_env(&["resume", &run, "--format", "json"], &env);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert_eq!(out.json()["status"], "done");
    let seen = server.seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].method, "PATCH");
    assert_eq!(seen[1].body, r#"{"stage":"qualified"}"#);
    for request in &seen {
        assert_eq!(request.header("authorization"), Some("Token drf-4711"));
        assert_eq!(request.header("prefer"), Some("return=minimal"));
    }
}
