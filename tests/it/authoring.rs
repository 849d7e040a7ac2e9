//! Writing workflows: `writ fmt` (canonical, idempotent, keeps comments and fingerprints),
//! long strings, parser messages for misspelled keywords, YAML plans that YAML 1.1 and 1.2
//! readers read alike, and the docs' examples (`docs/language.md`, `docs/config.md`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use writ::plan::export::{Format, render};
use writ::syntax::lex::{TokenKind, tokens};

use crate::support::bed::Bed;
use crate::support::generate;

fn files_in(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "writ"))
        .collect();
    files.sort();
    files
}

/// Every corpus and example file that parses.
fn parsing_files() -> Vec<(PathBuf, String)> {
    ["workflows", "tests/corpus/ok", "tests/corpus/err"]
        .iter()
        .flat_map(|folder| files_in(folder))
        .map(|path| {
            let text = fs::read_to_string(&path).expect("UTF-8");
            (path, text)
        })
        .filter(|(_, text)| writ::parse(text).is_ok())
        .collect()
}

/// The fingerprint of a file's plan, or its diagnostics' codes when it has no plan.
fn meaning(source: &str) -> String {
    let checked = writ::check_source(source);
    match checked.workflow {
        Some(workflow) => writ::plan(&workflow).fingerprint,
        // Spans move with the layout; what is reported must not.
        None => checked
            .diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn comments(source: &str) -> Vec<String> {
    tokens(source)
        .into_iter()
        .filter(|t| t.kind == TokenKind::Comment)
        .map(|t| t.text(source).trim_end().to_owned())
        .collect()
}

#[test]
fn every_example_and_ok_corpus_file_is_fmt_clean() {
    let mut dirty = Vec::new();
    for folder in ["workflows", "tests/corpus/ok"] {
        for path in files_in(folder) {
            let source = fs::read_to_string(&path).expect("UTF-8");
            let formatted = writ::syntax::format(&source).expect("parses");
            if formatted != source {
                dirty.push(path.display().to_string());
            }
        }
    }
    assert!(
        dirty.is_empty(),
        "not fmt-clean (run `writ fmt`): {dirty:?}"
    );
}

#[test]
fn fmt_is_idempotent_keeps_comments_and_meaning_on_every_corpus_file() {
    let files = parsing_files();
    assert!(files.len() > 100, "{} files", files.len());
    for (path, source) in files {
        let once = writ::syntax::format(&source).expect("parses");
        let twice = writ::syntax::format(&once).expect("formatted text parses");
        assert_eq!(once, twice, "{}: not idempotent", path.display());
        assert_eq!(
            comments(&source),
            comments(&once),
            "{}: comments",
            path.display()
        );
        assert_eq!(
            meaning(&source),
            meaning(&once),
            "{}: meaning",
            path.display()
        );
    }
}

#[test]
fn no_shipped_workflow_has_a_line_over_100_characters_outside_lists_that_cannot_wrap() {
    for path in files_in("workflows") {
        let source = fs::read_to_string(&path).expect("UTF-8");
        for (number, line) in source.lines().enumerate() {
            let is_sql = line.contains("sql \"") && !line.contains("\"\"\"");
            assert!(
                !(is_sql && line.chars().count() > 100),
                "{}:{}: long SQL belongs in a long string",
                path.display(),
                number + 1
            );
        }
    }
}

#[test]
fn fmt_check_prints_a_diff_and_fmt_rewrites() {
    let bed = Bed::new("fmt-check");
    let messy = "workflow w {\n      title   \"t\"   // kept\n  role a,b\n\n\n\n  system db : sqlite inside\n}";
    bed.file("flows/w.writ", messy);
    let check = bed.writ(&["fmt", "--check", "flows"]);
    assert_eq!(check.code, Some(1), "{}", check.describe());
    assert!(
        check.stdout.contains("-      title   \"t\"   // kept"),
        "{}",
        check.describe()
    );
    assert!(
        check.stdout.contains("+  title \"t\" // kept"),
        "{}",
        check.describe()
    );
    assert_eq!(
        fs::read_to_string(bed.path("flows/w.writ")).expect("read"),
        messy
    );

    let fix = bed.writ(&["fmt", "flows"]);
    assert_eq!(fix.code, Some(0), "{}", fix.describe());
    let fixed = fs::read_to_string(bed.path("flows/w.writ")).expect("read");
    assert_eq!(
        fixed,
        "workflow w {\n  title \"t\" // kept\n  role a, b\n\n  system db: sqlite inside\n}\n"
    );
    let again = bed.writ(&["fmt", "--check", "flows"]);
    assert_eq!(again.code, Some(0), "{}", again.describe());
    assert_eq!(again.stdout, "");
}

#[test]
fn fmt_leaves_a_file_with_a_syntax_error_alone() {
    let bed = Bed::new("fmt-broken");
    bed.file("w.writ", "workflow w {\n   title\n");
    let out = bed.writ(&["fmt", "w.writ"]);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    assert!(out.stderr.contains("E0001"), "{}", out.describe());
    assert_eq!(
        fs::read_to_string(bed.path("w.writ")).expect("read"),
        "workflow w {\n   title\n"
    );
}

/// Rebuilds `source` from its tokens with other whitespace between them (a newline after every
/// comment, so comments stay comments).
fn respaced(source: &str, gaps: &[u8]) -> String {
    let mut out = String::new();
    let mut previous_end = 0;
    for (index, token) in tokens(source).into_iter().enumerate() {
        if token.kind == TokenKind::Comment && index > 0 {
            // Whether a comment follows code on its line is part of the layout: keep it.
            let own_line = source[previous_end..token.span.start].contains('\n');
            out.push_str(if own_line { "\n" } else { " " });
        } else if index > 0 {
            let gap = gaps.get(index % gaps.len().max(1)).copied().unwrap_or(0);
            out.push_str(match gap % 4 {
                0 => " ",
                1 => "  \t",
                2 => "\n",
                _ => "\n\n\n   ",
            });
        }
        out.push_str(token.text(source));
        if token.kind == TokenKind::Comment {
            out.push('\n');
        }
        previous_end = token.span.end;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// One canonical layout: however a file is spaced, fmt gives the same text, and the plan
    /// does not change.
    #[test]
    fn fmt_output_does_not_depend_on_the_input_spacing(
        which in 0usize..1_000,
        gaps in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let files = files_in("tests/corpus/ok");
        let path = &files[which % files.len()];
        let source = fs::read_to_string(path).expect("UTF-8");
        let respaced = respaced(&source, &gaps);
        let canonical = writ::syntax::format(&source).expect("parses");
        let from_respaced = writ::syntax::format(&respaced).expect("respaced parses");
        // Blank lines are kept where the file had them, so compare without them.
        let strip = |text: &str| text.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n");
        prop_assert_eq!(strip(&canonical), strip(&from_respaced));
        prop_assert_eq!(meaning(&source), meaning(&from_respaced));
    }

    /// Generated workflows (tests/support/generate.rs): idempotent and fingerprint-preserving.
    #[test]
    fn fmt_is_idempotent_and_keeps_the_fingerprint_of_generated_workflows(steps in 1usize..60, chain in any::<bool>()) {
        let source = if chain { generate::chain(steps) } else { generate::workflow(steps) };
        let once = writ::syntax::format(&source).expect("parses");
        prop_assert_eq!(&writ::syntax::format(&once).expect("parses"), &once);
        prop_assert_eq!(meaning(&source), meaning(&once));
        prop_assert_eq!(comments(&source), comments(&once));
    }
}

#[test]
fn long_strings_span_lines_and_take_quotes_as_written() {
    let source = "workflow w {\n  role lead\n  system db: sqlite inside\n  recommend s {\n    reads db\n    run sql \"\"\"\n      SELECT \"name\" FROM t\n      WHERE id = :id AND note = 'a\\tb'\n    \"\"\"\n    yields name: text\n  }\n  input id: int\n}\n";
    let workflow = writ::parse(source).expect("parses");
    let debug = format!("{workflow:?}");
    assert!(
        debug.contains(
            "\\n      SELECT \\\"name\\\" FROM t\\n      WHERE id = :id AND note = 'a\\tb'\\n    "
        ),
        "{debug}"
    );
    // The reference inside is found, at its place in the file.
    let unknown = source.replace(":id", ":missing");
    let checked = writ::check_source(&unknown);
    let e0101 = checked
        .diagnostics
        .iter()
        .find(|d| d.code == writ::Code::E0101)
        .expect("E0101 for :missing");
    let span = e0101.primary.span;
    assert_eq!(unknown.get(span.start..span.end), Some("missing"));
}

#[test]
fn an_unclosed_long_string_is_named_as_one() {
    let source = "workflow w {\n  title \"\"\"never closed\n}\n";
    let diagnostics = writ::parse(source).expect_err("unclosed");
    assert_eq!(diagnostics[0].message, "unterminated long string");
}

#[test]
fn a_misspelled_keyword_is_never_reported_as_the_rest_of_a_keyword() {
    const KEYWORDS: &[&str] = &[
        "workflow",
        "title",
        "description",
        "owner",
        "role",
        "system",
        "input",
        "recommend",
        "confirm",
        "execute",
        "rollback",
        "undoes",
        "after",
        "reads",
        "writes",
        "run",
        "yields",
        "in",
        "by",
        "shows",
        "expires",
        "reject",
        "escalate",
        "risk",
        "approver",
        "auto",
        "when",
        "acceptance",
        "over",
        "min",
        "and",
        "critical",
        "capture",
        "verify",
        "repair",
        "sql",
        "exec",
        "http",
        "json",
    ];
    let files: Vec<PathBuf> = files_in("tests/corpus/err")
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("misspelled_keyword"))
        .collect();
    assert_eq!(files.len(), 17, "one file per first letter of a keyword");
    for path in files {
        let source = fs::read_to_string(&path).expect("UTF-8");
        let diagnostics = writ::parse(&source).expect_err("misspelled");
        let message = &diagnostics[0].message;
        for keyword in KEYWORDS {
            let rest = format!("`{}`", &keyword[1..]);
            assert!(
                !message.contains(&rest) || KEYWORDS.contains(&&keyword[1..]),
                "{}: {message}",
                path.display()
            );
        }
        assert!(
            message.starts_with("expected "),
            "{}: {message}",
            path.display()
        );
    }
}

/// Reads YAML with PyYAML (a YAML 1.1 reader) into JSON.
fn pyyaml_to_json(yaml: &str) -> serde_json::Value {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (PyYAML: pip install pyyaml; .ci/run installs it)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("python3 ends");
    assert!(
        output.status.success(),
        "PyYAML: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json")
}

#[test]
fn yaml_plans_read_the_same_with_yaml_1_1_and_1_2_readers() {
    let tricky = "workflow w {\n  owner lead\n  role lead\n  system db: sqlite inside\n  recommend s {\n    reads db\n    run sql \"SELECT a FROM t\"\n    yields a: text in [\"yes\", \"no\", \"on\", \"off\", \"y\", \"N\", \"1_000\", \"1:30\", \"0b101\", \"2024-01-31\", \"~\", \"null\", \"true\", \"=\", \"<<\", \"12\", \"1.5\", \"plain\"]\n  }\n}\n";
    let mut sources: Vec<(String, String)> = files_in("workflows")
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                fs::read_to_string(&p).expect("UTF-8"),
            )
        })
        .collect();
    sources.push(("tricky".to_owned(), tricky.to_owned()));
    for (name, source) in sources {
        let checked = writ::check_source(&source);
        let workflow = checked.workflow.unwrap_or_else(|| panic!("{name} checks"));
        let plan = writ::plan(&workflow);
        let yaml = render(&plan, Format::Yaml).expect("yaml");
        let json: serde_json::Value =
            serde_json::from_str(&render(&plan, Format::Json).expect("json")).expect("json");
        let yaml12: serde_json::Value = serde_yaml::from_str(&yaml).expect("YAML 1.2 reads it");
        assert_eq!(yaml12, json, "{name}: YAML 1.2 (serde_norway)");
        assert_eq!(
            pyyaml_to_json(&yaml),
            json,
            "{name}: YAML 1.1 (PyYAML)\n{yaml}"
        );
    }
}

