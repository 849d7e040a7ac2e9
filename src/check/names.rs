//! Name resolution (E0101): every role, system, step and value reference is looked up once.
//!
//! Resolution also records what each name is used by (for W0304) and the ordering edges that
//! `after` and `step.field` references add (for the graph rules), so no later rule has to walk
//! the references again. An unknown name is reported once: the rules that depend on it (E0208
//! on an unresolved system, E0203/E0209 after an unresolved step) look at what resolved.

use crate::hash::HashSet;

use super::model::{Model, StepId, StepInfo};
use super::sql_rules;
use crate::diagnostics::{Code, Diagnostic};
use crate::suggest::did_you_mean;
use crate::syntax::ast::*;

/// An ordering edge: `to` runs after `from`, because of what is written at `span`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    pub from: StepId,
    pub to: StepId,
    pub span: Span,
}

#[derive(Default)]
pub(crate) struct Resolution<'w> {
    pub edges: Vec<Edge>,
    pub roles_used: HashSet<&'w str>,
    pub systems_used: HashSet<&'w str>,
    pub inputs_used: HashSet<&'w str>,
    pub fields_used: HashSet<(StepId, &'w str)>,
    /// Per step: a step it names in `after` or a reference did not resolve, so its place in
    /// the order is not known (the graph rules stay quiet about it and what follows it).
    pub broken_order: Vec<bool>,
    /// Per step: for a rollback, the execute step it undoes when that resolves to an execute.
    pub undoes: Vec<Option<StepId>>,
    /// Per step: the `step.field` references its own actions use, with the source step.
    pub action_sources: Vec<Vec<(StepId, &'w Reference)>>,
}

struct Resolver<'m, 'w> {
    model: &'m Model<'w>,
    out: &'m mut Vec<Diagnostic>,
    res: Resolution<'w>,
}

pub(crate) fn resolve<'w>(model: &Model<'w>, out: &mut Vec<Diagnostic>) -> Resolution<'w> {
    let count = model.steps.len();
    let mut resolver = Resolver {
        model,
        out,
        res: Resolution {
            broken_order: vec![false; count],
            undoes: vec![None; count],
            action_sources: vec![Vec::new(); count],
            ..Resolution::default()
        },
    };
    resolver.owner();
    for (id, info) in model.steps.iter().enumerate() {
        resolver.step(id, info);
    }
    resolver.res
}

