//! `writ run FILE --input k=v ... --key K [--as P] [--context TEXT]`: starts a run of an
//! approved plan and drives it until it is done (exit 0), waits for a human (3) or failed after
//! rollback (1).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::exit;
use super::files;
use super::report::Format;
use super::runs::{self, exit_for, show};
use super::runtime_args::ConfigArg;
use super::runtime_args::trusted;
use super::sign::{SignArgs, Signing};
use crate::plan::Plan;
use crate::runtime::engine::{Engine, Mode, new_run_id};
use crate::runtime::lock;
use crate::runtime::store::Store;
use crate::runtime::trust::statement::Act;
use crate::runtime::trust::{Create, plans};
use crate::runtime::value::Value;
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// The workflow file.
    file: PathBuf,
    /// An input, `name=value`, parsed by the input's declared type (repeatable).
    #[arg(long = "input", value_name = "NAME=VALUE")]
    inputs: Vec<String>,
    #[command(flatten)]
    sign: SignArgs,
    /// What triggered the run (a ticket, an alert): kept for the audit trail.
    #[arg(long, value_name = "TEXT")]
    context: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    config: ConfigArg,
}

pub fn run(args: &Args) -> u8 {
    match start(args) {
        Ok(code) | Err(code) => code,
    }
}

fn start(args: &Args) -> Result<u8, u8> {
    let config = args.config.load()?;
    let file = std::path::absolute(&args.file).unwrap_or_else(|_| args.file.clone());
    let plan = runs::load_plan(&file)?;
    let inputs = inputs(&plan, &args.inputs)?;
    let (store, pinned) = trusted(&config, Create::IfMissing)?;
    // Only an approved version runs, and from the source its approval keeps.
    if plans::approved(&store, &plan.fingerprint)
        .map_err(|e| runs::fail(&e, exit::USAGE))?
        .is_none()
    {
        let name = files::shown(&args.file);
        eprintln!(
            "error: this version of `{}` ({name}, plan {}) is not approved to run",
            plan.body.workflow.name,
            plan.fingerprint.get(..12).unwrap_or(&plan.fingerprint)
        );
        eprintln!(
            "  help: a person with its owner role `{}` approves it: `writ approve-plan {name} --key KEY`",
            plan.body.workflow.owner
        );
        return Err(exit::FINDINGS);
    }
    let id = new_run_id();
    let fields = json!({
        "run": id,
        "workflow": plan.body.workflow.name,
        "fingerprint": plan.fingerprint,
        "inputs": inputs,
        "context": args.context,
    });
    let acting = match args.sign.sign(&pinned, Act::StartRun, fields, &["run"])? {
        Signing::Act(acting) => acting,
        Signing::Printed => return Ok(exit::OK),
    };
    // A submitted statement names its own run id: a new one, in writ's form.
    let id = match acting
        .statement
        .get("run")
        .and_then(serde_json::Value::as_str)
    {
        Some(given) if lock::is_run_id(given) => given.to_owned(),
        Some(given) => {
            eprintln!("error: `{given}` is not a run id writ makes");
            return Err(exit::FINDINGS);
        }
        None => id,
    };
    if store.run_events(&id).map(|e| !e.is_empty()).unwrap_or(true) {
        eprintln!("error: run `{id}` exists already: a statement starts one run, once");
        return Err(exit::FINDINGS);
    }
    let concurrency = config.limits.concurrency;
    let state_path = config.state.clone();
    let shared = runs::shared(plan, config, store, &file)?;
    shared
        .systems
        .check_tokens()
        .map_err(|e| runs::fail(&e, exit::USAGE))?;
    // Locked before the run exists, so no other process can act on it between its first
    // event and this one driving it.
    let _guard = lock::lock(&state_path, &id).map_err(|e| runs::fail(&e, exit::FINDINGS))?;
    let context = args.context.clone();
    let mut engine = Engine::start(
        shared,
        id,
        &file,
        inputs,
        &acting.person,
        context,
        &acting.proof,
    )
    .map_err(|e| runs::fail(&e, exit::USAGE))?;
    runs::drive(&mut engine, Mode::Run, concurrency)?;
    Ok(exit_for(show(engine.state(), args.format)))
}

/// A given value in a message: escaped and cut to 80 characters, so a hostile or huge
/// `--input` cannot flood the terminal or drive it.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(80).collect();
    let more = if text.chars().nth(80).is_some() {
        "…"
    } else {
        ""
    };
    format!("{}{more}", crate::shown::escape(&cut))
}

/// `--input name=value` pairs, each parsed by its input's type; defaults fill the rest. Every
/// problem is reported, then exit 2.
fn inputs(plan: &Plan, given: &[String]) -> Result<BTreeMap<String, Value>, u8> {
    let mut values = BTreeMap::new();
    let mut problems = Vec::new();
    // Inputs already reported as given (badly): not reported again as missing.
    let mut named: Vec<&str> = Vec::new();
    let declared = &plan.body.inputs;
    for pair in given {
        let Some((name, text)) = pair.split_once('=') else {
            problems.push(format!("`--input {}` is not `name=value`", shown(pair)));
            continue;
        };
        let Some(input) = declared.iter().find(|i| i.name == name) else {
            let names: Vec<&str> = declared.iter().map(|i| i.name.as_str()).collect();
            problems.push(format!(
                "the workflow has no input `{}` (its inputs: {})",
                shown(name),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ));
            continue;
        };
        named.push(input.name.as_str());
        match Value::parse_as(text, input.ty) {
            Some(value) if values.insert(name.to_owned(), value.clone()).is_none() => {}
            Some(_) => problems.push(format!("input `{name}` is given twice")),
            None => problems.push(format!(
                "input `{name}` is `{}`, and `{}` is not one",
                input.ty,
                shown(text)
            )),
        }
    }
    for input in declared {
        if values.contains_key(input.name.as_str()) || named.contains(&input.name.as_str()) {
            continue;
        }
        match input
            .default
            .as_ref()
            .and_then(|d| Value::from_json(d, input.ty))
        {
            Some(value) => {
                values.insert(input.name.to_string(), value);
            }
            None => problems.push(format!(
                "input `{}` ({}) is required: `--input {}=VALUE`",
                input.name, input.ty, input.name
            )),
        }
    }
    if problems.is_empty() {
        return Ok(values);
    }
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    eprintln!("nothing was run");
    Err(exit::USAGE)
}