/// The bodies of every ```` ```LANG ```` block of a doc.
fn blocks(doc: &str, lang: &str) -> Vec<String> {
    let open = format!("```{lang}\n");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(at) = rest.find(&open) {
        let body = &rest[at + open.len()..];
        let end = body.find("\n```").expect("closed block");
        out.push(body[..end + 1].to_owned());
        rest = &body[end..];
    }
    out
}

fn doc(name: &str) -> String {
    fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name),
    )
    .expect("doc exists")
}

#[test]
fn every_writ_example_of_the_language_doc_checks_as_it_says() {
    let examples = blocks(&doc("language.md"), "writ");
    assert!(examples.len() >= 10, "{} examples", examples.len());
    for example in examples {
        // An example whose first line is `// expect: CODE, ...` must produce those codes; any
        // other is a complete workflow that checks clean and is fmt-clean.
        let checked = writ::check_source(&example);
        let mut codes: Vec<String> = checked
            .diagnostics
            .iter()
            .map(|d| d.code.to_string())
            .collect();
        codes.sort();
        match example
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// expect: "))
        {
            Some(expected) => {
                let mut expected: Vec<String> =
                    expected.split(',').map(|c| c.trim().to_owned()).collect();
                expected.sort();
                assert_eq!(codes, expected, "example:\n{example}");
            }
            None => {
                assert!(codes.is_empty(), "{codes:?} in example:\n{example}");
                assert_eq!(
                    writ::syntax::format(&example).ok().as_deref(),
                    Some(example.as_str())
                );
            }
        }
    }
}

