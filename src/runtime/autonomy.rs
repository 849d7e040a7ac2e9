//! Earned autonomy: whether an execute's
//! `auto when acceptance >= P% over DUR [min N] [and critical == 0] [review R%]` holds, as a
//! pure function of the workflow's events and a `now` (so tests give any clock they like and
//! the runtime gives the real one; nothing reads the time here).
//!
//! Counted: human decisions (`confirmed`, `rejected`, `expired`) on the same approved plan (the
//! run's fingerprint) and the confirm steps that gate this execute, whose recorded gates hold
//! this execute with the same plan slice (action text, system, approver, confirms and their
//! roles: `systems::text_hash`) and the same target (a changed action, or a copy of the
//! workflow pointed at a scratch database, starts from zero). `auto_confirmed` events never
//! count. Critical: this execute rolled back, its rollback failed, or a run ended
//! `needs_repair` with it unreversed.
//!
//! v2 (`docs/runtime.md`, "Earned autonomy"): the figures are the human decisions of the last
//! `DUR`, or, when those are fewer than `min`, the `min` most recent ones; never any older
//! than the horizon (`2 x DUR`). Sampled reviews (`review R%`) keep feeding that record while
//! the gate holds, so it neither starves nor lives on stale evidence.

use super::clock::{self, Millis};
use super::event::{Event, EventKind};
use super::record::{Ended, Figures, Gate, Reversal};
use super::run::Status;
use crate::plan::{Name, PlanAuto};
use serde::Deserialize;

/// One counted human decision: when, and whether it confirmed.
#[derive(Clone, Copy)]
struct Decision {
    at: Millis,
    kind: EventKind,
}

/// The gate's figures at `now`, whether or not it holds (see [`holds`] and [`missing`]).
/// Events dated after `now` are not evidence yet.
pub fn figures<'e>(
    events: impl IntoIterator<Item = &'e Event>,
    fingerprint: &str,
    gate: &Gate,
    confirms: &[Name],
    auto: &PlanAuto,
    now: Millis,
) -> Figures {
    let mut decided = Vec::new();
    let mut critical_at = Vec::new();
    for event in events {
        let Some(at) = clock::parse(&event.at).filter(|at| *at <= now) else {
            continue;
        };
        if counts(event, fingerprint, gate, confirms) {
            decided.push(Decision {
                at,
                kind: event.event.kind,
            });
        } else if is_critical(event, gate) {
            critical_at.push(at);
        }
    }
    summarise(&decided, &critical_at, auto, now)
}

/// The figures from the counted decisions and critical moments (any order).
fn summarise(
    decided: &[Decision],
    critical_at: &[Millis],
    auto: &PlanAuto,
    now: Millis,
) -> Figures {
    let window_start = now.saturating_sub(millis(auto.over_seconds));
    let horizon_start = now.saturating_sub(millis(auto.horizon_seconds()));
    let first = decided.iter().map(|d| d.at).min();
    let mut recent: Vec<Decision> = decided
        .iter()
        .copied()
        .filter(|d| d.at >= horizon_start)
        .collect();
    // Newest first: the window's decisions, then older ones up to `min`.
    recent.sort_by_key(|d| std::cmp::Reverse(d.at));
    let in_window = recent.iter().take_while(|d| d.at >= window_start).count();
    let wanted = usize::try_from(auto.min_decisions).unwrap_or(usize::MAX);
    let taken = in_window.max(wanted.min(recent.len()));
    let counted = recent.get(..taken).unwrap_or(&recent);
    let since = counted
        .last()
        .map_or(window_start, |d| d.at.min(window_start));
    let tally = |kind: EventKind| counted.iter().filter(|d| d.kind == kind).count() as u64;
    let (confirmed, decisions) = (tally(EventKind::Confirmed), counted.len() as u64);
    Figures {
        decisions,
        confirmed,
        rejected: tally(EventKind::Rejected),
        expired: tally(EventKind::Expired),
        acceptance_basis_points: confirmed
            .saturating_mul(10_000)
            .checked_div(decisions)
            .unwrap_or(0),
        required_basis_points: auto.acceptance_basis_points,
        min_decisions: auto.min_decisions,
        window_seconds: auto.over_seconds,
        first_decision: first.map(clock::format).unwrap_or_default(),
        critical: critical_at.iter().filter(|at| **at >= since).count() as u64,
        horizon_seconds: auto.horizon_seconds(),
        counted_since: clock::format(since),
        spans_window: first.is_some_and(|f| f <= window_start),
    }
}

/// Whether the gate holds with these figures: the one definition, used by the executor to
/// decide whether to ask and by `decide` to allow. At least one human decision is always
/// needed, whatever `min` says; the kill switch overrides everything.
pub fn holds(figures: &Figures, auto: &PlanAuto, killed: bool) -> bool {
    !killed
        && figures.spans_window
        && figures.decisions >= auto.min_decisions.max(1)
        && figures.confirmed.saturating_mul(10_000)
            >= auto
                .acceptance_basis_points
                .saturating_mul(figures.decisions)
        && (!auto.no_critical || figures.critical == 0)
}

