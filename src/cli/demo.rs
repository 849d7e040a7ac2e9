//! `writ demo [DIR]`: the whole loop on the embedded default, end to end, with nothing but
//! writ itself: the starter `writ init` writes (a SQLite helpdesk, the ticket triage workflow,
//! a config, keys and signers for ana, sam and olu) in DIR (default: a new folder under the
//! system's temporary folder); then the real commands, each printed before it runs, so every
//! step can be repeated by hand: olu approves the plan, ana starts the run (it waits for a
//! support lead), her own approval is refused, sam signs his, the run resumes and writes the
//! helpdesk; the log, sam's signature checked by `ssh-keygen -Y verify`, a checkpoint and the
//! audit are shown.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{exit, starter};

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
    outln!("# writ demo in {}\n", dir.display());
    match walk_through(&dir) {
        Ok(()) => {
            outln!(
                "\n# done: try `writ rollback RUN --key keys/olu`, `writ status`, in {}",
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
    starter::write(dir)
}

fn walk_through(dir: &Path) -> Result<(), String> {
    outln!("# `writ init` wrote a config, keys for ana, sam and olu, and allowed_signers.");
    outln!("# olu owns the workflow (ops_lead): only a version he signed may run.");
    writ(
        dir,
        &["approve-plan", starter::WORKFLOW_FILE, "--key", "keys/olu"],
        exit::OK,
    )?;
    show_ticket(dir, "before")?;
    let started = writ(
        dir,
        &[
            "run",
            starter::WORKFLOW_FILE,
            "--input",
            &format!("ticket_id={TICKET}"),
            "--key",
            "keys/ana",
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
    outln!("# ana started the run, so her signed approval is refused (four eyes):");
    writ(
        dir,
        &["approve", &run, "lead_review", "--key", "keys/ana"],
        exit::FINDINGS,
    )?;
    outln!("# sam signs the approval with his key; his statement names this run, this step,");
    outln!("# this plan and the exact write it allows:");
    writ(
        dir,
        &[
            "approve",
            &run,
            "lead_review",
            "--key",
            "keys/sam",
            "--note",
            "outage: agreed",
        ],
        exit::OK,
    )?;
    writ(dir, &["resume", &run], exit::OK)?;
    show_ticket(dir, "after")?;
    writ(dir, &["log", &run], exit::OK)?;
    verify_offline(dir, &run)?;
    let checkpoint = writ(dir, &["audit", "checkpoint"], exit::OK)?;
    fs::write(dir.join("checkpoint.txt"), checkpoint).map_err(|e| e.to_string())?;
    writ(
        dir,
        &["audit", "verify", "--checkpoint", "checkpoint.txt"],
        exit::OK,
    )?;
    Ok(())
}

/// Sam's decision checked with stock OpenSSH, as an auditor would, from what `writ log
/// --format jsonl` gives: the signed statement and its signature.
fn verify_offline(dir: &Path, run: &str) -> Result<(), String> {
    let log = writ_quiet(dir, &["log", run, "--format", "jsonl"])?;
    let confirmed = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["kind"] == "confirmed")
        .ok_or("the log has no `confirmed` event")?;
    let (Some(statement), Some(signature)) = (
        confirmed["statement"].as_str(),
        confirmed["signature"].as_str(),
    ) else {
        return Err("the decision carries no statement".into());
    };
    fs::write(dir.join("decision.json"), statement).map_err(|e| e.to_string())?;
    fs::write(dir.join("decision.json.sig"), signature).map_err(|e| e.to_string())?;
    outln!(
        "# sam's decision, checked offline with OpenSSH (statement and signature from the log):"
    );
    outln!(
        "$ ssh-keygen -Y verify -f allowed_signers -I sam -n writ -s decision.json.sig < decision.json"
    );
    let input = fs::File::open(dir.join("decision.json")).map_err(|e| e.to_string())?;
    match Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-f",
            "allowed_signers",
            "-I",
            "sam",
            "-n",
            "writ",
            "-s",
        ])
        .arg("decision.json.sig")
        .current_dir(dir)
        .stdin(input)
        .output()
    {
        Ok(out) => {
            out!("{}", String::from_utf8_lossy(&out.stdout));
            out!("{}", String::from_utf8_lossy(&out.stderr));
            outln!("(exit {})\n", out.status.code().unwrap_or(-1));
            if !out.status.success() {
                return Err("ssh-keygen did not accept sam's signature".into());
            }
        }
        Err(_) => outln!("(ssh-keygen is not installed here: run the line above where it is)\n"),
    }
    Ok(())
}

fn writ_quiet(dir: &Path, args: &[&str]) -> Result<String, String> {
    let program = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
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
    outln!("$ writ {}", shown.join(" "));
    let program = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    out!("{stdout}");
    out!("{}", String::from_utf8_lossy(&output.stderr));
    let code = output.status.code().unwrap_or(-1);
    outln!("(exit {code})\n");
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
    outln!("# ticket {TICKET} {when}: \"{subject}\", priority {priority}\n");
    Ok(())
}
