//! What writ's http connector adds to a request: 1,000 sequential GETs against a local
//! keep-alive server, once as raw requests written and read by hand on one kept-open TCP
//! connection (the raw request time), once through one `http::Client` (writ's keep-alive agent,
//! URL checks, headers, the 2xx JSON read). The difference divided by 1,000 is writ's per-call
//! overhead (the aim: under 0.3 ms).
//!
//! Run with `cargo bench --bench http_keepalive`; it takes a few seconds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use writ::runtime::connector::http::{Client, ClientConfig};

const CALLS: usize = 1_000;
const BODY: &str = r#"{"id":1,"stage":"qualified","owner":null}"#;

/// A server on 127.0.0.1 that answers every request of every connection with `BODY`.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || answer(stream));
        }
    });
    port
}

fn answer(stream: TcpStream) {
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    loop {
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {}
            }
        }
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// One raw GET on a kept-open connection: the request written, the fixed-size answer read.
fn raw_get(stream: &mut TcpStream, answer_len: usize, buffer: &mut [u8]) {
    stream
        .write_all(
            b"GET /api/leads/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n",
        )
        .unwrap();
    stream.read_exact(&mut buffer[..answer_len]).unwrap();
}

fn bench(c: &mut Criterion) {
    let port = serve();
    let answer_len = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    )
    .len();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buffer = vec![0; answer_len];
    let client = Client::new(ClientConfig {
        base_url: &format!("http://127.0.0.1:{port}/api"),
        credential: None,
        ca_file: None,
        headers: &[],
        idempotency_header: None,
        record_full: false,
        timeout: Duration::from_secs(10),
    })
    .unwrap();
    let mut group = c.benchmark_group("http_1000_sequential_gets");
    group.sample_size(10);
    group.bench_function("raw", |b| {
        b.iter(|| {
            for _ in 0..CALLS {
                raw_get(&mut stream, answer_len, &mut buffer);
            }
        })
    });
    group.bench_function("writ_client", |b| {
        b.iter(|| {
            for _ in 0..CALLS {
                client.call("GET", "/leads/1", None, None).unwrap();
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
