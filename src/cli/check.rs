//! `writ check FILE...`: human diagnostics for every file, a summary line, exit 0/1/2. Files
//! are checked on all cores; the output keeps the order of the paths.

use std::io::Write;
use std::path::PathBuf;

use super::files::LoadError;
use super::{exit, files, render_options};
use crate::check::check_source;
use crate::diagnostics::{RenderOptions, render};

/// A person reads at most this many diagnostics of one file; the summary still counts all.
const MAX_SHOWN_PER_FILE: usize = 200;

#[derive(clap::Args)]
pub struct Args {
    /// Workflow files, or directories to search for `*.writ` files.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub fn run(args: &Args) -> u8 {
    let options = render_options();
    let outcomes = check_all(files::expand(&args.paths), options);
    let mut stderr = std::io::stderr().lock();
    let (mut checked, mut errors, mut warnings, mut unreadable) = (0usize, 0usize, 0usize, 0usize);
    for outcome in outcomes {
        match outcome {
            Outcome::Unreadable(message) => {
                unreadable += 1;
                let _ = writeln!(stderr, "error: {message}");
            }
            Outcome::Checked {
                errors: e,
                warnings: w,
                report,
            } => {
                checked += 1;
                errors += e;
                warnings += w;
                let _ = write!(stderr, "{report}");
            }
        }
    }
    let _ = writeln!(stderr, "{}", summary(checked, errors, warnings, unreadable));
    if unreadable > 0 {
        exit::USAGE
    } else if errors > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// What checking one path gave: its counts and its rendered diagnostics, or why it was not read.
enum Outcome {
    Unreadable(String),
    Checked {
        errors: usize,
        warnings: usize,
        report: String,
    },
}

/// Checks every path on all cores; the outcomes come back in the order of the paths.
fn check_all(entries: Vec<Result<PathBuf, LoadError>>, options: RenderOptions) -> Vec<Outcome> {
    files::parallel_map(entries, |entry| check_one(entry, options), &|| {})
}

fn check_one(entry: Result<PathBuf, LoadError>, options: RenderOptions) -> Outcome {
    let loaded = entry.and_then(|path| files::read(&path).map(|source| (path, source)));
    let (path, source) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return Outcome::Unreadable(error.to_string()),
    };
    let result = check_source(&source);
    let errors = result.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = result.diagnostics.len() - errors;
    let mut report = String::new();
    if !result.diagnostics.is_empty() {
        let name = files::shown(&path);
        let shown = result
            .diagnostics
            .get(..MAX_SHOWN_PER_FILE)
            .unwrap_or(&result.diagnostics);
        report = render(&name, &source, shown, options);
        let hidden = result.diagnostics.len() - shown.len();
        if hidden > 0 {
            report.push_str(&format!(
                "{name}: {hidden} more diagnostics not shown (the first {MAX_SHOWN_PER_FILE} are above)\n"
            ));
        }
    }
    Outcome::Checked {
        errors,
        warnings,
        report,
    }
}

fn summary(checked: usize, errors: usize, warnings: usize, unreadable: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut line = format!(
        "checked {}: {}, {}",
        plural(checked, "file"),
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    if unreadable > 0 {
        line.push_str(&format!(
            ", {} could not be read",
            plural(unreadable, "path")
        ));
    }
    line
}
