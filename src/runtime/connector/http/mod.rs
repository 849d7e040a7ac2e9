//! The `http` connector: one request to a URL under the system's base URL, with an overall
//! timeout; a 2xx response body, when not empty, must be one JSON object.
//!
//! A [`Client`] is made once per system and run: its agent keeps connections alive between
//! requests, trusts the machine's CAs plus the system's `ca_file` (rustls), and sends the
//! system's static headers and credential with each request.
//!
//! The secret only ever travels in its header (marked sensitive); it is never part of a URL
//! or an error message. Redirects are not followed: a 3xx is an error that names where it
//! pointed, so a write never silently lands somewhere else.

mod tls;
mod url;

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use ureq::http::{HeaderName, HeaderValue, Request, Response, header};
use ureq::{AsSendBody, Body};

pub use url::join;

use super::ConnectorError;
use super::bound::WriteFailure;
use crate::runtime::config::Credential;

/// The most a 2xx response body may hold.
pub const RESPONSE_LIMIT: usize = 8 * 1024 * 1024;
/// How much of a non-2xx response body an error shows.
const ERROR_BODY_BYTES: usize = 500;
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// How to reach one system.
pub struct ClientConfig<'a> {
    pub base_url: &'a str,
    pub credential: Option<Credential>,
    pub ca_file: Option<&'a Path>,
    pub headers: &'a [(String, String)],
    /// The header that carries a write's idempotency key (`Idempotency-Key` when `None`).
    pub idempotency_header: Option<&'a str>,
    /// Whether the log keeps whole answers (`record: full`).
    pub record_full: bool,
    pub timeout: Duration,
}

/// The answer headers that identify a change, kept in the log (names lower-cased).
const IDENTIFYING: [&str; 5] = [
    "location",
    "etag",
    "x-request-id",
    "request-id",
    "x-correlation-id",
];

/// The idempotency header of a system that names none (the IETF draft's name, which Stripe,
/// PayPal and most APIs that take one use).
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// One system's connection: reused for every request of a run (keep-alive).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base_url: String,
    /// The credential's header, and its secret (redacted from every error).
    credential: Option<(HeaderName, HeaderValue, String)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    idempotency_header: HeaderName,
    record_full: bool,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Client({})", self.base_url)
    }
}

impl Client {
    /// A client for `config`: the base URL checked, the CA file read, the headers parsed.
    pub fn new(config: ClientConfig<'_>) -> Result<Client, ConnectorError> {
        url::base(config.base_url)?;
        let unusable = |reason: String| ConnectorError::HttpSetup {
            url: config.base_url.to_owned(),
            reason,
        };
        let credential = match config.credential {
            Some(credential) => {
                let name = HeaderName::from_bytes(credential.header.as_bytes()).map_err(|_| {
                    unusable(format!("`{}` is not a header name", credential.header))
                })?;
                // The error of `from_str` does not repeat the value, and neither does ours.
                let mut value = HeaderValue::from_str(&credential.value)
                    .map_err(|_| unusable("the secret is not a valid header value".to_owned()))?;
                value.set_sensitive(true);
                Some((name, value, credential.secret))
            }
            None => None,
        };
        let mut headers = Vec::new();
        for (name, value) in config.headers {
            let parsed = HeaderName::from_bytes(name.as_bytes())
                .ok()
                .zip(HeaderValue::from_str(value).ok())
                .ok_or_else(|| unusable(format!("the header `{name}` cannot be sent")))?;
            headers.push(parsed);
        }
        let idempotency = config.idempotency_header.unwrap_or(IDEMPOTENCY_HEADER);
        let idempotency_header = HeaderName::from_bytes(idempotency.as_bytes())
            .map_err(|_| unusable(format!("`{idempotency}` is not a header name")))?;
        let tls = tls::config(config.ca_file).map_err(unusable)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            // Never through a proxy from the environment: the secret would go to it.
            .proxy(None)
            .tls_config(tls)
            .build()
            .into();
        Ok(Client {
            agent,
            base_url: config.base_url.to_owned(),
            credential,
            headers,
            idempotency_header,
            record_full: config.record_full,
            timeout: config.timeout,
        })
    }

