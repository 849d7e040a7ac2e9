//! `writ plan --format text`: one screen a confirmer can read. Each write with who approves it,
//! which confirmation comes before it, how it is reversed and who repairs, then a verdict line.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::plan::{Plan, PlanAction, PlanRollback, PlanStep, PlanValue, WriteFacts};

pub(super) fn render(plan: &Plan) -> String {
    let mut out = String::new();
    header(&mut out, plan);
    systems_and_inputs(&mut out, plan);
    steps(&mut out, plan);
    writes(&mut out, plan);
    programs(&mut out, plan);
    verdict(&mut out, plan);
    // Titles, descriptions and actions come from a file someone wrote: nothing in them may
    // reorder or hide what the confirmer reads.
    crate::shown::escape_lines(&out)
}

fn header(out: &mut String, plan: &Plan) {
    let w = &plan.body.workflow;
    let _ = match &w.title {
        Some(title) => writeln!(out, "plan `{}`: {title}", w.name),
        None => writeln!(out, "plan `{}`", w.name),
    };
    if let Some(description) = &w.description {
        let _ = writeln!(out, "  {description}");
    }
    let _ = writeln!(out, "owner        {}", w.owner);
    let _ = writeln!(out, "fingerprint  {}", plan.fingerprint);
}

fn systems_and_inputs(out: &mut String, plan: &Plan) {
    if !plan.body.systems.is_empty() {
        let _ = writeln!(out, "\nsystems");
        for s in &plan.body.systems {
            let envelope = if s.envelope == "inside" {
                "INSIDE the envelope (a system of record)"
            } else {
                "outside the envelope (advisory)"
            };
            let _ = writeln!(out, "  {:<20} {:<7} {envelope}", s.name, s.connector);
        }
    }
    if !plan.body.inputs.is_empty() {
        let _ = writeln!(out, "\ninputs");
        for i in &plan.body.inputs {
            let default = i
                .default
                .as_ref()
                .map_or(String::new(), |d| format!(" = {d}"));
            let _ = writeln!(out, "  {}: {}{default}", i.name, i.ty);
        }
    }
}

fn steps(out: &mut String, plan: &Plan) {
    let _ = writeln!(out, "\nsteps, in order");
    for (i, step) in plan.body.steps.iter().enumerate() {
        let after = if step.after.is_empty() {
            String::new()
        } else {
            format!("  (after {})", step.after.join(", "))
        };
        let _ = writeln!(out, "  {:>3}. {} {}{after}", i + 1, step.kind, step.name);
        for (label, text) in step_details(step) {
            let _ = writeln!(out, "         {label:<8} {text}");
        }
    }
}

/// The lines under a step's heading; an execute's detail is in the `writes` section.
fn step_details(step: &PlanStep) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    if let Some(by) = &step.by {
        lines.push(("by", by.to_string()));
    }
    if !step.reads.is_empty() {
        lines.push(("reads", step.reads.join(", ")));
    }
    if let Some(writes) = &step.writes {
        let risk = step.risk.unwrap_or("?");
        lines.push((
            "writes",
            format!("{writes}, risk {risk} (see writes below)"),
        ));
    } else if let Some(run) = &step.run {
        lines.push(("runs", action_text(run)));
    }
    if !step.yields.is_empty() && step.writes.is_none() {
        let fields: Vec<String> = step
            .yields
            .iter()
            .map(|f| format!("{}: {}", f.name, f.ty))
            .collect();
        lines.push(("yields", fields.join(", ")));
    }
    if !step.shows.is_empty() {
        lines.push(("shows", step.shows.join(", ")));
    }
    if let Some(expiry) = &step.expires {
        let outcome = expiry
            .escalate_to
            .as_ref()
            .map_or("reject".to_owned(), |r| format!("escalate to {r}"));
        lines.push(("expires", format!("after {} -> {outcome}", expiry.written)));
    }
    lines
}

fn writes(out: &mut String, plan: &Plan) {
    if plan.body.writes.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nwrites");
    let lookup = Lookup {
        steps: plan
            .body
            .steps
            .iter()
            .map(|s| (s.name.as_str(), s))
            .collect(),
        rollbacks: plan
            .body
            .rollbacks
            .iter()
            .map(|r| (r.name.as_str(), r))
            .collect(),
    };
    for facts in &plan.body.writes {
        write_block(out, &lookup, facts);
    }
}

/// Steps and rollbacks by name, so each write block is found without a scan.
struct Lookup<'p> {
    steps: HashMap<&'p str, &'p PlanStep>,
    rollbacks: HashMap<&'p str, &'p PlanRollback>,
}

