//! The sandbox keys of `writ.yaml`, deserialised with the same checks as the rest (`de.rs`):
//!
//! ```yaml
//! sandbox: { network: deny }       # recommend and verify programs: no TCP (default: allow)
//! sandbox: off                     # no sandbox at all (only where the programs are trusted)
//! systems:
//!   mailer: { exec: scripts, write: [out/], network: allow }   # execute/rollback grants
//! ```

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::de::{Keys, Text, fail};
use super::error::Problem;
use super::values::{self, shown};
use crate::runtime::sandbox::{Network, SandboxConfig};

const SANDBOX_KEYS: &[&str] = &["network"];
/// The most paths one system's `write:` may list.
const MAX_WRITES: usize = 256;

/// `sandbox:`: `off`, or a mapping with `network`.
pub struct SandboxSeed;

impl<'de> DeserializeSeed<'de> for SandboxSeed {
    type Value = SandboxConfig;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<SandboxConfig, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SandboxSeed {
    type Value = SandboxConfig;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`off` or a mapping like `{ network: deny }`")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<SandboxConfig, E> {
        match text {
            "off" => Ok(SandboxConfig::Off),
            other => Err(fail(Problem::new(
                format!("`sandbox` is `{}`", shown(other)),
                "write `sandbox: off` (no sandbox), or `sandbox: { network: deny }`".to_owned(),
            ))),
        }
    }

    fn visit_bool<E: de::Error>(self, on: bool) -> Result<SandboxConfig, E> {
        // YAML 1.1 reads a bare `off` as false; `on` is the default anyway.
        Ok(if on {
            SandboxConfig::default()
        } else {
            SandboxConfig::Off
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SandboxConfig, A::Error> {
        let mut keys = Keys::new(SANDBOX_KEYS, "`sandbox`".to_owned());
        let mut network = Network::Allow;
        // INVARIANT: `Keys` yields only `network`.
        while map.next_key_seed(&mut keys)?.is_some() {
            network = map.next_value_seed(Text::new("network", network_value))?;
        }
        Ok(SandboxConfig::On { network })
    }
}

/// `network: allow` or `network: deny`.
pub fn network_value(what: &str, text: &str) -> Result<Network, Problem> {
    match text {
        "allow" => Ok(Network::Allow),
        "deny" => Ok(Network::Deny),
        other => Err(Problem::new(
            format!("`{what}` is `{}`", shown(other)),
            format!("write `{what}: allow` or `{what}: deny`"),
        )),
    }
}

/// An exec system's `write:`: a list of paths its execute and rollback programs may write.
pub struct WritesSeed;

impl<'de> DeserializeSeed<'de> for WritesSeed {
    type Value = Vec<PathBuf>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<PathBuf>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for WritesSeed {
    type Value = Vec<PathBuf>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of paths, like `[out/]`")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<PathBuf>, A::Error> {
        let mut paths = Vec::new();
        while let Some(path) = seq.next_element_seed(Text::new("write", values::path))? {
            if paths.len() >= MAX_WRITES {
                return Err(fail(Problem::new(
                    format!("`write` lists more than {MAX_WRITES} paths"),
                    "grant a folder instead of its files".to_owned(),
                )));
            }
            paths.push(path);
        }
        Ok(paths)
    }
}
