//! A proof of who acted, as kept in the data of the event that records the act:
//! `identity` (`signed` or `asserted`), and for a signed act `statement` (the exact signed
//! bytes, as a string) and `signature` (the armored SSHSIG). `ssh-keygen -Y verify -f
//! allowed_signers -I PERSON -n writ -s SIG < STATEMENT` checks one offline.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::TrustError;
use super::open::Pinned;
use crate::identity::{self, Signature};
use crate::runtime::clock::Millis;
use crate::runtime::config::Identity;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub identity: Identity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl Proof {
    pub fn signed(statement: String, signature: String) -> Proof {
        Proof {
            identity: Identity::Signed,
            statement: Some(statement),
            signature: Some(signature),
        }
    }

    pub fn asserted() -> Proof {
        Proof {
            identity: Identity::Asserted,
            statement: None,
            signature: None,
        }
    }

    /// Adds the proof's fields to an event's data (an object).
    pub fn attach(&self, data: &mut Value) {
        if let (Value::Object(map), Ok(Value::Object(proof))) = (data, serde_json::to_value(self)) {
            map.extend(proof);
        }
    }

    /// The proof kept in an event's data, if any.
    pub fn of(data: &Value) -> Option<Proof> {
        data.get("identity")?;
        Proof::deserialize(data).ok()
    }
}

/// Who a proof says acted, if it holds against the registry `pinned` at `at` (the runner's time):
/// for a signed proof, the signature is valid over the statement, by a key the registry names
/// and holds then, and the statement names that key's person; an asserted proof holds only
/// where the registry itself is `asserted`, for the person `claimed`.
pub fn verify(
    pinned: &Pinned,
    proof: &Proof,
    claimed: &str,
    at: Millis,
) -> Result<String, TrustError> {
    let registry = &pinned.registry;
    match proof.identity {
        Identity::Asserted => {
            if registry.identity != Identity::Asserted {
                return Err(TrustError::help(
                    format!(
                        "`{claimed}` is only asserted, and this store trusts signed statements only"
                    ),
                    "sign with `--key KEY` (an SSH key in the signers file)",
                ));
            }
            if registry.roles_of(claimed).is_none() {
                return Err(unknown(claimed));
            }
            Ok(claimed.to_owned())
        }
        Identity::Signed => {
            let (Some(statement), Some(signature)) = (&proof.statement, &proof.signature) else {
                return Err(TrustError::Refused(
                    "a signed act without its signature".into(),
                ));
            };
            let signature =
                Signature::parse(signature).map_err(|e| TrustError::Refused(e.to_string()))?;
            let verified = identity::verify(
                &pinned.signers,
                statement.as_bytes(),
                &signature,
                at / 1_000,
            )
            .map_err(|e| TrustError::Refused(format!("the signature does not hold: {e}")))?;
            let named = serde_json::from_str::<Value>(statement)
                .ok()
                .and_then(|v| v.get("person").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            if named != claimed {
                return Err(TrustError::Refused(format!(
                    "the statement is made in the name of `{named}`, not `{claimed}`"
                )));
            }
            if !verified.principals.iter().any(|p| p == claimed) {
                return Err(TrustError::help(
                    format!(
                        "the key {} is not `{claimed}`'s (it stands for {})",
                        verified.key.fingerprint(),
                        verified.principals.join(", ")
                    ),
                    "sign with your own key; `--as` may be left out: the key says who you are",
                ));
            }
            if registry.roles_of(claimed).is_none() {
                return Err(unknown(claimed));
            }
            Ok(claimed.to_owned())
        }
    }
}

fn unknown(person: &str) -> TrustError {
    TrustError::help(
        format!("`{person}` is not a person this store trusts"),
        "people and their roles are recorded in the store; a change needs `writ registry update` \
         signed by an admin",
    )
}
