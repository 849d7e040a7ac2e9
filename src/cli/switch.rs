//! `writ kill WORKFLOW --key K --reason T` and `writ revive WORKFLOW --key K` (or `--system
//! NAME` for every workflow that writes that system): the kill switch. Anyone the store trusts
//! may pull it; reviving needs the workflow's `owner` role of record (its approved plans'; for a
//! system, the owner role of every workflow in the store that writes it). WORKFLOW is a
//! workflow's name or its file.

use serde::Deserialize;
use std::path::Path;

use super::exit;
use super::runs;
use super::runtime_args::ConfigArg;
use super::sign::{SignArgs, Signing};
use crate::runtime::config::Config;
use crate::runtime::event::{EventKind, NewEvent};
use crate::runtime::record::{self, RunStarted, Switch};
use crate::runtime::store::Store;
use crate::runtime::store::sqlite::SqliteStore;
use crate::runtime::switch;
use crate::runtime::trust::statement::Act;
use crate::runtime::trust::{Create, plans};
use serde_json::json;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["workflow", "system"])))]
pub struct KillArgs {
    /// The workflow's name, or its `.writ` file.
    workflow: Option<String>,
    /// Every workflow that writes this system instead.
    #[arg(long, value_name = "NAME")]
    system: Option<String>,
    #[command(flatten)]
    sign: SignArgs,
    /// Why the brake was pulled.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    #[command(flatten)]
    config: ConfigArg,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("scope").required(true).args(["workflow", "system"])))]
pub struct ReviveArgs {
    /// The workflow's name, or its `.writ` file.
    workflow: Option<String>,
    /// Every workflow that writes this system instead.
    #[arg(long, value_name = "NAME")]
    system: Option<String>,
    #[command(flatten)]
    sign: SignArgs,
    /// Why writes may go through again.
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn kill(args: &KillArgs) -> u8 {
    if args.reason.trim().is_empty() {
        eprintln!("error: a kill needs a reason: `--reason TEXT`");
        return exit::USAGE;
    }
    let scope = Scope::of(args.workflow.as_deref(), args.system.as_deref());
    flip(
        &args.config,
        &scope,
        &args.sign,
        Some(args.reason.clone()),
        true,
    )
    .unwrap_or_else(|code| code)
}

pub fn revive(args: &ReviveArgs) -> u8 {
    let scope = Scope::of(args.workflow.as_deref(), args.system.as_deref());
    flip(&args.config, &scope, &args.sign, args.reason.clone(), false).unwrap_or_else(|code| code)
}

enum Scope {
    Workflow(String),
    System(String),
}

impl Scope {
    fn of(workflow: Option<&str>, system: Option<&str>) -> Scope {
        match (workflow, system) {
            (_, Some(system)) => Scope::System(system.to_owned()),
            (Some(workflow), None) => Scope::Workflow(workflow.to_owned()),
            (None, None) => Scope::System(String::new()),
        }
    }
}

fn flip(
    config: &ConfigArg,
    scope: &Scope,
    sign: &SignArgs,
    reason: Option<String>,
    kill: bool,
) -> Result<u8, u8> {
    // Anyone may pull the brake before anything has run; reviving needs a store with history.
    let create = if kill {
        Create::IfMissing
    } else {
        Create::Never
    };
    let (config, mut store, pinned) = config.open_trusted(create)?;
    let switched = Switched::find(&store, &config, scope)?;
    // A statement is good once: it names the last kill-switch event it follows.
    let after = store
        .switch_events()
        .map_err(store_error)?
        .last()
        .map_or(0, |e| e.seq);
    let fields = json!({
        "workflow": switched.system.is_none().then_some(&switched.workflow),
        "system": switched.system,
        "reason": reason,
        "after": after,
    });
    let act = if kill { Act::Kill } else { Act::Revive };
    let acting = match sign.sign(&pinned, act, fields, &[])? {
        Signing::Act(acting) => acting,
        Signing::Printed => return Ok(exit::OK),
    };
    let person = acting.person.as_str();
    let roles = pinned
        .registry
        .roles_of(person)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let role = if kill {
        switched.may_kill()?;
        roles.first().cloned()
    } else {
        Some(switched.may_revive(person, &roles)?)
    };
    let shown = switched.shown();
    let event = NewEvent {
        run: None,
        workflow: switched.workflow,
        kind: if kill {
            EventKind::WorkflowKilled
        } else {
            EventKind::WorkflowRevived
        },
        person: Some(person.to_owned()),
        role,
        fingerprint: String::new(),
        step: None,
        data: record::data(&Switch {
            target: switched
                .system
                .as_ref()
                .and_then(|s| config.systems.get(s.as_str()))
                .map(switch::config_key),
            system: switched.system.map(crate::plan::Name::from),
            reason,
        }),
    };
    let mut event = event;
    acting.proof.attach(&mut event.data);
    let stored = store.append(event).map_err(store_error)?;
    let done = if kill {
        "killed: every write is drafted, nothing is written"
    } else {
        "revived: writes go through again"
    };
    let line = format!("{shown} {done} (event {})", stored.seq);
    outln!("{}", super::terminal::escape(&line));
    Ok(exit::OK)
}

/// What a kill or revive acts on: a workflow (by name) or a system, its owners, and whether
/// the switch holds for it now.
struct Switched {
    workflow: String,
    system: Option<String>,
    owners: Vec<String>,
    held: bool,
}

impl Switched {
    fn find(store: &SqliteStore, config: &Config, scope: &Scope) -> Result<Switched, u8> {
        let (workflow, system, owners) = match scope {
            Scope::Workflow(name) => {
                let (name, owner) = workflow_owner(store, name)?;
                (name, None, owner.into_iter().collect())
            }
            Scope::System(system) => (
                String::new(),
                Some(system.clone()),
                system_owners(store, config, system)?,
            ),
        };
        let events = store.switch_events().map_err(store_error)?;
        let held = match &system {
            Some(system) => {
                let targets: Vec<String> = config
                    .systems
                    .get(system.as_str())
                    .map(switch::config_key)
                    .into_iter()
                    .collect();
                switch::holding_in(&events, "\u{0}", &[system.into()], &targets)
            }
            None => switch::holding_in(&events, &workflow, &[], &[]),
        }
        .is_some();
        Ok(Switched {
            workflow,
            system,
            owners,
            held,
        })
    }

