//! What can be wrong with a config: it cannot be read, or it says something writ does not
//! accept (with the line, column and a snippet), or a system's token is not in the environment.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

/// A problem found by a check, before it has a place in the file: what is wrong and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub help: String,
    /// Whether to show the text at the place: not when it may hold a secret, nor when the
    /// place is only where the mapping missing a key starts.
    pub snippet: bool,
}

impl Problem {
    pub fn new(message: String, help: String) -> Problem {
        Problem {
            message,
            help,
            snippet: true,
        }
    }

    pub fn without_snippet(self) -> Problem {
        Problem {
            snippet: false,
            ..self
        }
    }
}

/// A 1-based line and column (in characters) in the config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A config that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config `{}`: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("the config `{}` is {size} bytes, over the limit of 1 MiB", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error(
        "the config `{}` is not valid UTF-8: invalid byte at offset {offset} (line {line})",
        path.display()
    )]
    NotUtf8 {
        path: PathBuf,
        offset: usize,
        line: usize,
    },
    /// The text says something writ does not accept; boxed, as it carries the source.
    #[error(transparent)]
    Invalid(Box<Invalid>),
    #[error("no system `{system}` in the config")]
    UnknownSystem { system: String },
    #[error("environment variable `{var}` for the token of system `{system}` is unset or empty")]
    TokenMissing { system: String, var: String },
    #[error("environment variable `{var}` for the token of system `{system}` is not UTF-8")]
    TokenNotUnicode { system: String, var: String },
    #[error("the secret file `{}` of system `{system}` cannot be used: {reason}", path.display())]
    SecretFile {
        system: String,
        path: PathBuf,
        reason: String,
    },
}

/// A config whose text writ does not accept: where, what and the fix.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub struct Invalid {
    /// The config file.
    pub path: PathBuf,
    /// Where in it; `None` only when the YAML parser gave no place (an alias expansion limit).
    /// The snippet is left out where the line may hold a secret.
    pub position: Option<Position>,
    /// Lowercase, one line, names in backticks.
    pub message: String,
    #[help]
    pub help: String,
    #[source_code]
    source_code: NamedSource<String>,
    #[label]
    span: Option<SourceSpan>,
}

impl ConfigError {
    /// Where in the file the problem is, when it is in the file's text.
    pub fn position(&self) -> Option<Position> {
        match self {
            ConfigError::Invalid(invalid) => invalid.position,
            ConfigError::NotUtf8 { line, .. } => Some(Position {
                line: *line,
                column: 1,
            }),
            _ => None,
        }
    }

    /// The line of [`ConfigError::position`].
    pub fn line(&self) -> Option<usize> {
        self.position().map(|p| p.line)
    }

    /// The fix, as the CLI shows it.
    pub fn help_text(&self) -> String {
        match self {
            ConfigError::Read { .. } => {
                "writ reads `./writ.yaml` unless `--config PATH` names another file".to_owned()
            }
            ConfigError::TooLarge { .. } => {
                "a config is a few kilobytes: check that this is the right file".to_owned()
            }
            ConfigError::NotUtf8 { .. } => "save the file as UTF-8".to_owned(),
            ConfigError::Invalid(invalid) => invalid.help.clone(),
            ConfigError::UnknownSystem { .. } => {
                "declare the system under `systems:` in the config".to_owned()
            }
            ConfigError::TokenMissing { var, .. } => {
                format!("set `{var}` to the token in the environment that runs writ")
            }
            ConfigError::TokenNotUnicode { var, .. } => {
                format!("set `{var}` to the token as UTF-8 text")
            }
            ConfigError::SecretFile { .. } => {
                "put the secret alone in that file, readable by the user that runs writ".to_owned()
            }
        }
    }
}

impl Diagnostic for ConfigError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.help_text()))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match self {
            ConfigError::Invalid(invalid) => invalid.source_code(),
            _ => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        match self {
            ConfigError::Invalid(invalid) => invalid.labels(),
            _ => None,
        }
    }
}

