//! Writes a kill turned into drafts (`drafted`): the run ends `drafted`, not `done`, and once
//! the kill is lifted, driving it again asks the drafts' confirms anew, so a new human
//! decision, signed like any other, is what carries each draft out. A draft is never written
//! on the strength of the approval given before the kill, and never silently lost.

use super::{Engine, EngineError};
use crate::plan::Name;
use crate::runtime::run::{Phase, Status};
use crate::runtime::switch;

impl Engine {
    /// How a run whose steps are all complete ends: `drafted` (the first draft named, and the
    /// next step in words) when a kill drafted any of its writes, else `done`.
    pub(super) fn ending(&self) -> (Status, Option<Name>, Option<String>) {
        let drafted = self.state.drafted();
        match drafted.first() {
            None => (Status::Done, None, None),
            Some(first) => {
                let names: Vec<String> = drafted.iter().map(|d| format!("`{d}`")).collect();
                let reason = format!(
                    "killed: {} drafted, nothing written for it; after `writ revive`, \
                     `writ resume {}` asks for a new approval",
                    names.join(", "),
                    self.state.id
                );
                (Status::Drafted, Some((*first).clone()), Some(reason))
            }
        }
    }

    /// A run that ended `drafted`, now that no kill holds it: asks again every confirm that
    /// binds a drafted write (replay then voids the drafts' old allowances and reopens the
    /// run). Returns whether it did; while a kill still holds, nothing changes.
    pub(super) fn reopen_drafts(&mut self) -> Result<bool, EngineError> {
        let ended_drafted = self
            .state
            .end
            .as_ref()
            .is_some_and(|e| e.status == Status::Drafted);
        if !ended_drafted || self.state.compensating.is_some() {
            return Ok(false);
        }
        let killed = switch::holding(
            &**self.shared.store(),
            &self.state.workflow,
            &self.state.started.writes,
            &self.shared.target_keys(&self.state.started.writes),
        )?;
        if killed.is_some() {
            return Ok(false);
        }
        let mut confirms: Vec<Name> = self
            .state
            .drafted()
            .into_iter()
            .filter_map(|execute| self.facts.get(execute))
            .flat_map(|facts| facts.confirmed_by.iter().cloned())
            .collect();
        confirms.sort();
        confirms.dedup();
        for confirm in confirms {
            let Some(step) = self.steps.get(&confirm).cloned() else {
                continue;
            };
            // Asked only while the step is still a decided confirm; a draft whose confirm is
            // gone from the plan stays a draft.
            if self.state.phase(&confirm) == Some(Phase::Confirmed) {
                self.request(&step)?;
            }
        }
        Ok(self.state.end.is_none())
    }
}