    fn shown(&self) -> String {
        self.system.as_ref().map_or_else(
            || format!("workflow `{}`", self.workflow),
            |s| format!("system `{s}`"),
        )
    }

    /// Anyone may pull the brake, once; a name no run has used is warned about.
    fn may_kill(&self) -> Result<(), u8> {
        if self.held {
            eprintln!("error: {} is already killed (draft-only)", self.shown());
            return Err(exit::FINDINGS);
        }
        if self.system.is_none() && self.owners.is_empty() {
            eprintln!(
                "warning: no run of workflow `{}` is in the store yet: check the name \
                 (the kill holds for it from now on all the same)",
                self.workflow
            );
        }
        Ok(())
    }

    /// Reviving needs every owner role; returns the role recorded.
    fn may_revive(&self, person: &str, roles: &[String]) -> Result<String, u8> {
        let shown = self.shown();
        if !self.held {
            eprintln!("error: {shown} is not killed");
            return Err(exit::FINDINGS);
        }
        let Some(first) = self.owners.first() else {
            eprintln!("error: writ cannot tell who owns {shown}: no plan of it was ever approved");
            eprintln!("  help: check the workflow's name (`writ status` lists the runs)");
            return Err(exit::FINDINGS);
        };
        if self.owners.iter().any(|o| !roles.contains(o)) {
            eprintln!(
                "error: `{person}` may not revive {shown}: that needs the owner role{} {}",
                if self.owners.len() == 1 { "" } else { "s" },
                self.owners.join(", ")
            );
            eprintln!("  help: {person}'s roles: {}", roles.join(", "));
            return Err(exit::FINDINGS);
        }
        Ok(first.clone())
    }
}

fn store_error(error: crate::runtime::store::StoreError) -> u8 {
    eprintln!("error: {error}");
    exit::USAGE
}

/// The workflow's name (`name` may be its `.writ` file) and its owner role of record: that of
/// its first approved plan, so a file written for the occasion cannot name its own owner.
fn workflow_owner(store: &SqliteStore, name: &str) -> Result<(String, Option<String>), u8> {
    let name = if name.ends_with(".writ") || Path::new(name).is_file() {
        let plan = runs::load_plan(Path::new(name))?;
        plan.body.workflow.name.to_string()
    } else {
        name.to_owned()
    };
    let owner = plans::owner_of_record(store, &name).map_err(|e| runs::fail(&e, exit::USAGE))?;
    Ok((name, owner))
}

/// The owner roles of every workflow in the store that writes `system`.
fn system_owners(store: &SqliteStore, config: &Config, system: &str) -> Result<Vec<String>, u8> {
    if !config.systems.contains_key(system) {
        eprintln!("error: system `{system}` is not in the runtime config");
        return Err(exit::FINDINGS);
    }
    let mut owners = Vec::new();
    for run in store.runs().map_err(store_error)? {
        let events = store.run_events(&run).map_err(store_error)?;
        let started = events
            .first()
            .and_then(|e| RunStarted::deserialize(&e.event.data).ok());
        if let Some(started) = started
            && started.writes.iter().any(|w| w == system)
            && !owners.iter().any(|o| o == started.owner.as_str())
        {
            owners.push(started.owner.to_string());
        }
    }
    Ok(owners)
}
