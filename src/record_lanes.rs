//! One shard's memory of decided transfers: what a repeat is answered from,
//! and what the low-water mark stands for once a record is forgotten.
//!
//! # Implementation details
//!
//! Plain memory, guarded by the shard's mutex (see [`crate::transfer_ids`]).
//! Transfer ids are mostly generated in increasing order (a sequence, or a
//! time-ordered id such as [`crate::IdGenerator`]'s) by a few clients at a
//! time, and arrive in nearly that order. So the records are kept in a few
//! **lanes**, each sorted by id:
//!
//! * **Lanes** (at most [`LANES_MAX`]): one 32-byte entry per record (half a
//!   cache line: the id, the accounts' directory slots, the amount and a
//!   spilled bit) in a `VecDeque`, ascending. An id goes
//!   to the end of the lane whose last id is the largest below it (patience
//!   sorting), so each client's stream, even one that lags the others, keeps
//!   appending to a lane of its own; an id a little late for every lane is
//!   placed by a scan of at most [`TAIL_SCAN_MAX`] entries back from a tail. An applied single
//!   transfer fits its entry whole; any other record (a rejection with its
//!   numbers, a leg of a linked batch) keeps its link and outcome in a side
//!   map, `spilled`.
//! * **The overflow**, a `BTreeMap`, takes the ids no lane can: ids in random
//!   order (UUIDv4 keys), or more streams than lanes.
//! * **Lookups**: an id above every remembered one is fresh without a look,
//!   which is the common case. Any other is searched for in each lane whose
//!   range holds it, galloping back from the tail (`gallop_from_back`), then
//!   in the overflow. An id of a stream that lags another sits a little below
//!   the other lane's tail, so the search stays in the tail's warm lines.
//!
//! **Eviction** removes the smallest remembered ids (the least of the lanes'
//! first ids and the overflow's first) and raises the low-water mark to the
//! largest of them, so an unknown id at or under the mark is refused as
//! expired, never applied again. Evicting the smallest, not the oldest, means
//! a client whose clock runs ahead cannot drag the mark past everyone else's
//! ids. It runs in batches of up to [`EVICTION_BATCH_MAX`], each one or a few
//! runs drained from a lane's head: the lane with the smallest head gives up
//! its ids while they stay below every other head (`evict_run`).
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

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::directory::Slot;
use crate::hash::IdHashBuilder;
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

/// Sorted lanes per shard: concurrent id streams kept apart.
pub(crate) const LANES_MAX: usize = 8;
/// Entries scanned back from a lane's tail to place an id late for every lane.
pub(crate) const TAIL_SCAN_MAX: usize = 64;
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

const _: () = assert!(std::mem::size_of::<Entry>() == 32);

/// Where `id` is in `lane` (ascending, holding ids on both sides of `id`):
/// probes back from the tail 1, 2, 4, … entries until one is at or below
/// `id`, then bisects that last step. A lagging stream's id sits a little
/// below another lane's tail, so this touches only the tail's warm lines
/// and O(log lag) of them; a plain binary search starts in the middle, in
/// lines the evictions keep moving and the cache has not seen.
fn gallop_from_back(lane: &VecDeque<Entry>, id: u128) -> Option<usize> {
    let last = lane.len() - 1;
    let (mut above, mut step) = (last + 1, 1);
    let below = loop {
        let probe = last.saturating_sub(step - 1);
        match lane[probe].id.cmp(&id) {
            std::cmp::Ordering::Equal => return Some(probe),
            std::cmp::Ordering::Less => break probe,
            std::cmp::Ordering::Greater if probe == 0 => return None,
            std::cmp::Ordering::Greater => above = probe,
        }
        step *= 2;
    };
    // lane[below] < id < lane[above]: bisect between them.
    let (mut low, mut high) = (below + 1, above);
    while low < high {
        let middle = low + (high - low) / 2;
        match lane[middle].id.cmp(&id) {
            std::cmp::Ordering::Less => low = middle + 1,
            std::cmp::Ordering::Greater => high = middle,
            std::cmp::Ordering::Equal => return Some(middle),
        }
    }
    None
}

