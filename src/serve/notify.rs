//! Webhooks (`notify:` in `writ.yaml`), signed per the Standard Webhooks spec: each delivery
//! carries `webhook-id` (the same on every retry), `webhook-timestamp` (Unix seconds) and
//! `webhook-signature: v1,BASE64` — the HMAC-SHA256, keyed with the base64 secret after
//! `whsec_`, of `ID.TIMESTAMP.BODY`. The body is `{type, timestamp, data}`.
//!
//! The service watches the store for the events that notify (a confirmation requested,
//! escalated, expired, a rollback that failed — the run needs repair —, a workflow killed) and
//! hands each to its own delivery thread: a slow or failing receiver never holds up a run or
//! another delivery. A delivery is tried up to [`ATTEMPTS`] times with doubling waits, and
//! every attempt is recorded in `STATE.deliveries.db` beside the store, with the position of
//! the last event looked at, so a restart neither repeats nor skips notices.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use ssh_encoding::base64::{Base64, Encoding as _};

use super::Service;
use crate::runtime::clock;
use crate::runtime::config::{Notice, Webhook};
use crate::runtime::event::{Event, EventKind};
use crate::runtime::store::Store;
use crate::runtime::trust::Create;

/// Attempts per delivery; the waits between them are 1, 2, 4, 8 s.
pub const ATTEMPTS: u32 = 5;
const TIMEOUT: Duration = Duration::from_secs(10);

/// The notice an event gives, if any.
fn notice_of(kind: EventKind) -> Option<Notice> {
    match kind {
        EventKind::ConfirmationRequested => Some(Notice::ConfirmationRequested),
        EventKind::Escalated => Some(Notice::Escalated),
        EventKind::Expired => Some(Notice::Expired),
        EventKind::RollbackFailed => Some(Notice::NeedsRepair),
        EventKind::WorkflowKilled => Some(Notice::WorkflowKilled),
        _ => None,
    }
}

const KINDS: [EventKind; 5] = [
    EventKind::ConfirmationRequested,
    EventKind::Escalated,
    EventKind::Expired,
    EventKind::RollbackFailed,
    EventKind::WorkflowKilled,
];

/// The record of deliveries beside the store.
pub struct Ledger {
    path: PathBuf,
}

impl Ledger {
    /// Opens (creating) the ledger; a new one starts at the store's end, so a service first
    /// started on an old store does not announce its history.
    pub fn open(state: &Path, head: u64) -> Result<Ledger, String> {
        let mut name = state.file_name().unwrap_or_default().to_os_string();
        name.push(".deliveries.db");
        let ledger = Ledger {
            path: state.with_file_name(name),
        };
        let db = ledger.connect()?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS deliveries (
               id TEXT NOT NULL, url TEXT NOT NULL, notice TEXT NOT NULL, seq INTEGER NOT NULL,
               attempt INTEGER NOT NULL, at TEXT NOT NULL, status INTEGER, error TEXT,
               delivered INTEGER NOT NULL);",
        )
        .map_err(|e| e.to_string())?;
        db.execute(
            "INSERT OR IGNORE INTO cursor (id, seq) VALUES (1, ?1)",
            params![i64::try_from(head).unwrap_or(i64::MAX)],
        )
        .map_err(|e| e.to_string())?;
        Ok(ledger)
    }

    fn connect(&self) -> Result<Connection, String> {
        let db = Connection::open(&self.path).map_err(|e| e.to_string())?;
        db.busy_timeout(Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        Ok(db)
    }

    fn cursor(&self) -> Result<u64, String> {
        let seq: Option<i64> = self
            .connect()?
            .query_row("SELECT seq FROM cursor WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| e.to_string())?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
    }

    fn advance(&self, seq: u64) -> Result<(), String> {
        self.connect()?
            .execute(
                "UPDATE cursor SET seq = ?1 WHERE id = 1",
                params![i64::try_from(seq).unwrap_or(i64::MAX)],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn record(&self, delivery: &Delivery, attempt: u32, outcome: &Result<u16, String>) {
        let (status, error, delivered) = match outcome {
            Ok(code) => (Some(*code), None, (200..300).contains(code)),
            Err(error) => (None, Some(error.as_str()), false),
        };
        // A ledger that cannot be written loses the record, never the run.
        if let Ok(db) = self.connect() {
            let _ = db.execute(
                "INSERT INTO deliveries (id, url, notice, seq, attempt, at, status, error, delivered)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    delivery.id,
                    delivery.url,
                    delivery.notice.as_str(),
                    i64::try_from(delivery.seq).unwrap_or(i64::MAX),
                    attempt,
                    clock::format(clock::now()),
                    status,
                    error,
                    delivered,
                ],
            );
        }
    }
}

/// One notice to one webhook.
struct Delivery {
    id: String,
    url: String,
    notice: Notice,
    seq: u64,
    body: String,
    key: Option<Vec<u8>>,
}

/// The key of a `whsec_` secret: the base64 after the prefix.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    Base64::decode_vec(secret.trim().strip_prefix("whsec_")?).ok()
}

/// HMAC-SHA256 (RFC 2104) over `message`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.into()
}

