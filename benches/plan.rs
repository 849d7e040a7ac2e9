//! How fast a plan is made: parse, check (graph and ancestry rules included), build the plan,
//! fingerprint it and print it as JSON, for a long chain at two sizes ten times apart (the time
//! per step should not grow with the size; the issue asks for 100,000 steps in under a second).
//!
//! Run with `cargo bench --bench plan`.

#[path = "../tests/support/generate.rs"]
mod generate;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use writ::plan::export::{Format, write};

/// Steps of the two chains, ten times apart.
const SIZES: [usize; 2] = [10_000, 100_000];

/// Everything `writ plan FILE --format json` does, but reading the file. Returns what it built,
/// so that freeing it is not timed (`iter_with_large_drop`): the CLI never frees it, it exits.
fn plan_json(source: &str) -> (writ::Checked, writ::Plan, Vec<u8>) {
    let checked = writ::check_source(source);
    let Some(workflow) = &checked.workflow else {
        panic!(
            "the generated chain must check: {:?}",
            checked.diagnostics.first()
        );
    };
    let plan = writ::plan(workflow);
    let mut json = Vec::new();
    if let Err(error) = write(&plan, Format::Json, &mut json) {
        panic!("cannot print the plan: {error}");
    }
    (checked, plan, json)
}

fn plan_chain(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_json");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for steps in SIZES {
        let source = generate::chain(steps);
        assert!(!plan_json(&source).2.is_empty());
        group.throughput(Throughput::Elements(steps as u64));
        group.bench_with_input(
            BenchmarkId::new("chain_steps", steps),
            &source,
            |b, source| {
                b.iter_with_large_drop(|| plan_json(black_box(source)));
            },
        );
    }
    group.finish();
}

criterion_group!(benches, plan_chain);
criterion_main!(benches);
