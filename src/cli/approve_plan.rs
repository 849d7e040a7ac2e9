//! `writ approve-plan FILE --key K [--as P]`: signs a workflow version (its plan fingerprint)
//! as runnable. The signer must hold the workflow's `owner` role; once a workflow (by name) has
//! an approved plan, a version with another owner needs a person of the owner role already on
//! record. The approval keeps the workflow's source: every run of that version works from it.

use std::path::PathBuf;

use serde_json::json;

use super::exit;
use super::files;
use super::runs;
use super::runtime_args::ConfigArg;
use super::sign::{SignArgs, Signing};
use crate::runtime::event::{EventKind, NewEvent};
use crate::runtime::store::Store;
use crate::runtime::trust::Create;
use crate::runtime::trust::plans::{self, PlanApproved};
use crate::runtime::trust::statement::Act;

#[derive(clap::Args)]
pub struct Args {
    /// The workflow file.
    file: PathBuf,
    #[command(flatten)]
    sign: SignArgs,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: &Args) -> u8 {
    approve(args).unwrap_or_else(|code| code)
}

fn approve(args: &Args) -> Result<u8, u8> {
    let file = std::path::absolute(&args.file).unwrap_or_else(|_| args.file.clone());
    let source = files::read(&file).map_err(|error| {
        eprintln!("error: {error}");
        exit::USAGE
    })?;
    let plan = runs::load_plan(&file)?;
    let (_, mut store, pinned) = args.config.open_trusted(Create::IfMissing)?;
    let workflow = plan.body.workflow.name.to_string();
    let owner = plan.body.workflow.owner.to_string();
    let shown = files::shown(&args.file);
    if plans::approved(&store, &plan.fingerprint)
        .map_err(|e| runs::fail(&e, exit::USAGE))?
        .is_some()
    {
        if !args.sign.statement {
            outln!(
                "`{shown}` (plan {}) is approved already",
                short(&plan.fingerprint)
            );
        }
        return Ok(exit::OK);
    }
    let of_record =
        plans::owner_of_record(&store, &workflow).map_err(|e| runs::fail(&e, exit::USAGE))?;
    let fields = json!({ "workflow": workflow, "fingerprint": plan.fingerprint, "owner": owner });
    let acting = match args.sign.sign(&pinned, Act::ApprovePlan, fields, &[])? {
        Signing::Act(acting) => acting,
        Signing::Printed => return Ok(exit::OK),
    };
    let person = acting.person.as_str();
    // The role that may approve: the owner of record once there is one, else the file's.
    let needed = of_record.clone().unwrap_or_else(|| owner.clone());
    if !pinned.registry.has_role(person, &needed) || !pinned.registry.has_role(person, &owner) {
        let roles = pinned
            .registry
            .roles_of(person)
            .map(|r| r.join(", "))
            .unwrap_or_default();
        eprintln!(
            "error: `{person}` may not approve `{shown}`: that needs the owner role `{needed}`"
        );
        if of_record.as_deref().is_some_and(|r| r != owner) {
            eprintln!(
                "  help: workflow `{workflow}` is owned by `{needed}` on record, and this file names \
                 `{owner}`: a person with both roles must approve the change of owner"
            );
        } else {
            eprintln!("  help: {person}'s roles: {roles}");
        }
        return Err(exit::FINDINGS);
    }
    let data = PlanApproved {
        workflow: workflow.clone(),
        fingerprint: plan.fingerprint.clone(),
        owner: owner.clone(),
        source,
        file: file.display().to_string(),
    };
    let mut event = NewEvent {
        run: None,
        workflow,
        kind: EventKind::PlanApproved,
        person: Some(person.to_owned()),
        role: Some(owner),
        fingerprint: plan.fingerprint.clone(),
        step: None,
        data: crate::runtime::record::data(&data),
    };
    acting.proof.attach(&mut event.data);
    let stored = store.append(event).map_err(|error| {
        eprintln!("error: {error}");
        exit::USAGE
    })?;
    outln!(
        "approved: `{shown}` (plan {}) may run, approved by `{person}` (event {})",
        short(&plan.fingerprint),
        stored.seq
    );
    Ok(exit::OK)
}

fn short(fingerprint: &str) -> &str {
    fingerprint.get(..12).unwrap_or(fingerprint)
}
