//! writ's identity primitives against the real OpenSSH tools: signatures writ makes verify with
//! `ssh-keygen -Y verify`, signatures `ssh-keygen -Y sign` makes verify with writ, signing goes
//! through a real `ssh-agent`, and checkpoint notes hold or are refused.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use ssh_encoding::base64::{Base64, Encoding};
use writ::identity::canonical::to_canonical;
use writ::identity::note::{self, Checkpoint, NoteError, RunnerKey};
use writ::identity::{
    AllowedSigners, KeyError, PublicKey, Signature, Signer, VerifyError, keygen, verify,
};

use crate::support::bed::Bed;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A decision statement in canonical form, as the runtime signs one.
fn statement() -> Vec<u8> {
    to_canonical(&json!({
        "kind": "decision", "run": "r-1", "step": "approve_refund",
        "fingerprint": "3f".repeat(32), "decision": "approve", "note": "ok by phone €",
        "at": 1_764_000_000,
    }))
    .unwrap()
}

fn run(command: &mut Command) -> std::process::Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `ssh-keygen -t KIND -N '' -f DIR/NAME`: the private key's path.
fn ssh_keygen(bed: &Bed, name: &str, kind: &[&str]) -> PathBuf {
    let path = bed.path(name);
    run(Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-C", name])
        .args(kind)
        .arg("-f")
        .arg(&path));
    path
}

fn public_line(key: &Path) -> String {
    let mut pub_path = key.as_os_str().to_owned();
    pub_path.push(".pub");
    fs::read_to_string(pub_path).unwrap()
}

fn pub_path(key: &Path) -> PathBuf {
    let mut pub_path = key.as_os_str().to_owned();
    pub_path.push(".pub");
    PathBuf::from(pub_path)
}

/// Writes an allowed_signers file and returns its path and parsed registry.
fn registry(bed: &Bed, name: &str, lines: &[String]) -> (PathBuf, AllowedSigners) {
    let text = lines.join("\n") + "\n";
    bed.file(name, &text);
    (bed.path(name), AllowedSigners::parse(&text).unwrap())
}

/// `ssh-keygen -Y verify -f ALLOWED -I PERSON -n writ -s SIG < MESSAGE`: whether it accepts.
fn ssh_verifies(allowed: &Path, person: &str, signature: &str, message: &[u8], bed: &Bed) -> bool {
    bed.file("check.sig", signature);
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "writ", "-I", person, "-f"])
        .arg(allowed)
        .arg("-s")
        .arg(bed.path("check.sig"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), message).unwrap();
    child.wait().unwrap().success()
}

/// `ssh-keygen -Y sign -n NAMESPACE -f KEY` over `message`: the armored signature.
fn ssh_sign(bed: &Bed, key: &Path, namespace: &str, extra: &[&str], message: &[u8]) -> String {
    let file = bed.path("message");
    fs::write(&file, message).unwrap();
    let _ = fs::remove_file(bed.path("message.sig"));
    run(Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", namespace])
        .args(extra)
        .arg("-f")
        .arg(key)
        .arg(&file));
    fs::read_to_string(bed.path("message.sig")).unwrap()
}

const KINDS: [(&str, &[&str]); 3] = [
    ("ed25519", &["-t", "ed25519"]),
    ("p256", &["-t", "ecdsa", "-b", "256"]),
    ("rsa", &["-t", "rsa", "-b", "2048"]),
];

