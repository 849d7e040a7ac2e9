//! What the checker reads out of SQL text: whether it is one statement, whether it is a
//! read-only `SELECT` (E0205), and which columns a `capture` returns (for `before.col`).
//!
//! All judgements are made on tokens from [`crate::syntax::sql::lex`], never on substrings:
//! `updated_at` is a column, not an `UPDATE`; `':x'` is a string, not a reference.

use std::ops::Range;

use crate::syntax::sql::{SqlToken, lex, tokens};
use crate::syntax::sql_reads::{function_acts, pragma_reads};

/// Statement keywords that write (or change the connection). They count only where a statement
/// starts: SQLite lets most of them name a column too (`release`, `begin`, `replace`).
const STATEMENT_WRITES: &[&str] = &[
    "INSERT",
    "UPDATE",
    "DELETE",
    "REPLACE",
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
    "END",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
];

/// Reserved words that only a write holds, so they count wherever they stand outside
/// parentheses (SQLite does not accept them as bare column names).
const CLAUSE_WRITES: &[&str] = &["INSERT", "UPDATE", "DELETE", "RETURNING"];

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

fn is_one_of(word: &str, list: &[&str]) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// Where the judge is in the statement's outer structure.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Before the first word.
    Start,
    /// Inside the `WITH` list, before the main statement's keyword.
    CteList,
    /// In the main `SELECT`.
    Select,
}

/// The state of [`read_only`]'s one pass.
struct Judge<'s> {
    sql: &'s str,
    place: Place,
    depth: usize,
    /// The `;` after the first statement, once seen.
    separator: Option<Range<usize>>,
    /// In the `WITH` list: the last outer word was `AS` or `MATERIALIZED`, so the next
    /// parenthesis opens a CTE's body.
    body_next: bool,
    /// In the `WITH` list: inside a CTE's body (at depth 1 or more).
    in_body: bool,
    /// The body's first word is still to come.
    body_start: bool,
    /// In the `WITH` list: the last outer token closed a CTE's body.
    after_body: bool,
    /// At the start: how much of `EXPLAIN QUERY PLAN` has been read (1, 2, 3 words).
    explain: u8,
}

/// Judges `sql` as a single read-only `SELECT` (a `WITH ... SELECT` counts), in one pass over
/// its tokens. A write is judged on structure, not on words alone (SQLite lets `release` or
/// `replace` name a column): the statement starts with `SELECT` or `WITH`; after a `WITH` list
/// the main statement is a `SELECT`, and no common table expression's body starts with a write;
/// `INSERT`, `UPDATE`, `DELETE` and `RETURNING` stand nowhere outside parentheses; and
/// no function with a side effect (`load_extension`) is called, nor any `pragma_*` function
/// that does not only read (`pragma_optimize`), bare or quoted.
///
/// What SQLite calls reads besides: `VALUES` (alone, or as the main statement after a `WITH`
/// list), `EXPLAIN [QUERY PLAN]` of a statement that is itself a read, and a `PRAGMA` that
/// only reads (`PRAGMA [schema.]name` or `name(argument)` of a pragma in
/// [`crate::syntax::sql_reads`], never `= value`).
pub(crate) fn read_only(sql: &str) -> Result<(), NotReadOnly> {
    if let Some(pragma) = pragma_statement(sql) {
        return pragma;
    }
    let mut judge = Judge {
        sql,
        place: Place::Start,
        depth: 0,
        separator: None,
        body_next: false,
        in_body: false,
        body_start: false,
        after_body: false,
        explain: 0,
    };
    let mut tokens = tokens(sql).peekable();
    while let Some(token) = tokens.next() {
        let called = matches!(tokens.peek(), Some(SqlToken::OpenParen));
        judge.token(token, called)?;
    }
    if judge.place == Place::Start {
        Err(NotReadOnly {
            reason: "it holds no statement".to_owned(),
            at: None,
        })
    } else {
        Ok(())
    }
}

