//! One entry of `systems:`: its connector and, for `http`, how it is reached (auth, TLS trust,
//! static headers). Checked as it is read, like the rest of the config (see `de.rs`).

use std::fmt;
use std::net::Ipv4Addr;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::de::{Keys, Nullable, Text, fail};
use super::error::Problem;
use super::sandbox::{WritesSeed, network_value};
use super::values::{self, shown};
use super::{Auth, HttpConfig, Secret, SystemConfig};
use crate::runtime::sandbox::{Grants, Network};

const SYSTEM_KEYS: &[&str] = &[
    "sqlite",
    "http",
    "exec",
    "token_env",
    "timeout",
    "auth",
    "ca_file",
    "insecure",
    "headers",
    "idempotency_header",
    "record",
    "write",
    "network",
];
const HTTP_ONLY: &[&str] = &[
    "token_env",
    "timeout",
    "auth",
    "ca_file",
    "insecure",
    "headers",
    "idempotency_header",
    "record",
];
const AUTH_KEYS: &[&str] = &[
    "bearer_env",
    "bearer_file",
    "scheme",
    "token_env",
    "token_file",
    "header",
    "key_env",
    "key_file",
    "basic_user",
    "password_env",
    "password_file",
];
/// The most static headers a system may have.
const MAX_HEADERS: usize = 32;
/// Headers writ sets itself (or that would change how the request is framed or routed).
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "if-match",
    "idempotency-key",
];

pub(super) struct SystemSeed<'a> {
    pub(super) name: &'a str,
}

impl<'de> DeserializeSeed<'de> for SystemSeed<'_> {
    type Value = SystemConfig;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<SystemConfig, D::Error> {
        deserializer.deserialize_map(self)
    }
}

/// What a system's mapping said, before it is checked as a whole.
#[derive(Default)]
struct Given {
    connector: Option<SystemConfig>,
    base_url: Option<String>,
    token_env: Option<String>,
    http: HttpConfig,
    /// The http-only keys given, for the message when the system is not `http`.
    http_keys: Vec<&'static str>,
    /// An exec system's sandbox grants (`write`, `network`).
    write: Option<Vec<std::path::PathBuf>>,
    network: Option<Network>,
}

impl<'de> Visitor<'de> for SystemSeed<'_> {
    type Value = SystemConfig;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a connector, like `{ sqlite: PATH }`, `{ http: URL }` or `{ exec: FOLDER }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SystemConfig, A::Error> {
        let name = self.name;
        let mut keys = Keys::new(SYSTEM_KEYS, format!("system `{name}`")).refusing_secrets();
        let mut given = Given::default();
        while let Some(key) = map.next_key_seed(&mut keys)? {
            if HTTP_ONLY.contains(&key) {
                given.http_keys.push(key);
            }
            // INVARIANT: `Keys` yields only keys of `SYSTEM_KEYS`, each once, one connector.
            match key {
                "sqlite" => {
                    let path = map.next_value_seed(Text::new("sqlite", values::path))?;
                    given.connector = Some(SystemConfig::Sqlite { path });
                }
                "http" => {
                    given.base_url = Some(map.next_value_seed(Text::new("http", values::url))?);
                }
                "exec" => {
                    let workdir = map.next_value_seed(Nullable(Text::new("exec", values::path)))?;
                    given.connector = Some(SystemConfig::Exec {
                        workdir,
                        grants: Grants::none(),
                    });
                }
                "write" => given.write = Some(map.next_value_seed(WritesSeed)?),
                "network" => {
                    given.network = Some(map.next_value_seed(Text::new(key, network_value))?);
                }
                "token_env" => {
                    given.token_env = Some(map.next_value_seed(Text::new(key, values::env_name))?);
                }
                "auth" => given.http.auth = Some(map.next_value_seed(AuthSeed { system: name })?),
                "ca_file" => {
                    given.http.ca_file = Some(map.next_value_seed(Text::new(key, values::path))?);
                }
                "insecure" => given.http.insecure = map.next_value_seed(Flag)?,
                "headers" => given.http.headers = map.next_value_seed(HeadersSeed)?,
                "record" => given.http.record_full = map.next_value_seed(Text::new(key, record))?,
                "idempotency_header" => {
                    given.http.idempotency_header =
                        Some(map.next_value_seed(Text::new(key, auth_word))?);
                }
                _ => {
                    given.http.timeout =
                        Some(map.next_value_seed(Text::new("timeout", values::duration))?);
                }
            }
        }
        finish(name, given).map_err(fail)
    }
}

/// The system as a whole: one connector, http-only keys only on `http`, one way to
/// authenticate, and plain `http://` only where it is safe or explicitly allowed.
fn finish(name: &str, given: Given) -> Result<SystemConfig, Problem> {
    let Some(base_url) = given.base_url else {
        let Some(connector) = given.connector else {
            return Err(Problem::new(
                format!("system `{name}` has no connector"),
                "give one of `sqlite: PATH`, `http: URL` or `exec: FOLDER`".to_owned(),
            ));
        };
        if let Some(key) = given.http_keys.first() {
            return Err(only_for(key, "http", name));
        }
        return match connector {
            SystemConfig::Exec { workdir, .. } => Ok(SystemConfig::Exec {
                workdir,
                grants: Grants {
                    write: given.write.unwrap_or_default(),
                    network: given.network.unwrap_or(Grants::none().network),
                },
            }),
            other => match exec_key(&given.write, &given.network) {
                Some(key) => Err(only_for(key, "exec", name)),
                None => Ok(other),
            },
        };
    };
    if let Some(key) = exec_key(&given.write, &given.network) {
        return Err(only_for(key, "exec", name));
    }
    let mut http = given.http;
    if let Some(var) = given.token_env {
        if http.auth.is_some() {
            return Err(Problem::new(
                format!("system `{name}` has both `token_env` and `auth`"),
                "keep `auth`; `token_env: VAR` is short for `auth: { bearer_env: VAR }`".to_owned(),
            ));
        }
        http.auth = Some(Auth::Bearer(Secret::Env(var)));
    }
    if base_url.to_ascii_lowercase().starts_with("http://")
        && !http.insecure
        && !is_loopback(&base_url)
    {
        return Err(Problem::new(
            format!(
                "system `{name}` is reached over plain `http://` at `{}`, not a loopback host",
                shown(&base_url)
            ),
            "use `https://` (with `ca_file` for an internal CA), or say `insecure: true` to send \
             its requests and secrets in clear"
                .to_owned(),
        ));
    }
    http.base_url = base_url;
    Ok(SystemConfig::Http(http))
}

