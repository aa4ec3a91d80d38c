//! The sharding both id tables share: a power-of-two number of cache-padded
//! mutexes, an id's shard chosen by a mix of its bits ([`shard_of`]), and the
//! exact split of a table's bound over its shards ([`shard_budget`]). The
//! transfer ids keep [`crate::record_lanes`] in each shard, the holds
//! [`crate::hold_lanes`].
//!
//! # Implementation details
//!
//! Callers hold the shard lock from the lookup, through applying the
//! operation, to recording its outcome, so "was this id seen?" and "apply it"
//! are one critical section. The shard locks are also the snapshot gate (see
//! [`crate::snapshot`]): [`Shards::lock_all`] takes every one, in index
//! order, the one global lock order.

use crossbeam_utils::CachePadded;

use crate::sync::{Mutex, MutexGuard};

/// Consecutive ids share a shard in runs of `2^SHARD_RUN_BITS`.
///
/// One client's ids are consecutive (a sequence, or [`crate::IdGenerator`]'s
/// counter under its tag), so a run keeps that client on one shard's lock
/// and lanes for 64 operations, in its own core's cache, instead of a
/// different shard each time whose lines another core wrote last. Measured:
/// 1.4–1.9× the transfers/s with 2 threads (BENCHMARKS.md, issue 18). Part
/// of the journal format: a checkpoint's low-water marks are per shard
/// (`docs/journal.md`, version 3).
pub(crate) const SHARD_RUN_BITS: u32 = 6;

/// The shard of `id` among `shard_count` (a power of two): its run (see
/// [`SHARD_RUN_BITS`]) folded and mixed, so that runs of sequential and of
/// time-prefixed ids alike spread.
#[inline]
pub(crate) fn shard_of(id: u128, shard_count: usize) -> usize {
    debug_assert!(shard_count.is_power_of_two());
    let run = id >> SHARD_RUN_BITS;
    let folded = (run as u64) ^ ((run >> 64) as u64);
    let mixed = folded.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 32) as usize & (shard_count - 1)
}

/// The low-water mark shard `index` of `shard_count` takes from a
/// checkpoint's `marks` (one per shard of the table that wrote it): its own
/// with the same shard count; with another, the largest of them (an id is
/// then refused as expired a little early, never decided twice).
pub(crate) fn restored_mark(marks: &[u128], shard_count: usize, index: usize) -> u128 {
    if marks.len() == shard_count {
        marks[index]
    } else {
        marks.iter().copied().max().unwrap_or(0)
    }
}

/// Shard `index`'s part of a table that remembers at most `records_max`
/// records over `shard_count` shards: the parts differ by at most one and sum
/// to `records_max` exactly, so the table's bound is the configured one (a
/// rounded-up share per shard would let the table hold up to `shard_count −
/// 1` more).
pub(crate) fn shard_budget(records_max: usize, shard_count: usize, index: usize) -> usize {
    debug_assert!(index < shard_count && records_max >= shard_count);
    records_max / shard_count + usize::from(index < records_max % shard_count)
}

/// A power-of-two number of cache-padded mutexes over `S`, an id's shard
/// chosen by [`shard_of`]: the sharding both id tables share (the holds'
/// [`IdTable`] and the transfers' [`crate::record_lanes`]).
pub(crate) struct Shards<S> {
    shards: Box<[CachePadded<Mutex<S>>]>,
}

impl<S> Shards<S> {
    /// `shard_count` shards, shard `index` made by `make(index)`.
    pub(crate) fn new(shard_count: usize, make: impl FnMut(usize) -> S) -> Self {
        assert!(shard_count.is_power_of_two());
        Self { shards: (0..shard_count).map(make).map(|shard| CachePadded::new(Mutex::new(shard))).collect() }
    }

    pub(crate) fn count(&self) -> usize {
        self.shards.len()
    }

    #[inline]
    pub(crate) fn index(&self, id: u128) -> usize {
        shard_of(id, self.shards.len())
    }

    #[inline]
    pub(crate) fn lock(&self, id: u128) -> MutexGuard<'_, S> {
        self.lock_index(self.index(id))
    }

    #[inline]
    pub(crate) fn lock_index(&self, index: usize) -> MutexGuard<'_, S> {
        self.shards[index].lock()
    }

    /// Every shard, locked in index order (the one global lock order).
    #[cfg_attr(feature = "_broken-snapshot-without-gate", allow(dead_code))]
    pub(crate) fn lock_all(&self) -> Vec<MutexGuard<'_, S>> {
        self.shards.iter().map(|shard| shard.lock()).collect()
    }

    /// The sum of `count` over the shards, each locked in turn.
    pub(crate) fn sum(&self, count: impl Fn(&S) -> usize) -> usize {
        self.shards.iter().map(|shard| count(&shard.lock())).sum()
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn sequential_and_time_ordered_ids_spread_over_the_shards() {
        let table: Shards<()> = Shards::new(16, |_| ());
        const IDS: u128 = 1 << 16;
        let mut generator = crate::IdGenerator::new();
        let time_ordered: Vec<u128> = (0..IDS).map(|_| generator.next_u128()).collect();
        for ids in [(1..=IDS).collect::<Vec<u128>>(), time_ordered] {
            let mut counts = [0usize; 16];
            for id in ids {
                counts[table.index(id)] += 1;
            }
            // 4096 expected per shard; a broken mix piles ids into a few.
            assert!(counts.iter().all(|&count| (2048..=6144).contains(&count)), "{counts:?}");
        }
    }

    #[test]
    fn a_run_of_consecutive_ids_stays_in_one_shard() {
        let run = 1u128 << SHARD_RUN_BITS;
        for first in [0, run, 7 * run, (1 << 100) + 3 * run] {
            let shard = shard_of(first, 16);
            assert!((first..first + run).all(|id| shard_of(id, 16) == shard), "run at {first}");
        }
        let firsts: std::collections::HashSet<usize> = (0..64).map(|k| shard_of(k * run, 16)).collect();
        assert!(firsts.len() >= 12, "the runs spread: {firsts:?}");
    }

    #[test]
    fn shard_budgets_sum_to_the_maximum_and_differ_by_at_most_one() {
        for shard_count in [1usize, 2, 4, 8, 16, 256] {
            for records_max in (shard_count..shard_count * 3 + 2).chain([1 << 20, (1 << 20) + 7]) {
                let budgets: Vec<usize> =
                    (0..shard_count).map(|index| shard_budget(records_max, shard_count, index)).collect();
                assert_eq!(budgets.iter().sum::<usize>(), records_max, "{shard_count} shards");
                let (least, most) = (budgets.iter().min().unwrap(), budgets.iter().max().unwrap());
                assert!(*least >= 1 && most - least <= 1, "{budgets:?}");
            }
        }
    }
}
