//! Deserialising `writ.yaml` with every check done inside serde's visitors.
//!
//! Why inside: serde_yaml knows where a value is only while it deserialises it, and puts that
//! place on an error raised there; a check made afterwards would have to find the key in the
//! text again. So each name, path, URL and duration is checked in its `visit_*`, each key in
//! the key's own deserialisation (unknown, repeated, a secret, a second connector), and
//! what is missing from a mapping at its end (placed on the mapping).
//!
//! serde carries only a message string, so the check leaves its [`Problem`] (message and help)
//! in [`PROBLEM`] for `parse` to pick up with serde_yaml's position. Nothing here swallows an
//! error (no untagged enums, no flattening), so the problem left is the error's own.
//!
//! Sizes are bounded (people, systems, roles per person, name length): with aliases, a small
//! file could otherwise expand into a large config; serde_yaml also bounds alias replays.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::Problem;
use super::sandbox::SandboxSeed;
use super::system::SystemSeed;
use super::values::{self, shown};
use super::{Identity, Limits, SystemConfig};
use crate::runtime::sandbox::SandboxConfig;

/// The most people a config may list.
pub const MAX_PEOPLE: usize = 10_000;
/// The most systems a config may declare.
pub const MAX_SYSTEMS: usize = 1_000;
/// The most roles one person may have.
pub const MAX_ROLES: usize = 64;

thread_local! {
    /// The problem behind the error the last failing check on this thread raised.
    static PROBLEM: RefCell<Option<Problem>> = const { RefCell::new(None) };
}

/// A config as written: paths not yet resolved against its folder.
pub struct Parsed {
    pub state: PathBuf,
    pub signers: Option<PathBuf>,
    pub identity: Identity,
    pub people: BTreeMap<String, Vec<String>>,
    pub systems: BTreeMap<String, SystemConfig>,
    pub limits: Limits,
    pub sandbox: SandboxConfig,
    pub notify: Vec<super::Webhook>,
}

/// Deserialises `text`; on error, also the problem our check left, if a check raised it.
pub fn parse(text: &str) -> Result<Parsed, (serde_yaml::Error, Option<Problem>)> {
    take_problem();
    match serde_yaml::from_str::<Document>(text) {
        Ok(Document(parsed)) => Ok(parsed),
        Err(error) => Err((error, take_problem())),
    }
}

fn take_problem() -> Option<Problem> {
    PROBLEM.with(|slot| slot.borrow_mut().take())
}

/// The error for a failed check, its problem left for `parse`.
pub(super) fn fail<E: de::Error>(problem: Problem) -> E {
    let error = E::custom(&problem.message);
    PROBLEM.with(|slot| *slot.borrow_mut() = Some(problem));
    error
}

struct Document(Parsed);

impl<'de> de::Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TopVisitor).map(Document)
    }
}

const TOP_KEYS: &[&str] = &[
    "state", "signers", "identity", "people", "systems", "limits", "sandbox", "notify",
];
const CONNECTORS: &[&str] = &["sqlite", "http", "exec"];
const LIMIT_KEYS: &[&str] = &["step_timeout", "concurrency"];
/// Keys that would put a secret in the file: refused with a pointer to `token_env`.
const SECRET_KEYS: &[&str] = &["token", "password", "secret", "api_key", "apikey"];

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping with `state`, `people`, `systems` and `limits`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let (mut state, mut people, mut systems, mut limits) = (None, None, None, None);
        let (mut signers, mut identity) = (None, None);
        let mut sandbox = SandboxConfig::default();
        let mut notify = Vec::new();
        let mut keys = Keys::new(TOP_KEYS, "the config".to_owned());
        while let Some(key) = map.next_key_seed(&mut keys)? {
            // INVARIANT: `Keys` yields only keys of `TOP_KEYS`, each once.
            match key {
                "state" => state = Some(map.next_value_seed(Text::new("state", values::path))?),
                "signers" => {
                    signers = Some(map.next_value_seed(Text::new("signers", values::path))?);
                }
                "identity" => {
                    identity = Some(map.next_value_seed(Text::new("identity", values::identity))?);
                }
                "people" => people = Some(map.next_value_seed(PeopleSeed)?),
                "systems" => systems = Some(map.next_value_seed(SystemsSeed)?),
                "sandbox" => sandbox = map.next_value_seed(SandboxSeed)?,
                "notify" => notify = map.next_value_seed(super::notify::NotifySeed)?,
                _ => limits = Some(map.next_value_seed(LimitsSeed)?),
            }
        }
        let missing = |key: &str, example: &str| {
            fail(
                Problem::new(
                    format!("the config has no `{key}`"),
                    format!("add `{key}:` at the top level, like `{example}`"),
                )
                .without_snippet(),
            )
        };
        let identity = identity.unwrap_or(Identity::Signed);
        Ok(Parsed {
            signers,
            identity,
            state: state.ok_or_else(|| missing("state", "state: .writ/state.db"))?,
            people: people.ok_or_else(|| missing("people", "people: { ana: [analyst] }"))?,
            systems: systems.unwrap_or_default(),
            limits: limits.unwrap_or_default(),
            sandbox,
            notify,
        })
    }
}

