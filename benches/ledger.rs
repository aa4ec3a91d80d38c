//! Criterion benches: atomic-ledger next to the baselines a user would pick
//! instead (and the refilling quota next to `governor`), single thread,
//! uniform over 10 000 accounts or keys.
//!
//! `cargo bench` runs them; `cargo run --release --example bench_report` gives
//! the interleaved ratio table (including two threads).
#![allow(missing_docs)]

mod support;

use std::hint::black_box;

use std::num::NonZeroU32;

use atomic_ledger::{AccountId, AccountOptions, BucketId, BucketPolicy, Ledger, Transfer, TransferId};
use criterion::{criterion_group, criterion_main, Criterion};
use governor::{Quota, RateLimiter};

const ACCOUNTS: usize = 10_000;
const BALANCE: u64 = 1 << 40;

fn ledger() -> Ledger {
    let ledger = Ledger::builder().accounts_max(ACCOUNTS).build().unwrap();
    for id in 1..=ACCOUNTS as u128 {
        ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
        ledger.credit(AccountId(id), BALANCE).unwrap();
    }
    ledger
}

fn debit(c: &mut Criterion) {
    let indices = support::uniform_indices(ACCOUNTS, 1 << 16, 7);
    let mut group = c.benchmark_group("debit_uniform_10k_1thread");
    let mut position = 0usize;
    let mut next = move || {
        position = (position + 1) & ((1 << 16) - 1);
        indices[position] as usize
    };

    let floor = support::Floor::new(ACCOUNTS, BALANCE);
    group.bench_function("floor_vec_cas", |b| b.iter(|| floor.debit(black_box(next()), 1)));
    let map = support::std_mutex_map(ACCOUNTS, BALANCE);
    group.bench_function("std_mutex_hashmap", |b| {
        b.iter(|| support::std_mutex_debit(&map, next() as u128 + 1, 1))
    });
    let map = support::pl_mutex_map(ACCOUNTS, BALANCE);
    group.bench_function("parking_lot_mutex_hashmap", |b| {
        b.iter(|| support::pl_mutex_debit(&map, next() as u128 + 1, 1))
    });
    let map = support::dashmap(ACCOUNTS, BALANCE);
    group.bench_function("dashmap_get_mut", |b| {
        b.iter(|| support::dashmap_debit(&map, next() as u128 + 1, 1))
    });
    let map = support::dashmap_atomics(ACCOUNTS, BALANCE);
    group.bench_function("dashmap_atomic_cas", |b| {
        b.iter(|| support::dashmap_atomic_debit(&map, next() as u128 + 1, 1))
    });
    let ledger = ledger();
    group.bench_function("ledger_by_id", |b| b.iter(|| ledger.debit(AccountId(next() as u128 + 1), 1)));
    let handles: Vec<_> = (1..=ACCOUNTS as u128).map(|id| ledger.account(AccountId(id)).unwrap()).collect();
    group.bench_function("ledger_by_handle", |b| b.iter(|| handles[next()].debit(1)));
    group.finish();
}

fn transfer(c: &mut Criterion) {
    let indices = support::uniform_indices(ACCOUNTS, 1 << 16, 11);
    let mut group = c.benchmark_group("transfer_uniform_10k_1thread");
    let mut position = 0usize;
    let mut pair = move || {
        position = (position + 2) & ((1 << 16) - 1);
        let (from, to) = (indices[position] as u128 + 1, indices[position + 1] as u128 + 1);
        (from, if to == from { from % ACCOUNTS as u128 + 1 } else { to })
    };
    let map = support::pl_mutex_map(ACCOUNTS, BALANCE);
    group.bench_function("parking_lot_mutex_hashmap", |b| {
        b.iter(|| {
            let (from, to) = pair();
            support::pl_mutex_transfer(&map, from, to, 1)
        })
    });
    let ledger = ledger();
    let mut id = 0u128;
    group.bench_function("ledger_idempotent", |b| {
        b.iter(|| {
            let (from, to) = pair();
            id += 1;
            ledger.transfer(Transfer {
                id: TransferId(id),
                from: AccountId(from),
                to: AccountId(to),
                amount: 1,
            })
        })
    });
    group.finish();
}

/// The refilling quota against governor's keyed limiter: one unit per
/// request, 10 000 keys drawn uniformly, quotas far above the request rate.
fn quota(c: &mut Criterion) {
    let indices = support::uniform_indices(ACCOUNTS, 1 << 16, 7);
    let mut group = c.benchmark_group("quota_keyed_10k_1thread");
    let ledger = Ledger::builder().buckets_max(ACCOUNTS).build().unwrap();
    let policy = BucketPolicy { capacity: 1_000_000, refill_amount: 1_000_000, refill_interval_ms: 1_000 };
    for key in 1..=ACCOUNTS as u128 {
        ledger.open_bucket(BucketId(key), policy).unwrap();
    }
    let per_second = NonZeroU32::new(1_000_000).unwrap();
    let governor = RateLimiter::dashmap(Quota::per_second(per_second).allow_burst(per_second));
    let mut position = 0usize;
    let mut next = move || {
        position = (position + 1) & ((1 << 16) - 1);
        indices[position] as u128 + 1
    };
    group.bench_function("governor_keyed_dashmap", |b| {
        b.iter(|| governor.check_key(&black_box(next())).is_ok())
    });
    group.bench_function("ledger_take", |b| b.iter(|| ledger.take(BucketId(black_box(next())), 1).is_ok()));
    group.finish();
}

criterion_group!(benches, debit, transfer, quota);
criterion_main!(benches);
