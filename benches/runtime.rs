//! How fast the runtime drives a run, through the library API exactly as `writ run` does
//! (src/cli/run.rs and runs.rs): a planned workflow, a config, the durable SQLite store, the
//! resolved systems, and `Engine::drive` on a tokio multi-thread runtime.
//!
//! 1. `overhead`: a chain of recommend steps, each `SELECT :previous.one AS one` on a sqlite
//!    system. The drive time per step is split into the time spent in the durable store's
//!    appends (timed inside the run, and measured alone on the same events) and the
//!    connector's read (measured alone). The executor's own overhead (target: under 50 µs a
//!    step, without the connector's work and the disk's sync) is the same chain on an in-memory
//!    store (no SQLite, no sync, but every event encoded and hashed) minus the connector's read.
//! 2. `parallel`: 200 independent recommend steps, each a program that sleeps 100 ms, with
//!    `concurrency: 200` (target: well under 2 s) and with the default 16.
//! 3. `writes`: one confirm, then sqlite writes (capture, update, a rollback each): steps per
//!    second and the store's bytes per event; a one-shot run of 10,000 writes is printed too.
//! 4. `floor`: the same 1,000 writes' SQL work with the same syncs in a minimal rusqlite
//!    program (`support/floor.rs`), and writ's rate as a share of it (`writ/floor`; at least
//!    0.7 is wanted). Under `cargo test` only 10 floor writes run, to show it works.
//!
//! Run with `cargo bench --bench runtime` (about 70 s once built). Each part ends with summary
//! lines on stderr. The store syncs every append to disk, so the figures depend on the disk's
//! sync latency far more than on writ: compare runs on one machine only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::hint::black_box;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "support/floor.rs"]
mod floor;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use writ::runtime::config;
use writ::runtime::connector::sqlite;
use writ::runtime::decide::{Decider, Verdict};
use writ::runtime::engine::{Engine, Mode, Shared};
use writ::runtime::event::{Event, EventKind, NewEvent};
use writ::runtime::run::Status;
use writ::runtime::store::chain::{Chained, GENESIS_HASH};
use writ::runtime::store::sqlite::SqliteStore;
use writ::runtime::store::{ChainReport, Store, StoreError};
use writ::runtime::systems;
use writ::runtime::value::Value;

/// Steps in the chain of part 1.
const CHAIN_STEPS: usize = 1_000;
/// Sleeping programs in part 2 (each sleeps 100 ms).
const SLEEPERS: usize = 200;
/// Writes per run measured by criterion in part 3, and in its one-shot run.
const WRITES: usize = 1_000;
const WRITES_ONE_SHOT: usize = 10_000;
/// The default `limits.concurrency`.
const DEFAULT_CONCURRENCY: usize = 16;

// ---------------------------------------------------------------------------------------------
// Setup: a folder holding the workflow, the config, the store and the systems.

/// A fresh folder under the system's temp dir.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("writ-bench-runtime").join(name);
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes a SQLite file and its `-wal` and `-shm` companions.
fn remove_database(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = fs::remove_file(name);
    }
}

/// A planned workflow; a refused one (or one with warnings) prints its diagnostics and panics,
/// so a language change that breaks a generator cannot silently change what is measured.
fn plan(source: &str) -> writ::Plan {
    match writ::plan::plan_source(source) {
        Ok((plan, warnings)) => {
            assert!(
                warnings.is_empty(),
                "the generated workflow warns: {warnings:#?}"
            );
            plan
        }
        Err(diagnostics) => panic!("the generated workflow is refused: {diagnostics:#?}"),
    }
}

/// A new sqlite system file with table `t (id, v)` holding rows `0..rows`.
fn database(path: &Path, rows: usize) {
    remove_database(path);
    let mut connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);",
        )
        .unwrap();
    let transaction = connection.transaction().unwrap();
    for id in 0..rows {
        let id = i64::try_from(id).unwrap();
        transaction
            .execute("INSERT INTO t (id, v) VALUES (?1, 0)", [id])
            .unwrap();
    }
    transaction.commit().unwrap();
}

fn config_text(systems: &str, concurrency: usize) -> String {
    format!(
        "state: state.db\nidentity: asserted\npeople:\n  ana: [analyst]\n  sam: [lead]\nsystems:\n{systems}\
         limits: {{ step_timeout: 30s, concurrency: {concurrency} }}\n"
    )
}

