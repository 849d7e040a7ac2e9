//! How fast `writ` reads and judges workflows: parse + check of every graph shape people write
//! ([`generate::Shape`]) at two sizes ten times apart, with the fitted exponent of time and of
//! peak memory between them (linear is 1.0), and many small real files one after another
//! (per-file overhead).
//!
//! Run with `cargo bench --bench check`; it takes a few minutes. Every generated input is clean,
//! so the figures measure the ordinary path, not diagnostic building. Under `cargo test` each
//! part runs once on small inputs.

#[path = "../tests/support/generate.rs"]
mod generate;
#[path = "support/measure.rs"]
mod measure;

use std::fs;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

use generate::Shape;

/// The two sizes (steps) of every shape, ten times apart.
const SIZES: [usize; 2] = [10_000, 100_000];

/// The sizes when the benchmark runs as a test: it must be quick.
const TEST_SIZES: [usize; 2] = [100, 1_000];

/// Sources in the corpus benchmark.
const CORPUS_FILES: usize = 5_000;

fn benchmarking() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn sizes() -> [usize; 2] {
    if benchmarking() { SIZES } else { TEST_SIZES }
}

/// Panics unless `source` checks clean: a benchmark of a failing input measures the wrong path.
fn assert_clean(what: &str, source: &str) {
    let checked = writ::check_source(source);
    assert!(
        checked.diagnostics.is_empty() && checked.workflow.is_some(),
        "{what} does not check clean: {:?}",
        checked.diagnostics.first()
    );
}

fn shapes(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_check");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for shape in Shape::ALL {
        for steps in sizes() {
            let source = shape.source(steps);
            assert_clean(&format!("{}({steps})", shape.name()), &source);
            group.throughput(Throughput::Bytes(source.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(shape.name(), steps),
                &source,
                |b, source| {
                    b.iter_with_large_drop(|| writ::check_source(black_box(source)));
                },
            );
        }
    }
    group.finish();
}

/// The example workflows and the ok corpus, repeated to [`CORPUS_FILES`] sources in memory.
fn corpus_sources() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for folder in ["workflows", "tests/corpus/ok"] {
        let dir = root.join(folder);
        let mut paths: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "writ"))
            .collect();
        paths.sort();
        for path in paths {
            let source =
                fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_clean(&path.display().to_string(), &source);
            files.push(source);
        }
    }
    assert!(!files.is_empty(), "no workflow files found");
    files.iter().cycle().take(CORPUS_FILES).cloned().collect()
}

fn corpus(c: &mut Criterion) {
    let sources = corpus_sources();
    let bytes: usize = sources.iter().map(String::len).sum();
    eprintln!("corpus: {} files, {bytes} bytes", sources.len());
    let mut group = c.benchmark_group("corpus");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(sources.len() as u64));
    group.bench_function(BenchmarkId::new("check_files", sources.len()), |b| {
        b.iter(|| {
            sources
                .iter()
                .filter(|source| writ::check_source(black_box(source)).workflow.is_some())
                .count()
        });
    });
    group.finish();
}

/// Time, memory and exponents per shape, each figure from a child process.
fn summary(_: &mut Criterion) {
    measure::report(
        measure::Op::Check,
        sizes(),
        if benchmarking() { 3 } else { 1 },
    );
}

criterion_group!(benches, shapes, corpus, summary);

fn main() {
    measure::serve_child();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
