//! The registry of people: an OpenSSH `allowed_signers` file (`man ssh-keygen`, "ALLOWED
//! SIGNERS"), principal = person name.

/// An SSH public key (any algorithm the crate supports: ed25519, ecdsa, rsa, sk- keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    _todo: (),
}

impl PublicKey {
    /// Parses one OpenSSH public key line (`ssh-ed25519 AAAA... comment`).
    pub fn from_openssh(text: &str) -> Result<PublicKey, SignersError> {
        let _ = text;
        todo!("identity helper")
    }
    /// The key in OpenSSH form, without its comment (`ssh-ed25519 AAAA...`).
    pub fn to_openssh(&self) -> String {
        todo!("identity helper")
    }
    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        todo!("identity helper")
    }
}

/// A line of the file that could not be read: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SignersError {
    /// 1-based line of the file (0 when the error is not about one line).
    pub line: usize,
    pub message: String,
}

/// One entry: the principals a key stands for, and the options that limit it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Exact principal names (patterns with `*` or `?` are refused when parsing: a registry
    /// of people names each person).
    pub principals: Vec<String>,
    pub key: PublicKey,
    /// `namespaces="..."`: the entry holds only for these (None: every namespace).
    pub namespaces: Option<Vec<String>>,
    /// `valid-after` / `valid-before`, as Unix seconds (UTC).
    pub valid_after: Option<i64>,
    pub valid_before: Option<i64>,
    /// Where it stands in the file (1-based).
    pub line: usize,
}

/// A parsed `allowed_signers` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedSigners {
    entries: Vec<Entry>,
}

impl AllowedSigners {
    /// Parses the file's text; every malformed line is an error naming its line.
    /// `cert-authority` entries are refused (writ names people's own keys).
    pub fn parse(text: &str) -> Result<AllowedSigners, SignersError> {
        let _ = text;
        todo!("identity helper")
    }
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
    /// The principals `key` stands for in `namespace` at `at_unix` (seconds), by every entry
    /// that names the key and holds then.
    pub fn principals_for(&self, key: &PublicKey, namespace: &str, at_unix: i64) -> Vec<&str> {
        let _ = (key, namespace, at_unix);
        todo!("identity helper")
    }
}
