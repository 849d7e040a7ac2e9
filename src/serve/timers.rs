//! Time that works by itself: twice a second the service looks at every run; a confirm whose
//! deadline passed is recorded (`escalated`, or `expired` and the run ended) and a run that
//! is `ready` (a decision it waited for was recorded, or the service restarted after a crash)
//! is driven on, all through the engine's one resume path (`ops::resume`). Nobody types
//! `writ resume`.
//!
//! Each tick also hands the new notifying events to the webhooks (`notify.rs`).
//!
//! An escalation role gets its whole window: its deadline runs from the deadline that was
//! missed (`decide.rs`), and that deadline is recorded within a tick of passing.

use std::sync::Arc;
use std::time::Duration;

use super::Service;
use super::notify::{self, Ledger};
use crate::ops;
use crate::runtime::clock;
use crate::runtime::lock;
use crate::runtime::run::Status;
use crate::runtime::store::Store;
use crate::runtime::trust::Create;

/// How often the runs are looked at: a deadline is recorded at most this late (plus the time
/// a sweep takes).
const TICK: Duration = Duration::from_millis(400);

pub async fn run(
    service: Arc<Service>,
    ledger: Option<Arc<Ledger>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let swept = service.clone();
        let notices = ledger.clone();
        // A sweep that fails (the store unreadable for a moment) is tried again next tick.
        let _ = tokio::task::spawn_blocking(move || {
            sweep(&swept);
            if let Some(ledger) = &notices {
                notify::sweep(&swept, ledger);
            }
        })
        .await;
        let _ = tokio::time::timeout(TICK, stop.changed()).await;
    }
}

/// The runs that need the runner now: ready (and nobody driving them), or waiting with a
/// deadline passed.
fn due(service: &Service) -> Vec<String> {
    let Ok((store, _)) = ops::trusted(&service.config, Create::Never) else {
        return Vec::new();
    };
    let Ok(runs) = store.runs() else {
        return Vec::new();
    };
    let now = clock::now();
    runs.into_iter()
        .filter(|run| {
            let Ok(state) = ops::replayed(&store, run) else {
                return false;
            };
            match state.status() {
                Status::Ready => !lock::is_held(&service.config.state, run),
                Status::Waiting => state
                    .waiting()
                    .iter()
                    .any(|(_, s)| s.deadline.is_some_and(|d| now >= d)),
                _ => false,
            }
        })
        .collect()
}

fn sweep(service: &Service) {
    for run in due(service) {
        if !service.claim(&run) {
            continue;
        }
        // A run that cannot go on (a system's token missing, a plan gone) stays as it is,
        // visible to `writ status`; the next tick tries again.
        let _ = ops::resume::resume(service.config.clone(), &run, None);
        service.release(&run);
    }
}
