//! Where a clause may stand and which are required (E0104), with the more specific codes that
//! win over it: `writes` on a recommend is E0205, a missing `approver` E0201, `risk high` E0204,
//! an `auto` gate on the wrong risk or without `critical == 0` inside the envelope E0206.

use super::model::{Model, StepInfo};
use crate::diagnostics::{Code, Diagnostic, article};
use crate::syntax::ast::*;

/// Whether `clause` may appear on a step of `kind` (docs/language.md, "Steps and their clauses").
fn allowed(kind: StepKind, clause: &ClauseKind) -> bool {
    use ClauseKind as C;
    match kind {
        StepKind::Recommend => matches!(
            clause,
            C::After(_) | C::Reads(_) | C::Writes(_) | C::Run(_) | C::Yields(_)
        ),
        StepKind::Confirm => matches!(
            clause,
            C::After(_) | C::By(..) | C::Shows(_) | C::Expires(_)
        ),
        StepKind::Execute => matches!(
            clause,
            C::After(_)
                | C::Reads(_)
                | C::Writes(_)
                | C::Run(_)
                | C::Yields(_)
                | C::Risk(_)
                | C::Approver(_)
                | C::Auto(_)
                | C::Capture(_)
                | C::Verify(_)
                | C::AllowNoRows
        ),
        StepKind::Rollback => matches!(clause, C::Run(_) | C::Verify(_) | C::RepairBy(_)),
    }
}

/// The clauses a step of `kind` may hold, for the help line.
fn allowed_list(kind: StepKind) -> &'static str {
    match kind {
        StepKind::Recommend => "`after`, `reads`, `run`, `yields`",
        StepKind::Confirm => "`after`, `by`, `shows`, `expires`",
        StepKind::Execute => {
            "`after`, `reads`, `writes`, `run`, `yields`, `risk`, `approver`, `auto`, `capture`, `verify`, `allow no rows`"
        }
        StepKind::Rollback => "`run`, `verify`, `repair by`",
    }
}

/// `allow no rows` speaks of rows a statement changed: only an execute that runs `sql` has
/// them (a program's or a server's answer has no row count writ could judge).
fn no_rows_needs_sql(
    info: &StepInfo<'_>,
    span: crate::syntax::ast::Span,
    out: &mut Vec<Diagnostic>,
) {
    match info.clauses.run {
        Some((Action::Sql(_), _)) | None => {}
        Some((action, run)) => out.push(
            Diagnostic::new(
                Code::E0104,
                format!(
                    "`allow no rows` on execute step `{}`, whose action is not `sql`",
                    info.name()
                ),
                span,
                "only a `sql` write changes rows",
            )
            .label(run, format!("this action is `{}`", action.connector()))
            .help("remove `allow no rows`: an `exec` or `http` write has no row count to judge"),
        ),
    }
}

pub(crate) fn check(model: &Model<'_>, out: &mut Vec<Diagnostic>) {
    for info in &model.steps {
        placement(info, out);
        required(info, out);
        risk_and_autonomy(model, info, out);
    }
}

fn placement(info: &StepInfo<'_>, out: &mut Vec<Diagnostic>) {
    let kind = info.kind();
    for clause in &info.step.clauses {
        if allowed(kind, &clause.kind) {
            if kind == StepKind::Recommend && matches!(clause.kind, ClauseKind::Writes(_)) {
                out.push(
                    Diagnostic::new(
                        Code::E0205,
                        format!("recommend step `{}` writes", info.name()),
                        clause.span,
                        "a recommendation never writes",
                    )
                    .label(info.step.kind.span, "this is a recommend step")
                    .help("use `reads` to read the system, and move the write to an `execute` step behind a `confirm`"),
                );
            }
            if matches!(clause.kind, ClauseKind::AllowNoRows) {
                no_rows_needs_sql(info, clause.span, out);
            }
            continue;
        }
        let keyword = clause.kind.keyword();
        let why = match (kind, &clause.kind) {
            (StepKind::Rollback, ClauseKind::Writes(_)) => {
                " (a rollback writes the system of the execute it undoes)".to_owned()
            }
            (StepKind::Rollback, ClauseKind::After(_)) => {
                " (a rollback runs when its execute is reversed, not in the forward order)"
                    .to_owned()
            }
            (_, ClauseKind::Auto(_)) => {
                " (earned autonomy applies to execute steps only)".to_owned()
            }
            _ => String::new(),
        };
        out.push(
            Diagnostic::new(
                Code::E0104,
                format!(
                    "`{keyword}` is not allowed on {} {kind} step{why}",
                    article(&kind.to_string())
                ),
                clause.span,
                format!("not allowed on {kind} step `{}`", info.name()),
            )
            .label(
                info.step.kind.span,
                format!("{} {kind} step", article(&kind.to_string())),
            )
            .help(format!(
                "remove it; {} {kind} step takes {}",
                article(&kind.to_string()),
                allowed_list(kind)
            )),
        );
    }
}

