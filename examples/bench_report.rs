//! Ratio report: atomic-ledger against the baselines, measured interleaved in one
//! run (A B C … A B C …, `ROUNDS` rounds) and reported as medians, so machine
//! noise hits every variant alike.
//!
//! `cargo run --release --example bench_report`
//!
//! Uniform over 10 000 accounts; 1 and 2 threads (threads start before timing
//! and are released together by a barrier). Every debit succeeds (balances are
//! large), so the figures compare the success path. Then: single-thread debits
//! with and without a second thread taking snapshots back to back, and the
//! time to snapshot 10 000 and 1 000 000 accounts at rest. And the refilling
//! quota against `governor`'s keyed limiter on one keyed workload, both where
//! every request is allowed and where nearly every one is refused.

#[path = "../benches/support/mod.rs"]
mod support;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use atomic_ledger::{
    AccountId, AccountOptions, BucketId, BucketPolicy, CredentialId, CredentialSpec, Ledger, MonotonicClock,
    Scopes, Transfer, TransferId,
};
use governor::{Quota, RateLimiter};

const ACCOUNTS: usize = 10_000;
const BALANCE: u64 = 1 << 40;
const OPS_PER_THREAD: usize = 400_000;
const ROUNDS: usize = 7;
const INDEX_MASK: usize = (1 << 20) - 1;

type Op<'a> = Box<dyn Fn(usize, usize) + Sync + 'a>;

