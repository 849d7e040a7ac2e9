//! `writ log`'s text form: one line per event that a person can read at a glance (who, what,
//! and the few facts that matter); `--format jsonl` keeps every field.

use crate::runtime::event::{Event, EventKind};
use crate::runtime::record::{
    AutoConfirmed, BeforeImage, Decided, Ended, Escalated, Gate, Recommended, Requested, Reversal,
    RunStarted, Switch, WriteRefused, Wrote,
};
use crate::runtime::value::Value;

pub fn line(event: &Event) -> String {
    let e = &event.event;
    let who = match (&e.person, &e.role) {
        (Some(person), Some(role)) if !role.is_empty() => format!("{person} ({role})"),
        (Some(person), _) => person.clone(),
        (None, Some(role)) => format!("writ for {role}"),
        (None, None) => "writ".to_owned(),
    };
    // A typed name (development) is marked as such on every line it acts in.
    let asserted = crate::runtime::trust::Proof::of(&e.data)
        .is_some_and(|p| p.identity == crate::runtime::config::Identity::Asserted);
    let who = if asserted {
        format!("{who} [asserted]")
    } else {
        who
    };
    let line = format!(
        "{:>5}  {}  {:<22} {:<18} {:<20} {}",
        event.seq,
        event.at,
        e.kind.as_str(),
        e.step.as_deref().unwrap_or("-"),
        who,
        summary(event)
    );
    escape_controls(&line)
}

/// Free text (a context, a note, a reason, a program's stderr) must not forge a log line or
/// drive the terminal: control, bidi and zero-width characters are shown as escapes.
fn escape_controls(text: &str) -> String {
    crate::shown::escape(text)
}

use crate::runtime::trust::open::RegistryChanged;
use crate::runtime::trust::plans::PlanApproved;

fn read<T: serde::de::DeserializeOwned>(event: &Event) -> Option<T> {
    T::deserialize(&event.event.data).ok()
}

/// The facts of one event, short; the raw data when it cannot be read as its kind.
fn summary(event: &Event) -> String {
    let text = match event.event.kind {
        EventKind::RunStarted => read::<RunStarted>(event).map(|d| {
            let inputs: Vec<String> = d.inputs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let context = d
                .context
                .map(|c| format!("; context: {c}"))
                .unwrap_or_default();
            format!("inputs {}{context}", inputs.join(" "))
        }),
        EventKind::Recommended => read::<Recommended>(event).map(|d| values(d.values.iter())),
        EventKind::ConfirmationRequested => read::<Requested>(event).map(|d| {
            let deadline = d.deadline.map(|t| format!(", by {t}")).unwrap_or_default();
            format!("for a `{}`{deadline}; {}", d.role, allows(&d.gates))
        }),
        EventKind::Confirmed | EventKind::Rejected | EventKind::Expired => read::<Decided>(event)
            .map(|d| {
                let note = d.note.map(|n| format!("\"{n}\"; ")).unwrap_or_default();
                let late = d
                    .deadline
                    .map(|t| format!("deadline {t} passed; "))
                    .unwrap_or_default();
                format!("{late}{note}{}", allows(&d.gates))
            }),
        EventKind::Escalated => {
            read::<Escalated>(event).map(|d| format!("to `{}`, new deadline {}", d.to, d.deadline))
        }
        EventKind::AutoConfirmed => read::<AutoConfirmed>(event).map(|d| {
            let f = d.figures;
            format!(
                "acceptance {}.{:02}% of {} decisions (needs {}.{:02}%, min {}), critical {}; {}",
                f.acceptance_basis_points / 100,
                f.acceptance_basis_points % 100,
                f.decisions,
                f.required_basis_points / 100,
                f.required_basis_points % 100,
                f.min_decisions,
                f.critical,
                allows(&d.gates)
            )
        }),
        EventKind::BeforeImage => read::<BeforeImage>(event).map(|d| match d.before.as_deref() {
            Some([row]) => format!("{} before: {}", d.system, values(row.iter())),
            Some(rows) => format!("{} before: {} rows", d.system, rows.len()),
            None => format!("{}: about to call", d.system),
        }),
        EventKind::WriteRefused => read::<WriteRefused>(event).map(|d| {
            let status = d.status.map(|s| format!(" {s}")).unwrap_or_default();
            format!(
                "{} refused{status}: {}; nothing applied",
                d.system, d.reason
            )
        }),
        EventKind::Written | EventKind::Drafted => read::<Wrote>(event).map(|d| {
            let changes = d
                .changes
                .map(|c| format!(" ({c} rows)"))
                .unwrap_or_default();
            let recovered = if d.recovered {
                " (found committed after a crash)"
            } else {
                ""
            };
            let killed = d
                .killed_by
                .map(|seq| format!(" (killed by event {seq}: nothing written)"))
                .unwrap_or_default();
            format!("{}: {}{changes}{recovered}{killed}", d.system, d.action)
        }),
        EventKind::Verified => read::<crate::runtime::record::Verified>(event)
            .map(|d| format!("verify passed: {}", d.action)),
        EventKind::RollbackStarted | EventKind::RolledBack | EventKind::RollbackFailed => {
            read::<Reversal>(event).map(|d| {
                let error = d
                    .error
                    .map(|e| format!(": {e}; repair by `{}`", d.repair_by))
                    .unwrap_or_default();
                format!("undoes `{}`{error}", d.undoes)
            })
        }
        EventKind::RunFinished | EventKind::RunFailed => read::<Ended>(event).map(|d| {
            let mut text = d.status.as_str().to_owned();
            if let Some(step) = d.step {
                text.push_str(&format!(" at `{step}`"));
            }
            if let Some(reason) = d.reason {
                text.push_str(&format!(": {reason}"));
            }
            if !d.repair_by.is_empty() {
                text.push_str(&format!("; repair by `{}`", d.repair_by.join("`, `")));
            }
            text
        }),
        EventKind::WorkflowKilled | EventKind::WorkflowRevived => read::<Switch>(event).map(|d| {
            let scope = d
                .system
                .map(|s| format!("system `{s}`"))
                .unwrap_or_default();
            format!("{scope} {}", d.reason.unwrap_or_default())
        }),
        EventKind::PlanApproved => read::<PlanApproved>(event).map(|d| {
            format!(
                "`{}` {} (owner `{}`) may run",
                d.workflow,
                d.fingerprint.get(..12).unwrap_or(&d.fingerprint),
                d.owner
            )
        }),
        EventKind::RegistryChanged => read::<RegistryChanged>(event).map(|d| {
            let kind = if d.genesis {
                "store created, trusting"
            } else {
                "now trusts"
            };
            format!(
                "{kind} {} people ({} keys), identity {}",
                d.registry.people.len(),
                d.registry.signers.len(),
                d.registry.identity.as_str()
            )
        }),
    };
    text.unwrap_or_else(|| event.event.data.to_string())
}

fn values<'a>(
    pairs: impl Iterator<Item = (&'a (impl std::fmt::Display + 'a), &'a Value)>,
) -> String {
    pairs
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn allows(gates: &[Gate]) -> String {
    if gates.is_empty() {
        return "allows no write".to_owned();
    }
    let each: Vec<String> = gates
        .iter()
        .map(|g| format!("`{}` {}", g.step, g.hash.get(..12).unwrap_or(&g.hash)))
        .collect();
    format!("allows {}", each.join(", "))
}
