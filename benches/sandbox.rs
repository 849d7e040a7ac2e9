//! What the exec sandbox adds to a step: one program (`/bin/true`) run unconfined, as
//! `sandbox: off` runs it, and through the launcher (writ run twice more: the reaper, then the
//! confiner that applies no_new_privs, Landlock and the seccomp filter before it becomes the
//! program), with a fresh scratch folder made and removed as a step does. The difference of the
//! two is the sandbox's cost per exec step (the aim: under 5 ms).
//!
//! Run with `cargo bench --bench sandbox`; it takes a few seconds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use writ::runtime::connector::exec;
use writ::runtime::sandbox::{self, Network, Policy, Protected, Scratch};

const PROGRAM: &str = "/bin/true";

fn policy(scratch: &Path, reads: &[PathBuf]) -> Policy {
    Policy {
        program: PathBuf::from(PROGRAM),
        args: Vec::new(),
        workdir: PathBuf::from("/"),
        read: reads.to_vec(),
        write: vec![scratch.to_path_buf()],
        network: Network::Allow,
        sha256: None,
    }
}

fn bench(c: &mut Criterion) {
    sandbox::set_launcher(PathBuf::from(env!("CARGO_BIN_EXE_writ")));
    let timeout = Duration::from_secs(10);
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let protected = Protected::new(
        &folder.join("bench-sandbox/state.db"),
        &folder.join("w.yaml"),
    );
    let reads = sandbox::system_reads(&protected);
    let mut group = c.benchmark_group("exec_step");
    group.bench_function("unconfined", |b| {
        b.iter(|| exec::run(Path::new(PROGRAM), &[], None, timeout).unwrap())
    });
    if sandbox::probe().is_some() {
        group.bench_function("sandboxed", |b| {
            b.iter(|| {
                let scratch = Scratch::create().unwrap();
                exec::run_sandboxed(&policy(scratch.path(), &reads), scratch.path(), timeout)
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
