//! Signing keys: an OpenSSH private key file, or a public key whose private half ssh-agent
//! holds (`SSH_AUTH_SOCK`), as `ssh-keygen -Y sign -f KEY` takes; and new ed25519 key pairs.

use std::path::Path;

use super::signers::PublicKey;
use super::sshsig::Signature;

/// Why a key cannot sign, or a key pair cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the key `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error(
        "the key `{path}` is encrypted; load it into ssh-agent (`ssh-add {path}`) and pass its `.pub` file"
    )]
    Encrypted { path: String },
    #[error("`{path}` is a public key and ssh-agent does not hold its private half: {reason}")]
    Agent { path: String, reason: String },
    #[error("cannot sign: {0}")]
    Sign(String),
    #[error("cannot write `{path}`: {reason}")]
    Write { path: String, reason: String },
}

/// Something that signs statements in namespace `writ`.
pub struct Signer {
    _todo: (),
}

impl Signer {
    /// Opens `path`: an unencrypted OpenSSH private key file, or a public key file (`.pub`, or
    /// any file holding one public key line) whose private half is in the agent named by
    /// `SSH_AUTH_SOCK`. A private key file readable by group or others is refused, as ssh does.
    pub fn open(path: &Path) -> Result<Signer, KeyError> {
        let _ = path;
        todo!("identity helper")
    }
    pub fn public_key(&self) -> PublicKey {
        todo!("identity helper")
    }
    /// Signs `message` (SHA-512, namespace `writ`), as `ssh-keygen -Y sign -n writ` does.
    pub fn sign(&self, message: &[u8]) -> Result<Signature, KeyError> {
        let _ = message;
        todo!("identity helper")
    }
}

/// Makes a new ed25519 key pair as `ssh-keygen -t ed25519 -N ''` does: `out` (the private key,
/// OpenSSH format, created 0600, never overwriting a file) and `out.pub`.
pub fn keygen(out: &Path, comment: &str) -> Result<PublicKey, KeyError> {
    let _ = (out, comment);
    todo!("identity helper")
}
