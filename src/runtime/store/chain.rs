//! What every store computes the same way: an event's time stamp and its link in the hash chain.
//!
//! A PostgreSQL store must use these functions unchanged, so that `writ audit verify` gives the
//! same answer whichever store wrote the events.
//!
//! # The canonical serialisation
//!
//! An event's `hash` is the SHA-256, as 64 lowercase hex digits, of the bytes
//!
//! ```text
//! writ-event-v1\n{"seq":3,"at":"2026-01-02T03:04:05.678Z","run":"r1","workflow":"refund",
//! "kind":"confirmed","person":"sam","role":"support_lead","fingerprint":"ab12..","step":"ok",
//! "data":"{\"note\":\"fine\"}","prev_hash":"9f0e.."}
//! ```
//!
//! (one line, no whitespace): the prefix `writ-event-v1` and a newline, then compact JSON as
//! serde_json writes it of an object with exactly these keys in exactly this order: `seq` (a
//! number), `at`, `run`, `workflow`, `kind` (its `as_str()` name), `person`, `role`,
//! `fingerprint`, `step`, `data`, `prev_hash`. Every value but `seq` is a JSON string, or `null`
//! for an absent `run`, `person`, `role` or `step`. `data` is a string holding the event's data
//! *exactly as the store keeps it* (compact JSON text), not the JSON value itself: the hash
//! covers the stored bytes, so it never depends on how a JSON library orders or formats keys.
//! The first event's `prev_hash` is [`GENESIS_HASH`].

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::digest::json_sha256;

/// The `prev_hash` of the first event: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Every stored field of an event but its hash: what the hash covers, in canonical order.
///
/// INVARIANT: the field order is part of the stored format; changing it breaks every chain.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Chained<'a> {
    pub seq: u64,
    pub at: &'a str,
    pub run: Option<&'a str>,
    pub workflow: &'a str,
    pub kind: &'a str,
    pub person: Option<&'a str>,
    pub role: Option<&'a str>,
    pub fingerprint: &'a str,
    pub step: Option<&'a str>,
    /// The data as stored: compact JSON text.
    pub data: &'a str,
    pub prev_hash: &'a str,
}

impl Chained<'_> {
    /// The event's hash: see the module docs for the exact bytes hashed.
    pub fn hash(&self) -> String {
        json_sha256("writ-event-v1\n", self)
    }
}

/// The current time as an event's `at`; `None` when the clock reads before 1970.
pub fn now() -> Option<String> {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(rfc3339_millis)
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-01-02T03:04:05.678Z`, from the time since
/// the Unix epoch. Hand-written to keep a date crate out of the build for one format.
pub fn rfc3339_millis(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3_600,
        of_day % 3_600 / 60,
        of_day % 60,
        since_epoch.subsec_millis()
    )
}

/// (year, month, day) of the day `days` after 1970-01-01 in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Count from 0000-03-01, so the leap day ends a year, in 400-year eras of 146,097 days.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: 153 days per five months.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn at(secs: u64, millis: u64) -> String {
        rfc3339_millis(Duration::from_millis(secs * 1_000 + millis))
    }

    #[test]
    fn dates_match_known_instants() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(951_868_799, 999), "2000-02-29T23:59:59.999Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
        assert_eq!(at(1_709_251_199, 120), "2024-02-29T23:59:59.120Z");
        assert_eq!(at(1_735_689_599, 0), "2024-12-31T23:59:59.000Z");
        assert_eq!(at(1_735_689_600, 0), "2025-01-01T00:00:00.000Z");
        assert_eq!(at(253_402_300_799, 0), "9999-12-31T23:59:59.000Z");
    }

    #[test]
    fn every_day_follows_the_one_before() {
        let mut previous = civil_from_days(0);
        for days in 1..800_000 {
            let (year, month, day) = civil_from_days(days);
            let next_day = (previous.0, previous.1, previous.2 + 1) == (year, month, day);
            let next_month = (previous.0, previous.1 + 1, 1) == (year, month, day);
            let next_year = previous.1 == 12 && (previous.0 + 1, 1, 1) == (year, month, day);
            assert!(
                next_day || next_month || next_year,
                "{previous:?} -> {days}"
            );
            assert!(day <= 31 && (1..=12).contains(&month));
            previous = (year, month, day);
        }
    }

    #[test]
    fn the_hash_covers_the_documented_bytes() {
        let event = Chained {
            seq: 1,
            at: "2026-01-02T03:04:05.678Z",
            run: Some("r1"),
            workflow: "refund",
            kind: "run_started",
            person: Some("ana"),
            role: None,
            fingerprint: "f",
            step: None,
            data: "{\"a\":1}",
            prev_hash: GENESIS_HASH,
        };
        let text = format!(
            "writ-event-v1\n{{\"seq\":1,\"at\":\"2026-01-02T03:04:05.678Z\",\"run\":\"r1\",\
             \"workflow\":\"refund\",\"kind\":\"run_started\",\"person\":\"ana\",\"role\":null,\
             \"fingerprint\":\"f\",\"step\":null,\"data\":\"{{\\\"a\\\":1}}\",\
             \"prev_hash\":\"{GENESIS_HASH}\"}}"
        );
        let expected: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(event.hash(), expected);
        assert_eq!(GENESIS_HASH.len(), 64);
    }
}
