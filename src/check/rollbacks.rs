//! Reversal rules: every execute has exactly one rollback that `undoes` it (E0202), and a
//! rollback undoes exactly one execute step, never another kind, never one already undone (E0207).

use super::hash::HashMap;

use super::model::{Model, StepId};
use crate::diagnostics::{Code, Diagnostic, article};
use crate::syntax::ast::*;

pub(crate) fn check(model: &Model<'_>, out: &mut Vec<Diagnostic>) {
    let mut undone_by: HashMap<StepId, StepId> = HashMap::default();
    for (id, info) in model.steps.iter().enumerate() {
        let Some(target_name) = &info.step.undoes else {
            continue;
        };
        // An unknown name was reported by name resolution (E0101).
        let Some(&target) = model.step_ids.get(target_name.as_str()) else {
            continue;
        };
        let Some(target_info) = model.steps.get(target) else {
            continue;
        };
        if target_info.kind() != StepKind::Execute {
            out.push(
                Diagnostic::new(
                    Code::E0207,
                    format!(
                        "rollback `{}` undoes `{}`, {} {} step",
                        info.name(),
                        target_name.name,
                        article(&target_info.kind().to_string()),
                        target_info.kind()
                    ),
                    target_name.span,
                    "only an execute step writes, so only it can be undone",
                )
                .label(
                    target_info.step.kind.span,
                    format!(
                        "`{}` is {} {} step",
                        target_name.name,
                        article(&target_info.kind().to_string()),
                        target_info.kind()
                    ),
                )
                .help("name the execute step whose write this rollback reverses"),
            );
            continue;
        }
        if let Some(&first) = undone_by.get(&target) {
            let first_span = model
                .steps
                .get(first)
                .map_or(info.step.name.span, |s| s.step.name.span);
            out.push(
                Diagnostic::new(
                    Code::E0207,
                    format!("`{}` is undone by two rollbacks", target_name.name),
                    info.step.name.span,
                    "second rollback",
                )
                .label(first_span, "first rollback")
                .help("keep one rollback per execute step; merge the two reversals into one"),
            );
            continue;
        }
        undone_by.insert(target, id);
    }
    for (id, info) in model.steps.iter().enumerate() {
        if info.kind() == StepKind::Execute && !undone_by.contains_key(&id) {
            out.push(
                Diagnostic::new(
                    Code::E0202,
                    format!("execute step `{}` has no rollback", info.name()),
                    info.step.name.span,
                    "this write cannot be reversed",
                )
                .help(format!(
                    "add `rollback undo_{0} undoes {0} {{ run ... repair by ROLE }}` that reverses the write",
                    info.name()
                )),
            );
        }
    }
}
