//! Time and peak memory of checking and planning each generated shape, each measured in a child
//! process of the benchmark (the benchmark binary run again with [`CHILD`] set), so one
//! measurement's allocations cannot inflate another's peak, and the fitted exponent between
//! two sizes ten times apart.
//!
//! The child generates its source, resets the kernel's high-water mark of its resident memory
//! (`/proc/self/clear_refs`), runs the operation a few times (the fastest run counts), and
//! prints seconds and `VmHWM` from `/proc/self/status`: the peak includes the source held in
//! memory, as `writ check` and `writ plan` hold the file they read.
#![allow(dead_code)]

use std::io::{self, Write as _};
use std::process::Command;
use std::time::Instant;

use crate::generate::Shape;

/// The environment variable that makes the benchmark binary one measuring child.
pub const CHILD: &str = "WRIT_BENCH_MEASURE";

/// What a child measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `writ check`: parse and check.
    Check,
    /// `writ plan --format json`: parse, check, plan, fingerprint, JSON streamed out.
    Plan,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Check => "check",
            Op::Plan => "plan",
        }
    }

    fn parse(text: &str) -> Option<Op> {
        match text {
            "check" => Some(Op::Check),
            "plan" => Some(Op::Plan),
            _ => None,
        }
    }

    /// Runs the operation once; what it built is dropped after the clock stops.
    pub fn run(self, source: &str) -> Box<dyn std::any::Any> {
        let checked = writ::check_source(source);
        assert!(
            checked.diagnostics.is_empty() && checked.workflow.is_some(),
            "a generated shape does not check clean: {:?}",
            checked.diagnostics.first()
        );
        match self {
            Op::Check => Box::new(checked),
            Op::Plan => {
                let Some(workflow) = &checked.workflow else {
                    unreachable!("checked clean above");
                };
                let plan = writ::plan(workflow);
                let mut out = io::BufWriter::new(io::sink());
                if let Err(error) =
                    writ::plan::export::write(&plan, writ::plan::export::Format::Json, &mut out)
                {
                    panic!("cannot print the plan: {error}");
                }
                Box::new((checked, plan))
            }
        }
    }
}

/// One child's answer.
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    pub bytes: usize,
    pub seconds: f64,
    /// CPU seconds (user and system, all threads) of the fastest run by that measure.
    pub cpu: f64,
    /// Peak resident memory in bytes, when the platform reports it.
    pub peak: Option<u64>,
}

/// In a measuring child: measure, print, exit. Elsewhere: return.
pub fn serve_child() {
    let Ok(request) = std::env::var(CHILD) else {
        return;
    };
    let mut parts = request.split(':');
    let (Some(op), Some(shape), Some(steps), Some(runs)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("{CHILD}={request}: expected OP:SHAPE:STEPS:RUNS");
    };
    let op = Op::parse(op).unwrap_or_else(|| panic!("unknown op {op}"));
    let shape = Shape::ALL
        .into_iter()
        .find(|s| s.name() == shape)
        .unwrap_or_else(|| panic!("unknown shape {shape}"));
    let steps: usize = steps.parse().unwrap_or_else(|e| panic!("steps: {e}"));
    let runs: usize = runs.parse().unwrap_or_else(|e| panic!("runs: {e}"));
    let source = shape.source(steps);
    // Resets VmHWM to the current resident size (Linux 4.0 and later; ignored elsewhere).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..runs.max(1) {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let built = op.run(std::hint::black_box(&source));
        best = best.min(start.elapsed().as_secs_f64());
        if let (Some(before), Some(after)) = (cpu, cpu_seconds()) {
            best_cpu = best_cpu.min(after - before);
        }
        drop(built);
    }
    let peak = peak_bytes().map_or_else(|| "-".to_owned(), |p| p.to_string());
    println!("{} {best} {peak} {best_cpu}", source.len());
    let _ = io::stdout().flush();
    std::process::exit(0);
}

/// User and system time of this process (all threads) so far, from `/proc/self/stat`, at the
/// usual 100 ticks a second. On a machine shared with other work this is the steadier figure.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// `VmHWM` of this process, in bytes.
fn peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs one measuring child.
pub fn measure(op: Op, shape: Shape, steps: usize, runs: usize) -> Figure {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("the benchmark's own path: {e}"));
    let output = Command::new(exe)
        .env(
            CHILD,
            format!("{}:{}:{steps}:{runs}", op.name(), shape.name()),
        )
        .output()
        .unwrap_or_else(|e| panic!("cannot start a measuring child: {e}"));
    assert!(
        output.status.success(),
        "the measuring child for {} {} {steps} ended with {}: {}",
        op.name(),
        shape.name(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace();
    let bytes = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
    let seconds = fields
        .next()
        .and_then(|f| f.parse().ok())
        .unwrap_or(f64::NAN);
    let peak = fields.next().and_then(|f| f.parse().ok());
    let cpu = fields
        .next()
        .and_then(|f| f.parse().ok())
        .unwrap_or(f64::NAN);
    Figure {
        bytes,
        seconds,
        cpu,
        peak,
    }
}

/// The exponent `k` of `cost ~ size^k` through two points.
pub fn exponent(small: (f64, f64), large: (f64, f64)) -> f64 {
    (large.1 / small.1).ln() / (large.0 / small.0).ln()
}

/// Measures `op` on every shape at both `sizes` and prints one line per shape: input size,
/// throughput (check) or time (plan), peak memory, and the fitted exponents of time and memory.
pub fn report(op: Op, sizes: [usize; 2], runs: usize) {
    eprintln!(
        "\n{} per shape (best of {runs} runs, peak resident memory of a child process):",
        op.name()
    );
    for shape in Shape::ALL {
        let [small, large] = sizes.map(|steps| measure(op, shape, steps, runs));
        let line = |steps: usize, f: &Figure| {
            let mb = f.bytes as f64 / 1e6;
            let peak = f
                .peak
                .map_or_else(|| "n/a".to_owned(), |p| format!("{:.0} MB", p as f64 / 1e6));
            format!(
                "{steps} steps {mb:.1} MB: {:.3} s ({:.2} s cpu), {:.1} MB/s, peak {peak}",
                f.seconds,
                f.cpu,
                mb / f.seconds
            )
        };
        let time = exponent(
            (small.bytes as f64, small.seconds),
            (large.bytes as f64, large.seconds),
        );
        let cpu = exponent(
            (small.bytes as f64, small.cpu.max(0.01)),
            (large.bytes as f64, large.cpu.max(0.01)),
        );
        let memory = match (small.peak, large.peak) {
            (Some(a), Some(b)) => format!(
                "{:.2}",
                exponent(
                    (small.bytes as f64, a as f64),
                    (large.bytes as f64, b as f64)
                )
            ),
            _ => "n/a".to_owned(),
        };
        eprintln!(
            "  {:<12} {} | {} | exponent: time {time:.2}, cpu {cpu:.2}, memory {memory}",
            shape.name(),
            line(sizes[0], &small),
            line(sizes[1], &large)
        );
    }
}
