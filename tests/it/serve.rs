//! `writ serve`, end to end: the real binary as a service on 127.0.0.1 (a port the system
//! picks, printed on stdout), reached with writ's own client. Acts are statements printed by
//! the local command (`--statement`) and signed with `ssh-keygen -Y sign -n writ`, so what
//! the service verifies is exactly what a person's key signed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use writ::serve::Address;
use writ::serve::client::request;

use super::trust::{TRIAGE, code, priority, ssh_keygen, starter};
use crate::support::bed::Bed;

/// A running `writ serve`; killed when dropped.
struct Service {
    child: Child,
    address: Address,
}

impl Service {
    fn start(bed: &Bed) -> Service {
        Service::start_with(bed, &["--listen", "127.0.0.1:0"], &[])
    }

    /// `writ serve ARGS` with `env` set (`WRIT_FAULT`: the crash tests' SIGKILL point).
    fn start_with(bed: &Bed, args: &[&str], env: &[(&str, &str)]) -> Service {
        let mut command = Command::new(env!("CARGO_BIN_EXE_writ"));
        command.arg("serve").args(args).env_remove("WRIT_FAULT");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .current_dir(bed.path(""))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("writ serve starts");
        let stdout = child.stdout.take().expect("its stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("writ serve prints its address");
        assert!(!line.trim().is_empty(), "writ serve printed no address");
        let address = Address::parse(line.trim()).expect("an address");
        Service { child, address }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        request(
            &self.address,
            method,
            path,
            body.as_ref(),
            Duration::from_secs(30),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Polls the run until `done` holds of its status answer (at most `within`).
    fn until(&self, run: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + within;
        loop {
            let (status, body) = self.call("GET", &format!("/v1/runs/{run}"), None);
            assert_eq!(status, 200, "{body}");
            if done(&body) || Instant::now() > end {
                return body;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The statement a local command prints with `--statement`, signed with `key` as
/// `ssh-keygen -Y sign -n writ` does: the body of an acting request.
fn signed(bed: &Bed, args: &[&str], key: &str) -> Value {
    let mut args: Vec<&str> = args.to_vec();
    args.extend(["--key", key, "--statement"]);
    let out = bed.writ_raw(&args, &[]);
    code(&out, 0);
    let file = bed.path("statement.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let _ = std::fs::remove_file(bed.path("statement.json.sig"));
    let sign = ssh_keygen(
        bed,
        &["-Y", "sign", "-n", "writ", "-f", key, "statement.json"],
    );
    assert!(sign.status.success(), "{sign:?}");
    let signature = std::fs::read_to_string(bed.path("statement.json.sig")).unwrap();
    json!({ "statement": out.stdout, "signature": signature })
}

fn start_args() -> Vec<&'static str> {
    vec!["run", TRIAGE, "--input", "ticket_id=105"]
}

fn kinds(body: &Value) -> Vec<String> {
    body["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["kind"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_run_is_started_decided_and_finished_through_the_service() {
    let bed = starter("serve-e2e");
    let service = Service::start(&bed);
    let (status, body) = service.call(
        "POST",
        "/v1/runs",
        Some(signed(&bed, &start_args(), "keys/ana")),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "waiting", "{body}");
    assert_eq!(body["exit"], 3);
    let run = body["run"].as_str().unwrap().to_owned();
    // What the local `writ status RUN` prints is what the service sends.
    let local = bed.writ_raw(&["status", &run], &[]);
    assert_eq!(body["text"].as_str().unwrap(), local.stdout);

    let (status, inbox) = service.call("GET", "/v1/inbox/sam", None);
    assert_eq!(status, 200, "{inbox}");
    assert_eq!(inbox["waiting"][0]["run"], run.as_str(), "{inbox}");
    assert_eq!(inbox["waiting"][0]["step"], "lead_review");
    let (_, ana) = service.call("GET", "/v1/inbox/ana", None);
    assert_eq!(
        ana["waiting"],
        json!([]),
        "the starter never decides: {ana}"
    );

    let approve = ["approve", run.as_str(), "lead_review"];
    let (status, body) = service.call(
        "POST",
        "/v1/decisions",
        Some(signed(&bed, &approve, "keys/sam")),
    );
    assert_eq!(status, 200, "{body}");
    // Nobody types `writ resume`: the service drives the run on at once.
    let done = service.until(&run, Duration::from_secs(10), |b| b["status"] == "done");
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(priority(&bed), "urgent");

    let (status, events) = service.call("GET", &format!("/v1/runs/{run}/events?after=0"), None);
    assert_eq!(status, 200);
    let kinds = kinds(&events);
    assert!(kinds.contains(&"confirmed".to_owned()), "{kinds:?}");
    assert_eq!(kinds.last().map(String::as_str), Some("run_finished"));
    // Nothing new after the last: a long poll of one second answers empty.
    let last = events["last"].as_u64().unwrap();
    let began = Instant::now();
    let (_, later) = service.call(
        "GET",
        &format!("/v1/runs/{run}/events?after={last}&wait=1"),
        None,
    );
    assert_eq!(later["events"], json!([]));
    assert!(began.elapsed() >= Duration::from_millis(900));

    // A rollback over the API: refused for a role that may not ask (the local words), done
    // for the owner.
    let rollback = ["rollback", run.as_str(), "--reason", "test"];
    let (status, refused) = service.call(
        "POST",
        "/v1/rollbacks",
        Some(signed(&bed, &rollback, "keys/sam")),
    );
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .starts_with(&format!("error: `sam` may not roll back run `{run}`")),
        "{refused}"
    );
    let (status, body) = service.call(
        "POST",
        "/v1/rollbacks",
        Some(signed(&bed, &rollback, "keys/olu")),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "rolled_back", "{body}");
    assert_ne!(priority(&bed), "urgent");
}

#[test]
fn unsigned_and_foreign_signed_acts_are_refused_with_the_local_text() {
    let bed = starter("serve-refused");
    let service = Service::start(&bed);
    // Unsigned: 401, and the words the local command gives a person who did not sign.
    let mut body = signed(&bed, &start_args(), "keys/ana");
    let statement = body["statement"].clone();
    body.as_object_mut().unwrap().remove("signature");
    let (status, answer) = service.call("POST", "/v1/runs", Some(body));
    assert_eq!(status, 401, "{answer}");
    let local = bed.writ_raw(&start_args(), &[]);
    code(&local, 2);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("who acts? this store takes only signed statements"),
        "{answer}"
    );
    assert!(
        local
            .stderr
            .contains("who acts? this store takes only signed statements")
    );
    // Ana's statement signed with sam's key: 403, and nothing started.
    std::fs::remove_file(bed.path("statement.json.sig")).unwrap();
    let foreign = ssh_keygen(
        &bed,
        &[
            "-Y",
            "sign",
            "-n",
            "writ",
            "-f",
            "keys/sam",
            "statement.json",
        ],
    );
    assert!(foreign.status.success());
    let signature = std::fs::read_to_string(bed.path("statement.json.sig")).unwrap();
    let body = json!({ "statement": statement, "signature": signature });
    let (status, answer) = service.call("POST", "/v1/runs", Some(body));
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("the signature does not hold")
            || answer["error"].as_str().unwrap().contains("not `ana`'s"),
        "{answer}"
    );
    let (_, runs) = service.call("GET", "/v1/runs", None);
    assert_eq!(runs["runs"], json!([]), "{runs}");

    // Ana may not confirm her own run (four eyes): refused, 409, the local refusal's text.
    let (_, started) = service.call(
        "POST",
        "/v1/runs",
        Some(signed(&bed, &start_args(), "keys/ana")),
    );
    let run = started["run"].as_str().unwrap().to_owned();
    let approve = ["approve", run.as_str(), "lead_review"];
    let (status, answer) = service.call(
        "POST",
        "/v1/decisions",
        Some(signed(&bed, &approve, "keys/ana")),
    );
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("four eyes"),
        "{answer}"
    );
    assert_eq!(answer["exit"], 1);
}

#[test]
fn a_second_service_on_the_same_store_is_refused() {
    let bed = starter("serve-two");
    let _first = Service::start(&bed);
    let second = bed.writ_raw(&["serve", "--listen", "127.0.0.1:0"], &[]);
    code(&second, 1);
    assert!(
        second
            .stderr
            .contains("another `writ serve` owns the store"),
        "{}",
        second.describe()
    );
}

#[test]
fn a_deadline_and_an_escalation_are_recorded_with_no_client_call() {
    let bed = starter("serve-timers");
    let source = std::fs::read_to_string(bed.path(TRIAGE)).unwrap();
    let fast = source.replace(
        "expires 4h -> escalate ops_lead",
        "expires 2s -> escalate ops_lead",
    );
    assert_ne!(fast, source);
    std::fs::write(bed.path("workflows/fast.writ"), fast).unwrap();
    code(
        &bed.writ_raw(
            &["approve-plan", "workflows/fast.writ", "--key", "keys/olu"],
            &[],
        ),
        0,
    );
    let service = Service::start(&bed);
    let args = ["run", "workflows/fast.writ", "--input", "ticket_id=105"];
    let (status, body) = service.call("POST", "/v1/runs", Some(signed(&bed, &args, "keys/ana")));
    assert_eq!(status, 201, "{body}");
    let run = body["run"].as_str().unwrap().to_owned();
    // The escalation is recorded within a second of the first deadline, by nobody's call but
    // the service's, and the escalation role gets its whole window.
    let escalated = service.until(&run, Duration::from_secs(6), |b| {
        b["report"]["waiting"][0]["escalated"] == true
    });
    assert_eq!(escalated["status"], "waiting", "{escalated}");
    let expired = service.until(&run, Duration::from_secs(8), |b| b["status"] == "expired");
    assert_eq!(expired["status"], "expired", "{expired}");
    let events = bed.events(&run);
    let at = |kind: &str| {
        let event = events
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"));
        writ::runtime::clock::parse(event["at"].as_str().unwrap()).unwrap()
    };
    let requested = at("confirmation_requested");
    let escalated_at = at("escalated");
    let expired_at = at("expired");
    // Within a second of each deadline: the first at 2 s, the escalation role's own 2 s
    // window from the deadline that was missed (never shortened by a late sweep: the expiry
    // is not before 4 s).
    let escalated_after = escalated_at - requested;
    assert!(
        (2_000..3_000).contains(&escalated_after),
        "escalated {escalated_after} ms after the request"
    );
    let expired_after = expired_at - requested;
    assert!(
        (4_000..5_000).contains(&expired_after),
        "expired {expired_after} ms after the request"
    );
}

/// `writ ARGS --server ADDR`.
fn client(bed: &Bed, service: &Service, args: &[&str]) -> crate::support::bed::Outcome {
    let server = service.address.to_string();
    let mut args: Vec<&str> = args.to_vec();
    args.extend(["--server", server.as_str()]);
    bed.writ_raw(&args, &[])
}

#[test]
fn the_cli_as_a_client_prints_what_the_local_command_prints() {
    let bed = starter("serve-client");
    let service = Service::start(&bed);
    let mut args = start_args();
    args.extend(["--key", "keys/ana"]);
    let started = client(&bed, &service, &args);
    code(&started, 3);
    let run = started
        .stdout
        .split_whitespace()
        .nth(1)
        .expect("`run ID (...)`")
        .to_owned();
    // The same bytes as the local command for the same state.
    assert_eq!(started.stdout, bed.writ_raw(&["status", &run], &[]).stdout);
    assert!(
        started.stdout.contains("waits for a `support_lead`"),
        "{}",
        started.stdout
    );
    // A refusal: the local command's words and exit code.
    let own = client(
        &bed,
        &service,
        &["approve", &run, "lead_review", "--key", "keys/ana"],
    );
    let local = bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/ana"], &[]);
    code(&own, 1);
    code(&local, 1);
    assert_eq!(own.stderr, local.stderr);
    assert!(own.stderr.contains("four eyes"), "{}", own.stderr);

    let approved = client(
        &bed,
        &service,
        &["approve", &run, "lead_review", "--key", "keys/sam"],
    );
    code(&approved, 0);
    service.until(&run, Duration::from_secs(10), |b| b["status"] == "done");
    for format in ["text", "json"] {
        let remote = client(&bed, &service, &["status", &run, "--format", format]);
        let local = bed.writ_raw(&["status", &run, "--format", format], &[]);
        code(&remote, 0);
        assert_eq!(remote.stdout, local.stdout, "status --format {format}");
        let remote = client(&bed, &service, &["status", "--format", format]);
        let local = bed.writ_raw(&["status", "--format", format], &[]);
        assert_eq!(
            remote.stdout, local.stdout,
            "the listing, --format {format}"
        );
    }
    let resumed = client(&bed, &service, &["resume", &run]);
    code(&resumed, 0);
    assert_eq!(resumed.stdout, bed.writ_raw(&["resume", &run], &[]).stdout);
    assert_eq!(priority(&bed), "urgent");
}

#[test]
fn a_service_killed_in_the_middle_of_a_write_continues_after_a_restart() {
    let bed = starter("serve-sigkill");
    // SIGKILL right after the helpdesk's write commits, before its `written` is recorded.
    let mut first = Service::start_with(
        &bed,
        &["--listen", "127.0.0.1:0"],
        &[("WRIT_FAULT", "commit:set_priority")],
    );
    let mut args = start_args();
    args.extend(["--key", "keys/ana"]);
    let started = client(&bed, &first, &args);
    code(&started, 3);
    let run = started.stdout.split_whitespace().nth(1).unwrap().to_owned();
    // Its answer may be cut by the kill; what counts is what the store holds.
    let _ = client(
        &bed,
        &first,
        &["approve", &run, "lead_review", "--key", "keys/sam"],
    );
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = first.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < end,
            "the service was not killed at the fault"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "{status:?}");
    assert_eq!(
        priority(&bed),
        "urgent",
        "the write committed before the kill"
    );
    assert!(!bed.kinds(&run).contains(&"written".to_owned()));

    // Restarted, the service settles the write in doubt by its marker row and finishes the
    // run by itself: nothing lost, nothing written twice.
    let second = Service::start(&bed);
    let done = second.until(&run, Duration::from_secs(15), |b| b["status"] == "done");
    assert_eq!(done["status"], "done", "{done}");
    let kinds = bed.kinds(&run);
    assert_eq!(
        kinds.iter().filter(|k| *k == "written").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "before_image").count(),
        1,
        "{kinds:?}"
    );
    code(&super::trust::audit(&bed, &[]), 0);
}

#[test]
fn sigterm_stops_the_service_on_its_default_socket_gracefully() {
    let bed = starter("serve-sigterm");
    let mut service = Service::start_with(&bed, &[], &[]);
    let socket = bed.path(".writ/serve.sock");
    assert_eq!(service.address, Address::Unix(socket.clone()));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660, "{mode:o}");
    let (status, runs) = service.call("GET", "/v1/runs", None);
    assert_eq!((status, runs), (200, json!({ "runs": [] })));
    let term = Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let end = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(status) = service.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < end, "SIGTERM did not stop the service");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(0), "{exit:?}");
    assert!(!socket.exists(), "the socket is removed on a graceful stop");
}

