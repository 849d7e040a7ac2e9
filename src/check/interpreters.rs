//! W0306: a recommend program that is a shell or an interpreter given code on its command
//! line (`sh -c "..."`, `python3 -c "..."`, `node -e "..."`). The checker cannot see what such
//! code does: `sh -c "sqlite3 helpdesk.db 'UPDATE ...'"` writes a system while every rule on
//! reads holds. The exec sandbox keeps it from writing, but what a workflow runs should be a
//! program in the workflow's folder that a reviewer can read.

use super::model::Model;
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::*;

/// Programs that run code given as an argument, and the flags that give it.
const INTERPRETERS: &[(&[&str], &[&str])] = &[
    (
        &[
            "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "busybox",
        ],
        &["-c"],
    ),
    (&["python", "python2", "python3", "pypy", "pypy3"], &["-c"]),
    (
        &["node", "nodejs", "deno", "bun"],
        &["-e", "--eval", "-p", "--print", "eval"],
    ),
    (&["perl", "ruby"], &["-e", "-E"]),
    (&["php"], &["-r"]),
    (&["lua", "luajit", "osascript"], &["-e"]),
    (&["pwsh", "powershell"], &["-c", "-command", "-Command"]),
];

pub(crate) fn check(model: &Model<'_>, out: &mut Vec<Diagnostic>) {
    for info in &model.steps {
        if info.kind() != StepKind::Recommend {
            continue;
        }
        let Some((Action::Exec(exec), _)) = info.clauses.run else {
            continue;
        };
        if let Some(flag) = code_flag(exec) {
            out.push(
                Diagnostic::new(
                    Code::W0306,
                    format!(
                        "recommend step `{}` runs code given on the command line (`{} {flag}`)",
                        info.step.name.name,
                        basename(&exec.program.value)
                    ),
                    exec.program.span,
                    "what this code does is not checked: it could write a system",
                )
                .help("put the code in a script in the workflow's folder and run that script"),
            );
        }
    }
}

/// The flag that hands code to an interpreter, if `exec` runs one with it (`env` in front
/// looked through).
fn code_flag(exec: &Exec) -> Option<&str> {
    let texts: Vec<&str> = exec
        .args
        .iter()
        .map(|arg| match arg {
            Value::Literal(Literal {
                value: LiteralValue::Text(text),
                ..
            }) => text.as_str(),
            _ => "",
        })
        .collect();
    let mut program = basename(&exec.program.value);
    let mut args = texts.as_slice();
    if program == "env"
        && let Some((first, rest)) = args.split_first()
    {
        program = basename(first);
        args = rest;
    }
    let (_, flags) = INTERPRETERS
        .iter()
        .find(|(names, _)| names.contains(&program))?;
    let shell = flags == &["-c"] && program != "python" && !program.starts_with("py");
    args.iter().copied().find(|arg| {
        flags.contains(arg)
            // `sh -ec "..."`: short flags run together.
            || (shell && arg.starts_with('-') && !arg.starts_with("--") && arg.contains('c'))
    })
}

fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}
