//! Checkpoints of the audit chain as C2SP signed notes (c2sp.org/signed-note): a text body and
//! one signature line per signer, `— NAME BASE64(key hash || signature)`.
//!
//! The runner signs with an ed25519 key of its own (Ed25519 note signatures, type 0x01); a
//! person may cosign as a witness with their SSH key (an SSHSIG over the note text, in a
//! signature line whose key hash is taken with the experimental type byte 0xff, which other
//! note verifiers ignore).
//!
//! # Layout
//!
//! ```text
//! ORIGIN\n                      the body: exactly these three lines
//! COUNT\n                       decimal, no leading zeros
//! HEAD\n                        64 lower-case hex digits
//! \n
//! — RUNNER BASE64(H1 || S1)\n   the runner's line (U+2014, space, name, space, base64)
//! — PERSON BASE64(H2 || S2)\n   zero or more cosignatures
//! ```
//!
//! - `H1` = SHA-256(RUNNER || 0x0A || 0x01 || ed25519 public key, 32 bytes)[0..4], and `S1` the
//!   64-byte Ed25519 signature of the body (the three lines, final new line included), as the
//!   signed-note spec defines for Ed25519 keys.
//! - `H2` = SHA-256(PERSON || 0x0A || 0xFF || the person's SSH public key in SSH wire form)
//!   [0..4], and `S2` the binary SSHSIG (namespace `writ`, SHA-512) of the body: the bytes
//!   that `ssh-keygen -Y sign -n writ` armors. So base64-decoding `S2`, armoring it and running
//!   `ssh-keygen -Y verify -n writ -I PERSON` over the body checks a cosignature offline.
//!
//! A line whose key hash matches neither the runner key nor the SSH key its SSHSIG names is
//! ignored (another verifier's signature, as the spec allows); a line that matches but does not
//! verify refuses the note.

use std::path::Path;

use sha2::{Digest, Sha256};
use signature::{Signer as _, Verifier as _};
use ssh_encoding::base64::{Base64, Encoding as _};
use ssh_key::{Algorithm, PrivateKey};

use super::NAMESPACE;
use super::keys::{KeyError, Signer, load_private, new_ed25519, write_pair};
use super::signers::{AllowedSigners, PublicKey};
use super::sshsig::{Signature, check_signature};

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

/// The runner's own key (ed25519, an OpenSSH private key file, 0600). Its comment is the
/// name its note signatures carry.
pub struct RunnerKey {
    key: PrivateKey,
    name: String,
}

/// Signature-type bytes of the key hash (c2sp.org/signed-note).
const TYPE_ED25519: u8 = 0x01;
const TYPE_SSHSIG: u8 = 0xff;
/// The em dash and space that open every signature line.
const LINE_START: &str = "\u{2014} ";
/// The most signature lines read (Go's note package stops at 100 too).
const MAX_SIGNATURES: usize = 100;

impl RunnerKey {
    /// Creates a new runner key at `path` (never overwriting a file), with `path.pub` beside it.
    /// `name` (non-empty, no white space, no `+`) names its signature lines.
    pub fn create(path: &Path, name: &str) -> Result<RunnerKey, KeyError> {
        check_name(name).map_err(|reason| KeyError::Write {
            path: path.display().to_string(),
            reason,
        })?;
        let key = new_ed25519(name)?;
        write_pair(path, &key)?;
        Ok(RunnerKey {
            key,
            name: name.to_owned(),
        })
    }
    pub fn load(path: &Path) -> Result<RunnerKey, KeyError> {
        let shown = path.display().to_string();
        let read_error = |reason: String| KeyError::Read {
            path: shown.clone(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| read_error(e.to_string()))?;
        let key = load_private(path, &text)?;
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(read_error(format!(
                "a runner key is ed25519, this one is {}",
                key.algorithm()
            )));
        }
        let name = key.comment().to_owned();
        check_name(&name).map_err(|reason| read_error(format!("its comment: {reason}")))?;
        Ok(RunnerKey { key, name })
    }
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_key_data(self.key.public_key().key_data().clone())
    }
    /// The name on the runner's signature lines (the key file's comment).
    pub fn name(&self) -> &str {
        &self.name
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
    let body = body_text(checkpoint).map_err(KeyError::Sign)?;
    let keypair = runner
        .key
        .key_data()
        .ed25519()
        .ok_or_else(|| KeyError::Sign("the runner key is not ed25519".to_owned()))?;
    let signature = keypair
        .try_sign(body.as_bytes())
        .map_err(|e| KeyError::Sign(e.to_string()))?;
    let mut bytes = key_hash(&runner.name, TYPE_ED25519, &keypair.public.0).to_vec();
    bytes.extend_from_slice(signature.as_bytes());
    Ok(format!("{body}\n{}", signature_line(&runner.name, &bytes)))
}