/// The registry's genesis event, as `writ` records it when it creates a store.
fn genesis(store: &mut (dyn Store + Send), config: &config::Config) {
    use writ::runtime::trust::open::{RegistryChanged, registry_event};
    let registry = writ::runtime::trust::Registry::from_config(config).unwrap();
    let data = RegistryChanged {
        store: "bench".into(),
        hash: registry.hash(),
        registry,
        genesis: true,
        runner_key: String::new(),
    };
    store.append(registry_event(&data, None, None)).unwrap();
}

/// One workflow ready to run: its folder, file and config.
struct Bed {
    dir: PathBuf,
    file: PathBuf,
    source: String,
    config: String,
}

impl Bed {
    /// Writes `source` and `config` (paths in it are relative to the bed's folder).
    fn new(name: &str, source: String, config: String) -> Bed {
        // Exec programs run through the sandbox's launcher, which is the writ binary (this
        // benchmark is not).
        writ::runtime::sandbox::set_launcher(env!("CARGO_BIN_EXE_writ").into());
        let dir = folder(name);
        let file = dir.join("flow.writ");
        fs::write(&file, &source).unwrap();
        fs::write(dir.join("writ.yaml"), &config).unwrap();
        Bed {
            dir,
            file,
            source,
            config,
        }
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.db")
    }

    /// What one run shares, on a new durable store (`None`) or on `store`.
    fn shared(&self, store: Option<Box<dyn Store + Send>>) -> Arc<Shared> {
        let config = config::parse(&self.config, &self.dir.join("writ.yaml")).unwrap();
        assert_eq!(config.state, self.state_path());
        let mut store = store.unwrap_or_else(|| {
            remove_database(&config.state);
            Box::new(SqliteStore::open(&config.state).unwrap())
        });
        // Every store begins with its registry (the executor checks decisions against it).
        genesis(&mut *store, &config);
        let plan = plan(&self.source);
        let systems = systems::resolve(&plan, &config, &self.file).unwrap();
        Arc::new(Shared::new(store, plan, config, systems))
    }

    /// Starts a run as `ana`.
    fn start(&self, shared: Arc<Shared>) -> Engine {
        Engine::start(
            shared,
            writ::runtime::engine::new_run_id(),
            &self.file,
            BTreeMap::new(),
            "ana",
            None,
            &writ::runtime::trust::Proof::asserted(),
        )
        .unwrap()
    }
}

/// The runtime `writ run` builds (src/cli/runs.rs, `drive`).
fn tokio_runtime(concurrency: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(concurrency + 4)
        .build()
        .unwrap()
}

fn drive(runtime: &tokio::runtime::Runtime, engine: &mut Engine) -> Status {
    runtime.block_on(engine.drive(Mode::Run)).unwrap().status()
}

