//! The registry of people: an OpenSSH `allowed_signers` file (`man ssh-keygen`, "ALLOWED
//! SIGNERS"), principal = person name.
//!
//! Each line: `PRINCIPALS [OPTIONS] KEYTYPE BASE64 [COMMENT]`; `#` comments and blank lines
//! are skipped. Principals are comma-separated (the field may be in double quotes). Options
//! (comma-separated, case-insensitive, values in double quotes):
//! `namespaces="a,b"`, `valid-after="TIME"`, `valid-before="TIME"`, where TIME is
//! `YYYYMMDD[HHMM[SS]]` with an optional `Z`. `cert-authority` is refused.
//!
//! Deviations from ssh-keygen, on purpose: principal patterns (`*`, `?`, `!`) are refused (a
//! registry of people names each person), and times are always read as UTC, with or without
//! `Z` (ssh-keygen reads a time without `Z` in the verifier's local time zone, so the same file
//! would mean different things on different machines).

use ssh_key::{Algorithm, EcdsaCurve, HashAlg, public::KeyData};

/// An SSH public key (any algorithm the crate supports: ed25519, ecdsa, rsa, sk- keys).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PublicKey {
    key: KeyData,
}

impl PublicKey {
    /// Parses one OpenSSH public key line (`ssh-ed25519 AAAA... comment`).
    pub fn from_openssh(text: &str) -> Result<PublicKey, SignersError> {
        let mut fields = text.split_ascii_whitespace();
        let (Some(kind), Some(blob)) = (fields.next(), fields.next()) else {
            return Err(SignersError::general(
                "expected a public key: `KEYTYPE BASE64 [COMMENT]`",
            ));
        };
        parse_key(kind, blob).map_err(SignersError::general)
    }
    /// The key in OpenSSH form, without its comment (`ssh-ed25519 AAAA...`).
    pub fn to_openssh(&self) -> String {
        let key = ssh_key::PublicKey::new(self.key.clone(), "");
        key.to_openssh().unwrap_or_default()
    }
    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }
    /// The key's SSH wire encoding (RFC 4253 `string` fields), as an SSHSIG embeds it.
    pub fn to_wire(&self) -> Vec<u8> {
        ssh_key::PublicKey::new(self.key.clone(), "")
            .to_bytes()
            .unwrap_or_default()
    }
    pub(crate) fn from_key_data(key: KeyData) -> PublicKey {
        PublicKey { key }
    }
    pub(crate) fn key_data(&self) -> &KeyData {
        &self.key
    }
}

/// Reads `KEYTYPE BASE64`: only the algorithms writ verifies, and the type field must name
/// the key the blob holds.
fn parse_key(kind: &str, blob: &str) -> Result<PublicKey, String> {
    let Some(algorithm) = supported_algorithm(kind) else {
        return Err(format!(
            "unsupported key type `{kind}` (expected ssh-ed25519, ecdsa-sha2-nistp256/384/521, \
             ssh-rsa, sk-ssh-ed25519@openssh.com or sk-ecdsa-sha2-nistp256@openssh.com)"
        ));
    };
    let key = ssh_key::PublicKey::from_openssh(&format!("{kind} {blob}"))
        .map_err(|e| format!("the `{kind}` key cannot be read: {e}"))?;
    if key.algorithm() != algorithm {
        return Err(format!(
            "the key is `{}`, not `{kind}` as the line says",
            key.algorithm()
        ));
    }
    Ok(PublicKey {
        key: key.key_data().clone(),
    })
}

fn supported_algorithm(kind: &str) -> Option<Algorithm> {
    match kind {
        "ssh-ed25519" => Some(Algorithm::Ed25519),
        "ecdsa-sha2-nistp256" => Some(Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        }),
        "ecdsa-sha2-nistp384" => Some(Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP384,
        }),
        "ecdsa-sha2-nistp521" => Some(Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP521,
        }),
        "ssh-rsa" => Some(Algorithm::Rsa { hash: None }),
        "sk-ssh-ed25519@openssh.com" => Some(Algorithm::SkEd25519),
        "sk-ecdsa-sha2-nistp256@openssh.com" => Some(Algorithm::SkEcdsaSha2NistP256),
        _ => None,
    }
}

