//! Warnings (W0301-W0305): a workflow that is safe to run but likely not what was meant.

use super::model::Model;
use super::names::Resolution;
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::*;

pub(crate) fn check(model: &Model<'_>, resolution: &Resolution<'_>, out: &mut Vec<Diagnostic>) {
    for info in &model.steps {
        let c = &info.clauses;
        let name = &info.step.name;
        match info.kind() {
            StepKind::Confirm => {
                if !c.shows.is_given() {
                    out.push(
                        Diagnostic::new(Code::W0301, format!("confirm step `{}` shows nothing", name.name), name.span, "the confirmer decides blind")
                            .help("add `shows step.field, ...` with what the confirmer must see to decide"),
                    );
                }
                if c.expires.is_none() {
                    out.push(
                        Diagnostic::new(
                            Code::W0302,
                            format!("confirm step `{}` never expires", name.name),
                            name.span,
                            "a run can wait here forever",
                        )
                        .help("add `expires 4h -> reject` or `expires 4h -> escalate ROLE`"),
                    );
                }
            }
            StepKind::Rollback if c.repair.is_none() => out.push(
                Diagnostic::new(
                    Code::W0303,
                    format!("rollback `{}` names no repair role", name.name),
                    name.span,
                    "nobody is named to repair a failed reversal",
                )
                .help("add `repair by ROLE`: who fixes the system by hand if this rollback fails"),
            ),
            StepKind::Execute => low_risk_inside(model, info, out),
            _ => {}
        }
    }
    unused(model, resolution, out);
}

fn low_risk_inside(
    model: &Model<'_>,
    info: &super::model::StepInfo<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let c = &info.clauses;
    let (Some((risk, _)), Some((system, _))) = (c.risk, c.writes) else {
        return;
    };
    let Some(system) = model.systems.get(system.as_str()) else {
        return;
    };
    if risk.value == Risk::Low && system.envelope.value == Envelope::Inside && c.auto.is_none() {
        out.push(
            Diagnostic::new(
                Code::W0305,
                format!("`{}` writes `{}`, inside the envelope, at `risk low`", info.name(), system.name.name),
                risk.span,
                "probably mis-classified",
            )
            .label(system.envelope.span, "a system of record")
            .help("a write to a system of record is usually `risk medium`; keep `low` only with an `auto when ... and critical == 0` gate"),
        );
    }
}

/// W0304: one warning per declared role, system, input or output that nothing refers to.
fn unused(model: &Model<'_>, resolution: &Resolution<'_>, out: &mut Vec<Diagnostic>) {
    unused_declarations(model, resolution, out);
    unused_outputs(model, resolution, out);
}

fn never_used(what: &str, name: &Ident, help: String) -> Diagnostic {
    Diagnostic::new(
        Code::W0304,
        format!("{what} `{}` is never used", name.name),
        name.span,
        "declared here, used nowhere",
    )
    .help(help)
}

/// Roles, systems and inputs.
fn unused_declarations(model: &Model<'_>, resolution: &Resolution<'_>, out: &mut Vec<Diagnostic>) {
    for role in &model.role_list {
        if !resolution.roles_used.contains(role.as_str()) {
            out.push(never_used(
                "role",
                role,
                "remove it, or use it in `owner`, `by`, `approver`, `repair by` or `escalate`"
                    .to_owned(),
            ));
        }
    }
    for system in &model.system_list {
        if !resolution.systems_used.contains(system.name.as_str()) {
            out.push(never_used(
                "system",
                &system.name,
                "remove it, or name it in a step's `reads` or `writes`".to_owned(),
            ));
        }
    }
    for input in &model.input_list {
        if !resolution.inputs_used.contains(input.name.as_str()) {
            out.push(never_used(
                "input",
                &input.name,
                format!(
                    "remove it, or refer to it as `{}` (`:{}` in SQL)",
                    input.name.name, input.name.name
                ),
            ));
        }
    }
}

/// The `yields` fields of every step (every `yields` clause, a repeated one included).
fn unused_outputs(model: &Model<'_>, resolution: &Resolution<'_>, out: &mut Vec<Diagnostic>) {
    for (id, info) in model.steps.iter().enumerate() {
        for field in info.clauses.yields.iter() {
            if !resolution.fields_used.contains(&(id, field.name.as_str())) {
                out.push(never_used(
                    "output",
                    &field.name,
                    format!(
                        "remove it, or use `{}.{}` (show it to a confirmer, or pass it to an action)",
                        info.name(),
                        field.name.name
                    ),
                ));
            }
        }
    }
}
