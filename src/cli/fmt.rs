//! `writ fmt [--check] [PATH...]`: rewrite workflow files in the canonical layout, or with
//! `--check` print what would change as a unified diff and exit 1.
//!
//! A file with a syntax error is left as it is and its errors are shown (exit 1): there is no
//! layout to give a file that does not parse.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::files::LoadError;
use super::{exit, files, render_options};
use crate::diagnostics::{RenderOptions, render};

#[derive(clap::Args)]
pub struct Args {
    /// Workflow files, or directories to search for `*.writ` files (honouring `.gitignore`).
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,
    /// Change nothing: print a diff of every file not in the canonical layout, and exit 1 if any.
    #[arg(long)]
    check: bool,
}

/// One file's outcome, with what to print about it.
enum Outcome {
    Unreadable(String),
    /// Syntax errors, drawn.
    Invalid(String),
    Clean,
    /// Not in the layout: its diff (`--check`), or rewritten.
    Changed(String),
    /// Could not be written back.
    WriteFailed(String),
}

pub fn run(args: &Args) -> u8 {
    let options = render_options();
    let check = args.check;
    let outcomes = files::parallel_map(
        files::expand_ignoring(&args.paths),
        |entry| format_one(entry, check, options),
        &|| {},
    );
    let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
    let (mut unreadable, mut invalid, mut changed) = (0usize, 0usize, 0usize);
    for outcome in outcomes {
        match outcome {
            Outcome::Unreadable(message) | Outcome::WriteFailed(message) => {
                unreadable += 1;
                let _ = writeln!(stderr, "error: {message}");
            }
            Outcome::Invalid(report) => {
                invalid += 1;
                let _ = write!(stderr, "{report}");
            }
            Outcome::Clean => {}
            Outcome::Changed(diff) => {
                changed += 1;
                let _ = write!(stdout, "{diff}");
            }
        }
    }
    let _ = stdout.flush();
    if check && changed > 0 {
        let _ = writeln!(
            stderr,
            "{changed} file{} not formatted: run `writ fmt` to fix",
            if changed == 1 { "" } else { "s" }
        );
    }
    if unreadable > 0 {
        exit::USAGE
    } else if invalid > 0 || (check && changed > 0) {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

fn format_one(entry: Result<PathBuf, LoadError>, check: bool, options: RenderOptions) -> Outcome {
    let loaded = entry.and_then(|path| files::read(&path).map(|source| (path, source)));
    let (path, source) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return Outcome::Unreadable(error.to_string()),
    };
    let name = files::shown(&path);
    let formatted = match crate::syntax::format(&source) {
        Ok(formatted) => formatted,
        Err(diagnostics) => return Outcome::Invalid(render(&name, &source, &diagnostics, options)),
    };
    if formatted == source {
        return Outcome::Clean;
    }
    if check {
        return Outcome::Changed(diff(&name, &source, &formatted));
    }
    match write_back(&path, &formatted) {
        Ok(()) => Outcome::Changed(String::new()),
        Err(error) => Outcome::WriteFailed(format!("cannot write `{name}`: {error}")),
    }
}

/// The unified diff from `old` to `new`, with the file's name in the headers.
fn diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
}

/// Replaces the file through a temporary file beside it, so an interrupted write cannot leave
/// half a workflow behind.
fn write_back(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".writ-fmt.tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&temporary, meta.permissions())?;
    }
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