/// A line of the file that could not be read: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SignersError {
    /// 1-based line of the file (0 when the error is not about one line).
    pub line: usize,
    pub message: String,
}

impl SignersError {
    fn general(message: impl Into<String>) -> SignersError {
        SignersError {
            line: 0,
            message: message.into(),
        }
    }
}

/// One entry: the principals a key stands for, and the options that limit it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Exact principal names (patterns with `*` or `?` are refused when parsing: a registry
    /// of people names each person).
    pub principals: Vec<String>,
    pub key: PublicKey,
    /// `namespaces="..."`: the entry holds only for these (None: every namespace).
    pub namespaces: Option<Vec<String>>,
    /// `valid-after` / `valid-before`, as Unix seconds (UTC).
    pub valid_after: Option<i64>,
    pub valid_before: Option<i64>,
    /// Where it stands in the file (1-based).
    pub line: usize,
}

impl Entry {
    /// Whether the entry's `namespaces` option lets it sign in `namespace`.
    pub fn allows_namespace(&self, namespace: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|patterns| match_pattern_list(namespace, patterns))
    }
    /// Whether `at_unix` falls within `valid-after` / `valid-before` (both inclusive, as
    /// ssh-keygen checks them).
    pub fn holds_at(&self, at_unix: i64) -> bool {
        self.valid_after.is_none_or(|after| at_unix >= after)
            && self.valid_before.is_none_or(|before| at_unix <= before)
    }
}

/// A parsed `allowed_signers` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedSigners {
    entries: Vec<Entry>,
}

impl AllowedSigners {
    /// Parses the file's text; every malformed line is an error naming its line.
    /// `cert-authority` entries are refused (writ names people's own keys).
    pub fn parse(text: &str) -> Result<AllowedSigners, SignersError> {
        let mut entries = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let entry =
                parse_line(trimmed, line).map_err(|message| SignersError { line, message })?;
            entries.push(entry);
        }
        Ok(AllowedSigners { entries })
    }
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
    /// The principals `key` stands for in `namespace` at `at_unix` (seconds), by every entry
    /// that names the key and holds then.
    pub fn principals_for(&self, key: &PublicKey, namespace: &str, at_unix: i64) -> Vec<&str> {
        let mut found: Vec<&str> = Vec::new();
        for entry in &self.entries {
            if entry.key == *key && entry.allows_namespace(namespace) && entry.holds_at(at_unix) {
                for principal in &entry.principals {
                    if !found.contains(&principal.as_str()) {
                        found.push(principal);
                    }
                }
            }
        }
        found
    }
    /// Every entry that names `key`, whatever its options.
    pub fn entries_for<'a>(&'a self, key: &'a PublicKey) -> impl Iterator<Item = &'a Entry> {
        self.entries.iter().filter(move |entry| entry.key == *key)
    }
}

/// Splits off the next field: up to white space outside double quotes.
fn next_field(text: &str) -> Result<(&str, &str), String> {
    let text = text.trim_start();
    let mut quoted = false;
    for (at, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_ascii_whitespace() && !quoted => {
                return Ok((&text[..at], &text[at..]));
            }
            _ => {}
        }
    }
    if quoted {
        return Err("a double quote is not closed".to_owned());
    }
    Ok((text, ""))
}

fn parse_line(text: &str, line: usize) -> Result<Entry, String> {
    let (principals_field, rest) = next_field(text)?;
    let principals = parse_principals(principals_field)?;
    let (field, rest) = next_field(rest)?;
    let (options, kind, rest) =
        if supported_algorithm(field).is_some() || looks_like_key_type(field) {
            (Options::default(), field, rest)
        } else {
            let options = parse_options(field)?;
            let (kind, rest) = next_field(rest)?;
            (options, kind, rest)
        };
    if kind.is_empty() {
        return Err(
            "expected `PRINCIPALS [OPTIONS] KEYTYPE BASE64`: the key is missing".to_owned(),
        );
    }
    let (blob, _comment) = next_field(rest)?;
    if blob.is_empty() {
        return Err(format!(
            "the `{kind}` key has no base64 data after its type"
        ));
    }
    let key = parse_key(kind, blob)?;
    Ok(Entry {
        principals,
        key,
        namespaces: options.namespaces,
        valid_after: options.valid_after,
        valid_before: options.valid_before,
        line,
    })
}

