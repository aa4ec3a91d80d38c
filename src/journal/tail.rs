//! Reading the journal's durable records while it is being appended to:
//! what the change stream ([`crate::Ledger::subscribe`]) reads.
//!
//! # Implementation details
//!
//! A [`Tail`] follows the segment files from a position on, reading each
//! file in chunks and parsing whole records out of what it has read. It
//! reads only below a bound its caller takes from the journal's durable
//! position: every record there was written and synced before that
//! position was published, so each must be complete and verify, and one
//! that does not is corruption, never a torn write (`docs/journal.md`).
//!
//! A segment ends where the next begins: when a file is read to its end and
//! every byte of it was a record, the next record is the first of the
//! segment named by its position. A checkpoint removes the segments it
//! covers: a file the tail already has open stays readable (the open handle
//! keeps it), and one it has yet to open is gone, which the tail reports as
//! [`TailError::Compacted`] with the oldest position still kept.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::entry::Entry;
use super::files::{list_segments, segment_name, JournalError};
use super::format::{read_durable_record, read_header, FormatError, HEADER_LEN};
use super::ring::HOLE_KIND;

/// Bytes read from a segment file at a time.
const CHUNK_BYTES: usize = 1 << 20;

/// Why the tail cannot go on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TailError {
    /// The segment holding `requested` was removed by a checkpoint.
    #[error(
        "position {requested} was folded into a checkpoint; the journal keeps positions from {oldest_kept}"
    )]
    Compacted { requested: u64, oldest_kept: u64 },
    /// A file could not be read, or a durable record does not verify or
    /// decode.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// The segment file being read.
#[derive(Debug)]
struct Open {
    name: String,
    file: File,
    /// Read from the file and not yet parsed: `buffer[parsed..]`.
    buffer: Vec<u8>,
    parsed: usize,
    /// The file's offset of `buffer[0]`.
    buffer_offset: u64,
}

/// Follows a journal's segments from a position on.
#[derive(Debug)]
pub(crate) struct Tail {
    dir: PathBuf,
    open: Open,
    /// The position of the next record in `open`.
    next: u64,
    /// Records below this are read and skipped (the start of the stream).
    from: u64,
}

impl Tail {
    /// A tail whose first record is the one at `from`, in journal `dir`.
    pub(crate) fn new(dir: &Path, from: u64) -> Result<Self, TailError> {
        let segments = list_segments(dir)?;
        let oldest_kept = segments.first().map_or(from, |(first, _)| *first);
        let Some((first, name)) = segments.into_iter().rev().find(|(first, _)| *first <= from) else {
            return Err(TailError::Compacted { requested: from, oldest_kept });
        };
        let open =
            open_segment(dir, &name, first)?.ok_or(TailError::Compacted { requested: from, oldest_kept })?;
        Ok(Self { dir: dir.to_owned(), open, next: first, from })
    }

    /// The position of the next record the tail will read.
    pub(crate) fn position(&self) -> u64 {
        self.next.max(self.from)
    }

    /// Reads the records below `until` (durable), at most `max` of them,
    /// into `out` as `(position, entry)`; holes are read and left out.
    pub(crate) fn read(
        &mut self,
        until: u64,
        max: usize,
        out: &mut Vec<(u64, Entry)>,
    ) -> Result<(), TailError> {
        let mut taken = 0;
        while self.next < until && taken < max {
            let wanted = self.next >= self.from;
            let Some(entry) = self.next_record(wanted)? else {
                self.advance_segment()?;
                continue;
            };
            let position = self.next;
            self.next += 1;
            if let Some(entry) = entry {
                out.push((position, entry));
                taken += 1;
            }
        }
        Ok(())
    }

    /// The next record of the open segment, decoded if `wanted` and not a
    /// hole (`Some(None)` otherwise), or `None` at the segment's end.
    fn next_record(&mut self, wanted: bool) -> Result<Option<Option<Entry>>, TailError> {
        loop {
            let open = &mut self.open;
            match read_durable_record(&open.buffer, open.parsed, self.next) {
                Ok(Some((record, end))) => {
                    let entry = if wanted && record.kind != HOLE_KIND {
                        let decoded = Entry::decode(record.kind, &open.buffer[record.payload.clone()]);
                        Some(decoded.map_err(|error| JournalError::Undecodable {
                            file: open.name.clone(),
                            offset: open.file_offset(record.payload.start),
                            reason: error.reason,
                        })?)
                    } else {
                        None
                    };
                    open.parsed = end;
                    return Ok(Some(entry));
                }
                Ok(None) => {}
                Err(reason) => return Err(open.corrupt(reason).into()),
            }
            if !open.refill(&self.dir)? {
                if open.parsed == open.buffer.len() {
                    return Ok(None);
                }
                return Err(open.corrupt("a durable record cut short").into());
            }
        }
    }

    /// Moves to the segment that begins at the next position.
    fn advance_segment(&mut self) -> Result<(), TailError> {
        let name = segment_name(self.next);
        match open_segment(&self.dir, &name, self.next)? {
            Some(open) => {
                self.open = open;
                Ok(())
            }
            None => {
                let oldest_kept = list_segments(&self.dir)?.first().map_or(self.next, |(first, _)| *first);
                Err(TailError::Compacted { requested: self.next, oldest_kept })
            }
        }
    }
}

impl Open {
    /// The file offset of `buffer[at]`.
    fn file_offset(&self, at: usize) -> u64 {
        self.buffer_offset + at as u64
    }

    /// Corruption at the first record not yet parsed.
    fn corrupt(&self, reason: &'static str) -> JournalError {
        let offset = self.file_offset(self.parsed);
        FormatError::Corrupt { file: self.name.clone(), offset, reason }.into()
    }

    /// Reads the next chunk of the file; `false` at its end.
    fn refill(&mut self, dir: &Path) -> Result<bool, JournalError> {
        self.buffer_offset += self.parsed as u64;
        self.buffer.drain(..self.parsed);
        self.parsed = 0;
        let start = self.buffer.len();
        self.buffer.resize(start + CHUNK_BYTES, 0);
        let read = self.file.read(&mut self.buffer[start..]);
        let read = read.map_err(|source| JournalError::Io { path: dir.join(&self.name), source });
        self.buffer.truncate(start + read.as_ref().copied().unwrap_or(0));
        Ok(read? > 0)
    }
}

/// Opens segment `name`, which must begin at `first`; `None` if it is gone.
fn open_segment(dir: &Path, name: &str, first: u64) -> Result<Option<Open>, JournalError> {
    let path = dir.join(name);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(JournalError::Io { path, source }),
    };
    let mut header = [0u8; HEADER_LEN];
    file.read_exact(&mut header).map_err(|source| JournalError::Io { path: path.clone(), source })?;
    if read_header(name, &header)? != first {
        let reason = "the segment's first position is not the one its name gives";
        return Err(FormatError::Corrupt { file: name.to_owned(), offset: 16, reason }.into());
    }
    let buffer_offset = HEADER_LEN as u64;
    Ok(Some(Open { name: name.to_owned(), file, buffer: Vec::new(), parsed: 0, buffer_offset }))
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
