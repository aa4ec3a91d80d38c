//! The directory: id → cell, for accounts (and any other record looked up by
//! a 128-bit id on a hot path: credentials).
//!
//! # Implementation details
//!
//! An insert-only, open-addressed hash table with linear probing, sized once at
//! construction to the next power of two ≥ 2 × `accounts_max` (so it is never
//! more than half full and every probe ends at an empty slot). Each slot is an
//! `AtomicPtr` to a boxed, cache-padded [`AccountCell`]; a slot goes from null to
//! a cell exactly once and never changes again, and cells are freed only when
//! the directory is dropped. Hence:
//!
//! * **Lookups write nothing.** A lookup is a few `Acquire` loads (pairing with
//!   the `Release` store that published the cell, so its `id` and floor are seen
//!   initialised) and an id comparison. No lock word, no reference count: readers
//!   on different cores never invalidate each other's cache lines. (DashMap's
//!   `get` takes a shard read lock, an atomic RMW on a shared line; see
//!   `benches/ledger.rs` and the closing figures in CHANGELOG.md.)
//! * **Inserts take a short mutex** (`writer`), which orders inserts against each
//!   other: probing for the id and claiming an empty slot cannot race. Opening
//!   accounts is rare next to using them.
//! * **References live as long as `&self`**, because nothing is ever removed.
//! * **Cells are carved from chunks** of up to [`CHUNK_LEN`] cells, allocated
//!   under the insert lock and freed in `Drop`. One allocation per cell would
//!   cost glibc's 128-byte-aligned allocator about as much again as the cell
//!   (measured: 336 resident bytes per account at 1 M accounts, against 145
//!   with chunks).
//!
//! The hash is multiply-shift, keyed per directory (see `Directory::home_slot`).

use std::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicPtr, Mutex, MutexGuard, Ordering};

/// A record the directory can hold: it knows its own id.
pub(crate) trait Keyed {
    fn key(&self) -> u128;
}

pub(crate) struct Directory<T> {
    slots: Box<[AtomicPtr<CachePadded<T>>]>,
    slot_mask: usize,
    /// `64 - log2(slots.len())`: the hash's top bits pick the home slot.
    slot_shift: u32,
    /// Secret odd multipliers for the id's halves (see [`Self::home_slot`]).
    multipliers: [u64; 2],
    entries_max: usize,
    /// Entries inserted so far and the chunks they live in; guarded so that
    /// the capacity check, the allocation and the insert are one step.
    writer: Mutex<Writer<T>>,
}

/// Where an entry sits in its directory: fixed for the directory's life, so
/// within one directory two entries have the same slot exactly when they
/// have the same id. Fits 32 bits: slots ≤ 2 × `*_MAX_LIMIT` ≤ 2^29.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(pub(crate) u32);

/// Cells per chunk (fewer for a directory that holds fewer).
const CHUNK_LEN: usize = 64;

/// Low pointer bits that carry a tag: cells are `CachePadded`, so aligned to
/// at least 2^TAG_BITS bytes and those bits of their addresses are zero.
const TAG_BITS: u32 = 7;
const TAG_MASK: usize = (1 << TAG_BITS) - 1;
const _: () = assert!(std::mem::align_of::<CachePadded<u64>>() >= 1 << TAG_BITS);

/// The cell a tagged slot points to.
#[inline]
fn untagged<T>(tagged: *mut T) -> *mut T {
    // Byte arithmetic keeps the pointer's provenance (`map_addr` needs Rust 1.84).
    tagged.wrapping_byte_sub(tag_of(tagged))
}

/// The tag a slot's pointer carries.
#[inline]
fn tag_of<T>(tagged: *mut T) -> usize {
    tagged as usize & TAG_MASK
}

/// The insert side: how many cells exist, and the chunks they were written
/// into, in order (cell `n` is element `n % chunk_len` of chunk `n / chunk_len`).
pub(crate) struct Writer<T> {
    len: usize,
    chunk_len: usize,
    /// Raw, so that writing a new cell never creates a `&mut` to a chunk
    /// other threads hold `&T` into. Each came from `Box::into_raw`.
    chunks: Vec<*mut [MaybeUninit<CachePadded<T>>]>,
}

