//! Ratio report: atomic-ledger against what users would pick instead, every
//! variant measured interleaved in one run (A B C … A B C …, `ROUNDS` rounds)
//! and reported as medians, so that machine noise hits every variant alike.
//!
//! `cargo run --release --example bench_report` (33–40 s on 2 cores);
//! `… -- durable` for the durable rows instead (`benches/support/durable.rs`),
//! `… -- stream` for the change stream's rows (`benches/support/stream.rs`),
//! `… -- all` for all of them.
//!
//! One table, printed as Markdown: for each operation, distribution and
//! thread count (1 to `available_parallelism`), every variant's ops/s and its
//! ratio to the floor (where the operation has one) and to the best baseline.
//! Threads start before timing and are released together by a barrier. The
//! operations, distributions and variants are `benches/support/world.rs`,
//! shared with `cargo bench`. Then: memory per account at 1 000 000 accounts,
//! debits beside a thread taking snapshots, and the snapshot's cost.

/// The durable rows (`bench_report durable`).
#[path = "../benches/support/durable.rs"]
mod durable;
/// The memory tests' reading of the resident set (Linux; `None` elsewhere).
#[path = "../tests/support/resident.rs"]
mod resident;
/// The change stream's rows (`bench_report stream`).
#[path = "../benches/support/stream.rs"]
mod stream;
#[path = "../benches/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use atomic_ledger::{AccountId, AccountOptions, Ledger};
use support::world::{variants, Distribution, Kind, Operation, Variant, World};

const OPS_PER_THREAD: usize = 50_000;
/// At a million accounts every operation misses the caches, so a run of this
/// many already lasts 10 ms or more; fewer keep the report within a minute.
const OPS_PER_THREAD_1M: usize = 25_000;
const ROUNDS: usize = 5;

fn ops_per_thread(accounts: usize) -> usize {
    if accounts <= 10_000 {
        OPS_PER_THREAD
    } else {
        OPS_PER_THREAD_1M
    }
}

/// Untimed operations before each measurement, on the measured variant's
/// data (the previous variant left the caches full of its own): about ten
/// per account, from 20 000 to 100 000. With 20 000, the 10 000-account runs
/// had not reached their steady state: the baselines and the crate alike
/// measured up to 2× slower than with 100 000, and unevenly. A million
/// accounts never fit the caches, so 20 000 do there.
fn warm_up_ops(accounts: usize) -> usize {
    if accounts <= 10_000 {
        (10 * accounts).clamp(20_000, 100_000)
    } else {
        20_000
    }
}

