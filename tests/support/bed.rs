//! A test bed for the end-to-end tests that drive the real `writ` binary (the `tests/it/`
//! modules runtime, runtime_guards, crash, autonomy and autonomy_rules).
//!
//! A [`Bed`] is one test's own folder: the test writes `writ.yaml`, its workflows and their
//! scripts into it, creates the databases its systems name, runs `writ` there ([`Bed::writ`])
//! and reads back what happened: the exit code and output ([`Outcome`]), the run's events
//! ([`Bed::events`], [`Bed::kinds`]) and the rows of a database ([`Bed::query_one`]).
//!
//! A module of the one test binary (`tests/it/`). What is specific to one test file
//! (its workflows, its config, helpers that know its step names) stays in that file.

// Not every helper is used by the tests of every area.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

use serde_json::Value;

/// The helpdesk of the examples: tickets 101 to 105 (workflows/data/helpdesk.sql).
pub const HELPDESK_SQL: &str = include_str!("../../workflows/data/helpdesk.sql");

/// A `writ.yaml` for workflows/ticket_triage.writ and its variants: an analyst, a support lead,
/// an ops lead, and the helpdesk at `helpdesk.db`.
pub const HELPDESK_CONFIG: &str = "\
state: .writ/state.db
people:
  ana: [analyst]
  sam: [support_lead]
  olu: [ops_lead]
systems:
  helpdesk: { sqlite: helpdesk.db }
";

/// One test's folder. Dropping it removes the folder, unless the test is failing: then it is
/// kept (and its path printed) to look into.
pub struct Bed {
    dir: PathBuf,
}

impl Bed {
    /// A fresh, empty folder under Cargo's temporary folder for tests. `name` must be unique
    /// within the test file (the file's crate name and the process id are added to it), so tests
    /// that run in parallel never share a folder. A folder left by an earlier run is removed.
    pub fn new(name: &str) -> Bed {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{}-{name}-{}",
            env!("CARGO_CRATE_NAME"),
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        Bed { dir }
    }

    /// The path of `relative` inside the folder.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    /// Writes `text` to `relative` (replacing it), creating the folders on the way.
    ///
    /// A config (`*.yaml`) that says nothing of identity is a development config here: the bed
    /// adds `identity: asserted`, so tests that are not about signing act with `--as NAME`
    /// (the signing tests write `signers:` and keys themselves).
    pub fn file(&self, relative: &str, text: &str) {
        let text = if relative.ends_with(".yaml")
            && text.contains("people:")
            && !text.contains("identity:")
            && !text.contains("signers:")
        {
            format!("{text}\nidentity: asserted\n")
        } else {
            text.to_owned()
        };
        let text = text.as_str();
        let path = self.path(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Writes an executable (mode 755) `relative`, e.g. `scripts/suggest` with a `#!/bin/sh`
    /// text.
    pub fn script(&self, relative: &str, text: &str) {
        self.file(relative, text);
        let path = self.path(relative);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    }

    /// Opens (creating it if missing) the SQLite database `relative`.
    pub fn db(&self, relative: &str) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path(relative))
            .unwrap_or_else(|e| panic!("open {relative}: {e}"))
    }

    /// Runs `batch` (one or more statements) on the database `relative`, creating it if missing.
    pub fn sql(&self, relative: &str, batch: &str) {
        self.db(relative)
            .execute_batch(batch)
            .unwrap_or_else(|e| panic!("{relative}: {e}\n{batch}"));
    }

    /// Creates the database `relative` from workflows/data/helpdesk.sql.
    pub fn helpdesk(&self, relative: &str) {
        self.sql(relative, HELPDESK_SQL);
    }