fn write_block(out: &mut String, lookup: &Lookup<'_>, facts: &WriteFacts) {
    let envelope = if facts.envelope == "inside" {
        "INSIDE the envelope"
    } else {
        "outside the envelope"
    };
    let _ = writeln!(
        out,
        "  {} -> {} ({}, {envelope}), risk {}",
        facts.step, facts.system, facts.connector, facts.risk
    );
    let _ = writeln!(
        out,
        "    approver      {}, confirmed at {}",
        facts.approver,
        facts.confirmed_by.join(", ")
    );
    let step = lookup.steps.get(facts.step.as_str());
    if let Some(capture) = step.and_then(|s| s.capture.as_ref()) {
        let _ = writeln!(out, "    before-image  {}", action_text(capture));
    }
    if let Some(run) = step.and_then(|s| s.run.as_ref()) {
        let _ = writeln!(out, "    action        {}", action_text(run));
    }
    if let Some(verify) = step.and_then(|s| s.verify.as_ref()) {
        let _ = writeln!(out, "    verified by   {}", action_text(verify));
    }
    let rollback = lookup.rollbacks.get(facts.rollback.as_str());
    match rollback {
        Some(r) => {
            let _ = writeln!(out, "    reversed by   {}: {}", r.name, action_text(&r.run));
        }
        None => {
            let _ = writeln!(out, "    reversed by   {}", facts.rollback);
        }
    }
    let repair = facts.repair_by.as_deref().unwrap_or("nobody named (W0303)");
    let _ = writeln!(out, "    repaired by   {repair}");
    let autonomy = match &facts.auto {
        Some(gate) => format!(
            "earned: confirmed for {} while acceptance >= {} over {} (min {} decisions{})",
            facts.approver,
            percent(gate.acceptance_basis_points),
            gate.over_written,
            gate.min_decisions,
            if gate.no_critical {
                ", no critical errors"
            } else {
                ""
            }
        ),
        None => "none: a human confirms every run".to_owned(),
    };
    let _ = writeln!(out, "    autonomy      {autonomy}");
}

/// Every program the workflow runs, by step: what the AI side executes, named plainly (a
/// recommend program is code too, and only the sandbox keeps it from writing).
fn programs(out: &mut String, plan: &Plan) {
    let mut lines = Vec::new();
    for step in &plan.body.steps {
        let actions = [("run", &step.run), ("verify", &step.verify)];
        for (clause, action) in actions {
            if let Some(PlanAction::Exec { program, args }) = action {
                let args: Vec<String> = args.iter().map(value_text).collect();
                lines.push(format!(
                    "  {:<20} {:<9} {clause:<6} {program:?} [{}]",
                    step.name,
                    step.kind,
                    args.join(", ")
                ));
            }
        }
    }
    if !lines.is_empty() {
        let _ = writeln!(
            out,
            "\nprograms run, each in the sandbox (a recommend or verify program writes only its scratch folder)"
        );
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// How many steps run a program.
fn program_count(plan: &Plan) -> usize {
    plan.body
        .steps
        .iter()
        .filter(|s| {
            [&s.run, &s.verify]
                .into_iter()
                .any(|a| matches!(a, Some(PlanAction::Exec { .. })))
        })
        .count()
}

fn verdict(out: &mut String, plan: &Plan) {
    let writes = plan.body.writes.len();
    let inside = plan
        .body
        .writes
        .iter()
        .filter(|w| w.envelope == "inside")
        .count();
    let auto = plan.body.writes.iter().filter(|w| w.auto.is_some()).count();
    let programs = program_count(plan);
    let line = if writes == 0 && programs == 0 {
        "verdict: no approved writes; its actions are read-only queries".to_owned()
    } else if writes == 0 {
        format!(
            "verdict: no approved writes; {programs} step{} run{} a program, which the runtime's \
             sandbox keeps from writing any system",
            if programs == 1 { "" } else { "s" },
            if programs == 1 { "s" } else { "" }
        )
    } else {
        format!(
            "verdict: {writes} write{}, {inside} inside the envelope, {auto} with earned autonomy; \
             every write has an approver who confirms before it and a rollback",
            if writes == 1 { "" } else { "s" }
        )
    };
    let _ = writeln!(out, "\n{line}");
}

fn percent(basis_points: u64) -> String {
    let (whole, fraction) = (basis_points / 100, basis_points % 100);
    match fraction {
        0 => format!("{whole}%"),
        f if f % 10 == 0 => format!("{whole}.{}%", f / 10),
        f => format!("{whole}.{f:02}%"),
    }
}

/// An action written back the way the workflow file says it.
pub(super) fn action_text(action: &PlanAction) -> String {
    match action {
        PlanAction::Sqlite { sql, .. } => format!("sql {sql:?}"),
        PlanAction::Exec { program, args } => {
            let args: Vec<String> = args.iter().map(value_text).collect();
            format!("exec {program:?} [{}]", args.join(", "))
        }
        PlanAction::Http {
            method, url, body, ..
        } => {
            let body = body.as_ref().map_or(String::new(), |entries| {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", value_text(v)))
                    .collect();
                format!(" json {{ {} }}", entries.join(", "))
            });
            format!("http {method} {url:?}{body}")
        }
    }
}

fn value_text(value: &PlanValue) -> String {
    match value {
        PlanValue::Reference { reference } => reference.clone(),
        PlanValue::Literal(literal) => literal.to_string(),
    }
}
