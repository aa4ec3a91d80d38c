//! Criterion benches: atomic-ledger next to what a user would pick instead,
//! for every operation, distribution and thread count of the matrix in
//! `support/world.rs` (the same matrix `examples/bench_report.rs` reports as
//! interleaved ratios).
//!
//! `cargo bench` runs every group, named `operation/distribution/threads`;
//! `cargo bench -- 'debit/uniform-10k'` runs a subset. Each measurement
//! starts its threads before timing and releases them together with a
//! barrier (`iter_custom`), and reports time per operation across all threads
//! (the inverse of throughput).
#![allow(missing_docs)]

mod support;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use support::world::{variants, Distribution, Operation, World};

/// Runs `iters` operations split over `threads` threads (criterion warms
/// up on its own); the wall time of the timed part.
fn run_threads(world: &World, threads: usize, iters: u64, op: &(dyn Fn(usize, usize) + Sync)) -> Duration {
    world.round.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    support::run_threads(threads, (iters as usize).div_ceil(threads), 0, op)
}

fn slug(name: &str) -> String {
    name.split(" (").next().unwrap_or(name).replace([' ', '+'], "-").replace("--", "-")
}

fn matrix(c: &mut Criterion) {
    let parallelism = std::thread::available_parallelism().map_or(2, usize::from);
    for distribution in Distribution::all() {
        let world = World::new(distribution);
        let handles = world.handles();
        for operation in Operation::ALL {
            for threads in 1..=parallelism {
                let name = format!("{}/{}/{threads}t", slug(operation.name()), slug(world.distribution.name));
                let mut group = c.benchmark_group(name);
                for variant in variants(&world, &handles, operation) {
                    group.bench_function(variant.name, |bencher| {
                        bencher.iter_custom(|iters| run_threads(&world, threads, iters, variant.run.as_ref()))
                    });
                }
                group.finish();
            }
        }
    }
}

criterion_group! {
    name = benches;
    // Short samples: the matrix has about 180 benchmarks; `bench_report` is
    // the place for careful ratios.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(600));
    targets = matrix
}
criterion_main!(benches);
