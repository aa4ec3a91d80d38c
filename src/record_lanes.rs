//! One shard's memory of decided transfers: what a repeat is answered from,
//! and what the low-water mark stands for once a record is forgotten.
//!
//! # Implementation details
//!
//! Plain memory, guarded by the shard's mutex (see [`crate::transfer_ids`]).
//! The records are kept in id order in [`IdLanes`] (a few sorted lanes and an
//! overflow: see [`crate::id_lanes`]), one 32-byte entry per record (half a
//! cache line: the id, the accounts' directory slots, the amount and a
//! spilled bit). An applied single transfer fits its entry whole; any other
//! record (a rejection with its numbers, a leg of a linked batch) keeps its
//! link and outcome in a side map, `spilled`.
//!
//! **Eviction** removes the smallest remembered ids and raises the low-water
//! mark to the largest of them, so an unknown id at or under the mark is
//! refused as expired, never applied again. Evicting the smallest, not the
//! oldest, means a client whose clock runs ahead cannot drag the mark past
//! everyone else's ids. It runs in batches of up to [`EVICTION_BATCH_MAX`],
//! each one or a few runs taken from a lane's head
//! ([`IdLanes::pop_smallest`]).
//!
//! **The accounts** are kept as their directory slots ([`Slot`], 32 bits,
//! exact for the ledger's life), not their 128-bit ids: an entry is 32
//! bytes, two to a cache line. A full table streams its entries through the
//! cache (an insert writes a line the table last touched a table's worth of
//! transfers ago, an eviction reads one), and that traffic competes with the
//! accounts' cells for it; halving the entry made a transfer about a fifth
//! faster (BENCHMARKS.md) and halved the memory
//! (`tests/memory_per_transfer_id.rs`).
//!
//! Before the lanes (0.3.x) each shard was a `HashMap<u128, Record>`: 290
//! resident bytes per remembered id against 64 with the first lanes and 32
//! now (all measured with the table full), two random cache misses per
//! transfer whatever the order of the ids, and every eviction a sweep of the
//! whole shard. Ids in random order were never a good fit for a low-water
//! mark (see the README), and here they take the overflow path.

use std::collections::HashMap;

use crate::directory::Slot;
use crate::hash::IdHashBuilder;
use crate::id_lanes::{IdLanes, LaneEntry};
use crate::{Rejection, TransferId};

/// Whether a transfer was submitted alone or as a leg of a linked batch. Part
/// of the recorded fields: resubmitting a leg alone, or in another batch, is
/// an id conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    Single,
    /// `legs ≤ LINKED_LEGS_MAX` and `index < legs` fit a byte: records stay small.
    Leg {
        first: TransferId,
        legs: u8,
        index: u8,
    },
}

/// What happened to a decided transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Applied,
    Rejected(Rejection),
    /// Another leg of its batch failed (that leg's record says why).
    LinkedLegFailed {
        failed_index: u8,
    },
}

/// What the table remembers of a decided transfer. The accounts are kept as
/// their directory slots: as exact as their ids (see [`Slot`]) at a quarter
/// of the size, which keeps a lane entry to half a cache line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) from: Slot,
    pub(crate) to: Slot,
    pub(crate) amount: u64,
    pub(crate) link: Link,
    pub(crate) outcome: Outcome,
}

/// A leg count or index as stored in a record (batches have at most `LINKED_LEGS_MAX` legs).
pub(crate) fn leg_byte(leg: usize) -> u8 {
    debug_assert!(leg <= crate::LINKED_LEGS_MAX);
    u8::try_from(leg).unwrap_or(u8::MAX)
}

/// Records evicted at once when a shard is full, at most (and an eighth of
/// the shard, if less).
const EVICTION_BATCH_MAX: usize = 64;

/// `Entry::amount_spilled`'s top bit: set when the link and the outcome are
/// in `spilled`, clear for an applied single transfer (both implied). Amounts
/// (≤ `AMOUNT_MAX`) never reach it.
const SPILLED_BIT: u64 = 1 << 63;
const _: () = assert!(crate::AMOUNT_MAX < SPILLED_BIT);

/// One remembered transfer, half a cache line: two to a line, so the lanes
/// stream half the memory through the cache that 64-byte entries did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(32))]
struct Entry {
    id: u128,
    from: Slot,
    to: Slot,
    /// The amount, and [`SPILLED_BIT`].
    amount_spilled: u64,
}

