//! A small SQL lexer: enough to find writ's `:references`, SQLite's own parameters (which writ
//! refuses), statement boundaries, and the words the checker needs to judge read-only-ness.
//!
//! It is a lexer, not a parser: string literals, quoted identifiers and comments are skipped
//! whole, so `':name'` in a string or `updated_at` as a column are never mistaken for a
//! reference or an `UPDATE`.

use std::ops::Range;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlToken {
    /// A bare word (keyword or identifier), with its byte range in the SQL text.
    Word(Range<usize>),
    /// `:name` or `:step.field`: the range covers the colon; `target` and `field` the names.
    /// `extra_dots` is set for `:a.b.c`, which is not a reference writ can resolve.
    Reference {
        range: Range<usize>,
        target: Range<usize>,
        field: Option<Range<usize>>,
        extra_dots: bool,
    },
    /// `?`, `?1`, `@x`, `$x`: SQLite's own parameters, which writ does not allow.
    ForeignParameter(Range<usize>),
    /// A quoted identifier (`"x"`, `` `x` ``, `[x]`): the range of the text inside the quotes.
    /// SQLite calls a function or names a table through one as through a bare word.
    Quoted(Range<usize>),
    /// `;`
    Semicolon(Range<usize>),
    OpenParen,
    CloseParen,
    /// Any other punctuation (`,`, `.`, `*`, `+`, ...): enough to read a `SELECT` column list.
    Punct(u8),
    /// A numeric literal.
    Number,
}

/// The tokens of `sql`, lazily: the checker reads most SQL once, front to back.
pub fn tokens(sql: &str) -> Lexer<'_> {
    Lexer {
        bytes: sql.as_bytes(),
        at: 0,
    }
}

/// Lexes SQL text into the tokens writ cares about; everything else is skipped.
pub fn lex(sql: &str) -> Vec<SqlToken> {
    tokens(sql).collect()
}

pub struct Lexer<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Iterator for Lexer<'_> {
    type Item = SqlToken;

    fn next(&mut self) -> Option<SqlToken> {
        let bytes = self.bytes;
        while let Some(&b) = bytes.get(self.at) {
            let i = self.at;
            let (token, end) = match b {
                b'\'' => (None, skip_quoted(bytes, i, b)),
                b'"' | b'`' => quoted(bytes, i, b),
                b'[' => quoted(bytes, i, b']'),
                b'-' if bytes.get(i + 1) == Some(&b'-') => (None, skip_line(bytes, i)),
                b'/' if bytes.get(i + 1) == Some(&b'*') => (None, skip_block_comment(bytes, i)),
                b':' if bytes.get(i + 1).is_some_and(|&c| is_word_start(c)) => reference(bytes, i),
                b'?' => {
                    let end = skip_while(bytes, i + 1, |c| c.is_ascii_digit());
                    (Some(SqlToken::ForeignParameter(i..end)), end)
                }
                b'@' | b'$' if bytes.get(i + 1).is_some_and(|&c| is_word_start(c)) => {
                    let end = skip_while(bytes, i + 1, is_word_byte);
                    (Some(SqlToken::ForeignParameter(i..end)), end)
                }
                b';' => (Some(SqlToken::Semicolon(i..i + 1)), i + 1),
                b'(' => (Some(SqlToken::OpenParen), i + 1),
                b')' => (Some(SqlToken::CloseParen), i + 1),
                c if is_word_start(c) => {
                    let end = skip_while(bytes, i, is_word_byte);
                    (Some(SqlToken::Word(i..end)), end)
                }
                c if c.is_ascii_digit() => {
                    (Some(SqlToken::Number), skip_while(bytes, i, is_word_byte))
                }
                c if c.is_ascii_punctuation() => (Some(SqlToken::Punct(c)), i + 1),
                _ => (None, i + 1),
            };
            self.at = end.max(i + 1);
            if token.is_some() {
                return token;
            }
        }
        None
    }
}

/// A quoted identifier opened at `start` and closed by `close`.
fn quoted(bytes: &[u8], start: usize, close: u8) -> (Option<SqlToken>, usize) {
    let end = skip_quoted(bytes, start, close);
    // The closing quote is not part of the name; an unclosed one runs to the end.
    let inner_end = if bytes.get(end.wrapping_sub(1)) == Some(&close) && end > start + 1 {
        end - 1
    } else {
        end
    };
    (Some(SqlToken::Quoted(start + 1..inner_end)), end)
}

/// `:name`, `:step.field` (or the invalid `:a.b.c`) starting at the colon at `start`.
/// A dot is only part of the reference when a name follows it, so `:id.` ends at `id`.
fn reference(bytes: &[u8], start: usize) -> (Option<SqlToken>, usize) {
    let mut parts = 0;
    let mut target = 0..0;
    let mut field = None;
    let mut at = start + 1;
    loop {
        let end = skip_while(bytes, at, is_word_byte);
        match parts {
            0 => target = at..end,
            1 => field = Some(at..end),
            _ => {}
        }
        parts += 1;
        let dotted =
            bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(|&c| is_word_start(c));
        if !dotted {
            let token = SqlToken::Reference {
                range: start..end,
                target,
                field,
                extra_dots: parts > 2,
            };
            return (Some(token), end);
        }
        at = end + 1;
    }
}

fn is_word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn skip_while(bytes: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while bytes.get(i).is_some_and(|&c| keep(c)) {
        i += 1;
    }
    i
}

/// Skips a quoted run opened at `start`; a doubled closing quote is an escaped one (SQL rule).
fn skip_quoted(bytes: &[u8], start: usize, close: u8) -> usize {
    let mut i = start + 1;
    while let Some(&c) = bytes.get(i) {
        i += 1;
        if c == close {
            if bytes.get(i) == Some(&close) && close != b']' {
                i += 1;
            } else {
                return i;
            }
        }
    }
    i
}

fn skip_line(bytes: &[u8], start: usize) -> usize {
    skip_while(bytes, start, |c| c != b'\n')
}

fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 2;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'*') && bytes.get(i + 1) == Some(&b'/') {
            return i + 2;
        }
        i += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn references(sql: &str) -> Vec<&str> {
        lex(sql)
            .into_iter()
            .filter_map(|t| match t {
                SqlToken::Reference { range, .. } => sql.get(range),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn finds_references_outside_strings_and_comments() {
        let sql =
            "UPDATE t SET a = :x.y, b = ':not', c = \":nor\" -- :no\n WHERE id = :id /* :no */";
        assert_eq!(references(sql), vec![":x.y", ":id"]);
    }

    #[test]
    fn foreign_parameters_are_found() {
        let found: Vec<_> = lex("SELECT ?, ?2, @a, $b, '?' FROM t")
            .into_iter()
            .filter(|t| matches!(t, SqlToken::ForeignParameter(_)))
            .collect();
        assert_eq!(found.len(), 4);
    }

    #[test]
    fn doubled_quotes_stay_inside_the_string() {
        assert_eq!(references("SELECT 'it''s :no' , :yes"), vec![":yes"]);
    }

    #[test]
    fn trailing_dot_is_not_part_of_the_reference() {
        assert_eq!(references("SELECT :a. FROM t"), vec![":a"]);
    }
}
