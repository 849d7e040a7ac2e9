//! writ: a language and runtime for letting AI write to business systems under human control.
//!
//! The pipeline runs one way: [`syntax::parse`] turns text into an AST, [`check::check`] judges
//! it against every rule of the language contract and, only when no error stands, yields a
//! [`check::CheckedWorkflow`], the only input [`plan::plan`] takes. Diagnostics are plain values ([`diagnostics::Diagnostic`]);
//! rendering them is left to the caller.
#![forbid(unsafe_code)]

// pest_derive without its `std` feature generates code that names `alloc`.
extern crate alloc;

pub mod check;
pub mod cli;
pub mod diagnostics;
mod digest;
pub mod explain;
mod hash;
pub mod identity;
pub mod lint;
pub mod plan;
pub mod runtime;
pub mod shown;
mod suggest;
pub mod syntax;

pub use check::{Checked, CheckedWorkflow, check, check_source};
pub use diagnostics::{Code, Diagnostic, Severity};
pub use plan::{Plan, plan};
pub use syntax::parse;