/// Why a run did not finish `done`, if it did not.
fn failure(engine: &Engine) -> Option<String> {
    let state = engine.state();
    (state.status() != Status::Done).then(|| format!("{:?}: {:?}", state.status(), state.end))
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

// ---------------------------------------------------------------------------------------------
// Stores for part 1: the durable store with its appends timed, and one in memory.

/// A [`SqliteStore`] that adds the time each `append` takes to `spent` (in nanoseconds).
struct Timed {
    store: SqliteStore,
    spent: Arc<AtomicU64>,
}

impl Store for Timed {
    fn append(&mut self, event: NewEvent) -> Result<Event, StoreError> {
        let started = Instant::now();
        let stored = self.store.append(event);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.spent.fetch_add(nanos, Ordering::Relaxed);
        stored
    }
    fn run_events(&self, run: &str) -> Result<Vec<Event>, StoreError> {
        self.store.run_events(run)
    }
    fn workflow_events(&self, workflow: &str) -> Result<Vec<Event>, StoreError> {
        self.store.workflow_events(workflow)
    }
    fn switch_events(&self) -> Result<Vec<Event>, StoreError> {
        self.store.switch_events()
    }
    fn runs(&self) -> Result<Vec<String>, StoreError> {
        self.store.runs()
    }
    fn kind_events(&self, kinds: &[EventKind]) -> Result<Vec<Event>, StoreError> {
        self.store.kind_events(kinds)
    }
    fn scan(&self, visit: &mut dyn FnMut(Event) -> bool) -> Result<(), StoreError> {
        self.store.scan(visit)
    }
    fn verify(&self) -> Result<ChainReport, StoreError> {
        self.store.verify()
    }
}

/// Events in memory: the same encoding and hash chain as the durable store, no SQLite, no sync.
#[derive(Default)]
struct Memory {
    events: Vec<Event>,
}

impl Memory {
    fn select(&self, keep: impl Fn(&NewEvent) -> bool) -> Vec<Event> {
        self.events
            .iter()
            .filter(|e| keep(&e.event))
            .cloned()
            .collect()
    }
}

impl Store for Memory {
    fn append(&mut self, event: NewEvent) -> Result<Event, StoreError> {
        let data = serde_json::to_string(&event.data).unwrap();
        let prev_hash = self
            .events
            .last()
            .map_or_else(|| GENESIS_HASH.to_owned(), |e| e.hash.clone());
        let seq = self.events.len() as u64 + 1;
        let at = writ::runtime::store::chain::now().unwrap();
        let hash = Chained {
            seq,
            at: &at,
            run: event.run.as_deref(),
            workflow: &event.workflow,
            kind: event.kind.as_str(),
            person: event.person.as_deref(),
            role: event.role.as_deref(),
            fingerprint: &event.fingerprint,
            step: event.step.as_deref(),
            data: &data,
            prev_hash: &prev_hash,
        }
        .hash();
        let stored = Event {
            seq,
            at,
            event,
            prev_hash,
            hash,
        };
        self.events.push(stored.clone());
        Ok(stored)
    }
    fn run_events(&self, run: &str) -> Result<Vec<Event>, StoreError> {
        Ok(self.select(|e| e.run.as_deref() == Some(run)))
    }
    fn workflow_events(&self, workflow: &str) -> Result<Vec<Event>, StoreError> {
        Ok(self.select(|e| e.workflow == workflow))
    }
    fn kind_events(&self, kinds: &[EventKind]) -> Result<Vec<Event>, StoreError> {
        Ok(self.select(|e| kinds.contains(&e.kind)))
    }
    fn scan(&self, visit: &mut dyn FnMut(Event) -> bool) -> Result<(), StoreError> {
        for event in &self.events {
            if !visit(event.clone()) {
                break;
            }
        }
        Ok(())
    }
    fn switch_events(&self) -> Result<Vec<Event>, StoreError> {
        Ok(self.select(|e| {
            matches!(
                e.kind,
                EventKind::WorkflowKilled | EventKind::WorkflowRevived
            )
        }))
    }
    fn runs(&self) -> Result<Vec<String>, StoreError> {
        let mut runs: Vec<String> = Vec::new();
        for event in &self.events {
            if let Some(run) = &event.event.run
                && !runs.contains(run)
            {
                runs.push(run.clone());
            }
        }
        Ok(runs)
    }
    fn verify(&self) -> Result<ChainReport, StoreError> {
        Ok(ChainReport::Intact {
            events: self.events.len() as u64,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Overhead per step.

/// `steps` recommend steps in a chain, each reading the previous one's value back.
fn chain(steps: usize) -> String {
    let mut out = String::from(
        "workflow bench_chain {\n  owner lead\n  role lead\n  system db: sqlite inside\n",
    );
    for i in 0..steps {
        let sql = match i.checked_sub(1) {
            Some(previous) => format!("SELECT :s{previous}.one AS one"),
            None => "SELECT 1 AS one".to_owned(),
        };
        // The last value is used by nothing: declaring it would be a warning (W0304).
        let yields = if i + 1 < steps {
            " yields one: int"
        } else {
            ""
        };
        // INVARIANT: writing into a String cannot fail.
        let _ = writeln!(
            out,
            "  recommend s{i} {{ reads db run sql \"{sql}\"{yields} }}"
        );
    }
    out.push_str("}\n");
    out
}

fn overhead(c: &mut Criterion) {
    let bed = Bed::new(
        "overhead",
        chain(CHAIN_STEPS),
        config_text("  db: { sqlite: db.sqlite }\n", DEFAULT_CONCURRENCY),
    );
    let db = bed.dir.join("db.sqlite");
    database(&db, 1);
    let runtime = tokio_runtime(DEFAULT_CONCURRENCY);
    let steps = CHAIN_STEPS as f64;

    let mut group = c.benchmark_group("overhead");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(CHAIN_STEPS as u64));

    // (a) The run, on the durable store; its appends timed inside it. Per run: (drive, append)
    // per step, in µs. The recommended events of one run are kept for (b).
    let mut runs: Vec<(f64, f64)> = Vec::new();
    let mut events: Vec<NewEvent> = Vec::new();
    group.bench_function(format!("drive_chain_{CHAIN_STEPS}_recommend"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                remove_database(&bed.state_path());
                let spent = Arc::new(AtomicU64::new(0));
                let store = Timed {
                    store: SqliteStore::open(&bed.state_path()).unwrap(),
                    spent: Arc::clone(&spent),
                };
                let shared = bed.shared(Some(Box::new(store)));
                let mut engine = bed.start(Arc::clone(&shared));
                spent.store(0, Ordering::Relaxed);
                let started = Instant::now();
                black_box(drive(&runtime, &mut engine));
                let took = started.elapsed();
                total += took;
                assert_eq!(failure(&engine), None);
                let appends = Duration::from_nanos(spent.load(Ordering::Relaxed));
                runs.push((micros(took) / steps, micros(appends) / steps));
                if events.is_empty() {
                    let stored = shared.store().run_events(&engine.state().id).unwrap();
                    events = stored
                        .into_iter()
                        .map(|e| e.event)
                        .filter(|e| e.kind == EventKind::Recommended)
                        .collect();
                    assert_eq!(events.len(), CHAIN_STEPS);
                }
            }
            total
        });
    });

    // (b) The same recommended events appended alone, one durable transaction each.
    let mut append_alone = Vec::new();
    group.bench_function(format!("store_append_{CHAIN_STEPS}_events"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let path = bed.dir.join("append.db");
                remove_database(&path);
                let mut store = SqliteStore::open(&path).unwrap();
                let batch = events.clone();
                let started = Instant::now();
                for event in batch {
                    black_box(store.append(event).unwrap());
                }
                let took = started.elapsed();
                total += took;
                append_alone.push(micros(took) / steps);
            }
            total
        });
    });

    // (c) The connector alone: the read each step makes, as the runtime renders it.
    let mut reads = Vec::new();
    let timeout = Duration::from_secs(30);
    group.bench_function(format!("sqlite_read_{CHAIN_STEPS}_times"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                for _ in 0..CHAIN_STEPS {
                    let one = [Value::Int(1)];
                    black_box(sqlite::read(&db, "SELECT ?1 AS one", &one, timeout).unwrap());
                }
                let took = started.elapsed();
                total += took;
                reads.push(micros(took) / steps);
            }
            total
        });
    });

    // (d) The run on an in-memory store: the executor and the connector without the sync.
    let mut in_memory = Vec::new();
    group.bench_function(
        format!("drive_chain_{CHAIN_STEPS}_recommend_memory_store"),
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let shared = bed.shared(Some(Box::<Memory>::default()));
                    let mut engine = bed.start(shared);
                    let started = Instant::now();
                    black_box(drive(&runtime, &mut engine));
                    let took = started.elapsed();
                    total += took;
                    assert_eq!(failure(&engine), None);
                    in_memory.push(micros(took) / steps);
                }
                total
            });
        },
    );
    group.finish();

    // The median run of (a), with its own append time.
    runs.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (total, append) = runs.get(runs.len() / 2).copied().unwrap_or_default();
    let read = median(&mut reads);
    let alone = median(&mut append_alone);
    let memory = median(&mut in_memory);
    // The figure: the executor's own time, without the connector's work and without
    // the disk's sync (an in-memory store that still encodes and hashes every event).
    eprintln!(
        "overhead per step without connector and sync: {:.1} µs (in-memory store {memory:.1} µs \
         a step, connector {read:.1} µs)",
        memory - read
    );
    eprintln!(
        "  with the durable store: {total:.1} µs a step = store append {append:.1} µs (the sync) \
         + connector {read:.1} µs + {:.1} µs of the rest (the same appends alone: {alone:.1} µs)",
        total - append - read
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Independent slow steps, run side by side.

/// `steps` independent recommend steps, each running `scripts/sleepy`.
fn sleepers(steps: usize) -> String {
    let mut out = String::from(
        "workflow bench_parallel {\n  owner lead\n  role lead\n  system tools: exec outside\n",
    );
    for i in 0..steps {
        // INVARIANT: writing into a String cannot fail.
        let _ = writeln!(
            out,
            "  recommend p{i} {{ reads tools run exec \"scripts/sleepy\" [{i}] }}"
        );
    }
    out.push_str("}\n");
    out
}

fn parallel(c: &mut Criterion) {
    let mut group = c.benchmark_group("parallel");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(SLEEPERS as u64));
    for concurrency in [SLEEPERS, DEFAULT_CONCURRENCY] {
        let bed = Bed::new(
            &format!("parallel-{concurrency}"),
            sleepers(SLEEPERS),
            config_text("  tools: { exec: ~ }\n", concurrency),
        );
        let scripts = bed.dir.join("scripts");
        fs::create_dir_all(&scripts).unwrap();
        let program = scripts.join("sleepy");
        fs::write(&program, "#!/bin/sh\nsleep 0.1\necho '{}'\n").unwrap();
        fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).unwrap();
        let runtime = tokio_runtime(concurrency);
        let mut walls = Vec::new();
        let name = format!("{SLEEPERS}_sleeps_of_100ms_concurrency_{concurrency}");
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut engine = bed.start(bed.shared(None));
                    let started = Instant::now();
                    black_box(drive(&runtime, &mut engine));
                    let took = started.elapsed();
                    total += took;
                    assert_eq!(failure(&engine), None);
                    walls.push(took.as_secs_f64());
                }
                total
            });
        });
        let floor = SLEEPERS.div_ceil(concurrency) as f64 * 0.1;
        eprintln!(
            "parallel: {SLEEPERS} steps of 100 ms at concurrency {concurrency}: {:.3} s wall \
             (the sleeps alone: {floor:.1} s)",
            median(&mut walls),
        );
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// 3. Many writes behind one confirm.

