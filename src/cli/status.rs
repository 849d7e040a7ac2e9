//! `writ status [RUN]`: where runs stand, replayed from their events. Without RUN, one line
//! per run (with `--format json`, one object with a `runs` list); with RUN, its steps, what it
//! waits for and who decides, and, when it needs repair, who repairs. A killed workflow is
//! shown with who killed it, when and why.

use std::collections::BTreeMap;

use serde::Serialize;

use super::exit;
use super::remote::ServerArg;
use super::report::{self, Format};
use super::runs;
use super::runtime_args::ConfigArg;
use crate::ops;
use crate::ops::status::Line;

#[derive(clap::Args)]
pub struct Args {
    /// One run's id; without it, every run.
    run: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    server: ServerArg,
}

pub fn run(args: &Args) -> u8 {
    if let Some(server) = &args.server.server {
        return super::remote::status(server, args.run.as_deref(), args.format);
    }
    let config = match args.config.load() {
        Ok(config) => config,
        Err(code) => return code,
    };
    if let Some(run) = &args.run {
        let shown = ops::status::one(&config, run).and_then(|(state, status)| {
            let killed = ops::status::kill_of(&config, &state)?;
            Ok((state, status, killed))
        });
        return match shown {
            Ok((state, status, killed)) => {
                let mut shown = report::report(&state, status);
                shown.killed = killed.map(|(event, holds)| report::Killed::of(&event, holds));
                report::print_report(&shown, &state, args.format);
                exit::OK
            }
            Err(error) => runs::ops_fail(&error),
        };
    }
    let listed = ops::status::list(&config).and_then(|lines| {
        let kills = ops::status::kills_now(&config, &lines)?;
        Ok((lines, kills))
    });
    match listed {
        Ok((lines, kills)) => {
            let kills: BTreeMap<String, report::Killed> = kills
                .into_iter()
                .map(|(workflow, event)| (workflow, report::Killed::of(&event, true)))
                .collect();
            out!("{}", render_lines(&lines, args.format, &kills));
            exit::OK
        }
        Err(error) => runs::ops_fail(&error),
    }
}

/// What `writ status` prints for a listing (a client prints the same for the service's).
/// Text: one line per killed workflow before the runs (JSON: in the same object as them).
pub fn render_lines(
    lines: &[Line],
    format: Format,
    kills: &BTreeMap<String, report::Killed>,
) -> String {
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Runs<'a> {
                runs: &'a [Line],
                /// Per workflow killed now: who, when, why.
                #[serde(skip_serializing_if = "BTreeMap::is_empty")]
                killed: &'a BTreeMap<String, report::Killed>,
            }
            let runs = Runs {
                runs: lines,
                killed: kills,
            };
            format!("{}\n", serde_json::to_string(&runs).unwrap_or_default())
        }
        Format::Text => {
            let mut out = String::new();
            for (workflow, kill) in kills {
                out.push_str(&super::terminal::escape(&kill.text(workflow)));
                out.push('\n');
            }
            if lines.is_empty() {
                out.push_str("no runs yet\n");
            }
            for line in lines {
                let text = format!(
                    "{:<24} {:<24} {:<13} started by {} at {}",
                    line.run, line.workflow, line.status, line.started_by, line.started_at
                );
                out.push_str(&super::terminal::escape(&text));
                out.push('\n');
            }
            out
        }
    }
}