pub(crate) struct RecordLanes {
    /// Each ascending by id; none empty.
    lanes: Vec<VecDeque<Entry>>,
    overflow: BTreeMap<u128, Record>,
    spilled: HashMap<u128, (Link, Outcome), IdHashBuilder>,
    /// Records remembered (lanes and overflow).
    len: usize,
    /// The bound on remembered records, at every moment: this shard's part of
    /// `transfer_ids_max`.
    records_max: usize,
    /// Every remembered id is ≤ this (the largest ever inserted).
    id_max: u128,
    /// Every evicted id is ≤ this; 0 (reserved) while nothing was evicted.
    pub(crate) low_water: u128,
}

impl RecordLanes {
    /// Lanes for up to `records_max` records (≥ 1).
    pub(crate) fn new(records_max: usize) -> Self {
        assert!(records_max >= 1);
        Self {
            lanes: Vec::new(),
            overflow: BTreeMap::new(),
            spilled: HashMap::with_hasher(IdHashBuilder::new()),
            len: 0,
            records_max,
            id_max: 0,
            low_water: 0,
        }
    }

    /// Records remembered.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The record of `id`, if remembered.
    #[inline]
    pub(crate) fn get(&self, id: u128) -> Option<Record> {
        if id > self.id_max {
            return None;
        }
        self.search(id)
    }

    #[cold]
    #[inline(never)]
    fn search(&self, id: u128) -> Option<Record> {
        for lane in &self.lanes {
            let (Some(first), Some(last)) = (lane.front(), lane.back()) else { continue };
            if id < first.id || id > last.id {
                continue;
            }
            if let Some(index) = gallop_from_back(lane, id) {
                return Some(self.record_of(&lane[index]));
            }
        }
        self.overflow.get(&id).copied()
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
        let in_lanes = self.lanes.iter().flatten().map(|entry| (entry.id, self.record_of(entry)));
        in_lanes.chain(self.overflow.iter().map(|(&id, &record)| (id, record))).collect()
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
        if self.len + needed > self.records_max {
            self.evict_batch(needed);
        }
    }

    #[cold]
    #[inline(never)]
    fn evict_batch(&mut self, needed: usize) {
        let slack = EVICTION_BATCH_MAX.min(self.records_max / 8);
        let target = self.records_max.saturating_sub(slack).max(needed);
        while self.len + needed > target {
            let len_before = self.len;
            self.evict_run(self.len + needed - target);
            debug_assert!(self.len < len_before, "each run forgets at least one id");
        }
    }

    /// Forgets up to `count_max` (≥ 1) of the smallest remembered ids, and at
    /// least one, and raises the mark to the largest of them. They come from
    /// one place: the lane with the smallest head, while its head stays
    /// below every other lane's head and the overflow's first, so the run is
    /// exactly the next ids in order, found with one look at the heads.
    fn evict_run(&mut self, count_max: usize) {
        debug_assert!(count_max >= 1);
        let overflow_first = self.overflow.first_key_value().map_or(u128::MAX, |(&id, _)| id);
        let heads = self.lanes.iter().map(|entries| {
            entries.front().map_or_else(|| unreachable!("lanes are never empty"), |entry| entry.id)
        });
        match heads.clone().enumerate().min_by_key(|&(_, head)| head) {
            Some((lane, head)) if head < overflow_first => {
                let others = heads.enumerate().filter(|&(other, _)| other != lane);
                let stop = others.map(|(_, head)| head).fold(overflow_first, u128::min);
                self.pop_lane_run(lane, count_max, stop);
            }
            _ => {
                let evicted =
                    self.overflow.pop_first().map_or_else(|| unreachable!("not empty"), |(id, _)| id);
                self.forget(1, evicted);
            }
        }
    }

