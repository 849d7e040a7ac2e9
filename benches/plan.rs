//! How fast a plan is made: parse, check (graph and ancestry rules included), build the plan,
//! fingerprint it and print it as JSON, for every graph shape people write
//! ([`generate::Shape`]) at two sizes ten times apart, with the fitted exponent of time and of
//! peak memory between them (the issue asks for 100,000 steps in under a second and 500 MB).
//!
//! Run with `cargo bench --bench plan`. Under `cargo test` each part runs once on small inputs.

#[path = "../tests/support/generate.rs"]
mod generate;
#[path = "support/measure.rs"]
mod measure;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

use generate::Shape;

/// Steps of the two sizes of every shape, ten times apart.
const SIZES: [usize; 2] = [10_000, 100_000];

/// The sizes when the benchmark runs as a test: it must be quick.
const TEST_SIZES: [usize; 2] = [100, 1_000];

fn benchmarking() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn sizes() -> [usize; 2] {
    if benchmarking() { SIZES } else { TEST_SIZES }
}

fn plan_shapes(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan_json");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for shape in Shape::ALL {
        for steps in sizes() {
            let source = shape.source(steps);
            group.throughput(Throughput::Elements(steps as u64));
            group.bench_with_input(
                BenchmarkId::new(shape.name(), steps),
                &source,
                |b, source| {
                    // What was built is returned, so freeing it is not timed: the CLI exits
                    // without freeing it.
                    b.iter_with_large_drop(|| measure::Op::Plan.run(black_box(source)));
                },
            );
        }
    }
    group.finish();
}

/// Time, memory and exponents per shape, each figure from a child process.
fn summary(_: &mut Criterion) {
    measure::report(
        measure::Op::Plan,
        sizes(),
        if benchmarking() { 3 } else { 1 },
    );
}

criterion_group!(benches, plan_shapes, summary);

fn main() {
    measure::serve_child();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
