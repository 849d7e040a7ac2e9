//! `writ keygen --out FILE [--comment C]`: a new OpenSSH ed25519 key pair, as `ssh-keygen -t
//! ed25519 -N ''` makes: FILE (private, 0600, never overwriting) and FILE.pub. The line to add
//! to the signers file is printed.

use std::path::PathBuf;

use super::exit;
use crate::identity::keygen;

#[derive(clap::Args)]
pub struct Args {
    /// The private key's file (its public half goes to FILE.pub).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The key's comment (e.g. `sam@example.com`).
    #[arg(long, value_name = "TEXT", default_value = "")]
    comment: String,
}

pub fn run(args: &Args) -> u8 {
    match keygen(&args.out, &args.comment) {
        Ok(public) => {
            outln!(
                "wrote `{}` (private, 0600) and `{}.pub`",
                args.out.display(),
                args.out.display()
            );
            outln!("{}", public.fingerprint());
            outln!("for the signers file: PERSON {}", public.to_openssh());
            exit::OK
        }
        Err(error) => {
            eprintln!("error: {error}");
            exit::USAGE
        }
    }
}
