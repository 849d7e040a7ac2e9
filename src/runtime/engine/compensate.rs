//! Failure (docs/runtime.md, "Failure"): the rollbacks of every completed execute, newest first.
//! A rollback that fails, or that a crash interrupted (writ cannot tell whether it ran), stops
//! the reversal: the run ends `needs_repair` and names the repair role. Nothing is retried
//! silently; only `writ rollback`, a person's explicit request, tries a failed reversal again.

use super::step::scope;
use super::{Engine, EngineError};
use crate::plan::{Name, PlanRollback};
use crate::runtime::connector::Row;
use crate::runtime::event::EventKind;
use crate::runtime::record::{self, Cause, Ended, Reversal};
use crate::runtime::render::{Rendered, bind, render};
use crate::runtime::run::{ReversalPhase, Status};
use crate::runtime::switch;

impl Engine {
    /// Reverses the run's writes and ends it: `failed`, `rejected`, `expired` or `rolled_back`
    /// by `cause`, or `needs_repair`.
    pub(super) fn compensate(
        &mut self,
        cause: Cause,
        step: Option<Name>,
        reason: Option<String>,
    ) -> Result<(), EngineError> {
        let (step, reason) = match (step, reason) {
            (None, None) => self.state.compensating_for.clone(),
            given => given,
        };
        let mut end = Ended {
            status: match cause {
                Cause::Failed => Status::Failed,
                Cause::Rejected => Status::Rejected,
                Cause::Expired => Status::Expired,
                Cause::Requested => Status::RolledBack,
            },
            step,
            reason,
            repair_by: vec![],
            unreversed: vec![],
        };
        // A write that committed just before a crash, without its `written` event, is still
        // a write to reverse, and a write whose call failed half-way (a timeout) may have
        // acted: judge every write in doubt first.
        match self.resolve_in_doubt()? {
            Err((doubtful, why)) => {
                end.repair_by = vec![self.repair_role(&doubtful)];
                end.status = Status::NeedsRepair;
                end.unreversed = self.state.to_reverse();
                end.unreversed.push(doubtful.clone());
                let failure = match (&end.step, &end.reason) {
                    (Some(failed), Some(reason)) if *failed == doubtful => format!("{reason}; "),
                    _ => String::new(),
                };
                end.reason = Some(format!(
                    "{failure}the write of `{doubtful}` is in doubt: {why}"
                ));
                end.step = Some(doubtful);
            }
            Ok(_) => {
                let context = (end.step.clone(), end.reason.clone());
                if let Some(failed) = self.reverse_all(cause, context)? {
                    end.repair_by = failed;
                    end.status = Status::NeedsRepair;
                    end.unreversed = self.state.to_reverse();
                }
            }
        }
        let kind = match end.status {
            Status::RolledBack | Status::Done => EventKind::RunFinished,
            _ => EventKind::RunFailed,
        };
        let event = self.actor_event(kind, None, &end);
        self.record(event)
    }

