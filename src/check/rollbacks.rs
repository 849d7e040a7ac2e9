//! Reversal rules: every execute has exactly one rollback that `undoes` it (E0202), and a
//! rollback undoes exactly one execute step, never another kind, never one already undone (E0207).
//!
//! Neither rule cascades from a naming error: with an unknown name in some `undoes` (E0101) no
//! execute is said to lack a rollback (it may be the one meant), and a step name defined twice
//! (E0102) is not judged here, since which definition an `undoes` means is not known.

use crate::hash::HashMap;

use super::model::{Model, StepId, StepInfo};
use crate::diagnostics::{Code, Diagnostic, article};
use crate::syntax::ast::*;

pub(crate) fn check(model: &Model<'_>, out: &mut Vec<Diagnostic>) {
    let mut undone_by: HashMap<StepId, StepId> = HashMap::default();
    let mut unknown_target = false;
    for (id, info) in model.steps.iter().enumerate() {
        let Some(target_name) = &info.step.undoes else {
            continue;
        };
        if model.duplicate_steps.contains(target_name.as_str()) {
            continue;
        }
        // An unknown name was reported by name resolution (E0101).
        let Some(&target) = model.step_ids.get(target_name.as_str()) else {
            unknown_target = true;
            continue;
        };
        let Some(target_info) = model.steps.get(target) else {
            continue;
        };
        if target_info.kind() != StepKind::Execute {
            out.push(not_an_execute(info, target_name, target_info));
        } else if let Some(&first) = undone_by.get(&target) {
            out.push(undone_twice(model, info, target_name, first));
        } else {
            undone_by.insert(target, id);
        }
    }
    if unknown_target {
        return;
    }
    for (id, info) in model.steps.iter().enumerate() {
        if info.kind() == StepKind::Execute
            && !undone_by.contains_key(&id)
            && !model.duplicate_steps.contains(info.name())
        {
            out.push(no_rollback(info));
        }
    }
}

/// E0207: the rollback names a step that is not an execute.
fn not_an_execute(info: &StepInfo<'_>, target_name: &Ident, target: &StepInfo<'_>) -> Diagnostic {
    let kind = target.kind();
    Diagnostic::new(
        Code::E0207,
        format!(
            "rollback `{}` undoes `{}`, {} {kind} step",
            info.name(),
            target_name.name,
            article(&kind.to_string()),
        ),
        target_name.span,
        "only an execute step writes, so only it can be undone",
    )
    .label(
        target.step.kind.span,
        format!(
            "`{}` is {} {kind} step",
            target_name.name,
            article(&kind.to_string()),
        ),
    )
    .help("name the execute step whose write this rollback reverses")
}

/// E0207: a second rollback for an execute that already has one (`first`).
fn undone_twice(
    model: &Model<'_>,
    info: &StepInfo<'_>,
    target_name: &Ident,
    first: StepId,
) -> Diagnostic {
    let first_span = model
        .steps
        .get(first)
        .map_or(info.step.name.span, |s| s.step.name.span);
    Diagnostic::new(
        Code::E0207,
        format!("`{}` is undone by two rollbacks", target_name.name),
        info.step.name.span,
        "second rollback",
    )
    .label(first_span, "first rollback")
    .help("keep one rollback per execute step; merge the two reversals into one")
}

/// E0202: an execute that no rollback undoes.
fn no_rollback(info: &StepInfo<'_>) -> Diagnostic {
    Diagnostic::new(
        Code::E0202,
        format!("execute step `{}` has no rollback", info.name()),
        info.step.name.span,
        "this write cannot be reversed",
    )
    .help(format!(
        "add `rollback undo_{0} undoes {0} {{ run ... repair by ROLE }}` that reverses the write",
        info.name()
    ))
}
