//! Who acted: people's signed statements, the registry of their keys, and the runner's signed
//! checkpoints of the audit chain.
//!
//! A person acts only through a statement: a JSON object in RFC 8785 canonical form
//! ([`canonical`]) signed with the person's SSH key in the SSHSIG format, namespace `writ`
//! ([`sshsig`]), exactly what `ssh-keygen -Y sign -n writ` makes, so anyone can check one
//! offline with `ssh-keygen -Y verify`. The registry of people is an OpenSSH `allowed_signers`
//! file ([`signers`]). [`keys`] signs with a private key file or through ssh-agent and makes
//! new key pairs; [`note`] writes and reads checkpoints as C2SP signed notes.
//!
//! This module knows nothing of runs, stores or workflows: it turns bytes into verified
//! principals and back.

pub mod canonical;
pub mod keys;
pub mod note;
pub mod signers;
pub mod sshsig;

/// The SSHSIG namespace of every signature writ makes or accepts (`ssh-keygen -Y ... -n writ`).
pub const NAMESPACE: &str = "writ";

pub use keys::{KeyError, Signer, keygen};
pub use signers::{AllowedSigners, PublicKey, SignersError};
pub use sshsig::{Signature, SignatureError, Verified, VerifyError, verify};
