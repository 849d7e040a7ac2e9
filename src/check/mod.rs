//! placeholder
use crate::diagnostics::Diagnostic;
use crate::syntax::ast::Workflow;
pub struct CheckedWorkflow { pub workflow: Workflow }
pub struct Checked { pub diagnostics: Vec<Diagnostic>, pub workflow: Option<CheckedWorkflow> }
pub fn check(workflow: Workflow) -> Checked { Checked { diagnostics: vec![], workflow: Some(CheckedWorkflow { workflow }) } }
pub fn check_source(source: &str) -> Checked { match crate::syntax::parse(source) { Ok(w) => check(w), Err(d) => Checked { diagnostics: d, workflow: None } } }