impl<T> Writer<T> {
    /// How many entries exist.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Moves `cell` into the next free place and returns where it lives.
    fn place(&mut self, cell: T) -> *mut CachePadded<T> {
        let (chunk, offset) = (self.len / self.chunk_len, self.len % self.chunk_len);
        if offset == 0 {
            debug_assert_eq!(chunk, self.chunks.len());
            let fresh: Box<[MaybeUninit<CachePadded<T>>]> =
                (0..self.chunk_len).map(|_| MaybeUninit::uninit()).collect();
            self.chunks.push(Box::into_raw(fresh));
        }
        // SAFETY: `chunks[chunk]` is a live allocation of `chunk_len` elements
        // and `offset < chunk_len`; element `offset` was never written (cells
        // are placed in order), so no reference to it exists.
        let place = unsafe { self.chunks[chunk].cast::<CachePadded<T>>().add(offset) };
        // SAFETY: as above: valid for writes, aligned, uninitialised.
        unsafe { place.write(CachePadded::new(cell)) };
        self.len += 1;
        place
    }
}

impl<T> Drop for Writer<T> {
    fn drop(&mut self) {
        let mut remaining = self.len;
        for &chunk in &self.chunks {
            let written = remaining.min(self.chunk_len);
            remaining -= written;
            // SAFETY: the first `written` elements of this chunk were
            // initialised by `place` and are dropped once, here; then the
            // chunk goes back to the `Box` it came from.
            unsafe {
                let first = chunk.cast::<CachePadded<T>>();
                std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(first, written));
                drop(Box::from_raw(chunk));
            }
        }
    }
}

// SAFETY: the raw pointers in `slots` and in the writer's chunks point to heap
// cells that the directory owns and frees only when it is dropped (with
// `&mut self`). Cells are only ever accessed through `&T`, so sending or sharing
// the directory is sound when `T` is `Send + Sync`.
unsafe impl<T: Send + Sync> Send for Directory<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Directory<T> {}

/// Outcome of [`Directory::insert`].
pub(crate) enum Inserted<'a, T> {
    New,
    Existing(&'a T),
    Full,
}

impl<T: Keyed> Directory<T> {
    pub(crate) fn new(entries_max: usize) -> Self {
        Self::with_seed(entries_max, crate::sync::hash_seed())
    }

    /// As [`Self::new`], with the hash key given (tests pin it).
    fn with_seed(entries_max: usize, seed: [u64; 2]) -> Self {
        assert!(entries_max >= 1);
        let slot_count = (entries_max * 2).next_power_of_two();
        assert!(slot_count.trailing_zeros() + TAG_BITS <= 64, "room for the tag below the slot bits");
        assert!(u32::try_from(slot_count).is_ok(), "a slot's index fits a `Slot`");
        let slots = (0..slot_count).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect();
        Self {
            slots,
            slot_mask: slot_count - 1,
            slot_shift: 64 - slot_count.trailing_zeros(),
            multipliers: crate::hash::spread_multipliers(seed, entries_max),
            entries_max,
            writer: Mutex::new(Writer { len: 0, chunk_len: entries_max.min(CHUNK_LEN), chunks: Vec::new() }),
        }
    }

    pub(crate) fn entries_max(&self) -> usize {
        self.entries_max
    }

    /// The home slot of `id` and its tag.
    ///
    /// Multiply-shift hashing: `a·lo + b·hi (mod 2^64)`, with secret odd
    /// multipliers per directory; the top bits pick the slot and the seven
    /// below them are the tag. The family is universal (two given ids share
    /// a slot with probability ≤ 2 / slots over the multipliers), so ids
    /// cannot be aimed at one slot without them. And the multipliers are
    /// drawn so that consecutive ids, which is what ledgers mostly use, spread
    /// evenly around the table ([`crate::hash::spread_multipliers`]): they
    /// rarely share a slot, and a lookup nearly always ends at its home slot.
    /// Measured on debit by id, 10 000 consecutive accounts: with the folded
    /// multiply of [`crate::hash`] ~15% of lookups probed on and debit by id
    /// ran about a quarter slower; any odd multiplier, unchecked, is worse
    /// still for about a third of them, which pile consecutive ids into runs.
    #[inline]
    fn home_slot(&self, id: u128) -> (usize, usize) {
        let [low_multiplier, high_multiplier] = self.multipliers;
        let hash = (id as u64)
            .wrapping_mul(low_multiplier)
            .wrapping_add(((id >> 64) as u64).wrapping_mul(high_multiplier));
        // `slot_shift ≥ TAG_BITS` (checked in `new`): the tag bits exist.
        let slot = (hash >> self.slot_shift) as usize;
        let tag = (hash >> (self.slot_shift - TAG_BITS)) as usize & TAG_MASK;
        (slot, tag)
    }

