//! `writ status [RUN]`: where runs stand, replayed from their events. Without RUN, one line
//! per run (with `--format json`, one object with a `runs` list); with RUN, its steps, what it
//! waits for and who decides, and, when it needs repair, who repairs.

use serde::Serialize;

use super::exit;
use super::report::{self, Format};
use super::runs;
use super::runtime_args::ConfigArg;
use crate::runtime::lock;
use crate::runtime::run::{RunState, Status};
use crate::runtime::store::Store;

#[derive(clap::Args)]
pub struct Args {
    /// One run's id; without it, every run.
    run: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: &Args) -> u8 {
    // No store yet is no run yet, when listing (one run asked for is unknown all the same).
    if args.run.is_none()
        && let Ok(config) = args.config.load()
        && !config.state.exists()
    {
        print_lines(Vec::new(), args.format);
        return exit::OK;
    }
    let (config, store, _) = match args.config.open_store() {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let status_of = |state: &RunState| match state.status() {
        Status::Ready if lock::is_held(&config.state, &state.id) => Status::Running,
        other => other,
    };
    let load = |run: &str| runs::replayed(&store, run);
    if let Some(run) = &args.run {
        return match load(run) {
            Ok(state) => {
                report::print(&state, status_of(&state), args.format);
                exit::OK
            }
            Err(code) => code,
        };
    }
    let runs = match store.runs() {
        Ok(runs) => runs,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::USAGE;
        }
    };
    let mut lines = Vec::new();
    // One unreadable run (its events edited) is listed as such; it never hides the others.
    for run in &runs {
        lines.push(match load(run) {
            Ok(state) => Line {
                status: status_of(&state).as_str(),
                run: state.id,
                workflow: state.workflow,
                started_by: state.starter,
                started_at: state.started_at,
            },
            Err(_) => Line {
                status: "unreadable",
                run: run.to_string(),
                workflow: String::new(),
                started_by: String::new(),
                started_at: String::new(),
            },
        });
    }
    print_lines(lines, args.format);
    exit::OK
}

fn print_lines(lines: Vec<Line>, format: Format) {
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Runs {
                runs: Vec<Line>,
            }
            outln!(
                "{}",
                serde_json::to_string(&Runs { runs: lines }).unwrap_or_default()
            );
        }
        Format::Text if lines.is_empty() => outln!("no runs yet"),
        Format::Text => {
            for line in &lines {
                let text = format!(
                    "{:<24} {:<24} {:<13} started by {} at {}",
                    line.run, line.workflow, line.status, line.started_by, line.started_at
                );
                outln!("{}", super::terminal::escape(&text));
            }
        }
    }
}

#[derive(Serialize)]
struct Line {
    run: String,
    workflow: String,
    status: &'static str,
    started_by: String,
    started_at: String,
}
