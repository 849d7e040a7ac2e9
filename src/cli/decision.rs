//! `writ approve RUN STEP --as PERSON [--note T]` and `writ reject RUN STEP --as PERSON
//! --reason T`: a human decision on a waiting confirm, through `decide`. A decision never runs
//! the steps after it (`writ resume` does); a rejection ends the run, reversing any write.
//! Exit 0 when recorded, 1 when refused.

use super::exit;
use super::report::Format;
use super::runs::{self, show};
use super::runtime_args::ConfigArg;
use crate::runtime::decide::{Decider, Verdict};
use crate::runtime::engine::{EngineError, Mode};

#[derive(clap::Args)]
pub struct ApproveArgs {
    /// The run's id.
    run: String,
    /// The confirm step.
    step: String,
    #[arg(long = "as", value_name = "PERSON")]
    person: String,
    /// A note kept with the decision.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
}

#[derive(clap::Args)]
pub struct RejectArgs {
    /// The run's id.
    run: String,
    /// The confirm step.
    step: String,
    #[arg(long = "as", value_name = "PERSON")]
    person: String,
    /// Why: a labelled failure for the recommendation's record.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn approve(args: &ApproveArgs) -> u8 {
    let decision = Decision {
        run: &args.run,
        step: &args.step,
        person: &args.person,
        verdict: Verdict::Confirm,
        note: args.note.clone(),
        format: args.format,
        config: &args.config,
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
        person: &args.person,
        verdict: Verdict::Reject,
        note: Some(args.reason.clone()),
        format: args.format,
        config: &args.config,
    };
    decision.record().unwrap_or_else(|code| code)
}

struct Decision<'a> {
    run: &'a str,
    step: &'a str,
    person: &'a str,
    verdict: Verdict,
    note: Option<String>,
    format: Format,
    config: &'a ConfigArg,
}

impl Decision<'_> {
    fn record(self) -> Result<u8, u8> {
        let config = self.config.load()?;
        let concurrency = config.limits.concurrency;
        let mut opened = runs::open(config, self.run)?;
        let engine = &mut opened.engine;
        // A deadline that passed is recorded first: a late decision is never an approval.
        engine
            .apply_timers()
            .map_err(|e| runs::fail(&e, exit::USAGE))?;
        let decider = Decider::Person {
            name: self.person,
            verdict: self.verdict,
            note: self.note,
        };
        let refused = match engine.decide(self.step, decider) {
            Ok(()) => None,
            Err(EngineError::Refused(refusal)) => Some(refusal),
            Err(other) => return Err(runs::fail(&other, exit::USAGE)),
        };
        if self.verdict == Verdict::Reject && refused.is_none() {
            let role = engine
                .state()
                .steps
                .get(self.step)
                .and_then(|s| s.deciding_role.clone())
                .unwrap_or_default();
            engine.act_as(self.person, &role);
        }
        runs::drive(engine, Mode::Settle, concurrency)?;
        if let Some(refusal) = refused {
            return Err(runs::fail(&refusal, exit::FINDINGS));
        }
        show(engine.state(), self.format);
        Ok(exit::OK)
    }
}