    /// The first column of the one row `query` returns from the database `relative`.
    #[track_caller]
    pub fn query_one<T: rusqlite::types::FromSql>(&self, relative: &str, query: &str) -> T {
        self.db(relative)
            .query_row(query, [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{relative}: {query}: {e}"))
    }

    /// Runs the `writ` binary in the folder with `args`. The environment is made the same for
    /// every test: `NO_COLOR=1`, and no `WRIT_FAULT` (crash injection) or `CRM_TOKEN` (the
    /// http tests' token) inherited from the shell that runs the tests.
    pub fn writ(&self, args: &[&str]) -> Outcome {
        self.writ_with_env(args, &[])
    }

    /// [`Bed::writ`] with the variables in `env` set (after the ones it removes, so
    /// `WRIT_FAULT` and `CRM_TOKEN` can be given here).
    pub fn writ_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        if let ["run", file, rest @ ..] = args {
            self.approve_for_run(file, rest, env);
        }
        self.writ_raw(args, env)
    }

    /// Before `writ run FILE` under a development config: `writ approve-plan FILE` as the
    /// first person with the workflow's owner role, as a team does once per version (a test
    /// about unapproved plans calls [`Bed::writ_raw`]). Does nothing when it cannot tell.
    fn approve_for_run(&self, file: &str, rest: &[&str], env: &[(&str, &str)]) {
        let config_name = rest
            .iter()
            .position(|a| *a == "--config")
            .and_then(|i| rest.get(i + 1))
            .copied()
            .unwrap_or("writ.yaml");
        let Ok(source) = fs::read_to_string(self.path(file)) else {
            return;
        };
        let Ok((plan, _)) = writ::plan::plan_source(&source) else {
            return;
        };
        let Ok(config) = writ::runtime::config::load(&self.path(config_name)) else {
            return;
        };
        let owner = plan.body.workflow.owner.to_string();
        let Some(person) = config
            .people
            .iter()
            .find(|(_, roles)| roles.contains(&owner))
            .map(|(name, _)| name.clone())
        else {
            return;
        };
        self.writ_raw(
            &[
                "approve-plan",
                file,
                "--as",
                &person,
                "--config",
                config_name,
            ],
            env,
        );
    }

    /// Runs `writ` with exactly `args` (no plan approved on the way).
    pub fn writ_raw(&self, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        let mut command = Command::new(env!("CARGO_BIN_EXE_writ"));
        command
            .args(args)
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .env_remove("WRIT_FAULT")
            .env_remove("CRM_TOKEN");
        for (key, value) in env {
            command.env(key, value);
        }
        let out = command.output().expect("the writ binary runs");
        Outcome {
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `writ run FILE --as PERSON --format json --input ...`: what it printed and the id of
    /// the run it started (it panics if the output names no run).
    #[track_caller]
    pub fn start(&self, file: &str, inputs: &[&str], person: &str) -> (Outcome, String) {
        self.start_with_env(file, inputs, person, &[])
    }

    /// [`Bed::start`] with the variables in `env` set.
    #[track_caller]
    pub fn start_with_env(
        &self,
        file: &str,
        inputs: &[&str],
        person: &str,
        env: &[(&str, &str)],
    ) -> (Outcome, String) {
        let mut args = vec!["run", file, "--as", person, "--format", "json"];
        for input in inputs {
            args.extend(["--input", input]);
        }
        let out = self.writ_with_env(&args, env);
        let run = out.json()["run"]
            .as_str()
            .unwrap_or_else(|| panic!("no run id in the output:\n{}", out.describe()))
            .to_owned();
        (out, run)
    }

    /// The run's events, oldest first, from `writ log RUN --format jsonl` (which must succeed).
    #[track_caller]
    pub fn events(&self, run: &str) -> Vec<Value> {
        let out = self.writ(&["log", run, "--format", "jsonl"]);
        assert_eq!(out.code, Some(0), "writ log {run}:\n{}", out.describe());
        out.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"))
            })
            .collect()
    }

    /// The `kind` of each of the run's events, oldest first.
    #[track_caller]
    pub fn kinds(&self, run: &str) -> Vec<String> {
        self.events(run)
            .iter()
            .map(|e| {
                e["kind"]
                    .as_str()
                    .expect("each event has a kind")
                    .to_owned()
            })
            .collect()
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("the test's folder is kept: {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// What one `writ` command did.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
    /// The signal that ended the process, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The one JSON value printed on stdout (panics, showing the whole outcome, otherwise).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{}", self.describe()))
    }

    /// The exit code (and signal), stdout and stderr, for an assertion's message.
    pub fn describe(&self) -> String {
        let signal = self
            .signal
            .map(|signal| format!(", signal {signal}"))
            .unwrap_or_default();
        format!(
            "exit {:?}{signal}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}