/// Runs `op` on each of `threads` threads, `warm_up_ops(accounts)` untimed
/// times and then `ops_per_thread(accounts)` timed; ops/s.
fn measure(threads: usize, accounts: usize, op: &(dyn Fn(usize, usize) + Sync)) -> f64 {
    let ops = ops_per_thread(accounts);
    let elapsed = support::run_threads(threads, ops, warm_up_ops(accounts), op);
    (threads * ops) as f64 / elapsed.as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Measures `variants` interleaved and prints their rows.
fn report(world: &World, operation: Operation, threads: usize, variants: &[Variant<'_>]) {
    let mut samples = vec![Vec::new(); variants.len()];
    for _ in 0..ROUNDS {
        for (index, variant) in variants.iter().enumerate() {
            world.round.fetch_add(1, Ordering::Relaxed);
            samples[index].push(measure(threads, world.distribution.accounts, variant.run.as_ref()));
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|samples| median(samples)).collect();
    let of_kind = |kind: Kind| {
        variants.iter().zip(&medians).filter(move |(variant, _)| variant.kind == kind).map(|(_, ops)| *ops)
    };
    let floor = of_kind(Kind::Floor).next();
    let best_baseline = of_kind(Kind::Baseline).fold(0.0, f64::max);
    for (variant, ops) in variants.iter().zip(&medians) {
        let vs_floor = floor.map_or("".to_string(), |floor| format!("{:.2}", ops / floor));
        let name = if variant.kind == Kind::Ledger {
            format!("**{}**", variant.name)
        } else {
            variant.name.to_string()
        };
        println!(
            "| {} | {} | {threads} | {name} | {:.2} | {vs_floor} | {:.2} |",
            operation.name(),
            world.distribution.name,
            ops / 1e6,
            ops / best_baseline
        );
    }
}

/// Resident bytes per account of a ledger of 1 000 000 opened accounts,
/// directory included (the difference in RSS around building it).
fn memory_per_account() {
    const ACCOUNTS: usize = 1_000_000;
    let before = resident::resident_bytes().unwrap_or(0);
    let ledger = Ledger::builder().accounts_max(ACCOUNTS).build().expect("valid config");
    for id in 1..=ACCOUNTS as u128 {
        ledger.open_account(AccountId(id), AccountOptions::default()).expect("fresh id");
        ledger.credit(AccountId(id), 1).expect("fits");
    }
    let after = resident::resident_bytes().unwrap_or(0);
    println!(
        "\nmemory: {:.0} resident bytes per account at {ACCOUNTS} accounts (directory included; RSS difference)",
        after.saturating_sub(before) as f64 / ACCOUNTS as f64
    );
    drop(ledger);
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        None => in_memory(),
        Some("durable") => durable::report(),
        Some("recovery") => durable::recovery_only(),
        Some("stream") => stream::report(),
        Some("all") => {
            in_memory();
            durable::report();
            stream::report();
        }
        Some(other) => {
            eprintln!("usage: bench_report [durable|recovery|stream|all] (got {other:?}); no argument: the in-memory table");
            std::process::exit(2);
        }
    }
}

/// The in-memory table, memory per account, snapshots.
fn in_memory() {
    let started = Instant::now();
    let parallelism = std::thread::available_parallelism().map_or(2, usize::from);
    memory_per_account();
    println!("\n| operation | distribution | threads | variant | M ops/s | ÷ floor | ÷ best baseline |");
    println!("|---|---|---|---|---|---|---|");
    let mut first = None;
    for distribution in Distribution::all() {
        let setup = Instant::now();
        let world = World::new(distribution);
        eprintln!("({}: set up in {:.1} s)", world.distribution.name, setup.elapsed().as_secs_f64());
        let handles = world.handles();
        for threads in 1..=parallelism {
            for operation in Operation::ALL {
                report(&world, operation, threads, &variants(&world, &handles, operation));
            }
        }
        eprintln!("({}: done at {:.1} s)", world.distribution.name, started.elapsed().as_secs_f64());
        let audit = world.ledger.audit();
        assert!(audit.is_consistent(), "{audit:?}");
        if first.is_none() {
            first = Some(world);
        }
    }
    println!(
        "\n(median of {ROUNDS} interleaved rounds of {OPS_PER_THREAD} operations per thread ({OPS_PER_THREAD_1M} at 1M \
         accounts), each after an untimed warm-up; ratios within this run)"
    );
    let world = first.expect("at least one distribution");
    let handles = world.handles();
    debit_beside_snapshots(&world, &handles);
    snapshot_cost();
    println!("\nbench_report took {:.1} s", started.elapsed().as_secs_f64());
}

/// Single-thread debits by handle alone, and with a second thread taking
/// snapshots of the same ledger back to back (interleaved rounds, medians).
fn debit_beside_snapshots(world: &World, handles: &[atomic_ledger::Account<'_>]) {
    let ledger = &world.ledger;
    let accounts = world.distribution.accounts;
    let debit = |t: usize, i: usize| assert!(handles[world.distribution.index(t, i)].debit(1).is_ok());
    // More rounds than elsewhere: a second busy thread makes this VM's timings jumpier.
    const BESIDE_ROUNDS: usize = 15;
    let (mut alone, mut beside, mut snapshots_per_s) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..BESIDE_ROUNDS {
        alone.push(measure(1, accounts, &debit));
        let stop = AtomicBool::new(false);
        let (ops, taken, elapsed) = std::thread::scope(|scope| {
            let snapshotter = scope.spawn(|| {
                let started = Instant::now();
                let mut taken = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(ledger.snapshot().accounts().len(), accounts);
                    taken += 1;
                }
                (taken, started.elapsed())
            });
            let ops = measure(1, accounts, &debit);
            stop.store(true, Ordering::Relaxed);
            let (taken, elapsed) = snapshotter.join().expect("snapshotter");
            (ops, taken, elapsed)
        });
        beside.push(ops);
        snapshots_per_s.push(taken as f64 / elapsed.as_secs_f64());
    }
    let (alone, beside) = (median(&mut alone), median(&mut beside));
    println!(
        "\ndebit by handle, 1 thread, uniform 10k accounts, median of {BESIDE_ROUNDS} interleaved rounds"
    );
    println!("{:<40} {:>14} {:>10}", "variant", "Mops/s", "ratio");
    println!("{:<40} {:>14.2} {:>10.2}", "alone", alone / 1e6, 1.0);
    println!(
        "{:<40} {:>14.2} {:>10.2}",
        format!("beside back-to-back snapshots ({:.0}/s)", median(&mut snapshots_per_s)),
        beside / 1e6,
        beside / alone
    );
}

/// Time to snapshot 10 000 and 1 000 000 accounts at rest (median of `ROUNDS`).
fn snapshot_cost() {
    println!("\nsnapshot cost at rest, median of {ROUNDS}");
    println!("{:<12} {:>12} {:>14}", "accounts", "ms", "ns/account");
    for accounts in [10_000usize, 1_000_000] {
        let ledger = Ledger::builder().accounts_max(accounts).build().expect("valid config");
        for id in 1..=accounts as u128 {
            ledger.open_account(AccountId(id), AccountOptions::default()).expect("fresh id");
            ledger.credit(AccountId(id), 1).expect("fits");
        }
        let mut samples: Vec<f64> = (0..ROUNDS)
            .map(|_| {
                let started = Instant::now();
                let snapshot = ledger.snapshot();
                let elapsed = started.elapsed().as_secs_f64();
                assert_eq!(snapshot.total(), accounts as i128);
                elapsed
            })
            .collect();
        let seconds = median(&mut samples);
        println!("{accounts:<12} {:>12.2} {:>14.1}", seconds * 1e3, seconds * 1e9 / accounts as f64);
    }
}
