//! Accountable people, end to end with real keys: every act a signed statement, the registry
//! pinned to the store, approved plans, signatures interoperable with OpenSSH's `ssh-keygen
//! -Y`, and the audit trail anchored by checkpoints. Each attack on the identity model is a
//! test here: it is refused, or `writ audit verify` catches it.
//!
//! Each test starts from `writ init` (keys made by `writ keygen` for ana, sam and olu, who is
//! the workflow's owner and an admin) in its own folder.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use serde_json::Value;
use writ::runtime::event::{EventKind, NewEvent};
use writ::runtime::store::Store;
use writ::runtime::store::sqlite::SqliteStore;

use crate::support::bed::{Bed, Outcome};

pub(crate) const TRIAGE: &str = "workflows/ticket_triage.writ";

#[track_caller]
pub(crate) fn code(out: &Outcome, expected: i32) {
    assert_eq!(out.code, Some(expected), "{}", out.describe());
}

/// A folder with the starter, its plan approved by olu.
pub(crate) fn starter(name: &str) -> Bed {
    let bed = Bed::new(name);
    code(&bed.writ_raw(&["init", "."], &[]), 0);
    code(
        &bed.writ_raw(&["approve-plan", TRIAGE, "--key", "keys/olu"], &[]),
        0,
    );
    bed
}

/// `writ run` as ana for ticket 105 (the model suggests `urgent`); the run waits for sam.
pub(crate) fn waiting(bed: &Bed) -> String {
    let out = bed.writ_raw(
        &[
            "run",
            TRIAGE,
            "--input",
            "ticket_id=105",
            "--key",
            "keys/ana",
            "--format",
            "json",
        ],
        &[],
    );
    code(&out, 3);
    out.json()["run"].as_str().expect("a run id").to_owned()
}

pub(crate) fn priority(bed: &Bed) -> String {
    bed.query_one(
        "data/helpdesk.db",
        "SELECT priority FROM tickets WHERE id = 105",
    )
}

pub(crate) fn audit(bed: &Bed, extra: &[&str]) -> Outcome {
    let mut args = vec!["audit", "verify"];
    args.extend(extra);
    bed.writ_raw(&args, &[])
}

pub(crate) fn ssh_keygen(bed: &Bed, args: &[&str]) -> std::process::Output {
    Command::new("ssh-keygen")
        .args(args)
        .current_dir(bed.path(""))
        .stdin(Stdio::null())
        .output()
        .expect("ssh-keygen runs (OpenSSH's client is installed by .ci/run)")
}

/// Rewrites the store's events from `from` on with `edit`, recomputing every hash after it,
/// as someone with the file and writ's source could.
pub(crate) fn rewrite(bed: &Bed, edit: impl Fn(&mut writ::runtime::event::Event)) {
    let path = bed.path(".writ/state.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut events = Vec::new();
    store
        .scan(&mut |e| {
            events.push(e);
            true
        })
        .unwrap();
    drop(store);
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; DELETE FROM events;",
    )
    .unwrap();
    let mut prev = writ::runtime::store::chain::GENESIS_HASH.to_owned();
    for mut event in events {
        edit(&mut event);
        let data = serde_json::to_string(&event.event.data).unwrap();
        event.prev_hash = prev.clone();
        let chained = writ::runtime::store::chain::Chained {
            seq: event.seq,
            at: &event.at,
            run: event.event.run.as_deref(),
            workflow: &event.event.workflow,
            kind: event.event.kind.as_str(),
            person: event.event.person.as_deref(),
            role: event.event.role.as_deref(),
            fingerprint: &event.event.fingerprint,
            step: event.event.step.as_deref(),
            data: &data,
            prev_hash: &event.prev_hash,
        };
        event.hash = chained.hash();
        db.execute(
            "INSERT INTO events (seq, at, run, workflow, kind, person, role, fingerprint, step, data, prev_hash, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            rusqlite::params![
                event.seq as i64, event.at, event.event.run, event.event.workflow,
                event.event.kind.as_str(), event.event.person, event.event.role,
                event.event.fingerprint, event.event.step, data, event.prev_hash, event.hash
            ],
        )
        .unwrap();
        prev = event.hash.clone();
    }
}