    /// Runs the rollbacks newest first; on the first that fails, its repair roles.
    fn reverse_all(
        &mut self,
        cause: Cause,
        (because_of, reason): (Option<Name>, Option<String>),
    ) -> Result<Option<Vec<Name>>, EngineError> {
        let interrupted = self
            .state
            .reversals
            .values()
            .find(|(phase, _)| *phase == ReversalPhase::Started)
            .map(|(_, r)| r.clone());
        if let Some(mut reversal) = interrupted {
            reversal.error = Some(
                "writ stopped while this rollback ran and cannot tell whether it took effect"
                    .to_owned(),
            );
            let repair = reversal.repair_by.clone();
            self.record_reversal(EventKind::RollbackFailed, &reversal)?;
            return Ok(Some(vec![repair]));
        }
        for execute in self.state.to_reverse() {
            let failed_before = matches!(
                self.state.reversals.get(&execute),
                Some((ReversalPhase::Failed, _))
            );
            let rollback = self.rollback_of(&execute);
            let repair_by = self.repair_role(&execute);
            if failed_before && cause != Cause::Requested {
                return Ok(Some(vec![repair_by]));
            }
            let mut reversal = Reversal {
                undoes: execute.clone(),
                cause,
                because_of: because_of.clone(),
                reason: reason.clone(),
                action: None,
                error: None,
                repair_by: repair_by.clone(),
            };
            let Some(rollback) = rollback else {
                reversal.error = Some("the plan has no rollback for it".to_owned());
                self.record_reversal(EventKind::RollbackFailed, &reversal)?;
                return Ok(Some(vec![repair_by]));
            };
            let folder = &self.shared.systems.folder;
            let rows = self.rows_to_reverse(&execute);
            let rendered: Result<Vec<Rendered>, String> = rows
                .iter()
                .map(|row| {
                    render(&rollback.run, &self.rollback_scope(&rollback, row))
                        .map_err(|e| e.to_string())
                        .and_then(|r| bind(r, folder).map_err(|e| e.to_string()))
                })
                .collect();
            reversal.action = rendered
                .as_ref()
                .ok()
                .map(|actions| match actions.as_slice() {
                    [one] => record::data(one),
                    many => serde_json::Value::Array(many.iter().map(record::data).collect()),
                });
            self.record_reversal(EventKind::RollbackStarted, &reversal)?;
            let result = match rendered {
                Ok(rendered) => self.reverse(&rollback, &execute, &rows, &rendered),
                Err(error) => Err(error),
            };
            match result {
                Ok(()) => self.record_reversal(EventKind::RolledBack, &reversal)?,
                Err(error) => {
                    reversal.error = Some(error);
                    self.record_reversal(EventKind::RollbackFailed, &reversal)?;
                    return Ok(Some(vec![repair_by]));
                }
            }
        }
        Ok(None)
    }

    /// Who repairs `execute` by hand: its rollback's `repair by` role, else the owner.
    pub(super) fn repair_role(&self, execute: &str) -> Name {
        self.rollback_of(execute)
            .and_then(|r| r.repair_by)
            .unwrap_or_else(|| self.state.started.owner.clone())
    }

    fn rollback_of(&self, execute: &str) -> Option<PlanRollback> {
        self.shared
            .plan
            .body
            .rollbacks
            .iter()
            .find(|r| r.undoes == execute)
            .cloned()
    }

    fn record_reversal(&mut self, kind: EventKind, reversal: &Reversal) -> Result<(), EngineError> {
        let rollback = self
            .rollback_of(&reversal.undoes)
            .map_or_else(|| reversal.undoes.to_string(), |r| r.name.to_string());
        let event = self.actor_event(kind, Some(&rollback), reversal);
        self.record(event)
    }

    /// The before-image rows the rollback runs once each for, with `before.COLUMN` bound from
    /// that row: every captured row; one run without `before` values when the capture read
    /// nothing before the write but something after it (an INSERT) or there is no capture;
    /// none when the write changed no row (`allow no rows`), since there is nothing to reverse.
    fn rows_to_reverse(&self, execute: &str) -> Vec<Row> {
        let state = self.state.steps.get(execute);
        if state.and_then(|s| s.changes) == Some(0) {
            return Vec::new();
        }
        let images = state.and_then(|s| s.before.as_ref());
        match (
            images.and_then(|i| i.before.as_deref()),
            images.and_then(|i| i.after.as_deref()),
        ) {
            (Some(rows), _) if !rows.is_empty() => rows.to_vec(),
            (Some(_), Some([])) => Vec::new(),
            _ => vec![Row::new()],
        }
    }

    /// A rollback's values: the run's, and `before.COLUMN` from one row of its execute's
    /// before-image.
    fn rollback_scope(
        &self,
        rollback: &PlanRollback,
        before: &Row,
    ) -> crate::runtime::render::Scope {
        scope(
            std::iter::once(&rollback.run).chain(&rollback.verify),
            // A column the capture did not return (a `SELECT *` without it, a renamed
            // column) has no value: the rollback fails for the repair role rather than
            // writing NULL over the record.
            |reference| match reference.strip_prefix("before.") {
                Some(column) => before.get(column).cloned(),
                None => self.lookup(reference),
            },
        )
    }

