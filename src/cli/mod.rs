//! The command line: arguments (clap) -> a validated command -> one subcommand module each.
//! Nothing below this module prints.

#[macro_use]
mod terminal;

mod approve_plan;
mod audit;
mod check;
mod decision;
mod demo;
mod explain;
mod export;
mod files;
mod fmt;
mod init;
mod keygen;
mod lint;
mod log;
mod log_text;
mod plan;
pub(crate) mod quality;
mod registry;
mod remote;
pub(crate) mod report;
mod report_html;
mod resume;
mod rollback;
mod run;
mod runs;
mod runtime_args;
mod serve;
mod sign;
mod starter;
mod status;
mod switch;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes shared by every command (docs/runtime.md).
pub mod exit {
    pub const OK: u8 = 0;
    /// Findings (errors in a file), a refused plan, a failed run.
    pub const FINDINGS: u8 = 1;
    /// Usage or I/O problem.
    pub const USAGE: u8 = 2;
    /// A run waits for a human decision.
    pub const WAITING: u8 = 3;
}

#[derive(Parser)]
#[command(
    name = "writ",
    version,
    about = "Workflows that let AI write to business systems under human control"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check workflow files; directories are searched for `*.writ` files.
    Check(check::Args),
    /// Lint workflows for CI: every finding in human, json, sarif or github format.
    Lint(lint::Args),
    /// Rewrite workflows in the canonical layout (`--check`: print a diff, exit 1 if any).
    Fmt(fmt::Args),
    /// Print the plan of a workflow: steps, edges, approvers, rollbacks, risk, fingerprint.
    Plan(plan::Args),
    /// Print the rationale and a fixed example of one diagnostic code.
    Explain(explain::Args),
    /// Write a working starter: config, signers, development keys, a workflow and its database.
    Init(init::Args),
    /// Make an OpenSSH ed25519 key pair for signing.
    Keygen(keygen::Args),
    /// Set up a SQLite helpdesk and run ticket triage end to end, printing each command.
    Demo(demo::Args),
    /// Sign a workflow version as runnable (its owner role).
    ApprovePlan(approve_plan::Args),
    /// Start a run of a workflow: runs until done, or until a confirm waits (exit 3).
    Run(run::Args),
    /// Confirm a waiting step of a run (four eyes: not the person who started it).
    Approve(decision::ApproveArgs),
    /// Reject a waiting step: the run ends with nothing written.
    Reject(decision::RejectArgs),
    /// Continue a run after decisions, or after a crash.
    Resume(resume::Args),
    /// Reverse a run's writes, newest first.
    Rollback(rollback::Args),
    /// Where runs stand.
    Status(status::Args),
    /// Print the audit trail of one run.
    Log(log::Args),
    /// Check the store's hash chain.
    Audit(audit::Args),
    /// The quality record per workflow and step: decisions, acceptance, and the gates now.
    Report(quality::Args),
    /// Export the record: `decisions`, every human decision as a labelled example (JSONL).
    Export(export::Args),
    /// The people, roles and keys the store trusts; changes signed by an admin.
    Registry(registry::Args),
    /// Kill switch: a workflow (or every workflow writing `--system`) drops to draft-only.
    Kill(switch::KillArgs),
    /// Lift the kill switch (needs the workflow's owner role).
    Revive(switch::ReviveArgs),
    /// The runtime as a service: HTTP API, timers; runs until SIGTERM.
    Serve(serve::Args),
}

pub fn run() -> ExitCode {
    // The exec sandbox's launcher is writ run again; it never reaches clap.
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    if let Some(code) = args
        .ok()
        .and_then(|a| crate::runtime::sandbox::launcher::dispatch(&a))
    {
        return code;
    }
    // Before anything reads a secret: no program writ starts can read its memory or
    // `/proc/PID/environ`.
    crate::runtime::sandbox::harden_self();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            // Printing clap's own message (help, version or the usage error) is all we can do.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::ApprovePlan(args) => approve_plan::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Approve(args) => decision::approve(&args),
        Command::Reject(args) => decision::reject(&args),
        Command::Resume(args) => resume::run(&args),
        Command::Rollback(args) => rollback::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Log(args) => log::run(&args),
        Command::Kill(args) => switch::kill(&args),
        Command::Revive(args) => switch::revive(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Report(args) => quality::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Registry(args) => registry::run(&args),
        Command::Serve(args) => serve::run(&args),
    };
    ExitCode::from(code)
}

/// Opens `config`'s store (it must exist and trust the config's registry); refusals drawn.
fn trusted_store(config: &crate::runtime::config::Config) -> Result<(), u8> {
    runtime_args::trusted(config, crate::runtime::trust::Create::Never).map(|_| ())
}

/// Whether to colour output on stderr: a terminal, and `NO_COLOR` unset.
fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// How every command draws diagnostics on stderr: colour on a terminal unless `NO_COLOR`, and
/// wrapped at `COLUMNS` (40 to 400) or 100.
fn render_options() -> crate::diagnostics::RenderOptions {
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&w| (40..=400).contains(&w))
        .unwrap_or(100);
    crate::diagnostics::RenderOptions {
        color: stderr_color(),
        width,
    }
}