#[test]
fn a_signed_run_writes_and_every_signature_verifies_with_ssh_keygen() {
    let bed = starter("trust-happy");
    let run = waiting(&bed);
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/sam"], &[]),
        0,
    );
    code(&bed.writ_raw(&["resume", &run], &[]), 0);
    assert_eq!(priority(&bed), "urgent");
    let events = bed.events(&run);
    let signed: Vec<&Value> = events
        .iter()
        .filter(|e| e["statement"].is_string())
        .collect();
    let kinds: Vec<&str> = signed.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["run_started", "confirmed"]);
    for event in signed {
        let person = event["person"].as_str().unwrap();
        fs::write(bed.path("s.json"), event["statement"].as_str().unwrap()).unwrap();
        fs::write(bed.path("s.json.sig"), event["signature"].as_str().unwrap()).unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ssh-keygen -Y verify -f allowed_signers -I {person} -n writ -s s.json.sig < s.json"
            ))
            .current_dir(bed.path(""))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(event["identity"], "signed");
    }
    let out = audit(&bed, &[]);
    code(&out, 0);
    assert!(
        out.stdout.contains("3 signed acts hold"),
        "{}",
        out.describe()
    );
}

#[test]
fn a_signature_made_by_ssh_keygen_is_accepted_and_writ_keys_are_openssh_keys() {
    let bed = starter("trust-interop");
    let run = waiting(&bed);
    let out = bed.writ_raw(
        &["approve", &run, "lead_review", "--as", "sam", "--statement"],
        &[],
    );
    code(&out, 0);
    assert!(out.stdout.starts_with('{') && !out.stdout.ends_with('\n'));
    fs::write(bed.path("decision.json"), &out.stdout).unwrap();
    let signed = ssh_keygen(
        &bed,
        &[
            "-Y",
            "sign",
            "-n",
            "writ",
            "-f",
            "keys/sam",
            "decision.json",
        ],
    );
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    lacks_kind(&bed, &run, "confirmed");
    code(
        &bed.writ_raw(
            &[
                "approve",
                &run,
                "lead_review",
                "--signature",
                "decision.json.sig",
            ],
            &[],
        ),
        0,
    );
    code(&bed.writ_raw(&["resume", &run], &[]), 0);
    assert_eq!(priority(&bed), "urgent");
    // The private key writ made is one ssh-keygen reads, with the same public half.
    let public = ssh_keygen(&bed, &["-y", "-f", "keys/olu"]);
    let made = fs::read_to_string(bed.path("keys/olu.pub")).unwrap();
    let said = String::from_utf8_lossy(&public.stdout);
    assert_eq!(
        said.split_whitespace().nth(1),
        made.split_whitespace().nth(1)
    );
}

pub(crate) fn lacks_kind(bed: &Bed, run: &str, kind: &str) {
    assert!(
        !bed.kinds(run).iter().any(|k| k == kind),
        "{kind} in {:?}",
        bed.kinds(run)
    );
}

#[test]
fn nobody_acts_as_another_person() {
    let bed = starter("trust-impersonate");
    let run = waiting(&bed);
    // A typed name is not an identity in a signed store.
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--as", "sam"], &[]),
        2,
    );
    // Olu's key, sam's name.
    let out = bed.writ_raw(
        &[
            "approve",
            &run,
            "lead_review",
            "--as",
            "sam",
            "--key",
            "keys/olu",
        ],
        &[],
    );
    code(&out, 1);
    assert!(out.stderr.contains("not `sam`'s"), "{}", out.describe());
    // Ana started it: her own key is four eyes refused, whatever name she types.
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/ana"], &[]),
        1,
    );
    code(
        &bed.writ_raw(
            &[
                "approve",
                &run,
                "lead_review",
                "--as",
                "sam",
                "--key",
                "keys/ana",
            ],
            &[],
        ),
        1,
    );
    lacks_kind(&bed, &run, "confirmed");
    assert_eq!(priority(&bed), "low");
}