    /// Runs one rollback's action on its execute's system, then its `verify`. With a sqlite
    /// capture, the execute's capture is read again inside the rollback's transaction: the
    /// rows must be the after-image writ recorded before anything is reversed, and the
    /// before-image once it is, or the transaction rolls back and a person repairs it with
    /// both versions in hand.
    fn reverse(
        &self,
        rollback: &PlanRollback,
        execute: &str,
        rows: &[Row],
        rendered: &[Rendered],
    ) -> Result<(), String> {
        if rendered.is_empty() {
            return Ok(());
        }
        let shared = &self.shared;
        let target = shared
            .systems
            .targets
            .get(&rollback.writes)
            .ok_or_else(|| format!("system `{}` is not resolved", rollback.writes))?;
        let connector = shared.connector(Some(&rollback.writes), Some(target));
        let workflow = self.header.workflow.as_str();
        let systems = [rollback.writes.clone()];
        let targets = shared.target_keys(&systems);
        let state = self.state.steps.get(execute);
        let images = state.and_then(|s| s.before.as_ref());
        let (recorded_before, recorded_after) = (
            images.and_then(|i| i.before.as_deref()),
            images.and_then(|i| i.after.as_deref()),
        );
        let capture = self.capture_again(execute, recorded_after.is_some());
        // INVARIANT: a reversal is a write, and obeys the kill switch like one, read inside its
        // transaction (exec, http: right before the call), unless a person forces it.
        connector
            .write_all(rendered, capture.as_ref(), None, &mut |now| {
                if !self.force {
                    match switch::holding(&**shared.store(), workflow, &systems, &targets) {
                        Ok(None) => {}
                        Ok(Some(kill)) => {
                            return Err(format!(
                                "a kill holds it (event {}), so nothing was reversed; \
                             `writ rollback RUN --force` reverses it anyway",
                                kill.seq
                            ));
                        }
                        Err(error) => return Err(error.to_string()),
                    }
                }
                compare(
                    recorded_after,
                    now.before,
                    "before reversing, the rows differ from the after-image of",
                    execute,
                )?;
                compare(
                    recorded_before,
                    now.after,
                    "after reversing, the rows differ from the before-image of",
                    execute,
                )
            })
            .map_err(|failure| failure.to_string())?;
        if let Some(beyond) = state.and_then(|s| s.beyond) {
            return Err(format!(
                "the write of `{execute}` also changed {beyond} row(s) its capture does not read \
                 (triggers, cascades, or more rows than it captured): its rollback reversed the \
                 captured row only, and cannot claim a full reversal"
            ));
        }
        let Some(verify) = &rollback.verify else {
            return Ok(());
        };
        for row in rows {
            let scope = self.rollback_scope(rollback, row);
            let rendered = render(verify, &scope).map_err(|e| e.to_string())?;
            shared
                .connector_for(Some(&rollback.writes), Some(target), &rendered)
                .verify(&rendered)
                .map_err(|reason| format!("verify of `{}`: {reason}", rollback.name))?;
        }
        Ok(())
    }

    /// The execute's capture, rendered again with the run's values, when there are images to
    /// compare with.
    fn capture_again(&self, execute: &str, imaged: bool) -> Option<Rendered> {
        let capture = self.steps.get(execute)?.capture.as_ref()?;
        if !imaged {
            return None;
        }
        let scope = scope([capture], |r| self.lookup(r));
        match render(capture, &scope) {
            Ok(rendered @ Rendered::Sqlite { .. }) => Some(rendered),
            _ => None,
        }
    }
}

/// Refuses when the rows read now differ from the recorded image, naming both. Rows compare
/// as a set: a capture without `ORDER BY` may read them in another order after a change.
fn compare(
    recorded: Option<&[Row]>,
    now: Option<&[Row]>,
    what: &str,
    execute: &str,
) -> Result<(), String> {
    match (recorded, now) {
        (Some(recorded), Some(now)) if sorted(recorded) != sorted(now) => Err(format!(
            "{what} `{execute}`: now {}, recorded {}; nothing was reversed",
            shown(now),
            shown(recorded)
        )),
        _ => Ok(()),
    }
}

fn sorted(rows: &[Row]) -> Vec<String> {
    let mut rows: Vec<String> = rows.iter().map(shown_row).collect();
    rows.sort_unstable();
    rows
}

/// One row as a JSON object; several as a JSON array.
fn shown(rows: &[Row]) -> String {
    match rows {
        [row] => shown_row(row),
        rows => format!(
            "[{}]",
            rows.iter().map(shown_row).collect::<Vec<_>>().join(",")
        ),
    }
}

fn shown_row(row: &Row) -> String {
    let object: serde_json::Map<String, serde_json::Value> =
        row.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
    serde_json::Value::Object(object).to_string()
}
