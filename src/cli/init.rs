//! `writ init [DIR]`: a working starter in DIR (default: the current folder): `writ.yaml`,
//! `allowed_signers`, development keys for its three people in `keys/`, the ticket triage
//! workflow with its stand-in model, and a SQLite helpdesk. `writ check`, `approve-plan` and
//! `run` accept it as it is; the next steps are printed.

use std::path::PathBuf;

use super::{exit, starter};

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the starter (created if missing; must hold no writ.yaml yet).
    #[arg(default_value = ".")]
    dir: PathBuf,
}

pub fn run(args: &Args) -> u8 {
    if let Err(error) = starter::write(&args.dir) {
        eprintln!("error: cannot write the starter: {error}");
        return exit::USAGE;
    }
    let at = args.dir.display();
    outln!("a writ starter in {at}:");
    outln!("  writ.yaml           the runtime config (people, roles, systems, the store)");
    outln!("  allowed_signers     who may act: each person's public key");
    outln!("  keys/               development keys for ana, sam and olu (private: 0600)");
    outln!("  workflows/          ticket_triage.writ and its stand-in model (scripts/)");
    outln!("  data/helpdesk.db    the system it writes (SQLite)");
    outln!();
    outln!("next, in {at}:");
    outln!("  writ check workflows/");
    outln!(
        "  writ approve-plan workflows/ticket_triage.writ --key keys/olu     # olu owns it (ops_lead)"
    );
    outln!("  writ run workflows/ticket_triage.writ --input ticket_id=105 --key keys/ana");
    outln!("  writ approve RUN lead_review --key keys/sam --note ok   # four eyes: not ana");
    outln!("  writ resume RUN");
    outln!("  writ log RUN && writ audit verify");
    exit::OK
}