/// A key type we do not support still reads as a key type (so the error says "unsupported
/// key type" rather than "unknown option").
fn looks_like_key_type(field: &str) -> bool {
    ["ssh-", "ecdsa-", "sk-", "rsa-"]
        .iter()
        .any(|prefix| field.starts_with(prefix))
        && !field.contains('=')
}

fn parse_principals(field: &str) -> Result<Vec<String>, String> {
    let inner = match field.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .ok_or_else(|| format!("the principals `{field}` have an unclosed quote"))?,
        None => field,
    };
    let mut principals = Vec::new();
    for name in inner.split(',') {
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("an empty principal in `{field}`"));
        }
        if name.contains(['*', '?', '!', '"']) || name.chars().any(char::is_whitespace) {
            return Err(format!(
                "the principal `{name}` is a pattern or has white space; writ's registry names \
                 each person exactly"
            ));
        }
        principals.push(name.to_owned());
    }
    Ok(principals)
}

#[derive(Default)]
struct Options {
    namespaces: Option<Vec<String>>,
    valid_after: Option<i64>,
    valid_before: Option<i64>,
}

/// Splits `a,b="x,y",c` at the commas outside double quotes.
fn split_options(field: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (at, c) in field.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&field[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&field[start..]);
    parts
}

fn parse_options(field: &str) -> Result<Options, String> {
    let mut options = Options::default();
    for option in split_options(field) {
        let (name, value) = match option.split_once('=') {
            Some((name, value)) => (name, Some(dequote(value)?)),
            None => (option, None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("cert-authority", None) => {
                return Err(
                    "`cert-authority` entries are not accepted: writ's registry lists \
                            each person's own key"
                        .to_owned(),
                );
            }
            ("namespaces", Some(list)) => {
                let names: Vec<String> = list.split(',').map(|n| n.trim().to_owned()).collect();
                if names.iter().any(String::is_empty) {
                    return Err(format!("`namespaces=\"{list}\"` has an empty namespace"));
                }
                options.namespaces = Some(names);
            }
            ("valid-after", Some(time)) => options.valid_after = Some(parse_time(time)?),
            ("valid-before", Some(time)) => options.valid_before = Some(parse_time(time)?),
            (other, _) => {
                return Err(format!(
                    "unknown option `{option}` (`{other}`): expected namespaces=\"...\", \
                     valid-after=TIME or valid-before=TIME"
                ));
            }
        }
    }
    Ok(options)
}

/// An option's value: in double quotes, as ssh-keygen requires ("missing start quote").
fn dequote(value: &str) -> Result<&str, String> {
    value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|inner| !inner.contains('"'))
        .ok_or_else(|| format!("the value `{value}` must be in double quotes (`name=\"value\"`)"))
}

/// `YYYYMMDD[HHMM[SS]][Z]` as Unix seconds, read as UTC whether or not `Z` is there.
pub(crate) fn parse_time(text: &str) -> Result<i64, String> {
    let bad = || {
        format!("the time `{text}` is not YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS (optional Z)")
    };
    let digits = text.strip_suffix(['Z', 'z']).unwrap_or(text);
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return Err(bad());
    }
    let field = |from: usize, to: usize| -> Result<i64, String> {
        digits
            .get(from..to)
            .and_then(|part| part.parse::<i64>().ok())
            .ok_or_else(bad)
    };
    let (year, month, day) = (field(0, 4)?, field(4, 6)?, field(6, 8)?);
    let (hour, minute) = if digits.len() >= 12 {
        (field(8, 10)?, field(10, 12)?)
    } else {
        (0, 0)
    };
    let second = if digits.len() == 14 {
        field(12, 14)?
    } else {
        0
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }
    Ok(
        crate::runtime::clock::days_from_civil(year, month, day) * 86_400
            + hour * 3600
            + minute * 60
            + second,
    )
}

