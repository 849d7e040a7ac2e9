//! SSHSIG signatures (OpenSSH's PROTOCOL.sshsig), armored as `-----BEGIN SSH SIGNATURE-----`.

use ssh_encoding::{Decode, Encode};
use ssh_key::{Algorithm, HashAlg, LineEnding, SshSig};

use super::NAMESPACE;
use super::signers::{AllowedSigners, PublicKey};

/// A parsed signature, with the armored text it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The armor as ssh-keygen writes it (re-encoded from `sig`, so two spellings of one
    /// signature, CRLF or LF, are one value).
    armored: String,
    sig: SshSig,
}

/// A signature that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signature cannot be read: {0}")]
pub struct SignatureError(pub String);

impl Signature {
    /// Parses an armored SSHSIG (truncated, altered or foreign text is an error).
    pub fn parse(armored: &str) -> Result<Signature, SignatureError> {
        let text = armored.trim();
        if !text.starts_with("-----BEGIN SSH SIGNATURE-----") {
            return Err(SignatureError(
                "expected `-----BEGIN SSH SIGNATURE-----` (what `ssh-keygen -Y sign` writes)"
                    .to_owned(),
            ));
        }
        let sig = SshSig::from_pem(text).map_err(|e| SignatureError(e.to_string()))?;
        Signature::from_sshsig(sig)
    }
    /// Reads the binary SSHSIG blob (the armor's base64 content).
    pub fn from_bytes(bytes: &[u8]) -> Result<Signature, SignatureError> {
        let mut reader = bytes;
        let sig = SshSig::decode(&mut reader).map_err(|e| SignatureError(e.to_string()))?;
        if !reader.is_empty() {
            return Err(SignatureError("bytes follow the signature".to_owned()));
        }
        Signature::from_sshsig(sig)
    }
    /// The binary SSHSIG blob (what the armor holds in base64).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.sig.encode(&mut out) {
            Ok(()) => out,
            Err(_) => Vec::new(),
        }
    }
    pub(crate) fn from_sshsig(sig: SshSig) -> Result<Signature, SignatureError> {
        let armored = sig
            .to_pem(LineEnding::LF)
            .map_err(|e| SignatureError(e.to_string()))?;
        Ok(Signature { armored, sig })
    }
    /// The armored text, as `ssh-keygen -Y sign` writes it (ends with a newline).
    pub fn armored(&self) -> &str {
        &self.armored
    }
    /// The key that made it (not yet trusted: see [`verify`]).
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_key_data(self.sig.public_key().clone())
    }
    /// The namespace it was made for (writ accepts only `writ`).
    pub fn namespace(&self) -> &str {
        self.sig.namespace()
    }
    pub(crate) fn sshsig(&self) -> &SshSig {
        &self.sig
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
    #[error(
        "the key {fingerprint} is in the registry, but its `namespaces` option does not allow \
         `writ` (add `writ` to it)"
    )]
    NamespaceNotAllowed { fingerprint: String },
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
    let key = check_signature(message, signature)?;
    let principals = signers.principals_for(&key, NAMESPACE, at_unix);
    if principals.is_empty() {
        return Err(why_no_principal(signers, &key));
    }
    let principals = principals.into_iter().map(str::to_owned).collect();
    Ok(Verified { key, principals })
}

/// The cryptographic half of [`verify`]: namespace `writ`, an accepted hash and algorithm,
/// and a signature that holds for the key it embeds. Returns that (still untrusted) key.
pub(crate) fn check_signature(
    message: &[u8],
    signature: &Signature,
) -> Result<PublicKey, VerifyError> {
    let sig = signature.sshsig();
    if sig.namespace() != NAMESPACE {
        return Err(VerifyError::Namespace(sig.namespace().to_owned()));
    }
    // INVARIANT: HashAlg has only SHA-256 and SHA-512, the two PROTOCOL.sshsig allows; the
    // match keeps that visible should the crate add one.
    match sig.hash_alg() {
        HashAlg::Sha256 | HashAlg::Sha512 => {}
        other => return Err(VerifyError::Unsupported(other.to_string())),
    }
    if sig.algorithm() == (Algorithm::Rsa { hash: None }) {
        // ssh-keygen refuses SHA-1 RSA signatures (`ssh-rsa`) in SSHSIG.
        return Err(VerifyError::Unsupported("ssh-rsa (SHA-1)".to_owned()));
    }
    let key = ssh_key::PublicKey::new(sig.public_key().clone(), "");
    key.verify(NAMESPACE, message, sig).map_err(|e| match e {
        ssh_key::Error::AlgorithmUnknown | ssh_key::Error::AlgorithmUnsupported { .. } => {
            VerifyError::Unsupported(sig.algorithm().to_string())
        }
        _ => VerifyError::Mismatch,
    })?;
    Ok(PublicKey::from_key_data(sig.public_key().clone()))
}

/// Says why a key with a good signature stands for nobody: absent, barred from `writ` by
/// `namespaces`, or outside its validity.
fn why_no_principal(signers: &AllowedSigners, key: &PublicKey) -> VerifyError {
    let fingerprint = key.fingerprint();
    let mut entries = signers.entries_for(key).peekable();
    if entries.peek().is_none() {
        return VerifyError::UnknownKey { fingerprint };
    }
    if entries.any(|entry| entry.allows_namespace(NAMESPACE)) {
        VerifyError::OutsideValidity { fingerprint }
    } else {
        VerifyError::NamespaceNotAllowed { fingerprint }
    }
}
