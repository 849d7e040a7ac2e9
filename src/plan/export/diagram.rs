//! What the two pictures (`dot`, `mermaid`) share: one node per step with its shape, label
//! lines and risk, so both drawings say the same thing.

use crate::plan::Plan;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Recommend,
    Confirm,
    Execute,
    Rollback,
}

pub(super) struct StepNode {
    pub id: String,
    pub shape: Shape,
    pub lines: Vec<String>,
    /// `low`, `medium` or `high` for execute steps.
    pub risk: Option<&'static str>,
}

/// The nodes of a plan's picture: forward steps in plan order, then rollbacks.
pub(super) fn nodes(plan: &Plan) -> Vec<StepNode> {
    let mut out = Vec::with_capacity(plan.body.steps.len() + plan.body.rollbacks.len());
    for step in &plan.body.steps {
        let mut lines = vec![step.kind.to_owned(), step.name.to_string()];
        let shape = match step.kind {
            "confirm" => {
                lines.extend(step.by.as_ref().map(|by| format!("by {by}")));
                Shape::Confirm
            }
            "execute" => {
                let risk = step.risk.unwrap_or("?");
                let approver = step.approver.as_deref().unwrap_or("?");
                lines.push(format!("risk {risk}, approver {approver}"));
                if step.auto.is_some() {
                    lines.push("earned autonomy".to_owned());
                }
                Shape::Execute
            }
            _ => Shape::Recommend,
        };
        let risk = step.risk.and_then(risk_word);
        out.push(StepNode {
            id: step.name.to_string(),
            shape,
            lines,
            risk,
        });
    }
    for rollback in &plan.body.rollbacks {
        let mut lines = vec!["rollback".to_owned(), rollback.name.to_string()];
        lines.extend(
            rollback
                .repair_by
                .as_ref()
                .map(|r| format!("repair by {r}")),
        );
        out.push(StepNode {
            id: rollback.name.to_string(),
            shape: Shape::Rollback,
            lines,
            risk: None,
        });
    }
    out
}

fn risk_word(risk: &str) -> Option<&'static str> {
    match risk {
        "low" => Some("low"),
        "medium" => Some("medium"),
        "high" => Some("high"),
        _ => None,
    }
}

/// The fill colour of a risk class.
pub(super) fn risk_colour(risk: &str) -> &'static str {
    match risk {
        "low" => "#a6e3a1",
        "medium" => "#f9e2af",
        _ => "#f38ba8",
    }
}
