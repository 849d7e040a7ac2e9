//! `writ export decisions [--since DUR] [--workflow W] --format jsonl`: every human decision
//! as a labelled example (`runtime::decisions`), one JSON object per line on stdout.

use super::exit;
use super::runtime_args::ConfigArg;
use crate::runtime::clock;
use crate::runtime::decisions::{self, Filter};
use crate::runtime::event::Event;
use crate::runtime::store::Store;
use crate::runtime::trust::{Pinned, Proof, verify};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Every human decision (confirmed, rejected, expired) with what the model recommended
    /// and what the confirmer was shown; auto decisions are left out.
    Decisions(DecisionArgs),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Jsonl,
}

#[derive(clap::Args)]
struct DecisionArgs {
    /// Only decisions of the last DUR (`30s`, `15m`, `4h`, `28d`).
    #[arg(long, value_name = "DUR", value_parser = super::quality::seconds)]
    since: Option<u64>,
    /// One workflow only.
    #[arg(long, value_name = "NAME")]
    workflow: Option<String>,
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: &Args) -> u8 {
    match &args.what {
        What::Decisions(args) => export_decisions(args),
    }
}

fn export_decisions(args: &DecisionArgs) -> u8 {
    let (_, store, pinned) = match args.config.open_store() {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    store.read_widely();
    let events = match store.kind_events(&decisions::KINDS) {
        Ok(events) => events,
        Err(error) => {
            eprintln!("error: cannot read the store: {error}");
            return exit::USAGE;
        }
    };
    let now = clock::now();
    let filter = Filter {
        since: args.since.map(|s| super::quality::ago(now, s)),
        workflow: args.workflow.as_deref(),
    };
    let holds = |event: &Event, proof: &Proof| proof_holds(&pinned, event, proof);
    match args.format {
        Format::Jsonl => {
            for example in decisions::examples(&events, &filter, &holds) {
                outln!("{}", serde_json::to_string(&example).unwrap_or_default());
            }
        }
    }
    exit::OK
}

/// Whether the decision's proof holds against the registry the store trusts now, for the
/// person the event names, at the time it was recorded, and its statement says this decision.
fn proof_holds(pinned: &Pinned, event: &Event, proof: &Proof) -> bool {
    let (Some(person), Some(at)) = (event.event.person.as_deref(), clock::parse(&event.at)) else {
        return false;
    };
    verify(pinned, proof, person, at).is_ok()
        && proof.statement.as_deref().is_none_or(|text| {
            crate::runtime::trust::audit::agrees(event, text, &pinned.store).is_ok()
        })
}
