//! `writ rollback RUN --key K [--as P] [--reason T] [--force]`: reverses a run's writes, newest first, on a person's
//! request. Only the workflow's `owner` role or one of its rollbacks' `repair by` roles may ask.
//! Exit 0 when every write is reversed, 1 when refused or when a reversal failed
//! (`needs_repair`).

use super::exit;
use super::report::Format;
use super::runs::{self, show};
use super::runtime_args::ConfigArg;
use super::sign::{SignArgs, Signing};
use crate::runtime::run::Status;
use crate::runtime::trust::statement::Act;
use serde_json::json;

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
    let mut opened = runs::open(config, &args.run)?;
    let fields = json!({ "run": args.run, "reason": args.reason, "force": args.force });
    let acting = match args.sign.sign(&opened.pinned, Act::Rollback, fields, &[])? {
        Signing::Act(acting) => acting,
        Signing::Printed => return Ok(exit::OK),
    };
    let person = acting.person.as_str();
    let roles = opened
        .pinned
        .registry
        .roles_of(person)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let engine = &mut opened.engine;
    let allowed = engine.rollback_roles();
    let Some(role) = roles
        .iter()
        .find(|r| allowed.iter().any(|a| a == r.as_str()))
    else {
        eprintln!(
            "error: `{}` may not roll back run `{}`: that needs one of the roles {}",
            person,
            args.run,
            allowed.join(", ")
        );
        eprintln!("  help: {}'s roles: {}", person, roles.join(", "));
        return Err(exit::FINDINGS);
    };
    let status = engine.state().status();
    if matches!(
        status,
        Status::RolledBack | Status::Failed | Status::Rejected | Status::Expired
    ) {
        eprintln!(
            "error: run `{}` ended `{}`: its writes were already reversed",
            args.run,
            status.as_str()
        );
        return Err(exit::FINDINGS);
    }
    engine.act_as(person, role, Some(acting.proof.clone()));
    engine
        .rollback(args.force)
        .map_err(|e| runs::fail(&e, exit::USAGE))?;
    Ok(match show(engine.state(), args.format) {
        Status::RolledBack => exit::OK,
        _ => exit::FINDINGS,
    })
}
