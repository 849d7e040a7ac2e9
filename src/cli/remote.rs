//! Client mode: `--server ADDR` (or `WRIT_SERVER`) on `run`, `approve`, `reject`, `status` and
//! `resume` sends the act to a `writ serve` instead of opening the store, and prints exactly
//! what the local command prints (the service sends the command's own output with each
//! answer). Acts are still signed here, with the person's own key: the service only verifies.

use std::time::Duration;

use serde_json::{Value, json};

use super::exit;
use super::report::Format;
use super::runs::fail;
use super::sign::{Acting, SignArgs, Signing};
use crate::runtime::config::Config;
use crate::runtime::trust::statement::Act;
use crate::runtime::trust::{Pinned, Registry};
use crate::serve::Address;
use crate::serve::client::request;

/// How long a client waits for the service (a run is driven to its next stop first).
const TIMEOUT: Duration = Duration::from_secs(600);

#[derive(clap::Args, Clone, Debug, Default)]
pub struct ServerArg {
    /// Talk to this `writ serve` (`unix:PATH` or `HOST:PORT`) instead of opening the store.
    #[arg(long, value_name = "ADDR", env = "WRIT_SERVER")]
    pub server: Option<String>,
}

/// One request; a refusal's text (the local command's) is printed and its exit code returned.
fn call(server: &str, method: &str, path: &str, body: Option<&Value>) -> Result<Value, u8> {
    let address = Address::parse(server).map_err(|e| fail(&e, exit::USAGE))?;
    let (status, answer) =
        request(&address, method, path, body, TIMEOUT).map_err(|e| fail(&e, exit::USAGE))?;
    if (200..300).contains(&status) {
        return Ok(answer);
    }
    match answer.get("error").and_then(Value::as_str) {
        Some(text) => eprint!("{}", super::terminal::escape_lines(text)),
        None => eprintln!("error: the service answered {status}"),
    }
    let code = answer
        .get("exit")
        .and_then(Value::as_u64)
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(exit::USAGE);
    Err(code)
}

/// Prints a run as the local command does; returns the exit code its status has.
fn print_run(answer: &Value, format: Format) -> u8 {
    let key = match format {
        Format::Text => "text",
        Format::Json => "json",
    };
    out!("{}", answer.get(key).and_then(Value::as_str).unwrap_or(""));
    answer
        .get("exit")
        .and_then(Value::as_u64)
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(exit::FINDINGS)
}

pub fn status(server: &str, run: Option<&str>, format: Format) -> u8 {
    let Some(run) = run else {
        let lines = call(server, "GET", "/v1/runs", None).and_then(|answer| {
            serde_json::from_value::<Vec<crate::ops::status::Line>>(answer["runs"].clone()).map_err(
                |e| {
                    eprintln!("error: the service's list of runs does not read: {e}");
                    exit::USAGE
                },
            )
        });
        return match lines {
            Ok(lines) => {
                out!(
                    "{}",
                    super::status::render_lines(&lines, format, &Default::default())
                );
                exit::OK
            }
            Err(code) => code,
        };
    };
    match call(server, "GET", &format!("/v1/runs/{}", path_part(run)), None) {
        Ok(answer) => {
            print_run(&answer, format);
            exit::OK
        }
        Err(code) => code,
    }
}

pub fn resume(server: &str, run: &str, format: Format) -> u8 {
    let path = format!("/v1/runs/{}/resume", path_part(run));
    match call(server, "POST", &path, Some(&json!({}))) {
        Ok(answer) => print_run(&answer, format),
        Err(code) => code,
    }
}

/// A run id or step name as one path segment: anything but a plain name is refused by the
/// service as unknown, so it is enough to keep it from changing the path.
fn path_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What the local config says to sign against, with the store's id from the service: the
/// service verifies the act against the registry its store pinned.
fn pinned(server: &str, config: &Config) -> Result<Pinned, u8> {
    let store = call(server, "GET", "/v1/store", None)?;
    let registry = Registry::from_config(config).map_err(|e| fail(&e, exit::USAGE))?;
    let signers = registry.allowed().map_err(|e| fail(&e, exit::USAGE))?;
    Ok(Pinned {
        store: store["store"].as_str().unwrap_or_default().to_owned(),
        hash: registry.hash(),
        registry,
        runner_key: String::new(),
        seq: 0,
        signers,
    })
}

fn body(acting: &Acting) -> Value {
    match (&acting.proof.statement, &acting.proof.signature) {
        (Some(statement), Some(signature)) => {
            json!({ "statement": statement, "signature": signature })
        }
        _ => json!({ "as": acting.person }),
    }
}

/// Signs `act` with `fields` and sends it to `path`; the answer's run is printed.
pub struct Send<'a> {
    pub server: &'a str,
    pub config: &'a Config,
    pub sign: &'a SignArgs,
    pub act: Act,
    pub fields: Value,
    pub free: &'a [&'a str],
    pub path: &'a str,
    pub format: Format,
}

impl Send<'_> {
    /// The exit code: the run's (`run`), or 0 once recorded (a decision).
    pub fn send(self, run_exit: bool) -> Result<u8, u8> {
        let pinned = pinned(self.server, self.config)?;
        let acting = match self.sign.sign(&pinned, self.act, self.fields, self.free)? {
            Signing::Act(acting) => acting,
            Signing::Printed => return Ok(exit::OK),
        };
        let answer = call(self.server, "POST", self.path, Some(&body(&acting)))?;
        let code = print_run(&answer, self.format);
        Ok(if run_exit { code } else { exit::OK })
    }
}

/// The fields of a decision, as the service makes them for the run as it stands there.
pub fn decision_fields(
    server: &str,
    run: &str,
    step: &str,
    decision: &str,
    note: Option<&str>,
) -> Result<Value, u8> {
    let ask = json!({ "run": run, "step": step, "decision": decision, "note": note });
    let answer = call(server, "POST", "/v1/drafts/decision", Some(&ask))?;
    Ok(answer["fields"].clone())
}
