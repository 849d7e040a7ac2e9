//! Time as the runtime reasons about it: milliseconds since the Unix epoch, read from and
//! written as the store's `at` format (`2026-01-02T03:04:05.678Z`, see `store::chain`).
//!
//! Deadlines (`expires`) and autonomy windows (`over DUR`) compare these numbers; nothing here
//! lets a caller move the clock, so a timer can only ever fire late, never early.

use std::time::{Duration, SystemTime};

use super::store::chain::rfc3339_millis;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Now, in milliseconds since the epoch (0 if the clock reads before 1970).
pub fn now() -> Millis {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| Millis::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

/// The store's text form of an instant.
pub fn format(at: Millis) -> String {
    rfc3339_millis(Duration::from_millis(u64::try_from(at).unwrap_or(0)))
}

/// Reads the store's `at` format exactly (`YYYY-MM-DDTHH:MM:SS.mmmZ`); anything else is `None`.
pub fn parse(text: &str) -> Option<Millis> {
    let bytes = text.as_bytes();
    if bytes.len() != 24 || [4, 7, 10, 13, 16, 19, 23].map(|i| bytes[i]) != *b"--T::.Z" {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second, millis) = (
        number(11..13)?,
        number(14..16)?,
        number(17..19)?,
        number(20..23)?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000) + millis)
}

/// Days from 1970-01-01 to the given date (Howard Hinnant's `days_from_civil`), the inverse
/// of `store::chain`'s `civil_from_days`.
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_inverts_format() {
        for at in [
            0,
            5,
            951_782_400_005,
            1_709_251_199_120,
            1_735_689_600_000,
            253_402_300_799_999,
        ] {
            assert_eq!(parse(&format(at)), Some(at), "{}", format(at));
        }
        let now = now();
        assert_eq!(parse(&format(now)), Some(now));
    }

    #[test]
    fn anything_but_the_exact_format_is_refused() {
        for text in [
            "",
            "2026-01-02T03:04:05Z",
            "2026-01-02 03:04:05.678Z",
            "2026-13-02T03:04:05.678Z",
            "2026-01-02T24:04:05.678Z",
            "2026-01-02T03:04:05.678+01:00",
            "+026-01-02T03:04:05.678Z",
            "2026-01-02T03:04:05.67éZ",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
