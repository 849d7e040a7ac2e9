//! `writ approve RUN STEP --key K [--as P] [--note T]` and `writ reject RUN STEP --key K
//! [--as P] --reason T`: a human decision on a waiting confirm, through `decide`. A decision never runs
//! the steps after it (`writ resume` does); a rejection ends the run, reversing any write.
//! Exit 0 when recorded, 1 when refused.

use super::exit;
use super::remote::{self, ServerArg};
use super::report::Format;
use super::runs::{self, show};
use super::runtime_args::ConfigArg;
use super::sign::{SignArgs, Signing};
use crate::ops::decide;
use crate::runtime::decide::Verdict;
use crate::runtime::trust::statement::Act;

#[derive(clap::Args)]
pub struct ApproveArgs {
    /// The run's id.
    run: String,
    /// The confirm step.
    step: String,
    #[command(flatten)]
    sign: SignArgs,
    /// A note kept with the decision.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    server: ServerArg,
}

#[derive(clap::Args)]
pub struct RejectArgs {
    /// The run's id.
    run: String,
    /// The confirm step.
    step: String,
    #[command(flatten)]
    sign: SignArgs,
    /// Why: a labelled failure for the recommendation's record.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    server: ServerArg,
}

pub fn approve(args: &ApproveArgs) -> u8 {
    let decision = Decision {
        run: &args.run,
        step: &args.step,
        sign: &args.sign,
        verdict: Verdict::Confirm,
        note: args.note.clone(),
        format: args.format,
        config: &args.config,
        server: args.server.server.as_deref(),
    };
    decision.record().unwrap_or_else(|code| code)
}

pub fn reject(args: &RejectArgs) -> u8 {
    if args.reason.trim().is_empty() {
        eprintln!("error: a rejection needs a reason: `--reason TEXT`");
        return exit::USAGE;
    }
    let decision = Decision {
        run: &args.run,
        step: &args.step,
        sign: &args.sign,
        verdict: Verdict::Reject,
        note: Some(args.reason.clone()),
        format: args.format,
        config: &args.config,
        server: args.server.server.as_deref(),
    };
    decision.record().unwrap_or_else(|code| code)
}

struct Decision<'a> {
    run: &'a str,
    step: &'a str,
    sign: &'a SignArgs,
    verdict: Verdict,
    note: Option<String>,
    format: Format,
    config: &'a ConfigArg,
    server: Option<&'a str>,
}

impl Decision<'_> {
    fn record(self) -> Result<u8, u8> {
        let config = self.config.load()?;
        if let Some(server) = self.server {
            let decision = decide::verdict_name(self.verdict);
            let fields = remote::decision_fields(
                server,
                self.run,
                self.step,
                decision,
                self.note.as_deref(),
            )?;
            let send = remote::Send {
                server,
                config: &config,
                sign: self.sign,
                act: Act::Decide,
                fields,
                free: &[],
                path: "/v1/decisions",
                format: self.format,
            };
            return send.send(false);
        }
        let (fields, pinned) = decide::draft(
            &config,
            self.run,
            self.step,
            self.verdict,
            self.note.as_deref(),
        )
        .map_err(|e| runs::ops_fail(&e))?;
        let acting = match self.sign.sign(&pinned, Act::Decide, fields, &[])? {
            Signing::Act(acting) => acting,
            Signing::Printed => return Ok(exit::OK),
        };
        let request = decide::Request {
            run: self.run.to_owned(),
            step: self.step.to_owned(),
            verdict: self.verdict,
            note: self.note,
            signed: acting.signed(),
        };
        let state =
            decide::decide(config, request, runs::progress()).map_err(|e| runs::ops_fail(&e))?;
        show(&state, self.format);
        Ok(exit::OK)
    }
}
