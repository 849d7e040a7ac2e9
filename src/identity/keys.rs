//! Signing keys: an OpenSSH private key file, or a public key whose private half ssh-agent
//! holds (`SSH_AUTH_SOCK`), as `ssh-keygen -Y sign -f KEY` takes; and new ed25519 key pairs.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use signature::{SignatureEncoding as _, Signer as _};
use ssh_key::private::RsaKeypair;
use ssh_key::public::KeyData;
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, HashAlg, LineEnding, Mpint, PrivateKey, SshSig};

use super::NAMESPACE;
use super::signers::PublicKey;
use super::sshsig::{Signature, check_signature};

/// Why a key cannot sign, or a key pair cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the key `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error(
        "the key `{path}` is encrypted; load it into ssh-agent (`ssh-add {path}`) and pass its `.pub` file"
    )]
    Encrypted { path: String },
    #[error(
        "the private key `{path}` is readable by others (mode {mode:04o}); ssh refuses such \
         keys too: `chmod 600 {path}`"
    )]
    Permissions { path: String, mode: u32 },
    #[error("`{path}` is a public key and ssh-agent does not hold its private half: {reason}")]
    Agent { path: String, reason: String },
    #[error("cannot sign: {0}")]
    Sign(String),
    #[error("cannot write `{path}`: {reason}")]
    Write { path: String, reason: String },
}

/// How long writ waits on ssh-agent before giving up (an agent asking for a touch or a PIN
/// may take a while; one that never answers must not hang a decision forever).
const AGENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Something that signs statements in namespace `writ`.
pub struct Signer {
    public: PublicKey,
    how: Backend,
}

enum Backend {
    File(Box<PrivateKey>),
    Agent {
        socket: PathBuf,
        key: ssh_key::PublicKey,
    },
}

impl Signer {
    /// Opens `path`: an unencrypted OpenSSH private key file, or a public key file (`.pub`, or
    /// any file holding one public key line) whose private half is in the agent named by
    /// `SSH_AUTH_SOCK`. A private key file readable by group or others is refused, as ssh does.
    pub fn open(path: &Path) -> Result<Signer, KeyError> {
        let socket = std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from);
        Signer::open_with_agent(path, socket.as_deref())
    }

    /// [`Signer::open`] with the agent's socket given (None: no agent), so callers and tests
    /// need not change the process environment.
    pub fn open_with_agent(path: &Path, agent: Option<&Path>) -> Result<Signer, KeyError> {
        let shown = path.display().to_string();
        let read_error = |reason: String| KeyError::Read {
            path: shown.clone(),
            reason,
        };
        let text = fs::read_to_string(path).map_err(|e| read_error(e.to_string()))?;
        if text.trim_start().starts_with("-----BEGIN") {
            let key = load_private(path, &text)?;
            let public = PublicKey::from_key_data(key.public_key().key_data().clone());
            return Ok(Signer {
                public,
                how: Backend::File(Box::new(key)),
            });
        }
        let public = PublicKey::from_openssh(text.trim()).map_err(|e| {
            read_error(format!(
                "neither an OpenSSH private key nor a public key line ({})",
                e.message
            ))
        })?;
        let socket = agent.ok_or_else(|| KeyError::Agent {
            path: shown.clone(),
            reason: "SSH_AUTH_SOCK is not set (start ssh-agent and `ssh-add` the private key)"
                .to_owned(),
        })?;
        let key = ssh_key::PublicKey::new(public.key_data().clone(), "");
        let held = agent_holds(socket, &key).map_err(|reason| KeyError::Agent {
            path: shown.clone(),
            reason,
        })?;
        if !held {
            return Err(KeyError::Agent {
                path: shown,
                reason: format!(
                    "the agent at `{}` does not hold {} (`ssh-add` its private key)",
                    socket.display(),
                    public.fingerprint()
                ),
            });
        }
        Ok(Signer {
            public,
            how: Backend::Agent {
                socket: socket.to_owned(),
                key,
            },
        })
    }

    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// Signs `message` (SHA-512, namespace `writ`), as `ssh-keygen -Y sign -n writ` does.
    pub fn sign(&self, message: &[u8]) -> Result<Signature, KeyError> {
        let sig = match &self.how {
            Backend::File(key) => match key.key_data().rsa() {
                Some(rsa_key) => sign_rsa(rsa_key, message)?,
                None => key
                    .sign(NAMESPACE, HashAlg::Sha512, message)
                    .map_err(|e| KeyError::Sign(e.to_string()))?,
            },
            Backend::Agent { socket, key } => agent_sign(socket, key, message)?,
        };
        let signature = Signature::from_sshsig(sig).map_err(|e| KeyError::Sign(e.0))?;
        // The agent is another process and could answer with anything: a signature writ hands
        // out must verify (one check per signing, cheap next to the signing itself).
        check_signature(message, &signature)
            .map_err(|e| KeyError::Sign(format!("the signature made does not verify: {e}")))?;
        Ok(signature)
    }
}

