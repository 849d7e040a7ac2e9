//! Which step may start, and the decisions that let an execute start: a confirmation request
//! (rendered actions, what the confirmer sees, the deadline) or the autonomy gate's
//! `auto_confirmed`.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use super::step::{self, Job};
use super::{Engine, EngineError};
use crate::plan::{Name, PlanStep};
use crate::runtime::autonomy;
use crate::runtime::clock;
use crate::runtime::decide::{self, Decider};
use crate::runtime::event::EventKind;
use crate::runtime::record::{self, Figures, Gate, Requested, Review};
use crate::runtime::render::{bind, render};
use crate::runtime::run::Phase;
use crate::runtime::switch;
use crate::runtime::systems::{bound_hash, text_hash};
use crate::runtime::value::Value;

impl Engine {
    /// Looks at one step: returns the job to run when it may start now; requests a confirm
    /// that has become ready; confirms an execute through its autonomy gate when it holds.
    pub(super) fn examine(
        &mut self,
        name: &Name,
        redo: &BTreeSet<Name>,
        queue: &mut VecDeque<Name>,
    ) -> Result<Option<Job>, EngineError> {
        let Some(step) = self.steps.get(name).cloned() else {
            return Ok(None);
        };
        let phase = self.state.phase(name);
        match step.kind {
            "recommend" if phase.is_none() && self.satisfied(&step, false) => {
                Ok(Some(self.job(&step)))
            }
            "confirm" if phase.is_none() && self.satisfied(&step, false) => {
                // Asked unless every write it gates (directly or further down) goes through its
                // autonomy gate now, and nothing else follows it.
                let gated = self.gated.get(name).cloned().unwrap_or_default();
                let followers = self.successors.get(name).cloned().unwrap_or_default();
                // Skipping it is only safe when nothing but gated writes follows it: any
                // other step after it waits for its decision.
                let all_auto = !gated.is_empty()
                    && followers.iter().all(|f| gated.contains(f))
                    && gated.iter().all(|e| self.gate(e).is_some());
                if !all_auto {
                    self.request(&step)?;
                }
                queue.extend(self.successors.get(name).into_iter().flatten().cloned());
                Ok(None)
            }
            "execute" => self.examine_execute(&step, phase, redo),
            _ => Ok(None),
        }
    }

    fn examine_execute(
        &mut self,
        step: &Arc<PlanStep>,
        phase: Option<Phase>,
        redo: &BTreeSet<Name>,
    ) -> Result<Option<Job>, EngineError> {
        let ready = match phase {
            None if self.satisfied(step, false) => true,
            None if self.satisfied(step, true) => {
                let allowed = match self.gate(&step.name) {
                    Some(figures) => self.auto_confirm(step, figures)?,
                    None => false,
                };
                if !allowed {
                    // The gate does not hold after all: its confirms ask a human.
                    self.request_skipped(step)?;
                }
                allowed
            }
            // An `auto_confirmed` counts only while this step's gate holds now (one put into
            // the store by hand, or for a step with no gate, allows nothing); otherwise a human
            // decides, as when the gate stops holding.
            Some(Phase::AutoConfirmed) => {
                if self.gate(&step.name).is_some() {
                    self.satisfied(step, true)
                } else if self.satisfied(step, false) {
                    true
                } else {
                    self.request_skipped(step)?;
                    false
                }
            }
            Some(Phase::InDoubt) => redo.contains(&step.name) && self.satisfied(step, true),
            // Written, its verify not recorded (a crash came between): the verify runs again.
            Some(Phase::Verifying) => true,
            _ => false,
        };
        Ok(ready.then(|| self.job(step)))
    }

    /// Whether every step before `step` is complete; with `auto`, a confirm that gates this
    /// execute may instead be merely reached (requested, or ready to be).
    fn satisfied(&self, step: &PlanStep, auto: bool) -> bool {
        // An execute waits for the human decision of every confirm that gates it, even one
        // that is not a direct predecessor (behind an auto-confirmed execute, say).
        let decided = auto
            || self.facts.get(&step.name).is_none_or(|f| {
                f.confirmed_by
                    .iter()
                    .all(|c| self.state.phase(c) == Some(Phase::Confirmed))
            });
        decided
            && step.after.iter().all(|pred| {
                let phase = self.state.phase(pred);
                if phase.is_some_and(Phase::is_complete) {
                    return true;
                }
                let gating = self
                    .facts
                    .get(&step.name)
                    .is_some_and(|f| f.confirmed_by.contains(pred));
                auto && gating
                    && match phase {
                        None => self
                            .steps
                            .get(pred)
                            .is_some_and(|p| self.satisfied(p, false)),
                        Some(Phase::Requested | Phase::Escalated) => true,
                        _ => false,
                    }
            })
    }

    /// Requests the confirms gating `execute` that were skipped for its autonomy gate.
    fn request_skipped(&mut self, execute: &PlanStep) -> Result<(), EngineError> {
        let confirms = self
            .facts
            .get(&execute.name)
            .map(|f| f.confirmed_by.clone())
            .unwrap_or_default();
        for confirm in confirms {
            let Some(step) = self.steps.get(&confirm).cloned() else {
                continue;
            };
            if self.state.phase(&confirm).is_none() && self.satisfied(&step, false) {
                self.request(&step)?;
            }
        }
        Ok(())
    }