/// A count, one confirm by `lead`, then `writes` executes each updating its own row, each
/// with its rollback.
fn writes(writes: usize) -> String {
    let mut out = String::with_capacity(writes * 330 + 500);
    out.push_str(
        "workflow bench_writes {\n  owner lead\n  role lead\n  system db: sqlite inside\n\
         \x20 recommend count { reads db run sql \"SELECT count(*) AS n FROM t\" yields n: int }\n\
         \x20 confirm review { by lead shows count.n expires 4h -> reject }\n",
    );
    for i in 0..writes {
        // INVARIANT: writing into a String cannot fail.
        let _ = write!(
            out,
            "  execute w{i} {{ after review writes db risk medium approver lead \
             capture sql \"SELECT v FROM t WHERE id = {i}\" \
             run sql \"UPDATE t SET v = v + 1 WHERE id = {i}\" }}\n\
             \x20 rollback undo{i} undoes w{i} {{ repair by lead \
             run sql \"UPDATE t SET v = :before.v WHERE id = {i}\" }}\n"
        );
    }
    out.push_str("}\n");
    out
}

/// What one run of [`writes`] took.
struct WriteRun {
    /// The first drive: the count, then the confirmation request.
    request: Duration,
    /// `sam` confirming (`Engine::decide`).
    decide: Duration,
    /// The second drive: every write.
    writes: Duration,
    events: u64,
    failure: Option<String>,
}