/// An SSHSIG with an RSA key file (rsa-sha2-512), the RSA key built from all its parts: ssh-key
/// 0.6.7's own conversion passes `p` where `q` belongs, so its RSA signing always fails.
fn sign_rsa(key: &RsaKeypair, message: &[u8]) -> Result<SshSig, KeyError> {
    let error = |e: String| KeyError::Sign(format!("RSA: {e}"));
    let int = |m: &Mpint| {
        m.as_positive_bytes()
            .map(rsa::BigUint::from_bytes_be)
            .ok_or_else(|| error("a negative number in the key".to_owned()))
    };
    let private = rsa::RsaPrivateKey::from_components(
        int(&key.public.n)?,
        int(&key.public.e)?,
        int(&key.private.d)?,
        vec![int(&key.private.p)?, int(&key.private.q)?],
    )
    .map_err(|e| error(e.to_string()))?;
    let data = SshSig::signed_data(NAMESPACE, HashAlg::Sha512, message)
        .map_err(|e| error(e.to_string()))?;
    let raw = rsa::pkcs1v15::SigningKey::<ssh_key::sha2::Sha512>::new(private)
        .try_sign(&data)
        .map_err(|e| error(e.to_string()))?;
    let signature = ssh_key::Signature::new(
        Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        },
        raw.to_vec(),
    )
    .map_err(|e| error(e.to_string()))?;
    SshSig::new(
        KeyData::Rsa(key.public.clone()),
        NAMESPACE,
        HashAlg::Sha512,
        signature,
    )
    .map_err(|e| error(e.to_string()))
}

/// Reads an OpenSSH private key file: owner-only permissions, unencrypted.
pub(crate) fn load_private(path: &Path, text: &str) -> Result<PrivateKey, KeyError> {
    let shown = path.display().to_string();
    let mode = fs::metadata(path)
        .map_err(|e| KeyError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?
        .permissions()
        .mode();
    // INVARIANT: as ssh's sshkey_perm_ok: any group or other bit refuses the key.
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: shown,
            mode: mode & 0o7777,
        });
    }
    let key = PrivateKey::from_openssh(text.trim()).map_err(|e| KeyError::Read {
        path: shown.clone(),
        reason: format!(
            "not an OpenSSH private key ({e}); PEM keys convert with `ssh-keygen -p -f {shown}`"
        ),
    })?;
    if key.is_encrypted() {
        return Err(KeyError::Encrypted { path: shown });
    }
    Ok(key)
}

fn connect(socket: &Path) -> Result<ssh_agent_client_rs::Client, String> {
    let stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot reach ssh-agent at `{}`: {e}", socket.display()))?;
    stream
        .set_read_timeout(Some(AGENT_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(AGENT_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    Ok(ssh_agent_client_rs::Client::with_read_write(Box::new(
        stream,
    )))
}

fn agent_holds(socket: &Path, key: &ssh_key::PublicKey) -> Result<bool, String> {
    let identities = connect(socket)?
        .list_all_identities()
        .map_err(|e| format!("ssh-agent did not list its keys: {e}"))?;
    Ok(identities.iter().any(|identity| match identity {
        ssh_agent_client_rs::Identity::PublicKey(held) => held.key_data() == key.key_data(),
        ssh_agent_client_rs::Identity::Certificate(_) => false,
    }))
}

/// Asks the agent to sign SSHSIG's signed-data blob (the client sets the RSA SHA-512 flag).
fn agent_sign(socket: &Path, key: &ssh_key::PublicKey, message: &[u8]) -> Result<SshSig, KeyError> {
    let data = SshSig::signed_data(NAMESPACE, HashAlg::Sha512, message)
        .map_err(|e| KeyError::Sign(e.to_string()))?;
    let raw = connect(socket)
        .map_err(KeyError::Sign)?
        .sign(key, &data)
        .map_err(|e| KeyError::Sign(format!("ssh-agent refused to sign: {e}")))?;
    SshSig::new(key.key_data().clone(), NAMESPACE, HashAlg::Sha512, raw)
        .map_err(|e| KeyError::Sign(e.to_string()))
}

/// Makes a new ed25519 key pair as `ssh-keygen -t ed25519 -N ''` does: `out` (the private key,
/// OpenSSH format, created 0600, never overwriting a file) and `out.pub`.
pub fn keygen(out: &Path, comment: &str) -> Result<PublicKey, KeyError> {
    let key = new_ed25519(comment)?;
    write_pair(out, &key)?;
    Ok(PublicKey::from_key_data(
        key.public_key().key_data().clone(),
    ))
}

pub(crate) fn new_ed25519(comment: &str) -> Result<PrivateKey, KeyError> {
    let mut key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519)
        .map_err(|e| KeyError::Sign(format!("cannot make a key: {e}")))?;
    key.set_comment(comment);
    Ok(key)
}

/// Writes `out` (0600, `create_new`) and `out.pub` (0644, `create_new`). Both names are checked
/// first so a refusal leaves nothing behind; a failure on the second removes the first.
pub(crate) fn write_pair(out: &Path, key: &PrivateKey) -> Result<(), KeyError> {
    let mut public_path = out.as_os_str().to_owned();
    public_path.push(".pub");
    let public_path = PathBuf::from(public_path);
    let write_error = |path: &Path, reason: String| KeyError::Write {
        path: path.display().to_string(),
        reason,
    };
    for path in [out, public_path.as_path()] {
        if path.symlink_metadata().is_ok() {
            return Err(write_error(
                path,
                "the file exists; writ never overwrites a key".to_owned(),
            ));
        }
    }
    let private = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| write_error(out, e.to_string()))?;
    let mut public = key
        .public_key()
        .to_openssh()
        .map_err(|e| write_error(&public_path, e.to_string()))?;
    public.push('\n');
    create_new(out, 0o600, private.as_bytes()).map_err(|e| write_error(out, e.to_string()))?;
    if let Err(e) = create_new(&public_path, 0o644, public.as_bytes()) {
        let _ = fs::remove_file(out);
        return Err(write_error(&public_path, e.to_string()));
    }
    Ok(())
}

fn create_new(path: &Path, mode: u32, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