    /// Appends `confirmation_requested` for a confirm that is ready.
    fn request(&mut self, step: &PlanStep) -> Result<(), EngineError> {
        let review = self
            .gated
            .get(&step.name)
            .into_iter()
            .flatten()
            .find_map(|execute| self.reviews.get(execute).cloned());
        let gates = self
            .gated
            .get(&step.name)
            .into_iter()
            .flatten()
            .filter_map(|execute| self.render_gate(execute))
            .collect();
        let shows = step
            .shows
            .iter()
            .map(|r| (r.clone(), self.lookup(r).unwrap_or(Value::Null)))
            .collect();
        let expires = step.expires.as_ref();
        let deadline = expires.map(|e| {
            let ms = i64::try_from(e.seconds.saturating_mul(1_000)).unwrap_or(i64::MAX);
            clock::format(clock::now().saturating_add(ms))
        });
        let data = Requested {
            role: step.by.clone().unwrap_or_default(),
            shows,
            deadline,
            expires_seconds: expires.map(|e| e.seconds),
            on_expiry: expires.map(|e| e.outcome.to_owned()),
            escalate_to: expires.and_then(|e| e.escalate_to.clone()),
            gates,
            review,
        };
        let event = self.header.event(
            EventKind::ConfirmationRequested,
            &step.name,
            record::data(&data),
        );
        self.record(event)
    }

    /// The gate of one execute: its action rendered now, where it will write, and the hash a
    /// decision binds; `None` while a value it needs is not known yet.
    pub(super) fn render_gate(&self, execute: &Name) -> Option<Gate> {
        let step = self.steps.get(execute)?;
        let action = step.run.as_ref()?;
        let system = step.writes.clone()?;
        let target = self.shared.systems.targets.get(&system)?.describe();
        let scope = step::scope([action], |r| self.lookup(r));
        let rendered = render(action, &scope).ok()?;
        // Bound now, when the confirmation is requested: the person approves this file.
        let rendered = bind(rendered, &self.shared.systems.folder).ok()?;
        Some(Gate {
            hash: bound_hash(&system, &target, &rendered),
            text_hash: self.text_hash(step)?,
            step: execute.clone(),
            system,
            target,
            action: record::data(&rendered),
        })
    }

    /// The slice of the plan earned autonomy counts decisions by (`systems::text_hash`).
    fn text_hash(&self, step: &PlanStep) -> Option<String> {
        let confirms = &self.facts.get(&step.name)?.confirmed_by;
        let bys: Vec<(&str, &str)> = confirms
            .iter()
            .filter_map(|c| Some((c.as_str(), self.steps.get(c)?.by.as_deref()?)))
            .collect();
        Some(text_hash(
            step.run.as_ref()?,
            step.writes.as_deref()?,
            step.approver.as_deref()?,
            &bys,
        ))
    }

    /// The autonomy gate's figures for `execute` when it holds now (computed once per drive).
    fn gate(&mut self, execute: &Name) -> Option<Figures> {
        if let Some(known) = self.gates.get(execute) {
            return known.clone();
        }
        let figures = self.compute_gate(execute);
        self.gates.insert(execute.clone(), figures.clone());
        figures
    }

    fn compute_gate(&mut self, execute: &Name) -> Option<Figures> {
        let step = Arc::clone(self.steps.get(execute)?);
        let auto = step.auto.as_ref()?;
        let gate = self.render_gate(execute)?;
        let history = match &self.history {
            Some(history) => Arc::clone(history),
            None => {
                let events = self
                    .shared
                    .store()
                    .workflow_events(&self.state.workflow)
                    .ok()?;
                Arc::clone(self.history.insert(Arc::new(events)))
            }
        };
        let killed = switch::holding(
            &**self.shared.store(),
            &self.state.workflow,
            &self.state.started.writes,
            &self.shared.target_keys(&self.state.started.writes),
        )
        .ok()?
        .is_some();
        let confirms = self.facts.get(execute)?.confirmed_by.clone();
        // A run already sampled for review stays with its human, however often it resumes:
        // a fresh draw on each resume would let most sampled runs slip through after all.
        if confirms.iter().any(|c| self.sampled_before(c)) {
            return None;
        }
        let figures = autonomy::figures(
            &history,
            &self.state.fingerprint,
            &gate,
            &confirms,
            auto,
            clock::now(),
        );
        if !autonomy::holds(&figures, auto, killed) {
            return None;
        }
        let draw = autonomy::draw();
        if autonomy::sampled(draw, auto) {
            let share = auto.review_basis_points();
            let reason = format!(
                "sampled for review: the gate holds, and `review {}` sends that share of runs to a human (draw {} of 10000 < {share})",
                autonomy::percent(share),
                draw % 10_000
            );
            let review = Review {
                step: execute.clone(),
                share_basis_points: share,
                draw: draw % 10_000,
                reason,
            };
            self.reviews.insert(execute.clone(), review);
            return None;
        }
        Some(figures)
    }

    /// Whether `confirm`'s request in this run was a sampled review.
    fn sampled_before(&self, confirm: &Name) -> bool {
        self.state
            .steps
            .get(confirm.as_str())
            .and_then(|s| s.request.as_ref())
            .is_some_and(|(r, _)| r.review.is_some())
    }

    /// Records `auto_confirmed` for one execute (through `decide`); whether it was allowed.
    fn auto_confirm(&mut self, step: &PlanStep, figures: Figures) -> Result<bool, EngineError> {
        let Some(gate) = self.render_gate(&step.name) else {
            return Ok(false);
        };
        let confirms = self
            .facts
            .get(&step.name)
            .map(|f| f.confirmed_by.clone())
            .unwrap_or_default();
        let decider = Decider::Gate {
            figures,
            confirms,
            gates: vec![gate],
        };
        match decide::decide(&self.context(clock::now())?, &step.name, decider) {
            Ok(event) => {
                self.record(event)?;
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }
}
