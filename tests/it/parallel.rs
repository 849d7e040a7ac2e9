//! Large files are parsed on several threads (src/syntax/parallel.rs). The result must be the
//! sequential parse exactly: the same tree and the same byte spans (the AST's `Debug` prints
//! every span's offsets, while its `==` ignores them), and every error path is the sequential one.

use crate::support::generate as support;

use writ::syntax::{parse, parse_parallel, parse_sequential};

fn same_tree(source: &str) {
    let parallel = parse_parallel(source).expect("a large clean file takes the parallel path");
    let sequential = parse_sequential(source).expect("the file parses");
    assert_eq!(
        format!("{parallel:?}"),
        format!("{sequential:?}"),
        "trees or spans differ"
    );
}

#[test]
fn parallel_parse_equals_sequential_spans_included() {
    same_tree(&support::workflow(4_000));
    same_tree(&support::chain(12_000));
    // Comments, blank lines and strings holding braces and `//` between the steps.
    let noisy = support::workflow(4_000)
        .replace(
            "  recommend ",
            "\n  // a comment with { and } and \"quotes\"\n\n  recommend ",
        )
        .replace("title \"", "title \"{ not a brace } // not a comment ");
    same_tree(&noisy);
}

#[test]
fn small_files_stay_sequential() {
    assert!(parse_parallel(&support::workflow(24)).is_none());
}

#[test]
fn errors_in_a_large_file_are_the_sequential_errors() {
    let big = support::workflow(4_000);
    let cut = big.len() * 3 / 4;
    let at = big[cut..]
        .find("risk medium")
        .map(|i| cut + i)
        .expect("a risk clause late in the file");
    let broken = format!(
        "{}risk extreme{}",
        &big[..at],
        &big[at + "risk medium".len()..]
    );
    assert!(
        parse_parallel(&broken).is_none(),
        "a syntax error declines the parallel path"
    );
    let errors = parse(&broken).expect_err("a syntax error");
    let sequential = parse_sequential(&broken).expect_err("a syntax error");
    assert_eq!(format!("{errors:?}"), format!("{sequential:?}"));

    let trailing = format!("{big}\nrole stray\n");
    assert!(
        parse_parallel(&trailing).is_none(),
        "text after the closing brace declines it"
    );
    assert!(parse(&trailing).is_err());
}
