//! How fast the embedded store records and checks events: durable appends per second (each one
//! synced to disk, `synchronous=FULL`, as the runtime needs before its next action), the bytes
//! one event takes in the file, and `writ audit verify`'s walk of a 10,000-event chain.
//!
//! Run with `cargo bench --bench store`; it takes under a minute. The figures depend on the
//! disk's sync latency far more than on writ: compare runs on one machine only.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use writ::runtime::event::{EventKind, NewEvent};
use writ::runtime::store::sqlite::SqliteStore;
use writ::runtime::store::{ChainReport, Store};

/// Events in the file measured for size and walked by `verify`.
const EVENTS: usize = 10_000;

/// A typical event: a confirmation carrying the action it allows and that action's hash.
fn confirmed(n: usize) -> NewEvent {
    NewEvent {
        run: Some(format!("run-{}", n / 10)),
        workflow: "refund_small_orders".to_owned(),
        kind: EventKind::Confirmed,
        person: Some("sam".to_owned()),
        role: Some("support_lead".to_owned()),
        fingerprint: "3f".repeat(32),
        step: Some("approve_refund".to_owned()),
        data: json!({
            "note": "customer confirmed by phone",
            "actions": [{
                "step": "issue_refund",
                "sql": "UPDATE orders SET status = 'refunded', refunded_cents = ?1 WHERE id = ?2",
                "values": [1999, n],
                "hash": "9c".repeat(32),
            }],
        }),
    }
}

/// A fresh store file, its folder emptied first.
fn fresh(name: &str) -> (SqliteStore, PathBuf) {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("bench-store")
        .join(name);
    if folder.exists() {
        fs::remove_dir_all(&folder).unwrap();
    }
    let path = folder.join("state.db");
    (SqliteStore::open(&path).unwrap(), path)
}

/// A store holding `EVENTS` events; prints the bytes each takes in the file once the last
/// connection has closed (which checkpoints the write-ahead log into the file and removes it).
fn filled() -> SqliteStore {
    let (mut store, path) = fresh("filled");
    for n in 0..EVENTS {
        store.append(confirmed(n)).unwrap();
    }
    drop(store);
    let bytes = fs::metadata(&path).unwrap().len();
    println!(
        "store size: {bytes} bytes for {EVENTS} events = {} bytes per event",
        bytes / EVENTS as u64
    );
    SqliteStore::open(&path).unwrap()
}

fn store(c: &mut Criterion) {
    let mut group = c.benchmark_group("store");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));

    let (mut store, _) = fresh("append");
    let mut n = 0;
    group.throughput(Throughput::Elements(1));
    group.bench_function("append_durable", |b| {
        b.iter(|| {
            n += 1;
            black_box(store.append(confirmed(n)).unwrap())
        });
    });

    let store = filled();
    let events = EVENTS as u64;
    assert_eq!(store.verify().unwrap(), ChainReport::Intact { events });
    group.throughput(Throughput::Elements(events));
    group.bench_function("verify_10000_events", |b| {
        b.iter(|| black_box(store.verify().unwrap()));
    });
    group.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
