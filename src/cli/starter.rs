//! The starter set `writ init` writes and `writ demo` runs: a SQLite helpdesk made from
//! `workflows/data/helpdesk.sql`, the ticket triage workflow and its stand-in model in
//! `workflows/`, a runtime config, and for each person (ana, an analyst; sam, a support lead;
//! olu, the ops lead and admin) an ed25519 key pair in `keys/` listed in `allowed_signers`.
//!
//! The workflow has a folder of its own because its programs see that folder (read-only) and
//! nothing of the config, the signers, the keys or the store beside it. The keys are for a
//! development setup: in production each person makes their own (`writ keygen` or
//! `ssh-keygen -t ed25519`) and only the public halves reach the signers file.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::identity::keygen;

const WORKFLOW: &str = include_str!("../../workflows/ticket_triage.writ");
const SCRIPT: &str = include_str!("../../workflows/scripts/suggest_priority");
const HELPDESK: &str = include_str!("../../workflows/data/helpdesk.sql");
const CONFIG: &str = "\
# writ's runtime config (docs/config.md). Paths are relative to this file's folder.
state: .writ/state.db            # the store: created 0600 in a 0700 folder
signers: allowed_signers         # OpenSSH allowed_signers: principal = person
identity: signed                 # people act only through signed statements
people:
  ana: [analyst]
  sam: [support_lead]
  olu: [ops_lead, admin]
systems:
  helpdesk: { sqlite: data/helpdesk.db }
";

/// Where the starter's workflow is, relative to its folder.
pub const WORKFLOW_FILE: &str = "workflows/ticket_triage.writ";

/// The people of the starter, with their roles as the config lists them.
pub const PEOPLE: [&str; 3] = ["ana", "sam", "olu"];

/// Writes the starter into `dir` (created if missing; it must hold no `writ.yaml` yet, and
/// nothing is overwritten).
pub fn write(dir: &Path) -> Result<(), String> {
    if dir.join("writ.yaml").exists() {
        return Err(format!(
            "`{}` has a writ.yaml already; name a new folder",
            dir.display()
        ));
    }
    let io = |what: &Path| {
        let what = what.display().to_string();
        move |e: std::io::Error| format!("`{what}`: {e}")
    };
    for folder in ["workflows/scripts", "data", "keys"] {
        fs::create_dir_all(dir.join(folder)).map_err(io(&dir.join(folder)))?;
    }
    fs::set_permissions(dir.join("keys"), fs::Permissions::from_mode(0o700))
        .map_err(io(&dir.join("keys")))?;
    new_file(&dir.join(WORKFLOW_FILE), WORKFLOW, 0o644)?;
    new_file(&dir.join("writ.yaml"), CONFIG, 0o644)?;
    new_file(
        &dir.join("workflows/scripts/suggest_priority"),
        SCRIPT,
        0o755,
    )?;
    let mut signers = String::from(
        "# Who may act: one line per key, principal = person (man ssh-keygen, ALLOWED SIGNERS).\n",
    );
    for person in PEOPLE {
        let key = dir.join("keys").join(person);
        let public = keygen(&key, &format!("{person}@writ-starter")).map_err(|e| e.to_string())?;
        signers.push_str(&format!("{person} {}\n", public.to_openssh()));
    }
    new_file(&dir.join("allowed_signers"), &signers, 0o644)?;
    let db_path = dir.join("data/helpdesk.db");
    if db_path.exists() {
        return Err(format!("`{}` exists already", db_path.display()));
    }
    let db = rusqlite::Connection::open(&db_path).map_err(|e| e.to_string())?;
    db.execute_batch(HELPDESK).map_err(|e| e.to_string())
}

fn new_file(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("`{}`: {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| format!("`{}`: {e}", path.display()))
}