/// OpenSSH's `match_pattern_list` for namespaces: a comma list of `*`/`?` patterns, where a
/// matching `!pattern` refuses outright.
fn match_pattern_list(name: &str, patterns: &[String]) -> bool {
    let mut matched = false;
    for pattern in patterns {
        match pattern.strip_prefix('!') {
            Some(negated) if glob(negated.as_bytes(), name.as_bytes()) => return false,
            Some(_) => {}
            None => matched |= glob(pattern.as_bytes(), name.as_bytes()),
        }
    }
    matched
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            (0..=text.len()).any(|skip| glob(rest, text.get(skip..).unwrap_or(&[])))
        }
        Some((&p, rest)) => match text.split_first() {
            Some((&t, text_rest)) if p == b'?' || p == t => glob(rest, text_rest),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGo/uT6idlNK6b7Mk+bB/bNvwn1r2ilzEnwR3fpZPSsM";

    #[test]
    fn times_are_utc() {
        assert_eq!(parse_time("19700101"), Ok(0));
        assert_eq!(parse_time("20240229Z"), Ok(1_709_164_800));
        assert_eq!(
            parse_time("202402291230"),
            Ok(1_709_164_800 + 12 * 3600 + 30 * 60)
        );
        assert_eq!(parse_time("20240229123005z"), Ok(1_709_209_805));
        for bad in [
            "2023029",
            "20230229",
            "20231301",
            "202401011260",
            "2024010112",
            "x",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespace_patterns() {
        let list = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
        assert!(match_pattern_list("writ", &list("git,writ")));
        assert!(match_pattern_list("writ", &list("w*")));
        assert!(!match_pattern_list("writ", &list("git")));
        assert!(!match_pattern_list("writ", &list("*,!writ")));
    }

    #[test]
    fn lines_with_options_and_quotes() {
        let text = format!(
            "# people\n\n\"ana,bo\" namespaces=\"writ,git\",valid-after=\"20200101\",VALID-BEFORE=\"20300101Z\" {KEY} ana@laptop\ncy {KEY}\n"
        );
        let signers = AllowedSigners::parse(&text).unwrap();
        let first = &signers.entries()[0];
        assert_eq!(first.principals, ["ana", "bo"]);
        assert_eq!(
            first.namespaces.as_deref(),
            Some(&["writ".to_owned(), "git".to_owned()][..])
        );
        assert_eq!(first.valid_after, Some(1_577_836_800));
        assert_eq!(first.line, 3);
        assert_eq!(signers.entries()[1].line, 4);
        let key = PublicKey::from_openssh(KEY).unwrap();
        assert_eq!(
            signers.principals_for(&key, "writ", 1_600_000_000),
            ["ana", "bo", "cy"]
        );
        assert_eq!(signers.principals_for(&key, "writ", 1_000), ["cy"]);
        assert_eq!(key.to_openssh(), KEY);
    }

    #[test]
    fn bad_lines_name_their_line() {
        let cases = [
            format!("ana {KEY}\n*.example {KEY}"),
            format!("ana {KEY}\nbo cert-authority {KEY}"),
            format!("ana {KEY}\nbo nope=1 {KEY}"),
            format!("ana {KEY}\nbo ssh-ed25519"),
            format!("ana {KEY}\nbo ssh-dss AAAAB3NzaC1kc3M="),
            format!("ana {KEY}\nbo ssh-rsa {}", &KEY[12..]),
            format!("ana {KEY}\nbo valid-after=\"2020\" {KEY}"),
            format!("ana {KEY}\nbo valid-after=20200101 {KEY}"),
            format!("ana {KEY}\n\"bo {KEY}"),
        ];
        for text in cases {
            let err = AllowedSigners::parse(&text).unwrap_err();
            assert_eq!(err.line, 2, "{text}: {err}");
        }
    }
}
