//! The durable journal (issue 16), being built: so far its segment format,
//! its directory (the lock, segments written and read back), the ring that
//! carries records in position order, the storage seam, and group commit.
//! The plan, and the ordering rule it must keep, are in
//! `docs/journal-design.md`.

// Until the ledger writes records (issue 16's next step), only the tests
// use the write path.
#![cfg_attr(any(not(test), atomic_ledger_loom, atomic_ledger_shuttle), allow(dead_code))]

mod commit;
mod entry;
mod files;
mod format;
mod ring;
mod storage;

pub use commit::Synced;
pub(crate) use commit::{Claim, Journal, Log, Logging, NoLog};
pub(crate) use entry::{Entry, HoldEnd};
pub use files::JournalError;
pub(crate) use files::{JournalDir, ReadBack};
pub use format::FormatError;
pub(crate) use format::HEADER_LEN;
pub(crate) use ring::HOLE_KIND;
pub(crate) use storage::{SegmentFiles, Storage};

/// The note of a step that is never journaled: holds (not journaled yet)
/// and tests of the cell alone, which run with [`NoLog`].
pub(crate) fn unlogged() -> Option<Entry> {
    None
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
pub(crate) use storage::memory as storage_for_tests;