/// Runs `op(thread, i)` `OPS_PER_THREAD` times on each of `threads` threads; ops/s.
fn measure(threads: usize, op: &(dyn Fn(usize, usize) + Sync)) -> f64 {
    let barrier = Barrier::new(threads + 1);
    let elapsed = std::thread::scope(|scope| {
        for thread in 0..threads {
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                for i in 0..OPS_PER_THREAD {
                    op(thread, i);
                }
            });
        }
        barrier.wait();
        Instant::now()
    })
    .elapsed();
    (threads * OPS_PER_THREAD) as f64 / elapsed.as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn report(title: &str, threads: usize, variants: &[(&str, bool, Op<'_>)]) {
    let mut samples = vec![Vec::new(); variants.len()];
    for _ in 0..ROUNDS {
        for (index, (_, _, op)) in variants.iter().enumerate() {
            samples[index].push(measure(threads, op.as_ref()));
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|samples| median(samples)).collect();
    let floor = variants.iter().position(|(name, ..)| name.starts_with("floor")).map(|index| medians[index]);
    let best_baseline = variants
        .iter()
        .zip(&medians)
        .filter(|((_, is_baseline, _), _)| *is_baseline)
        .map(|(_, ops)| *ops)
        .fold(0.0, f64::max);
    println!("\n{title}, {threads} thread(s), median of {ROUNDS} interleaved rounds");
    println!("{:<28} {:>14} {:>10} {:>14}", "variant", "Mops/s", "÷ floor", "÷ best lock/map");
    for ((name, _, _), ops) in variants.iter().zip(&medians) {
        let vs_floor = floor.map_or("-".to_string(), |floor| format!("{:.2}", ops / floor));
        println!("{name:<28} {:>14.2} {vs_floor:>10} {:>14.2}", ops / 1e6, ops / best_baseline);
    }
}

fn main() {
    let indices = support::uniform_indices(ACCOUNTS, INDEX_MASK + 1, 7);
    let index = |thread: usize, i: usize| indices[(i + thread * 7919) & INDEX_MASK] as usize;
    let ledger =
        Ledger::builder().accounts_max(ACCOUNTS).credentials_max(ACCOUNTS).build().expect("valid config");
    for id in 1..=ACCOUNTS as u128 {
        ledger.open_account(AccountId(id), AccountOptions::default()).expect("fresh id");
        ledger.credit(AccountId(id), BALANCE).expect("fits");
        let key = CredentialSpec {
            account: AccountId(id),
            scopes: Scopes::DEBIT,
            amount_max_per_op: Some(10),
            spend_cap: None,
            expires_at_ms: None,
            rate_limit: None,
        };
        ledger.issue_credential(CredentialId(id), key).expect("fresh credential");
    }
    let handles: Vec<_> =
        (1..=ACCOUNTS as u128).map(|id| ledger.account(AccountId(id)).expect("opened")).collect();
    let floor = support::Floor::new(ACCOUNTS, BALANCE);
    let std_map = support::std_mutex_map(ACCOUNTS, BALANCE);
    let pl_map = support::pl_mutex_map(ACCOUNTS, BALANCE);
    let dash = support::dashmap(ACCOUNTS, BALANCE);
    let dash_atomic = support::dashmap_atomics(ACCOUNTS, BALANCE);
    let id = |thread: usize, i: usize| index(thread, i) as u128 + 1;

    for threads in [1, 2] {
        let debits: Vec<(&str, bool, Op<'_>)> = vec![
            ("floor (Vec<AtomicU64> CAS)", false, Box::new(|t, i| assert!(floor.debit(index(t, i), 1)))),
            (
                "std Mutex<HashMap>",
                true,
                Box::new(|t, i| assert!(support::std_mutex_debit(&std_map, id(t, i), 1))),
            ),
            (
                "parking_lot Mutex<HashMap>",
                true,
                Box::new(|t, i| assert!(support::pl_mutex_debit(&pl_map, id(t, i), 1))),
            ),
            ("DashMap get_mut", true, Box::new(|t, i| assert!(support::dashmap_debit(&dash, id(t, i), 1)))),
            (
                "DashMap<AtomicU64> get+CAS",
                true,
                Box::new(|t, i| assert!(support::dashmap_atomic_debit(&dash_atomic, id(t, i), 1))),
            ),
            (
                "ledger debit by id",
                false,
                Box::new(|t, i| assert!(ledger.debit(AccountId(id(t, i)), 1).is_ok())),
            ),
            (
                "ledger debit by handle",
                false,
                Box::new(|t, i| assert!(handles[index(t, i)].debit(1).is_ok())),
            ),
            (
                "ledger debit_as (credential)",
                false,
                Box::new(|t, i| assert!(ledger.debit_as(CredentialId(id(t, i)), 1).is_ok())),
            ),
        ];
        report("conditional debit, uniform 10k accounts", threads, &debits);
    }

    let batch = AtomicU64::new(0);
    let pair = |t: usize, i: usize| {
        let (from, to) = (id(t, 2 * i), id(t, 2 * i + 1));
        (from, if to == from { from % ACCOUNTS as u128 + 1 } else { to })
    };
    for threads in [1, 2] {
        let transfers: Vec<(&str, bool, Op<'_>)> = vec![
            (
                "std Mutex<HashMap>",
                true,
                Box::new(|t, i| {
                    let (from, to) = pair(t, i);
                    assert!(support::std_mutex_transfer(&std_map, from, to, 1));
                }),
            ),
            (
                "parking_lot Mutex<HashMap>",
                true,
                Box::new(|t, i| {
                    let (from, to) = pair(t, i);
                    assert!(support::pl_mutex_transfer(&pl_map, from, to, 1));
                }),
            ),
            (
                "ledger transfer (with id)",
                false,
                Box::new(|t, i| {
                    let (from, to) = pair(t, i);
                    if i == 0 {
                        batch.fetch_add(1, Ordering::Relaxed);
                    }
                    // Unique and increasing: batch, thread, sequence.
                    let id =
                        (u128::from(batch.load(Ordering::Relaxed)) << 64) | ((t as u128) << 32) | i as u128;
                    let transfer =
                        Transfer { id: TransferId(id), from: AccountId(from), to: AccountId(to), amount: 1 };
                    assert!(ledger.transfer(transfer).is_ok());
                }),
            ),
        ];
        report("transfer, uniform 10k accounts", threads, &transfers);
    }
    quota_vs_governor(&index);
    debit_beside_snapshots(&ledger, &handles, &index);
    snapshot_cost();
    let audit = ledger.audit();
    assert!(audit.is_consistent(), "{audit:?}");
}

/// One keyed workload, 10 000 keys drawn uniformly, one unit per request:
/// `Ledger::take` on a bucket per key against governor's keyed (DashMap)
/// limiter: with each one's default clock (the OS clock for the ledger,
/// quanta's counter for governor), and with the ledger on the same kind of
/// counter (`MonotonicClock`). "Allowed": per-key quotas far above
/// the request rate; "refused": 1 unit per hour, spent before timing.
fn quota_vs_governor(index: &(dyn Fn(usize, usize) -> usize + Sync)) {
    const KEYS: usize = ACCOUNTS;
    for (regime, per_hour) in [("allowed", 3_600_000_000u64), ("refused", 1)] {
        let burst = per_hour.min(1_000_000);
        let ledger = Ledger::builder().buckets_max(KEYS).build().expect("valid config");
        let fast = Ledger::builder()
            .buckets_max(KEYS)
            .clock(Arc::new(MonotonicClock::new()))
            .build()
            .expect("valid config");
        let policy = BucketPolicy {
            capacity: burst,
            refill_amount: burst,
            refill_interval_ms: 3_600_000 * burst / per_hour,
        };
        let governor_quota =
            Quota::per_hour(NonZeroU32::new(per_hour.min(u64::from(u32::MAX)) as u32).expect("positive"))
                .allow_burst(NonZeroU32::new(burst as u32).expect("positive"));
        let governor = RateLimiter::dashmap(governor_quota);
        for key in 1..=KEYS as u128 {
            ledger.open_bucket(BucketId(key), policy).expect("fresh bucket");
            fast.open_bucket(BucketId(key), policy).expect("fresh bucket");
            if regime == "refused" {
                assert!(ledger.take(BucketId(key), 1).is_ok());
                assert!(fast.take(BucketId(key), 1).is_ok());
                assert!(governor.check_key(&key).is_ok());
            }
        }
        let allowed = regime == "allowed";
        let key = |t: usize, i: usize| index(t, i) as u128 + 1;
        for threads in [1, 2] {
            let variants: Vec<(&str, bool, Op<'_>)> = vec![
                (
                    "governor keyed (DashMap)",
                    true,
                    Box::new(|t, i| assert_eq!(governor.check_key(&key(t, i)).is_ok(), allowed)),
                ),
                (
                    "ledger take, SystemClock",
                    false,
                    Box::new(|t, i| assert_eq!(ledger.take(BucketId(key(t, i)), 1).is_ok(), allowed)),
                ),
                (
                    "ledger take, MonotonicClock",
                    false,
                    Box::new(|t, i| assert_eq!(fast.take(BucketId(key(t, i)), 1).is_ok(), allowed)),
                ),
            ];
            report(&format!("quota consume, 10k keys, {regime}"), threads, &variants);
        }
    }
}

/// Single-thread debits by handle alone, and with a second thread taking
/// snapshots of the same ledger back to back (interleaved rounds, medians).
fn debit_beside_snapshots(
    ledger: &Ledger,
    handles: &[atomic_ledger::Account<'_>],
    index: &(dyn Fn(usize, usize) -> usize + Sync),
) {
    let debit = |t: usize, i: usize| assert!(handles[index(t, i)].debit(1).is_ok());
    // More rounds than elsewhere: a second busy thread makes this VM's timings jumpier.
    const BESIDE_ROUNDS: usize = 15;
    let (mut alone, mut beside, mut snapshots_per_s) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..BESIDE_ROUNDS {
        alone.push(measure(1, &debit));
        let stop = AtomicBool::new(false);
        let (ops, taken, elapsed) = std::thread::scope(|scope| {
            let snapshotter = scope.spawn(|| {
                let started = Instant::now();
                let mut taken = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(ledger.snapshot().accounts().len(), ACCOUNTS);
                    taken += 1;
                }
                (taken, started.elapsed())
            });
            let ops = measure(1, &debit);
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
