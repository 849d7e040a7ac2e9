//! Hostile and huge input: the parser and checker answer with diagnostics, never a panic, a
//! stack overflow or a span outside the file.
//!
//! The property tests run few cases so the file stays fast in debug builds. For a longer run:
//! `PROPTEST_CASES=100000 cargo test --release --test robustness`.

use crate::support::generate;

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use writ::diagnostics::{RenderOptions, render};
use writ::{Code, Diagnostic, Severity};

/// What the operating system gives a spawned thread by default: the check must fit in it.
const DEFAULT_THREAD_STACK: usize = 2 * 1024 * 1024;

/// Cases per property when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 256;

fn codes(diagnostics: &[Diagnostic]) -> Vec<Code> {
    diagnostics.iter().map(|d| d.code).collect()
}

/// Every span of every diagnostic lies within `source` and on char boundaries, so renderers
/// and editors can slice the file with it.
fn assert_spans_valid(source: &str, diagnostics: &[Diagnostic]) -> Result<(), String> {
    for d in diagnostics {
        let spans =
            std::iter::once(("primary", &d.primary)).chain(d.labels.iter().map(|l| ("label", l)));
        for (what, label) in spans {
            let span = label.span;
            let ok = span.start <= span.end
                && span.end <= source.len()
                && source.is_char_boundary(span.start)
                && source.is_char_boundary(span.end);
            if !ok {
                return Err(format!(
                    "{} {what} span {}..{} is not within the {}-byte source on char boundaries: {}",
                    d.code,
                    span.start,
                    span.end,
                    source.len(),
                    d.message
                ));
            }
        }
    }
    Ok(())
}

/// Checks `source` and asserts it is clean, printing the rendered diagnostics if not.
fn assert_clean(name: &str, source: &str) {
    let checked = writ::check_source(source);
    assert!(
        checked.diagnostics.is_empty(),
        "{name} should check clean:\n{}",
        render(name, source, &checked.diagnostics, RenderOptions::plain())
    );
    assert!(
        checked.workflow.is_some(),
        "{name}: a clean check yields a checked workflow"
    );
}

/// The example workflows, read once for all property cases.
fn example_workflows() -> &'static [String] {
    static FILES: OnceLock<Vec<String>> = OnceLock::new();
    FILES.get_or_init(read_example_workflows)
}