#[test]
fn a_second_config_or_an_edited_one_grants_nothing() {
    let bed = starter("trust-second-config");
    let run = waiting(&bed);
    // Mallory's own key (an ECDSA key made by OpenSSH) and a config of his naming the real store.
    let made = ssh_keygen(&bed, &["-t", "ecdsa", "-N", "", "-f", "mallory", "-q"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let public = fs::read_to_string(bed.path("mallory.pub")).unwrap();
    let signers = format!(
        "{}mallory {public}",
        fs::read_to_string(bed.path("allowed_signers")).unwrap()
    );
    fs::write(bed.path("other_signers"), signers).unwrap();
    let config = fs::read_to_string(bed.path("writ.yaml"))
        .unwrap()
        .replace("signers: allowed_signers", "signers: other_signers")
        .replace(
            "  sam: [support_lead]",
            "  sam: [support_lead]\n  mallory: [support_lead]",
        );
    fs::write(bed.path("other.yaml"), &config).unwrap();
    let out = bed.writ_raw(
        &[
            "approve",
            &run,
            "lead_review",
            "--key",
            "mallory",
            "--config",
            "other.yaml",
        ],
        &[],
    );
    code(&out, 1);
    assert!(out.stderr.contains("does not trust"), "{}", out.describe());
    // The same edit made to writ.yaml itself.
    fs::copy(bed.path("other.yaml"), bed.path("writ.yaml")).unwrap();
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "mallory"], &[]),
        1,
    );
    // Sam cannot bless it either: only an admin of the pinned registry.
    let out = bed.writ_raw(&["registry", "update", "--key", "keys/sam"], &[]);
    code(&out, 1);
    assert!(out.stderr.contains("admin"), "{}", out.describe());
    // Olu (admin) records the change; from then on mallory is a person of the store.
    code(
        &bed.writ_raw(&["registry", "update", "--key", "keys/olu"], &[]),
        0,
    );
    lacks_kind(&bed, &run, "confirmed");
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "mallory"], &[]),
        0,
    );
    code(&audit(&bed, &[]), 0);
}

#[test]
fn an_event_inserted_by_hand_is_not_acted_on_and_audit_catches_it() {
    let bed = starter("trust-inserted");
    let run = waiting(&bed);
    // The request's gates, copied into a `confirmed` "by sam" with no valid signature.
    let requested = bed
        .events(&run)
        .into_iter()
        .find(|e| e["kind"] == "confirmation_requested")
        .unwrap();
    let fingerprint = requested["fingerprint"].as_str().unwrap().to_owned();
    let mut store = SqliteStore::open(&bed.path(".writ/state.db")).unwrap();
    store
        .append(NewEvent {
            run: Some(run.clone()),
            workflow: "ticket_triage".into(),
            kind: EventKind::Confirmed,
            person: Some("sam".into()),
            role: Some("support_lead".into()),
            fingerprint,
            step: Some("lead_review".into()),
            data: serde_json::json!({
                "shows": requested["data"]["shows"],
                "gates": requested["data"]["gates"],
                "identity": "signed",
                "statement": "{}",
                "signature": "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
            }),
        })
        .unwrap();
    drop(store);
    let out = bed.writ_raw(&["resume", &run, "--format", "json"], &[]);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    assert_eq!(priority(&bed), "low", "a forged decision was acted on");
    lacks_kind(&bed, &run, "written");
    let out = audit(&bed, &[]);
    code(&out, 1);
    assert!(out.stdout.contains("tampered"), "{}", out.describe());
}

#[test]
fn checkpoints_catch_a_rewritten_chain_a_cut_tail_and_a_missing_or_swapped_store() {
    let bed = starter("trust-checkpoint");
    let run = waiting(&bed);
    let out = bed.writ_raw(&["audit", "checkpoint", "--key", "keys/olu"], &[]);
    code(&out, 0);
    fs::write(bed.path("cp.txt"), &out.stdout).unwrap();
    let holds = audit(&bed, &["--checkpoint", "cp.txt"]);
    code(&holds, 0);
    assert!(
        holds.stdout.contains("cosigned by olu"),
        "{}",
        holds.describe()
    );
    let store = bed.path(".writ/state.db");
    let original = fs::read(&store).unwrap();

    // The recommendation rewritten and every hash after it recomputed: the chain alone is
    // consistent again, the checkpoint is not.
    rewrite(&bed, |e| {
        if e.event.kind == EventKind::Recommended {
            e.event.data["values"]["priority"] = "low".into();
        }
    });
    code(&audit(&bed, &[]), 0);
    let out = audit(&bed, &["--checkpoint", "cp.txt"]);
    code(&out, 1);
    assert!(out.stdout.contains("rewritten"), "{}", out.describe());

    // The tail cut: the newest events deleted.
    fs::write(&store, &original).unwrap();
    let db = rusqlite::Connection::open(&store).unwrap();
    db.execute_batch("DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > 3;")
        .unwrap();
    drop(db);
    code(&audit(&bed, &[]), 0);
    let out = audit(&bed, &["--checkpoint", "cp.txt"]);
    code(&out, 1);
    assert!(out.stdout.contains("cut"), "{}", out.describe());

    // The store deleted: an error without a checkpoint, tampering with one.
    fs::remove_file(&store).unwrap();
    let _ = fs::remove_file(bed.path(".writ/state.db-wal"));
    let _ = fs::remove_file(bed.path(".writ/state.db-shm"));
    code(&audit(&bed, &[]), 2);
    code(&audit(&bed, &["--checkpoint", "cp.txt"]), 1);

    // Another store in its place (made afresh by the same config): not the checkpoint's.
    let _ = run;
    code(
        &bed.writ_raw(&["approve-plan", TRIAGE, "--key", "keys/olu"], &[]),
        0,
    );
    let out = audit(&bed, &["--checkpoint", "cp.txt"]);
    code(&out, 1);
    assert!(out.stdout.contains("tampered"), "{}", out.describe());
}