/// Reads the keys of one fixed mapping: each allowed, given once, and at most one connector.
pub(super) struct Keys {
    /// Whether this mapping is one a secret could be pasted into (a system, its `auth`).
    refuse_secrets: bool,
    allowed: &'static [&'static str],
    seen: Vec<&'static str>,
    /// What the mapping is, for messages: "the config", "system `crm`".
    context: String,
}

impl Keys {
    pub(super) fn new(allowed: &'static [&'static str], context: String) -> Keys {
        Keys {
            refuse_secrets: false,
            allowed,
            seen: Vec::new(),
            context,
        }
    }

    /// Refuses `token`, `password` and the like as keys, with a pointer to `_env`/`_file`.
    pub(super) fn refusing_secrets(self) -> Keys {
        Keys {
            refuse_secrets: true,
            ..self
        }
    }

    fn check(&mut self, key: &str) -> Result<&'static str, Problem> {
        let context = &self.context;
        if SECRET_KEYS.contains(&key) && self.refuse_secrets {
            return Err(Problem::new(
                format!("{context} has a secret in the file: `{key}`"),
                "secrets are never in `writ.yaml`: put the token in an environment variable \
                 or a file and name it, like `auth: { bearer_env: CRM_TOKEN }`"
                    .to_owned(),
            )
            .without_snippet()); // the line shows the secret
        }
        let Some(&known) = self.allowed.iter().find(|k| **k == key) else {
            let help = match crate::suggest::did_you_mean(key, self.allowed.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the keys here are {}", listed(self.allowed)),
            };
            return Err(Problem::new(
                format!("unknown key `{}` in {context}", shown(key)),
                help,
            ));
        };
        if self.seen.contains(&known) {
            return Err(Problem::new(
                format!("`{known}` is given twice in {context}"),
                "keep one of them".to_owned(),
            ));
        }
        if CONNECTORS.contains(&known)
            && let Some(other) = self.seen.iter().find(|k| CONNECTORS.contains(k))
        {
            return Err(Problem::new(
                format!("{context} has two connectors, `{other}` and `{known}`"),
                "a system is reached one way: keep one, or declare a second system".to_owned(),
            ));
        }
        self.seen.push(known);
        Ok(known)
    }
}

impl<'de> DeserializeSeed<'de> for &mut Keys {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for &mut Keys {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a key, one of {}", listed(self.allowed))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        self.check(key).map_err(fail)
    }
}

/// "`a`, `b` and `c`".
fn listed(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// A string value checked by one of `values`' functions (`key` names it in messages).
pub(super) struct Text<T> {
    key: &'static str,
    check: fn(&str, &str) -> Result<T, Problem>,
}

impl<T> Text<T> {
    pub(super) fn new(key: &'static str, check: fn(&str, &str) -> Result<T, Problem>) -> Text<T> {
        Text { key, check }
    }
}

impl<'de, T> DeserializeSeed<'de> for Text<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, T> Visitor<'de> for Text<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "text for `{}`", self.key)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.check)(self.key, text).map_err(fail)
    }
}

/// A value that may be null (`exec:` with no folder).
pub(super) struct Nullable<S>(pub(super) S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a folder, or nothing")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// A person, role or system name, as a key or a list item: checked, new, and within `limit`.
struct Name<'a> {
    what: &'static str,
    taken: &'a dyn Fn(&str) -> bool,
    /// How many there are already, and the most allowed; `context` ends the messages.
    count: usize,
    limit: usize,
    context: &'a str,
}

