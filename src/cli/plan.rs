//! `writ plan FILE --format text|json|yaml|dot|mermaid`: the plan on stdout; a refused workflow
//! prints its diagnostics on stderr, no plan, and exits 1.

use std::io::ErrorKind;
use std::path::PathBuf;

use super::{exit, files, render_options};
use crate::check::check_source;
use crate::diagnostics::render;
use crate::plan::Plan;
use crate::plan::export::{self, ExportError, Format};
use crate::plan::plan;

#[derive(clap::Args)]
pub struct Args {
    /// The workflow file.
    file: PathBuf,
    /// How to print the plan.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(args: &Args) -> u8 {
    let source = match files::read(&args.file) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::USAGE;
        }
    };
    let name = files::shown(&args.file);
    let options = render_options();
    let checked = check_source(&source);
    let Some(workflow) = &checked.workflow else {
        eprint!("{}", render(&name, &source, &checked.diagnostics, options));
        let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
        eprintln!(
            "refused: `{name}` has {errors} error{}; no plan",
            if errors == 1 { "" } else { "s" }
        );
        return exit::FINDINGS;
    };
    if !checked.diagnostics.is_empty() {
        eprint!("{}", render(&name, &source, &checked.diagnostics, options));
    }
    let plan = plan(workflow);
    let code = print(&plan, args.format);
    // The process ends now: freeing a large plan and workflow piece by piece would only delay
    // the exit (the OS takes the memory back at once).
    std::mem::forget(plan);
    std::mem::forget(checked);
    code
}

/// Streams the plan to stdout; a closed pipe (`writ plan ... | head`) is not worth a message.
fn print(plan: &Plan, format: Format) -> u8 {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match export::write(plan, format, &mut out) {
        Ok(()) => exit::OK,
        Err(ExportError::Io(error)) if error.kind() == ErrorKind::BrokenPipe => exit::OK,
        Err(ExportError::Json(error)) if error.io_error_kind() == Some(ErrorKind::BrokenPipe) => {
            exit::OK
        }
        Err(error) => {
            eprintln!("error: {error}");
            exit::USAGE
        }
    }
}