impl<'w> Resolver<'_, 'w> {
    fn owner(&mut self) {
        match self.model.owner {
            Some(owner) => self.role(owner),
            None => {
                let name = &self.model.workflow.name;
                self.out.push(
                    Diagnostic::new(
                        Code::E0104,
                        format!("workflow `{}` has no `owner`", name.name),
                        name.span,
                        "this workflow names no accountable role",
                    )
                    .help("add `owner ROLE` naming the role accountable for this workflow, and declare it with `role`"),
                );
            }
        }
    }

    /// Resolves every clause, repeated ones included (E0104 reports the repetition; their
    /// names still count as used, so one mistake does not also raise W0304).
    fn step(&mut self, id: StepId, info: &StepInfo<'w>) {
        if let Some(undone) = &info.step.undoes {
            self.undone(id, undone);
        }
        for clause in &info.step.clauses {
            self.clause(id, info, clause);
        }
    }

    fn clause(&mut self, id: StepId, info: &StepInfo<'w>, clause: &'w Clause) {
        // Only the first `run`, `verify` or `capture` feeds E0209; a repeated one is an error.
        let first = |slot: Option<Span>| slot.is_some_and(|s| s.start == clause.span.start);
        match &clause.kind {
            ClauseKind::By(role, _) | ClauseKind::Approver(role) | ClauseKind::RepairBy(role) => {
                self.role(role)
            }
            ClauseKind::Expires(expiry) => {
                if let ExpiryOutcome::Escalate(role) = &expiry.outcome {
                    self.role(role);
                }
            }
            ClauseKind::Reads(systems) => {
                for system in systems {
                    self.system(system);
                }
            }
            ClauseKind::Writes(system) => self.system(system),
            ClauseKind::After(steps) => {
                for step in steps {
                    match self.forward_step(step, "`after`") {
                        Some(from) => self.res.edges.push(Edge {
                            from,
                            to: id,
                            span: step.span,
                        }),
                        None => self.break_order(id),
                    }
                }
            }
            ClauseKind::Shows(refs) => {
                for reference in refs {
                    self.reference(id, reference, false);
                }
            }
            ClauseKind::Run(action) => {
                let feeds = first(info.clauses.run.map(|(_, s)| s));
                for reference in action_references(action) {
                    self.reference(id, reference, feeds);
                }
            }
            ClauseKind::Verify(action) => {
                let feeds = first(info.clauses.verify.map(|(_, s)| s));
                for reference in action_references(action) {
                    self.reference(id, reference, feeds);
                }
            }
            ClauseKind::Capture(sql) => {
                let feeds = first(info.clauses.capture.map(|(_, s)| s));
                for reference in &sql.references {
                    self.reference(id, reference, feeds);
                }
            }
            ClauseKind::Yields(_)
            | ClauseKind::Risk(_)
            | ClauseKind::Auto(_)
            | ClauseKind::AllowNoRows => {}
        }
    }

    fn role(&mut self, role: &'w Ident) {
        if self.model.roles.contains_key(role.as_str()) {
            self.res.roles_used.insert(&role.name);
            return;
        }
        let names = self.model.role_list.iter().map(|&r| r.as_str());
        let suggestion = did_you_mean(role.as_str(), names);
        if let Some(meant) = suggestion {
            // The suggested role was meant: it is used, so the typo is not also W0304.
            self.res.roles_used.insert(meant);
        }
        self.unknown(
            role.span,
            format!("unknown role `{}`", role.name),
            "not declared by any `role` line",
            suggestion.map_or_else(
                || {
                    format!(
                        "declare it with `role {}` or use one of the declared roles",
                        role.name
                    )
                },
                |s| {
                    format!(
                        "did you mean `{s}`? otherwise declare it with `role {}`",
                        role.name
                    )
                },
            ),
        );
    }

    fn system(&mut self, system: &'w Ident) {
        if self.model.systems.contains_key(system.as_str()) {
            self.res.systems_used.insert(&system.name);
            return;
        }
        let names = self.model.system_list.iter().map(|&s| s.name.as_str());
        let help = match did_you_mean(system.as_str(), names) {
            Some(s) => {
                self.res.systems_used.insert(s);
                format!("did you mean `{s}`?")
            }
            None => format!(
                "declare it with `system {}: sqlite inside` (or the connector and envelope it has)",
                system.name
            ),
        };
        self.unknown(
            system.span,
            format!("unknown system `{}`", system.name),
            "no `system` of this name",
            help,
        );
    }

    /// Resolves a step named in `after` or a reference; rollbacks are not forward steps.
    fn forward_step(&mut self, name: &Ident, context: &str) -> Option<StepId> {
        match self.model.step_ids.get(name.as_str()) {
            Some(&target) => {
                let info = self.model.steps.get(target)?;
                if info.kind() == StepKind::Rollback {
                    self.unknown(
                        name.span,
                        format!("`{}` is a rollback step, which {context} cannot name", name.name),
                        "a rollback is not part of the forward graph",
                        "name a recommend, confirm or execute step; a rollback runs only when its execute is reversed".to_owned(),
                    );
                    return None;
                }
                Some(target)
            }
            None => {
                self.unknown_step(name);
                None
            }
        }
    }

    fn unknown_step(&mut self, name: &Ident) {
        let names = self.model.steps.iter().map(|s| s.name());
        let help = match did_you_mean(name.as_str(), names) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "name a step defined in this workflow".to_owned(),
        };
        self.unknown(
            name.span,
            format!("unknown step `{}`", name.name),
            "no step of this name",
            help,
        );
    }

    fn undone(&mut self, id: StepId, undone: &Ident) {
        match self.model.step_ids.get(undone.as_str()) {
            Some(&target) => {
                let is_execute = self
                    .model
                    .steps
                    .get(target)
                    .is_some_and(|s| s.kind() == StepKind::Execute);
                if is_execute && let Some(slot) = self.res.undoes.get_mut(id) {
                    *slot = Some(target);
                }
            }
            None => self.unknown_step(undone),
        }
    }

    fn unknown(&mut self, span: Span, message: String, label: &str, help: String) {
        self.out
            .push(Diagnostic::new(Code::E0101, message, span, label).help(help));
    }

    fn reference(&mut self, id: StepId, reference: &'w Reference, in_action: bool) {
        let Some(field) = &reference.field else {
            self.input_reference(reference);
            return;
        };
        if reference.target.as_str() == "before" {
            self.before_reference(id, reference, field);
            return;
        }
        let Some(source) = self.reference_step(reference, field) else {
            self.break_order(id);
            return;
        };
        let in_rollback = self
            .model
            .steps
            .get(id)
            .is_some_and(|s| s.kind() == StepKind::Rollback);
        if !in_rollback {
            // The edge stands even when the field is wrong: the step was meant.
            self.res.edges.push(Edge {
                from: source,
                to: id,
                span: reference.span,
            });
        }
        if !self.field_exists(source, reference, field) {
            return;
        }
        self.res.fields_used.insert((source, &field.name));
        if in_action
            && !in_rollback
            && let Some(sources) = self.res.action_sources.get_mut(id)
        {
            sources.push((source, reference));
        }
    }

    /// Marks a step whose ordering is incomplete: a step it names did not resolve.
    fn break_order(&mut self, id: StepId) {
        if let Some(flag) = self.res.broken_order.get_mut(id) {
            *flag = true;
        }
    }

    fn input_reference(&mut self, reference: &'w Reference) {
        let name = &reference.target;
        if self.model.inputs.contains_key(name.as_str()) {
            self.res.inputs_used.insert(&name.name);
            return;
        }
        if let Some(&step) = self.model.step_ids.get(name.as_str()) {
            let first_field = self
                .model
                .steps
                .get(step)
                .and_then(|s| s.clauses.yields.iter().next());
            let example = first_field.map_or_else(
                || format!("`{}.FIELD`", name.name),
                |f| format!("`{}.{}`", name.name, f.name.name),
            );
            self.unknown(
                name.span,
                format!("`{}` is a step, not an input", name.name),
                "a bare name refers to an input",
                format!("refer to one of the step's outputs, such as {example}"),
            );
            return;
        }
        let names = self.model.input_list.iter().map(|&i| i.name.as_str());
        let help = match did_you_mean(name.as_str(), names) {
            Some(s) => {
                self.res.inputs_used.insert(s);
                format!("did you mean `{s}`?")
            }
            None => format!(
                "declare it with `input {}: TYPE`, or refer to a step output as `step.field`",
                name.name
            ),
        };
        self.unknown(
            name.span,
            format!("unknown input `{}`", name.name),
            "no input of this name",
            help,
        );
    }

    /// The step of `step.field`, which must be a forward step (not an input, not a rollback).
    fn reference_step(&mut self, reference: &Reference, field: &Ident) -> Option<StepId> {
        let target = &reference.target;
        if self.model.inputs.contains_key(target.as_str())
            && !self.model.step_ids.contains_key(target.as_str())
        {
            self.unknown(
                reference.span,
                format!("input `{}` has no field `{}`", target.name, field.name),
                "inputs are plain values",
                format!("refer to the input as `{}`", target.name),
            );
            return None;
        }
        self.forward_step(target, "a reference")
    }

    /// Whether step `source` yields `field`; reports E0101 when it does not.
    fn field_exists(&mut self, source: StepId, reference: &Reference, field: &Ident) -> bool {
        let model = self.model;
        let Some(info) = model.steps.get(source) else {
            return false;
        };
        if info.clauses.field(field.as_str()).is_some() {
            return true;
        }
        let target = &reference.target;
        let yields = &info.clauses.yields;
        let (label, help) = if info.kind() == StepKind::Confirm {
            (
                "a confirm step has no outputs".to_owned(),
                "refer to an output of a recommend or execute step".to_owned(),
            )
        } else if !yields.is_given() {
            (
                format!("`{}` yields nothing", target.name),
                format!(
                    "add `yields {}: TYPE` to step `{}`",
                    field.name, target.name
                ),
            )
        } else {
            let listed: Vec<String> = yields
                .iter()
                .map(|f| format!("`{}`", f.name.name))
                .collect();
            let names = yields.iter().map(|f| f.name.as_str());
            let help = match did_you_mean(field.as_str(), names) {
                Some(meant) => {
                    // The suggested output was meant: it is used, so the typo is not also W0304.
                    self.res.fields_used.insert((source, meant));
                    format!("did you mean `{}.{meant}`?", target.name)
                }
                None => format!(
                    "use one of the fields `{}` yields, or add `{}` to its `yields`",
                    target.name, field.name
                ),
            };
            (
                format!("`{}` yields {}", target.name, listed.join(", ")),
                help,
            )
        };
        self.unknown(
            field.span,
            format!("step `{}` has no output `{}`", target.name, field.name),
            &label,
            help,
        );
        false
    }

    /// `before.column`: only inside a rollback whose execute captures a before-image.
    fn before_reference(&mut self, id: StepId, reference: &Reference, column: &Ident) {
        let model = self.model;
        let Some(info) = model.steps.get(id) else {
            return;
        };
        if info.kind() != StepKind::Rollback {
            self.unknown(
                reference.span,
                format!("`{reference}` outside a rollback"),
                "`before` exists only inside a rollback",
                "use `before.COLUMN` in the rollback that undoes the execute with the `capture`"
                    .to_owned(),
            );
            return;
        }
        let undone = self.res.undoes.get(id).copied().flatten();
        let Some(execute) = undone.and_then(|execute| model.steps.get(execute)) else {
            return; // the `undoes` name is E0101 or E0207 already
        };
        match execute.clauses.capture {
            None => self.unknown(
                reference.span,
                format!("`{}` captures no before-image", execute.name()),
                "there is no `before` here",
                format!(
                    "add `capture sql \"SELECT {} FROM ...\"` to step `{}`",
                    column.name,
                    execute.name()
                ),
            ),
            Some((capture, span)) => self.captured_column(execute, capture, span, column),
        }
    }

    /// `before.column` against the columns the capture returns, when its column list is plain
    /// enough to know them (with `SELECT *` any column is accepted).
    fn captured_column(
        &mut self,
        execute: &StepInfo<'_>,
        capture: &SqlText,
        capture_span: Span,
        column: &Ident,
    ) {
        let Some(columns) = sql_rules::select_columns(&capture.text.value) else {
            return;
        };
        if columns
            .iter()
            .any(|c| c.eq_ignore_ascii_case(column.as_str()))
        {
            return;
        }
        let listed: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
        let help = match did_you_mean(column.as_str(), columns.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `before.{s}`?"),
            None => format!(
                "select `{}` in the capture of `{}`",
                column.name,
                execute.name()
            ),
        };
        self.out.push(
            Diagnostic::new(
                Code::E0101,
                format!("the before-image has no column `{}`", column.name),
                column.span,
                "not captured",
            )
            .label(capture_span, format!("captures {}", listed.join(", ")))
            .help(help),
        );
    }
}

/// The value references inside one action, in source order.
pub(crate) fn action_references(action: &Action) -> Vec<&Reference> {
    match action {
        Action::Sql(sql) => sql.references.iter().collect(),
        Action::Exec(exec) => exec.args.iter().filter_map(value_reference).collect(),
        Action::Http(http) => http
            .url_references
            .iter()
            .chain(
                http.body
                    .iter()
                    .flatten()
                    .filter_map(|entry| value_reference(&entry.value)),
            )
            .collect(),
    }
}

fn value_reference(value: &Value) -> Option<&Reference> {
    match value {
        Value::Reference(reference) => Some(reference),
        Value::Literal(_) => None,
    }
}
