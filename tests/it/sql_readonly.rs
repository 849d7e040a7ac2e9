//! Read-only positions judged as SQLite judges them (docs/runtime.md, "Read-only positions"):
//! at run time SQLite's authorizer denies whatever is not a read, even what its read-only flag
//! lets through (`pragma_optimize` runs `ANALYZE`), inside a write's transaction too; and the
//! checker accepts what SQLite calls reads (read-only `PRAGMA` queries, `EXPLAIN`, `VALUES`)
//! while refusing side effects however they are quoted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use writ::runtime::connector::sqlite::Images;
use writ::runtime::connector::{ConnectorError, sqlite};
use writ::runtime::value::Value;

use crate::crash::WORKFLOW;
use crate::support::bed::{Bed, Outcome};

const SECOND: Duration = Duration::from_secs(1);

fn database(bed: &Bed) -> PathBuf {
    bed.sql(
        "ledger.db",
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER);
         CREATE INDEX by_balance ON accounts (balance);
         INSERT INTO accounts VALUES (1, 10), (2, 20);",
    );
    bed.path("ledger.db")
}

fn tables(db: &Path) -> Vec<String> {
    let connection = rusqlite::Connection::open(db).unwrap();
    let mut statement = connection
        .prepare("SELECT name FROM sqlite_master ORDER BY name")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn refused(result: Result<Vec<writ::runtime::connector::Row>, ConnectorError>) -> String {
    match result {
        Err(error @ ConnectorError::NotARead { .. }) => error.to_string(),
        other => panic!("not refused as a read: {other:?}"),
    }
}

#[test]
fn pragma_optimize_is_refused_at_run_time_and_creates_nothing() {
    let bed = Bed::new("readonly-optimize");
    let db = database(&bed);
    let before = tables(&db);
    for sql in [
        "SELECT * FROM pragma_optimize(0x10002)",
        "SELECT * FROM \"pragma_optimize\"(-1)",
        "PRAGMA optimize",
        "ANALYZE",
    ] {
        let error = refused(sqlite::read(&db, sql, &[], SECOND));
        assert!(error.contains("a read may not"), "{sql}: {error}");
    }
    // Inside a write's transaction, a capture is held to reading as well.
    let capture = sqlite::write(
        &db,
        Some(("SELECT * FROM pragma_optimize(0x10002)", &[])),
        (
            "UPDATE accounts SET balance = balance + 1 WHERE id = 1",
            &[],
        ),
        SECOND,
        |_: Images<'_>| Ok::<(), ConnectorError>(()),
    );
    assert!(
        matches!(capture, Err(ConnectorError::NotARead { .. })),
        "{capture:?}"
    );
    assert_eq!(
        tables(&db),
        before,
        "no `sqlite_stat1` or other table appeared"
    );
    let balance = sqlite::read(
        &db,
        "SELECT balance FROM accounts WHERE id = 1",
        &[],
        SECOND,
    );
    assert_eq!(
        balance.unwrap()[0]["balance"],
        Value::Int(10),
        "nothing written"
    );
}

#[test]
fn load_extension_is_refused_however_it_is_quoted() {
    let bed = Bed::new("readonly-extension");
    let db = database(&bed);
    for sql in [
        "SELECT load_extension('/tmp/evil.so')",
        "SELECT \"load_extension\"('/tmp/evil.so')",
        "SELECT `LOAD_EXTENSION`('/tmp/evil.so')",
        "SELECT [load_extension]('/tmp/evil.so')",
    ] {
        let error = refused(sqlite::read(&db, sql, &[], SECOND));
        assert!(error.contains("load_extension"), "{sql}: {error}");
    }
}

#[test]
fn reads_that_sqlite_calls_reads_run() {
    let bed = Bed::new("readonly-reads");
    let db = database(&bed);
    for (sql, column) in [
        ("PRAGMA user_version", "user_version"),
        ("PRAGMA main.table_info(accounts)", "name"),
        ("SELECT name FROM pragma_table_info('accounts')", "name"),
        ("SELECT * FROM pragma_index_list('accounts')", "name"),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM accounts WHERE balance > 5",
            "detail",
        ),
        ("EXPLAIN SELECT 1", "opcode"),
        ("VALUES (1, 'a'), (2, 'b')", "column1"),
        (
            "WITH RECURSIVE n(i) AS (VALUES (1) UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n",
            "i",
        ),
    ] {
        let rows = sqlite::read(&db, sql, &[], SECOND).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert!(
            rows.first().is_some_and(|row| row.contains_key(column)),
            "{sql}: {rows:?}"
        );
    }
    for sql in [
        "PRAGMA user_version = 7",
        "PRAGMA journal_mode = DELETE",
        "SELECT * FROM pragma_wal_checkpoint",
        "ATTACH 'other.db' AS other",
        "SELECT * FROM accounts; DELETE FROM accounts",
    ] {
        let result = sqlite::read(&db, sql, &[], SECOND);
        assert!(result.is_err(), "{sql}: {result:?}");
    }
    let version = sqlite::read(&db, "PRAGMA user_version", &[], SECOND).unwrap();
    assert_eq!(version[0]["user_version"], Value::Int(0));
}

/// The checker on a capture: the crash workflow's `first` capture replaced by `sql`.
fn check_capture(bed: &Bed, name: &str, sql: &str) -> Outcome {
    let text = WORKFLOW.replace(
        "SELECT priority, writes FROM tickets WHERE id = :ticket_id",
        sql,
    );
    let file = format!("{name}.writ");
    bed.file(&file, &text);
    bed.writ(&["check", &file])
}

#[test]
fn the_checker_judges_read_only_positions_as_sqlite_does() {
    let bed = Bed::new("readonly-check");
    for (name, sql) in [
        ("optimize", "SELECT * FROM pragma_optimize(0x10002)"),
        (
            "quoted_optimize",
            "SELECT * FROM \\\"pragma_optimize\\\"(-1)",
        ),
        (
            "quoted_extension",
            "SELECT \\\"load_extension\\\"('x.so') AS priority",
        ),
        (
            "bracketed_extension",
            "SELECT [load_extension]('x.so') AS priority",
        ),
        ("pragma_set", "PRAGMA user_version = 3"),
        ("pragma_acts", "PRAGMA optimize"),
        (
            "explain_write",
            "EXPLAIN UPDATE tickets SET priority = 'low'",
        ),
    ] {
        let out = check_capture(&bed, name, sql);
        assert_eq!(out.code, Some(1), "[{name}] refused: {}", out.stderr);
        assert!(out.stderr.contains("E0205"), "[{name}] {}", out.stderr);
    }
    for (name, sql) in [
        ("pragma_query", "PRAGMA table_info(tickets)"),
        (
            "pragma_function",
            "SELECT name FROM pragma_table_info('tickets')",
        ),
        ("explain", "EXPLAIN QUERY PLAN SELECT priority FROM tickets"),
        ("values", "VALUES ('low', 0)"),
    ] {
        let out = check_capture(&bed, name, sql);
        assert!(
            !out.stderr.contains("E0205"),
            "[{name}] accepted as a read: {}",
            out.stderr
        );
    }
}
