//! Text to typed AST: the pest grammar (`grammar/writ.pest`), its error messages, and the
//! lowering into [`ast`]. No semantic judgement happens here.

pub mod ast;
mod format;
pub mod lex;
mod lower;
mod parallel;
mod parse;
pub mod sql;
pub mod sql_reads;
mod strings;
pub mod template;

use crate::diagnostics::{Code, Diagnostic};
use ast::{Span, Workflow};
pub use format::format;

/// The largest file writ reads: larger input is refused before parsing (a fixed limit).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// Parses one workflow file. On failure, returns every syntax problem found (E0001).
pub fn parse(source: &str) -> Result<Workflow, Vec<Diagnostic>> {
    if source.len() > MAX_FILE_BYTES {
        return Err(vec![
            Diagnostic::new(
                Code::E0001,
                format!(
                    "the file is {} bytes, over the limit of {MAX_FILE_BYTES}",
                    source.len()
                ),
                Span::new(0, 0),
                "file starts here",
            )
            .help("split the workflow: a single workflow file is at most 64 MiB"),
        ]);
    }
    if let Some(workflow) = parallel::parse(source) {
        return Ok(workflow);
    }
    parse_sequential(source)
}

/// Parses on one thread: the path every error is explained by. `parse` takes it for small
/// files, and for any file the parallel path does not accept.
#[doc(hidden)]
pub fn parse_sequential(source: &str) -> Result<Workflow, Vec<Diagnostic>> {
    let tree = parse::parse_tree(source).map_err(|diagnostic| vec![*diagnostic])?;
    let mut lowering = lower::Lowering::new();
    let workflow = lowering.workflow(tree);
    match workflow {
        Some(workflow) if lowering.diagnostics.is_empty() => Ok(workflow),
        Some(_) => Err(lowering.diagnostics),
        None => Err(vec![
            Diagnostic::new(
                Code::E0001,
                "internal error: the parse tree has a shape the lowering does not know",
                Span::new(0, source.len().min(1)),
                "while reading this file",
            )
            .help("this is a bug in writ; please report it with the file"),
        ]),
    }
}

/// The parallel path alone (`None` when it declines), for tests that compare the two.
#[doc(hidden)]
pub fn parse_parallel(source: &str) -> Option<Workflow> {
    parallel::parse(source)
}
