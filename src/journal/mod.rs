//! The durable journal (issue 16), being built: so far its segment format,
//! its directory (the lock, segments written and read back), the ring that
//! carries records in position order, the storage seam, and group commit.
//! The plan, and the ordering rule it must keep, are in
//! `docs/journal-design.md`.

// Until the ledger writes records (issue 16's next step), only the tests
// use the write path.
#![cfg_attr(any(not(test), atomic_ledger_loom, atomic_ledger_shuttle), allow(dead_code))]

mod commit;
mod files;
mod format;
mod ring;
mod storage;
