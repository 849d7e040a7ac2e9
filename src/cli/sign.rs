//! How a person acts from the command line: `--key KEY` (or `WRIT_KEY`) signs the act's
//! statement with an SSH key (a private key file, or a public key whose private half is in
//! ssh-agent); `--statement` prints the exact bytes to sign and records nothing; `--signature
//! SIG` submits a signature made elsewhere (`ssh-keygen -Y sign -n writ -f KEY FILE` writes
//! `FILE.sig`; the signed bytes are read from `FILE`). `--as` may be left out when the key says
//! who it is. Under `identity: asserted` (development only) `--as NAME` alone is taken at its
//! word, and the event says so.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::exit;
use super::runs::fail;
use crate::identity::{NAMESPACE, Signer};
use crate::runtime::clock;
use crate::runtime::config::Identity;
use crate::runtime::trust::statement::{Act, Draft};
use crate::runtime::trust::{Pinned, Proof, TrustError, verify};

#[derive(clap::Args, Clone, Debug, Default)]
pub struct SignArgs {
    /// Who acts (from the registry); may be left out when the key says who it is.
    #[arg(long = "as", value_name = "PERSON")]
    pub person: Option<String>,
    /// The signing key: an OpenSSH private key file, or a public key whose private half
    /// ssh-agent holds (`SSH_AUTH_SOCK`).
    #[arg(long, value_name = "KEY", env = "WRIT_KEY")]
    pub key: Option<PathBuf>,
    /// Print the exact bytes this command asks you to sign, and record nothing.
    #[arg(long, conflicts_with = "signature")]
    pub statement: bool,
    /// A signature made elsewhere over the statement in the file beside it (`FILE.sig` signs
    /// `FILE`).
    #[arg(long, value_name = "SIG")]
    pub signature: Option<PathBuf>,
}

/// A person acting, proven.
pub struct Acting {
    pub person: String,
    pub proof: Proof,
}

impl Acting {
    /// The act as the operations layer takes it (and verifies again).
    pub fn signed(&self) -> crate::ops::Signed {
        crate::ops::Signed {
            person: self.person.clone(),
            proof: self.proof.clone(),
        }
    }
}

/// What happened to the act: done by a proven person, or only its statement printed.
pub enum Signing {
    Act(Acting),
    Printed,
}

impl SignArgs {
    /// For statements of `act` with `fields`; `free` names fields a submitted statement may
    /// fill in itself (a new run's id).
    pub fn sign(
        &self,
        pinned: &Pinned,
        act: Act,
        fields: Value,
        free: &[&str],
    ) -> Result<Signing, u8> {
        self.try_sign(pinned, act, fields, free).map_err(|e| {
            fail(
                &e,
                if e.is_usage() {
                    exit::USAGE
                } else {
                    exit::FINDINGS
                },
            )
        })
    }

    fn try_sign(
        &self,
        pinned: &Pinned,
        act: Act,
        fields: Value,
        free: &[&str],
    ) -> Result<Signing, TrustError> {
        let now = clock::now();
        if let Some(sig_path) = &self.signature {
            let (statement, signature) = read_submitted(sig_path)?;
            let person = named(&statement)?;
            self.same_person(&person)?;
            let draft = Draft::new(act, &pinned.store, &person, fields);
            draft.matches(&statement, now, free)?;
            let proof = Proof::signed(statement, signature);
            let person = verify(pinned, &proof, &person, now)?;
            return Ok(Signing::Act(Acting { person, proof }));
        }
        let signer = match &self.key {
            Some(path) => Some(Signer::open(path).map_err(|e| TrustError::Refused(e.to_string()))?),
            None => None,
        };
        let person = match (&self.person, &signer) {
            (Some(person), _) => person.clone(),
            (None, Some(signer)) => key_person(pinned, signer, now)?,
            (None, None) => return Err(needs_key(pinned)),
        };
        let draft = Draft::new(act, &pinned.store, &person, fields);
        if self.statement {
            let text = draft.at(now)?;
            let mut out = std::io::stdout().lock();
            // A closed stdout is not a crash: nothing was recorded either way.
            let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
            return Ok(Signing::Printed);
        }
        let Some(signer) = signer else {
            if pinned.registry.identity == Identity::Asserted {
                let proof = Proof::asserted();
                let person = verify(pinned, &proof, &person, now)?;
                return Ok(Signing::Act(Acting { person, proof }));
            }
            return Err(needs_key(pinned));
        };
        let text = draft.at(now)?;
        let signature = signer
            .sign(text.as_bytes())
            .map_err(|e| TrustError::Refused(e.to_string()))?;
        crate::runtime::trust::statement::parse(&text)?;
        let proof = Proof::signed(text, signature.armored().to_owned());
        let person = verify(pinned, &proof, &person, now)?;
        Ok(Signing::Act(Acting { person, proof }))
    }

    fn same_person(&self, person: &str) -> Result<(), TrustError> {
        match &self.person {
            Some(given) if given != person => Err(TrustError::Refused(format!(
                "the statement is made in the name of `{person}`, not `{given}`"
            ))),
            _ => Ok(()),
        }
    }
}

fn needs_key(pinned: &Pinned) -> TrustError {
    crate::ops::needs_key(pinned)
}

/// The one person `signer`'s key stands for in the registry.
fn key_person(pinned: &Pinned, signer: &Signer, now: clock::Millis) -> Result<String, TrustError> {
    let key = signer.public_key();
    let people = pinned.signers.principals_for(&key, NAMESPACE, now / 1_000);
    match people.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(TrustError::help(
            format!(
                "the key {} is not in the store's registry",
                key.fingerprint()
            ),
            "use a key listed in the signers file, or ask an admin to add yours",
        )),
        many => Err(TrustError::help(
            format!("the key stands for several people ({})", many.join(", ")),
            "say who acts with `--as PERSON`",
        )),
    }
}

/// The statement and signature of `--signature SIG`: `SIG` must end in `.sig`, and the signed
/// bytes are the file beside it without that suffix.
fn read_submitted(sig: &Path) -> Result<(String, String), TrustError> {
    let name = sig.to_string_lossy();
    let Some(statement_path) = name.strip_suffix(".sig") else {
        return Err(TrustError::help(
            format!("`{name}` does not end in `.sig`"),
            "`ssh-keygen -Y sign -n writ -f KEY FILE` writes `FILE.sig`: give that file",
        ));
    };
    let read = |path: &Path| {
        let bytes = std::fs::read(path)
            .map_err(|e| TrustError::Io(format!("cannot read `{}`: {e}", path.display())))?;
        if bytes.len() > 1 << 20 {
            return Err(TrustError::Io(format!("`{}` is too large", path.display())));
        }
        String::from_utf8(bytes)
            .map_err(|_| TrustError::Refused(format!("`{}` is not UTF-8", path.display())))
    };
    Ok((read(Path::new(statement_path))?, read(sig)?))
}

/// The `person` a statement is made in the name of.
fn named(statement: &str) -> Result<String, TrustError> {
    crate::runtime::trust::statement::parse(statement)?
        .get("person")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| TrustError::Refused("the statement names no `person`".into()))
}
