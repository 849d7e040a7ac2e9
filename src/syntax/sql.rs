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
    /// `:name` or `:step.field`: the range covers the colon; `parts` are the dotted names.
    Reference {
        range: Range<usize>,
        parts: Vec<Range<usize>>,
    },
    /// `?`, `?1`, `@x`, `$x`: SQLite's own parameters, which writ does not allow.
    ForeignParameter(Range<usize>),
    /// `;`
    Semicolon(Range<usize>),
    OpenParen,
    CloseParen,
    /// Any other punctuation (`,`, `.`, `*`, `+`, ...): enough to read a `SELECT` column list.
    Punct(u8),
    /// A numeric literal.
    Number,
}

/// Lexes SQL text into the tokens writ cares about; everything else is skipped.
pub fn lex(sql: &str) -> Vec<SqlToken> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\'' | b'"' | b'`' => i = skip_quoted(bytes, i, b),
            b'[' => i = skip_quoted(bytes, i, b']'),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b':' if bytes.get(i + 1).is_some_and(|&c| is_word_start(c)) => {
                let (end, parts) = dotted_name(bytes, i + 1);
                tokens.push(SqlToken::Reference {
                    range: i..end,
                    parts,
                });
                i = end;
            }
            b'?' => {
                let end = skip_while(bytes, i + 1, |c| c.is_ascii_digit());
                tokens.push(SqlToken::ForeignParameter(i..end));
                i = end;
            }
            b'@' | b'$' if bytes.get(i + 1).is_some_and(|&c| is_word_start(c)) => {
                let end = skip_while(bytes, i + 1, is_word_byte);
                tokens.push(SqlToken::ForeignParameter(i..end));
                i = end;
            }
            b';' => {
                tokens.push(SqlToken::Semicolon(i..i + 1));
                i += 1;
            }
            b'(' => {
                tokens.push(SqlToken::OpenParen);
                i += 1;
            }
            b')' => {
                tokens.push(SqlToken::CloseParen);
                i += 1;
            }
            c if is_word_start(c) => {
                let end = skip_while(bytes, i, is_word_byte);
                tokens.push(SqlToken::Word(i..end));
                i = end;
            }
            c if c.is_ascii_digit() => {
                tokens.push(SqlToken::Number);
                i = skip_while(bytes, i, is_word_byte);
            }
            c if c.is_ascii_punctuation() => {
                tokens.push(SqlToken::Punct(c));
                i += 1;
            }
            _ => i += 1,
        }
    }
    tokens
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

/// Reads `name` or `name.name...` starting at `start`; returns the end and each part's range.
/// A dot is only part of the reference when a name follows it, so `:id.` ends at `id`.
fn dotted_name(bytes: &[u8], start: usize) -> (usize, Vec<Range<usize>>) {
    let mut parts = Vec::new();
    let mut at = start;
    loop {
        let end = skip_while(bytes, at, is_word_byte);
        parts.push(at..end);
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(|&c| is_word_start(c)) {
            at = end + 1;
        } else {
            return (end, parts);
        }
    }
}

/// The words of `sql` that are keywords of interest, upper-cased, in order, with the paren
/// depth they stand at and whether a `(` follows (a function call such as `replace(...)`).
pub fn words<'a>(
    sql: &'a str,
    tokens: &'a [SqlToken],
) -> impl Iterator<Item = (String, Range<usize>, bool)> + 'a {
    tokens
        .iter()
        .enumerate()
        .filter_map(move |(index, token)| match token {
            SqlToken::Word(range) => {
                let word = sql.get(range.clone())?.to_ascii_uppercase();
                let called = matches!(tokens.get(index + 1), Some(SqlToken::OpenParen));
                Some((word, range.clone(), called))
            }
            _ => None,
        })
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
