//! The `http` connector: one request to a URL under the system's base URL, with an overall
//! timeout; a 2xx response body, when not empty, must be one JSON object.
//!
//! Plain `http://` only for now: writ is built without a TLS stack (see Cargo.toml), so an
//! `https://` base URL is refused with a clear error rather than failing mid-request.
//!
//! The token only ever travels as the `Authorization` header (marked sensitive); it is never
//! part of a URL or an error message. Redirects are not followed: a 3xx is an error like any
//! other non-2xx, so a write never silently lands somewhere else.

use std::io::Read;
use std::time::Duration;

use ureq::http::{HeaderValue, Request, Response, header};
use ureq::{AsSendBody, Body};

use super::ConnectorError;

/// The most a 2xx response body may hold.
pub const RESPONSE_LIMIT: usize = 8 * 1024 * 1024;
/// How much of a non-2xx response body an error shows.
const ERROR_BODY_BYTES: usize = 500;
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// What a 2xx response held. `json` is `None` when the body was empty (only whitespace).
#[derive(Clone, Debug, PartialEq)]
pub struct HttpOutput {
    pub status: u16,
    pub json: Option<serde_json::Value>,
}

/// Sends `method url` (relative to `base_url`) with `body` as JSON, if given.
pub fn call(
    base_url: &str,
    token: Option<&str>,
    method: &str,
    url: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<HttpOutput, ConnectorError> {
    let call = Call {
        method,
        full: join(base_url, url)?,
        token,
        timeout,
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
    let mut response = call.send(body)?;
    let status = response.status().as_u16();
    if !response.status().is_success() {
        return Err(call.status_error(&mut response, status));
    }
    call.read(&mut response, status)
}

/// One request: what every step of sending it and reading its answer needs.
struct Call<'a> {
    method: &'a str,
    /// The base URL joined with the relative one.
    full: String,
    token: Option<&'a str>,
    timeout: Duration,
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
            after: self.timeout,
        }
    }

    fn not_json(&self, reason: String) -> ConnectorError {
        ConnectorError::HttpNotJson {
            method: self.method.to_owned(),
            url: self.full.clone(),
            reason,
        }
    }

    /// Builds and sends the request: JSON in and out, the bearer token marked sensitive, no
    /// redirects, no proxy, one overall timeout.
    fn send(&self, body: Option<&serde_json::Value>) -> Result<Response<Body>, ConnectorError> {
        let mut request = Request::builder()
            .method(self.method)
            .uri(self.full.as_str())
            .header(header::ACCEPT, "application/json");
        if let Some(token) = self.token {
            // The error of `from_str` does not repeat the value, and neither does ours.
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| self.failed("the token is not a valid header value".to_owned()))?;
            value.set_sensitive(true);
            request = request.header(header::AUTHORIZATION, value);
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            // Never through a proxy from the environment: the bearer token would go to it in clear.
            .proxy(None)
            .build()
            .into();
        let sent = match body {
            Some(body) => {
                let bytes = serde_json::to_vec(body).map_err(|e| self.failed(e.to_string()))?;
                let request = request
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(bytes)
                    .map_err(|e| self.failed(e.to_string()))?;
                send(&agent, request)
            }
            None => send(
                &agent,
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
            body_head: redact(String::from_utf8_lossy(&head).trim(), self.token),
        }
    }

    /// A 2xx answer: nothing, or one JSON object, within the size limit.
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
        let text =
            std::str::from_utf8(&bytes).map_err(|_| self.not_json("it is not UTF-8".to_owned()))?;
        if text.trim().is_empty() {
            return Ok(HttpOutput { status, json: None });
        }
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| self.not_json(e.to_string()))?;
        if !json.is_object() {
            return Err(self.not_json("it is JSON but not an object".to_owned()));
        }
        Ok(HttpOutput {
            status,
            json: Some(json),
        })
    }
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