#[test]
fn writ_signatures_verify_with_ssh_keygen() {
    let bed = Bed::new("identity-writ-signs");
    let mut keys: Vec<PathBuf> = KINDS
        .iter()
        .map(|(name, kind)| ssh_keygen(&bed, name, kind))
        .collect();
    let made = bed.path("made");
    keygen(&made, "made by writ").unwrap();
    keys.push(made);
    let lines: Vec<String> = keys
        .iter()
        .map(|k| format!("ana {}", public_line(k)))
        .collect();
    let (allowed, signers) = registry(&bed, "allowed_signers", &lines);
    let message = statement();
    for key in &keys {
        let signer = Signer::open_with_agent(key, None).unwrap();
        let signature = signer
            .sign(&message)
            .unwrap_or_else(|e| panic!("{}: {e}", key.display()));
        assert!(
            signature
                .armored()
                .starts_with("-----BEGIN SSH SIGNATURE-----\n")
        );
        assert!(
            signature
                .armored()
                .ends_with("-----END SSH SIGNATURE-----\n")
        );
        assert!(
            ssh_verifies(&allowed, "ana", signature.armored(), &message, &bed),
            "{}",
            key.display()
        );
        assert!(!ssh_verifies(
            &allowed,
            "bo",
            signature.armored(),
            &message,
            &bed
        ));
        let verified = verify(&signers, &message, &signature, now()).unwrap();
        assert_eq!(verified.principals, ["ana"]);
        assert_eq!(verified.key, signer.public_key());
    }
}

#[test]
fn ssh_keygen_signatures_verify_with_writ() {
    let bed = Bed::new("identity-ssh-signs");
    let message = statement();
    for (name, kind) in KINDS {
        let key = ssh_keygen(&bed, name, kind);
        let (_, signers) = registry(
            &bed,
            "allowed_signers",
            &[format!("sam {}", public_line(&key))],
        );
        for extra in [&[][..], &["-O", "hashalg=sha256"][..]] {
            let armored = ssh_sign(&bed, &key, "writ", extra, &message);
            let signature = Signature::parse(&armored).unwrap();
            // writ's armor is ssh-keygen's, byte for byte.
            assert_eq!(signature.armored(), armored, "{name}");
            let verified = verify(&signers, &message, &signature, now()).unwrap();
            assert_eq!(verified.principals, ["sam"], "{name} {extra:?}");
            assert_eq!(
                signature.public_key(),
                PublicKey::from_openssh(&public_line(&key)).unwrap()
            );
        }
    }
}

