//! The `http` connector against a real HTTP server on 127.0.0.1, written here on
//! `std::net::TcpListener`: it answers one scripted response per connection and records
//! each request it saw.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use writ::runtime::connector::ConnectorError;
use writ::runtime::connector::http::call;

const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Seen {
    request_line: String,
    /// Header names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Scripted {
    status: u16,
    body: &'static str,
    delay: Duration,
}

fn reply(status: u16, body: &'static str) -> Scripted {
    Scripted {
        status,
        body,
        delay: Duration::ZERO,
    }
}

/// Starts a server answering `script` in order, one connection each; returns its base URL
/// and the requests it sees.
fn serve(script: Vec<Scripted>) -> (String, Receiver<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for scripted in script {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("request line");
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("header");
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').expect("a header");
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map_or(0, |(_, v)| v.parse().expect("length"));
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            let _ = tx.send(Seen {
                request_line: request_line.trim_end().to_owned(),
                headers,
                body,
            });
            thread::sleep(scripted.delay);
            let mut stream = stream;
            let response = format!(
                "HTTP/1.1 {} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                scripted.status,
                scripted.body.len(),
                scripted.body
            );
            // The client may have given up (the timeout test).
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (format!("http://{addr}/api/"), rx)
}

fn seen(rx: &Receiver<Seen>) -> Seen {
    rx.recv_timeout(TIMEOUT).expect("the server saw a request")
}

#[test]
fn get_returns_the_object() {
    let (base, rx) = serve(vec![reply(200, r#"{"id": 7, "name": "Ada"}"#)]);
    let out = call(&base, None, "GET", "/users/7?full=1", None, TIMEOUT).expect("ok");
    assert_eq!(out.status, 200);
    assert_eq!(out.json, Some(json!({"id": 7, "name": "Ada"})));
    let req = seen(&rx);
    assert_eq!(req.request_line, "GET /api/users/7?full=1 HTTP/1.1");
    assert_eq!(req.header("accept"), Some("application/json"));
    assert_eq!(req.header("authorization"), None);
    assert!(req.body.is_empty());
}

#[test]
fn patch_sends_the_json_body_and_the_token() {
    let (base, rx) = serve(vec![reply(204, "")]);
    let body = json!({"id": 7, "level": 2});
    let out = call(&base, Some("s3cret"), "PATCH", "/t", Some(&body), TIMEOUT).expect("ok");
    assert_eq!(out.status, 204);
    assert_eq!(out.json, None);
    let req = seen(&rx);
    assert_eq!(req.request_line, "PATCH /api/t HTTP/1.1");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("authorization"), Some("Bearer s3cret"));
    assert_eq!(req.body, serde_json::to_vec(&body).expect("json"));
}

#[test]
fn a_404_is_an_error_with_status_and_body() {
    let (base, _rx) = serve(vec![reply(404, r#"{"error": "no such user"}"#)]);
    let err = call(&base, Some("s3cret"), "GET", "/users/9", None, TIMEOUT).expect_err("404");
    match &err {
        ConnectorError::HttpStatus {
            status, body_head, ..
        } => {
            assert_eq!(*status, 404);
            assert!(body_head.contains("no such user"), "{body_head}");
        }
        other => panic!("unexpected error: {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("404"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn a_long_error_body_is_cut_to_500_bytes() {
    let long: &'static str = "x".repeat(2000).leak();
    let (base, _rx) = serve(vec![reply(500, long)]);
    match call(&base, None, "POST", "/t", None, TIMEOUT) {
        Err(ConnectorError::HttpStatus {
            status, body_head, ..
        }) => {
            assert_eq!(status, 500);
            assert_eq!(body_head.len(), 500);
        }
        other => panic!("unexpected result: {other:?}"),
    }
}

#[test]
fn a_2xx_that_is_not_a_json_object_or_array_is_an_error() {
    let (base, _rx) = serve(vec![
        reply(200, "<html>hi</html>"),
        reply(200, "42"),
        reply(200, "[1, 2]"),
    ]);
    for _ in 0..2 {
        match call(&base, None, "GET", "/t", None, TIMEOUT) {
            Err(ConnectorError::HttpNotJson { .. }) => {}
            other => panic!("unexpected result: {other:?}"),
        }
    }
    let array = call(&base, None, "GET", "/t", None, TIMEOUT).expect("an array");
    assert_eq!(array.json, Some(serde_json::json!([1, 2])));
}

#[test]
fn a_slow_server_times_out_in_time() {
    let (base, _rx) = serve(vec![Scripted {
        status: 200,
        body: "{}",
        delay: Duration::from_secs(3),
    }]);
    let start = Instant::now();
    let result = call(
        &base,
        None,
        "GET",
        "/slow",
        None,
        Duration::from_millis(300),
    );
    let elapsed = start.elapsed();
    match result {
        Err(ConnectorError::HttpTimeout { after, .. }) => {
            assert_eq!(after, Duration::from_millis(300));
        }
        other => panic!("unexpected result: {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

#[test]
fn urls_must_stay_under_the_base() {
    // No server: these are refused before any connection.
    let base = "http://127.0.0.1:9/api";
    for url in [
        "http://evil.example/x",
        "//evil.example/x",
        "/a/../../etc",
        "/..",
        "/a/%2e%2e/b",
        "relative",
    ] {
        match call(base, Some("s3cret"), "GET", url, None, TIMEOUT) {
            Err(err @ ConnectorError::HttpUrl { .. }) => {
                assert!(!err.to_string().contains("s3cret"));
            }
            other => panic!("{url}: unexpected result: {other:?}"),
        }
    }
}

#[test]
fn other_schemes_and_unknown_methods_are_refused() {
    assert!(matches!(
        call("ftp://example.com", None, "GET", "/t", None, TIMEOUT),
        Err(ConnectorError::HttpUrl { .. })
    ));
    assert!(matches!(
        call("http://127.0.0.1:9", None, "TRACE", "/t", None, TIMEOUT),
        Err(ConnectorError::Http { .. })
    ));
}