/// One request a webhook receiver got: its headers (lowercase names) and body.
struct Received {
    headers: std::collections::BTreeMap<String, String>,
    body: String,
}

/// A webhook receiver on 127.0.0.1 that answers 503 to the first request and 200 after.
fn receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Received>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = std::collections::BTreeMap::new();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let Some((name, value)) = line.trim_end().split_once(": ") else {
                    break;
                };
                headers.insert(name.to_ascii_lowercase(), value.to_owned());
            }
            let length: usize = headers["content-length"].parse().unwrap();
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut received = seen.lock().unwrap();
            let status = if received.is_empty() {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            received.push(Received {
                headers,
                body: String::from_utf8(body).unwrap(),
            });
            drop(received);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, got)
}

#[test]
fn webhooks_are_signed_per_the_standard_webhooks_spec_retried_and_recorded() {
    use ssh_encoding::base64::{Base64, Encoding as _};
    let bed = starter("serve-webhooks");
    let (url, got) = receiver();
    let config = std::fs::read_to_string(bed.path("writ.yaml")).unwrap();
    let hook = format!(
        "notify:\n  - url: \"{url}\"\n    events: [confirmation_requested, expired]\n    \
         secret_env: WRIT_WEBHOOK_SECRET\n"
    );
    std::fs::write(bed.path("writ.yaml"), format!("{config}{hook}")).unwrap();
    let key = b"a webhook secret of 24 b";
    let secret = format!("whsec_{}", Base64::encode_string(key));
    let service = Service::start_with(
        &bed,
        &["--listen", "127.0.0.1:0"],
        &[("WRIT_WEBHOOK_SECRET", secret.as_str())],
    );
    let mut args = start_args();
    args.extend(["--key", "keys/ana"]);
    // The receiver fails the first delivery: the run does not wait for it.
    let started = client(&bed, &service, &args);
    code(&started, 3);
    let run = started.stdout.split_whitespace().nth(1).unwrap().to_owned();
    let end = Instant::now() + Duration::from_secs(15);
    while got.lock().unwrap().len() < 2 {
        assert!(Instant::now() < end, "no retry of the failed delivery");
        std::thread::sleep(Duration::from_millis(100));
    }
    let received = got.lock().unwrap();
    let (first, retry) = (&received[0], &received[1]);
    assert_eq!(
        first.headers["webhook-id"], retry.headers["webhook-id"],
        "one id per message"
    );
    assert_eq!(first.body, retry.body);
    for delivery in [first, retry] {
        // The spec: HMAC-SHA256 keyed with the base64 after `whsec_`, over `id.timestamp.body`,
        // sent as `v1,BASE64`; the timestamp in Unix seconds, near now.
        let id = &delivery.headers["webhook-id"];
        let timestamp: i64 = delivery.headers["webhook-timestamp"].parse().unwrap();
        let now = writ::runtime::clock::now() / 1_000;
        assert!(
            (now - timestamp).abs() < 300,
            "timestamp {timestamp}, now {now}"
        );
        let signed = format!("{id}.{timestamp}.{}", delivery.body);
        let expected = format!(
            "v1,{}",
            Base64::encode_string(&writ::serve::notify::hmac_sha256(key, signed.as_bytes()))
        );
        assert_eq!(delivery.headers["webhook-signature"], expected);
    }
    let body: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body["type"], "confirmation_requested", "{body}");
    assert_eq!(body["data"]["run"], run.as_str());
    assert_eq!(body["data"]["step"], "lead_review");
    assert_eq!(body["data"]["role"], "support_lead");
    assert_eq!(
        body["data"]["deciders"],
        json!([{ "person": "sam", "inbox": "/v1/inbox/sam" }]),
        "{body}"
    );
    drop(received);
    // Every attempt is recorded beside the store.
    let ledger = rusqlite::Connection::open(bed.path(".writ/state.db.deliveries.db")).unwrap();
    let attempts: Vec<(i64, Option<i64>, bool)> = ledger
        .prepare("SELECT attempt, status, delivered FROM deliveries ORDER BY attempt")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(attempts, vec![(1, Some(503), false), (2, Some(200), true)]);
}

/// `GET PATH` on a TCP service, the whole answer as text (head and body).
fn raw_get(service: &Service, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let Address::Tcp(addr) = &service.address else {
        panic!("a TCP service");
    };
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: writ\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn the_service_serves_the_report_a_manager_opens() {
    let bed = starter("serve-report");
    let run = super::trust::waiting(&bed);
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/sam"], &[]),
        0,
    );
    let service = Service::start(&bed);
    let page = raw_get(&service, "/v1/report");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.to_ascii_lowercase()
            .contains("content-type: text/html"),
        "{page}"
    );
    assert!(
        page.contains("<svg") && page.contains("ticket_triage"),
        "{page}"
    );
    // The JSON form is what `writ report --format json` prints.
    let (status, served) = service.call("GET", "/v1/report?format=json", None);
    assert_eq!(status, 200, "{served}");
    let local = bed.writ_raw(&["report", "--format", "json"], &[]);
    let local: Value = serde_json::from_str(&local.stdout).unwrap();
    assert_eq!(
        served["workflows"][0]["workflow"], "ticket_triage",
        "{served}"
    );
    assert_eq!(served["workflows"], local["workflows"], "{served}");
    let refused = raw_get(&service, "/v1/report?format=pdf");
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
}
