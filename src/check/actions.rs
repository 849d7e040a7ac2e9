//! Actions against systems: that an action fits its system's connector (E0208), that reads stay
//! reads (E0205: recommend steps, `capture`, `verify`), and that `sql` is one statement.
//!
//! The system an action runs against: an execute's `writes` system; a rollback's, the system of
//! the execute it undoes; a recommend's, the one `reads` system whose connector fits (none is
//! needed for `exec`). When that system does not resolve (E0101 said so), E0208 stays quiet: the
//! action may fit the system that was meant. Other unknown names in the step do not matter here.

use crate::hash::HashSet;

use super::model::{Model, StepId, StepInfo};
use super::names::Resolution;
use super::sql_rules;
use crate::diagnostics::{Code, Diagnostic, article};
use crate::syntax::ast::*;

struct Context<'a, 'w> {
    model: &'a Model<'w>,
    info: &'a StepInfo<'w>,
    out: &'a mut Vec<Diagnostic>,
}

pub(crate) fn check(model: &Model<'_>, resolution: &Resolution<'_>, out: &mut Vec<Diagnostic>) {
    for (id, info) in model.steps.iter().enumerate() {
        let mut cx = Context { model, info, out };
        match info.kind() {
            StepKind::Recommend => cx.recommend(),
            StepKind::Execute | StepKind::Rollback => {
                cx.writer(step_system(model, resolution, id, info));
            }
            StepKind::Confirm => {}
        }
    }
}

/// The system a writing step's actions run against, when it resolves.
fn step_system<'w>(
    model: &Model<'w>,
    resolution: &Resolution<'_>,
    id: StepId,
    info: &StepInfo<'w>,
) -> Option<&'w System> {
    let execute = match info.kind() {
        StepKind::Execute => info,
        StepKind::Rollback => model
            .steps
            .get(resolution.undoes.get(id).copied().flatten()?)?,
        _ => return None,
    };
    let (name, _) = execute.clauses.writes?;
    model.systems.get(name.as_str()).copied()
}