impl Entry {
    fn is_spilled(&self) -> bool {
        self.amount_spilled & SPILLED_BIT != 0
    }
}

impl LaneEntry for Entry {
    #[inline]
    fn id(&self) -> u128 {
        self.id
    }
}

const _: () = assert!(std::mem::size_of::<Entry>() == 32);

pub(crate) struct RecordLanes {
    entries: IdLanes<Entry>,
    spilled: HashMap<u128, (Link, Outcome), IdHashBuilder>,
    /// The bound on remembered records, at every moment: this shard's part of
    /// `transfer_ids_max`.
    records_max: usize,
    /// Every evicted id is ≤ this; 0 (reserved) while nothing was evicted.
    pub(crate) low_water: u128,
}

impl RecordLanes {
    /// Lanes for up to `records_max` records (≥ 1).
    pub(crate) fn new(records_max: usize) -> Self {
        assert!(records_max >= 1);
        Self {
            entries: IdLanes::new(),
            spilled: HashMap::with_hasher(IdHashBuilder::new()),
            records_max,
            low_water: 0,
        }
    }

    /// Records remembered.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The record of `id`, if remembered.
    #[inline]
    pub(crate) fn get(&self, id: u128) -> Option<Record> {
        self.entries.get(id).map(|entry| self.record_of(entry))
    }

    fn record_of(&self, entry: &Entry) -> Record {
        let (link, outcome) = if entry.is_spilled() {
            *self
                .spilled
                .get(&entry.id)
                .unwrap_or_else(|| unreachable!("a spilled record has its side entry"))
        } else {
            (Link::Single, Outcome::Applied)
        };
        Record { from: entry.from, to: entry.to, amount: entry.amount_spilled & !SPILLED_BIT, link, outcome }
    }

    /// Every remembered record, in no particular order (a checkpoint's image).
    pub(crate) fn records(&self) -> Vec<(u128, Record)> {
        self.entries.iter().map(|entry| (entry.id, self.record_of(entry))).collect()
    }

    /// The most records this shard remembers.
    pub(crate) fn records_max(&self) -> usize {
        self.records_max
    }

    /// Evicts until `needed` more records fit under `records_max`, and a
    /// little more (see [`EVICTION_BATCH_MAX`]) when it has to evict at all.
    /// `needed` must be at most `records_max`: the bound holds at every
    /// moment, so a batch that needs more cannot be recorded here (the caller
    /// refuses it first).
    #[inline]
    pub(crate) fn make_room(&mut self, needed: usize) {
        assert!(needed <= self.records_max, "{needed} records cannot fit in {}", self.records_max);
        if self.len() + needed > self.records_max {
            self.evict_batch(needed);
        }
    }

    #[cold]
    #[inline(never)]
    fn evict_batch(&mut self, needed: usize) {
        let slack = EVICTION_BATCH_MAX.min(self.records_max / 8);
        let target = self.records_max.saturating_sub(slack).max(needed);
        while self.len() + needed > target {
            let count_max = self.len() + needed - target;
            let spilled = &mut self.spilled;
            let forget = |entry: &Entry| {
                if entry.is_spilled() {
                    spilled.remove(&entry.id);
                }
            };
            let largest = self.entries.pop_smallest(count_max, forget);
            let largest = largest.unwrap_or_else(|| unreachable!("needed ≤ records_max: never empty here"));
            self.low_water = self.low_water.max(largest);
        }
    }

    /// Remembers `record` under `id`, which must not be remembered, after
    /// [`Self::make_room`]. (If `make_room` evicted ids above `id`, `id` sits
    /// under the mark until it is evicted in turn, first, being the smallest.)
    #[inline]
    pub(crate) fn insert(&mut self, id: u128, record: Record) {
        debug_assert!(self.len() < self.records_max, "make_room first");
        let spilled = record.link != Link::Single || record.outcome != Outcome::Applied;
        debug_assert!(record.amount < SPILLED_BIT, "amounts are validated first");
        let amount_spilled = record.amount | if spilled { SPILLED_BIT } else { 0 };
        self.entries.insert(Entry { id, from: record.from, to: record.to, amount_spilled });
        if spilled {
            self.spilled.insert(id, (record.link, record.outcome));
        }
    }

    /// Checks every invariant (tests; O(records)).
    #[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
    fn check(&self) {
        self.entries.check();
        assert!(self.len() <= self.records_max);
        let spilled = self.entries.iter().filter(|entry| entry.is_spilled()).count();
        assert_eq!(spilled, self.spilled.len());
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
