//! `writ explain CODE`: the rationale and fixed example of one rule, from docs/diagnostics.md.

use super::exit;
use crate::diagnostics::Code;

#[derive(clap::Args)]
pub struct Args {
    /// A diagnostic code such as `E0203` or `W0301`.
    code: String,
}

pub fn run(args: &Args) -> u8 {
    let explanation = Code::parse(&args.code).and_then(crate::explain::explain);
    match explanation {
        Some(text) => {
            outln!("{text}");
            exit::OK
        }
        None => {
            let known: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
            eprintln!(
                "error: unknown code `{}`\n  help: the codes are {}",
                args.code,
                known.join(", ")
            );
            exit::USAGE
        }
    }
}