/// An ssh-agent on a socket of the test's own, killed when dropped.
struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Agent {
    fn start(bed: &Bed) -> Agent {
        let socket = bed.path("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !socket.exists() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "ssh-agent did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Agent { child, socket }
    }
    fn add(&self, key: &Path) {
        run(Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stderr(Stdio::null()));
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn signing_through_ssh_agent() {
    let bed = Bed::new("identity-agent");
    let agent = Agent::start(&bed);
    let message = statement();
    let mut lines = Vec::new();
    let mut held = Vec::new();
    for (name, kind) in [KINDS[0], KINDS[2]] {
        let key = ssh_keygen(&bed, name, kind);
        agent.add(&key);
        lines.push(format!("olu {}", public_line(&key)));
        held.push(key);
    }
    let (allowed, signers) = registry(&bed, "allowed_signers", &lines);
    for key in &held {
        // The private key file is gone: only the agent can sign now.
        fs::remove_file(key).unwrap();
        let signer = Signer::open_with_agent(&pub_path(key), Some(&agent.socket)).unwrap();
        let signature = signer.sign(&message).unwrap();
        assert!(ssh_verifies(
            &allowed,
            "olu",
            signature.armored(),
            &message,
            &bed
        ));
        assert_eq!(
            verify(&signers, &message, &signature, now())
                .unwrap()
                .principals,
            ["olu"]
        );
    }
    let stranger = ssh_keygen(&bed, "stranger", &["-t", "ed25519"]);
    let err = Signer::open_with_agent(&pub_path(&stranger), Some(&agent.socket)).err();
    assert!(matches!(err, Some(KeyError::Agent { .. })), "{err:?}");
    let err = Signer::open_with_agent(&pub_path(&stranger), None).err();
    assert!(
        matches!(&err, Some(KeyError::Agent { reason, .. }) if reason.contains("SSH_AUTH_SOCK")),
        "{err:?}"
    );
}

#[test]
fn unreadable_signatures_are_refused() {
    let bed = Bed::new("identity-unreadable");
    let key = ssh_keygen(&bed, "ana", &["-t", "ed25519"]);
    let armored = ssh_sign(&bed, &key, "writ", &[], &statement());
    let lines: Vec<&str> = armored.lines().collect();
    let truncated = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[lines.len() - 1]);
    let cut = &armored[..armored.len() / 2];
    let foreign = armored.replace("SSH SIGNATURE", "PGP SIGNATURE");
    let trailing = format!("{armored}more text\n");
    let leading = format!("text first\n{armored}");
    for bad in ["", "hello", cut, &truncated, &foreign, &trailing, &leading] {
        assert!(Signature::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn signatures_that_do_not_hold_are_refused() {
    let bed = Bed::new("identity-refusals");
    let key = ssh_keygen(&bed, "ana", &["-t", "ed25519"]);
    let other = ssh_keygen(&bed, "other", &["-t", "ed25519"]);
    let (_, signers) = registry(
        &bed,
        "allowed_signers",
        &[format!("ana {}", public_line(&key))],
    );
    let message = statement();
    let good = Signature::parse(&ssh_sign(&bed, &key, "writ", &[], &message)).unwrap();
    assert!(verify(&signers, &message, &good, now()).is_ok());

    // Altered: the last byte of the signature itself.
    let mut bytes = good.to_bytes();
    *bytes.last_mut().unwrap() ^= 1;
    let altered = Signature::from_bytes(&bytes).unwrap();
    assert_eq!(
        verify(&signers, &message, &altered, now()),
        Err(VerifyError::Mismatch)
    );

    // Over other bytes.
    let mut changed = message.clone();
    changed[3] ^= 1;
    assert_eq!(
        verify(&signers, &changed, &good, now()),
        Err(VerifyError::Mismatch)
    );

    // Another namespace.
    let git = Signature::parse(&ssh_sign(&bed, &key, "git", &[], &message)).unwrap();
    assert_eq!(
        verify(&signers, &message, &git, now()),
        Err(VerifyError::Namespace("git".to_owned()))
    );

    // A key not in the registry.
    let stranger = Signature::parse(&ssh_sign(&bed, &other, "writ", &[], &message)).unwrap();
    assert!(matches!(
        verify(&signers, &message, &stranger, now()),
        Err(VerifyError::UnknownKey { .. })
    ));
}

#[test]
fn registry_options_limit_a_key_as_ssh_keygen_does() {
    let bed = Bed::new("identity-options");
    let key = ssh_keygen(&bed, "ana", &["-t", "ed25519"]);
    let public = public_line(&key);
    let message = statement();
    let armored = ssh_sign(&bed, &key, "writ", &[], &message);
    let signature = Signature::parse(&armored).unwrap();
    let fingerprint = signature.public_key().fingerprint();
    let outside = VerifyError::OutsideValidity {
        fingerprint: fingerprint.clone(),
    };
    let cases = [
        ("valid-before=\"20200101Z\"", outside.clone()),
        ("valid-after=\"29990101Z\"", outside),
        (
            "namespaces=\"git\"",
            VerifyError::NamespaceNotAllowed { fingerprint },
        ),
    ];
    for (option, expected) in cases {
        let (allowed, signers) =
            registry(&bed, "allowed_signers", &[format!("ana {option} {public}")]);
        let err = verify(&signers, &message, &signature, now()).unwrap_err();
        assert_eq!(err, expected, "{option}");
        // ssh-keygen refuses it too.
        assert!(
            !ssh_verifies(&allowed, "ana", &armored, &message, &bed),
            "{option}"
        );
    }
    // Within its window and namespaces, the same key holds for both.
    let (allowed, signers) = registry(
        &bed,
        "allowed_signers",
        &[format!(
            "ana namespaces=\"git,writ\",valid-after=\"20200101Z\",valid-before=\"29990101Z\" {public}"
        )],
    );
    assert!(verify(&signers, &message, &signature, now()).is_ok());
    assert!(ssh_verifies(&allowed, "ana", &armored, &message, &bed));
}

#[test]
fn keys_that_must_not_sign_are_refused() {
    let bed = Bed::new("identity-bad-keys");
    let encrypted = bed.path("encrypted");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "pass", "-f"])
        .arg(&encrypted));
    let err = Signer::open_with_agent(&encrypted, None).err();
    assert!(matches!(err, Some(KeyError::Encrypted { .. })), "{err:?}");

    let open = ssh_keygen(&bed, "open", &["-t", "ed25519"]);
    fs::set_permissions(&open, fs::Permissions::from_mode(0o640)).unwrap();
    let err = Signer::open_with_agent(&open, None).err();
    assert!(
        matches!(err, Some(KeyError::Permissions { mode: 0o640, .. })),
        "{err:?}"
    );
    fs::set_permissions(&open, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(Signer::open_with_agent(&open, None).is_ok());

    let err = Signer::open_with_agent(&bed.path("missing"), None).err();
    assert!(matches!(err, Some(KeyError::Read { .. })), "{err:?}");
}

#[test]
fn bad_registry_lines_name_their_line() {
    let bed = Bed::new("identity-bad-registry");
    let key = ssh_keygen(&bed, "ana", &["-t", "ed25519"]);
    let public = public_line(&key);
    let public = public.trim();
    let bad = format!("# people\nana {public}\n\nbo {}\n", &public[..30]);
    let err = AllowedSigners::parse(&bad).unwrap_err();
    assert_eq!(err.line, 4, "{err}");
    assert!(err.to_string().starts_with("line 4: "), "{err}");

    let ca = format!("ana {public}\nbo cert-authority {public}\n");
    let err = AllowedSigners::parse(&ca).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("cert-authority"), "{err}");

    let pattern = format!("*@example.com {public}\n");
    assert_eq!(AllowedSigners::parse(&pattern).unwrap_err().line, 1);
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        origin: "writ/store-1".to_owned(),
        count: 42,
        head: "9c".repeat(32),
    }
}

#[test]
fn notes_sign_and_verify() {
    let bed = Bed::new("identity-notes");
    let runner = RunnerKey::create(&bed.path("runner"), "writ-runner").unwrap();
    assert_eq!(
        fs::metadata(bed.path("runner"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let loaded = RunnerKey::load(&bed.path("runner")).unwrap();
    assert_eq!(loaded.public_key(), runner.public_key());
    assert_eq!(loaded.name(), "writ-runner");
    assert!(
        RunnerKey::create(&bed.path("runner"), "again").is_err(),
        "never overwrites"
    );

    let text = note::sign(&checkpoint(), &runner).unwrap();
    let head = "9c".repeat(32);
    assert!(text.starts_with(&format!(
        "writ/store-1\n42\n{head}\n\n\u{2014} writ-runner "
    )));
    let none = AllowedSigners::default();
    let verified = note::verify(&text, &runner.public_key(), &none, now()).unwrap();
    assert_eq!(verified.checkpoint, checkpoint());
    assert!(verified.cosigners.is_empty());

    // Unknown signature lines (another verifier's) are ignored.
    let with_unknown = format!("{text}\u{2014} someone AAAAAAAAAAAAAAAA\n");
    assert!(note::verify(&with_unknown, &runner.public_key(), &none, now()).is_ok());

    let refused = |changed: &str| note::verify(changed, &runner.public_key(), &none, now());
    let count = text.replacen("\n42\n", "\n43\n", 1);
    let origin = text.replacen("writ/store-1", "writ/store-2", 1);
    let other_head = text.replacen(&head, &"9d".repeat(32), 1);
    for changed in [&count, &origin, &other_head] {
        assert!(
            matches!(refused(changed), Err(NoteError::NotSigned(_))),
            "{changed}"
        );
    }
    let no_runner_line = format!("writ/store-1\n42\n{head}\n\n\u{2014} someone AAAAAAAAAAAAAAAA\n");
    assert!(
        matches!(refused(&no_runner_line), Err(NoteError::NotSigned(_))),
        "{no_runner_line}"
    );
    let four_lines = text.replacen("\n42\n", "\n42\nextra\n", 1);
    assert!(matches!(refused(&four_lines), Err(NoteError::Malformed(_))));
    let other_runner = RunnerKey::create(&bed.path("other"), "writ-runner").unwrap();
    let err = note::verify(&text, &other_runner.public_key(), &none, now());
    assert!(matches!(err, Err(NoteError::NotSigned(_))), "{err:?}");
}

#[test]
fn notes_cosigned_by_a_person() {
    let bed = Bed::new("identity-cosign");
    let runner = RunnerKey::create(&bed.path("runner"), "writ-runner").unwrap();
    let ana = ssh_keygen(&bed, "ana", &["-t", "ed25519"]);
    let stranger = ssh_keygen(&bed, "stranger", &["-t", "ecdsa", "-b", "256"]);
    let (allowed, signers) = registry(
        &bed,
        "allowed_signers",
        &[format!("ana {}", public_line(&ana))],
    );
    let text = note::sign(&checkpoint(), &runner).unwrap();

    let cosigned =
        note::cosign(&text, "ana", &Signer::open_with_agent(&ana, None).unwrap()).unwrap();
    let verified = note::verify(&cosigned, &runner.public_key(), &signers, now()).unwrap();
    assert_eq!(verified.cosigners, ["ana"]);

    // The cosignature is a plain SSHSIG over the body: ssh-keygen checks it offline.
    let line = cosigned.lines().last().unwrap();
    let encoded = line.rsplit(' ').next().unwrap();
    let bytes = <Base64 as Encoding>::decode_vec(encoded).unwrap();
    let signature = Signature::from_bytes(&bytes[4..]).unwrap();
    let body = format!("writ/store-1\n42\n{}\n", "9c".repeat(32));
    assert!(ssh_verifies(
        &allowed,
        "ana",
        signature.armored(),
        body.as_bytes(),
        &bed
    ));

    // A cosignature by a key the registry does not hold, or under another person's name.
    let by_stranger = note::cosign(
        &text,
        "ana",
        &Signer::open_with_agent(&stranger, None).unwrap(),
    )
    .unwrap();
    let err = note::verify(&by_stranger, &runner.public_key(), &signers, now());
    assert!(matches!(err, Err(NoteError::Cosignature(_))), "{err:?}");
    let as_bo = note::cosign(&text, "bo", &Signer::open_with_agent(&ana, None).unwrap()).unwrap();
    let err = note::verify(&as_bo, &runner.public_key(), &signers, now());
    assert!(matches!(err, Err(NoteError::Cosignature(_))), "{err:?}");

    // A cosigned note whose body changed holds for nobody.
    let changed = cosigned.replacen("\n42\n", "\n41\n", 1);
    assert!(note::verify(&changed, &runner.public_key(), &signers, now()).is_err());
}

#[test]
fn keygen_writes_what_ssh_keygen_reads() {
    let bed = Bed::new("identity-keygen");
    let out = bed.path("id_writ");
    let public = keygen(&out, "ana@writ").unwrap();
    let mode = fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let derived = run(Command::new("ssh-keygen").arg("-y").arg("-f").arg(&out));
    let derived = String::from_utf8(derived.stdout).unwrap();
    assert_eq!(
        PublicKey::from_openssh(derived.trim()).unwrap(),
        public,
        "{derived}"
    );
    assert!(derived.starts_with(&public.to_openssh()));
    assert_eq!(
        public_line(&out),
        format!("{} ana@writ\n", public.to_openssh())
    );
    let fingerprint = run(Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(pub_path(&out)));
    assert!(
        String::from_utf8(fingerprint.stdout)
            .unwrap()
            .contains(&public.fingerprint())
    );

    let before = fs::read(&out).unwrap();
    let err = keygen(&out, "again").err();
    assert!(matches!(err, Some(KeyError::Write { .. })), "{err:?}");
    assert_eq!(fs::read(&out).unwrap(), before, "never overwrites");
}