impl<'de> DeserializeSeed<'de> for Name<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} name", self.what)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
        let (what, context) = (self.what, self.context);
        if self.count >= self.limit {
            return Err(fail(Problem::new(
                format!("more than {} {what}s{context}", self.limit),
                format!("writ accepts at most {} {what}s{context}", self.limit),
            )));
        }
        let name = values::name(what, text).map_err(fail)?;
        if (self.taken)(&name) {
            return Err(fail(Problem::new(
                format!("{what} `{name}` is listed twice{context}"),
                format!("list each {what} once{context}"),
            )));
        }
        Ok(name)
    }
}

struct PeopleSeed;

impl<'de> DeserializeSeed<'de> for PeopleSeed {
    type Value = BTreeMap<String, Vec<String>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PeopleSeed {
    type Value = BTreeMap<String, Vec<String>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping from people to their roles, like `ana: [analyst]`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut people = BTreeMap::new();
        loop {
            let seed = Name {
                what: "person",
                taken: &|name| people.contains_key(name),
                count: people.len(),
                limit: MAX_PEOPLE,
                context: "",
            };
            let Some(person) = map.next_key_seed(seed)? else {
                return Ok(people);
            };
            let roles = map.next_value_seed(RolesSeed { person: &person })?;
            people.insert(person, roles);
        }
    }
}

struct RolesSeed<'a> {
    person: &'a str,
}

impl<'de> DeserializeSeed<'de> for RolesSeed<'_> {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RolesSeed<'_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of roles, like `[analyst]`")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let context = format!(" for `{}`", self.person);
        let mut roles: Vec<String> = Vec::new();
        loop {
            let seed = Name {
                what: "role",
                taken: &|name| roles.iter().any(|r| r == name),
                count: roles.len(),
                limit: MAX_ROLES,
                context: &context,
            };
            let Some(role) = seq.next_element_seed(seed)? else {
                break;
            };
            roles.push(role);
        }
        if roles.is_empty() {
            return Err(fail(Problem::new(
                format!("`{}` has no roles", self.person),
                format!(
                    "give at least one role, like `{}: [analyst]`, or remove the person",
                    self.person
                ),
            )));
        }
        Ok(roles)
    }
}

struct SystemsSeed;

impl<'de> DeserializeSeed<'de> for SystemsSeed {
    type Value = BTreeMap<String, SystemConfig>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SystemsSeed {
    type Value = BTreeMap<String, SystemConfig>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping from system names to connectors, like `helpdesk: { sqlite: PATH }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut systems = BTreeMap::new();
        loop {
            let seed = Name {
                what: "system",
                taken: &|name| systems.contains_key(name),
                count: systems.len(),
                limit: MAX_SYSTEMS,
                context: "",
            };
            let Some(name) = map.next_key_seed(seed)? else {
                return Ok(systems);
            };
            let system = map.next_value_seed(SystemSeed { name: &name })?;
            systems.insert(name, system);
        }
    }
}

struct LimitsSeed;

impl<'de> DeserializeSeed<'de> for LimitsSeed {
    type Value = Limits;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Limits, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LimitsSeed {
    type Value = Limits;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping like `{ step_timeout: 30s, concurrency: 16 }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Limits, A::Error> {
        let mut limits = Limits::default();
        let mut keys = Keys::new(LIMIT_KEYS, "`limits`".to_owned());
        while let Some(key) = map.next_key_seed(&mut keys)? {
            // INVARIANT: `Keys` yields only keys of `LIMIT_KEYS`.
            match key {
                "step_timeout" => {
                    limits.step_timeout =
                        map.next_value_seed(Text::new("step_timeout", values::duration))?;
                }
                _ => limits.concurrency = map.next_value_seed(Concurrency)?,
            }
        }
        Ok(limits)
    }
}

/// `concurrency`: how many steps may run at once.
struct Concurrency;

impl Concurrency {
    const MIN: usize = 1;
    const MAX: usize = 1024;
}

impl<'de> DeserializeSeed<'de> for Concurrency {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_i64(self)
    }
}

impl<'de> Visitor<'de> for Concurrency {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "a whole number from {} to {}",
            Concurrency::MIN,
            Concurrency::MAX
        )
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<usize, E> {
        values::count("concurrency", value, Self::MIN, Self::MAX).map_err(fail)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<usize, E> {
        values::count("concurrency", value, Self::MIN, Self::MAX).map_err(fail)
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<usize, E> {
        values::count("concurrency", value, Self::MIN, Self::MAX).map_err(fail)
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<usize, E> {
        values::count("concurrency", value, Self::MIN, Self::MAX).map_err(fail)
    }
}
