//! SARIF 2.1.0, as GitHub code scanning accepts it: one run, every code as a rule (with its
//! entry of `docs/diagnostics.md` as help), one result per finding with its region.
//!
//! Columns are Unicode code points (`columnKind`), ends exclusive, as SARIF defines regions.
//! `helpUri` must be an absolute URI: it is written only when a base is given
//! (`--help-uri-base`, the address of `docs/diagnostics.md` where the reader can open it);
//! the help text itself is always in the rule.

use serde_json::{Value, json};

use super::{Finding, rule_anchor, rule_title};
use crate::diagnostics::{Code, Severity};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The SARIF log for `findings`, pretty-printed, ending with a newline.
pub fn render(findings: &[Finding], help_uri_base: Option<&str>) -> serde_json::Result<String> {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|&code| rule(code, help_uri_base))
        .collect();
    let results: Vec<Value> = findings.iter().map(result).collect();
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "writ",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&log)?;
    text.push('\n');
    Ok(text)
}

fn rule(code: Code, help_uri_base: Option<&str>) -> Value {
    let entry = crate::explain::explain(code).unwrap_or("");
    let what = entry
        .split("\n\n")
        .find_map(|paragraph| paragraph.strip_prefix("**What.** "))
        .map_or_else(
            || rule_title(code).to_owned(),
            |text| text.replace('\n', " "),
        );
    let mut rule = json!({
        "id": code.as_str(),
        "name": code.as_str(),
        "shortDescription": { "text": rule_title(code) },
        "fullDescription": { "text": what },
        "help": { "text": entry, "markdown": entry },
        "defaultConfiguration": { "level": level(code.severity()) },
    });
    if let (Some(base), Some(object)) = (help_uri_base, rule.as_object_mut()) {
        let uri = format!("{}#{}", base.trim_end_matches('#'), rule_anchor(code));
        object.insert("helpUri".to_owned(), Value::String(uri));
    }
    rule
}

fn result(finding: &Finding) -> Value {
    let index = Code::ALL
        .iter()
        .position(|&c| c == finding.code)
        .unwrap_or(0);
    let message = if finding.help.is_empty() {
        finding.message.clone()
    } else {
        format!("{}\nhelp: {}", finding.message, finding.help)
    };
    let related: Vec<Value> = finding
        .labels
        .iter()
        .enumerate()
        .map(|(id, label)| {
            let mut location = location(&finding.file, label.start, label.end);
            if let Some(object) = location.as_object_mut() {
                object.insert("id".to_owned(), json!(id));
                object.insert("message".to_owned(), json!({ "text": label.message }));
            }
            location
        })
        .collect();
    let mut value = json!({
        "ruleId": finding.code.as_str(),
        "ruleIndex": index,
        "level": level(finding.severity),
        "message": { "text": message },
        "locations": [location(&finding.file, finding.start, finding.end)],
    });
    if let (false, Some(object)) = (related.is_empty(), value.as_object_mut()) {
        object.insert("relatedLocations".to_owned(), Value::Array(related));
    }
    value
}

fn location(file: &str, start: super::Position, end: super::Position) -> Value {
    // An empty span (the end of a file) still needs a region of at least one column.
    let end_column = if end.line == start.line && end.column <= start.column {
        start.column + 1
    } else {
        end.column
    };
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": artifact_uri(file) },
            "region": {
                "startLine": start.line,
                "startColumn": start.column,
                "endLine": end.line,
                "endColumn": end_column,
            }
        }
    })
}

/// A relative path as a URI reference: forward slashes, no `./`, reserved bytes escaped.
fn artifact_uri(file: &str) -> String {
    let path = file.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(artifact_uri("./workflows/a b.writ"), "workflows/a%20b.writ");
        assert_eq!(artifact_uri("dir\\x.writ"), "dir/x.writ");
    }
}