    /// Sends `method url` (relative to the base URL) with `body` as JSON, if given, and the
    /// write's idempotency key, if given.
    pub fn call(
        &self,
        method: &str,
        url: &str,
        body: Option<&serde_json::Value>,
        key: Option<&str>,
    ) -> Result<HttpOutput, ConnectorError> {
        let call = Call {
            client: self,
            method,
            full: join(&self.base_url, url)?,
        };
        if !METHODS.contains(&method) {
            return Err(call.failed(format!(
                "unsupported method; expected one of {}",
                METHODS.join(", ")
            )));
        }
        if method == "GET" && body.is_some() {
            return Err(call.failed("a GET request carries no body".to_owned()));
        }
        let mut response = call.send(body, key)?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(call.status_error(&mut response, status));
        }
        call.read(&mut response, status)
    }

    /// Whether the log keeps this system's whole answers (`record: full`).
    pub fn records_full(&self) -> bool {
        self.record_full
    }
}

/// What a 2xx response held. `json` is `None` when the body was empty (only whitespace).
#[derive(Clone, Debug, PartialEq)]
pub struct HttpOutput {
    pub status: u16,
    pub json: Option<serde_json::Value>,
    /// The identifying headers of the answer (`Location`, `ETag`, a request id), names
    /// lower-cased, values shown safely (at most 500 characters).
    pub headers: Vec<(String, String)>,
}

/// Sends `method url` (relative to `base_url`) with `body` as JSON, if given, and `token` as
/// a bearer token: a one-off [`Client`].
pub fn call(
    base_url: &str,
    token: Option<&str>,
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<HttpOutput, ConnectorError> {
    let credential = token.map(|token| Credential {
        header: "Authorization".to_owned(),
        value: format!("Bearer {token}"),
        secret: token.to_owned(),
    });
    Client::new(ClientConfig {
        base_url,
        credential,
        ca_file: None,
        headers: &[],
        idempotency_header: None,
        record_full: false,
        timeout,
    })?
    .call(method, url, body, None)
}

/// The idempotency key of one write: the same run, step and action always give the same key
/// (so a `resume` that sends a write again names it as the same write), another run never.
pub fn idempotency_key(run: &str, step: &str, hash: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(run.as_bytes())
        .chain_update([0])
        .chain_update(step.as_bytes())
        .chain_update([0])
        .chain_update(hash.as_bytes())
        .finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("writ-{}", hex.get(..32).unwrap_or(&hex))
}

/// What a failed write call left behind. A 4xx other than 408 (timeout) and 429 (too many
/// requests) is the server refusing the request as it stands, so nothing was applied (412:
/// the record changed since its ETag was read); a request never sent applied nothing either;
/// a 2xx with an unusable body was applied; everything else (5xx, 408, 429, a 3xx, a
/// timeout or a reset after sending) may have acted and is in doubt.
pub fn outcome(error: &ConnectorError) -> WriteFailure {
    let reason = error.to_string();
    match error {
        ConnectorError::HttpStatus { status, .. }
            if (400..500).contains(status) && *status != 408 && *status != 429 =>
        {
            let reason = if *status == 412 {
                format!("{reason} (the record changed since writ read it; nothing was applied)")
            } else {
                format!("{reason} (the system refused the write; nothing was applied)")
            };
            WriteFailure::Refused {
                status: Some(*status),
                reason,
            }
        }
        ConnectorError::HttpUrl { .. } | ConnectorError::HttpSetup { .. } => {
            WriteFailure::Refused {
                status: None,
                reason: format!("{reason} (not sent; nothing was applied)"),
            }
        }
        ConnectorError::HttpTooLarge { .. } | ConnectorError::HttpNotJson { .. } => {
            WriteFailure::AnsweredBadly {
                reason: format!("{reason} (the write was applied)"),
            }
        }
        _ => WriteFailure::Failed(reason),
    }
}

/// One request: what every step of sending it and reading its answer needs.
struct Call<'a> {
    client: &'a Client,
    method: &'a str,
    /// The base URL joined with the relative one.
    full: String,
}