/// `record: full` (whole answers in the log) or `record: fields` (the default).
fn record(what: &str, text: &str) -> Result<bool, Problem> {
    match text {
        "full" => Ok(true),
        "fields" => Ok(false),
        other => Err(Problem::new(
            format!("`{what}` is `{}`", shown(other)),
            format!("write `{what}: fields` (the default) or `{what}: full`"),
        )),
    }
}

/// The first exec-only key given, if any.
fn exec_key(
    write: &Option<Vec<std::path::PathBuf>>,
    network: &Option<Network>,
) -> Option<&'static str> {
    if write.is_some() {
        Some("write")
    } else if network.is_some() {
        Some("network")
    } else {
        None
    }
}

fn only_for(key: &str, kind: &str, name: &str) -> Problem {
    Problem::new(
        format!("`{key}` is only for `{kind}` systems, and `{name}` is not one"),
        format!("remove `{key}` from system `{name}`"),
    )
}

/// Whether the host of an `http(s)://` URL is this machine: `localhost`, `127.0.0.0/8`, `[::1]`.
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next() == Some("::1");
    }
    let host = authority.split(':').next().unwrap_or_default();
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// `insecure: true|false`.
struct Flag;

impl<'de> DeserializeSeed<'de> for Flag {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_bool(self)
    }
}

impl<'de> Visitor<'de> for Flag {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`true` or `false`")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
        Ok(value)
    }
}

/// `auth:` of one system: exactly one way to authenticate, its secret named, never given.
struct AuthSeed<'a> {
    system: &'a str,
}

