//! The one way writ fingerprints structured data: SHA-256 over a versioned prefix and the
//! compact JSON of a value, streamed into the hash, as 64 lowercase hex digits.
//!
//! Used for plan fingerprints (`writ-plan-v1`), rendered actions (`writ-action-v1`) and the
//! event hash chain (`writ-event-v1`). The prefix names the format and its version, so the same
//! bytes under two formats never share a hash.

use std::io;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// SHA-256 of `prefix` followed by the compact JSON of `value`.
pub(crate) fn json_sha256(prefix: &str, value: &impl Serialize) -> String {
    let mut hasher = HashWriter(Sha256::new());
    hasher.0.update(prefix.as_bytes());
    // INVARIANT: writing into a hash cannot fail, and writ only hashes plain data (strings,
    // numbers, vectors, maps with string keys), which always serialises. Were it ever to fail,
    // the error text still hashes to a stable value that no real input produces.
    if let Err(error) = serde_json::to_writer(&mut hasher, value) {
        hasher.0.update(error.to_string().as_bytes());
    }
    hasher
        .0
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Feeds what serde_json writes into the hash: large values are never held in memory.
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

/// SHA-256 of a file's bytes (an exec program's, to bind an approval to it), as 64 lowercase
/// hex digits; read in chunks, so a large file is never held in memory.
pub(crate) fn file_sha256(path: &std::path::Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = HashWriter(Sha256::new());
    io::copy(&mut file, &mut hasher)?;
    Ok(hasher
        .0
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_value() {
        // printf 'p\n{"a":1}' | sha256sum
        assert_eq!(
            json_sha256("p\n", &serde_json::json!({"a": 1})),
            "c2acf9f37c8baab3d12dd51a950840b97e38f53de884e49430eec2bfe7b3d356"
        );
    }
}
