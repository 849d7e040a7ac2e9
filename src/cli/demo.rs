//! `writ demo [DIR]`: the whole loop on the embedded default, end to end, with nothing but
//! writ itself: a SQLite helpdesk made from `workflows/data/helpdesk.sql`, the ticket triage
//! workflow of docs/language.md, and a runtime config, written into DIR (default: a new folder under
//! the system's temporary folder); then the real commands, each printed before it runs, so
//! every step can be repeated by hand: ana starts the run (it waits for a support lead), sam
//! approves, the run resumes and writes the helpdesk, the log and the hash chain are shown.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::exit;

const WORKFLOW: &str = include_str!("../../workflows/ticket_triage.writ");
const SCRIPT: &str = include_str!("../../workflows/scripts/suggest_priority");
const HELPDESK: &str = include_str!("../../workflows/data/helpdesk.sql");
const CONFIG: &str = "\
# The runtime config of the demo (docs/config.md).
state: .writ/state.db
people:
  ana: [analyst]
  sam: [support_lead]
  olu: [ops_lead]
systems:
  helpdesk: { sqlite: data/helpdesk.db }
";
/// Ticket 105 is `low`; the stand-in model suggests `urgent` for it.
const TICKET: &str = "105";

#[derive(clap::Args)]
pub struct Args {
    /// Where to set the demo up: a new or empty folder (default: a new temporary folder).
    dir: Option<PathBuf>,
}

pub fn run(args: &Args) -> u8 {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("writ-demo-{}", std::process::id())),
    };
    if let Err(error) = set_up(&dir) {
        eprintln!(
            "error: cannot set the demo up in `{}`: {error}",
            dir.display()
        );
        return exit::USAGE;
    }
    println!("# writ demo in {}\n", dir.display());
    match walk_through(&dir) {
        Ok(()) => {
            println!(
                "\n# done: try `writ rollback RUN --as olu`, `writ status`, in {}",
                dir.display()
            );
            exit::OK
        }
        Err(message) => {
            eprintln!("error: the demo stopped: {message}");
            exit::FINDINGS
        }
    }
}

fn set_up(dir: &Path) -> Result<(), String> {
    if dir.exists()
        && fs::read_dir(dir)
            .map_err(|e| e.to_string())?
            .next()
            .is_some()
    {
        return Err("the folder is not empty; name a new one".to_owned());
    }
    let io = |e: std::io::Error| e.to_string();
    fs::create_dir_all(dir.join("scripts")).map_err(io)?;
    fs::create_dir_all(dir.join("data")).map_err(io)?;
    fs::write(dir.join("ticket_triage.writ"), WORKFLOW).map_err(io)?;
    fs::write(dir.join("writ.yaml"), CONFIG).map_err(io)?;
    let script = dir.join("scripts/suggest_priority");
    fs::write(&script, SCRIPT).map_err(io)?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).map_err(io)?;
    let db = rusqlite::Connection::open(dir.join("data/helpdesk.db")).map_err(|e| e.to_string())?;
    db.execute_batch(HELPDESK).map_err(|e| e.to_string())
}

fn walk_through(dir: &Path) -> Result<(), String> {
    show_ticket(dir, "before")?;
    let started = writ(
        dir,
        &[
            "run",
            "ticket_triage.writ",
            "--input",
            &format!("ticket_id={TICKET}"),
            "--as",
            "ana",
            "--context",
            "customer called about ticket 105",
            "--format",
            "json",
        ],
        exit::WAITING,
    )?;
    let run = serde_json::from_str::<serde_json::Value>(&started)
        .ok()
        .and_then(|v| v.get("run")?.as_str().map(str::to_owned))
        .ok_or("`writ run` printed no run id")?;
    writ(dir, &["status", &run], exit::OK)?;
    println!("# ana started the run, so she cannot approve it (four eyes):");
    writ(
        dir,
        &["approve", &run, "lead_review", "--as", "ana"],
        exit::FINDINGS,
    )?;
    writ(
        dir,
        &[
            "approve",
            &run,
            "lead_review",
            "--as",
            "sam",
            "--note",
            "outage: agreed",
        ],
        exit::OK,
    )?;
    writ(dir, &["resume", &run], exit::OK)?;
    show_ticket(dir, "after")?;
    writ(dir, &["log", &run], exit::OK)?;
    writ(dir, &["audit", "verify"], exit::OK)?;
    Ok(())
}

/// Runs `writ ARGS` in `dir` as a user would, printing the command and its output; the exit
/// code must be `expected`. Returns its standard output.
fn writ(dir: &Path, args: &[&str], expected: u8) -> Result<String, String> {
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("\"{a}\"")
            } else {
                (*a).to_owned()
            }
        })
        .collect();
    println!("$ writ {}", shown.join(" "));
    let program = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    print!("{stdout}");
    print!("{}", String::from_utf8_lossy(&output.stderr));
    let code = output.status.code().unwrap_or(-1);
    println!("(exit {code})\n");
    if code != i32::from(expected) {
        return Err(format!(
            "`writ {}` exited {code}, expected {expected}",
            args.join(" ")
        ));
    }
    Ok(stdout)
}

fn show_ticket(dir: &Path, when: &str) -> Result<(), String> {
    let db = rusqlite::Connection::open(dir.join("data/helpdesk.db")).map_err(|e| e.to_string())?;
    let (subject, priority): (String, String) = db
        .query_row(
            "SELECT subject, priority FROM tickets WHERE id = ?1",
            [TICKET],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(|e| e.to_string())?;
    println!("# ticket {TICKET} {when}: \"{subject}\", priority {priority}\n");
    Ok(())
}
