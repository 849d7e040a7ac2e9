//! `writ rollback RUN --key K [--as P] [--reason T] [--force]`: reverses a run's writes, newest first, on a person's
//! request. Only the workflow's `owner` role or one of its rollbacks' `repair by` roles may ask.
//! Exit 0 when every write is reversed, 1 when refused or when a reversal failed
//! (`needs_repair`).

use super::exit;
use super::report::Format;
use super::runs::{self, show};
use super::runtime_args::ConfigArg;
use super::sign::{SignArgs, Signing};
use crate::ops;
use crate::runtime::run::Status;
use crate::runtime::trust::statement::Act;

#[derive(clap::Args)]
pub struct Args {
    /// The run's id.
    run: String,
    #[command(flatten)]
    sign: SignArgs,
    /// Why the run is reversed (kept with the request).
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Reverse even while a kill holds the workflow or its systems (a rollback obeys the kill
    /// switch otherwise).
    #[arg(long)]
    force: bool,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: &Args) -> u8 {
    rollback(args).unwrap_or_else(|code| code)
}

fn rollback(args: &Args) -> Result<u8, u8> {
    let config = args.config.load()?;
    let pinned = ops::rollback::draft(&config, &args.run).map_err(|e| runs::ops_fail(&e))?;
    let fields = ops::rollback::fields(&args.run, args.reason.as_deref(), args.force);
    let acting = match args.sign.sign(&pinned, Act::Rollback, fields, &[])? {
        Signing::Act(acting) => acting,
        Signing::Printed => return Ok(exit::OK),
    };
    let request = ops::rollback::Request {
        run: args.run.clone(),
        reason: args.reason.clone(),
        force: args.force,
        signed: acting.signed(),
    };
    let state = ops::rollback::rollback(config, request, runs::progress())
        .map_err(|e| runs::ops_fail(&e))?;
    Ok(match show(&state, args.format) {
        Status::RolledBack => exit::OK,
        _ => exit::FINDINGS,
    })
}