/// The `webhook-signature` value of a delivery.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let signed = format!("{id}.{timestamp}.{body}");
    format!(
        "v1,{}",
        Base64::encode_string(&hmac_sha256(key, signed.as_bytes()))
    )
}

/// The last store position of a notifying event (where a new ledger starts).
pub fn head(service: &Service) -> u64 {
    crate::ops::trusted(&service.config, Create::Never)
        .ok()
        .and_then(|(store, _)| store.kind_events(&KINDS).ok())
        .and_then(|events| events.iter().map(|e| e.seq).max())
        .unwrap_or(0)
}

/// The notices of the events after the ledger's cursor, handed to delivery threads.
pub fn sweep(service: &Arc<Service>, ledger: &Arc<Ledger>) {
    let hooks = &service.config.notify;
    if hooks.is_empty() {
        return;
    }
    let Ok(after) = ledger.cursor() else {
        return;
    };
    let Ok((store, pinned)) = crate::ops::trusted(&service.config, Create::Never) else {
        return;
    };
    let Ok(mut events) = store.kind_events(&KINDS) else {
        return;
    };
    events.retain(|e| e.seq > after);
    events.sort_by_key(|e| e.seq);
    for event in &events {
        let Some(notice) = notice_of(event.event.kind) else {
            continue;
        };
        for (index, hook) in hooks.iter().enumerate() {
            if hook.events.contains(&notice) {
                let people = &service.config.people;
                let delivery = delivery(&pinned.store, people, event, notice, (index, hook));
                let ledger = ledger.clone();
                std::thread::spawn(move || deliver(&ledger, &delivery));
            }
        }
    }
    if let Some(last) = events.last() {
        let _ = ledger.advance(last.seq);
    }
}

fn delivery(
    store: &str,
    people: &std::collections::BTreeMap<String, Vec<String>>,
    event: &Event,
    notice: Notice,
    hook: (usize, &Webhook),
) -> Delivery {
    let (index, hook) = hook;
    let data = &event.event;
    let mut fields = json!({
        "store": store,
        "seq": event.seq,
        "at": event.at,
        "kind": data.kind.as_str(),
        "workflow": data.workflow,
        "run": data.run,
        "step": data.step,
    });
    if let (Value::Object(map), Some(run)) = (&mut fields, &data.run) {
        map.insert("status".into(), json!(format!("/v1/runs/{run}")));
    }
    if notice == Notice::ConfirmationRequested || notice == Notice::Escalated {
        // Who may decide: the role the confirm now waits for, its people and their inboxes.
        let role = data
            .data
            .get("to")
            .or_else(|| data.data.get("role"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let deciders: Vec<Value> = people
            .iter()
            .filter(|(_, roles)| roles.iter().any(|r| r == role))
            .map(|(person, _)| json!({ "person": person, "inbox": format!("/v1/inbox/{person}") }))
            .collect();
        if let Value::Object(map) = &mut fields {
            map.insert("role".into(), json!(role));
            map.insert("deciders".into(), json!(deciders));
            map.insert(
                "deadline".into(),
                data.data.get("deadline").cloned().unwrap_or(Value::Null),
            );
        }
    }
    let body = json!({
        "type": notice.as_str(),
        "timestamp": event.at,
        "data": fields,
    })
    .to_string();
    Delivery {
        id: format!(
            "writ_{}_{}_{index}",
            store.get(..16).unwrap_or(store),
            event.seq
        ),
        url: hook.url.clone(),
        notice,
        seq: event.seq,
        body,
        key: std::env::var(&hook.secret_env)
            .ok()
            .and_then(|s| secret_key(&s)),
    }
}

fn deliver(ledger: &Ledger, delivery: &Delivery) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .build()
        .into();
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=ATTEMPTS {
        let outcome = attempt_once(&agent, delivery);
        ledger.record(delivery, attempt, &outcome);
        if matches!(outcome, Ok(code) if (200..300).contains(&code)) || attempt == ATTEMPTS {
            return;
        }
        std::thread::sleep(wait);
        wait = wait.saturating_mul(2);
    }
}

fn attempt_once(agent: &ureq::Agent, delivery: &Delivery) -> Result<u16, String> {
    let Some(key) = &delivery.key else {
        // Never sent unsigned: a receiver must be able to tell writ from anyone else.
        return Err("its `secret_env` variable is unset or not a `whsec_` base64 secret".into());
    };
    let timestamp = clock::now() / 1_000;
    let signature = signature(key, &delivery.id, timestamp, &delivery.body);
    agent
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .send(delivery.body.as_bytes())
        .map(|response| response.status().as_u16())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // Test case 2 (a short key) and 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_secret_is_the_base64_after_whsec() {
        assert_eq!(secret_key("whsec_AAEC"), Some(vec![0, 1, 2]));
        assert_eq!(secret_key("AAEC"), None);
        assert_eq!(secret_key("whsec_not base64!"), None);
    }
}
