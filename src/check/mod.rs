//! The checker: every rule of docs/language.md, run over one parsed workflow.
//!
//! One module per rule family, each a function that appends diagnostics; all of them run on
//! every file, so a file's problems are reported together, never only the first. The result
//! is a [`Checked`]: the diagnostics, and a [`CheckedWorkflow`] only when none is an error.
//!
//! INVARIANT: a `CheckedWorkflow` exists only for a workflow with no error diagnostic; its
//! fields are private and this module is the only place that builds one.

mod actions;
mod allow;
mod approvals;
mod clauses;
mod graph;
mod interpreters;
mod latest;
mod model;
mod names;
mod rollbacks;
mod sql_rules;
mod types;
mod warnings;

pub use graph::StepGraph;

use petgraph::graph::NodeIndex;

use crate::diagnostics::{self, Diagnostic};
use crate::syntax::{self, ast::Workflow};

/// A workflow that passed every error rule: the only input the plan builder accepts.
pub struct CheckedWorkflow {
    workflow: Workflow,
    graph: StepGraph,
    /// Per node index: the confirms that bind that execute (empty for other steps).
    binding: Vec<Box<[NodeIndex]>>,
}

impl CheckedWorkflow {
    pub fn workflow(&self) -> &Workflow {
        &self.workflow
    }

    /// The forward steps and their ordering edges; node weights index the workflow's steps
    /// in declaration order.
    pub fn graph(&self) -> &StepGraph {
        &self.graph
    }

    /// The confirms that bind the write `execute` (the binding rule, `docs/plan-format.md`):
    /// among the confirms by its approver role above it, the latest ones, those not above
    /// another one of them. Never empty for an execute (E0203); empty for any other node.
    pub fn binding(&self, execute: NodeIndex) -> &[NodeIndex] {
        self.binding.get(execute.index()).map_or(&[], |b| b)
    }
}

/// The outcome of checking one file.
pub struct Checked {
    /// Every diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// Present exactly when no diagnostic is an error.
    pub workflow: Option<CheckedWorkflow>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Runs every rule over `workflow`.
pub fn check(workflow: Workflow) -> Checked {
    let mut out = Vec::new();
    let (graph, binding) = {
        let model = model::build(&workflow, &mut out);
        let resolution = names::resolve(&model, &mut out);
        clauses::check(&model, &mut out);
        types::check(&model, &mut out);
        actions::check(&model, &resolution, &mut out);
        rollbacks::check(&model, &mut out);
        let graph = graph::build(&model, &resolution.edges);
        graph::cycles(&model, &graph, &mut out);
        let binding = approvals::check(&model, &resolution, &graph, &mut out);
        warnings::check(&model, &resolution, &mut out);
        interpreters::check(&model, &mut out);
        (graph, binding)
    };
    diagnostics::sort(&mut out);
    let workflow = (!out.iter().any(Diagnostic::is_error)).then_some(CheckedWorkflow {
        workflow,
        graph,
        binding,
    });
    Checked {
        diagnostics: out,
        workflow,
    }
}

/// Parses and checks one file's text.
pub fn check_source(source: &str) -> Checked {
    match syntax::parse(source) {
        Ok(workflow) => {
            let mut checked = check(workflow);
            allow::apply(source, &mut checked.diagnostics);
            checked
        }
        Err(mut diagnostics) => {
            diagnostics::sort(&mut diagnostics);
            Checked {
                diagnostics,
                workflow: None,
            }
        }
    }
}
