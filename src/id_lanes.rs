//! Entries kept in id order, in a few sorted lanes: the memory both id
//! tables are made of (transfer records in [`crate::record_lanes`], holds in
//! [`crate::hold_table`]).
//!
//! # Implementation details
//!
//! Plain memory, guarded by the owning shard's mutex. Ids (transfer and hold
//! ids alike) are mostly generated in increasing order (a sequence, or a
//! time-ordered id such as [`crate::IdGenerator`]'s) by a few clients at a
//! time, and arrive in nearly that order. So the entries are kept in a few
//! **lanes**, each sorted by id:
//!
//! * **Lanes** (at most [`LANES_MAX`]): fixed-size entries in a `VecDeque`,
//!   ascending. An id goes to the end of the lane whose last id is the
//!   largest below it (patience sorting), so each client's stream, even one
//!   that lags the others, keeps appending to a lane of its own; an id a
//!   little late for every lane is placed by a scan of at most
//!   [`TAIL_SCAN_MAX`] entries back from a tail.
//! * **The overflow**, a `BTreeMap`, takes the ids no lane can: ids in random
//!   order (UUIDv4 keys), or more streams than lanes.
//! * **Lookups**: an id above every entry is absent without a look, which is
//!   the common case for a fresh id. Any other is searched for in each lane
//!   whose range holds it, galloping back from the tail
//!   ([`gallop_from_back`]), then in the overflow. An id of a stream that
//!   lags another sits a little below the other lane's tail, so the search
//!   stays in the tail's warm lines.
//! * **Taking the smallest** ([`IdLanes::pop_smallest`]), what eviction is
//!   made of: the lane with the smallest head gives up a run of its head
//!   while the run stays below every other lane's head and the overflow's
//!   first id, so the run is exactly the next ids in order, found with one
//!   look at the heads.
//!
//! What an id table does with the smallest (forgets them and raises its
//! low-water mark; or, for an open hold, keeps it aside) is its own business:
//! this module only keeps the order.

use std::collections::{BTreeMap, VecDeque};

/// An entry of the lanes: `Copy`, keyed by a 128-bit id that never changes
/// while the entry is in the lanes.
pub(crate) trait LaneEntry: Copy {
    fn id(&self) -> u128;
}

/// Sorted lanes per shard: concurrent id streams kept apart.
pub(crate) const LANES_MAX: usize = 8;
/// Entries scanned back from a lane's tail to place an id late for every lane.
pub(crate) const TAIL_SCAN_MAX: usize = 64;