    /// The cell for `id`, if it was inserted. Writes no memory.
    #[inline]
    pub(crate) fn get(&self, id: u128) -> Option<&T> {
        self.find(id).map(|(cell, _)| cell)
    }

    /// The cell for `id` and its slot, if it was inserted. Writes no memory.
    /// The slot names the entry as exactly as its id does, for the
    /// directory's life (entries never move or leave), in 32 bits: what the
    /// transfer records keep instead of two 128-bit account ids.
    #[inline]
    pub(crate) fn find(&self, id: u128) -> Option<(&T, Slot)> {
        // Locals: the Acquire load below would otherwise make the compiler
        // reload the slice and the mask on every probe.
        let (slots, slot_mask) = (&*self.slots, self.slot_mask);
        let (mut index, tag) = self.home_slot(id);
        loop {
            // Acquire: pairs with the Release in `insert`, so the cell is initialised.
            let tagged = slots[index].load(Ordering::Acquire);
            if tagged.is_null() {
                return None;
            }
            // Another id's cell, told by the tag without touching its line
            // (127 times in 128); only a matching tag costs the cell's load.
            if tag_of(tagged) == tag {
                // SAFETY: non-null slots point to cells that live until `Drop`.
                let cell: &T = unsafe { &*untagged(tagged) };
                if cell.key() == id {
                    return Some((cell, Slot(index as u32)));
                }
            }
            index = (index + 1) & slot_mask;
        }
    }

    /// The cell in `slot` (as [`Self::find`] gave it), if one is there.
    /// Writes no memory.
    pub(crate) fn at(&self, slot: Slot) -> Option<&T> {
        // Acquire: pairs with the Release in `insert`, so the cell is initialised.
        let tagged = self.slots.get(slot.0 as usize)?.load(Ordering::Acquire);
        // SAFETY: non-null slots point to cells that live until `Drop`.
        (!tagged.is_null()).then(|| unsafe { &**untagged(tagged) })
    }