impl Judge<'_> {
    /// Takes one token; `called` says whether a `(` follows it.
    fn token(&mut self, token: SqlToken, called: bool) -> Result<(), NotReadOnly> {
        match token {
            SqlToken::Semicolon(range) if self.place != Place::Start => {
                self.separator.get_or_insert(range);
            }
            SqlToken::OpenParen => {
                self.depth += 1;
                if self.depth == 1 && self.place == Place::CteList {
                    self.in_body = self.body_next;
                    self.body_start = self.body_next;
                }
                self.body_next = false;
                self.after_body = false;
            }
            SqlToken::CloseParen => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 && self.place == Place::CteList {
                    self.after_body = self.in_body;
                    self.in_body = false;
                    self.body_start = false;
                }
            }
            SqlToken::Word(range) => self.word(range, called)?,
            SqlToken::Quoted(range) => {
                self.acts(range.clone(), called)?;
                if self.place == Place::Start {
                    return Err(NotReadOnly {
                        reason: "it does not start with `SELECT`".to_owned(),
                        at: Some(range),
                    });
                }
                if self.depth == 0 {
                    self.after_body = false;
                    self.body_next = false;
                }
            }
            _ if self.depth == 0 => {
                // A `,` after a body starts the next CTE.
                self.after_body = false;
                self.body_next = false;
            }
            _ => {}
        }
        Ok(())
    }

    fn word(&mut self, range: Range<usize>, called: bool) -> Result<(), NotReadOnly> {
        if self.separator.is_some() {
            return Err(NotReadOnly {
                reason: "it holds more than one statement".to_owned(),
                at: self.separator.clone(),
            });
        }
        let word = self.sql.get(range.clone()).unwrap_or("");
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword);
        let is_write = || is_one_of(word, STATEMENT_WRITES) || is_one_of(word, CLAUSE_WRITES);
        let upper = || word.to_ascii_uppercase();
        let refuse = |reason: String| {
            Err(NotReadOnly {
                reason,
                at: Some(range.clone()),
            })
        };
        self.acts(range.clone(), called)?;
        let body_start = std::mem::take(&mut self.body_start);
        match self.place {
            Place::Start if is("SELECT") || is("VALUES") => self.place = Place::Select,
            Place::Start if self.explain == 0 && is("EXPLAIN") => self.explain = 1,
            Place::Start if self.explain == 1 && is("QUERY") => self.explain = 2,
            Place::Start if self.explain == 2 && is("PLAN") => self.explain = 3,
            Place::Start if is("WITH") => self.place = Place::CteList,
            Place::Start => return refuse(format!("it starts with `{}`, not `SELECT`", upper())),
            // The main statement's keyword, after the last CTE's body.
            Place::CteList if self.depth == 0 && self.after_body => {
                if is("SELECT") || is("VALUES") {
                    self.place = Place::Select;
                } else if is_write() {
                    return refuse(format!("`{}` makes it a write", upper()));
                } else {
                    return refuse(format!(
                        "after its `WITH` list it runs `{}`, not `SELECT`",
                        upper()
                    ));
                }
            }
            Place::CteList if self.depth == 0 => {
                self.body_next = is("AS") || is("MATERIALIZED");
            }
            Place::CteList if body_start && is_write() => {
                return refuse(format!("`{}` makes it a write", upper()));
            }
            Place::CteList => {}
            Place::Select if self.depth == 0 && is_one_of(word, CLAUSE_WRITES) => {
                return refuse(format!("`{}` makes it a write", upper()));
            }
            Place::Select => {}
        }
        Ok(())
    }
}

impl Judge<'_> {
    /// Refuses a call of a function with a side effect, or a `pragma_*` function (or table)
    /// that does not only read, named by the word or quoted identifier at `range`.
    fn acts(&self, range: Range<usize>, called: bool) -> Result<(), NotReadOnly> {
        let name = self.sql.get(range.clone()).unwrap_or("");
        let reason = if called && function_acts(name) {
            format!("`{name}` acts on the connection")
        } else {
            match strip_prefix_ignore_case(name, "pragma_") {
                Some(pragma) if !pragma_reads(pragma, called) => {
                    format!("`{name}` runs `PRAGMA {pragma}`, which does not only read")
                }
                _ => return Ok(()),
            }
        };
        Err(NotReadOnly {
            reason,
            at: Some(range),
        })
    }
}

