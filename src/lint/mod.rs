//! `writ lint`'s findings: diagnostics with file, line and column, in the formats CI reads.
//!
//! A [`Finding`] is a [`Diagnostic`] placed in its file (1-based lines, columns counted in
//! Unicode characters, ends exclusive). The JSON schema is [`Report`] (`docs/ci.md`
//! documents it); [`sarif`] writes SARIF 2.1.0 for GitHub code scanning and [`github`] the
//! workflow commands GitHub Actions turns into annotations. Nothing here prints.

pub mod github;
pub mod sarif;

use serde::Serialize;

use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::syntax::ast::Span;

/// The version of the JSON report's schema; a change that breaks a reader bumps it.
pub const JSON_SCHEMA: &str = "writ-lint/1";

/// A place in a file: 1-based line and column (in characters, not bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Another span involved in a finding, with what it shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingLabel {
    pub message: String,
    pub start: Position,
    pub end: Position,
}

/// One diagnostic in one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub file: String,
    pub start: Position,
    /// Exclusive: just past the last character of the primary span.
    pub end: Position,
    /// The words under the primary span.
    pub label: String,
    pub help: String,
    pub labels: Vec<FindingLabel>,
}

/// A path that could not be linted (missing, not UTF-8, too large).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    pub file: String,
    pub message: String,
}

/// Counts over the whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub unreadable: usize,
}

/// The `--format json` document.
#[derive(Clone, Debug, Serialize)]
pub struct Report<'a> {
    pub schema: &'static str,
    pub findings: &'a [Finding],
    pub unreadable: &'a [Unreadable],
    pub summary: Summary,
}

/// Line starts of one file, to turn byte offsets into positions.
pub struct Lines<'a> {
    source: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(source: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { source, starts }
    }

    /// The position of byte `offset` (clamped to the file).
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.source.len());
        let line = self
            .starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let column = self
            .source
            .get(start..offset)
            .map_or(offset - start, |text| text.chars().count());
        Position {
            line: line + 1,
            column: column + 1,
        }
    }

    fn span(&self, span: Span) -> (Position, Position) {
        (
            self.position(span.start),
            self.position(span.end.max(span.start)),
        )
    }
}

impl Finding {
    /// Places `diagnostic` of the file named `file`.
    pub fn new(file: &str, lines: &Lines<'_>, diagnostic: &Diagnostic) -> Finding {
        let (start, end) = lines.span(diagnostic.primary.span);
        let labels = diagnostic
            .labels
            .iter()
            .map(|label| {
                let (start, end) = lines.span(label.span);
                FindingLabel {
                    message: label.text.clone(),
                    start,
                    end,
                }
            })
            .collect();
        Finding {
            code: diagnostic.code,
            severity: diagnostic.severity(),
            message: diagnostic.message.clone(),
            file: file.to_owned(),
            start,
            end,
            label: diagnostic.primary.text.clone(),
            help: diagnostic.help.clone(),
            labels,
        }
    }
}

/// The JSON report, pretty-printed, ending with a newline.
pub fn json(
    findings: &[Finding],
    unreadable: &[Unreadable],
    summary: Summary,
) -> serde_json::Result<String> {
    let report = Report {
        schema: JSON_SCHEMA,
        findings,
        unreadable,
        summary,
    };
    let mut text = serde_json::to_string_pretty(&report)?;
    text.push('\n');
    Ok(text)
}

/// The title of a code's entry in `docs/diagnostics.md` (`E0203: the approver ...` gives
/// `the approver ...`).
pub fn rule_title(code: Code) -> &'static str {
    crate::explain::explain(code)
        .and_then(|entry| entry.lines().next())
        .and_then(|heading| heading.split_once(": "))
        .map_or("", |(_, title)| title.trim())
}

/// The anchor of a code's entry in `docs/diagnostics.md`, as Markdown renderers make it from the
/// heading: lower case, punctuation dropped, spaces as `-`.
pub fn rule_anchor(code: Code) -> String {
    let heading = format!("{}: {}", code.as_str(), rule_title(code));
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_from_one() {
        let lines = Lines::new("ab\né x\n");
        assert_eq!(lines.position(0), Position { line: 1, column: 1 });
        assert_eq!(lines.position(3), Position { line: 2, column: 1 });
        // `é` is two bytes and one column.
        assert_eq!(lines.position(6), Position { line: 2, column: 3 });
        assert_eq!(lines.position(99), Position { line: 3, column: 1 });
    }

    #[test]
    fn anchors_follow_the_headings() {
        assert_eq!(
            rule_anchor(Code::E0104),
            "e0104-a-clause-not-allowed-here-or-a-required-clause-missing"
        );
        assert_eq!(rule_title(Code::E0001), "syntax error");
    }
}
