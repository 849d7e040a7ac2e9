//! How fast `writ` reads and judges workflows: parse alone and parse + check, at two sizes ten
//! times apart (the throughput should not fall as files grow), a 100,000-step chain (the graph
//! rules on a long graph), and many small real files one after another (per-file overhead).
//!
//! Run with `cargo bench --bench check`; it takes about two minutes. Every generated input is
//! clean, so the figures measure the ordinary path, not diagnostic building.

#[path = "../tests/support/generate.rs"]
mod generate;

use std::fs;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// The two sizes of the scaling benchmarks, ten times apart.
const SIZES: [usize; 2] = [2_000, 20_000];

/// Steps in the long-chain benchmark.
const CHAIN_STEPS: usize = 100_000;

/// Sources in the corpus benchmark.
const CORPUS_FILES: usize = 5_000;

/// Panics unless `source` checks clean: a benchmark of a failing input measures the wrong path.
fn assert_clean(what: &str, source: &str) {
    let checked = writ::check_source(source);
    assert!(
        checked.diagnostics.is_empty() && checked.workflow.is_some(),
        "{what} does not check clean: {:?}",
        checked.diagnostics.first()
    );
}

fn scaling(c: &mut Criterion) {
    let sources: Vec<(usize, String)> = SIZES
        .iter()
        .map(|&steps| (steps, generate::workflow(steps)))
        .collect();
    for (steps, source) in &sources {
        assert_clean(&format!("workflow({steps})"), source);
    }

    let mut parse = c.benchmark_group("parse");
    parse
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    for (steps, source) in &sources {
        parse.throughput(Throughput::Bytes(source.len() as u64));
        parse.bench_with_input(BenchmarkId::new("steps", steps), source, |b, source| {
            b.iter(|| writ::parse(black_box(source)).is_ok());
        });
    }
    parse.finish();

    let mut parse_check = c.benchmark_group("parse_check");
    parse_check
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    for (steps, source) in &sources {
        parse_check.throughput(Throughput::Bytes(source.len() as u64));
        parse_check.bench_with_input(BenchmarkId::new("steps", steps), source, |b, source| {
            b.iter(|| writ::check_source(black_box(source)).workflow.is_some());
        });
    }
    parse_check.finish();
}

fn long_chain(c: &mut Criterion) {
    let source = generate::chain(CHAIN_STEPS);
    assert_clean("chain(100000)", &source);
    let mut group = c.benchmark_group("chain");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Bytes(source.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("parse_check_steps", CHAIN_STEPS),
        &source,
        |b, source| {
            b.iter(|| writ::check_source(black_box(source)).workflow.is_some());
        },
    );
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

criterion_group!(benches, scaling, long_chain, corpus);
criterion_main!(benches);
