//! A client of `writ serve`: one HTTP/1.1 request per connection over the service's Unix
//! socket or TCP, a JSON body each way. Small on purpose (the service speaks only JSON and
//! closes each connection), so the CLI needs no async stack to reach it.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;

use super::Address;

/// The largest answer read (a run's events can be long, not unbounded).
const MAX_ANSWER: u64 = 64 << 20;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ClientError {
    #[error("cannot reach the service at `{address}`: {reason}")]
    #[diagnostic(
        code(writ::client::reach),
        help(
            "is `writ serve` running there? `--server` (or WRIT_SERVER) names its `--listen` address"
        )
    )]
    Reach { address: String, reason: String },
    #[error("the service at `{address}` answered what is not writ's API: {reason}")]
    #[diagnostic(code(writ::client::answer))]
    Answer { address: String, reason: String },
}

/// Sends `method path` with `body` (JSON, or none) and returns the status and the JSON answer.
pub fn request(
    address: &Address,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, Value), ClientError> {
    let reach = |reason: std::io::Error| ClientError::Reach {
        address: address.to_string(),
        reason: reason.to_string(),
    };
    let payload = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: writ\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    let mut answer = Vec::new();
    match address {
        Address::Unix(socket) => {
            let mut stream = std::os::unix::net::UnixStream::connect(socket).map_err(reach)?;
            stream.set_read_timeout(Some(timeout)).map_err(reach)?;
            exchange(&mut stream, &head, &payload, &mut answer).map_err(reach)?;
        }
        Address::Tcp(addr) => {
            let mut stream = std::net::TcpStream::connect(addr).map_err(reach)?;
            stream.set_read_timeout(Some(timeout)).map_err(reach)?;
            exchange(&mut stream, &head, &payload, &mut answer).map_err(reach)?;
        }
    }
    parse(&answer).map_err(|reason| ClientError::Answer {
        address: address.to_string(),
        reason,
    })
}

fn exchange(
    stream: &mut (impl Read + Write),
    head: &str,
    payload: &str,
    answer: &mut Vec<u8>,
) -> std::io::Result<()> {
    stream.write_all(head.as_bytes())?;
    stream.write_all(payload.as_bytes())?;
    stream.flush()?;
    stream.take(MAX_ANSWER).read_to_end(answer)?;
    Ok(())
}

/// The status and JSON body of a whole HTTP/1.1 answer (`Content-Length` or chunked).
fn parse(answer: &[u8]) -> Result<(u16, Value), String> {
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(answer.get(..split).ok_or("no headers")?)
        .map_err(|_| "headers are not UTF-8")?;
    let body = answer.get(split + 4..).unwrap_or_default();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or("no status")?;
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    let value = serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))?;
    Ok((status, value))
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk without its size")?;
        let size = std::str::from_utf8(body.get(..end).unwrap_or_default())
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .ok_or("a chunk size that is not hex")?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = body
            .get(end + 2..end + 2 + size)
            .ok_or("a chunk cut short")?;
        out.extend_from_slice(chunk);
        body = body.get(end + 4 + size..).unwrap_or_default();
    }
}
