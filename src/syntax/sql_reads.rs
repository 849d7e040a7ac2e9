//! What SQLite does for a read and what it does not, shared by the checker (E0205, on tokens)
//! and the runtime's authorizer (`runtime/connector/authorize.rs`, on SQLite's own actions),
//! so both hold a read-only position to the same lists.

/// Pragmas whose query form (`PRAGMA name` or `pragma_name` in a `SELECT`, with no value) has
/// no side effect.
const QUERY_PRAGMAS: &[&str] = &[
    "application_id",
    "auto_vacuum",
    "automatic_index",
    "busy_timeout",
    "cache_size",
    "cache_spill",
    "cell_size_check",
    "checkpoint_fullfsync",
    "collation_list",
    "compile_options",
    "data_version",
    "database_list",
    "defer_foreign_keys",
    "encoding",
    "foreign_keys",
    "freelist_count",
    "fullfsync",
    "function_list",
    "ignore_check_constraints",
    "journal_mode",
    "journal_size_limit",
    "legacy_alter_table",
    "locking_mode",
    "max_page_count",
    "mmap_size",
    "module_list",
    "page_count",
    "page_size",
    "pragma_list",
    "query_only",
    "read_uncommitted",
    "recursive_triggers",
    "reverse_unordered_selects",
    "schema_version",
    "secure_delete",
    "synchronous",
    "temp_store",
    "trusted_schema",
    "user_version",
    "wal_autocheckpoint",
];

/// Pragmas that take an argument naming what to describe (`table_info(t)`), and only read.
const DESCRIBING_PRAGMAS: &[&str] = &[
    "foreign_key_check",
    "foreign_key_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "integrity_check",
    "quick_check",
    "table_info",
    "table_list",
    "table_xinfo",
];

/// Functions with a side effect on the connection or the machine.
const ACTING_FUNCTIONS: &[&str] = &["load_extension", "fts3_tokenizer", "readfile", "writefile"];

/// Whether `name` (as written, any case) is a pragma a read may query, with `value` its
/// argument or the value it would set.
pub fn pragma_reads(name: &str, with_value: bool) -> bool {
    let known = |list: &[&str]| list.iter().any(|p| p.eq_ignore_ascii_case(name));
    known(DESCRIBING_PRAGMAS) || (!with_value && known(QUERY_PRAGMAS))
}

/// Whether `name` (any case) is a function a read may not call.
pub fn function_acts(name: &str) -> bool {
    ACTING_FUNCTIONS
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name))
}