#[test]
fn only_approved_plans_run_and_a_look_alike_cannot_take_the_workflow_over() {
    let bed = Bed::new("trust-plans");
    code(&bed.writ_raw(&["init", "."], &[]), 0);
    let out = bed.writ_raw(
        &[
            "run",
            TRIAGE,
            "--input",
            "ticket_id=105",
            "--key",
            "keys/ana",
        ],
        &[],
    );
    code(&out, 1);
    assert!(
        out.stderr.contains("writ approve-plan"),
        "{}",
        out.describe()
    );
    // Only the owner role approves.
    code(
        &bed.writ_raw(&["approve-plan", TRIAGE, "--key", "keys/sam"], &[]),
        1,
    );
    code(
        &bed.writ_raw(&["approve-plan", TRIAGE, "--key", "keys/olu"], &[]),
        0,
    );
    // A copy with the same name that makes sam's role its owner.
    let source = fs::read_to_string(bed.path(TRIAGE)).unwrap();
    let fake = source.replace("owner ops_lead", "owner support_lead");
    assert_ne!(fake, source);
    fs::write(bed.path("workflows/fake.writ"), &fake).unwrap();
    let out = bed.writ_raw(
        &["approve-plan", "workflows/fake.writ", "--key", "keys/sam"],
        &[],
    );
    code(&out, 1);
    assert!(out.stderr.contains("on record"), "{}", out.describe());
    // Nor can sam revive the real one after a kill by naming his file.
    code(
        &bed.writ_raw(
            &[
                "kill",
                "ticket_triage",
                "--key",
                "keys/ana",
                "--reason",
                "test",
            ],
            &[],
        ),
        0,
    );
    code(
        &bed.writ_raw(&["revive", "workflows/fake.writ", "--key", "keys/sam"], &[]),
        1,
    );
    code(
        &bed.writ_raw(&["revive", "ticket_triage", "--key", "keys/olu"], &[]),
        0,
    );
    code(&audit(&bed, &[]), 0);
}

#[test]
fn a_decision_that_no_longer_holds_allows_no_write() {
    let bed = starter("trust-revoked");
    let run = waiting(&bed);
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/sam"], &[]),
        0,
    );
    // Before the write, sam's key is revoked (valid-before in the past) and recorded by olu.
    let signers = fs::read_to_string(bed.path("allowed_signers"))
        .unwrap()
        .replace(
            "sam ssh-ed25519",
            "sam valid-before=\"20200101\" ssh-ed25519",
        );
    fs::write(bed.path("allowed_signers"), signers).unwrap();
    code(&bed.writ_raw(&["resume", &run], &[]), 1);
    code(
        &bed.writ_raw(&["registry", "update", "--key", "keys/olu"], &[]),
        0,
    );
    let out = bed.writ_raw(&["resume", &run], &[]);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    assert_eq!(priority(&bed), "low");
    lacks_kind(&bed, &run, "written");
    // A revoked key cannot sign anything new either.
    let run2 = waiting(&bed);
    code(
        &bed.writ_raw(&["approve", &run2, "lead_review", "--key", "keys/sam"], &[]),
        1,
    );
}

