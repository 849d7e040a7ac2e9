//! What the checker reads out of SQL text: whether it is one statement, whether it is a
//! read-only `SELECT` (E0205), and which columns a `capture` returns (for `before.col`).
//!
//! All judgements are made on tokens from [`crate::syntax::sql::lex`], never on substrings:
//! `updated_at` is a column, not an `UPDATE`; `':x'` is a string, not a reference.

use std::ops::Range;

use crate::syntax::sql::{SqlToken, lex, tokens};

/// Words that make a statement a write (or change the connection) wherever they stand.
const WRITE_WORDS: &[&str] = &[
    "INSERT",
    "UPDATE",
    "DELETE",
    "REPLACE",
    "UPSERT",
    "CREATE",
    "DROP",
    "ALTER",
    "PRAGMA",
    "ATTACH",
    "DETACH",
    "VACUUM",
    "REINDEX",
    "ANALYZE",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "RETURNING",
    "LOAD_EXTENSION",
];

/// Why a piece of SQL is not a single read-only `SELECT`, and where (a range in the SQL text).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NotReadOnly {
    pub reason: String,
    pub at: Option<Range<usize>>,
}

/// The range of the `;` that starts the second statement, if there is one.
pub(crate) fn second_statement(sql: &str) -> Option<Range<usize>> {
    let mut seen_word = false;
    let mut separator = None;
    for token in tokens(sql) {
        match token {
            SqlToken::Word(_) if separator.is_some() => return separator,
            SqlToken::Word(_) => seen_word = true,
            SqlToken::Semicolon(range) if seen_word && separator.is_none() => {
                separator = Some(range)
            }
            _ => {}
        }
    }
    None
}

fn is_write_word(word: &str) -> bool {
    WRITE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// Judges `sql` as a single read-only `SELECT` (a `WITH ... SELECT` counts), in one pass.
pub(crate) fn read_only(sql: &str) -> Result<(), NotReadOnly> {
    let mut tokens = tokens(sql).peekable();
    let mut started = false;
    let mut separator = None;
    while let Some(token) = tokens.next() {
        let range = match token {
            SqlToken::Semicolon(range) if started => {
                separator.get_or_insert(range);
                continue;
            }
            SqlToken::Word(range) => range,
            _ => continue,
        };
        if separator.is_some() {
            return Err(NotReadOnly {
                reason: "it holds more than one statement".to_owned(),
                at: separator,
            });
        }
        let word = sql.get(range.clone()).unwrap_or("");
        if !started {
            started = true;
            if !word.eq_ignore_ascii_case("SELECT") && !word.eq_ignore_ascii_case("WITH") {
                return Err(NotReadOnly {
                    reason: format!(
                        "it starts with `{}`, not `SELECT`",
                        word.to_ascii_uppercase()
                    ),
                    at: Some(range),
                });
            }
        }
        // `replace(x, 'a', 'b')` is a string function; `REPLACE INTO` is a write.
        let called = matches!(tokens.peek(), Some(SqlToken::OpenParen));
        if is_write_word(word) && !(called && word.eq_ignore_ascii_case("REPLACE")) {
            return Err(NotReadOnly {
                reason: format!("`{}` makes it a write", word.to_ascii_uppercase()),
                at: Some(range),
            });
        }
    }
    if started {
        Ok(())
    } else {
        Err(NotReadOnly {
            reason: "it holds no statement".to_owned(),
            at: None,
        })
    }
}

/// The column names a `SELECT` returns, when its column list is plain enough to know them
/// (`a`, `t.a`, `expr AS a`); `None` when it is not (`*`, an expression without an alias).
pub(crate) fn select_columns(sql: &str) -> Option<Vec<String>> {
    let tokens = lex(sql);
    let word = |t: &SqlToken| match t {
        SqlToken::Word(range) => sql.get(range.clone()),
        _ => None,
    };
    let start = tokens
        .iter()
        .position(|t| word(t).is_some_and(|w| w.eq_ignore_ascii_case("SELECT")))?;
    let mut depth = 0usize;
    let mut items: Vec<Vec<&SqlToken>> = vec![Vec::new()];
    for token in tokens.iter().skip(start + 1) {
        match token {
            SqlToken::OpenParen => depth += 1,
            SqlToken::CloseParen => depth = depth.saturating_sub(1),
            SqlToken::Word(_)
                if depth == 0 && word(token).is_some_and(|w| w.eq_ignore_ascii_case("FROM")) =>
            {
                break;
            }
            SqlToken::Punct(b',') if depth == 0 => {
                items.push(Vec::new());
                continue;
            }
            _ => {}
        }
        items.last_mut()?.push(token);
    }
    items.iter().map(|item| column_name(item, &word)).collect()
}

fn column_name<'s>(
    item: &[&SqlToken],
    word: &impl Fn(&SqlToken) -> Option<&'s str>,
) -> Option<String> {
    let skip_distinct = match item.first() {
        Some(t)
            if word(t).is_some_and(|w| {
                w.eq_ignore_ascii_case("DISTINCT") || w.eq_ignore_ascii_case("ALL")
            }) =>
        {
            1
        }
        _ => 0,
    };
    let item = item.get(skip_distinct..)?;
    match item {
        [only] => word(only).map(str::to_owned),
        [_, SqlToken::Punct(b'.'), column] => word(column).map(str::to_owned),
        [.., as_word, alias] if word(as_word).is_some_and(|w| w.eq_ignore_ascii_case("AS")) => {
            word(alias).map(str::to_owned)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_are_read_only() {
        assert_eq!(
            read_only("SELECT updated_at, replace(a, 'x', 'y') FROM t WHERE id = :id"),
            Ok(())
        );
        assert_eq!(read_only("WITH x AS (SELECT 1) SELECT * FROM x;"), Ok(()));
    }

    #[test]
    fn writes_are_found_on_tokens() {
        for sql in [
            "WITH x AS (SELECT 1) UPDATE t SET a = 1",
            "INSERT INTO t VALUES (1)",
            "PRAGMA journal_mode = WAL",
            "ATTACH 'x.db' AS x",
            "SELECT 1; DELETE FROM t",
            "REPLACE INTO t VALUES (1)",
        ] {
            assert!(read_only(sql).is_err(), "{sql}");
        }
        assert!(read_only("SELECT 'UPDATE' FROM t").is_ok());
    }

    #[test]
    fn capture_columns() {
        assert_eq!(
            select_columns("SELECT priority, t.owner, count(*) AS n FROM t"),
            Some(vec!["priority".into(), "owner".into(), "n".into()])
        );
        assert_eq!(select_columns("SELECT * FROM t"), None);
        assert_eq!(select_columns("SELECT a + 1 FROM t"), None);
    }

    #[test]
    fn counts_statements() {
        assert_eq!(second_statement("UPDATE t SET a = 1;"), None);
        assert_eq!(
            second_statement("UPDATE t SET a = 1; DELETE FROM t"),
            Some(18..19)
        );
    }
}
