//! A bounded, sharded table of records keyed by 128-bit id: what makes holds
//! idempotent. (Transfers keep theirs in [`crate::record_lanes`], sharded the
//! same way, by [`shard_of`].)
//!
//! # Implementation details
//!
//! A power-of-two number of shards ([`Shards`], shared with the transfer-id
//! table), each a cache-padded mutex over a `HashMap` and a low-water mark. Callers hold the shard lock from the lookup, through
//! applying the operation, to recording its outcome, so "was this id seen?" and
//! "apply it" are one critical section. The shard locks are also the snapshot
//! gate (see [`crate::snapshot`]): [`IdTable::lock_all`] takes every one.
//!
//! **Bounded memory.** The shards split the configured maximum exactly
//! ([`shard_budget`]: the first `max % shards` shards get one more), so the
//! table never holds more than the maximum, whatever the shard count. Each
//! shard holds at most its own `records_max` records. When a shard is full, [`Shard::make_room`] evicts about the smallest eighth
//! of its *evictable* records in one pass (a threshold near the ⅛ quantile of a
//! sample, one `retain` sweep) and raises the low-water mark to the threshold.
//! Every evicted id is ≤ the mark and every unknown id ≤ the mark is refused as
//! expired, so a forgotten id is never applied again. Evicting the smallest ids,
//! not the first inserted, means one client whose clock runs ahead cannot drag
//! the mark past everyone else's ids. Records the caller marks as not evictable
//! (open holds) stay, wherever they sit relative to the mark.

use std::collections::HashMap;

use crossbeam_utils::CachePadded;

use crate::hash::IdHashBuilder;
use crate::sync::{Mutex, MutexGuard};

/// Ids sampled to pick an eviction threshold.
const EVICTION_SAMPLE_LEN: usize = 512;

pub(crate) struct Shard<R> {
    pub(crate) records: HashMap<u128, R, IdHashBuilder>,
    /// Every id ever evicted from this shard is ≤ this; 0 (reserved) while none is.
    pub(crate) low_water: u128,
    /// This shard's part of the table's maximum ([`shard_budget`]); ≥ 1.
    records_max: usize,
}

impl<R> Shard<R> {
    pub(crate) fn new(records_max: usize) -> Self {
        assert!(records_max >= 1, "every shard can remember at least one record");
        Self { records: HashMap::with_hasher(IdHashBuilder::new()), low_water: 0, records_max }
    }

    /// Ensures room for `needed` more records within this shard's
    /// `records_max`, evicting as needed. Returns `false`, having evicted
    /// only evictable records, if not enough is evictable.
    #[inline]
    pub(crate) fn make_room(&mut self, needed: usize, evictable: impl Fn(&R) -> bool) -> bool {
        while self.records.len() + needed > self.records_max {
            let len_before = self.records.len();
            self.evict_smallest(&evictable);
            if self.records.len() == len_before {
                return false;
            }
        }
        true
    }

    #[cold]
    #[inline(never)]
    fn evict_smallest(&mut self, evictable: &impl Fn(&R) -> bool) {
        // The map iterates in hash order, unrelated to id order: its first
        // evictable entries are a fair sample.
        let mut sample: Vec<u128> = self
            .records
            .iter()
            .filter(|(_, record)| evictable(record))
            .map(|(&id, _)| id)
            .take(EVICTION_SAMPLE_LEN)
            .collect();
        sample.sort_unstable();
        let Some(&threshold) = sample.get(sample.len() / 8) else { return };
        let len_before = self.records.len();
        self.records.retain(|&id, record| id > threshold || !evictable(record));
        self.low_water = self.low_water.max(threshold);
        debug_assert!(self.records.len() < len_before, "eviction must free at least the threshold id");
        debug_assert!(self.records.iter().all(|(&id, record)| id > self.low_water || !evictable(record)));
    }
}

/// The shard of `id` among `shard_count` (a power of two). Folds and mixes,
/// so that sequential ids and time-prefixed ids alike spread.
#[inline]
pub(crate) fn shard_of(id: u128, shard_count: usize) -> usize {
    debug_assert!(shard_count.is_power_of_two());
    let folded = (id as u64) ^ ((id >> 64) as u64);
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

pub(crate) struct IdTable<R> {
    shards: Shards<Shard<R>>,
}

impl<R> IdTable<R> {
    /// At most `records_max` records in all (≥ `shard_count`, a power of two).
    pub(crate) fn new(records_max: usize, shard_count: usize) -> Self {
        assert!(records_max >= shard_count);
        let shard = |index| Shard::new(shard_budget(records_max, shard_count, index));
        Self { shards: Shards::new(shard_count, shard) }
    }

    pub(crate) fn shard_count(&self) -> usize {
        self.shards.count()
    }

    pub(crate) fn lock(&self, id: u128) -> MutexGuard<'_, Shard<R>> {
        self.shards.lock(id)
    }

    pub(crate) fn lock_index(&self, index: usize) -> MutexGuard<'_, Shard<R>> {
        self.shards.lock_index(index)
    }

    /// Every shard, locked in index order (the one global lock order).
    pub(crate) fn lock_all(&self) -> Vec<MutexGuard<'_, Shard<R>>> {
        self.shards.lock_all()
    }

    /// Records currently held, over all shards (takes each shard lock in turn).
    pub(crate) fn len(&self) -> usize {
        self.shards.sum(|shard| shard.records.len())
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn sequential_and_time_ordered_ids_spread_over_the_shards() {
        let table: IdTable<()> = IdTable::new(1 << 12, 16);
        let mut generator = crate::IdGenerator::new();
        let time_ordered: Vec<u128> = (0..4096).map(|_| generator.next_u128()).collect();
        for ids in [(1..=4096).collect::<Vec<u128>>(), time_ordered] {
            let mut counts = [0usize; 16];
            for id in ids {
                counts[table.shards.index(id)] += 1;
            }
            // 256 expected per shard; a broken mix piles ids into a few.
            assert!(counts.iter().all(|&count| (128..=384).contains(&count)), "{counts:?}");
        }
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

    #[test]
    fn eviction_keeps_records_that_are_not_evictable() {
        let table: IdTable<bool> = IdTable::new(16, 1);
        let mut shard = table.lock(1);
        for id in 1..=16u128 {
            shard.records.insert(id, id % 2 == 0); // even ids are evictable
        }
        assert!(shard.make_room(1, |&evictable| evictable));
        assert!(shard.records.len() < 16);
        assert!((1..=15).step_by(2).all(|odd| shard.records.contains_key(&odd)), "odd ids must stay");
        assert!(shard.low_water >= 2);
        let mut full: Shard<bool> = Shard::new(4);
        full.records.extend((1..=4u128).map(|id| (id, false)));
        assert!(!full.make_room(1, |&evictable| evictable), "nothing evictable: no room");
        assert_eq!(full.low_water, 0);
    }
}