/// Adds `person`'s cosignature line to a signed note.
pub fn cosign(note: &str, person: &str, signer: &Signer) -> Result<String, KeyError> {
    check_name(person).map_err(KeyError::Sign)?;
    let parts =
        split_note(note).map_err(|e| KeyError::Sign(format!("the note cannot be read: {e}")))?;
    parse_body(parts.body).map_err(|e| KeyError::Sign(format!("the note cannot be read: {e}")))?;
    let signature = signer.sign(parts.body.as_bytes())?;
    let public = signer.public_key();
    let mut bytes = key_hash(person, TYPE_SSHSIG, &public.to_wire()).to_vec();
    bytes.extend_from_slice(&signature.to_bytes());
    Ok(format!("{note}{}", signature_line(person, &bytes)))
}

/// Reads a note, checks the runner's signature with `runner` and every cosignature against
/// `signers` at `at_unix`. Unknown signature lines are ignored, as the spec says.
pub fn verify(
    note: &str,
    runner: &PublicKey,
    signers: &AllowedSigners,
    at_unix: i64,
) -> Result<VerifiedNote, NoteError> {
    let parts = split_note(note).map_err(NoteError::Malformed)?;
    let checkpoint = parse_body(parts.body).map_err(NoteError::Malformed)?;
    let runner_key = runner
        .key_data()
        .ed25519()
        .ok_or_else(|| NoteError::NotSigned("the runner key given is not ed25519".to_owned()))?;
    let mut runner_signed = false;
    let mut cosigners: Vec<String> = Vec::new();
    for line in parts.signatures {
        let (name, bytes) = parse_signature_line(line).map_err(NoteError::Malformed)?;
        let Some((hash, rest)) = bytes.split_first_chunk::<4>() else {
            continue;
        };
        if *hash == key_hash(name, TYPE_ED25519, &runner_key.0) {
            let signature = ssh_key::Signature::new(Algorithm::Ed25519, rest.to_vec())
                .map_err(|e| NoteError::NotSigned(format!("`{name}`'s line: {e}")))?;
            runner_key
                .verify(parts.body.as_bytes(), &signature)
                .map_err(|_| {
                    NoteError::NotSigned(format!("`{name}`'s signature does not match the body"))
                })?;
            runner_signed = true;
        } else if let Some(person) =
            check_cosignature(name, hash, rest, parts.body, signers, at_unix)?
            && !cosigners.contains(&person)
        {
            cosigners.push(person);
        }
    }
    if !runner_signed {
        return Err(NoteError::NotSigned(
            "no signature line of the runner key".to_owned(),
        ));
    }
    Ok(VerifiedNote {
        checkpoint,
        cosigners,
    })
}

/// A cosignature line names `name`; `Ok(None)` when the line is not one (someone else's
/// signature type), `Ok(Some(name))` when it holds for a key the registry gives that name.
fn check_cosignature(
    name: &str,
    hash: &[u8; 4],
    rest: &[u8],
    body: &str,
    signers: &AllowedSigners,
    at_unix: i64,
) -> Result<Option<String>, NoteError> {
    if !rest.starts_with(b"SSHSIG") {
        return Ok(None);
    }
    let Ok(signature) = Signature::from_bytes(rest) else {
        return Ok(None);
    };
    let key = signature.public_key();
    if *hash != key_hash(name, TYPE_SSHSIG, &key.to_wire()) {
        return Ok(None);
    }
    let fail = |why: String| NoteError::Cosignature(format!("`{name}`: {why}"));
    check_signature(body.as_bytes(), &signature).map_err(|e| fail(e.to_string()))?;
    if !signers
        .principals_for(&key, NAMESPACE, at_unix)
        .contains(&name)
    {
        return Err(fail(format!(
            "the key {} does not stand for `{name}` in the registry now",
            key.fingerprint()
        )));
    }
    Ok(Some(name.to_owned()))
}

struct NoteParts<'a> {
    /// The text before the blank line, its final new line included: what is signed.
    body: &'a str,
    signatures: Vec<&'a str>,
}

