//! Baselines shared by `benches/ledger.rs` and `examples/bench_report.rs`:
//! what a user would write instead of atomic-ledger, each doing the same
//! conditional debit (`balance >= amount` then subtract) and transfer.
#![allow(dead_code)]

pub mod world;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use dashmap::DashMap;

/// The hardware floor: a dense array of padded atomics indexed directly,
/// debited by a CAS loop. No lookup, no status, no floor other than zero.
pub struct Floor(pub Vec<CachePadded<AtomicU64>>);

impl Floor {
    pub fn new(accounts: usize, balance: u64) -> Self {
        Self((0..accounts).map(|_| CachePadded::new(AtomicU64::new(balance))).collect())
    }

    #[inline]
    pub fn debit(&self, index: usize, amount: u64) -> bool {
        cas_debit(&self.0[index], amount)
    }
}

/// The conditional debit of one atomic balance: a CAS loop, as the floor and the
/// DashMap-of-atomics baseline both do it.
#[inline]
pub fn cas_debit(cell: &AtomicU64, amount: u64) -> bool {
    let mut current = cell.load(Ordering::Acquire);
    loop {
        if current < amount {
            return false;
        }
        match cell.compare_exchange_weak(current, current - amount, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(actual) => current = actual,
        }
    }
}

/// The conditional debit every map-based baseline performs.
#[inline]
pub fn debit_in_map(map: &mut HashMap<u128, u64>, id: u128, amount: u64) -> bool {
    match map.get_mut(&id) {
        Some(balance) if *balance >= amount => {
            *balance -= amount;
            true
        }
        _ => false,
    }
}

/// The (non-idempotent) transfer every map-based baseline performs.
#[inline]
pub fn transfer_in_map(map: &mut HashMap<u128, u64>, from: u128, to: u128, amount: u64) -> bool {
    if !map.contains_key(&to) || !debit_in_map(map, from, amount) {
        return false;
    }
    *map.get_mut(&to).expect("checked above") += amount;
    true
}

pub fn std_mutex_map(accounts: usize, balance: u64) -> std::sync::Mutex<HashMap<u128, u64>> {
    std::sync::Mutex::new((1..=accounts as u128).map(|id| (id, balance)).collect())
}

#[inline]
pub fn std_mutex_debit(map: &std::sync::Mutex<HashMap<u128, u64>>, id: u128, amount: u64) -> bool {
    debit_in_map(&mut map.lock().unwrap(), id, amount)
}

#[inline]
pub fn std_mutex_transfer(
    map: &std::sync::Mutex<HashMap<u128, u64>>,
    from: u128,
    to: u128,
    amount: u64,
) -> bool {
    transfer_in_map(&mut map.lock().unwrap(), from, to, amount)
}

pub fn pl_mutex_map(accounts: usize, balance: u64) -> parking_lot::Mutex<HashMap<u128, u64>> {
    parking_lot::Mutex::new((1..=accounts as u128).map(|id| (id, balance)).collect())
}

#[inline]
pub fn pl_mutex_debit(map: &parking_lot::Mutex<HashMap<u128, u64>>, id: u128, amount: u64) -> bool {
    debit_in_map(&mut map.lock(), id, amount)
}

#[inline]
pub fn pl_mutex_transfer(
    map: &parking_lot::Mutex<HashMap<u128, u64>>,
    from: u128,
    to: u128,
    amount: u64,
) -> bool {
    transfer_in_map(&mut map.lock(), from, to, amount)
}

pub fn dashmap(accounts: usize, balance: u64) -> DashMap<u128, u64> {
    (1..=accounts as u128).map(|id| (id, balance)).collect()
}

#[inline]
pub fn dashmap_debit(map: &DashMap<u128, u64>, id: u128, amount: u64) -> bool {
    match map.get_mut(&id) {
        Some(mut balance) if *balance >= amount => {
            *balance -= amount;
            true
        }
        _ => false,
    }
}

pub fn dashmap_atomics(accounts: usize, balance: u64) -> DashMap<u128, AtomicU64> {
    (1..=accounts as u128).map(|id| (id, AtomicU64::new(balance))).collect()
}

#[inline]
pub fn dashmap_atomic_debit(map: &DashMap<u128, AtomicU64>, id: u128, amount: u64) -> bool {
    map.get(&id).is_some_and(|cell| cas_debit(&cell, amount))
}

/// Account indices in `0..accounts`, uniform, from a fixed seed.
pub fn uniform_indices(accounts: usize, count: usize, seed: u64) -> Vec<u32> {
    let mut state = seed | 1;
    (0..count)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) % accounts as u64) as u32
        })
        .collect()
}

/// A warm-up stops early after this long. A slow operation (a microsecond
/// or more: holds, the idempotent baselines) reaches its steady state long
/// before its count, and the full count would spend a fifth of the report's
/// minute on warm-ups alone.
pub const WARM_UP_TIME_MAX: Duration = Duration::from_millis(20);

/// Runs `op(thread, i)` on each of `threads` threads: `warm_up` untimed
/// operations (`i` in `0..warm_up`, or fewer if they last
/// [`WARM_UP_TIME_MAX`]), then, released together by a barrier,
/// `ops_per_thread` timed ones (`i` from `warm_up` on). Ids built from `i`
/// stay unique and keep increasing over the run, as time-ordered ids do.
/// Returns the wall time from the first thread's start to the last one's
/// end: each thread reads the clock itself, so a slow wake-up of the
/// coordinating thread cannot shorten the interval.
pub fn run_threads(
    threads: usize,
    ops_per_thread: usize,
    warm_up: usize,
    op: &(dyn Fn(usize, usize) + Sync),
) -> Duration {
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let warming = Instant::now();
                    for i in 0..warm_up {
                        op(thread, i);
                        if i % 1024 == 1023 && warming.elapsed() >= WARM_UP_TIME_MAX {
                            break;
                        }
                    }
                    barrier.wait();
                    let started = Instant::now();
                    for i in warm_up..warm_up + ops_per_thread {
                        op(thread, i);
                    }
                    (started, Instant::now())
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().expect("worker")).collect()
    });
    let first = spans.iter().map(|span| span.0).min().expect("a thread");
    let last = spans.iter().map(|span| span.1).max().expect("a thread");
    last - first
}