    /// Pops up to `count_max` entries from `lane`'s head, while they are below
    /// `stop` (the smallest id anywhere else): at least one, the head.
    fn pop_lane_run(&mut self, lane: usize, count_max: usize, stop: u128) {
        let entries = &mut self.lanes[lane];
        let (mut run, mut run_spilled) = (0, false);
        for entry in entries.iter().take(count_max).take_while(|entry| entry.id < stop) {
            run += 1;
            run_spilled |= entry.is_spilled();
        }
        debug_assert!(run >= 1, "the lane's head is below `stop`");
        let last = entries[run - 1].id;
        if run_spilled {
            for entry in entries.range(..run).filter(|entry| entry.is_spilled()) {
                self.spilled.remove(&entry.id);
            }
        }
        entries.drain(..run);
        if entries.is_empty() {
            self.lanes.swap_remove(lane);
        } else if entries.capacity() > 4 * entries.len().max(64) {
            // A lane that had its turn gives its memory back.
            entries.shrink_to(2 * entries.len());
        }
        self.forget(run, last);
    }

    /// Counts out `count` ids just removed, the largest of them `largest`,
    /// and raises the mark to it.
    fn forget(&mut self, count: usize, largest: u128) {
        self.len -= count;
        self.low_water = self.low_water.max(largest);
    }

    /// Remembers `record` under `id`, which must not be remembered, after
    /// [`Self::make_room`]. (If `make_room` evicted ids above `id`, `id` sits
    /// under the mark until it is evicted in turn, first, being the smallest.)
    #[inline]
    pub(crate) fn insert(&mut self, id: u128, record: Record) {
        debug_assert!(self.get(id).is_none(), "{id} is remembered already");
        debug_assert!(self.len < self.records_max, "make_room first");
        let spilled = record.link != Link::Single || record.outcome != Outcome::Applied;
        debug_assert!(record.amount < SPILLED_BIT, "amounts are validated first");
        let amount_spilled = record.amount | if spilled { SPILLED_BIT } else { 0 };
        let entry = Entry { id, from: record.from, to: record.to, amount_spilled };
        if self.place(entry) {
            if spilled {
                self.spilled.insert(id, (record.link, record.outcome));
            }
        } else {
            self.overflow.insert(id, record);
        }
        self.len += 1;
        self.id_max = self.id_max.max(id);
    }

    /// Puts `entry` in a lane, if one takes it.
    #[inline]
    fn place(&mut self, entry: Entry) -> bool {
        // The lane ending just below the id: the id's own stream.
        let below = self.lanes.iter_mut().filter(|lane| lane.back().is_some_and(|last| last.id < entry.id));
        if let Some(lane) = below.max_by_key(|lane| lane.back().map_or(0, |last| last.id)) {
            lane.push_back(entry);
            return true;
        }
        if self.lanes.len() < LANES_MAX {
            self.lanes.push(VecDeque::from([entry]));
            return true;
        }
        self.place_late(entry)
    }

    /// A late id: inserted within the last `TAIL_SCAN_MAX` entries of a lane.
    #[cold]
    #[inline(never)]
    fn place_late(&mut self, entry: Entry) -> bool {
        for lane in &mut self.lanes {
            let scan = lane.len().min(TAIL_SCAN_MAX);
            if scan < lane.len() && lane[lane.len() - 1 - scan].id > entry.id {
                continue; // further back than the scan reaches
            }
            let after = lane.iter().rev().take(scan).take_while(|later| later.id > entry.id).count();
            lane.insert(lane.len() - after, entry);
            return true;
        }
        false
    }

    /// Checks every invariant (tests; O(records)).
    #[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
    fn check(&self) {
        assert!(self.lanes.len() <= LANES_MAX);
        let mut ids: Vec<u128> = self.overflow.keys().copied().collect();
        for lane in &self.lanes {
            assert!(!lane.is_empty());
            let lane_ids: Vec<u128> = lane.iter().map(|entry| entry.id).collect();
            assert!(lane_ids.windows(2).all(|pair| pair[0] < pair[1]), "lanes are sorted");
            ids.extend(lane_ids);
        }
        assert_eq!(ids.len(), self.len);
        ids.sort_unstable();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "each id once");
        assert!(ids.iter().all(|&id| id <= self.id_max));
        let spilled = self.lanes.iter().flatten().filter(|entry| entry.is_spilled()).count();
        assert_eq!(spilled, self.spilled.len());
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