/// The error for a serde_yaml error on `text`: the place from serde_yaml, the message and
/// help from `problem` when one of our checks raised it, else from serde_yaml's own words.
pub fn invalid(
    error: &serde_yaml::Error,
    problem: Option<Problem>,
    text: &str,
    path: &Path,
) -> ConfigError {
    let location = error.location();
    let position = location.as_ref().map(|l| Position {
        line: l.line(),
        column: l.column(),
    });
    let Problem {
        mut message,
        help,
        snippet,
    } = problem.unwrap_or_else(|| from_serde(error, position));
    if let (false, Some(p)) = (snippet, position) {
        // No snippet shows the place, so the message says it.
        message = format!("{message} (`{}` line {})", path.display(), p.line);
    }
    let span = location
        .filter(|_| snippet)
        .map(|l| token_span(text, byte_offset(text, l.index())));
    ConfigError::Invalid(Box::new(Invalid {
        path: path.to_path_buf(),
        position,
        message,
        help,
        source_code: NamedSource::new(path.display().to_string(), text.to_owned()),
        span,
    }))
}

/// serde_yaml's message, without the position it appends (we have it apart), with its key
/// path in backticks, and a help that fits its kind.
fn from_serde(error: &serde_yaml::Error, position: Option<Position>) -> Problem {
    let mut message = error.to_string();
    if let Some(p) = position {
        let at = format!(" at line {} column {}", p.line, p.column);
        if let Some(start) = message.find(&at) {
            message.replace_range(start..start + at.len(), "");
        }
    }
    if message == "EOF while parsing a value" {
        return Problem::new(
            "the config is empty".to_owned(),
            "write at least `state:` (where runs are recorded) and `people:`".to_owned(),
        );
    }
    // A key path (`people.ana[0]`) comes first; the keys in it have passed our name checks.
    if let Some((path, rest)) = message.split_once(": ")
        && !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.[]?".contains(c))
    {
        message = format!("in `{path}`: {rest}");
    }
    let help = if message.contains("invalid type") || message.contains("invalid value") {
        "write the value in the form the message names; `writ.yaml` is described in the \
         `runtime::config` docs"
    } else if message.contains("repetition limit") {
        "`writ.yaml` has no use for anchors and aliases (`&name`, `*name`): write values out"
    } else if message.contains("recursion limit") {
        "`writ.yaml` nests at most three levels: check the indentation"
    } else if message.contains("more than one document") {
        "a config is one YAML document: remove the `---` separators"
    } else if message.contains("unknown anchor") {
        "define the anchor (`&name`) before the alias (`*name`), or write the value out"
    } else {
        "this is not valid YAML: check indentation, colons, quotes and brackets"
    };
    Problem::new(message, help.to_owned())
}

/// libyaml's index is a byte offset into the text after its byte order mark (`parse` strips
/// one), made an offset into `text` and clamped to a character
/// boundary of `text` so a span can never split a character.
fn byte_offset(text: &str, index: usize) -> usize {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut offset = index.saturating_add(bom).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1; // INVARIANT: offset 0 is a boundary, so this stops above it
    }
    offset
}

/// The span of the token at `start`, to underline: a quoted string or a bracketed list up to
/// its closing mark on the same line, or a plain word.
fn token_span(text: &str, start: usize) -> SourceSpan {
    let rest = text.get(start..).unwrap_or_default();
    let line = rest.split(['\n', '\r']).next().unwrap_or_default();
    let close = match line.chars().next() {
        Some('"') => Some('"'),
        Some('\'') => Some('\''),
        Some('[') => Some(']'),
        Some('{') => Some('}'),
        _ => None,
    };
    let len = match close {
        Some(close) => line
            .get(1..)
            .and_then(|after| after.find(close))
            .map_or(1, |at| at + 2),
        None => line
            .find(|c: char| c.is_whitespace() || ",:]}#".contains(c))
            .unwrap_or(line.len()),
    };
    SourceSpan::new(start.into(), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn underlined(text: &str, start: usize) -> &str {
        let span = token_span(text, start);
        &text[span.offset()..span.offset() + span.len()]
    }

    #[test]
    fn tokens() {
        let text = "a: [x, y]\nb: \"q r\" # c\nc: word: x\n";
        assert_eq!(underlined(text, 3), "[x, y]");
        assert_eq!(underlined(text, 13), "\"q r\"");
        assert_eq!(underlined(text, 23), "c");
        assert_eq!(underlined(text, 26), "word");
        assert_eq!(underlined(text, text.len()), "");
    }

    #[test]
    fn offsets_stay_on_boundaries() {
        assert_eq!(byte_offset("é", 1), 0);
        assert_eq!(byte_offset("ab", 99), 2);
        assert_eq!(byte_offset("\u{feff}ab", 1), 4);
    }
}
