//! Earned autonomy (MISSION.md 4-5, DESIGN.md "Earned autonomy"): whether an execute's
//! `auto when acceptance >= P% over DUR [min N] [and critical == 0]` holds, from the store.
//!
//! Counted: human decisions (`confirmed`, `rejected`, `expired`) on the confirm steps that
//! gate this execute, whose recorded gates hold this execute with this same action text (a
//! changed action starts from zero). `auto_confirmed` events never count. Critical: this
//! execute rolled back (or its rollback failed) within the window.

use super::clock::{self, Millis};
use super::event::{Event, EventKind};
use super::record::{Decided, Figures, Reversal};
use crate::plan::{Name, PlanAuto};

/// The gate's figures now, or `None` when there is no record spanning the window yet.
pub fn figures(
    events: &[Event],
    execute: &str,
    confirms: &[Name],
    text_hash: &str,
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
                if !on_confirm || !gates_this(event, execute, text_hash) {
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
                let undoes = serde_json::from_value::<Reversal>(e.data.clone())
                    .is_ok_and(|r| r.undoes == execute);
                if undoes {
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

fn gates_this(event: &Event, execute: &str, text_hash: &str) -> bool {
    serde_json::from_value::<Decided>(event.event.data.clone()).is_ok_and(|d| {
        d.gates
            .iter()
            .any(|g| g.step == execute && g.text_hash == text_hash)
    })
}
