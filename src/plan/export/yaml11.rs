//! YAML that YAML 1.1 readers read as writ meant it.
//!
//! The YAML emitter quotes a string only where a YAML 1.2 reader would take it for something
//! else. Readers still on YAML 1.1 (PyYAML, many CI tools) also take `yes`, `no`, `on`, `off`,
//! `y`, `n`, `1_000`, `1:30`, `0b101` and dates for booleans, numbers and timestamps: the
//! shipped `contract_renewal` plan's `allowed: [yes, no]` became `[true, false]`. This pass
//! single-quotes every plain scalar (key or value) that a 1.1 reader would misread. Quoting a
//! string never changes what a 1.2 reader reads, so the document stays the same for both.
//!
//! It works on the emitter's output line by line, which is safe because the emitter's forms
//! are few: `key: value`, `- value`, `- key: value`, `key:` and block scalars (`key: |-`, whose
//! content lines are skipped untouched).

/// Rewrites the emitter's YAML so a YAML 1.1 reader reads every string as a string.
pub fn quote_for_yaml11(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len() + 64);
    // The indentation of the line that opened a block scalar: deeper lines are its text.
    let mut block_parent: Option<usize> = None;
    for line in yaml.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = line.get(body.len()..).unwrap_or("");
        let indent = body.len() - body.trim_start_matches(' ').len();
        if let Some(parent) = block_parent {
            if body.trim().is_empty() || indent > parent {
                out.push_str(line);
                continue;
            }
            block_parent = None;
        }
        let (rewritten, opens_block) = rewrite_line(body);
        if opens_block {
            block_parent = Some(indent);
        }
        out.push_str(&rewritten);
        out.push_str(ending);
    }
    out
}

/// One line: its sequence dashes kept, then a key and/or a value quoted where needed; and
/// whether the line opens a block scalar.
fn rewrite_line(line: &str) -> (String, bool) {
    let mut rest = line;
    let mut out = String::with_capacity(line.len() + 4);
    loop {
        let trimmed = rest.trim_start_matches(' ');
        out.push_str(rest.get(..rest.len() - trimmed.len()).unwrap_or(""));
        rest = trimmed;
        match rest.strip_prefix("- ") {
            Some(after) => {
                out.push_str("- ");
                rest = after;
            }
            None => break,
        }
    }
    if rest == "-" {
        out.push('-');
        return (out, false);
    }
    let (key, value) = split_key(rest);
    if let Some(key) = key {
        out.push_str(&quoted(key));
        out.push(':');
        if let Some(value) = value {
            out.push(' ');
            out.push_str(&quoted(value));
        }
        let opens_block = value.is_some_and(is_block_indicator);
        (out, opens_block)
    } else {
        out.push_str(&quoted(rest));
        (out, is_block_indicator(rest))
    }
}

/// `key: value` -> (key, value); `key:` -> (key, none); a plain value -> (none, none).
fn split_key(text: &str) -> (Option<&str>, Option<&str>) {
    if text.starts_with(['\'', '"', '[', '{', '|', '>']) {
        return (None, None);
    }
    if let Some(at) = text.find(": ") {
        return (text.get(..at), text.get(at + 2..));
    }
    match text.strip_suffix(':') {
        Some(key) if !key.is_empty() => (Some(key), None),
        _ => (None, None),
    }
}

fn is_block_indicator(value: &str) -> bool {
    matches!(value, "|" | "|-" | "|+" | ">" | ">-" | ">+")
}

/// The scalar as written, or single-quoted when a YAML 1.1 reader would misread it.
fn quoted(scalar: &str) -> String {
    if misread_by_yaml11(scalar) {
        format!("'{}'", scalar.replace('\'', "''"))
    } else {
        scalar.to_owned()
    }
}

/// Whether a plain scalar that YAML 1.2 reads as a string is something else in YAML 1.1.
/// Over-quoting is harmless; missing one is not, so the numeric test is broad.
fn misread_by_yaml11(scalar: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF", "=", "<<",
    ];
    if WORDS.contains(&scalar) {
        return true;
    }
    let unsigned = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
    if let Some(bits) = unsigned.strip_prefix("0b") {
        return !bits.is_empty() && bits.bytes().all(|b| matches!(b, b'0' | b'1' | b'_'));
    }
    let numeric_chars = unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'_' | b':' | b'.' | b'e' | b'E' | b'+' | b'-'));
    let starts_numeric = unsigned
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if starts_numeric && numeric_chars && unsigned.contains(['_', ':']) {
        return true;
    }
    looks_like_date(scalar)
}

/// `YYYY-M-D...`: YAML 1.1's timestamp (PyYAML returns a date).
fn looks_like_date(scalar: &str) -> bool {
    let bytes = scalar.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    digits(0..4) && bytes.get(4) == Some(&b'-') && digits(5..6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_yaml11_misreads_and_nothing_else() {
        let yaml = "allowed:\n- yes\n- no\n- low\non: 1\nn: off\ncount: 5\nat: 2024-01-01\nt: 1:30\nsql: |-\n  SELECT 1\n  yes\nz: y\n";
        let expected = "allowed:\n- 'yes'\n- 'no'\n- low\n'on': 1\n'n': 'off'\ncount: 5\nat: '2024-01-01'\nt: '1:30'\nsql: |-\n  SELECT 1\n  yes\nz: 'y'\n";
        assert_eq!(quote_for_yaml11(yaml), expected);
    }

    #[test]
    fn keeps_numbers_and_quoted_strings() {
        for plain in ["1", "-3", "1.5", "'yes'", "\"no\"", "1_x", "abc: def"] {
            let line = format!("- {plain}\n");
            assert_eq!(quote_for_yaml11(&line), line, "{plain}");
        }
    }
}
