//! `writ lint [PATH...]`: every finding of every workflow below the paths, in the format CI
//! reads (human, json, sarif, github), with `--deny warnings`, `--ignore CODE` and the file's
//! own `// writ: allow CODE` comments. Exit codes as `writ check`.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::files::LoadError;
use super::{exit, files, render_options};
use crate::check::check_source;
use crate::diagnostics::{Code, Diagnostic, RenderOptions, Severity, render};
use crate::lint::{Finding, Lines, Summary, Unreadable, github, sarif};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Diagnostics with source snippets on stderr, as `writ check` draws them.
    Human,
    /// One JSON document on stdout (schema `writ-lint/1`, docs/ci.md).
    Json,
    /// SARIF 2.1.0 on stdout, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands on stdout: annotations on the pull request.
    Github,
}

/// What `--deny` can make fail the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Deny {
    /// Warnings count as errors for the exit code.
    Warnings,
}

#[derive(clap::Args)]
pub struct Args {
    /// Workflow files, or directories to search for `*.writ` files (honouring `.gitignore`).
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// `--deny warnings`: exit 1 when any warning is reported.
    #[arg(long, value_enum)]
    deny: Vec<Deny>,
    /// Leave out every finding with this code (repeat, or separate with commas).
    #[arg(long, value_name = "CODE", value_delimiter = ',')]
    ignore: Vec<String>,
    /// SARIF only: the absolute URI of docs/diagnostics.md, for each rule's `helpUri`.
    #[arg(long, value_name = "URI")]
    help_uri_base: Option<String>,
}

/// One file's outcome.
enum Outcome {
    Unreadable(Unreadable),
    Linted {
        findings: Vec<Finding>,
        /// Drawn for the human format only.
        report: String,
    },
}

pub fn run(args: &Args) -> u8 {
    let ignored = match parse_codes(&args.ignore) {
        Ok(codes) => codes,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::USAGE;
        }
    };
    let entries = files::expand_ignoring(&args.paths);
    let human = args.format == Format::Human;
    let options = render_options();
    let progress = Progress::new(entries.len());
    let outcomes = files::parallel_map(
        entries,
        |entry| lint_one(entry, &ignored, human.then_some(options)),
        &|| progress.tick(),
    );
    progress.finish();
    let (findings, unreadable, summary, reports) = gather(outcomes);
    let written = match args.format {
        Format::Human => {
            let mut stderr = std::io::stderr().lock();
            let text = format!(
                "{}{}\n",
                reports.concat(),
                summary_line(&unreadable, summary)
            );
            stderr.write_all(text.as_bytes())
        }
        Format::Json => write_stdout(crate::lint::json(&findings, &unreadable, summary)),
        Format::Sarif => write_stdout(sarif::render(&findings, args.help_uri_base.as_deref())),
        Format::Github => {
            let mut text = github::render(&findings);
            for problem in &unreadable {
                text.push_str(&format!("::error title=unreadable::{}\n", problem.message));
            }
            write_stdout(Ok(text))
        }
    };
    if !human && !unreadable.is_empty() {
        for problem in &unreadable {
            eprintln!("error: {}", problem.message);
        }
    }
    let denied = args.deny.contains(&Deny::Warnings) && summary.warnings > 0;
    if written.is_err() || summary.unreadable > 0 {
        exit::USAGE
    } else if summary.errors > 0 || denied {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

fn write_stdout(text: serde_json::Result<String>) -> std::io::Result<()> {
    let text = text.map_err(std::io::Error::other)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// `--ignore` values as codes; an unknown one is a usage error (a typo would ignore nothing).
fn parse_codes(words: &[String]) -> Result<BTreeSet<Code>, String> {
    words
        .iter()
        .filter(|word| !word.trim().is_empty())
        .map(|word| {
            Code::parse(word).ok_or_else(|| {
                format!("`--ignore {word}`: not a diagnostic code (`writ explain CODE` lists them)")
            })
        })
        .collect()
}

type Gathered = (Vec<Finding>, Vec<Unreadable>, Summary, Vec<String>);

fn gather(outcomes: Vec<Outcome>) -> Gathered {
    let mut summary = Summary::default();
    let (mut findings, mut unreadable, mut reports) = (Vec::new(), Vec::new(), Vec::new());
    for outcome in outcomes {
        match outcome {
            Outcome::Unreadable(problem) => {
                summary.unreadable += 1;
                unreadable.push(problem);
            }
            Outcome::Linted {
                findings: mine,
                report,
            } => {
                summary.files += 1;
                summary.errors += mine
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .count();
                summary.warnings += mine
                    .iter()
                    .filter(|f| f.severity == Severity::Warning)
                    .count();
                findings.extend(mine);
                reports.push(report);
            }
        }
    }
    (findings, unreadable, summary, reports)
}

fn lint_one(
    entry: Result<PathBuf, LoadError>,
    ignored: &BTreeSet<Code>,
    human: Option<RenderOptions>,
) -> Outcome {
    let loaded = entry.and_then(|path| files::read(&path).map(|source| (path, source)));
    let (path, source) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            let file = match &error {
                LoadError::Io { path, .. }
                | LoadError::TooLarge { path, .. }
                | LoadError::InvalidUtf8 { path, .. }
                | LoadError::Walk { path, .. }
                | LoadError::EmptyDirectory { path } => path.clone(),
            };
            return Outcome::Unreadable(Unreadable {
                file,
                message: error.to_string(),
            });
        }
    };
    let file = files::shown(&path);
    let diagnostics: Vec<Diagnostic> = check_source(&source)
        .diagnostics
        .into_iter()
        .filter(|d| !ignored.contains(&d.code))
        .collect();
    let lines = Lines::new(&source);
    let findings = diagnostics
        .iter()
        .map(|d| Finding::new(&file, &lines, d))
        .collect();
    let report = match human {
        Some(options) if !diagnostics.is_empty() => render(&file, &source, &diagnostics, options),
        _ => String::new(),
    };
    Outcome::Linted { findings, report }
}