impl Call<'_> {
    fn failed(&self, message: String) -> ConnectorError {
        ConnectorError::Http {
            method: self.method.to_owned(),
            url: self.full.clone(),
            message,
        }
    }

    fn timed_out(&self) -> ConnectorError {
        ConnectorError::HttpTimeout {
            method: self.method.to_owned(),
            url: self.full.clone(),
            after: self.client.timeout,
        }
    }

    fn not_json(&self, reason: String) -> ConnectorError {
        ConnectorError::HttpNotJson {
            method: self.method.to_owned(),
            url: self.full.clone(),
            reason,
        }
    }

    /// Builds and sends the request: JSON in and out, the static headers, the credential
    /// marked sensitive.
    fn send(
        &self,
        body: Option<&serde_json::Value>,
        key: Option<&str>,
    ) -> Result<Response<Body>, ConnectorError> {
        let mut request = Request::builder()
            .method(self.method)
            .uri(self.full.as_str());
        // A static `Accept` (a vendor media type) replaces ours.
        if !self.client.headers.iter().any(|(n, _)| n == header::ACCEPT) {
            request = request.header(header::ACCEPT, "application/json");
        }
        for (name, value) in &self.client.headers {
            request = request.header(name, value);
        }
        if let Some(key) = key {
            request = request.header(&self.client.idempotency_header, key);
        }
        if let Some((name, value, _)) = &self.client.credential {
            request = request.header(name, value);
        }
        let agent = &self.client.agent;
        let sent = match body {
            Some(body) => {
                let bytes = serde_json::to_vec(body).map_err(|e| self.failed(e.to_string()))?;
                let request = request
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(bytes)
                    .map_err(|e| self.failed(e.to_string()))?;
                send(agent, request)
            }
            None => send(
                agent,
                request.body(()).map_err(|e| self.failed(e.to_string()))?,
            ),
        };
        sent.map_err(|e| transport(e, &|| self.timed_out(), &|m| self.failed(m)))
    }

    /// A non-2xx answer: its status and the head of its body, the token redacted (a server that
    /// echoes the request must not make the token part of an error).
    fn status_error(&self, response: &mut Response<Body>, status: u16) -> ConnectorError {
        let mut head = Vec::new();
        // Best effort: the status is the error; a body we cannot read just is not shown.
        let _ = response
            .body_mut()
            .as_reader()
            .take(ERROR_BODY_BYTES as u64)
            .read_to_end(&mut head);
        ConnectorError::HttpStatus {
            method: self.method.to_owned(),
            url: self.full.clone(),
            status,
            body_head: redact(&self.shown_head(response, status, &head), self.secret()),
        }
    }

    fn secret(&self) -> Option<&str> {
        self.client
            .credential
            .as_ref()
            .map(|(_, _, secret)| secret.as_str())
    }

    /// What an error shows of a non-2xx answer: for a redirect, where it pointed (never
    /// followed); otherwise the head of the body.
    fn shown_head(&self, response: &Response<Body>, status: u16, head: &[u8]) -> String {
        let location = response.headers().get(header::LOCATION).map(|l| {
            String::from_utf8_lossy(l.as_bytes())
                .chars()
                .take(500)
                .collect::<String>()
        });
        match location {
            Some(to) if (300..400).contains(&status) => {
                format!(
                    "redirect to `{}` (redirects are never followed)",
                    to.escape_debug()
                )
            }
            _ => String::from_utf8_lossy(head).trim().to_owned(),
        }
    }

    /// A 2xx answer: nothing, or one JSON object or array, within the size limit.
    fn read(
        &self,
        response: &mut Response<Body>,
        status: u16,
    ) -> Result<HttpOutput, ConnectorError> {
        let bytes = response
            .body_mut()
            .with_config()
            .limit(RESPONSE_LIMIT as u64)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => ConnectorError::HttpTooLarge {
                    method: self.method.to_owned(),
                    url: self.full.clone(),
                    limit: RESPONSE_LIMIT,
                },
                other => transport(other, &|| self.timed_out(), &|m| self.failed(m)),
            })?;
        let headers = identifying(response);
        let text =
            std::str::from_utf8(&bytes).map_err(|_| self.not_json("it is not UTF-8".to_owned()))?;
        if text.trim().is_empty() {
            return Ok(HttpOutput {
                status,
                json: None,
                headers,
            });
        }
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| self.not_json(e.to_string()))?;
        if !json.is_object() && !json.is_array() {
            return Err(self.not_json("it is JSON but neither an object nor an array".to_owned()));
        }
        Ok(HttpOutput {
            status,
            json: Some(json),
            headers,
        })
    }
}

