//! `writ log RUN [--format text|jsonl]`: the audit trail of one run, event by event.

use std::io::Write;

use super::exit;
use super::runtime_args::ConfigArg;
use crate::runtime::store::Store;

#[derive(clap::Args)]
pub struct Args {
    /// The run's id.
    run: String,
    #[arg(long, value_enum, default_value = "text")]
    format: LogFormat,
    #[command(flatten)]
    config: ConfigArg,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum LogFormat {
    /// One line per event, for a person.
    Text,
    /// One JSON object per line, each with a `kind` field.
    Jsonl,
}

pub fn run(args: &Args) -> u8 {
    let (_, store, _) = match args.config.open_store() {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let events = match store.run_events(&args.run) {
        Ok(events) => events,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::USAGE;
        }
    };
    if events.is_empty() {
        eprintln!("error: no run `{}` in the store", args.run);
        return exit::FINDINGS;
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for event in &events {
        let line = match args.format {
            LogFormat::Jsonl => jsonl(event),
            LogFormat::Text => super::log_text::line(event),
        };
        // A closed pipe (`writ log ... | head`) ends the listing, quietly.
        if writeln!(out, "{line}").is_err() {
            return exit::OK;
        }
    }
    let _ = out.flush();
    exit::OK
}

/// One event as a JSON line, with its proof lifted to the top: `identity`, and for a signed
/// act `statement` (the exact signed bytes) and `signature` (the armored SSHSIG), so that
/// `ssh-keygen -Y verify -f allowed_signers -I PERSON -n writ -s SIG < STATEMENT` checks it.
fn jsonl(event: &crate::runtime::event::Event) -> String {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if let (Some(proof), serde_json::Value::Object(map)) = (
        crate::runtime::trust::Proof::of(&event.event.data),
        &mut value,
    ) {
        map.insert("identity".into(), proof.identity.as_str().into());
        if let (Some(statement), Some(signature)) = (proof.statement, proof.signature) {
            map.insert("statement".into(), statement.into());
            map.insert("signature".into(), signature.into());
        }
    }
    value.to_string()
}
