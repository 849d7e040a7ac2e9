//! `writ report [--since DUR] [--workflow W] [--format text|json|html]`: the quality record per
//! workflow and step (`runtime::quality`), with whether each gate holds now and why not.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::exit;
use super::runtime_args::ConfigArg;
use crate::plan::{Name, Plan, plan_source};
use crate::runtime::clock;
use crate::runtime::quality::{self, Context, Report, StepRecord};
use crate::runtime::record::RunStarted;
use crate::runtime::store::Store;
use crate::runtime::store::sqlite::SqliteStore;
use crate::runtime::switch;
use crate::runtime::trust::plans;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines for a person.
    #[default]
    Text,
    /// One JSON object.
    Json,
    /// One self-contained HTML page with charts (inline SVG and CSS, nothing fetched).
    Html,
}

#[derive(clap::Args)]
pub struct Args {
    /// Count only events of the last DUR (`30s`, `15m`, `4h`, `28d`); gates are judged on
    /// the whole record all the same.
    #[arg(long, value_name = "DUR", value_parser = seconds)]
    since: Option<u64>,
    /// One workflow only.
    #[arg(long, value_name = "NAME")]
    workflow: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: &Args) -> u8 {
    let (_, store, _) = match args.config.open_store() {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    match rendered(
        &store,
        args.since,
        args.workflow.as_deref(),
        args.format,
        true,
    ) {
        Ok(page) => {
            out!("{page}");
            exit::OK
        }
        Err(error) => {
            eprintln!("error: {error}");
            exit::USAGE
        }
    }
}

/// The report of `store` in `format`, as `writ report` prints it (`writ serve` sends the same).
/// `ending`: the process ends once it is printed, so the events read need not be freed.
pub(crate) fn rendered(
    store: &SqliteStore,
    since: Option<u64>,
    workflow: Option<&str>,
    format: Format,
    ending: bool,
) -> Result<String, String> {
    store.read_widely();
    let (events, switches) = match (quality::events(store), store.switch_events()) {
        (Ok(events), Ok(switches)) => (events, switches),
        (Err(error), _) | (_, Err(error)) => {
            return Err(format!("cannot read the store: {error}"));
        }
    };
    let now = clock::now();
    let cache: RefCell<BTreeMap<String, Option<Plan>>> = RefCell::default();
    let plan = |fingerprint: &str| {
        cache
            .borrow_mut()
            .entry(fingerprint.to_owned())
            .or_insert_with(|| approved(store, fingerprint))
            .clone()
    };
    let killed =
        |workflow: &str, writes: &[Name]| switch::holding_in(&switches, workflow, writes, &[]);
    let writes = |seq: u64| {
        store
            .event(seq)
            .ok()
            .flatten()
            .and_then(|e| serde_json::from_value::<RunStarted>(e.event.data).ok())
            .map(|started| started.writes)
            .unwrap_or_default()
    };
    let context = Context {
        writes: &writes,
        now,
        since: since.map(|s| ago(now, s)),
        plan: &plan,
        killed: &killed,
    };
    let report = quality::report(&events, &context, workflow);
    // Hundreds of thousands of events freed one by one cost a sixth of the command's time
    // (measured over 1,000,000 events); the command ends right after printing. The service
    // answers many reports, so it frees them.
    if ending {
        std::mem::forget(events);
    }
    Ok(match format {
        Format::Json => format!("{}\n", serde_json::to_string(&report).unwrap_or_default()),
        Format::Text => text(&report),
        Format::Html => super::report_html::page(&report).map_err(|e| e.to_string())?,
    })
}

/// The approved plan with `fingerprint`, built again from the source its approval keeps.
fn approved(store: &dyn Store, fingerprint: &str) -> Option<Plan> {
    let approval = plans::approved(store, fingerprint).ok()??;
    plan_source(&approval.source)
        .ok()
        .map(|(plan, _)| plan)
        .filter(|plan| plan.fingerprint == fingerprint)
}

/// The moment `seconds` before `now`.
pub(super) fn ago(now: clock::Millis, seconds: u64) -> clock::Millis {
    now.saturating_sub(i64::try_from(seconds.saturating_mul(1_000)).unwrap_or(i64::MAX))
}

/// `28d` -> 2,419,200: a whole number and one unit `s`, `m`, `h` or `d`.
pub(crate) fn seconds(text: &str) -> Result<u64, String> {
    let wrong = || {
        format!(
            "`{text}` is not a duration: write a whole number and a unit `s`, `m`, `h` or `d` (`30s`, `28d`)"
        )
    };
    let split = text.len().saturating_sub(1);
    let (number, unit) = (
        text.get(..split).ok_or_else(wrong)?,
        text.get(split..).ok_or_else(wrong)?,
    );
    let per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(wrong()),
    };
    let amount: u64 = number.parse().map_err(|_| wrong())?;
    amount.checked_mul(per_unit).ok_or_else(wrong)
}

fn text(report: &Report) -> String {
    let mut out = String::new();
    if report.workflows.is_empty() {
        out.push_str("no runs recorded\n");
    }
    for workflow in &report.workflows {
        out.push_str(&format!(
            "workflow {}: {} runs\n",
            workflow.workflow, workflow.runs
        ));
        if let Some(killed) = &workflow.killed {
            out.push_str(&format!(
                "  killed by {} at {}: {}\n",
                killed.by, killed.at, killed.reason
            ));
        }
        for step in &workflow.steps {
            out.push_str(&step_text(step));
        }
    }
    out
}

fn step_text(step: &StepRecord) -> String {
    let mut out = format!("  {}\n", step.step);
    if step.decisions > 0 {
        out.push_str(&format!(
            "    human decisions {}: {} confirmed, {} rejected, {} expired (acceptance {})\n",
            step.decisions,
            step.confirmed,
            step.rejected,
            step.expired,
            crate::runtime::autonomy::percent(step.acceptance_basis_points)
        ));
    }
    for rejection in &step.rejections {
        out.push_str(&format!(
            "    rejected by {} at {}: {}\n",
            rejection.by, rejection.at, rejection.reason
        ));
    }
    let unlisted = step.rejected.saturating_sub(step.rejections.len() as u64);
    if unlisted > 0 {
        out.push_str(&format!(
            "    ({unlisted} earlier rejections not listed: `writ export decisions` has them all)\n"
        ));
    }
    if step.auto_decisions + step.sampled_reviews + step.rollbacks + step.repairs > 0 {
        out.push_str(&format!(
            "    auto decisions {}, sampled reviews {}, rollbacks {}, repairs {}\n",
            step.auto_decisions, step.sampled_reviews, step.rollbacks, step.repairs
        ));
    }
    if let Some(gate) = &step.gate {
        let verdict = if gate.holds { "holds" } else { "closed" };
        out.push_str(&format!("    gate ({}): {verdict}\n", gate.rule));
        for why in &gate.missing {
            out.push_str(&format!("      {why}\n"));
        }
        out.push_str(&format!("      had it held: {}\n", gate.had_it_held));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn durations() {
        assert_eq!(seconds("28d"), Ok(2_419_200));
        assert_eq!(seconds("30s"), Ok(30));
        assert!(seconds("").is_err());
        assert!(seconds("4w").is_err());
        assert!(seconds("é").is_err());
    }
}