/// The headers of `response` that identify the change it made.
fn identifying(response: &Response<Body>) -> Vec<(String, String)> {
    IDENTIFYING
        .iter()
        .filter_map(|name| {
            let value = response.headers().get(*name)?;
            let text: String = String::from_utf8_lossy(value.as_bytes())
                .chars()
                .take(500)
                .collect();
            Some(((*name).to_owned(), text))
        })
        .collect()
}

fn send(
    agent: &ureq::Agent,
    request: Request<impl AsSendBody>,
) -> Result<Response<Body>, ureq::Error> {
    agent.run(request)
}

/// A ureq error as ours: timeouts apart, the rest by their message (which holds no headers).
fn transport(
    error: ureq::Error,
    timed_out: &dyn Fn() -> ConnectorError,
    failed: &dyn Fn(String) -> ConnectorError,
) -> ConnectorError {
    match error {
        ureq::Error::Timeout(_) => timed_out(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => timed_out(),
        other => failed(other.to_string()),
    }
}

/// `text` with every occurrence of the secret `token` replaced.
fn redact(text: &str, token: Option<&str>) -> String {
    match token {
        Some(token) if !token.is_empty() => text.replace(token, "[token]"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> WriteFailure {
        outcome(&ConnectorError::HttpStatus {
            method: "PATCH".to_owned(),
            url: "https://h/leads/1".to_owned(),
            status,
            body_head: String::new(),
        })
    }

    #[test]
    fn a_4xx_but_408_and_429_is_refused_and_the_rest_in_doubt() {
        for refused in [400, 401, 403, 404, 409, 412, 422, 428] {
            assert!(
                matches!(status(refused), WriteFailure::Refused { status: Some(s), .. } if s == refused),
                "{refused}"
            );
        }
        for doubt in [408, 429, 500, 502, 503, 504, 301] {
            assert!(matches!(status(doubt), WriteFailure::Failed(_)), "{doubt}");
        }
        assert!(status(412).to_string().contains("changed since"));
        let timeout = ConnectorError::HttpTimeout {
            method: "POST".to_owned(),
            url: "https://h/notes".to_owned(),
            after: Duration::from_secs(1),
        };
        assert!(matches!(outcome(&timeout), WriteFailure::Failed(_)));
        let bad_answer = ConnectorError::HttpNotJson {
            method: "POST".to_owned(),
            url: "https://h/notes".to_owned(),
            reason: "not JSON".to_owned(),
        };
        assert!(matches!(
            outcome(&bad_answer),
            WriteFailure::AnsweredBadly { .. }
        ));
    }

    #[test]
    fn the_idempotency_key_is_stable_and_per_write() {
        let key = idempotency_key("run-1", "add_note", "h1");
        assert_eq!(key, idempotency_key("run-1", "add_note", "h1"));
        assert_eq!(key.len(), "writ-".len() + 32);
        assert_ne!(key, idempotency_key("run-1", "add_note", "h2"));
        assert_ne!(key, idempotency_key("run-1", "move_lead", "h1"));
        // The separator keeps `ab` + `c` apart from `a` + `bc`.
        assert_ne!(
            idempotency_key("ab", "c", "h"),
            idempotency_key("a", "bc", "h")
        );
    }
}