impl<'w> Context<'_, 'w> {
    fn recommend(&mut self) {
        let Some((action, _)) = self.info.clauses.run else {
            return;
        };
        self.read_only(action, "a recommend step");
        if action.connector() == Connector::Exec {
            return;
        }
        let Some(fitting) = self.fitting_systems(action.connector()) else {
            return;
        };
        match fitting.as_slice() {
            [_] => {}
            [] => self.no_fitting_system(action),
            many => self.ambiguous(action, many),
        }
    }

    /// The systems a recommend step reads whose connector is `connector`, each once: its `reads`
    /// entries and a `writes` system (E0205 forbids the write; the action still runs on it).
    /// `None` when one of them did not resolve: the action may have been meant for it.
    fn fitting_systems(&self, connector: Connector) -> Option<Vec<&'w System>> {
        let c = &self.info.clauses;
        let names = c.reads.iter().chain(c.writes.map(|(name, _)| name));
        let mut seen = HashSet::default();
        let mut fitting = Vec::new();
        for name in names {
            let system = *self.model.systems.get(name.as_str())?;
            if system.connector.value == connector && seen.insert(name.as_str()) {
                fitting.push(system);
            }
        }
        Some(fitting)
    }

    fn ambiguous(&mut self, action: &Action, many: &[&System]) {
        let mut diagnostic = Diagnostic::new(
            Code::E0208,
            format!(
                "`{}` in `{}` could run on {} systems",
                action.connector_word(),
                self.info.name(),
                many.len()
            ),
            action.span(),
            "which system does this read?",
        )
        .help(format!(
            "a recommend step reads one `{}` system per action: split it into one step per system",
            action.connector()
        ));
        for system in many {
            diagnostic = diagnostic.label(
                system.name.span,
                format!(
                    "`{}` is {} {} system",
                    system.name.name,
                    article(&system.connector.value.to_string()),
                    system.connector.value
                ),
            );
        }
        self.out.push(diagnostic);
    }

    fn no_fitting_system(&mut self, action: &Action) {
        let connector = action.connector();
        self.out.push(
            Diagnostic::new(
                Code::E0208,
                format!(
                    "`{}` in `{}` has no `{connector}` system to run on",
                    action.connector_word(),
                    self.info.name()
                ),
                action.span(),
                format!("needs a `{connector}` system in `reads`"),
            )
            .help(format!(
                "add the `{connector}` system this step reads to its `reads` clause"
            )),
        );
    }

    /// Execute and rollback steps: the action fits the written system; capture and verify read.
    fn writer(&mut self, system: Option<&System>) {
        let c = &self.info.clauses;
        if let Some((action, _)) = c.run {
            self.one_statement(action);
            if let Some(system) = system {
                self.fits(action, system, "run");
            }
        }
        if let Some((sql, _)) = c.capture {
            self.sql_reads(sql, "a `capture`");
            if let Some(system) = system
                && system.connector.value != Connector::Sqlite
            {
                self.mismatch(sql.span, "capture sql", system);
            }
        }
        if let Some((action, _)) = c.verify {
            self.read_only(action, "a `verify`");
            if let Some(system) = system
                && action.connector() != Connector::Exec
            {
                self.fits(action, system, "verify");
            }
        }
    }

    fn fits(&mut self, action: &Action, system: &System, clause: &str) {
        if action.connector() == system.connector.value {
            return;
        }
        self.mismatch(
            action.span(),
            &format!("{clause} {}", action.connector_word()),
            system,
        );
    }

    fn mismatch(&mut self, span: Span, what: &str, system: &System) {
        let connector = system.connector.value;
        self.out.push(
            Diagnostic::new(
                Code::E0208,
                format!(
                    "`{what}` on `{}`, {} {connector} system",
                    system.name.name,
                    article(&connector.to_string())
                ),
                span,
                format!(
                    "does not fit {} {connector} system",
                    article(&connector.to_string())
                ),
            )
            .label(
                system.connector.span,
                format!("`{}` is declared {connector} here", system.name.name),
            )
            .help(format!(
                "on {} {connector} system, write the action as `{}`",
                article(&connector.to_string()),
                example(connector)
            )),
        );
    }

    fn read_only(&mut self, action: &Action, position: &str) {
        match action {
            Action::Sql(sql) => self.sql_reads(sql, position),
            Action::Http(http) if http.method.value != Method::Get => self.out.push(
                Diagnostic::new(
                    Code::E0205,
                    format!(
                        "`{}` in {position} of `{}`",
                        http.method.value,
                        self.info.name()
                    ),
                    http.method.span,
                    "this request may write",
                )
                .help("a read uses `GET`; move the write to an `execute` step behind a `confirm`"),
            ),
            _ => {}
        }
    }

    fn sql_reads(&mut self, sql: &SqlText, position: &str) {
        let Err(problem) = sql_rules::read_only(&sql.text.value) else {
            return;
        };
        let span = span_in_string(&sql.text, problem.at);
        self.out.push(
            Diagnostic::new(
                Code::E0205,
                format!(
                    "the SQL in {position} of `{}` is not a single read-only `SELECT`",
                    self.info.name()
                ),
                span,
                problem.reason,
            )
            .label(sql.text.span, "in this SQL")
            .help("read with one `SELECT`; writes belong in an `execute` step behind a `confirm`"),
        );
    }

    fn one_statement(&mut self, action: &Action) {
        let Action::Sql(sql) = action else { return };
        let Some(at) = sql_rules::second_statement(&sql.text.value) else {
            return;
        };
        self.out.push(
            Diagnostic::new(Code::E0001, "an `sql` action holds more than one statement", span_in_string(&sql.text, Some(at)), "a second statement starts here")
                .label(sql.text.span, "in this SQL")
                .help("write one statement per step, so each write has its own before-image, approval and rollback"),
        );
    }
}

/// A span inside a string literal for a range of its decoded text; the whole string when
/// escapes make the positions differ.
fn span_in_string(text: &Text, range: Option<std::ops::Range<usize>>) -> Span {
    let plain = text.value.len() + 2 == text.span.len();
    match range {
        Some(range) if plain => Span::new(
            text.span.start + 1 + range.start,
            text.span.start + 1 + range.end,
        ),
        _ => text.span,
    }
}

fn example(connector: Connector) -> &'static str {
    match connector {
        Connector::Sqlite => "sql \"...\"",
        Connector::Exec => "exec \"PROGRAM\" [ARGS]",
        Connector::Http => "http METHOD \"URL\"",
    }
}

trait ConnectorWord {
    fn connector_word(&self) -> &'static str;
}

impl ConnectorWord for Action {
    /// The action's keyword as written (`sql`, `exec`, `http`).
    fn connector_word(&self) -> &'static str {
        match self {
            Action::Sql(_) => "sql",
            Action::Exec(_) => "exec",
            Action::Http(_) => "http",
        }
    }
}