    /// Inserts a new cell for `id` unless one exists or the directory is full.
    /// `make` runs under the insert lock (the lock the snapshot gate takes):
    /// an account cell reads its birth epoch there, so it is in exactly the
    /// snapshots that follow it.
    pub(crate) fn insert(&self, id: u128, make: impl FnOnce() -> T) -> Inserted<'_, T> {
        let mut writer = self.writer.lock();
        let (mut index, tag) = self.home_slot(id);
        loop {
            // Relaxed would do under the lock, but the same Acquire as `get` keeps
            // this loop the obvious twin of it.
            let tagged = self.slots[index].load(Ordering::Acquire);
            if tagged.is_null() {
                break;
            }
            // SAFETY: as in `get`.
            let cell: &T = unsafe { &*untagged(tagged) };
            if cell.key() == id {
                return Inserted::Existing(cell);
            }
            index = (index + 1) & self.slot_mask;
        }
        if writer.len == self.entries_max {
            return Inserted::Full;
        }
        let cell = make();
        debug_assert_eq!(cell.key(), id, "made a cell for another id");
        let cell = writer.place(cell);
        debug_assert_eq!(tag_of(cell), 0, "cells are aligned");
        // Release: publishes the initialised cell to lock-free readers.
        self.slots[index].store(cell.wrapping_byte_add(tag), Ordering::Release);
        debug_assert!(writer.len * 4 <= self.slots.len() * 3);
        Inserted::New
    }

    /// Visits every entry, in slot order. Concurrent inserts may or may not be seen.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(&T)) {
        for slot in self.slots.iter() {
            let tagged = slot.load(Ordering::Acquire);
            if !tagged.is_null() {
                // SAFETY: as in `get`.
                visit(unsafe { &*untagged(tagged) });
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.writer.lock().len
    }

    /// Holds off inserts: the directory's part of the snapshot gate. The
    /// guard tells the number of entries.
    pub(crate) fn lock_inserts(&self) -> MutexGuard<'_, Writer<T>> {
        self.writer.lock()
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::*;
    use crate::cell::AccountCell;
    use crate::{AccountId, AccountOptions};

    /// Where `id` sits relative to its home slot (0 = at home).
    fn displacement(directory: &Directory<AccountCell>, id: AccountId) -> usize {
        let (home, _) = directory.home_slot(id.0);
        (0..directory.slots.len())
            .find(|offset| {
                let cell = directory.slots[(home + offset) & directory.slot_mask].load(Ordering::Acquire);
                // SAFETY: non-null slots hold live cells.
                !cell.is_null() && unsafe { &*untagged(cell) }.key() == id.0
            })
            .expect("inserted ids are found")
    }

    #[test]
    fn probe_sequences_stay_short_for_sequential_and_structured_ids() {
        let directory = Directory::new(4096);
        let ids: Vec<AccountId> =
            (1..=4096u128).map(|n| AccountId(if n % 2 == 0 { n << 64 } else { n })).collect();
        for &id in &ids {
            assert!(matches!(
                directory.insert(id.0, || AccountCell::new(id, AccountOptions::default(), 0)),
                Inserted::New
            ));
        }
        let longest = ids.iter().map(|&id| displacement(&directory, id)).max().unwrap_or(0);
        // At load factor ½ linear probing expects ~1.5 probes; a degenerate hash
        // would push ids thousands of slots from home.
        assert!(longest < 64, "longest probe sequence {longest}");
        assert_eq!(directory.len(), 4096);
    }

    fn filled(
        ids: impl Iterator<Item = u128>,
        entries_max: usize,
        seed: [u64; 2],
    ) -> (Directory<AccountCell>, Vec<AccountId>) {
        let directory = Directory::with_seed(entries_max, seed);
        let ids: Vec<AccountId> = ids.map(AccountId).collect();
        for &id in &ids {
            let inserted = directory.insert(id.0, || AccountCell::new(id, AccountOptions::default(), 0));
            assert!(matches!(inserted, Inserted::New));
        }
        (directory, ids)
    }

    /// The point of Fibonacci hashing here: runs of consecutive ids (from 1,
    /// or from anywhere) land at their home slot, so a lookup is one slot
    /// load. A mixing hash leaves ~15% of them displaced at this load factor.
    #[test]
    fn consecutive_ids_sit_at_their_home_slot() {
        for seed in [[1, 2], [0x5eed, 0xfeed], [u64::MAX, 7]] {
            for first in [1u128, 1 << 40, (7 << 64) + 12_345] {
                let (directory, ids) = filled(first..first + 10_000, 10_000, seed);
                let displaced = ids.iter().filter(|&&id| displacement(&directory, id) > 0).count();
                assert!(
                    displaced * 100 <= ids.len() * 2,
                    "{displaced} of 10 000 displaced from {first}, {seed:?}"
                );
            }
        }
    }

    #[test]
    fn tags_tell_ids_apart_without_reading_cells() {
        let (directory, ids) = filled(1..=1000u128, 1000, [3, 4]);
        let mut tags_seen = [false; 1 << TAG_BITS];
        for &id in &ids {
            let (_, tag) = directory.home_slot(id.0);
            tags_seen[tag] = true;
            assert_eq!(directory.get(id.0).map(|cell| cell.key()), Some(id.0));
        }
        // A tag from the wrong bits (shifted out, or all zero) filters nothing.
        let distinct = tags_seen.iter().filter(|&&seen| seen).count();
        assert!(distinct >= 100, "1000 ids use only {distinct} of 128 tags");
        assert!(directory.get(1001).is_none() && directory.get(u128::MAX - 1).is_none());
    }
}
