//! The plan fingerprint: SHA-256 over the canonical serialisation of the plan body.
//!
//! What is in it: the schema version and every field of [`PlanBody`] as `plan --format json`
//! prints them: the workflow's name, title, description and owner; roles, systems (connector
//! and envelope) and inputs (type, default); each forward step with its kind, direct
//! predecessors and every clause; each rollback; each write's derived safety facts.
//!
//! What is not: whitespace, comments, spans, and the order of anything whose order carries no
//! meaning (items in the file, steps, roles, systems, inputs, `reads`, `after`, `yields`,
//! JSON body keys): the body is built sorted (see `build.rs`). The order of `shows`, of `exec`
//! arguments and of `in [...]` lists is kept: it is what a confirmer or a program sees.
//!
//! The canonical serialisation is compact JSON of the body (serde_json, fields in declaration
//! order, no whitespace), prefixed by `writ-plan-v{SCHEMA_VERSION}\n`.

use std::io;

use sha2::{Digest, Sha256};

use super::model::{PlanBody, SCHEMA_VERSION};

pub(super) fn fingerprint(body: &PlanBody) -> String {
    let mut hasher = HashWriter(Sha256::new());
    hasher
        .0
        .update(format!("writ-plan-v{SCHEMA_VERSION}\n").as_bytes());
    // Streamed into the hash: a 100,000-step plan is tens of MB of JSON, never held in memory.
    // INVARIANT: serialising plain data (strings, numbers, vectors, maps with string keys)
    // into a writer that cannot fail cannot fail; if it ever did, hashing the error text still
    // yields a stable, distinct value.
    if let Err(error) = serde_json::to_writer(&mut hasher, body) {
        hasher.0.update(error.to_string().as_bytes());
    }
    hasher
        .0
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Feeds what serde_json writes into the hash.
struct HashWriter(Sha256);

impl io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
