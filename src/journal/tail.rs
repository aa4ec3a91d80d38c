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
//! [`TailError::Compacted`] with the oldest position still kept and the
//! newest checkpoint's.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::checkpoint::Checkpoints;
use super::entry::Entry;
use super::files::{list_segments, segment_name, JournalError};
use super::format::{read_durable_record, read_header, FormatError, HEADER_LEN};
use super::ring::HOLE_KIND;

/// Bytes read from a segment file at a time.
const CHUNK_BYTES: usize = 1 << 20;

/// Why the tail cannot go on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TailError {
    /// The segment holding `requested` was removed by the checkpoint at
    /// `checkpoint`.
    #[error(
        "position {requested} was folded into a checkpoint; the journal keeps positions from {oldest_kept}"
    )]
    Compacted { requested: u64, oldest_kept: u64, checkpoint: Option<u64> },
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
    /// What each read fills.
    chunk: Option<Box<[u8]>>,
}

/// The segment the tail reads from.
#[derive(Debug)]
enum Segment {
    Open(Open),
    /// Named, not yet opened: it is opened once a record in it is durable,
    /// and so its header certainly written (a segment just created by the
    /// flusher may still be empty).
    Next {
        name: String,
        first: u64,
    },
}

/// Follows a journal's segments from a position on.
#[derive(Debug)]
pub(crate) struct Tail {
    dir: PathBuf,
    segment: Segment,
    /// The position of the next record of `segment`.
    next: u64,
    /// Records below this are read and skipped (the start of the stream).
    from: u64,
}

impl Tail {
    /// A tail whose first record is the one at `from`, in journal `dir`
    /// whose records below `durable` are durable. The segment holding
    /// `from` is opened at once if it holds a durable record (so a
    /// checkpoint removing it later does not take it away), else when it
    /// does.
    pub(crate) fn new(dir: &Path, from: u64, durable: u64) -> Result<Self, TailError> {
        let segments = list_segments(dir)?;
        let Some((first, name)) = segments.iter().rev().find(|(first, _)| *first <= from) else {
            return Err(compacted(dir, from)?);
        };
        let mut tail = Self {
            dir: dir.to_owned(),
            segment: Segment::Next { name: name.clone(), first: *first },
            next: *first,
            from,
        };
        if *first < durable {
            tail.open_next()?;
        }
        Ok(tail)
    }

    /// The position of the next record the tail will read.
    pub(crate) fn position(&self) -> u64 {
        self.next.max(self.from)
    }

    /// Reads the records below `until` (durable), at most `max` of them,
    /// into `out` as `(position, entry)`; holes are read and left out. On
    /// an error, `out` keeps what was read before it, for the caller to
    /// deliver first.
    pub(crate) fn read(
        &mut self,
        until: u64,
        max: usize,
        out: &mut Vec<(u64, Entry)>,
    ) -> Result<(), TailError> {
        let mut taken = 0;
        while self.next < until && taken < max {
            let open = match &mut self.segment {
                Segment::Open(open) => open,
                Segment::Next { .. } => {
                    self.open_next()?;
                    continue;
                }
            };
            let wanted = self.next >= self.from;
            let Some(entry) = next_record(open, &self.dir, self.next, wanted)? else {
                self.move_to_next_segment()?;
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

    /// Opens the named segment; gone is [`TailError::Compacted`].
    fn open_next(&mut self) -> Result<(), TailError> {
        let Segment::Next { name, first } = &self.segment else { return Ok(()) };
        debug_assert_eq!(*first, self.next);
        match open_segment(&self.dir, name, *first)? {
            Some(open) => {
                self.segment = Segment::Open(open);
                Ok(())
            }
            None => Err(compacted(&self.dir, self.next)?),
        }
    }

    /// The open segment is read to its end: the next is the one that
    /// begins at the next position or, while the tail is still skipping
    /// to `from`, the newest that begins at or before `from` (a checkpoint
    /// may have removed those in between, which the tail need not read).
    fn move_to_next_segment(&mut self) -> Result<(), TailError> {
        let mut target = (segment_name(self.next), self.next);
        if self.next < self.from {
            let segments = list_segments(&self.dir)?;
            let ahead = segments.into_iter().rev().find(|(first, _)| (self.next..=self.from).contains(first));
            if let Some((first, name)) = ahead {
                target = (name, first);
            }
        }
        let (name, first) = target;
        self.next = first;
        self.segment = Segment::Next { name, first };
        Ok(())
    }
}

/// The next record of `open`, which must have position `next`: decoded if
/// `wanted` and not a hole (`Some(None)` otherwise), or `None` at the
/// segment's end.
fn next_record(
    open: &mut Open,
    dir: &Path,
    next: u64,
    wanted: bool,
) -> Result<Option<Option<Entry>>, TailError> {
    loop {
        match read_durable_record(&open.buffer, open.parsed, next) {
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
        if !open.refill(dir)? {
            if open.parsed == open.buffer.len() {
                return Ok(None);
            }
            return Err(open
                .corrupt("a durable record cut short, or failing its checksum at the end")
                .into());
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
        // Into a chunk zeroed once, not into a buffer zeroed at every read:
        // a reader that keeps up reads a few records per flusher round.
        let chunk = self.chunk.get_or_insert_with(|| vec![0; CHUNK_BYTES].into_boxed_slice());
        let read = self
            .file
            .read(chunk)
            .map_err(|source| JournalError::Io { path: dir.join(&self.name), source })?;
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(read > 0)
    }
}

/// The error for a position whose segment is gone: the oldest position
/// the journal keeps, and the checkpoint that holds what was removed.
fn compacted(dir: &Path, requested: u64) -> Result<TailError, JournalError> {
    let oldest_kept = list_segments(dir)?.first().map_or(requested, |(first, _)| *first);
    let checkpoint = Checkpoints::new(dir).newest_position()?;
    Ok(TailError::Compacted { requested, oldest_kept, checkpoint })
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
    Ok(Some(Open { name: name.to_owned(), file, buffer: Vec::new(), parsed: 0, buffer_offset, chunk: None }))
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