fn split_note(note: &str) -> Result<NoteParts<'_>, String> {
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err("the note holds a control character".to_owned());
    }
    let Some(end) = note.rfind("\n\n") else {
        return Err("no blank line between the body and the signatures".to_owned());
    };
    let (body, tail) = note.split_at(end + 1);
    let signatures = tail
        .strip_prefix('\n')
        .and_then(|lines| lines.strip_suffix('\n'))
        .ok_or_else(|| "the note does not end with a new line".to_owned())?;
    if signatures.is_empty() {
        return Err("the note has no signature line".to_owned());
    }
    let signatures: Vec<&str> = signatures.split('\n').collect();
    if signatures.len() > MAX_SIGNATURES {
        return Err(format!("more than {MAX_SIGNATURES} signature lines"));
    }
    Ok(NoteParts { body, signatures })
}

fn body_text(checkpoint: &Checkpoint) -> Result<String, String> {
    let body = format!(
        "{}\n{}\n{}\n",
        checkpoint.origin, checkpoint.count, checkpoint.head
    );
    parse_body(&body)?;
    Ok(body)
}

fn parse_body(body: &str) -> Result<Checkpoint, String> {
    let lines: Vec<&str> = body
        .strip_suffix('\n')
        .unwrap_or(body)
        .split('\n')
        .collect();
    let [origin, count, head] = lines.as_slice() else {
        return Err(format!(
            "the body has {} lines, a checkpoint has three (origin, count, head)",
            lines.len()
        ));
    };
    if origin.trim().is_empty() || origin.trim() != *origin {
        return Err("the origin line is empty or has white space around it".to_owned());
    }
    let well_formed_count = !count.is_empty()
        && count.bytes().all(|b| b.is_ascii_digit())
        && (*count == "0" || !count.starts_with('0'));
    let count = count
        .parse::<u64>()
        .ok()
        .filter(|_| well_formed_count)
        .ok_or_else(|| format!("the count `{count}` is not a decimal number"))?;
    if head.len() != 64 || !head.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!("the head `{head}` is not 64 lower-case hex digits"));
    }
    Ok(Checkpoint {
        origin: (*origin).to_owned(),
        count,
        head: (*head).to_owned(),
    })
}

/// `— NAME BASE64` → the name and the decoded bytes (at least a key hash and one byte).
fn parse_signature_line(line: &str) -> Result<(&str, Vec<u8>), String> {
    let rest = line
        .strip_prefix(LINE_START)
        .ok_or_else(|| format!("the signature line `{line}` does not start with `— `"))?;
    let (name, encoded) = rest
        .split_once(' ')
        .ok_or_else(|| format!("the signature line `{line}` has no name"))?;
    check_name(name)?;
    let bytes = Base64::decode_vec(encoded)
        .map_err(|_| format!("the signature of `{name}` is not base64"))?;
    if bytes.len() <= 4 {
        return Err(format!("the signature of `{name}` is too short"));
    }
    Ok((name, bytes))
}

fn signature_line(name: &str, bytes: &[u8]) -> String {
    format!("{LINE_START}{name} {}\n", Base64::encode_string(bytes))
}

/// The signed-note key hash: SHA-256(name || '\n' || type || key)[0..4].
fn key_hash(name: &str, kind: u8, key: &[u8]) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([kind])
        .chain_update(key)
        .finalize();
    let mut hash = [0u8; 4];
    for (out, byte) in hash.iter_mut().zip(digest.iter()) {
        *out = *byte;
    }
    hash
}

/// A key name per the signed-note spec: non-empty, no white space, no `+`.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(format!(
            "`{name}` cannot name a note signature (it must be non-empty, without white space or `+`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_matches_the_spec_example() {
        // c2sp.org/signed-note's example key `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`.
        let decoded = Base64::decode_vec("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
        let (kind, key) = decoded.split_first().unwrap();
        assert_eq!(*kind, TYPE_ED25519);
        assert_eq!(
            key_hash("PeterNeumann", TYPE_ED25519, key),
            [0xc7, 0x4f, 0x20, 0xa3]
        );
    }

    #[test]
    fn bodies_must_be_three_well_formed_lines() {
        let head = "a".repeat(64);
        assert!(parse_body(&format!("writ/x\n0\n{head}\n")).is_ok());
        for bad in [
            format!("writ/x\n1\n{head}\nextra\n"),
            format!("writ/x\n01\n{head}\n"),
            format!("writ/x\n-1\n{head}\n"),
            format!("writ/x\n1\n{}\n", "A".repeat(64)),
            format!("\n1\n{head}\n"),
            "writ/x\n1\n".to_owned(),
        ] {
            assert!(parse_body(&bad).is_err(), "{bad:?}");
        }
    }
}
