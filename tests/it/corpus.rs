//! The conformance corpus: every `tests/corpus/{ok,err}/*.writ` file is checked.
//!
//! Each file's first line says which codes it must produce (`// expect: E0203, W0301` or
//! `// expect: none`); the test asserts exactly those codes, and snapshots the rendered
//! diagnostics (no colour, fixed width) so any change in wording or spans is reviewed.
//! Regenerate snapshots with `INSTA_UPDATE=always cargo test --test corpus`, never by hand.

use std::fs;
use std::path::{Path, PathBuf};

use writ::diagnostics::{RenderOptions, render};

fn corpus_files(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(folder);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "writ"))
        .collect();
    files.sort();
    files
}

/// The codes a corpus file's header promises, sorted.
fn expected_codes(source: &str, path: &Path) -> Vec<String> {
    let header = source
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("// expect:"))
        .unwrap_or_else(|| panic!("{} has no `// expect:` header", path.display()))
        .trim();
    if header == "none" {
        return Vec::new();
    }
    let mut codes: Vec<String> = header.split(',').map(|c| c.trim().to_owned()).collect();
    codes.sort();
    codes
}

fn check_file(path: &Path) -> (Vec<String>, Vec<String>, String) {
    let source = fs::read_to_string(path).expect("corpus files are UTF-8");
    let expected = expected_codes(&source, path);
    let result = writ::check_source(&source);
    let mut actual: Vec<String> = result
        .diagnostics
        .iter()
        .map(|d| d.code.to_string())
        .collect();
    actual.sort();
    let name = format!(
        "corpus/{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("?")
    );
    let rendered = render(&name, &source, &result.diagnostics, RenderOptions::plain());
    (expected, actual, rendered)
}

#[test]
fn ok_files_have_no_diagnostics() {
    let files = corpus_files("ok");
    assert!(
        files.len() >= 15,
        "the ok corpus has only {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let (expected, actual, rendered) = check_file(path);
        assert!(
            expected.is_empty(),
            "{}: ok files must expect none",
            path.display()
        );
        if !actual.is_empty() {
            failures.push(format!("{}:\n{rendered}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "ok files with diagnostics:\n{}",
        failures.join("\n")
    );
}

#[test]
fn err_files_produce_exactly_their_codes() {
    let files = corpus_files("err");
    assert!(
        files.len() >= 30,
        "the err corpus has only {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let (expected, actual, rendered) = check_file(path);
        if expected != actual {
            failures.push(format!(
                "{}: expected {expected:?}, got {actual:?}\n{rendered}",
                path.display()
            ));
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        insta::with_settings!({ snapshot_path => "../corpus/snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(stem, rendered);
        });
    }
    assert!(
        failures.is_empty(),
        "{} corpus files differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every code of the language has at least one failing corpus file that produces it.
#[test]
fn every_code_is_exercised() {
    let mut seen = std::collections::BTreeSet::new();
    for path in corpus_files("err") {
        let (_, actual, _) = check_file(&path);
        seen.extend(actual);
    }
    let missing: Vec<&str> = writ::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !seen.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes no corpus file produces: {missing:?}"
    );
}
