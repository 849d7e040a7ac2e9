//! Crash recovery: a write whose before-image is recorded but not its `written` event is in
//! doubt. writ never writes twice: for a sqlite write it asks writ's marker table in the
//! system's database (`connector::marker`), whose row commits in the write's own transaction;
//! anything it cannot tell (an exec or http call) ends the run `needs_repair` for a person.

use std::collections::BTreeSet;

use super::{Engine, EngineError};
use crate::plan::Name;
use crate::runtime::connector::marker::{self, Marked};
use crate::runtime::event::EventKind;
use crate::runtime::record::{self, Ended, Wrote};
use crate::runtime::run::{Phase, Status};
use crate::runtime::systems::Target;

/// What the database says about a write in doubt.
enum Verdict {
    /// It committed: record it as written.
    Committed,
    /// It did not: run it again.
    NotCommitted,
    /// writ cannot tell.
    Unknown(String),
}

impl Engine {
    /// Resolves every write in doubt; returns the steps to run again, or `None` when the run
    /// ended `needs_repair`.
    pub(super) fn recover(&mut self) -> Result<Option<BTreeSet<Name>>, EngineError> {
        match self.resolve_in_doubt()? {
            Ok(redo) => Ok(Some(redo)),
            Err((name, why)) => {
                self.give_up(&name, why)?;
                Ok(None)
            }
        }
    }

    /// Judges every write in doubt: one that committed is recorded `written`
    /// (`recovered`); the others are returned to run again; the first writ cannot tell is the
    /// error, with why.
    pub(super) fn resolve_in_doubt(
        &mut self,
    ) -> Result<Result<BTreeSet<Name>, (Name, String)>, EngineError> {
        let in_doubt: Vec<Name> = self
            .state
            .steps
            .iter()
            .filter(|(_, s)| s.phase == Some(Phase::InDoubt))
            .map(|(name, _)| name.clone())
            .collect();
        let mut redo = BTreeSet::new();
        for name in in_doubt {
            match self.judge(&name) {
                Verdict::Committed => self.record_recovered(&name)?,
                Verdict::NotCommitted => {
                    redo.insert(name);
                }
                Verdict::Unknown(why) => return Ok(Err((name, why))),
            }
        }
        Ok(Ok(redo))
    }

    fn judge(&self, name: &Name) -> Verdict {
        let unknown = |why: &str| Verdict::Unknown(why.to_owned());
        // A write whose call did not come back (a crash, a timeout, an error half-way) may
        // have acted: only a sqlite write, whose marker row commits with it, can be told apart.
        let (Some(step), Some(state)) = (self.steps.get(name), self.state.steps.get(name)) else {
            return unknown("the step is not in the plan");
        };
        let Some(image) = &state.before else {
            return unknown("no before-image is recorded");
        };
        let target = step
            .writes
            .as_ref()
            .and_then(|s| self.shared.systems.targets.get(s));
        let Some(Target::Sqlite { path }) = target else {
            return unknown("writ cannot tell whether the system acted on the call");
        };
        // INVARIANT: the marker row exists exactly when the write committed; the rows the
        // write touched are never compared (another writer may have changed them since).
        match marker::ask(path, &self.header.run, name) {
            Ok(Marked::Absent) => Verdict::NotCommitted,
            Ok(Marked::Present { hash }) if hash == image.hash => Verdict::Committed,
            Ok(Marked::Present { hash }) => Verdict::Unknown(format!(
                "writ's marker in `{}` names another action (hash {hash}, not {})",
                marker::TABLE,
                image.hash
            )),
            Err(error) => Verdict::Unknown(format!("writ's marker could not be read: {error}")),
        }
    }

    fn record_recovered(&mut self, name: &Name) -> Result<(), EngineError> {
        let Some(gate) = self.render_gate(name) else {
            return self.give_up(name, "its action cannot be rendered again".to_owned());
        };
        let wrote = Wrote {
            system: gate.system,
            target: gate.target,
            action: gate.action,
            hash: gate.hash,
            status: None,
            idempotency_key: None,
            headers: Default::default(),
            changes: None,
            beyond: None,
            output: None,
            values: Default::default(),
            recovered: true,
            killed_by: None,
            verify_pending: self.steps.get(name).is_some_and(|s| s.verify.is_some()),
        };
        let event = self
            .header
            .event(EventKind::Written, name, record::data(&wrote));
        self.record(event)
    }

    /// Ends the run `needs_repair` on a write in doubt, naming who repairs it.
    fn give_up(&mut self, name: &Name, why: String) -> Result<(), EngineError> {
        let repair = self.repair_role(name);
        let mut unreversed = self.state.to_reverse();
        unreversed.push(name.clone());
        let end = Ended {
            status: Status::NeedsRepair,
            step: Some(name.clone()),
            reason: Some(format!("the write of `{name}` is in doubt: {why}")),
            repair_by: vec![repair],
            unreversed,
        };
        let event = self.actor_event(EventKind::RunFailed, None, &end);
        self.record(event)
    }
}
