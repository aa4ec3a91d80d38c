//! The durable journal (issue 16), being built: so far its segment format
//! and its directory (the lock, segments written and read back).
//! The plan, and the ordering rule it must keep, are in
//! `docs/journal-design.md`.

mod files;
mod format;
