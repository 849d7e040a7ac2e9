//! `writ audit verify`: walks the hash chain of the whole store. Exit 0 intact, 1 tampered.

use super::exit;
use super::runtime_args::ConfigArg;
use crate::runtime::store::{ChainReport, Store};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Check that no event of the store was changed, removed or reordered.
    Verify(ConfigArg),
}

pub fn run(args: &Args) -> u8 {
    let AuditCommand::Verify(config) = &args.command;
    let (config, store) = match config.open_store() {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    match store.verify() {
        Ok(ChainReport::Intact { events }) => {
            outln!(
                "intact: {events} events in `{}`, every hash and link checks",
                config.state.display()
            );
            exit::OK
        }
        Ok(ChainReport::Broken { seq, reason }) => {
            outln!("tampered: the chain breaks at event {seq}: {reason}");
            eprintln!(
                "  help: events before {seq} are as written; from {seq} on, none can be trusted"
            );
            exit::FINDINGS
        }
        Err(error) => {
            eprintln!("error: {error}");
            exit::USAGE
        }
    }
}
