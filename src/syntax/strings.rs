//! String literals: decoding the escapes writ allows (`\" \\ \n \t \u{XXXX}`), reporting
//! every bad one, and mapping positions in decoded text back to the file (so a diagnostic about
//! `:ticket_id` inside an SQL string underlines the right bytes even after an escape).

pub(crate) struct BadEscape {
    pub start: usize,
    pub len: usize,
    pub message: String,
}

/// Decodes `\" \\ \n \t \u{XXXX}`; returns every invalid escape if there is any.
pub(crate) fn decode(raw: &str) -> Result<String, Vec<BadEscape>> {
    // Most strings have no escape: one copy, not a push per character.
    if !raw.contains('\\') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut bad = Vec::new();
    let mut rest = raw.char_indices().peekable();
    while let Some((at, c)) = rest.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match rest.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'u')) => match unicode_escape(raw, at) {
                Ok((ch, len)) => {
                    out.push(ch);
                    // Skip the `{XXXX}` part we just consumed.
                    while rest.peek().is_some_and(|&(i, _)| i < at + len) {
                        rest.next();
                    }
                }
                Err(message) => bad.push(BadEscape {
                    start: at,
                    len: 2,
                    message,
                }),
            },
            Some((_, other)) => bad.push(BadEscape {
                start: at,
                len: 1 + other.len_utf8(),
                message: format!("unknown escape `\\{}`", other.escape_debug()),
            }),
            None => bad.push(BadEscape {
                start: at,
                len: 1,
                message: "a string ends with a lone `\\`".to_owned(),
            }),
        }
    }
    if bad.is_empty() { Ok(out) } else { Err(bad) }
}

/// Reads `\u{XXXX}` at byte `at` of `raw`; returns the char and the escape's byte length.
fn unicode_escape(raw: &str, at: usize) -> Result<(char, usize), String> {
    let rest = raw.get(at + 2..).unwrap_or("");
    let malformed =
        || "malformed unicode escape: write `\\u{XXXX}` with 1 to 6 hex digits".to_owned();
    let body = rest.strip_prefix('{').ok_or_else(malformed)?;
    let close = body.find('}').ok_or_else(malformed)?;
    let hex = body.get(..close).ok_or_else(malformed)?;
    if hex.is_empty() || hex.len() > 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed());
    }
    let code = u32::from_str_radix(hex, 16).map_err(|_| malformed())?;
    let ch = char::from_u32(code)
        .ok_or_else(|| format!("`\\u{{{hex}}}` is not a unicode scalar value"))?;
    Ok((ch, 2 + 1 + hex.len() + 1))
}

/// The byte offset in the raw (escaped) string body of a byte offset in its decoded text.
pub(crate) fn raw_offset(raw: &str, decoded_offset: usize) -> usize {
    let mut decoded = 0;
    let mut chars = raw.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if decoded >= decoded_offset {
            return at;
        }
        if c == '\\' {
            let (ch, len) = match chars.peek() {
                Some(&(_, 'u')) => unicode_escape(raw, at).unwrap_or(('?', 2)),
                Some(&(_, 'n')) => ('\n', 2),
                Some(&(_, 't')) => ('\t', 2),
                Some(&(_, other)) => (other, 1 + other.len_utf8()),
                None => ('\\', 1),
            };
            decoded += ch.len_utf8();
            while chars.peek().is_some_and(|&(i, _)| i < at + len) {
                chars.next();
            }
        } else {
            decoded += c.len_utf8();
        }
    }
    raw.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_escape() {
        assert_eq!(
            decode(r#"a\"b\\c\nd\te\u{1F600}"#).ok(),
            Some("a\"b\\c\nd\te\u{1F600}".to_owned())
        );
    }

    #[test]
    fn reports_every_bad_escape() {
        let bad = decode(r"\q and \u{110000} and \u12")
            .err()
            .unwrap_or_default();
        assert_eq!(bad.len(), 3);
        assert_eq!(bad.first().map(|b| b.start), Some(0));
    }

    #[test]
    fn maps_decoded_offsets_to_raw() {
        let raw = r#"x = \"y\" AND :id"#;
        let decoded = decode(raw).unwrap_or_default();
        let at = decoded.find(':').unwrap_or(0);
        assert_eq!(raw.get(raw_offset(raw, at)..), Some(":id"));
    }
}
