//! `writ check FILE...`: human diagnostics for every file, a summary line, exit 0/1/2.

use std::io::Write;
use std::path::PathBuf;

use super::{exit, files, stderr_color};
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
    let options = RenderOptions {
        color: stderr_color(),
        width: terminal_width(),
    };
    let mut stderr = std::io::stderr().lock();
    let (mut checked, mut errors, mut warnings, mut unreadable) = (0usize, 0usize, 0usize, 0usize);
    for entry in files::expand(&args.paths) {
        let loaded = entry.and_then(|path| files::read(&path).map(|source| (path, source)));
        let (path, source) = match loaded {
            Ok(loaded) => loaded,
            Err(error) => {
                unreadable += 1;
                let _ = writeln!(stderr, "error: {error}");
                continue;
            }
        };
        checked += 1;
        let result = check_source(&source);
        let file_errors = result.diagnostics.iter().filter(|d| d.is_error()).count();
        errors += file_errors;
        warnings += result.diagnostics.len() - file_errors;
        if !result.diagnostics.is_empty() {
            let name = files::shown(&path);
            let shown = result
                .diagnostics
                .get(..MAX_SHOWN_PER_FILE)
                .unwrap_or(&result.diagnostics);
            let _ = write!(stderr, "{}", render(&name, &source, shown, options));
            let hidden = result.diagnostics.len() - shown.len();
            if hidden > 0 {
                let _ = writeln!(
                    stderr,
                    "{name}: {hidden} more diagnostics not shown (the first {MAX_SHOWN_PER_FILE} are above)"
                );
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

/// The width to wrap diagnostics at: `COLUMNS` when set, else 100.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&w| (40..=400).contains(&w))
        .unwrap_or(100)
}
