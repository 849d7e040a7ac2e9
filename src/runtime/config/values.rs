//! The checks on single values of `writ.yaml`: names, paths, URLs, environment variable names,
//! durations, counts. Pure functions from text to a value or a [`Problem`]; where the problem
//! is in the file is the deserialiser's business (`de.rs`).

use std::path::PathBuf;
use std::time::Duration;

use super::error::Problem;

/// The longest person, role or system name, in bytes (names are ASCII).
pub const MAX_NAME_LEN: usize = 64;

/// The longest duration accepted: a year. Longer is a typo, and far-future deadlines overflow
/// timers.
const MAX_DURATION_SECS: u64 = 365 * 86_400;

/// The form every person, role, system and environment variable name takes.
const NAME_FORM: &str = "a letter or `_`, then letters, digits or `_`";

/// `text` for a message: escaped (no line breaks or control characters) and cut to 64
/// characters, so a hostile key cannot flood or forge a diagnostic.
pub fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(64).flat_map(char::escape_debug).collect();
    if text.chars().nth(64).is_some() {
        out.push('…');
    }
    out
}

/// Whether `text` is `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A person, role or system name (`what` says which).
pub fn name(what: &str, text: &str) -> Result<String, Problem> {
    if !is_name(text) {
        return Err(Problem::new(
            format!("{what} name `{}` is not a name", shown(text)),
            format!("a {what} name is {NAME_FORM}, like `support_lead`"),
        ));
    }
    if text.len() > MAX_NAME_LEN {
        return Err(Problem::new(
            format!("{what} name `{}` is too long", shown(text)),
            format!("a {what} name has at most {MAX_NAME_LEN} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// A file or folder path (`what` names the key); empty text is refused.
pub fn path(what: &str, text: &str) -> Result<PathBuf, Problem> {
    // serde_yaml hands a null (`~`, `null`) to a string visitor as its text.
    if text.trim().is_empty() || matches!(text, "~" | "null" | "Null" | "NULL") {
        return Err(Problem::new(
            format!("`{what}` is empty"),
            format!("give a path, relative to the config's folder: `{what}: data/file.db`"),
        ));
    }
    if text.contains('\0') {
        return Err(Problem::new(
            format!("`{what}` holds a NUL character"),
            "a path cannot contain NUL: remove it".to_owned(),
        ));
    }
    Ok(PathBuf::from(text))
}

/// `identity: signed` (the default: people act through signed statements) or `asserted`
/// (development only: a typed `--as NAME` is taken at its word, and every event says so).
pub fn identity(_what: &str, text: &str) -> Result<super::Identity, Problem> {
    match text {
        "signed" => Ok(super::Identity::Signed),
        "asserted" => Ok(super::Identity::Asserted),
        other => Err(Problem::new(
            format!(
                "`identity` is `{}`, not `signed` or `asserted`",
                shown(other)
            ),
            "`identity: signed` (people sign what they do), or `identity: asserted` for \
             development only"
                .to_owned(),
        )),
    }
}

/// The base URL of an `http` system: `http://` or `https://`, a host, no credentials, no
/// spaces.
pub fn url(_what: &str, text: &str) -> Result<String, Problem> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    let Some(rest) = rest else {
        return Err(Problem::new(
            format!("`{}` is not an `http://` or `https://` URL", shown(text)),
            "write the base URL with its scheme: `http: \"https://crm.example.com/api\"`"
                .to_owned(),
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Problem::new(
            format!("`{}` is not a URL", shown(text)),
            "write a host after the scheme and no spaces: `https://crm.example.com/api`".to_owned(),
        ));
    }
    if authority.contains('@') {
        // Neither the message nor a snippet may repeat the URL: it holds a password.
        return Err(Problem::new(
            "the `http` URL holds credentials".to_owned(),
            "secrets are never in `writ.yaml`: remove `user:password@` and name the environment \
             variable that holds the token with `token_env`"
                .to_owned(),
        )
        .without_snippet());
    }
    Ok(text.to_owned())
}

/// The name of an environment variable (`token_env`): the name, never the secret.
pub fn env_name(_what: &str, text: &str) -> Result<String, Problem> {
    if is_name(text) && text.len() <= 256 {
        return Ok(text.to_owned());
    }
    Err(Problem::new(
        format!(
            "`token_env` `{}` is not an environment variable name",
            shown(text)
        ),
        format!(
            "`token_env` names the variable that holds the token ({NAME_FORM}), like \
             `CRM_TOKEN`; the token itself never goes in the file"
        ),
    ))
}

/// A duration: a whole number and one unit, `s`, `m`, `h` or `d` (`30s`, `15m`, `4h`, `28d`),
/// from one second up to a year.
pub fn duration(what: &str, text: &str) -> Result<Duration, Problem> {
    let not_a_duration = || {
        Problem::new(
            format!("`{what}` `{}` is not a duration", shown(text)),
            "write a whole number and a unit `s`, `m`, `h` or `d`: `30s`, `15m`, `4h`, `28d`"
                .to_owned(),
        )
    };
    let Some(unit) = text.chars().last() else {
        return Err(not_a_duration());
    };
    let per_unit: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return Err(not_a_duration()),
    };
    let digits = text.get(..text.len() - 1).unwrap_or_default();
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_duration());
    }
    let amount: u64 = digits.parse().map_err(|_| not_a_duration())?;
    let seconds = amount.saturating_mul(per_unit);
    if seconds == 0 || seconds > MAX_DURATION_SECS {
        return Err(Problem::new(
            format!("`{what}` `{}` is out of range", shown(text)),
            "a duration is at least `1s` and at most `365d`".to_owned(),
        ));
    }
    Ok(Duration::from_secs(seconds))
}

/// A whole number in `min..=max` (`what` names the key).
pub fn count<T>(what: &str, value: T, min: usize, max: usize) -> Result<usize, Problem>
where
    T: TryInto<usize> + std::fmt::Display + Copy,
{
    match value.try_into() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Problem::new(
            format!("`{what}` is {value}, outside {min} to {max}"),
            format!("set `{what}` to a whole number from {min} to {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_name("support_lead"));
        assert!(is_name("_x9"));
        assert!(!is_name(""));
        assert!(!is_name("9lives"));
        assert!(!is_name("ana-maria"));
        assert!(!is_name("ané"));
        assert!(name("person", &"a".repeat(65)).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration("t", "30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("t", "15m"), Ok(Duration::from_secs(900)));
        assert_eq!(duration("t", "4h"), Ok(Duration::from_secs(14_400)));
        assert_eq!(duration("t", "28d"), Ok(Duration::from_secs(2_419_200)));
        for bad in [
            "",
            "s",
            "30",
            "30x",
            "1h30m",
            "-5s",
            "+5s",
            " 5s",
            "5 s",
            "3.5h",
            "0s",
            "366d",
            "99999999999999999999s",
            "5é",
            "é",
        ] {
            assert!(duration("t", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls() {
        assert!(url("http", "http://127.0.0.1:8080/api").is_ok());
        assert!(url("http", "https://crm.example.com").is_ok());
        for bad in [
            "ftp://x",
            "127.0.0.1",
            "http://",
            "https:///path",
            "http://a b",
            "https://user:pw@host/api",
        ] {
            assert!(url("http", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shown_escapes_and_cuts() {
        assert_eq!(shown("a\nb`"), "a\\nb`");
        assert_eq!(shown(&"x".repeat(100)).chars().count(), 65);
    }

    #[test]
    fn counts() {
        assert_eq!(count("c", 16, 1, 1024), Ok(16));
        assert!(count("c", 0, 1, 1024).is_err());
        assert!(count("c", -1, 1, 1024).is_err());
        assert!(count("c", 1025, 1, 1024).is_err());
        assert!(count("c", u128::MAX, 1, 1024).is_err());
    }
}