#[test]
fn the_config_doc_example_loads_with_every_key() {
    let examples = blocks(&doc("config.md"), "yaml");
    assert!(!examples.is_empty());
    let full = &examples[0];
    for key in [
        "state:",
        "signers:",
        "identity:",
        "sandbox:",
        "write:",
        "network:",
        "people:",
        "systems:",
        "sqlite:",
        "http:",
        "token_env:",
        "timeout:",
        "exec:",
        "limits:",
        "step_timeout:",
        "concurrency:",
    ] {
        assert!(full.contains(key), "the full example shows `{key}`");
    }
    for (index, example) in examples.iter().enumerate() {
        let config = writ::runtime::config::parse(example, Path::new("/srv/writ/writ.yaml"));
        assert!(
            config.is_ok(),
            "example {index} of docs/config.md: {config:?}\n{example}"
        );
    }
}

#[test]
fn the_ci_doc_and_the_pre_commit_hook_use_real_commands() {
    let ci = doc("ci.md");
    for needle in [
        "--format sarif",
        "upload-sarif",
        "--format github",
        "gitlab",
        "pre-commit",
    ] {
        assert!(
            ci.to_lowercase().contains(&needle.to_lowercase()),
            "docs/ci.md: {needle}"
        );
    }
    let hooks =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"))
            .expect("hooks file");
    let parsed: serde_json::Value = serde_yaml::from_str(&hooks).expect("YAML");
    let ids: Vec<&str> = parsed
        .as_array()
        .expect("a list of hooks")
        .iter()
        .filter_map(|h| h["id"].as_str())
        .collect();
    assert_eq!(ids, ["writ-lint", "writ-fmt"]);
}
