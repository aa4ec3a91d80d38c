//! The durable journal: its segment and checkpoint formats, its directory
//! (the lock, segments written and read back, checkpoints), the ring that
//! carries records in position order, the storage seam, and group commit.
//! The format and the ordering rule are in `docs/journal.md`.

mod checkpoint;
mod commit;
mod entry;
mod files;
mod format;
mod ring;
mod storage;
mod tail;

pub(crate) use checkpoint::{Checkpoints, LoadedCheckpoint, RecordBytes};
pub(crate) use commit::{Claim, Journal, Log, Logging, NoLog, Watch, Watched};
pub use commit::{JournalStats, Synced};
pub(crate) use entry::{DecodeError, Entry, HoldEnd, Reader, Writer};
pub use files::JournalError;
pub(crate) use files::{JournalDir, ReadBack};
pub use format::FormatError;
pub(crate) use format::HEADER_LEN;
pub(crate) use ring::HOLE_KIND;
pub(crate) use storage::{SegmentFiles, Storage};
pub(crate) use tail::{Tail, TailError};

/// The note of a step the cell's own tests run unjournaled (with [`NoLog`]).
#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
pub(crate) fn unlogged() -> Option<Entry> {
    None
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
pub(crate) use storage::memory as storage_for_tests;