fn required(info: &StepInfo<'_>, out: &mut Vec<Diagnostic>) {
    let c = &info.clauses;
    let kind = info.kind();
    let mut missing = |clause: &str, help: String| {
        out.push(
            Diagnostic::new(
                Code::E0104,
                format!("{kind} step `{}` has no `{clause}`", info.name()),
                info.step.name.span,
                format!("`{clause}` is required here"),
            )
            .help(help),
        );
    };
    let needs_run = kind != StepKind::Confirm && c.run.is_none();
    if needs_run {
        missing(
            "run",
            "add `run sql \"...\"`, `run exec \"PROGRAM\" [ARGS]` or `run http METHOD \"URL\"`"
                .to_owned(),
        );
    }
    match kind {
        StepKind::Confirm if c.by.is_none() => missing(
            "by",
            "add `by ROLE`: the role whose members confirm or reject".to_owned(),
        ),
        StepKind::Execute => {
            if c.writes.is_none() {
                missing(
                    "writes",
                    "add `writes SYSTEM`: the one system this step writes".to_owned(),
                );
            }
            if c.risk.is_none() {
                missing(
                    "risk",
                    "add `risk low` or `risk medium` (high-risk actions stay recommendations)"
                        .to_owned(),
                );
            }
            if c.approver.is_none() {
                out.push(
                    Diagnostic::new(
                        Code::E0201,
                        format!("execute step `{}` has no `approver`", info.name()),
                        info.step.name.span,
                        "nobody is accountable for this write",
                    )
                    .help("add `approver ROLE`, and a `confirm ... by ROLE` step before it"),
                );
            }
        }
        _ => {}
    }
}

fn risk_and_autonomy(model: &Model<'_>, info: &StepInfo<'_>, out: &mut Vec<Diagnostic>) {
    if info.kind() != StepKind::Execute {
        return;
    }
    let c = &info.clauses;
    if let Some((risk, span)) = c.risk
        && risk.value == Risk::High
    {
        out.push(
            Diagnostic::new(Code::E0204, format!("execute step `{}` has `risk high`", info.name()), risk.span, "high-risk actions stay recommendations")
                .label(span, "in this clause")
                .help("keep the action as a `recommend` step for a human to carry out, or lower the risk if it is really medium"),
        );
    }
    let Some((gate, gate_span)) = c.auto else {
        return;
    };
    if gate.acceptance.basis_points > 10_000 {
        out.push(
            Diagnostic::new(
                Code::E0105,
                "an acceptance rate above 100%",
                gate.acceptance.span,
                "no record can reach this",
            )
            .help("write a percentage from 0% to 100%, such as `95%`"),
        );
    }
    if let Some(review) = gate.review.filter(|r| r.basis_points > 10_000) {
        out.push(
            Diagnostic::new(
                Code::E0105,
                "a review share above 100%",
                review.span,
                "no more than every run can go to a human",
            )
            .help("write a percentage from 0% to 100%, such as `10%`"),
        );
    }
    auto_on_risk(info, gate_span, out);
    auto_inside_envelope(model, info, gate, gate_span, out);
}

/// E0206: `auto` on a medium-risk step. On a high-risk one E0204 is the more specific error:
/// the step should not be an execute at all, so the gate is not judged.
fn auto_on_risk(info: &StepInfo<'_>, gate_span: Span, out: &mut Vec<Diagnostic>) {
    let Some((risk, _)) = info.clauses.risk else {
        return;
    };
    if risk.value != Risk::Medium {
        return;
    }
    out.push(
        Diagnostic::new(
            Code::E0206,
            format!("`auto` on `{}`, whose risk is {}", info.name(), risk.value),
            gate_span,
            "earned autonomy is for low-risk actions only",
        )
        .label(risk.span, format!("risk {}", risk.value))
        .help(format!(
            "remove the `auto` gate: a human confirms every run of a {}-risk action",
            risk.value
        )),
    );
}

/// E0206: `auto` on a write to a system inside the envelope without `and critical == 0`.
fn auto_inside_envelope(
    model: &Model<'_>,
    info: &StepInfo<'_>,
    gate: &AutoGate,
    gate_span: Span,
    out: &mut Vec<Diagnostic>,
) {
    let system = info
        .clauses
        .writes
        .and_then(|(name, _)| model.systems.get(name.as_str()));
    if let Some(system) = system
        && system.envelope.value == Envelope::Inside
        && gate.no_critical.is_none()
    {
        out.push(
            Diagnostic::new(Code::E0206, format!("`auto` on `{}` writes `{}`, inside the envelope, without `and critical == 0`", info.name(), system.name.name), gate_span, "autonomy here would survive critical errors")
                .label(system.envelope.span, "a system of record")
                .help("append `and critical == 0` to the gate, so one rollback or repair takes it back to human confirmation"),
        );
    }
}
