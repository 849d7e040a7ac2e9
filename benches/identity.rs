//! How fast writ checks people's signatures: one decision statement's SSHSIG (ed25519) against a
//! registry of 50 people, with and without reading the armor first, and `writ audit verify`'s
//! share of re-checking 100,000 signed events (read the armor, verify), on one thread and on two.
//!
//! Run with `cargo bench --bench identity`; it takes under a minute. Under
//! `cargo test --all-targets` each benchmark runs once and the batch is 1,000 signatures.

use std::fs;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use writ::identity::canonical::to_canonical;
use writ::identity::{AllowedSigners, Signature, Signer, keygen, verify};

/// People in the registry.
const PEOPLE: usize = 50;
/// Signatures in the batch `audit verify` re-checks, under `cargo bench`.
const BATCH: usize = 100_000;
/// The batch under `cargo test --all-targets` (a smoke run).
const BATCH_SMOKE: usize = 1_000;
/// A moment within every key's validity.
const AT: i64 = 1_764_000_000;

fn statement(n: usize) -> Vec<u8> {
    to_canonical(&json!({
        "kind": "decision",
        "run": format!("run-{}", n / 10),
        "step": "approve_refund",
        "fingerprint": "3f".repeat(32),
        "actions": ["9c".repeat(32)],
        "decision": "approve",
        "note": "customer confirmed by phone",
        "at": AT + n as i64,
    }))
    .unwrap()
}

/// 50 people's ed25519 keys made by `keygen`, their registry, and the signers.
fn people() -> (AllowedSigners, Vec<Signer>) {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-identity");
    let _ = fs::remove_dir_all(&folder);
    fs::create_dir_all(&folder).unwrap();
    let mut lines = String::new();
    let mut signers = Vec::new();
    for n in 0..PEOPLE {
        let path = folder.join(format!("person{n}"));
        let key = keygen(&path, &format!("person{n}")).unwrap();
        lines.push_str(&format!(
            "person{n} namespaces=\"writ\",valid-after=\"20200101Z\" {}\n",
            key.to_openssh()
        ));
        signers.push(Signer::open_with_agent(&path, None).unwrap());
    }
    (AllowedSigners::parse(&lines).unwrap(), signers)
}

fn identity(c: &mut Criterion) {
    let (registry, signers) = people();
    // The last person: the registry's linear scan at its longest.
    let signer = &signers[PEOPLE - 1];
    let message = statement(0);
    let signature = signer.sign(&message).unwrap();
    let armored = signature.armored().to_owned();
    assert_eq!(
        verify(&registry, &message, &signature, AT)
            .unwrap()
            .principals,
        [format!("person{}", PEOPLE - 1)]
    );

    let mut group = c.benchmark_group("identity");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("verify_decision_50_people", |b| {
        b.iter(|| black_box(verify(&registry, &message, &signature, AT).unwrap()));
    });
    group.bench_function("parse_and_verify_decision_50_people", |b| {
        b.iter(|| {
            let signature = Signature::parse(black_box(&armored)).unwrap();
            black_box(verify(&registry, &message, &signature, AT).unwrap())
        });
    });
    group.finish();

    let full = std::env::args().any(|arg| arg == "--bench");
    batch(&registry, &signers, if full { BATCH } else { BATCH_SMOKE });
}

/// Signs `count` statements round-robin over the people, then times re-checking all of them
/// (armor read + verify, as `audit verify` does from stored events) on one and two threads.
fn batch(registry: &AllowedSigners, signers: &[Signer], count: usize) {
    let events: Vec<(Vec<u8>, String)> = (0..count)
        .map(|n| {
            let message = statement(n);
            let signature = signers[n % signers.len()].sign(&message).unwrap();
            (message, signature.armored().to_owned())
        })
        .collect();
    let check = |slice: &[(Vec<u8>, String)]| {
        for (message, armored) in slice {
            let signature = Signature::parse(armored).unwrap();
            black_box(verify(registry, message, &signature, AT).unwrap());
        }
    };
    let started = Instant::now();
    check(&events);
    let one = started.elapsed();
    let started = Instant::now();
    let (first, second) = events.split_at(count / 2);
    std::thread::scope(|scope| {
        scope.spawn(|| check(first));
        scope.spawn(|| check(second));
    });
    let two = started.elapsed();
    println!(
        "identity: re-checking {count} signed statements (armor + ed25519 verify, {PEOPLE} people): \
         {:.2} s on one thread ({:.1} us each), {:.2} s on two threads",
        one.as_secs_f64(),
        one.as_secs_f64() * 1e6 / count as f64,
        two.as_secs_f64()
    );
}

criterion_group!(benches, identity);
criterion_main!(benches);
