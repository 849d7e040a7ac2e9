//! What every task of a run shares: the store (behind one lock: each append is one durable
//! transaction), the plan, the config, the resolved systems, and the fault-injection point the
//! crash tests use.

use std::sync::{Mutex, MutexGuard};

use crate::plan::Plan;
use crate::runtime::config::Config;
use crate::runtime::connector::bound::{Connector, ExecSystem, HttpSystem, SqliteSystem};
use crate::runtime::connector::session::Connections;
use crate::runtime::event::{Event, EventKind, NewEvent};
use crate::runtime::render::Rendered;
use crate::runtime::store::{Store, StoreError};
use crate::runtime::systems::{Systems, Target};

/// Called with every event appended (the command line shows progress on a terminal with it).
pub type Observer = Box<dyn Fn(&Event) + Send + Sync>;

pub struct Shared {
    store: Mutex<Box<dyn Store + Send>>,
    /// One read and one write connection per system, kept for the run; the write
    /// connection's lock puts this process's writes to the system in turn
    /// (`connector/session.rs`).
    connections: std::collections::BTreeMap<crate::plan::Name, Connections>,
    observer: Option<Observer>,
    /// The decisions verified so far (the check right before each write).
    pub verified: crate::runtime::trust::allowance::Verifications,
    /// The runs this process drives, with the last event it knows of each.
    tails: Mutex<std::collections::BTreeMap<String, Option<u64>>>,
    pub plan: Plan,
    pub config: Config,
    pub systems: Systems,
    fault: Option<Fault>,
}

impl Shared {
    pub fn new(store: Box<dyn Store + Send>, plan: Plan, config: Config, systems: Systems) -> Self {
        let connections = systems
            .targets
            .iter()
            .filter(|(_, target)| matches!(target, Target::Sqlite { .. }))
            .map(|(name, _)| (name.clone(), Connections::default()))
            .collect();
        Shared {
            store: Mutex::new(store),
            connections,
            observer: None,
            tails: Mutex::new(std::collections::BTreeMap::new()),
            verified: Default::default(),
            plan,
            config,
            systems,
            fault: Fault::from_env(),
        }
    }

    /// This process drives `run`, whose last event is `last` (`None`: it has none yet).
    pub fn claim(&self, run: &str, last: Option<u64>) {
        self.tails
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(run.to_owned(), last);
    }

    /// The resolved targets of `systems` as kills match them (`switch::target_key`).
    pub fn target_keys(&self, systems: &[crate::plan::Name]) -> Vec<String> {
        systems
            .iter()
            .filter_map(|s| self.systems.targets.get(s))
            .map(crate::runtime::switch::target_key)
            .collect()
    }

    /// The connector of a step's system (`target`), or, for an `exec` action that needs none,
    /// programs run in the workflow's folder.
    pub fn connector<'a>(
        &'a self,
        system: Option<&str>,
        target: Option<&'a Target>,
    ) -> Box<dyn Connector + 'a> {
        let timeout = self.config.limits.step_timeout;
        match target {
            Some(Target::Sqlite { path }) => Box::new(SqliteSystem {
                path,
                connections: system.and_then(|s| self.connections.get(s)),
                timeout,
            }),
            Some(Target::Http { client, .. }) => Box::new(HttpSystem {
                client: client.as_deref().map_err(String::as_str),
            }),
            Some(Target::Exec { grants, .. }) => Box::new(ExecSystem {
                folder: &self.systems.folder,
                workdir: self.systems.workdir(target),
                timeout,
                sandbox: &self.systems.sandbox,
                grants: Some(grants),
            }),
            None => Box::new(ExecSystem {
                folder: &self.systems.folder,
                workdir: &self.systems.folder,
                timeout,
                sandbox: &self.systems.sandbox,
                grants: None,
            }),
        }
    }

    /// The connector that runs `action` for a step on `target`: the target's own, except an
    /// `exec` action on another kind of system (a `verify exec` on a sqlite system), which
    /// runs as a program in the workflow's folder.
    pub fn connector_for<'a>(
        &'a self,
        system: Option<&str>,
        target: Option<&'a Target>,
        action: &Rendered,
    ) -> Box<dyn Connector + 'a> {
        match (action, target) {
            (Rendered::Exec { .. }, Some(Target::Sqlite { .. } | Target::Http { .. })) => {
                self.connector(None, None)
            }
            _ => self.connector(system, target),
        }
    }

    /// Calls `observer` with every event appended from now on.
    pub fn observe(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The store, for reads. A poisoned lock (a task panicked) still guards a consistent
    /// store: every append is one transaction.
    pub fn store(&self) -> MutexGuard<'_, Box<dyn Store + Send>> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends one event; it is durable when this returns.
    pub fn append(&self, event: NewEvent) -> Result<Event, StoreError> {
        // A run this process drives is appended to only where it left it: a second driver
        // (another config, a lock file lost) fails its next append instead of acting twice.
        let stored = {
            let mut tails = self
                .tails
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let claimed = event.run.as_ref().and_then(|run| tails.get(run).copied());
            let run = event.run.clone();
            let stored = match claimed {
                Some(after) => self.store().append_after(event, after)?,
                None => self.store().append(event)?,
            };
            if let (Some(run), Some(_)) = (run, claimed) {
                tails.insert(run, Some(stored.seq));
            }
            stored
        };
        self.crash_if(stored.event.kind.as_str(), stored.event.step.as_deref());
        if let Some(observer) = &self.observer {
            observer(&stored);
        }
        Ok(stored)
    }

    /// The crash tests' injection point (see [`Fault`]).
    pub fn crash_if(&self, point: &str, step: Option<&str>) {
        if let Some(fault) = &self.fault
            && fault.point == point
            && Some(fault.step.as_str()) == step
        {
            // SIGKILL: no destructor, no flush, no unwinding; exactly a `kill -9`.
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// `WRIT_FAULT=POINT:STEP` makes writ kill itself with SIGKILL at one point of a run: right
/// after appending the event of kind POINT for step STEP (`before_image:set_priority`), or at
/// `commit:STEP`, right after a sqlite write commits and before its `written` event. It exists
/// for the crash tests (tests/it/crash.rs), which prove that `resume` and `rollback` recover from
/// a kill at every such point; it can only stop writ, never make it write.
struct Fault {
    point: String,
    step: String,
}

impl Fault {
    fn from_env() -> Option<Fault> {
        let spec = std::env::var("WRIT_FAULT").ok()?;
        let (point, step) = spec.split_once(':')?;
        let known = point == "commit" || EventKind::parse(point).is_some();
        known.then(|| Fault {
            point: point.to_owned(),
            step: step.to_owned(),
        })
    }
}
