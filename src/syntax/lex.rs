//! A flat lexer for layout: words, strings, punctuation and comments with their spans.
//!
//! The formatter and `// writ: allow` comments need the comments and the exact text of every
//! token, which the pest tree drops. This lexer knows no keyword and no clause: it only splits
//! text, so a new clause form needs no change here. It accepts any input (an unclosed string
//! runs to the end of its line, or of the file for a long string) and is linear in the input.

use super::ast::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// Identifiers, keywords, references, numbers, durations, percentages.
    Word,
    /// `"..."` or `"""..."""`, quotes included.
    Str,
    /// `//` to the end of the line.
    Comment,
    /// Anything else: `{ } [ ] , : = -> >= ==` and stray characters.
    Punct,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl Token {
    pub fn text(self, source: &str) -> &str {
        source.get(self.span.start..self.span.end).unwrap_or("")
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'%')
}

/// Every token of `source`, in order; whitespace is skipped.
pub fn tokens(source: &str) -> Vec<Token> {
    let bytes = source.as_bytes();
    let mut out = Vec::with_capacity(source.len() / 4);
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        let start = at;
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                at += 1;
                continue;
            }
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                at = line_end(bytes, at);
                TokenKind::Comment
            }
            b'"' => {
                at = string_end(bytes, at);
                TokenKind::Str
            }
            b'-' if bytes.get(at + 1).is_some_and(u8::is_ascii_digit) => {
                at = word_end(bytes, at + 1);
                TokenKind::Word
            }
            _ if is_word_byte(b) => {
                at = word_end(bytes, at);
                TokenKind::Word
            }
            b'-' | b'>' | b'=' if matches!(bytes.get(at..at + 2), Some(b"->" | b">=" | b"==")) => {
                at += 2;
                TokenKind::Punct
            }
            _ => {
                let width = source
                    .get(at..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(1, char::len_utf8);
                at += width;
                TokenKind::Punct
            }
        };
        out.push(Token {
            kind,
            span: Span::new(start, at),
        });
    }
    out
}

fn word_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|&b| is_word_byte(b)) {
        at += 1;
    }
    at
}

/// The offset of the `\n` ending the line at `at` (or the end of the input).
fn line_end(bytes: &[u8], at: usize) -> usize {
    bytes
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        .map_or(bytes.len(), |i| at + i)
}

/// Just past the string opened at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let long = bytes.get(start..start + 3) == Some(b"\"\"\"");
    let mut at = start + if long { 3 } else { 1 };
    while let Some(&b) = bytes.get(at) {
        match b {
            b'\\' => at += 2,
            b'"' if !long => return at + 1,
            b'"' if bytes.get(at..at + 3) == Some(b"\"\"\"") => return at + 3,
            b'\n' if !long => return at,
            _ => at += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(source: &str) -> Vec<&str> {
        tokens(source).iter().map(|t| t.text(source)).collect()
    }

    #[test]
    fn splits_every_form() {
        assert_eq!(
            texts("run sql \"a \\\" b\" // c\nexpires 4h -> reject >= 90% == 0 -5 [x, y.z]"),
            [
                "run",
                "sql",
                "\"a \\\" b\"",
                "// c",
                "expires",
                "4h",
                "->",
                "reject",
                ">=",
                "90%",
                "==",
                "0",
                "-5",
                "[",
                "x",
                ",",
                "y.z",
                "]"
            ]
        );
    }

    #[test]
    fn long_strings_span_lines_and_keep_quotes() {
        let source = "sql \"\"\"SELECT \"a\"\nFROM t\"\"\" x";
        assert_eq!(
            texts(source),
            ["sql", "\"\"\"SELECT \"a\"\nFROM t\"\"\"", "x"]
        );
    }

    #[test]
    fn unclosed_strings_end_at_the_line_or_the_file() {
        assert_eq!(texts("\"abc\nx"), ["\"abc", "x"]);
        assert_eq!(texts("\"\"\"abc\nx"), ["\"\"\"abc\nx"]);
        assert_eq!(texts("\"ab\\"), ["\"ab\\"]);
    }
}
