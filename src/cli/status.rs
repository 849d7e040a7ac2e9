//! `writ status [RUN]`: where runs stand, replayed from their events. Without RUN, one line
//! per run (with `--format json`, one object with a `runs` list); with RUN, its steps, what it
//! waits for and who decides, and, when it needs repair, who repairs.

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
        return match ops::status::one(&config, run) {
            Ok((state, status)) => {
                report::print(&state, status, args.format);
                exit::OK
            }
            Err(error) => runs::ops_fail(&error),
        };
    }
    match ops::status::list(&config) {
        Ok(lines) => {
            out!("{}", render_lines(&lines, args.format));
            exit::OK
        }
        Err(error) => runs::ops_fail(&error),
    }
}

/// What `writ status` prints for a listing (a client prints the same for the service's).
pub fn render_lines(lines: &[Line], format: Format) -> String {
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Runs<'a> {
                runs: &'a [Line],
            }
            format!(
                "{}\n",
                serde_json::to_string(&Runs { runs: lines }).unwrap_or_default()
            )
        }
        Format::Text if lines.is_empty() => "no runs yet\n".to_owned(),
        Format::Text => {
            let mut out = String::new();
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
