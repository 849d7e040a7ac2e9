//! `writ resume RUN`: continues a run after decisions, or after a crash (writes in doubt are
//! checked against their before-images, never written twice). Refused when the workflow file's
//! plan changed since the run started. Exits as `writ run` does.

use super::report::Format;
use super::runs::{self, exit_for, show};
use super::runtime_args::ConfigArg;
use crate::runtime::engine::Mode;

#[derive(clap::Args)]
pub struct Args {
    /// The run's id.
    run: String,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: &Args) -> u8 {
    let resumed = || -> Result<u8, u8> {
        let config = args.config.load()?;
        let concurrency = config.limits.concurrency;
        let mut opened = runs::open(config, &args.run)?;
        opened
            .engine
            .systems()
            .check_tokens()
            .map_err(|e| runs::fail(&e, super::exit::USAGE))?;
        runs::drive(&mut opened.engine, Mode::Run, concurrency)?;
        Ok(exit_for(show(opened.engine.state(), args.format)))
    };
    resumed().unwrap_or_else(|code| code)
}
