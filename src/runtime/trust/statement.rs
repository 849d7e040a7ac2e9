//! What people sign: one canonical JSON object per act, naming exactly what is done.
//!
//! Every statement has `writ` (`"statement-v1"`), `act`, `store` (the store's id, so a
//! statement made for one store means nothing in another), `person` and `at` (when it was
//! made, on the signer's clock; the runner refuses one more than [`MAX_SKEW_MS`] away from its
//! own), and the fields of its act:
//!
//! | act | fields |
//! |---|---|
//! | `start_run` | `run` (the new run's id), `workflow`, `fingerprint`, `inputs`, `context` |
//! | `decide` | `run`, `step`, `fingerprint`, `decision` (`confirm`/`reject`), `gates` (the hashes of the writes it allows), `note` |
//! | `approve_plan` | `workflow`, `fingerprint`, `owner` |
//! | `kill` / `revive` | `workflow` or `system`, `reason`, `after` (the last kill-switch event's number: a statement is good once) |
//! | `rollback` | `run`, `reason`, `force` |
//! | `change_registry` | `from`, `to` (the registry hashes) |
//!
//! A statement is accepted only as its canonical bytes (RFC 8785): two byte strings never mean
//! the same act, and a statement with a field more or less than its act has is refused.

use serde_json::{Map, Value, json};

use super::TrustError;
use crate::identity::canonical::{is_canonical, to_canonical};
use crate::runtime::clock::{self, Millis};

/// The version tag of every statement.
pub const VERSION: &str = "statement-v1";

/// How far a statement's `at` may be from the runner's clock (10 minutes).
pub const MAX_SKEW_MS: i64 = 10 * 60 * 1_000;

/// The acts a person signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    StartRun,
    Decide,
    ApprovePlan,
    Kill,
    Revive,
    Rollback,
    ChangeRegistry,
}

impl Act {
    pub fn as_str(self) -> &'static str {
        match self {
            Act::StartRun => "start_run",
            Act::Decide => "decide",
            Act::ApprovePlan => "approve_plan",
            Act::Kill => "kill",
            Act::Revive => "revive",
            Act::Rollback => "rollback",
            Act::ChangeRegistry => "change_registry",
        }
    }
}

/// A statement the command would have a person sign: everything but its time.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub act: Act,
    pub person: String,
    fields: Map<String, Value>,
}

impl Draft {
    /// `fields` must be an object of the act's fields (see the module docs).
    pub fn new(act: Act, store: &str, person: &str, fields: Value) -> Draft {
        let mut map = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        map.insert("writ".into(), json!(VERSION));
        map.insert("act".into(), json!(act.as_str()));
        map.insert("store".into(), json!(store));
        map.insert("person".into(), json!(person));
        Draft {
            act,
            person: person.to_owned(),
            fields: map,
        }
    }

    /// The canonical bytes of this statement made at `at`.
    pub fn at(&self, at: Millis) -> Result<String, TrustError> {
        let mut map = self.fields.clone();
        map.insert("at".into(), json!(clock::format(at)));
        canonical(&Value::Object(map))
    }

    /// Checks that `text` is this statement, made at a time within [`MAX_SKEW_MS`] of `now`,
    /// with `free` fields taken as given (a new run's id). Returns the parsed statement.
    pub fn matches(&self, text: &str, now: Millis, free: &[&str]) -> Result<Value, TrustError> {
        let given = parse(text)?;
        let Value::Object(map) = &given else {
            return Err(TrustError::Refused("a statement is a JSON object".into()));
        };
        let at = map
            .get("at")
            .and_then(Value::as_str)
            .and_then(clock::parse)
            .ok_or_else(|| TrustError::Refused("the statement has no readable `at`".into()))?;
        if (at - now).abs() > MAX_SKEW_MS {
            return Err(TrustError::help(
                format!(
                    "the statement was made at {}, and the runner's clock reads {}",
                    clock::format(at),
                    clock::format(now)
                ),
                "a statement is good for 10 minutes: print a new one with `--statement` and sign it",
            ));
        }
        let mut expected = self.fields.clone();
        expected.insert("at".into(), json!(clock::format(at)));
        for key in free {
            if let Some(value) = map.get(*key) {
                expected.insert((*key).to_owned(), value.clone());
            }
        }
        if &expected != map {
            let mut differ: Vec<&str> = expected
                .keys()
                .chain(map.keys())
                .filter(|k| expected.get(*k) != map.get(*k))
                .map(String::as_str)
                .collect();
            differ.sort_unstable();
            differ.dedup();
            return Err(TrustError::help(
                format!(
                    "the signed statement is not the one this command makes (it differs in {})",
                    differ.join(", ")
                ),
                "print the statement to sign with the same command and `--statement`",
            ));
        }
        Ok(given)
    }
}

/// The canonical text of a JSON value.
pub fn canonical(value: &Value) -> Result<String, TrustError> {
    let bytes = to_canonical(value).map_err(|e| TrustError::Refused(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| TrustError::Refused("not UTF-8".into()))
}

/// Parses statement text: valid JSON, and exactly in canonical form.
pub fn parse(text: &str) -> Result<Value, TrustError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| TrustError::Refused(format!("the statement is not JSON: {e}")))?;
    if !is_canonical(text.as_bytes()) {
        return Err(TrustError::help(
            "the statement is not in canonical form (RFC 8785)",
            "sign the exact bytes `--statement` prints, with nothing added (no newline)",
        ));
    }
    if value.get("writ").and_then(Value::as_str) != Some(VERSION) {
        return Err(TrustError::Refused(format!(
            "the statement is not a writ `{VERSION}`"
        )));
    }
    Ok(value)
}
