//! `writ status [RUN]`: where runs stand, replayed from their events. Without RUN, one line
//! per run (with `--format json`, one object with a `runs` list); with RUN, its steps, what it
//! waits for and who decides, and, when it needs repair, who repairs.

use std::collections::BTreeMap;

use serde::Serialize;

use super::exit;
use super::report::{self, Format};
use super::runs;
use super::runtime_args::ConfigArg;
use crate::runtime::config::Config;
use crate::runtime::event::{Event, EventKind};
use crate::runtime::lock;
use crate::runtime::run::{RunState, Status};
use crate::runtime::store::Store;
use crate::runtime::switch;

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
        print_lines(Vec::new(), args.format, &BTreeMap::new());
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
                let mut shown = report::report(&state, status_of(&state));
                shown.killed = killed(&store, &config, &state);
                report::print_report(&shown, &state, args.format);
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
    let mut kills: BTreeMap<String, report::Killed> = BTreeMap::new();
    // One unreadable run (its events edited) is listed as such; it never hides the others.
    for run in &runs {
        lines.push(match load(run) {
            Ok(state) => {
                if !kills.contains_key(&state.workflow)
                    && let Some(kill) = holding(&store, &config, &state)
                {
                    kills.insert(state.workflow.clone(), report::Killed::of(&kill, true));
                }
                Line {
                    status: status_of(&state).as_str(),
                    run: state.id,
                    workflow: state.workflow,
                    started_by: state.starter,
                    started_at: state.started_at,
                }
            }
            Err(_) => Line {
                status: "unreadable",
                run: run.to_string(),
                workflow: String::new(),
                started_by: String::new(),
                started_at: String::new(),
            },
        });
    }
    print_killed(&kills, args.format);
    print_lines(lines, args.format, &kills);
    exit::OK
}

/// The kill holding `state`'s workflow now (by name, or a system it writes, by name or by
/// the target the config resolves it to), with its revive checked as the executor does.
fn holding(store: &dyn Store, config: &Config, state: &RunState) -> Option<Event> {
    let writes = &state.started.writes;
    let targets: Vec<String> = writes
        .iter()
        .filter_map(|w| config.systems.get(w.as_str()))
        .map(switch::config_key)
        .collect();
    switch::holding(store, &state.workflow, writes, &targets)
        .ok()
        .flatten()
}

/// What `writ status RUN` says of the kill switch: the kill holding the run's workflow now,
/// else the kill that drafted one of its writes (revived since).
fn killed(store: &dyn Store, config: &Config, state: &RunState) -> Option<report::Killed> {
    if let Some(kill) = holding(store, config, state) {
        return Some(report::Killed::of(&kill, true));
    }
    let seq = state.steps.values().find_map(|s| s.killed_by)?;
    let event = store.event(seq).ok().flatten()?;
    (event.event.kind == EventKind::WorkflowKilled).then(|| report::Killed::of(&event, false))
}

/// Text: one line per killed workflow before the runs (JSON: in the same object as them).
fn print_killed(kills: &BTreeMap<String, report::Killed>, format: Format) {
    if format == Format::Text {
        for (workflow, kill) in kills {
            outln!("{}", super::terminal::escape(&kill.text(workflow)));
        }
    }
}

fn print_lines(lines: Vec<Line>, format: Format, kills: &BTreeMap<String, report::Killed>) {
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Runs<'a> {
                runs: Vec<Line>,
                /// Per workflow killed now: who, when, why.
                #[serde(skip_serializing_if = "BTreeMap::is_empty")]
                killed: &'a BTreeMap<String, report::Killed>,
            }
            let runs = Runs {
                runs: lines,
                killed: kills,
            };
            outln!("{}", serde_json::to_string(&runs).unwrap_or_default());
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
