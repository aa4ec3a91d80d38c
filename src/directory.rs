//! The directory: account id → account cell.
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
//!
//! The hash is [`crate::hash::hash_id`], keyed per ledger.

use crossbeam_utils::CachePadded;

use crate::cell::{AccountCell, PaddedCell};
use crate::snapshot::Epoch;
use crate::sync::{AtomicPtr, Mutex, MutexGuard, Ordering};
use crate::{AccountId, AccountOptions};

pub(crate) struct Directory {
    slots: Box<[AtomicPtr<PaddedCell>]>,
    slot_mask: usize,
    seed: [u64; 2],
    accounts_max: usize,
    /// Accounts inserted so far; guarded so that the capacity check and the
    /// insert are one step.
    writer: Mutex<usize>,
}

// SAFETY: the raw pointers in `slots` point to heap cells that the directory owns
// and frees only in `Drop` (with `&mut self`). Cells are only ever accessed through
// `&AccountCell`, whose fields are atomics or immutable after publication, so
// sharing them across threads is what `AccountCell: Sync` already allows.
unsafe impl Send for Directory {}
// SAFETY: as above.
unsafe impl Sync for Directory {}

/// Outcome of [`Directory::insert`].
pub(crate) enum Inserted<'a> {
    New,
    Existing(&'a AccountCell),
    Full,
}

impl Directory {
    pub(crate) fn new(accounts_max: usize) -> Self {
        assert!(accounts_max >= 1);
        let slot_count = (accounts_max * 2).next_power_of_two();
        let slots = (0..slot_count).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect();
        Self {
            slots,
            slot_mask: slot_count - 1,
            seed: crate::sync::hash_seed(),
            accounts_max,
            writer: Mutex::new(0),
        }
    }

    pub(crate) fn accounts_max(&self) -> usize {
        self.accounts_max
    }

    #[inline]
    fn home_slot(&self, id: AccountId) -> usize {
        crate::hash::hash_id(id.0, self.seed) as usize & self.slot_mask
    }

    /// The cell for `id`, if it was inserted. Writes no memory.
    #[inline]
    pub(crate) fn get(&self, id: AccountId) -> Option<&AccountCell> {
        let mut index = self.home_slot(id);
        loop {
            // Acquire: pairs with the Release in `insert`, so the cell is initialised.
            let cell = self.slots[index].load(Ordering::Acquire);
            if cell.is_null() {
                return None;
            }
            // SAFETY: non-null slots point to cells that live until `Drop`.
            let cell: &AccountCell = unsafe { &*cell };
            if cell.id() == id {
                return Some(cell);
            }
            index = (index + 1) & self.slot_mask;
        }
    }

    /// Inserts a new cell for `id` unless one exists or the directory is full.
    /// The cell is born in the current epoch, read under the lock that the
    /// snapshot gate takes, so it is in exactly the snapshots that follow it.
    pub(crate) fn insert(&self, id: AccountId, options: AccountOptions, epoch: &Epoch) -> Inserted<'_> {
        let mut count = self.writer.lock();
        let mut index = self.home_slot(id);
        loop {
            // Relaxed would do under the lock, but the same Acquire as `get` keeps
            // this loop the obvious twin of it.
            let cell = self.slots[index].load(Ordering::Acquire);
            if cell.is_null() {
                break;
            }
            // SAFETY: as in `get`.
            let cell: &AccountCell = unsafe { &*cell };
            if cell.id() == id {
                return Inserted::Existing(cell);
            }
            index = (index + 1) & self.slot_mask;
        }
        if *count == self.accounts_max {
            return Inserted::Full;
        }
        let cell = Box::into_raw(Box::new(CachePadded::new(AccountCell::new(id, options, epoch.load()))));
        // Release: publishes the initialised cell to lock-free readers.
        self.slots[index].store(cell, Ordering::Release);
        *count += 1;
        debug_assert!(*count * 2 <= self.slots.len());
        Inserted::New
    }

    /// Visits every account, in slot order. Concurrent inserts may or may not be seen.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(&AccountCell)) {
        for slot in self.slots.iter() {
            let cell = slot.load(Ordering::Acquire);
            if !cell.is_null() {
                // SAFETY: as in `get`.
                visit(unsafe { &*cell });
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        *self.writer.lock()
    }

    /// Holds off inserts: the directory's part of the snapshot gate. The guard
    /// derefs to the number of accounts.
    pub(crate) fn lock_inserts(&self) -> MutexGuard<'_, usize> {
        self.writer.lock()
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        for slot in self.slots.iter() {
            let cell = slot.load(Ordering::Acquire);
            if !cell.is_null() {
                // SAFETY: every non-null slot holds a pointer from `Box::into_raw`,
                // stored once; `&mut self` means no reference into it remains.
                drop(unsafe { Box::from_raw(cell) });
            }
        }
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::*;

    /// Where `id` sits relative to its home slot (0 = at home).
    fn displacement(directory: &Directory, id: AccountId) -> usize {
        let home = directory.home_slot(id);
        (0..directory.slots.len())
            .find(|offset| {
                let cell = directory.slots[(home + offset) & directory.slot_mask].load(Ordering::Acquire);
                // SAFETY: non-null slots hold live cells.
                !cell.is_null() && unsafe { &*cell }.id() == id
            })
            .expect("inserted ids are found")
    }

    #[test]
    fn probe_sequences_stay_short_for_sequential_and_structured_ids() {
        let directory = Directory::new(4096);
        let epoch = Epoch::new();
        let ids: Vec<AccountId> =
            (1..=4096u128).map(|n| AccountId(if n % 2 == 0 { n << 64 } else { n })).collect();
        for &id in &ids {
            assert!(matches!(directory.insert(id, AccountOptions::default(), &epoch), Inserted::New));
        }
        let longest = ids.iter().map(|&id| displacement(&directory, id)).max().unwrap_or(0);
        // At load factor ½ linear probing expects ~1.5 probes; a degenerate hash
        // would push ids thousands of slots from home.
        assert!(longest < 64, "longest probe sequence {longest}");
        assert_eq!(directory.len(), 4096);
    }
}