#[test]
fn bad_signatures_and_statements_are_refused_and_record_nothing() {
    let bed = starter("trust-bad-input");
    let run = waiting(&bed);
    let before = bed.kinds(&run).len();
    let statement = bed
        .writ_raw(
            &["approve", &run, "lead_review", "--as", "sam", "--statement"],
            &[],
        )
        .stdout;
    fs::write(bed.path("d.json"), &statement).unwrap();
    assert!(
        ssh_keygen(
            &bed,
            &["-Y", "sign", "-n", "writ", "-f", "keys/sam", "d.json"]
        )
        .status
        .success()
    );
    let good = fs::read_to_string(bed.path("d.json.sig")).unwrap();
    let approve = |bed: &Bed| {
        bed.writ_raw(
            &["approve", &run, "lead_review", "--signature", "d.json.sig"],
            &[],
        )
    };

    // Truncated.
    fs::write(bed.path("d.json.sig"), &good[..good.len() / 2]).unwrap();
    code(&approve(&bed), 1);
    // Over other bytes: the statement changed after signing (a different note).
    fs::write(bed.path("d.json.sig"), &good).unwrap();
    fs::write(
        bed.path("d.json"),
        statement.replace("\"note\":null", "\"note\":\"x\""),
    )
    .unwrap();
    code(&approve(&bed), 1);
    // A statement with an extra field, properly signed.
    let extra = statement.replacen('{', "{\"also\":\"delete everything\",", 1);
    fs::write(bed.path("d.json"), &extra).unwrap();
    let _ = fs::remove_file(bed.path("d.json.sig"));
    assert!(
        ssh_keygen(
            &bed,
            &["-Y", "sign", "-n", "writ", "-f", "keys/sam", "d.json"]
        )
        .status
        .success()
    );
    code(&approve(&bed), 1);
    // Signed in another namespace.
    fs::write(bed.path("d.json"), &statement).unwrap();
    let _ = fs::remove_file(bed.path("d.json.sig"));
    assert!(
        ssh_keygen(
            &bed,
            &["-Y", "sign", "-n", "git", "-f", "keys/sam", "d.json"]
        )
        .status
        .success()
    );
    code(&approve(&bed), 1);
    // By a key nobody registered (made by ssh-keygen).
    assert!(
        ssh_keygen(&bed, &["-t", "ed25519", "-N", "", "-f", "stranger", "-q"])
            .status
            .success()
    );
    code(
        &bed.writ_raw(
            &[
                "approve",
                &run,
                "lead_review",
                "--as",
                "sam",
                "--key",
                "stranger",
            ],
            &[],
        ),
        1,
    );
    // An encrypted key without its passphrase.
    assert!(
        ssh_keygen(
            &bed,
            &["-t", "ed25519", "-N", "secret", "-f", "locked", "-q"]
        )
        .status
        .success()
    );
    let out = bed.writ_raw(
        &[
            "approve",
            &run,
            "lead_review",
            "--as",
            "sam",
            "--key",
            "locked",
        ],
        &[],
    );
    code(&out, 1);
    assert!(out.stderr.contains("encrypted"), "{}", out.describe());
    assert_eq!(
        bed.kinds(&run).len(),
        before,
        "a refused act recorded something"
    );
    // And the good one still works.
    fs::write(bed.path("d.json"), &statement).unwrap();
    fs::write(bed.path("d.json.sig"), &good).unwrap();
    code(&approve(&bed), 0);
}

