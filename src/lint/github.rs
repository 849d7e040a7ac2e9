//! GitHub Actions workflow commands: one `::error` or `::warning` line per finding, which
//! Actions shows as an annotation on the file and line in the pull request.

use super::Finding;
use crate::diagnostics::Severity;

/// One line per finding, each ending with a newline.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for finding in findings {
        let command = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = finding.message.clone();
        if !finding.help.is_empty() {
            message.push_str("\nhelp: ");
            message.push_str(&finding.help);
        }
        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            property(&finding.file),
            finding.start.line,
            finding.start.column,
            finding.end.line,
            finding.end.column,
            finding.code,
            data(&message),
        ));
    }
    out
}

/// The message part: `%`, CR and LF escaped, as the runner unescapes them.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: also `:` and `,`, which would end it.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_would_end_a_field() {
        assert_eq!(data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(property("a:b,c.writ"), "a%3Ab%2Cc.writ");
    }
}