fn strip_prefix_ignore_case<'s>(text: &'s str, prefix: &str) -> Option<&'s str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// A statement that starts with `PRAGMA`, judged: `PRAGMA [schema.]name [(argument)] [;]`,
/// of a pragma that only reads. `None` when it does not start with `PRAGMA`.
fn pragma_statement(sql: &str) -> Option<Result<(), NotReadOnly>> {
    let mut tokens = tokens(sql).peekable();
    let word = |token: &SqlToken| match token {
        SqlToken::Word(range) | SqlToken::Quoted(range) => {
            sql.get(range.clone()).map(|w| (w, range.clone()))
        }
        _ => None,
    };
    let (first, _) = tokens.peek().and_then(word)?;
    if !first.eq_ignore_ascii_case("PRAGMA") {
        return None;
    }
    tokens.next();
    let refuse = |reason: String, at: Option<Range<usize>>| Some(Err(NotReadOnly { reason, at }));
    let Some((mut name, mut at)) = tokens.next().as_ref().and_then(word) else {
        return refuse("`PRAGMA` names no pragma".to_owned(), None);
    };
    if matches!(tokens.peek(), Some(SqlToken::Punct(b'.'))) {
        tokens.next();
        match tokens.next().as_ref().and_then(word) {
            Some((pragma, range)) => (name, at) = (pragma, range),
            None => return refuse("`PRAGMA` names no pragma".to_owned(), None),
        }
    }
    let rest: Vec<SqlToken> = tokens.collect();
    let with_argument = matches!(rest.first(), Some(SqlToken::OpenParen));
    let plain = match rest.as_slice() {
        [] | [SqlToken::Semicolon(_)] => true,
        [SqlToken::OpenParen, middle @ .., SqlToken::CloseParen]
        | [
            SqlToken::OpenParen,
            middle @ ..,
            SqlToken::CloseParen,
            SqlToken::Semicolon(_),
        ] => {
            // One name (a string argument is no token at all).
            middle.len() <= 1
        }
        _ => false,
    };
    if !plain {
        return refuse(
            format!("`PRAGMA {name}` sets a value or holds more than one statement"),
            Some(at),
        );
    }
    if !pragma_reads(name, with_argument) {
        return refuse(format!("`PRAGMA {name}` does not only read"), Some(at));
    }
    Some(Ok(()))
}