#[test]
fn files_are_private_and_a_config_others_may_write_is_refused() {
    let bed = starter("trust-modes");
    let mode = |p: &str| fs::metadata(bed.path(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(".writ"), 0o700);
    assert_eq!(mode(".writ/state.db"), 0o600);
    assert_eq!(mode(".writ/runner_key"), 0o600);
    assert_eq!(mode("keys/sam"), 0o600);
    fs::set_permissions(bed.path("writ.yaml"), fs::Permissions::from_mode(0o666)).unwrap();
    let out = bed.writ_raw(&["status"], &[]);
    code(&out, 1);
    assert!(out.stderr.contains("other users"), "{}", out.describe());
    fs::set_permissions(bed.path("writ.yaml"), fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(
        bed.path("allowed_signers"),
        fs::Permissions::from_mode(0o662),
    )
    .unwrap();
    code(&bed.writ_raw(&["status"], &[]), 1);
}

#[test]
fn event_times_never_go_backwards() {
    let bed = starter("trust-clock");
    // The last event dated far ahead (as a clock set forward, then back, would leave it).
    rewrite(&bed, |e| {
        if e.event.kind == EventKind::PlanApproved {
            e.at = "2999-01-01T00:00:00.000Z".into();
        }
    });
    let out = bed.writ_raw(
        &[
            "kill",
            "ticket_triage",
            "--key",
            "keys/ana",
            "--reason",
            "x",
        ],
        &[],
    );
    assert_ne!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stderr.contains("never go backwards"),
        "{}",
        out.describe()
    );
    // A store whose times run backwards is reported by the audit.
    let run = {
        let bed2 = starter("trust-clock-2");
        let run = waiting(&bed2);
        rewrite(&bed2, |e| {
            if e.event.kind == EventKind::RunStarted {
                e.at = "2000-01-01T00:00:00.000Z".into();
            }
        });
        let out = audit(&bed2, &[]);
        code(&out, 1);
        assert!(
            out.stdout.contains("before the event before it"),
            "{}",
            out.describe()
        );
        run
    };
    assert!(!run.is_empty());
}

#[test]
fn a_quorum_needs_that_many_distinct_signers_each_its_own_event() {
    let bed = Bed::new("trust-quorum");
    code(&bed.writ_raw(&["init", "."], &[]), 0);
    code(&bed.writ_raw(&["keygen", "--out", "keys/kim"], &[]), 0);
    let kim = fs::read_to_string(bed.path("keys/kim.pub")).unwrap();
    let mut signers = fs::read_to_string(bed.path("allowed_signers")).unwrap();
    signers.push_str(&format!("kim {kim}"));
    fs::write(bed.path("allowed_signers"), signers).unwrap();
    let config = fs::read_to_string(bed.path("writ.yaml")).unwrap().replace(
        "  sam: [support_lead]",
        "  sam: [support_lead]\n  kim: [support_lead]",
    );
    fs::write(bed.path("writ.yaml"), config).unwrap();
    let source = fs::read_to_string(bed.path(TRIAGE)).unwrap();
    let two = source.replace("by support_lead", "by 2 of support_lead");
    assert_ne!(two, source);
    fs::write(bed.path(TRIAGE), two).unwrap();
    code(
        &bed.writ_raw(&["approve-plan", TRIAGE, "--key", "keys/olu"], &[]),
        0,
    );
    let run = waiting(&bed);

    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/sam"], &[]),
        0,
    );
    let status = bed.writ_raw(&["status", &run, "--format", "json"], &[]);
    assert_eq!(status.json()["status"], "waiting", "{}", status.describe());
    // The same person twice does not make two.
    let again = bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/sam"], &[]);
    code(&again, 1);
    assert!(again.stderr.contains("already"), "{}", again.describe());
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/ana"], &[]),
        1,
    );
    code(&bed.writ_raw(&["resume", &run], &[]), 3);
    assert_eq!(priority(&bed), "low");

    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/kim"], &[]),
        0,
    );
    code(&bed.writ_raw(&["resume", &run], &[]), 0);
    assert_eq!(priority(&bed), "urgent");
    let confirmed: Vec<String> = bed
        .events(&run)
        .iter()
        .filter(|e| e["kind"] == "confirmed")
        .map(|e| e["person"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(confirmed, ["sam", "kim"]);
    code(&audit(&bed, &[]), 0);
}

#[test]
fn a_key_held_by_ssh_agent_signs_through_writ_key() {
    let bed = starter("trust-agent");
    let run = waiting(&bed);
    let socket = bed.path("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ssh-agent starts");
    for _ in 0..100 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sock = socket.to_str().unwrap();
    let added = Command::new("ssh-add")
        .arg("keys/sam")
        .env("SSH_AUTH_SOCK", sock)
        .current_dir(bed.path(""))
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    // Only the public half is named: the agent signs.
    fs::rename(bed.path("keys/sam"), bed.path("keys/sam.away")).unwrap();
    let out = bed.writ_raw(
        &["approve", &run, "lead_review"],
        &[("SSH_AUTH_SOCK", sock), ("WRIT_KEY", "keys/sam.pub")],
    );
    let _ = agent.kill();
    let _ = agent.wait();
    code(&out, 0);
    code(&bed.writ_raw(&["resume", &run], &[]), 0);
    assert_eq!(priority(&bed), "urgent");
}

#[test]
fn asserted_identity_is_said_on_every_act_in_status_log_and_audit() {
    let bed = Bed::new("trust-asserted");
    code(&bed.writ_raw(&["init", "."], &[]), 0);
    let config = fs::read_to_string(bed.path("writ.yaml"))
        .unwrap()
        .replace("identity: signed", "identity: asserted");
    fs::write(bed.path("writ.yaml"), config).unwrap();
    code(
        &bed.writ_raw(&["approve-plan", TRIAGE, "--as", "olu"], &[]),
        0,
    );
    let out = bed.writ_raw(
        &[
            "run",
            TRIAGE,
            "--input",
            "ticket_id=105",
            "--as",
            "ana",
            "--format",
            "json",
        ],
        &[],
    );
    code(&out, 3);
    let run = out.json()["run"].as_str().unwrap().to_owned();
    assert_eq!(out.json()["identity"], "asserted");
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--as", "sam"], &[]),
        0,
    );
    let status = bed.writ_raw(&["status", &run], &[]);
    assert!(
        status.stdout.contains("identity: asserted"),
        "{}",
        status.describe()
    );
    let log = bed.writ_raw(&["log", &run], &[]);
    assert!(
        log.stdout.contains("sam (support_lead) [asserted]"),
        "{}",
        log.describe()
    );
    let audit = audit(&bed, &[]);
    code(&audit, 0);
    assert!(
        audit.stdout.contains("only asserted"),
        "{}",
        audit.describe()
    );
    // The store was made asserted: a signed config is another registry, refused until an
    // admin records the change.
    let signed = fs::read_to_string(bed.path("writ.yaml"))
        .unwrap()
        .replace("identity: asserted", "identity: signed");
    fs::write(bed.path("writ.yaml"), signed).unwrap();
    code(&bed.writ_raw(&["status", &run], &[]), 1);
}