fn read_example_workflows() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "writ"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no workflows/*.writ files");
    paths
        .iter()
        .map(|p| fs::read_to_string(p).expect("workflows are UTF-8"))
        .collect()
}

#[test]
fn generated_workflows_check_clean() {
    for steps in [0, 1, 24, 100] {
        assert_clean(&format!("workflow({steps})"), &generate::workflow(steps));
    }
    for steps in [0, 1, 4, 100] {
        assert_clean(&format!("chain({steps})"), &generate::chain(steps));
    }
    for shape in generate::Shape::ALL {
        for steps in [0, 1, 10, 400] {
            let what = format!("{}({steps})", shape.name());
            assert_clean(&what, &shape.source(steps));
        }
    }
}

#[test]
fn empty_file_is_a_syntax_error() {
    for source in ["", " \n\t ", "// only a comment\n"] {
        let checked = writ::check_source(source);
        assert_eq!(codes(&checked.diagnostics), [Code::E0001], "{source:?}");
        assert!(checked.has_errors() && checked.workflow.is_none());
        assert_spans_valid(source, &checked.diagnostics).unwrap();
    }
}

#[test]
fn binary_garbage_is_a_syntax_error() {
    // A deterministic byte soup: control bytes, NULs, invalid UTF-8 made lossy, multibyte chars.
    let mut state: u32 = 0x9E37_79B9;
    let bytes: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    let source = String::from_utf8_lossy(&bytes);
    let checked = writ::check_source(&source);
    assert_eq!(codes(&checked.diagnostics), [Code::E0001]);
    assert_spans_valid(&source, &checked.diagnostics).unwrap();
    // A valid header followed by garbage fails inside the workflow, not at its start.
    let source = format!("workflow w {{\n  owner x\n{source}");
    let checked = writ::check_source(&source);
    assert_eq!(codes(&checked.diagnostics), [Code::E0001]);
    assert!(checked.diagnostics[0].primary.span.start >= "workflow w {\n  owner x\n".len());
    assert_spans_valid(&source, &checked.diagnostics).unwrap();
    let rendered = render(
        "garbage.writ",
        &source,
        &checked.diagnostics,
        RenderOptions::plain(),
    );
    assert!(rendered.contains("E0001"), "{rendered}");
}

#[test]
fn a_100k_step_workflow_checks_clean_on_a_default_thread_stack() {
    let source = generate::chain(100_000);
    let steps = source.matches("\n  recommend ").count()
        + source.matches("\n  confirm ").count()
        + source.matches("\n  execute ").count()
        + source.matches("\n  rollback ").count();
    assert_eq!(steps, 100_000);
    // A recursive walk over a 100,000-step chain would overflow 2 MiB: run the whole check there.
    let checked = std::thread::Builder::new()
        .stack_size(DEFAULT_THREAD_STACK)
        .spawn(move || {
            let checked = writ::check_source(&source);
            (checked.diagnostics, checked.workflow.is_some())
        })
        .expect("spawn the checking thread")
        .join()
        .expect("the check must not panic or overflow its stack");
    assert!(
        checked.0.is_empty(),
        "first diagnostics: {:?}",
        checked.0.iter().take(3).collect::<Vec<_>>()
    );
    assert!(checked.1);
}

#[test]
fn a_million_roles_are_checked_without_panic() {
    let mut source = String::from("workflow many_roles {\n  owner lead\n  role lead");
    for i in 0..1_000_000 {
        source.push_str(&format!(", r{i}"));
    }
    source.push_str("\n}\n");
    let checked = writ::check_source(&source);
    // Nothing refers to the million roles: each is unused (W0304), and nothing is an error.
    assert!(
        !checked.has_errors(),
        "{:?}",
        checked.diagnostics.iter().find(|d| d.is_error())
    );
    assert!(!checked.diagnostics.is_empty());
    assert!(checked.diagnostics.iter().all(|d| d.code == Code::W0304));
    assert_spans_valid(&source, &checked.diagnostics).unwrap();
}

#[test]
fn a_one_megabyte_string_literal_is_fine() {
    // Multibyte characters, so a span computed in chars rather than bytes would show.
    let long: String = "ab\u{e9}\u{20ac}\\\" ".repeat(1024 * 1024 / 10);
    assert!(long.len() >= 1_000_000);
    let source = generate::chain(4).replacen("\"Generated chain\"", &format!("\"{long}\""), 1);
    assert_clean("long title", &source);

    // The same literal left open: one E0001, pointing into the file, on char boundaries.
    let open = format!("workflow w {{\n  title \"{long}\n  owner x\n}}\n");
    let checked = writ::check_source(&open);
    assert_eq!(codes(&checked.diagnostics), [Code::E0001]);
    assert_spans_valid(&open, &checked.diagnostics).unwrap();
}

#[test]
fn a_file_over_64_mib_is_refused_by_parse() {
    let limit = writ::syntax::MAX_FILE_BYTES;
    assert_eq!(limit, 64 * 1024 * 1024);
    // A valid workflow padded with a comment to one byte over the limit.
    let head = "workflow big {\n  owner x\n  role x\n}\n//";
    let mut source = String::with_capacity(limit + 1);
    source.push_str(head);
    source.push_str(&"x".repeat(limit + 1 - head.len()));
    assert_eq!(source.len(), limit + 1);
    let diagnostics = writ::parse(&source).expect_err("over the limit");
    assert_eq!(codes(&diagnostics), [Code::E0001]);
    assert!(
        diagnostics[0].message.contains("over the limit"),
        "{}",
        diagnostics[0].message
    );
    assert_spans_valid(&source, &diagnostics).unwrap();

    // At the limit the size gate lets the file through: the parser itself answers, and stops
    // at the first byte (parsing 64 MiB in a debug build would take seconds).
    source.pop();
    source.replace_range(..1, "!");
    let diagnostics = writ::parse(&source).expect_err("a syntax error at the first byte");
    assert_eq!(codes(&diagnostics), [Code::E0001]);
    assert!(
        !diagnostics[0].message.contains("over the limit"),
        "{}",
        diagnostics[0].message
    );
    assert_eq!(diagnostics[0].primary.span.start, 0);
}

#[test]
fn deep_nesting_is_a_syntax_error() {
    let depth = 100_000;
    let cases = [
        format!("workflow w {}", "{".repeat(depth)),
        format!("workflow w {{ {}", "[".repeat(depth)),
        format!(
            "workflow w {{ owner x recommend r {{ run exec \"p\" {} }} }}",
            "[".repeat(depth)
        ),
        format!(
            "workflow w {{ owner x execute e {{ run http POST \"/\" json {{ a: {} }} }} }}",
            "{".repeat(depth)
        ),
        format!("{}{}", "{[".repeat(depth), "]}".repeat(depth)),
    ];
    for source in &cases {
        let checked = std::thread::Builder::new()
            .stack_size(DEFAULT_THREAD_STACK)
            .spawn({
                let source = source.clone();
                move || writ::check_source(&source).diagnostics
            })
            .expect("spawn the checking thread")
            .join()
            .expect("deep nesting must not panic or overflow the stack");
        assert_eq!(codes(&checked), [Code::E0001], "{}", &source[..40]);
        assert_spans_valid(source, &checked).unwrap();
    }
}

/// One edit of a source file, at positions scaled to its length.
#[derive(Clone, Debug)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Duplicate { from: usize, len: usize, to: usize },
}

/// Fragments that steer mutations into interesting places: punctuation, keywords, references,
/// string edges and multibyte characters.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    "->",
    ".",
    ":",
    ",",
    "=",
    "//",
    "\n",
    "\u{e9}",
    "\u{1F600}",
    "before.",
    "after ",
    "by ",
    "risk high",
    "risk low",
    "writes ",
    "reads ",
    "undoes ",
    "shows ",
    "expires 4h -> reject",
    "auto when acceptance >= 90% over 28d",
    "sql \"UPDATE t SET a = 1\"",
    "exec \"p\" []",
    "http GET \"/\"",
    "json { a: 1 }",
    ":x",
    ":a.b.c",
    "?",
    "@p",
    "0.5",
    "-3",
    "99.5%",
    "rollback r undoes ",
    "execute e { }",
    "confirm c { }",
    "recommend q { }",
];

fn edit() -> impl Strategy<Value = Edit> {
    let text = prop_oneof![
        3 => proptest::sample::select(FRAGMENTS).prop_map(str::to_owned),
        1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ];
    prop_oneof![
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), text).prop_map(|(at, text)| Edit::Insert { at, text }),
        (any::<usize>(), 1..400usize, any::<usize>()).prop_map(|(from, len, to)| Edit::Duplicate {
            from,
            len,
            to
        }),
    ]
}

/// Applies edits on bytes (so a multibyte character may be cut), then decodes lossily.
fn mutate(source: &str, edits: &[Edit]) -> String {
    let mut bytes = source.as_bytes().to_vec();
    for edit in edits {
        let n = bytes.len();
        match edit {
            Edit::Delete { at, len } if n > 0 => {
                let start = at % n;
                let end = (start + len).min(n);
                bytes.drain(start..end);
            }
            Edit::Insert { at, text } => {
                let at = at % (n + 1);
                bytes.splice(at..at, text.bytes());
            }
            Edit::Duplicate { from, len, to } if n > 0 => {
                let start = from % n;
                let slice = bytes[start..(start + len).min(n)].to_vec();
                let to = to % (n + 1);
                bytes.splice(to..to, slice);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// Checks and renders `source`; the rendering exercises every span through miette.
fn check_and_render(source: &str) -> Result<(), TestCaseError> {
    let checked = writ::check_source(source);
    assert_spans_valid(source, &checked.diagnostics).map_err(TestCaseError::fail)?;
    prop_assert_eq!(checked.has_errors(), checked.workflow.is_none());
    prop_assert_eq!(
        checked.has_errors(),
        checked
            .diagnostics
            .iter()
            .any(|d| d.severity() == Severity::Error)
    );
    let rendered = render(
        "mutant.writ",
        source,
        &checked.diagnostics,
        RenderOptions::plain(),
    );
    for d in &checked.diagnostics {
        prop_assert!(rendered.contains(d.code.as_str()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_and_render(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn mutated_workflows_never_panic(
        file in any::<proptest::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let files = example_workflows();
        let original: &String = file.get(files);
        let source = mutate(original, &edits);
        check_and_render(&source)?;
    }
}