impl<'de> DeserializeSeed<'de> for AuthSeed<'_> {
    type Value = Auth;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Auth, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AuthSeed<'_> {
    type Value = Auth;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping like `{ bearer_env: CRM_TOKEN }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Auth, A::Error> {
        let context = format!("`auth` of system `{}`", self.system);
        let mut keys = Keys::new(AUTH_KEYS, context.clone()).refusing_secrets();
        let (mut secret, mut word) = (Vec::new(), Vec::new());
        while let Some(key) = map.next_key_seed(&mut keys)? {
            if key.ends_with("_env") {
                let var = map.next_value_seed(Text::new(key, values::env_name))?;
                secret.push((key, Secret::Env(var)));
            } else if key.ends_with("_file") {
                let path = map.next_value_seed(Text::new(key, values::path))?;
                secret.push((key, Secret::File(path)));
            } else {
                let text = map.next_value_seed(Text::new(key, auth_word))?;
                word.push((key, text));
            }
        }
        auth(&context, secret, word).map_err(fail)
    }
}

/// The scheme word, header name or user: visible ASCII without spaces.
fn auth_word(what: &str, text: &str) -> Result<String, Problem> {
    let visible =
        !text.is_empty() && text.len() <= 256 && text.bytes().all(|b| b.is_ascii_graphic());
    let fits = match what {
        "header" | "idempotency_header" => is_token(text),
        // Basic's user ends at the first colon.
        "basic_user" => !text.contains(':'),
        _ => true,
    };
    if visible && fits {
        return Ok(text.to_owned());
    }
    Err(Problem::new(
        format!("`{what}` `{}` cannot be sent in a header", shown(text)),
        format!("`{what}` is visible ASCII without spaces (a header name: letters, digits, `-`)"),
    ))
}

/// One secret and the word its form needs (none for bearer).
fn auth(
    context: &str,
    secret: Vec<(&'static str, Secret)>,
    word: Vec<(&'static str, String)>,
) -> Result<Auth, Problem> {
    let forms = "`{ bearer_env: VAR }`, `{ scheme: Token, token_env: VAR }`, \
                 `{ header: X-API-Key, key_env: VAR }` or `{ basic_user: USER, password_env: VAR }` \
                 (`_file: PATH` instead of `_env: VAR` for a file)";
    let wrong = || {
        Problem::new(
            format!("{context} is not one way to authenticate"),
            format!("write one of {forms}"),
        )
    };
    let mut secret = secret.into_iter();
    let (Some((key, secret)), None) = (secret.next(), secret.next()) else {
        return Err(wrong());
    };
    let prefix = key.rsplit_once('_').map_or(key, |(prefix, _)| prefix);
    let mut word = word.into_iter();
    let (first, rest) = (word.next(), word.next());
    if rest.is_some() {
        return Err(wrong());
    }
    match (prefix, first) {
        ("bearer", None) => Ok(Auth::Bearer(secret)),
        ("token", Some(("scheme", scheme))) => Ok(Auth::Scheme { scheme, secret }),
        ("key", Some(("header", header))) => {
            if RESERVED_HEADERS.contains(&header.to_ascii_lowercase().as_str()) {
                return Err(Problem::new(
                    format!("{context} names the header `{header}`, which writ sets itself"),
                    "name the API's own key header, like `X-API-Key`".to_owned(),
                ));
            }
            Ok(Auth::Header { header, secret })
        }
        ("password", Some(("basic_user", user))) => Ok(Auth::Basic {
            user,
            password: secret,
        }),
        _ => Err(wrong()),
    }
}

/// An HTTP token (RFC 9110): the characters a header name may hold.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `headers: { Accept: application/json, ... }`: names and values that can be sent.
struct HeadersSeed;

impl<'de> DeserializeSeed<'de> for HeadersSeed {
    type Value = Vec<(String, String)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeadersSeed {
    type Value = Vec<(String, String)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping of header names to values, like `{ Accept: application/json }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut headers: Vec<(String, String)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let value: String = map.next_value()?;
            check_header(&name, &value, &headers).map_err(fail)?;
            headers.push((name, value));
        }
        Ok(headers)
    }
}

fn check_header(name: &str, value: &str, earlier: &[(String, String)]) -> Result<(), Problem> {
    if !is_token(name) {
        return Err(Problem::new(
            format!("`{}` is not a header name", shown(name)),
            "a header name is letters, digits and `-`, like `Accept`".to_owned(),
        ));
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED_HEADERS.contains(&lower.as_str()) {
        return Err(Problem::new(
            format!("the header `{name}` is set by writ itself"),
            "authentication goes in `auth`; writ sets the framing, `If-Match` and the \
             idempotency key"
                .to_owned(),
        ));
    }
    if earlier.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Err(Problem::new(
            format!("the header `{name}` is given twice"),
            "keep one of them".to_owned(),
        ));
    }
    if earlier.len() >= MAX_HEADERS {
        return Err(Problem::new(
            format!("more than {MAX_HEADERS} headers"),
            "a system needs a few static headers at most".to_owned(),
        ));
    }
    if value.len() > 4096
        || value
            .bytes()
            .any(|b| !(b == b' ' || b == b'\t' || b.is_ascii_graphic()))
    {
        return Err(Problem::new(
            format!("the value of header `{name}` cannot be sent"),
            "a header value is visible ASCII on one line".to_owned(),
        ));
    }
    Ok(())
}
