//! RFC 8785 (JSON Canonicalization Scheme) for the statements people sign.
//!
//! Written here rather than taken from a crate: the published JCS crates serialise integers
//! beyond 2^53 without complaint (they lose precision in every ECMAScript verifier) and the
//! scheme itself is a few rules: members sorted by UTF-16 code units, no white space,
//! `JSON.stringify`'s string escaping and `Number.prototype.toString`'s number form.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// A number JCS cannot represent exactly (writ's statements use integers within 2^53).
    #[error("the number `{0}` has no exact canonical form")]
    Number(String),
}

/// The largest integer magnitude an IEEE 754 double (what JCS numbers are) holds exactly.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// The canonical UTF-8 bytes of `value`: object members sorted by their UTF-16 code units,
/// no insignificant white space, strings and numbers serialised as ECMAScript does.
pub fn to_canonical(value: &serde_json::Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out.into_bytes())
}

/// Whether `bytes` are exactly the canonical form of the JSON they hold (a statement that is
/// not canonical is refused: two byte strings must never mean the same decision).
///
/// Duplicate member names are refused too: parsing keeps one of them, so the canonical form
/// of what was parsed is shorter than the input.
pub fn is_canonical(bytes: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    to_canonical(&value).is_ok_and(|canonical| canonical == bytes)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number)?,
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(members) => write_object(out, members)?,
    }
    Ok(())
}

fn write_object(out: &mut String, members: &Map<String, Value>) -> Result<(), CanonicalError> {
    let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
    // RFC 8785 3.2.3: names compare as arrays of UTF-16 code units, not as UTF-8 bytes (the
    // two orders differ above U+FFFF: an emoji sorts before U+FB33 here).
    sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.push('{');
    for (index, (name, member)) in sorted.into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_string(out, name);
        out.push(':');
        write_value(out, member)?;
    }
    out.push('}');
    Ok(())
}

/// `JSON.stringify`'s escaping: the two-character forms where ECMAScript has them, `\u00xx`
/// (lower-case hex) for the other control characters, everything else as itself.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, number: &Number) -> Result<(), CanonicalError> {
    if let Some(n) = number.as_u64() {
        if n > MAX_EXACT_INTEGER {
            return Err(CanonicalError::Number(number.to_string()));
        }
        let _ = write!(out, "{n}");
    } else if let Some(n) = number.as_i64() {
        if n.unsigned_abs() > MAX_EXACT_INTEGER {
            return Err(CanonicalError::Number(number.to_string()));
        }
        let _ = write!(out, "{n}");
    } else {
        match number.as_f64() {
            Some(f) if f.is_finite() => out.push_str(&ecmascript_number(f)),
            _ => return Err(CanonicalError::Number(number.to_string())),
        }
    }
    Ok(())
}

/// `Number.prototype.toString(f)` for a finite double (ECMA-262, Number::toString).
///
/// Rust's `{:e}` prints the shortest digits that read back as `f` (what ECMAScript asks for);
/// only their placement differs, which is ECMAScript's rule below on `n`, the position of the
/// decimal point relative to the digits.
fn ecmascript_number(f: f64) -> String {
    if f == 0.0 {
        // Both zeros print as `0`.
        return "0".to_owned();
    }
    let exp_form = format!("{:e}", f.abs());
    let (mantissa, exponent) = exp_form.split_once('e').unwrap_or((exp_form.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let n = exponent.parse::<i64>().unwrap_or(0) + 1;
    let sign = if f < 0.0 { "-" } else { "" };
    let body = if k <= n && n <= 21 {
        format!(
            "{digits}{}",
            "0".repeat(usize::try_from(n - k).unwrap_or(0))
        )
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap_or(0).min(digits.len()));
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-n).unwrap_or(0)))
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let point = if rest.is_empty() { "" } else { "." };
        let e = n - 1;
        let e_sign = if e >= 0 { "+" } else { "-" };
        format!("{first}{point}{rest}e{e_sign}{}", e.unsigned_abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        let value: Value = serde_json::from_str(text).unwrap();
        String::from_utf8(to_canonical(&value).unwrap()).unwrap()
    }

    #[test]
    fn rfc8785_main_example() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        assert_eq!(
            canon(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }

    #[test]
    fn rfc8785_utf16_sort_example() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let out = canon(input);
        // serde_json's map is ordered by UTF-8, so read the order from the canonical text.
        let positions: Vec<usize> = [
            "Carriage Return",
            "One",
            "Control",
            "Latin Small Letter O With Diaeresis",
            "Euro Sign",
            "Emoji: Grinning Face",
            "Hebrew Letter Dalet With Dagesh",
        ]
        .iter()
        .map(|name| out.find(name).unwrap())
        .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{out}");
    }

    #[test]
    fn rfc8785_number_examples() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9007199254740992.0, "9007199254740992"),
            (295147905179352830000.0, "295147905179352830000"),
            (1e21, "1e+21"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (-1.5, "-1.5"),
            (123456789012345680000.0, "123456789012345680000"),
            (4.35, "4.35"),
            (0.0000001234, "1.234e-7"),
        ];
        for (f, want) in cases {
            assert_eq!(ecmascript_number(f), want, "{f:e}");
        }
    }

    #[test]
    fn integers_beyond_2_pow_53_are_refused() {
        let value: Value = serde_json::from_str("[9007199254740993]").unwrap();
        assert!(
            matches!(to_canonical(&value), Err(CanonicalError::Number(n)) if n == "9007199254740993")
        );
        let value: Value = serde_json::from_str("[-9007199254740993]").unwrap();
        assert!(to_canonical(&value).is_err());
        assert_eq!(
            canon("[9007199254740992,-9007199254740992]"),
            "[9007199254740992,-9007199254740992]"
        );
    }

    #[test]
    fn is_canonical_accepts_only_the_canonical_bytes() {
        assert!(is_canonical(br#"{"a":1,"b":[true,null],"c":"x"}"#));
        assert!(!is_canonical(br#"{"a": 1}"#), "white space");
        assert!(!is_canonical(b"{\"a\":1}\n"), "trailing new line");
        assert!(!is_canonical(br#"{"b":1,"a":2}"#), "reordered keys");
        assert!(!is_canonical(br#"{"a":1,"a":1}"#), "duplicate keys");
        assert!(!is_canonical(br#"{"a":1.0}"#), "number form");
        assert!(!is_canonical(br#"{"a":"\u0041"}"#), "needless escape");
        assert!(
            !is_canonical(br#"{"a":9007199254740993}"#),
            "inexact integer"
        );
        assert!(!is_canonical(b"{\"a\":"), "truncated");
        assert!(!is_canonical(b"\xff"), "not UTF-8");
    }
}
