//! Checkpoints of the audit chain as C2SP signed notes (c2sp.org/signed-note): a text body and
//! one signature line per signer, `— NAME BASE64(key hash || signature)`.
//!
//! The runner signs with an ed25519 key of its own (Ed25519 note signatures, type 0x01); a
//! person may cosign as a witness with their SSH key (an SSHSIG over the note text, in a
//! signature line whose key hash is taken with the experimental type byte 0xff, which other
//! note verifiers ignore).

use std::path::Path;

use super::keys::{KeyError, Signer};
use super::signers::{AllowedSigners, PublicKey};

/// What a checkpoint says: the store it is of, how many events it holds, the last one's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The origin line: names the store (writ uses `writ/` + the store's id).
    pub origin: String,
    /// Events in the chain.
    pub count: u64,
    /// The hash of the last event (hex, as the chain writes it; 64 zeros for an empty store).
    pub head: String,
}

/// The runner's own key (ed25519, an OpenSSH private key file, 0600).
pub struct RunnerKey {
    _todo: (),
}

impl RunnerKey {
    /// Creates a new runner key at `path` (never overwriting a file).
    pub fn create(path: &Path, name: &str) -> Result<RunnerKey, KeyError> {
        let _ = (path, name);
        todo!("identity helper")
    }
    pub fn load(path: &Path) -> Result<RunnerKey, KeyError> {
        let _ = path;
        todo!("identity helper")
    }
    pub fn public_key(&self) -> PublicKey {
        todo!("identity helper")
    }
}

/// Why a note does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("the checkpoint cannot be read: {0}")]
    Malformed(String),
    #[error("the checkpoint is not signed by this store's runner key ({0})")]
    NotSigned(String),
    #[error("a cosignature does not hold: {0}")]
    Cosignature(String),
}

/// A checkpoint whose runner signature holds, with the people who cosigned it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    pub checkpoint: Checkpoint,
    pub cosigners: Vec<String>,
}

/// The note text (body, blank line, the runner's signature line).
pub fn sign(checkpoint: &Checkpoint, runner: &RunnerKey) -> Result<String, KeyError> {
    let _ = (checkpoint, runner);
    todo!("identity helper")
}

/// Adds `person`'s cosignature line to a signed note.
pub fn cosign(note: &str, person: &str, signer: &Signer) -> Result<String, KeyError> {
    let _ = (note, person, signer);
    todo!("identity helper")
}

/// Reads a note, checks the runner's signature with `runner` and every cosignature against
/// `signers` at `at_unix`. Unknown signature lines are ignored, as the spec says.
pub fn verify(
    note: &str,
    runner: &PublicKey,
    signers: &AllowedSigners,
    at_unix: i64,
) -> Result<VerifiedNote, NoteError> {
    let _ = (note, runner, signers, at_unix);
    todo!("identity helper")
}