/// `base_url` (an `http://` URL with no query, fragment or credentials) joined with `relative`,
/// which must be a path under it: starting with one `/`, no `.`/`..` segment (also
/// percent-encoded), no empty segment but a trailing one, no backslash, space or control
/// character, no fragment.
pub fn join(base_url: &str, relative: &str) -> Result<String, ConnectorError> {
    let (authority, base_path) = base(base_url)?;
    check_relative(relative)?;
    Ok(format!("http://{authority}{base_path}{relative}"))
}

fn refuse<T>(url: &str, reason: &'static str) -> Result<T, ConnectorError> {
    Err(ConnectorError::HttpUrl {
        url: url.to_owned(),
        reason,
    })
}

/// The authority and path (without a trailing `/`) of a base URL, or why it cannot be one.
fn base(base_url: &str) -> Result<(&str, &str), ConnectorError> {
    let lower = base_url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("http://")
        .and_then(|_| base_url.get("http://".len()..))
    else {
        if lower.starts_with("https://") {
            return refuse(
                base_url,
                "https is not supported yet (this build speaks plain http only)",
            );
        }
        return refuse(base_url, "the base URL must start with `http://`");
    };
    let (authority, base_path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.is_empty() {
        return refuse(base_url, "the base URL has no host");
    }
    if authority.contains('@') {
        // Do not echo it: it may hold a password.
        return refuse(
            "(base URL withheld)",
            "the base URL must not hold credentials; use `token_env`",
        );
    }
    if base_url.contains(['?', '#', '\\']) || base_url.chars().any(char::is_whitespace) {
        return refuse(
            base_url,
            "the base URL must not hold a query, fragment, backslash or space",
        );
    }
    let base_path = base_path.trim_end_matches('/');
    if base_path.contains("//") {
        return refuse(base_url, "the base URL's path has an empty segment (`//`)");
    }
    Ok((authority, base_path))
}

/// Refuses a relative URL that could leave the base URL's path or smuggle anything in.
fn check_relative(relative: &str) -> Result<(), ConnectorError> {
    if !relative.starts_with('/') {
        return refuse(
            relative,
            "the URL must be a path starting with `/`, relative to the system's base URL",
        );
    }
    if relative
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return refuse(
            relative,
            "the URL must not hold spaces or control characters",
        );
    }
    if relative.contains(['\\', '#']) {
        return refuse(
            relative,
            "the URL must not hold a backslash or a fragment (`#`)",
        );
    }
    let path = relative.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        if segment.is_empty() && i != last {
            return refuse(relative, "the URL has an empty path segment (`//`)");
        }
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return refuse(
                relative,
                "the URL must not hold `.` or `..` segments (it must stay under the base URL)",
            );
        }
        if decoded.contains("%2f") || decoded.contains("%5c") {
            return refuse(relative, "the URL must not hold an encoded `/` or `\\`");
        }
    }
    Ok(())
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

    #[test]
    fn joins_without_double_slashes() {
        let ok = |base: &str, rel: &str| join(base, rel).expect("joins");
        assert_eq!(ok("http://h:8/api/", "/t/1"), "http://h:8/api/t/1");
        assert_eq!(ok("http://h:8/api", "/t?x=1"), "http://h:8/api/t?x=1");
        assert_eq!(ok("http://h", "/"), "http://h/");
        assert_eq!(ok("HTTP://h/", "/a/"), "http://h/a/");
    }

    #[test]
    fn refuses_urls_that_leave_the_base() {
        for rel in [
            "http://evil/x",
            "//evil/x",
            "t",
            "/a/../b",
            "/..",
            "/a/%2E%2e/b",
            "/a/./b",
            "/a//b",
            "/a\\b",
            "/a%2fb",
            "/a b",
            "/a#f",
        ] {
            assert!(join("http://h/api", rel).is_err(), "{rel}");
        }
        for base in [
            "https://h",
            "ftp://h",
            "http://",
            "http://u:p@h",
            "http://h?q",
        ] {
            assert!(join(base, "/t").is_err(), "{base}");
        }
        let withheld = join("http://u:secret@h", "/t").expect_err("refused");
        assert!(!withheld.to_string().contains("secret"));
    }
}
