//! The `notify:` key of `writ.yaml`: webhooks `writ serve` calls, signed per the Standard
//! Webhooks spec, deserialised with the same checks as the rest (`de.rs`):
//!
//! ```yaml
//! notify:
//!   - url: "http://hooks.internal:8080/writ"
//!     events: [confirmation_requested, escalated, expired, needs_repair, workflow_killed]
//!     secret_env: WRIT_WEBHOOK_SECRET   # a `whsec_` + base64 secret, as the spec defines
//! ```

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::de::{Keys, Text, fail};
use super::error::Problem;
use super::values::{self, shown};

const HOOK_KEYS: &[&str] = &["url", "events", "secret_env"];
/// The most webhooks one config may list.
const MAX_HOOKS: usize = 64;

/// What a webhook is told about (the closed list of notifications).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    ConfirmationRequested,
    Escalated,
    Expired,
    NeedsRepair,
    WorkflowKilled,
}

impl Notice {
    pub const ALL: [Notice; 5] = [
        Notice::ConfirmationRequested,
        Notice::Escalated,
        Notice::Expired,
        Notice::NeedsRepair,
        Notice::WorkflowKilled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Notice::ConfirmationRequested => "confirmation_requested",
            Notice::Escalated => "escalated",
            Notice::Expired => "expired",
            Notice::NeedsRepair => "needs_repair",
            Notice::WorkflowKilled => "workflow_killed",
        }
    }
}

/// One webhook: where, which notices, and the environment variable holding its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub events: Vec<Notice>,
    pub secret_env: String,
}

/// `notify:`: a list of webhooks.
pub struct NotifySeed;

impl<'de> DeserializeSeed<'de> for NotifySeed {
    type Value = Vec<Webhook>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Webhook>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for NotifySeed {
    type Value = Vec<Webhook>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of webhooks, like `- { url: URL, events: [expired], secret_env: VAR }`")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Webhook>, A::Error> {
        let mut hooks = Vec::new();
        while let Some(hook) = seq.next_element_seed(HookSeed)? {
            if hooks.len() == MAX_HOOKS {
                return Err(fail(Problem::new(
                    format!("`notify` lists more than {MAX_HOOKS} webhooks"),
                    "send notifications to one receiver that fans them out".to_owned(),
                )));
            }
            hooks.push(hook);
        }
        Ok(hooks)
    }
}

struct HookSeed;

impl<'de> DeserializeSeed<'de> for HookSeed {
    type Value = Webhook;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Webhook, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HookSeed {
    type Value = Webhook;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a webhook: `{ url: URL, events: [...], secret_env: VAR }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Webhook, A::Error> {
        let mut keys = Keys::new(HOOK_KEYS, "a webhook".to_owned());
        let (mut url, mut events, mut secret_env) = (None, None, None);
        while let Some(key) = map.next_key_seed(&mut keys)? {
            // INVARIANT: `Keys` yields only keys of `HOOK_KEYS`, each once.
            match key {
                "url" => url = Some(map.next_value_seed(Text::new("url", values::url))?),
                "events" => events = Some(map.next_value_seed(EventsSeed)?),
                _ => secret_env = Some(map.next_value_seed(Text::new("secret_env", secret))?),
            }
        }
        let missing = |key: &str, example: &str| {
            fail(
                Problem::new(
                    format!("a webhook has no `{key}`"),
                    format!("add `{key}: {example}`"),
                )
                .without_snippet(),
            )
        };
        Ok(Webhook {
            url: url.ok_or_else(|| missing("url", "\"http://hooks.internal/writ\""))?,
            events: events.unwrap_or_else(|| Notice::ALL.to_vec()),
            secret_env: secret_env.ok_or_else(|| missing("secret_env", "WRIT_WEBHOOK_SECRET"))?,
        })
    }
}

fn secret(what: &str, text: &str) -> Result<String, Problem> {
    if values::is_name(text) && text.len() <= 256 {
        return Ok(text.to_owned());
    }
    Err(Problem::new(
        format!(
            "`{what}` `{}` is not an environment variable name",
            shown(text)
        ),
        "`secret_env` names the variable that holds the `whsec_...` secret, like \
         `WRIT_WEBHOOK_SECRET`; the secret itself never goes in the file"
            .to_owned(),
    ))
}

fn notice(_what: &str, text: &str) -> Result<Notice, Problem> {
    Notice::ALL
        .into_iter()
        .find(|n| n.as_str() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = Notice::ALL.iter().map(|n| n.as_str()).collect();
            Problem::new(
                format!("`{}` is not a notification writ sends", shown(text)),
                format!("the notifications are: {}", names.join(", ")),
            )
        })
}

struct EventsSeed;

impl<'de> DeserializeSeed<'de> for EventsSeed {
    type Value = Vec<Notice>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Notice>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EventsSeed {
    type Value = Vec<Notice>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of notifications, like `[confirmation_requested, expired]`")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Notice>, A::Error> {
        let mut events = Vec::new();
        while let Some(event) = seq.next_element_seed(Text::new("events", notice))? {
            if !events.contains(&event) {
                events.push(event);
            }
        }
        if events.is_empty() {
            return Err(de::Error::custom(
                "`events` is empty: list what the webhook is told about",
            ));
        }
        Ok(events)
    }
}
