//! Types (E0105): literals must fit the type they are declared with: an input's default, and
//! the values of an `in [...]` list. An `int` literal fits a `number`; nothing else converts.

use super::model::Model;
use crate::diagnostics::{Code, Diagnostic, article};
use crate::syntax::ast::*;

pub(crate) fn check(model: &Model<'_>, out: &mut Vec<Diagnostic>) {
    for input in &model.input_list {
        if let Some(default) = &input.default {
            literal_fits(
                default,
                input.ty,
                || format!("input `{}`", input.name.name),
                out,
            );
        }
    }
    for info in &model.steps {
        quorum(info, out);
        for field in info.clauses.yields.iter() {
            for literal in field.allowed.iter().flatten() {
                literal_fits(
                    literal,
                    field.ty,
                    || format!("output `{}.{}`", info.name(), field.name.name),
                    out,
                );
            }
        }
    }
}

/// `by N of ROLE` needs N of at least 2: one person is `by ROLE`, and none is no decision.
fn quorum(info: &super::model::StepInfo<'_>, out: &mut Vec<Diagnostic>) {
    for clause in &info.step.clauses {
        let ClauseKind::By(role, Some(count)) = &clause.kind else {
            continue;
        };
        if count.value >= 2 && count.value <= 1_000 {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::E0105,
                format!("a quorum of {} people of `{}`", count.value, role.name),
                count.span,
                "a quorum is 2 to 1000 people".to_owned(),
            )
            .help(format!(
                "write `by {} of {}` for several people, or `by {}` for one",
                count.value.clamp(2, 1_000),
                role.name,
                role.name
            )),
        );
    }
}

/// Whether a literal of type `found` may stand where `wanted` is declared.
pub(crate) fn fits(found: Type, wanted: Type) -> bool {
    found == wanted || (found == Type::Int && wanted == Type::Number)
}

/// `what` names the declaration for the message; it is only built when there is one.
fn literal_fits(
    literal: &Literal,
    ty: Word<Type>,
    what: impl FnOnce() -> String,
    out: &mut Vec<Diagnostic>,
) {
    let found = literal.value.natural_type();
    if fits(found, ty.value) {
        return;
    }
    let what = what();
    out.push(
        Diagnostic::new(
            Code::E0105,
            format!(
                "{} `{found}` literal where {what} is `{}`",
                article(&found.to_string()),
                ty.value
            ),
            literal.span,
            format!("this is `{found}`"),
        )
        .label(ty.span, format!("declared `{}` here", ty.value))
        .help(format!(
            "write {} `{}` value here, or change the declared type",
            article(&ty.value.to_string()),
            ty.value
        )),
    );
}
