//! `writ audit verify [--checkpoint F]...`: the whole store checked (chain, times, registry,
//! every signature, every checkpoint given). Exit 0 intact, 1 tampered, 2 unusable (no store).
//! `writ audit checkpoint [--key K]`: the runner's signed checkpoint of the chain as it is now
//! (a C2SP signed note), cosigned by a person when a key is given.

use std::path::PathBuf;

use super::exit;
use super::runtime_args::ConfigArg;
use super::sign::SignArgs;
use crate::identity::Signer;
use crate::identity::note::{self, Checkpoint, RunnerKey};
use crate::runtime::trust::audit::{Report, audit, check_checkpoint, origin_of};
use crate::runtime::trust::open::{open_existing, runner_key_path};
use crate::runtime::trust::{Create, TrustError};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Check that no event was changed, removed or reordered, every signed act holds, and the
    /// store still holds and extends every checkpoint given.
    Verify(VerifyArgs),
    /// Print a checkpoint of the chain signed by the runner (cosigned with `--key`).
    Checkpoint(CheckpointArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// A checkpoint made earlier by `writ audit checkpoint` (repeatable).
    #[arg(long, value_name = "FILE")]
    checkpoint: Vec<PathBuf>,
    #[command(flatten)]
    config: ConfigArg,
}

#[derive(clap::Args)]
struct CheckpointArgs {
    #[command(flatten)]
    sign: SignArgs,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: &Args) -> u8 {
    let outcome = match &args.command {
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Checkpoint(args) => checkpoint(args),
    };
    outcome.unwrap_or_else(|code| code)
}

fn verify(args: &VerifyArgs) -> Result<u8, u8> {
    let config = args.config.load()?;
    let mut notes = Vec::new();
    for path in &args.checkpoint {
        let text = std::fs::read_to_string(path).map_err(|e| {
            eprintln!("error: cannot read `{}`: {e}", path.display());
            exit::USAGE
        })?;
        notes.push((path, text));
    }
    let store = match open_existing(&config) {
        Ok(store) => store,
        // A store a checkpoint vouches for is gone: that is tampering, not a typo.
        Err(TrustError::Io(reason)) if !notes.is_empty() => {
            outln!("tampered: {reason}, and a checkpoint says it held events");
            return Ok(exit::FINDINGS);
        }
        Err(error) => return Err(unusable(&error)),
    };
    let report = audit(&store).map_err(|e| unusable(&e))?;
    if let Some((seq, reason)) = &report.broken {
        outln!("tampered: event {seq}: {reason}");
        eprintln!("  help: events before {seq} are as written; from {seq} on, none can be trusted");
        return Ok(exit::FINDINGS);
    }
    for (path, text) in &notes {
        match check_checkpoint(&store, text, &report) {
            Ok(cosigners) => {
                let by = if cosigners.is_empty() {
                    String::new()
                } else {
                    format!(", cosigned by {}", cosigners.join(", "))
                };
                outln!("checkpoint `{}` holds{by}", path.display());
            }
            Err(reason) => {
                outln!("tampered: checkpoint `{}`: {reason}", path.display());
                return Ok(exit::FINDINGS);
            }
        }
    }
    print_intact(&report, &config.state);
    Ok(exit::OK)
}

fn print_intact(report: &Report, state: &std::path::Path) {
    let asserted = if report.asserted > 0 {
        format!(
            " ({} acts only asserted: `identity: asserted`, for development)",
            report.asserted
        )
    } else {
        String::new()
    };
    outln!(
        "intact: {} events in `{}`, every hash, link and time checks; {} signed acts hold{asserted}",
        report.events,
        state.display(),
        report.signed
    );
}

fn checkpoint(args: &CheckpointArgs) -> Result<u8, u8> {
    let (config, store, pinned) = args.config.open_trusted(Create::Never)?;
    let report = audit(&store).map_err(|e| unusable(&e))?;
    if let Some((seq, reason)) = &report.broken {
        outln!("tampered: event {seq}: {reason}");
        eprintln!("  help: a checkpoint vouches only for an intact store");
        return Ok(exit::FINDINGS);
    }
    let runner = RunnerKey::load(&runner_key_path(&config.state)).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    let body = Checkpoint {
        origin: origin_of(&pinned.store),
        count: report.events,
        head: report.head,
    };
    let mut text = note::sign(&body, &runner).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    if let Some(key) = &args.sign.key {
        let signer = Signer::open(key).map_err(|e| {
            eprintln!("error: {e}");
            exit::FINDINGS
        })?;
        let person = match &args.sign.person {
            Some(person) => person.clone(),
            None => {
                let key = signer.public_key();
                let people = pinned.signers.principals_for(
                    &key,
                    crate::identity::NAMESPACE,
                    crate::runtime::clock::now() / 1_000,
                );
                let [one] = people.as_slice() else {
                    eprintln!("error: say who cosigns with `--as PERSON`");
                    return Err(exit::USAGE);
                };
                (*one).to_owned()
            }
        };
        text = note::cosign(&text, &person, &signer).map_err(|e| {
            eprintln!("error: {e}");
            exit::FINDINGS
        })?;
    }
    out!("{text}");
    Ok(exit::OK)
}

fn unusable(error: &TrustError) -> u8 {
    eprintln!("error: {error}");
    exit::USAGE
}
