//! `writ approve RUN STEP --key K [--as P] [--note T]` and `writ reject RUN STEP --key K
//! [--as P] --reason T`: a human decision on a waiting confirm, through `decide`. A decision never runs
//! the steps after it (`writ resume` does); a rejection ends the run, reversing any write.
//! Exit 0 when recorded, 1 when refused.

use super::exit;
use super::report::Format;
use super::runs::{self, show};
use super::runtime_args::ConfigArg;
use super::sign::{SignArgs, Signing};
use crate::runtime::decide::{Decider, Verdict};
use crate::runtime::engine::{EngineError, Mode};
use crate::runtime::trust::statement::Act;
use serde_json::json;

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
        // What the person signs: this run, this confirm, this plan, exactly the writes the
        // waiting request allows, and the verdict.
        let gates: Vec<String> = engine
            .state()
            .steps
            .get(self.step)
            .and_then(|s| s.request.as_ref())
            .map(|(request, _)| request.gates.iter().map(|g| g.hash.clone()).collect())
            .unwrap_or_default();
        let fields = json!({
            "run": self.run,
            "step": self.step,
            "fingerprint": engine.state().fingerprint,
            "decision": match self.verdict {
                Verdict::Confirm => "confirm",
                Verdict::Reject => "reject",
            },
            "gates": gates,
            "note": self.note,
        });
        let acting = match self.sign.sign(&opened.pinned, Act::Decide, fields, &[])? {
            Signing::Act(acting) => acting,
            Signing::Printed => return Ok(exit::OK),
        };
        let engine = &mut opened.engine;
        let decider = Decider::Person {
            name: &acting.person,
            verdict: self.verdict,
            note: self.note,
            proof: acting.proof,
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
            engine.act_as(&acting.person, &role, None);
        }
        runs::drive(engine, Mode::Settle, concurrency)?;
        if let Some(refusal) = refused {
            return Err(runs::fail(&refusal, exit::FINDINGS));
        }
        show(engine.state(), self.format);
        Ok(exit::OK)
    }
}
