//! `writ explain CODE`: the entry of `docs/diagnostics.md` for one code.
//!
//! The reference page and the command share one source: the page is compiled into the binary
//! and cut into entries here, so what `writ explain` prints is the page, word for word, and the
//! two cannot drift apart. The page's examples are whole workflow files that the tests run
//! through the real checker, so an example that stops showing its rule fails the build.
//!
//! INVARIANT (kept by the tests below): the page has exactly one `## CODE: title` heading per
//! [`Code`], in the order of [`Code::ALL`], and each entry holds **What.**, **Why.**, **Bad.**
//! and **Fixed.**, the last two each followed by one ```` ```writ ```` block.

use crate::diagnostics::Code;

const SOURCE: &str = include_str!("../docs/diagnostics.md");

/// Where a heading line starts; entries are separated by it. Example files never start a line
/// with it (writ comments are `//`), so it cannot occur inside a code block.
const HEADING: &str = "\n## ";

/// The whole entry for `code`, from its `## CODE:` heading to the next one, trimmed.
pub fn explain(code: Code) -> Option<&'static str> {
    let (start, after_heading) = SOURCE
        .match_indices(HEADING)
        .map(|(at, _)| (at + 1, at + HEADING.len()))
        .find(|&(_, after)| heading_names(after, code))?;
    let end = SOURCE
        .get(after_heading..)?
        .find(HEADING)
        .map_or(SOURCE.len(), |offset| after_heading + offset);
    SOURCE.get(start..end).map(str::trim)
}

/// The (bad, fixed) writ examples of an entry, for tests.
pub fn examples(code: Code) -> Option<(&'static str, &'static str)> {
    let entry = explain(code)?;
    let bad = example_after(entry, "**Bad.**")?;
    let fixed = example_after(entry, "**Fixed.**")?;
    Some((bad, fixed))
}

/// Whether the heading text starting at `at` is `CODE:`.
fn heading_names(at: usize, code: Code) -> bool {
    SOURCE
        .get(at..)
        .and_then(|rest| rest.strip_prefix(code.as_str()))
        .is_some_and(|rest| rest.starts_with(':'))
}

/// The body of the first ```` ```writ ```` block after `marker` in `entry`.
fn example_after(entry: &'static str, marker: &str) -> Option<&'static str> {
    const OPEN: &str = "```writ\n";
    const CLOSE: &str = "\n```";
    let rest = entry.get(entry.find(marker)?..)?;
    let body = rest.get(rest.find(OPEN)? + OPEN.len()..)?;
    body.get(..body.find(CLOSE)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_complete_entry() {
        for code in Code::ALL {
            let entry = explain(code).unwrap_or_else(|| panic!("no entry for {code}"));
            assert!(
                entry.starts_with(&format!("## {code}: ")),
                "{code}: heading"
            );
            for part in ["**What.**", "**Why.**", "**Bad.**", "**Fixed.**"] {
                assert!(entry.contains(part), "{code}: no {part}");
            }
            let (bad, fixed) = examples(code).unwrap_or_else(|| panic!("{code}: no examples"));
            for example in [bad, fixed] {
                assert!(
                    example.contains("workflow "),
                    "{code}: example is not a workflow"
                );
                assert!(
                    !example.contains("```"),
                    "{code}: example runs into another block"
                );
            }
            assert_ne!(bad, fixed, "{code}: bad and fixed are the same");
        }
    }

    #[test]
    fn entries_follow_the_code_order_and_nothing_else_is_a_heading() {
        let headings: Vec<&str> = SOURCE
            .lines()
            .filter_map(|line| line.strip_prefix("## "))
            .collect();
        let codes: Vec<&str> = headings
            .iter()
            .map(|heading| heading.split(':').next().unwrap_or(""))
            .collect();
        let expected: Vec<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(codes, expected);
        for heading in headings {
            let title = heading.split_once(": ").map_or("", |(_, title)| title);
            assert!(!title.is_empty(), "`{heading}` has no title");
            assert_eq!(title, title.to_lowercase(), "titles are lowercase");
        }
    }

    #[test]
    fn an_entry_ends_before_the_next_heading() {
        let entry = explain(Code::E0001).unwrap_or_default();
        assert!(!entry.contains("## E0101"));
        let last = explain(Code::W0307).unwrap_or_default();
        assert!(last.ends_with("```"));
    }

    #[test]
    fn fixed_examples_check_clean() {
        for code in Code::ALL {
            let (_, fixed) = examples(code).unwrap_or_default();
            let checked = crate::check_source(fixed);
            assert!(
                checked.diagnostics.is_empty(),
                "{code}: the fixed example has diagnostics: {:?}",
                checked.diagnostics
            );
        }
    }

    #[test]
    fn bad_examples_fail_only_where_they_should() {
        for code in Code::ALL {
            let (bad, _) = examples(code).unwrap_or_default();
            match crate::parse(bad) {
                Err(diagnostics) => {
                    assert_eq!(
                        code,
                        Code::E0001,
                        "{code}: the bad example does not parse: {diagnostics:?}"
                    );
                    assert!(diagnostics.iter().all(|d| d.code == Code::E0001));
                }
                Ok(_) => assert_ne!(code, Code::E0001, "E0001: the bad example parses"),
            }
        }
    }

    /// Each bad example shows its rule alone, so the reader sees one problem and one fix.
    #[test]
    fn bad_examples_show_their_code_and_nothing_else() {
        for code in Code::ALL {
            let (bad, _) = examples(code).unwrap_or_default();
            let found: Vec<Code> = crate::check_source(bad)
                .diagnostics
                .iter()
                .map(|d| d.code)
                .collect();
            assert_eq!(found, [code], "{code}: the bad example gives {found:?}");
        }
    }
}
