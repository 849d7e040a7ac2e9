//! Who may act, proven: the registry of people pinned to the store, the statements people sign,
//! and the checks that a statement holds (DESIGN "The trust model"; `docs/trust.md`).
//!
//! - [`registry`]: the people, roles and keys a store trusts. Recorded in the store when it is
//!   created (`registry_changed`, the genesis); a config naming anything else is refused until
//!   an `admin` of the pinned registry signs the change.
//! - [`statement`]: the canonical JSON object of each act (start a run, decide, approve a plan,
//!   kill, revive, roll back, change the registry).
//! - [`proof`]: a statement and its SSHSIG (or, under `identity: asserted`, the bare claim) as
//!   kept in an event's data, and the one function that says whether it holds.
//! - [`open`]: opening a store: file modes, the genesis, the pinning check.

pub mod allowance;
pub mod audit;
pub(crate) mod authority;
pub mod open;
pub mod plans;
pub mod proof;
pub mod registry;
pub mod statement;

pub use open::{Create, Pinned, open_store};
pub use proof::{Proof, verify};
pub use registry::Registry;

/// Why an act is refused, or a store cannot be trusted. Each says what to do.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TrustError {
    #[error("{0}")]
    #[diagnostic(code(writ::trust))]
    Refused(String),
    #[error("{message}")]
    #[diagnostic(code(writ::trust))]
    Help {
        message: String,
        #[help]
        help: String,
    },
    #[error("the store: {0}")]
    #[diagnostic(code(writ::store))]
    Store(#[from] crate::runtime::store::StoreError),
    #[error("{0}")]
    #[diagnostic(code(writ::io))]
    Io(String),
    /// The command was not given what it needs (exit 2).
    #[error("{message}")]
    #[diagnostic(code(writ::usage))]
    Usage {
        message: String,
        #[help]
        help: String,
    },
}

impl TrustError {
    pub fn help(message: impl Into<String>, help: impl Into<String>) -> TrustError {
        TrustError::Help {
            message: message.into(),
            help: help.into(),
        }
    }

    /// Whether the failure is the caller's setup (exit 2) rather than a refusal (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            TrustError::Store(_) | TrustError::Io(_) | TrustError::Usage { .. }
        )
    }
}
