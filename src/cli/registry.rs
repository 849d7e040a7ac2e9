//! `writ registry update --key K`: records the registry `writ.yaml` names (its people, roles,
//! identity and the signers file's keys) as the one the store trusts, signed by a person the
//! store already trusts with the role `admin`. Until then every other command refuses a config
//! whose registry differs. `writ registry show` prints what the store trusts.

use serde_json::json;

use super::exit;
use super::runs::fail;
use super::runtime_args::ConfigArg;
use super::sign::{SignArgs, Signing};
use crate::runtime::event::EventKind;
use crate::runtime::store::Store;
use crate::runtime::trust::Proof;
use crate::runtime::trust::open::{self, RegistryChanged, open_existing, registry_event};
use crate::runtime::trust::statement::Act;
use crate::runtime::trust::{Registry, TrustError};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RegistryCommand,
}

#[derive(clap::Subcommand)]
enum RegistryCommand {
    /// Record the registry writ.yaml names (needs an admin's signature).
    Update(UpdateArgs),
    /// Print the people, roles and keys the store trusts.
    Show(ConfigArg),
}

#[derive(clap::Args)]
struct UpdateArgs {
    #[command(flatten)]
    sign: SignArgs,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: &Args) -> u8 {
    let outcome = match &args.command {
        RegistryCommand::Update(args) => update(args),
        RegistryCommand::Show(config) => show(config),
    };
    outcome.unwrap_or_else(|code| code)
}

fn opened(
    config: &ConfigArg,
) -> Result<
    (
        crate::runtime::config::Config,
        crate::runtime::store::sqlite::SqliteStore,
        open::Pinned,
    ),
    u8,
> {
    let config = config.load()?;
    let usage = |e: TrustError| fail(&e, exit::USAGE);
    let store = open_existing(&config).map_err(usage)?;
    let pinned = open::current(&store).map_err(usage)?.ok_or_else(|| {
        fail(
            &TrustError::Io("the store has no registry".into()),
            exit::USAGE,
        )
    })?;
    Ok((config, store, pinned))
}

fn update(args: &UpdateArgs) -> Result<u8, u8> {
    let (config, mut store, pinned) = opened(&args.config)?;
    let wanted = Registry::from_config(&config).map_err(|e| fail(&e, exit::FINDINGS))?;
    let to = wanted.hash();
    if to == pinned.hash {
        outln!("the store trusts this registry already: nothing to change");
        return Ok(exit::OK);
    }
    let differences = pinned.registry.differences(&wanted);
    let fields = json!({ "from": pinned.hash, "to": to });
    // Signed and judged by the registry the store trusts now, never by the new one.
    let acting = match args.sign.sign(&pinned, Act::ChangeRegistry, fields, &[])? {
        Signing::Act(acting) => acting,
        Signing::Printed => return Ok(exit::OK),
    };
    // A change is good once: the same signed statement submitted again (after the registry
    // went back to `from`) would undo a later admin's change.
    let recorded = store
        .kind_events(&[EventKind::RegistryChanged])
        .map_err(|e| fail(&TrustError::from(e), exit::USAGE))?;
    if recorded
        .iter()
        .filter_map(|event| Proof::of(&event.event.data))
        .any(|proof| proof.statement.is_some() && proof.statement == acting.proof.statement)
    {
        eprintln!(
            "error: this signed registry change is recorded already: a statement changes the \
             registry once"
        );
        eprintln!("  help: sign a new statement (`writ registry update --key KEY`)");
        return Err(exit::FINDINGS);
    }
    if !pinned.registry.has_role(&acting.person, "admin") {
        eprintln!(
            "error: `{}` may not change the registry: that needs the role `admin` in the registry \
             the store trusts",
            acting.person
        );
        return Err(exit::FINDINGS);
    }
    let data = RegistryChanged {
        store: pinned.store.clone(),
        registry: wanted,
        hash: to,
        genesis: false,
        runner_key: pinned.runner_key.clone(),
    };
    let event = registry_event(&data, Some(&acting.person), Some(&acting.proof));
    let stored = store.append(event).map_err(|e| {
        eprintln!("error: {e}");
        exit::USAGE
    })?;
    outln!(
        "the store now trusts the registry of `{}` ({}), changed by `{}` (event {})",
        config.path.display(),
        differences.join("; "),
        acting.person,
        stored.seq
    );
    Ok(exit::OK)
}

fn show(config: &ConfigArg) -> Result<u8, u8> {
    let (_, _, pinned) = opened(config)?;
    let registry = &pinned.registry;
    outln!(
        "store {} trusts (event {}), identity {}:",
        pinned.store,
        pinned.seq,
        registry.identity.as_str()
    );
    for (person, roles) in &registry.people {
        outln!("  {person}: {}", roles.join(", "));
    }
    for line in &registry.signers {
        outln!("  key: {line}");
    }
    Ok(exit::OK)
}
