//! `writ plan --format mermaid`: the same picture as `dot`, for Markdown that renders Mermaid.
//! Node ids are prefixed (`s_`, `sys_`) so a step named `end` cannot end the chart.

use std::fmt::Write as _;

use super::diagram::{Shape, nodes};
use crate::plan::Plan;

pub(super) fn render(plan: &Plan) -> String {
    let mut out = String::from("flowchart TD\n");
    for node in nodes(plan) {
        let label = quote(&node.lines.join("<br/>"));
        let shape = match node.shape {
            Shape::Recommend => format!("([{label}])"),
            Shape::Confirm => format!("{{{label}}}"),
            Shape::Execute => format!("[{label}]"),
            Shape::Rollback => format!("[/{label}/]"),
        };
        let _ = writeln!(out, "  s_{}{shape}", node.id);
    }
    for system in &plan.body.systems {
        let label = quote(&format!(
            "{}<br/>{}, {}",
            system.name, system.connector, system.envelope
        ));
        let _ = writeln!(out, "  sys_{}[({label})]", system.name);
    }
    for edge in &plan.body.edges {
        let _ = writeln!(out, "  s_{} --> s_{}", edge.from, edge.to);
    }
    for write in &plan.body.writes {
        let _ = writeln!(out, "  s_{} -.->|writes| sys_{}", write.step, write.system);
    }
    for rollback in &plan.body.rollbacks {
        let _ = writeln!(
            out,
            "  s_{} -.->|undoes| s_{}",
            rollback.name, rollback.undoes
        );
    }
    out.push_str("  classDef low fill:#a6e3a1,stroke:#40a02b\n");
    out.push_str("  classDef medium fill:#f9e2af,stroke:#df8e1d\n");
    out.push_str("  classDef high fill:#f38ba8,stroke:#d20f39\n");
    out.push_str("  classDef inside fill:#f28b82,stroke:#b3261e,stroke-width:3px\n");
    out.push_str("  classDef outside fill:#e8eaed,stroke:#80868b\n");
    for node in nodes(plan) {
        if let Some(risk) = node.risk {
            let _ = writeln!(out, "  class s_{} {risk}", node.id);
        }
    }
    for system in &plan.body.systems {
        let _ = writeln!(out, "  class sys_{} {}", system.name, system.envelope);
    }
    out
}

/// A Mermaid label in double quotes; `"` inside becomes `#quot;` (Mermaid's entity form).
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "#quot;"))
}