/// One run on a new store and system: start, drive to the confirm, `sam` confirms, drive to
/// the end.
fn write_run(bed: &Bed, runtime: &tokio::runtime::Runtime, count: usize) -> WriteRun {
    database(&bed.dir.join("db.sqlite"), count);
    let mut engine = bed.start(bed.shared(None));
    let started = Instant::now();
    assert_eq!(drive(runtime, &mut engine), Status::Waiting);
    let request = started.elapsed();
    let decider = Decider::Person {
        name: "sam",
        verdict: Verdict::Confirm,
        note: None,
        proof: writ::runtime::trust::Proof::asserted(),
    };
    let started = Instant::now();
    engine.decide("review", decider).unwrap();
    let decide = started.elapsed();
    let started = Instant::now();
    drive(runtime, &mut engine);
    let writes = started.elapsed();
    WriteRun {
        request,
        decide,
        writes,
        events: engine.state().last_seq,
        failure: failure(&engine),
    }
}

/// The store's size once its write-ahead log is checkpointed (`page_count * page_size`), and
/// the data bytes of the two events that list every write's gate (the request, the decision).
fn store_size(path: &Path) -> (u64, u64) {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let number = |sql: &str| -> u64 {
        let n: i64 = connection.query_row(sql, [], |row| row.get(0)).unwrap();
        u64::try_from(n).unwrap()
    };
    let bytes = number("PRAGMA page_count") * number("PRAGMA page_size");
    let gates = number(
        "SELECT coalesce(sum(length(data)), 0) FROM events \
         WHERE kind IN ('confirmation_requested', 'confirmed')",
    );
    (bytes, gates)
}

