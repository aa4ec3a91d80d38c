//! The durable journal (issue 16), being built: so far its segment format.
//! The plan, and the ordering rule it must keep, are in
//! `docs/journal-design.md`.

mod format;