fn summary_line(unreadable: &[Unreadable], summary: Summary) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut text = String::new();
    for problem in unreadable {
        text.push_str(&format!("error: {}\n", problem.message));
    }
    text.push_str(&format!(
        "linted {}: {}, {}",
        plural(summary.files, "file"),
        plural(summary.errors, "error"),
        plural(summary.warnings, "warning")
    ));
    if summary.unreadable > 0 {
        text.push_str(&format!(
            ", {} could not be read",
            plural(summary.unreadable, "path")
        ));
    }
    text
}

/// A one-line progress count on stderr, drawn only when stderr is a terminal and the run
/// takes longer than a moment: pipes and CI logs stay clean.
struct Progress {
    total: usize,
    done: AtomicUsize,
    started: Instant,
    shown: AtomicBool,
    enabled: bool,
}

impl Progress {
    /// Runs shorter than this draw nothing.
    const DELAY: Duration = Duration::from_millis(300);

    fn new(total: usize) -> Progress {
        Progress {
            total,
            done: AtomicUsize::new(0),
            started: Instant::now(),
            shown: AtomicBool::new(false),
            enabled: std::io::stderr().is_terminal(),
        }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        // Redraw every 64 files, so drawing costs nothing measurable.
        if !self.enabled || !done.is_multiple_of(64) || self.started.elapsed() < Self::DELAY {
            return;
        }
        self.shown.store(true, Ordering::Relaxed);
        let width = 30;
        let filled = (done * width)
            .checked_div(self.total)
            .unwrap_or(width)
            .min(width);
        eprint!(
            "\r[{}{}] {done}/{} files",
            "#".repeat(filled),
            " ".repeat(width - filled),
            self.total
        );
    }

    /// Clears the progress line, if one was drawn.
    fn finish(&self) {
        if self.shown.load(Ordering::Relaxed) {
            eprint!("\r{}\r", " ".repeat(60));
        }
    }
}
