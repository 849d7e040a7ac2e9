//! `writ resume RUN`: continues a run after decisions, or after a crash (writes in doubt are
//! checked against their before-images, never written twice). Refused when the workflow file's
//! plan changed since the run started. Exits as `writ run` does.

use super::remote::ServerArg;
use super::report::Format;
use super::runs::{self, exit_for, show};
use super::runtime_args::ConfigArg;

#[derive(clap::Args)]
pub struct Args {
    /// The run's id.
    run: String,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    server: ServerArg,
}

pub fn run(args: &Args) -> u8 {
    if let Some(server) = &args.server.server {
        return super::remote::resume(server, &args.run, args.format);
    }
    let resumed = || -> Result<u8, u8> {
        let config = args.config.load()?;
        let state = crate::ops::resume::resume(config, &args.run, runs::progress())
            .map_err(|e| runs::ops_fail(&e))?;
        Ok(exit_for(show(&state, args.format)))
    };
    resumed().unwrap_or_else(|code| code)
}
