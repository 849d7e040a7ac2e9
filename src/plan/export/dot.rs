//! `writ plan --format dot`: a Graphviz picture. Step kinds are shapes (recommend an ellipse,
//! confirm a diamond, execute a box, rollback a dashed box), risk is the fill colour, systems
//! are cylinders with those inside the envelope in red and doubled, and the confirm -> execute
//! -> rollback path is drawn with `writes` and `undoes` edges.

use std::fmt::Write as _;

use super::diagram::{Shape, StepNode, nodes, risk_colour};
use crate::plan::Plan;

pub(super) fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&plan.body.workflow.name));
    let _ = writeln!(out, "  rankdir=TB;");
    let _ = writeln!(out, "  node [fontname=\"Helvetica\", fontsize=11];");
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=9];");
    for node in nodes(plan) {
        let _ = writeln!(out, "  {} [{}];", quote(&node.id), attributes(&node));
    }
    for system in &plan.body.systems {
        let inside = system.envelope == "inside";
        let (fill, extra) = if inside {
            ("#f28b82", ", peripheries=2")
        } else {
            ("#e8eaed", "")
        };
        let label = format!(
            "{}\\n{}, {}",
            system.name, system.connector, system.envelope
        );
        let _ = writeln!(
            out,
            "  {} [shape=cylinder, style=filled, fillcolor=\"{fill}\", label={}{extra}];",
            quote(&format!("system:{}", system.name)),
            quote(&label)
        );
    }
    for edge in &plan.body.edges {
        let _ = writeln!(out, "  {} -> {};", quote(&edge.from), quote(&edge.to));
    }
    for write in &plan.body.writes {
        let _ = writeln!(
            out,
            "  {} -> {} [style=dotted, label=\"writes\"];",
            quote(&write.step),
            quote(&format!("system:{}", write.system))
        );
    }
    for rollback in &plan.body.rollbacks {
        let _ = writeln!(
            out,
            "  {} -> {} [style=dashed, label=\"undoes\"];",
            quote(&rollback.name),
            quote(&rollback.undoes)
        );
    }
    out.push_str("}\n");
    out
}

fn attributes(node: &StepNode) -> String {
    let label = node.lines.join("\\n");
    let (shape, style) = match node.shape {
        Shape::Recommend => ("ellipse", "filled"),
        Shape::Confirm => ("diamond", "filled"),
        Shape::Execute => ("box", "filled,bold"),
        Shape::Rollback => ("box", "filled,dashed"),
    };
    let fill = match (node.risk, node.shape) {
        (Some(risk), _) => risk_colour(risk),
        (None, Shape::Recommend) => "#e8f0fe",
        (None, Shape::Confirm) => "#ede7f6",
        (None, _) => "#ffffff",
    };
    format!(
        "shape={shape}, style=\"{style}\", fillcolor=\"{fill}\", label={}",
        quote(&label)
    )
}

/// A DOT string literal; names are identifiers, but titles and labels are quoted safely.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