#[test]
fn the_readme_demo_runs_end_to_end_with_signed_decisions() {
    let bed = Bed::new("trust-demo");
    let out = bed.writ_raw(&["demo", "demo"], &[]);
    code(&out, 0);
    for said in [
        "approved: `workflows/ticket_triage.writ`",
        "cannot also confirm its steps (four eyes)",
        "priority urgent",
        "Good \"writ\" signature for sam",
        "checkpoint `checkpoint.txt` holds",
        "intact: 9 events",
    ] {
        assert!(
            out.stdout.contains(said) || out.stderr.contains(said),
            "{said}:\n{}",
            out.describe()
        );
    }
    // A folder that is not empty is refused, and nothing is written into it.
    let again = bed.writ_raw(&["demo", "demo"], &[]);
    code(&again, 2);
}

#[test]
fn a_decision_dated_after_its_deadline_never_counts() {
    let bed = starter("trust-late");
    // A version whose confirm expires after 2 s.
    let source = fs::read_to_string(bed.path(TRIAGE)).unwrap();
    let short = source.replace("expires 4h -> escalate ops_lead", "expires 2s -> reject");
    assert_ne!(short, source);
    fs::write(bed.path(TRIAGE), short).unwrap();
    code(
        &bed.writ_raw(&["approve-plan", TRIAGE, "--key", "keys/olu"], &[]),
        0,
    );
    let run = waiting(&bed);
    code(
        &bed.writ_raw(&["approve", &run, "lead_review", "--key", "keys/sam"], &[]),
        0,
    );
    let requested = bed
        .events(&run)
        .into_iter()
        .find(|e| e["kind"] == "confirmation_requested")
        .unwrap();
    let deadline = requested["data"]["deadline"].as_str().unwrap().to_owned();
    // The approval's time moved to its deadline, as a clock set back at approval time would
    // have let it be made late; its signature still holds.
    rewrite(&bed, |e| {
        if e.event.kind == EventKind::Confirmed {
            e.at = deadline.clone();
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let out = bed.writ_raw(&["resume", &run, "--format", "json"], &[]);
    assert_eq!(out.json()["status"], "expired", "{}", out.describe());
    assert_eq!(priority(&bed), "low", "a late decision allowed the write");
}