/// Where `id` is in `lane` (ascending, holding ids on both sides of `id`):
/// probes back from the tail 1, 2, 4, … entries until one is at or below
/// `id`, then bisects that last step. A lagging stream's id sits a little
/// below another lane's tail, so this touches only the tail's warm lines
/// and O(log lag) of them; a plain binary search starts in the middle, in
/// lines the evictions keep moving and the cache has not seen.
pub(crate) fn gallop_from_back<E: LaneEntry>(lane: &VecDeque<E>, id: u128) -> Option<usize> {
    let last = lane.len() - 1;
    let (mut above, mut step) = (last + 1, 1);
    let below = loop {
        let probe = last.saturating_sub(step - 1);
        match lane[probe].id().cmp(&id) {
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
        match lane[middle].id().cmp(&id) {
            std::cmp::Ordering::Less => low = middle + 1,
            std::cmp::Ordering::Greater => high = middle,
            std::cmp::Ordering::Equal => return Some(middle),
        }
    }
    None
}

/// Entries by id: a few ascending lanes and an overflow map.
pub(crate) struct IdLanes<E> {
    /// Each ascending by id; none empty.
    lanes: Vec<VecDeque<E>>,
    overflow: BTreeMap<u128, E>,
    /// Entries in the lanes and the overflow.
    len: usize,
    /// Every entry's id is ≤ this (the largest ever inserted).
    id_max: u128,
}

impl<E: LaneEntry> IdLanes<E> {
    pub(crate) fn new() -> Self {
        Self { lanes: Vec::new(), overflow: BTreeMap::new(), len: 0, id_max: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry of `id`, if any.
    #[inline]
    pub(crate) fn get(&self, id: u128) -> Option<&E> {
        if id > self.id_max {
            return None;
        }
        self.search(id)
    }

    #[cold]
    #[inline(never)]
    fn search(&self, id: u128) -> Option<&E> {
        for lane in &self.lanes {
            if let Some(index) = Self::index_in(lane, id) {
                return Some(&lane[index]);
            }
        }
        self.overflow.get(&id)
    }

    /// The entry of `id`, to change (its id must stay as it is).
    #[inline]
    pub(crate) fn get_mut(&mut self, id: u128) -> Option<&mut E> {
        if id > self.id_max {
            return None;
        }
        self.search_mut(id)
    }

    fn search_mut(&mut self, id: u128) -> Option<&mut E> {
        for lane in &mut self.lanes {
            // The newest entry of its stream, as a post just after its hold:
            // no index to compute and check.
            if lane.back().is_some_and(|last| last.id() == id) {
                return lane.back_mut();
            }
            if let Some(index) = Self::index_in(lane, id) {
                return Some(&mut lane[index]);
            }
        }
        self.overflow.get_mut(&id)
    }

    #[inline]
    fn index_in(lane: &VecDeque<E>, id: u128) -> Option<usize> {
        let last = lane.back()?.id();
        if id >= last {
            // The newest entry of its stream: what a hold's post looks up.
            return (id == last).then(|| lane.len() - 1);
        }
        if id < lane.front()?.id() {
            return None;
        }
        gallop_from_back(lane, id)
    }

    /// Every entry, lanes first, in no particular order overall.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &E> {
        self.lanes.iter().flatten().chain(self.overflow.values())
    }

    /// Adds `entry`, whose id must not be here.
    #[inline]
    pub(crate) fn insert(&mut self, entry: E) {
        debug_assert!(self.get(entry.id()).is_none(), "{} is here already", entry.id());
        if !self.place(entry) {
            self.overflow.insert(entry.id(), entry);
        }
        self.len += 1;
        self.id_max = self.id_max.max(entry.id());
    }

    /// Puts `entry` in a lane, if one takes it.
    #[inline]
    fn place(&mut self, entry: E) -> bool {
        let id = entry.id();
        // The lane ending just below the id: the id's own stream.
        let below = self.lanes.iter_mut().filter(|lane| lane.back().is_some_and(|last| last.id() < id));
        if let Some(lane) = below.max_by_key(|lane| lane.back().map_or(0, LaneEntry::id)) {
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
    fn place_late(&mut self, entry: E) -> bool {
        let id = entry.id();
        for lane in &mut self.lanes {
            let scan = lane.len().min(TAIL_SCAN_MAX);
            if scan < lane.len() && lane[lane.len() - 1 - scan].id() > id {
                continue; // further back than the scan reaches
            }
            let after = lane.iter().rev().take(scan).take_while(|later| later.id() > id).count();
            lane.insert(lane.len() - after, entry);
            return true;
        }
        false
    }

    /// Removes up to `count_max` (≥ 1) of the smallest entries, and at least
    /// one unless empty, passing each to `taken`; returns the largest id
    /// taken, `None` if there was nothing. They come from one place: the
    /// lane with the smallest head, while its head stays below every other
    /// lane's head and the overflow's first; or the overflow's first.
    pub(crate) fn pop_smallest(&mut self, count_max: usize, taken: impl FnMut(&E)) -> Option<u128> {
        debug_assert!(count_max >= 1);
        let overflow_first = self.overflow.first_key_value().map_or(u128::MAX, |(&id, _)| id);
        let heads = self.lanes.iter().map(|entries| {
            entries.front().map_or_else(|| unreachable!("lanes are never empty"), LaneEntry::id)
        });
        match heads.clone().enumerate().min_by_key(|&(_, head)| head) {
            Some((lane, head)) if head < overflow_first => {
                let others = heads.enumerate().filter(|&(other, _)| other != lane);
                let stop = others.map(|(_, head)| head).fold(overflow_first, u128::min);
                Some(self.pop_lane_run(lane, count_max, stop, taken))
            }
            _ => {
                let (id, entry) = self.overflow.pop_first()?;
                let mut taken = taken;
                taken(&entry);
                self.len -= 1;
                Some(id)
            }
        }
    }

    /// Pops up to `count_max` entries from `lane`'s head, while they are below
    /// `stop` (the smallest id anywhere else): at least one, the head.
    fn pop_lane_run(&mut self, lane: usize, count_max: usize, stop: u128, mut taken: impl FnMut(&E)) -> u128 {
        let entries = &mut self.lanes[lane];
        let mut run = 0;
        for entry in entries.iter().take(count_max).take_while(|entry| entry.id() < stop) {
            taken(entry);
            run += 1;
        }
        debug_assert!(run >= 1, "the lane's head is below `stop`");
        let last = entries[run - 1].id();
        entries.drain(..run);
        if entries.is_empty() {
            self.lanes.swap_remove(lane);
        } else if entries.capacity() > 4 * entries.len().max(64) {
            // A lane that had its turn gives its memory back.
            entries.shrink_to(2 * entries.len());
        }
        self.len -= run;
        last
    }

    /// Lanes in use (tests).
    #[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
    pub(crate) fn lane_count(&self) -> usize {
        self.lanes.len()
    }

    /// Entries in the overflow (tests).
    #[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
    pub(crate) fn overflow_len(&self) -> usize {
        self.overflow.len()
    }

    /// Checks every invariant (tests; O(entries)): sorted lanes, each id
    /// once, the count and the largest id right.
    #[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
    pub(crate) fn check(&self) {
        assert!(self.lanes.len() <= LANES_MAX);
        let mut ids: Vec<u128> = self.overflow.keys().copied().collect();
        for lane in &self.lanes {
            assert!(!lane.is_empty());
            let lane_ids: Vec<u128> = lane.iter().map(LaneEntry::id).collect();
            assert!(lane_ids.windows(2).all(|pair| pair[0] < pair[1]), "lanes are sorted");
            ids.extend(lane_ids);
        }
        assert_eq!(ids.len(), self.len);
        ids.sort_unstable();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "each id once");
        assert!(ids.iter().all(|&id| id <= self.id_max));
    }
}