/// The column names a `SELECT` returns, when its column list is plain enough to know them
/// (`a`, `t.a`, `expr AS a`); `None` when it is not (`*`, an expression without an alias, a
/// statement that starts with `WITH`).
pub(crate) fn select_columns(sql: &str) -> Option<Vec<String>> {
    let tokens = lex(sql);
    let word = |t: &SqlToken| match t {
        SqlToken::Word(range) => sql.get(range.clone()),
        _ => None,
    };
    let first = tokens.iter().find_map(word)?;
    if first.eq_ignore_ascii_case("WITH") {
        return None;
    }
    // The first `SELECT` outside parentheses: one inside them belongs to a subquery.
    let mut depth = 0usize;
    let start = tokens.iter().position(|t| {
        match t {
            SqlToken::OpenParen => depth += 1,
            SqlToken::CloseParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        depth == 0 && word(t).is_some_and(|w| w.eq_ignore_ascii_case("SELECT"))
    })?;
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
    fn keywords_naming_columns_are_not_writes() {
        for sql in [
            "SELECT p, release FROM t WHERE id = :id",
            "SELECT begin, commit, analyze, replace, pragma FROM t",
            "SELECT load_extension FROM t",
            "SELECT a FROM t WHERE b IN (SELECT release FROM u)",
            "WITH x AS (SELECT id FROM t) SELECT p FROM t, x WHERE t.id = x.id",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n",
            "WITH a AS NOT MATERIALIZED (SELECT 1), b AS (SELECT 2) SELECT * FROM a, b",
        ] {
            assert_eq!(read_only(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn writes_are_found_on_structure() {
        let reason = |sql: &str| read_only(sql).err().map(|e| e.reason);
        assert_eq!(
            reason("WITH x AS (DELETE FROM t RETURNING id) SELECT * FROM x").as_deref(),
            Some("`DELETE` makes it a write")
        );
        assert_eq!(
            reason("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x").as_deref(),
            Some("`INSERT` makes it a write")
        );
        assert_eq!(
            reason("WITH x AS (SELECT 1) TABLE x").as_deref(),
            Some("after its `WITH` list it runs `TABLE`, not `SELECT`")
        );
        assert_eq!(
            reason("SELECT load_extension('evil.so')").as_deref(),
            Some("`load_extension` acts on the connection")
        );
        assert_eq!(
            reason("SELECT a FROM t RETURNING a").as_deref(),
            Some("`RETURNING` makes it a write")
        );
        assert_eq!(
            reason("release sp").as_deref(),
            Some("it starts with `RELEASE`, not `SELECT`")
        );
        // The span is the offending word.
        let sql = "WITH x AS (SELECT 1) UPDATE t SET a = 1";
        let at = read_only(sql).err().and_then(|e| e.at);
        assert_eq!(at.and_then(|r| sql.get(r)), Some("UPDATE"));
    }

    #[test]
    fn what_sqlite_calls_reads_is_read_only() {
        for sql in [
            "PRAGMA user_version",
            "pragma main.table_info(tickets);",
            "PRAGMA table_info('tickets')",
            "PRAGMA \"index_list\"([tickets])",
            "EXPLAIN SELECT * FROM t",
            "EXPLAIN QUERY PLAN SELECT * FROM t WHERE a = :a",
            "VALUES (1, 'a'), (2, 'b')",
            "WITH x AS (SELECT 1) VALUES (1)",
            "SELECT name FROM pragma_table_info('t')",
            "SELECT * FROM pragma_user_version",
            "SELECT \"a\", [b], `c` FROM \"t\"",
        ] {
            assert_eq!(read_only(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn side_effects_are_refused_however_quoted() {
        let reason = |sql: &str| read_only(sql).err().map(|e| e.reason);
        for sql in [
            "SELECT \"load_extension\"('evil.so')",
            "SELECT `LOAD_EXTENSION`('evil.so')",
            "SELECT [load_extension]('evil.so')",
            "SELECT * FROM pragma_optimize(0x10002)",
            "SELECT * FROM \"pragma_optimize\"",
            "SELECT * FROM [PRAGMA_WAL_CHECKPOINT]",
            "PRAGMA optimize",
            "PRAGMA user_version = 3",
            "PRAGMA user_version(3)",
            "PRAGMA journal_mode = WAL",
            "PRAGMA table_info(t); DELETE FROM t",
            "EXPLAIN UPDATE t SET a = 1",
            "EXPLAIN QUERY PLAN INSERT INTO t VALUES (1)",
            "\"SELECT\" 1",
        ] {
            assert!(reason(sql).is_some(), "{sql}");
        }
        let sql = "SELECT x FROM \"pragma_optimize\"(1)";
        let at = read_only(sql).err().and_then(|e| e.at);
        assert_eq!(at.and_then(|r| sql.get(r)), Some("pragma_optimize"));
    }

    #[test]
    fn capture_columns() {
        assert_eq!(
            select_columns("SELECT priority, t.owner, count(*) AS n FROM t"),
            Some(vec!["priority".into(), "owner".into(), "n".into()])
        );
        assert_eq!(select_columns("SELECT * FROM t"), None);
        assert_eq!(select_columns("SELECT a + 1 FROM t"), None);
        assert_eq!(
            select_columns("WITH x AS (SELECT id FROM t) SELECT p FROM t, x"),
            None
        );
        assert_eq!(
            select_columns("SELECT (SELECT max(b) FROM u) AS top, a FROM t"),
            Some(vec!["top".into(), "a".into()])
        );
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