/// What keeps the gate closed, in words, or nothing when it holds (the kill switch aside):
/// the same verdicts as [`holds`]. `now` only phrases the age of the first decision.
pub fn missing(figures: &Figures, auto: &PlanAuto, now: Millis) -> Vec<String> {
    let mut out = Vec::new();
    let needed = auto.min_decisions.max(1);
    if figures.decisions < needed {
        out.push(format!(
            "needs {} more decisions ({} of {needed} within the last {})",
            needed - figures.decisions,
            figures.decisions,
            words(auto.horizon_seconds())
        ));
    }
    if figures.decisions > 0
        && figures.confirmed.saturating_mul(10_000)
            < auto
                .acceptance_basis_points
                .saturating_mul(figures.decisions)
    {
        out.push(format!(
            "acceptance {} < {}",
            percent(figures.acceptance_basis_points),
            percent(auto.acceptance_basis_points)
        ));
    }
    if !figures.spans_window {
        match clock::parse(&figures.first_decision) {
            Some(first) => out.push(format!(
                "first decision {} ago, needs {}",
                words(u64::try_from(now.saturating_sub(first) / 1_000).unwrap_or(0)),
                words(auto.over_seconds)
            )),
            None => out.push(format!(
                "no human decision yet; the record must span {}",
                words(auto.over_seconds)
            )),
        }
    }
    if auto.no_critical && figures.critical > 0 {
        out.push(format!(
            "{} rollbacks or repairs since {}; `critical == 0` allows none",
            figures.critical, figures.counted_since
        ));
    }
    out
}

/// Whether this run goes to a human although the gate holds: `draw` is uniform over `u64`
/// (the runtime takes it from the operating system), and `review R%` sends R in 10,000 draws.
pub fn sampled(draw: u64, auto: &PlanAuto) -> bool {
    draw % 10_000 < auto.review_basis_points()
}

/// A draw for [`sampled`], from the operating system's generator: nobody who starts runs
/// can predict or steer which ones go to a human.
pub fn draw() -> u64 {
    use ssh_key::rand_core::{OsRng, RngCore};
    OsRng.next_u64()
}

fn millis(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1_000)).unwrap_or(i64::MAX)
}

/// `9000` -> `90%`, `9950` -> `99.5%`.
pub fn percent(basis_points: u64) -> String {
    let (whole, rest) = (basis_points / 100, basis_points % 100);
    match rest {
        0 => format!("{whole}%"),
        r if r % 10 == 0 => format!("{whole}.{}%", r / 10),
        r => format!("{whole}.{r:02}%"),
    }
}

/// A duration for a person: `45s`, `12 minutes`, `3 hours`, `12 days`.
pub fn words(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7_200 => format!("{} minutes", s / 60),
        s if s < 172_800 => format!("{} hours", s / 3_600),
        s => format!("{} days", s / 86_400),
    }
}

/// Whether `event` is a human decision that counts for this gate.
fn counts(event: &Event, fingerprint: &str, gate: &Gate, confirms: &[Name]) -> bool {
    let e = &event.event;
    let decision = matches!(
        e.kind,
        EventKind::Confirmed | EventKind::Rejected | EventKind::Expired
    );
    let on_confirm = e
        .step
        .as_deref()
        .is_some_and(|s| confirms.iter().any(|c| c == s));
    // Only decisions on this approved plan count: a look-alike version (another fingerprint)
    // earns nothing for this one.
    decision && on_confirm && e.fingerprint == fingerprint && gates_this(event, gate)
}

/// Whether `event` is a rollback or repair of this execute.
fn is_critical(event: &Event, gate: &Gate) -> bool {
    let e = &event.event;
    match e.kind {
        EventKind::RolledBack | EventKind::RollbackFailed => {
            Reversal::deserialize(&e.data).is_ok_and(|r| r.undoes == gate.step)
        }
        EventKind::RunFailed => Ended::deserialize(&e.data).is_ok_and(|d| {
            d.status == Status::NeedsRepair
                && (d.step.as_ref() == Some(&gate.step) || d.unreversed.contains(&gate.step))
        }),
        _ => false,
    }
}

fn gates_this(event: &Event, gate: &Gate) -> bool {
    // Compared on the JSON itself: deserialising every decision's gates (their rendered
    // actions included) for each gate was most of `writ report`'s time on a large store.
    let same = |g: &serde_json::Value, field: &str, value: &str| {
        g.get(field).and_then(serde_json::Value::as_str) == Some(value)
    };
    event
        .event
        .data
        .get("gates")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|gates| {
            gates.iter().any(|g| {
                same(g, "step", &gate.step)
                    && same(g, "text_hash", &gate.text_hash)
                    && same(g, "system", &gate.system)
                    && same(g, "target", &gate.target)
            })
        })
}
