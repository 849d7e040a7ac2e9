//! The registry: people, their roles, their keys (an OpenSSH `allowed_signers` text) and how
//! they are identified. Its hash is what the store pins.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::TrustError;
use crate::identity::AllowedSigners;
use crate::runtime::config::{Config, Identity};

/// The most bytes an `allowed_signers` file may hold.
const MAX_SIGNERS_BYTES: u64 = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    pub identity: Identity,
    /// Person -> roles.
    pub people: BTreeMap<String, Vec<String>>,
    /// The `allowed_signers` entries, one per line as written, without comments and blank
    /// lines (so a comment edit is not a registry change). Empty under `identity: asserted`.
    pub signers: Vec<String>,
}

impl Registry {
    /// The registry a config names: its people and the signers file's entries.
    pub fn from_config(config: &Config) -> Result<Registry, TrustError> {
        refuse_writable_by_others(&config.path, "the config")?;
        let signers = match (&config.signers, config.identity) {
            (Some(path), _) => read_signers(path)?,
            (None, Identity::Asserted) => Vec::new(),
            (None, Identity::Signed) => {
                return Err(TrustError::help(
                    "the config names no `signers` file: people act only through signed \
                     statements",
                    "add `signers: allowed_signers` to writ.yaml (an OpenSSH allowed_signers \
                     file, principal = person; `writ init` makes one), or `identity: asserted` \
                     for development only",
                ));
            }
        };
        Ok(Registry {
            identity: config.identity,
            people: config.people.clone(),
            signers,
        })
    }

    /// SHA-256 of the registry (`writ-registry-v1`): what the store pins.
    pub fn hash(&self) -> String {
        crate::digest::json_sha256("writ-registry-v1\n", self)
    }

    /// The keys, parsed.
    pub fn allowed(&self) -> Result<AllowedSigners, TrustError> {
        AllowedSigners::parse(&self.signers.join("\n"))
            .map_err(|e| TrustError::Refused(format!("the recorded signers do not parse: {e}")))
    }

    pub fn roles_of(&self, person: &str) -> Option<&[String]> {
        self.people.get(person).map(Vec::as_slice)
    }

    pub fn has_role(&self, person: &str, role: &str) -> bool {
        self.roles_of(person)
            .is_some_and(|roles| roles.iter().any(|r| r == role))
    }

    /// What differs from `other`, in words (for the refusal that names a changed registry).
    pub fn differences(&self, other: &Registry) -> Vec<String> {
        let mut out = Vec::new();
        if self.identity != other.identity {
            out.push(format!(
                "identity `{}` -> `{}`",
                self.identity.as_str(),
                other.identity.as_str()
            ));
        }
        for (person, roles) in &other.people {
            match self.people.get(person) {
                None => out.push(format!("new person `{person}`")),
                Some(old) if old != roles => out.push(format!("roles of `{person}`")),
                Some(_) => {}
            }
        }
        for person in self.people.keys() {
            if !other.people.contains_key(person) {
                out.push(format!("`{person}` removed"));
            }
        }
        if self.signers != other.signers {
            out.push("the signers' keys".to_owned());
        }
        out
    }
}

/// The entries of an `allowed_signers` file, checked: it must parse, and nobody but its owner
/// may write it.
fn read_signers(path: &Path) -> Result<Vec<String>, TrustError> {
    refuse_writable_by_others(path, "the signers file")?;
    let text = read_bounded(path, MAX_SIGNERS_BYTES)?;
    let parsed = AllowedSigners::parse(&text).map_err(|e| {
        TrustError::help(
            format!("the signers file `{}`, {e}", path.display()),
            "each line: `PERSON[,PERSON...] [options] KEYTYPE BASE64 [comment]`, as \
             `man ssh-keygen` (ALLOWED SIGNERS) describes",
        )
    })?;
    // Four eyes and quorums count people by the key's principal: a key that stands for two
    // people would let one holder start a run and confirm it, or sign a quorum twice.
    for entry in parsed.entries() {
        let people: BTreeSet<&str> = parsed
            .entries_for(&entry.key)
            .flat_map(|e| e.principals.iter().map(String::as_str))
            .collect();
        if people.len() > 1 {
            return Err(TrustError::help(
                format!(
                    "the signers file `{}`, line {}: the key {} stands for {}; a key stands for \
                     one person only",
                    path.display(),
                    entry.line,
                    entry.key.fingerprint(),
                    people.into_iter().collect::<Vec<_>>().join(", ")
                ),
                "give each person their own key (`writ keygen --out FILE`)",
            ));
        }
    }
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

fn read_bounded(path: &Path, limit: u64) -> Result<String, TrustError> {
    use std::io::Read;
    let failed =
        |e: std::io::Error| TrustError::Io(format!("cannot read `{}`: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(failed)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > limit {
        return Err(TrustError::Io(format!(
            "`{}` is larger than {limit} bytes",
            path.display()
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| TrustError::Io(format!("`{}` is not UTF-8 text", path.display())))
}

/// A file anyone but its owner may write grants nothing: refused, naming the fix.
pub fn refuse_writable_by_others(path: &Path, what: &str) -> Result<(), TrustError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(()); // a missing file is reported by whoever reads it
    };
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(TrustError::help(
            format!(
                "{what} `{}` may be written by other users (mode {:o}); writ trusts nothing in it",
                path.display(),
                meta.permissions().mode() & 0o777
            ),
            format!("`chmod go-w {}`", path.display()),
        ));
    }
    Ok(())
}
