//! The store: the durable, append-only record of runs and events.
//!
//! INVARIANT: `append` returns only once the event is durable (synced to disk): the runtime
//! never starts the next side effect before the event that guards it is safe.
//! INVARIANT: events are never updated or deleted; each carries the hash of the one before it.
//!
//! The embedded default is one SQLite file in WAL mode ([`sqlite::SqliteStore`]); the trait
//! lets a PostgreSQL store serve several runner machines later; [`chain`] holds what every
//! store must compute identically (the time stamp and the hash of an event).

pub mod chain;
pub mod sqlite;

use super::event::{Event, EventKind, NewEvent};

/// What can go wrong with the store itself (not with a run).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at `{path}`: {reason}")]
    Open { path: String, reason: String },
    #[error("the store failed: {0}")]
    Backend(String),
    #[error("the store holds data writ cannot read: {0}")]
    Corrupt(String),
    #[error(
        "the clock reads {now}, before the store's last event ({last}); event times never go backwards"
    )]
    ClockBackwards { now: String, last: String },
    #[error(
        "another writ process acted on run `{run}` since this one read it; nothing more was done here (`writ status {run}`)"
    )]
    Conflict { run: String },
}

/// The outcome of walking the hash chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainReport {
    /// Every event's hash matches its content and the previous hash.
    Intact { events: u64 },
    /// The first event where the chain breaks, and why.
    Broken { seq: u64, reason: String },
}

pub trait Store {
    /// Appends one event at the end of the chain; returns it as stored, once durable.
    fn append(&mut self, event: NewEvent) -> Result<Event, StoreError>;

    /// Appends an event of a run only if the run's last event is still `after` (`None`: the run
    /// has no event yet), in the same transaction: one driver per run, enforced by the store,
    /// whatever lock files or config paths the processes used. A store that cannot check this
    /// appends unchecked.
    fn append_after(&mut self, event: NewEvent, after: Option<u64>) -> Result<Event, StoreError> {
        let _ = after;
        self.append(event)
    }

    /// The event numbered `seq`, if there is one.
    fn event(&self, seq: u64) -> Result<Option<Event>, StoreError> {
        let mut found = None;
        self.scan(&mut |event| {
            if event.seq == seq {
                found = Some(event);
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// Every event of one run, in order.
    fn run_events(&self, run: &str) -> Result<Vec<Event>, StoreError>;

    /// Every event of one workflow (its runs and its kill-switch history), in order.
    fn workflow_events(&self, workflow: &str) -> Result<Vec<Event>, StoreError>;

    /// Every kill-switch event (`workflow_killed`, `workflow_revived`), in order.
    fn switch_events(&self) -> Result<Vec<Event>, StoreError>;

    /// Every event of the given kinds, in order (registry changes, plan approvals).
    fn kind_events(&self, kinds: &[EventKind]) -> Result<Vec<Event>, StoreError>;

    /// Every event in order, handed to `visit` one at a time until it returns `false`.
    fn scan(&self, visit: &mut dyn FnMut(Event) -> bool) -> Result<(), StoreError>;

    /// The ids of all runs, oldest first.
    fn runs(&self) -> Result<Vec<String>, StoreError>;

    /// Walks the whole chain from the first event.
    fn verify(&self) -> Result<ChainReport, StoreError>;
}
