//! SSHSIG signatures (OpenSSH's PROTOCOL.sshsig), armored as `-----BEGIN SSH SIGNATURE-----`.

use super::signers::{AllowedSigners, PublicKey};

/// A parsed signature, with the armored text it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    _todo: (),
}

/// A signature that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signature cannot be read: {0}")]
pub struct SignatureError(pub String);

impl Signature {
    /// Parses an armored SSHSIG (truncated, altered or foreign text is an error).
    pub fn parse(armored: &str) -> Result<Signature, SignatureError> {
        let _ = armored;
        todo!("identity helper")
    }
    /// The armored text, as `ssh-keygen -Y sign` writes it (ends with a newline).
    pub fn armored(&self) -> &str {
        todo!("identity helper")
    }
    /// The key that made it (not yet trusted: see [`verify`]).
    pub fn public_key(&self) -> PublicKey {
        todo!("identity helper")
    }
}

/// A signature that holds: whose key made it and who that key is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub key: PublicKey,
    /// The principals the key stands for now (at least one).
    pub principals: Vec<String>,
}

/// Why a signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature is for namespace `{0}`, not `writ`")]
    Namespace(String),
    #[error("the signature does not match the signed bytes")]
    Mismatch,
    #[error("the key {fingerprint} is not in the registry")]
    UnknownKey { fingerprint: String },
    #[error("the key {fingerprint} is not valid at this time (valid-after/valid-before)")]
    OutsideValidity { fingerprint: String },
    #[error("the signature uses a hash or algorithm writ does not accept: {0}")]
    Unsupported(String),
}

/// Verifies `signature` over `message` in namespace `writ` against `signers` at `at_unix`
/// (seconds): the signature must be valid for the key it names and that key must stand for at
/// least one principal then. What `ssh-keygen -Y verify -n writ` accepts, this accepts.
pub fn verify(
    signers: &AllowedSigners,
    message: &[u8],
    signature: &Signature,
    at_unix: i64,
) -> Result<Verified, VerifyError> {
    let _ = (signers, message, signature, at_unix);
    todo!("identity helper")
}
