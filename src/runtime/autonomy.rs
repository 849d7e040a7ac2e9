//! Earned autonomy (docs/runtime.md, "Earned autonomy"): whether an execute's
//! `auto when acceptance >= P% over DUR [min N] [and critical == 0]` holds, from the store.
//!
//! Counted: human decisions (`confirmed`, `rejected`, `expired`) on the same approved plan (the
//! run's fingerprint) and the confirm steps that gate this execute, whose recorded gates hold this execute with the same plan slice (action
//! text, system, approver, confirms and their roles: `systems::text_hash`) and the same target
//! (a changed action, or a copy of the workflow pointed at a scratch database, starts from
//! zero). `auto_confirmed` events never count. Critical: within the window, this execute
//! rolled back, its rollback failed, or a run ended `needs_repair` with it unreversed.

use super::clock::{self, Millis};
use super::event::{Event, EventKind};
use super::record::{Decided, Ended, Figures, Gate, Reversal};
use super::run::Status;
use crate::plan::{Name, PlanAuto};
use serde::Deserialize;

/// The gate's figures now, or `None` when there is no record spanning the window yet.
pub fn figures(
    events: &[Event],
    fingerprint: &str,
    gate: &Gate,
    confirms: &[Name],
    auto: &PlanAuto,
    now: Millis,
) -> Option<Figures> {
    let window_ms = i64::try_from(auto.over_seconds.saturating_mul(1_000)).unwrap_or(i64::MAX);
    let since = now.saturating_sub(window_ms);
    let mut first: Option<Millis> = None;
    let mut figures = Figures {
        decisions: 0,
        confirmed: 0,
        rejected: 0,
        expired: 0,
        acceptance_basis_points: 0,
        required_basis_points: auto.acceptance_basis_points,
        min_decisions: auto.min_decisions,
        window_seconds: auto.over_seconds,
        first_decision: String::new(),
        critical: 0,
    };
    for event in events {
        let Some(at) = clock::parse(&event.at) else {
            continue;
        };
        let e = &event.event;
        match e.kind {
            EventKind::Confirmed | EventKind::Rejected | EventKind::Expired => {
                let on_confirm = e
                    .step
                    .as_deref()
                    .is_some_and(|s| confirms.iter().any(|c| c == s));
                // Only decisions on this approved plan count: a look-alike version (another
                // fingerprint) earns nothing for this one.
                if !on_confirm || e.fingerprint != fingerprint || !gates_this(event, gate) {
                    continue;
                }
                first = Some(first.map_or(at, |f| f.min(at)));
                if at < since {
                    continue;
                }
                figures.decisions += 1;
                match e.kind {
                    EventKind::Confirmed => figures.confirmed += 1,
                    EventKind::Rejected => figures.rejected += 1,
                    _ => figures.expired += 1,
                }
            }
            EventKind::RolledBack | EventKind::RollbackFailed if at >= since => {
                let undoes = Reversal::deserialize(&e.data).is_ok_and(|r| r.undoes == gate.step);
                if undoes {
                    figures.critical += 1;
                }
            }
            EventKind::RunFailed if at >= since => {
                let repaired = Ended::deserialize(&e.data).is_ok_and(|d| {
                    d.status == Status::NeedsRepair
                        && (d.step.as_ref() == Some(&gate.step)
                            || d.unreversed.contains(&gate.step))
                });
                if repaired {
                    figures.critical += 1;
                }
            }
            _ => {}
        }
    }
    let first = first.filter(|f| *f <= since)?;
    figures.first_decision = clock::format(first);
    figures.acceptance_basis_points = figures
        .confirmed
        .saturating_mul(10_000)
        .checked_div(figures.decisions)
        .unwrap_or(0);
    Some(figures)
}

/// Whether the gate holds with these figures: the one definition, used by the executor to
/// decide whether to ask and by `decide` to allow. At least one human decision is always
/// needed, whatever `min` says.
pub fn holds(figures: &Figures, auto: &PlanAuto, killed: bool) -> bool {
    !killed
        && figures.decisions >= auto.min_decisions.max(1)
        && figures.confirmed.saturating_mul(10_000)
            >= auto
                .acceptance_basis_points
                .saturating_mul(figures.decisions)
        && (!auto.no_critical || figures.critical == 0)
}

fn gates_this(event: &Event, gate: &Gate) -> bool {
    Decided::deserialize(&event.event.data).is_ok_and(|d| {
        d.gates.iter().any(|g| {
            g.step == gate.step
                && g.text_hash == gate.text_hash
                && g.system == gate.system
                && g.target == gate.target
        })
    })
}