fn report_writes(label: &str, bed: &Bed, count: usize, run: &WriteRun) {
    if let Some(failure) = &run.failure {
        eprintln!("writes ({label}): the run of {count} writes FAILED: {failure}");
    }
    let (bytes, gates) = store_size(&bed.state_path());
    let seconds = run.writes.as_secs_f64();
    eprintln!(
        "writes ({label}): {count} sqlite writes in {seconds:.2} s = {:.0} steps/s ({:.0} µs a \
         step); before them, the request took {:.0} ms and the decision {:.0} ms",
        count as f64 / seconds,
        micros(run.writes) / count as f64,
        run.request.as_secs_f64() * 1e3,
        run.decide.as_secs_f64() * 1e3,
    );
    eprintln!(
        "  store: {bytes} bytes for {} events = {} bytes per event; {} bytes per event \
         without the request and the decision, whose data (every write's gate) is {gates} bytes",
        run.events,
        bytes / run.events,
        (bytes - gates) / (run.events - 2),
    );
}

fn write_steps(c: &mut Criterion) {
    let runtime = tokio_runtime(DEFAULT_CONCURRENCY);
    let bed = Bed::new(
        "writes",
        writes(WRITES),
        config_text("  db: { sqlite: db.sqlite }\n", DEFAULT_CONCURRENCY),
    );
    let mut group = c.benchmark_group("writes");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(WRITES as u64));
    let mut last = None;
    let mut failures = Vec::new();
    group.bench_function(format!("{WRITES}_sqlite_writes"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let run = write_run(&bed, &runtime, WRITES);
                total += run.writes;
                failures.extend(run.failure.clone());
                last = Some(run);
            }
            total
        });
    });
    group.finish();
    for failure in &failures {
        eprintln!("writes: a run of {WRITES} writes FAILED: {failure}");
    }
    if let Some(run) = &last {
        report_writes("the last criterion run", &bed, WRITES, run);
    }
    against_the_floor(&bed, &runtime);

    // The full 10,000 only under `cargo bench`: `cargo test --all-targets` runs each bench
    // once as a test, and needs no 10 s run to see that it works.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let bed = Bed::new(
        "writes-one-shot",
        writes(WRITES_ONE_SHOT),
        config_text("  db: { sqlite: db.sqlite }\n", DEFAULT_CONCURRENCY),
    );
    let run = write_run(&bed, &runtime, WRITES_ONE_SHOT);
    report_writes("one shot", &bed, WRITES_ONE_SHOT, &run);
}

/// writ's 1,000 writes against the floor's, each the median of 5 runs on fresh files: with
/// writ's default concurrency (its independent writes overlap one another's syncs) and with
/// `concurrency: 1` (one step at a time, as the floor runs).
fn against_the_floor(bed: &Bed, runtime: &tokio::runtime::Runtime) {
    let system = bed.dir.join("floor.sqlite");
    let store = bed.dir.join("floor-store.sqlite");
    if !std::env::args().any(|arg| arg == "--bench") {
        database(&system, 10);
        floor::floor_writes(&system, &store, 10);
        return;
    }
    let serial = Bed::new(
        "writes-serial",
        writes(WRITES),
        config_text("  db: { sqlite: db.sqlite }\n", 1),
    );
    let one = tokio_runtime(1);
    let (mut default, mut alone, mut floors) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        default.push(write_run(bed, runtime, WRITES).writes.as_secs_f64());
        alone.push(write_run(&serial, &one, WRITES).writes.as_secs_f64());
        database(&system, WRITES);
        floors.push(floor::floor_writes(&system, &store, WRITES).as_secs_f64());
    }
    let floor_s = median(&mut floors);
    for (label, times) in [
        ("default concurrency", &mut default),
        ("concurrency 1", &mut alone),
    ] {
        let writ_s = median(times);
        eprintln!(
            "floor: {WRITES} sqlite writes, {label}: writ {writ_s:.3} s, floor {floor_s:.3} s; \
             writ/floor = {:.2} (rate over rate; at least 0.70 wanted)",
            floor_s / writ_s
        );
    }
}

criterion_group!(benches, overhead, parallel, write_steps);
criterion_main!(benches);
