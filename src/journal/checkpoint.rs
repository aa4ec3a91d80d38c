//! Checkpoint files: the state the journal's records below a position
//! leave, in one checksummed file, so that recovery reads it and then only
//! the records from that position on; and the segments it covers, removed.
//! What the body holds is [`crate::recovery`]'s business; this module
//! frames it and moves files.
//!
//! # Implementation details
//!
//! ```text
//! checkpoint header (40 bytes): magic "ALEDGCKP" | version u32 | 0 u32 | position u64
//!                               | body length u64 | body crc u32 | header crc u32
//! body:                         body length bytes (docs/journal.md, "Checkpoints")
//! ```
//!
//! * **Named** `checkpoint-<position, 20 digits>.ckpt`: the newest is the
//!   one with the largest position.
//! * **Written** as `<name>.tmp`, synced, renamed to its name, and the
//!   directory synced: a crash leaves either the old checkpoint or the new
//!   one whole, never half of one. A leftover `.tmp` is ignored (and removed
//!   by the next write). Only then are older checkpoints and the segments the
//!   new one covers removed (directory synced again): until the new one is
//!   durable, the old one and its segments still recover everything.
//! * **Covered segments.** A segment is covered when the segment after it
//!   begins at or below the checkpoint's position (each of its records is
//!   then below it). The newest segment is never removed: the flusher is
//!   appending to it.
//! * **Refused, not guessed around.** The newest checkpoint must verify
//!   (magic, version, both checksums, length): if it does not, opening
//!   fails naming the file. An older one is not tried instead: the segments
//!   it needs may be gone.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::files::{io_error, list_segments, numbered_name, parse_numbered_name, sync_dir, JournalError};
use super::format::{read_segment_until, u32_at, u64_at, FormatError, FORMAT_VERSION};
use super::HOLE_KIND;

const MAGIC: [u8; 8] = *b"ALEDGCKP";
const HEADER_LEN: usize = 40;
const PREFIX: &str = "checkpoint-";
const SUFFIX: &str = ".ckpt";
const TEMPORARY_SUFFIX: &str = ".tmp";

fn name(position: u64) -> String {
    numbered_name(PREFIX, position, SUFFIX)
}

fn parse_name(name: &str) -> Option<u64> {
    parse_numbered_name(name, PREFIX, SUFFIX)
}

/// A checkpoint file's bytes: header, then `body`.
pub(crate) fn encode(position: u64, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&position.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
    let header_crc = crc32c::crc32c(&bytes);
    bytes.extend_from_slice(&header_crc.to_le_bytes());
    debug_assert_eq!(bytes.len(), HEADER_LEN);
    bytes.extend_from_slice(body);
    bytes
}

/// Verifies checkpoint `file`'s `bytes`: its position and its body.
pub(crate) fn decode<'a>(file: &str, bytes: &'a [u8]) -> Result<(u64, &'a [u8]), FormatError> {
    let bad = || FormatError::BadHeader { file: file.to_owned() };
    let header = bytes.get(..HEADER_LEN).ok_or_else(bad)?;
    if header[..8] != MAGIC || u32_at(header, 36) != crc32c::crc32c(&header[..36]) {
        return Err(bad());
    }
    let found = u32_at(header, 8);
    if found != FORMAT_VERSION {
        return Err(FormatError::Version { file: file.to_owned(), found, expected: FORMAT_VERSION });
    }
    let corrupt = |reason| FormatError::Corrupt { file: file.to_owned(), offset: HEADER_LEN as u64, reason };
    let body = &bytes[HEADER_LEN..];
    if u64::try_from(body.len()).ok() != Some(u64_at(header, 24)) {
        return Err(corrupt("the checkpoint body is not the length its header declares"));
    }
    if crc32c::crc32c(body) != u32_at(header, 32) {
        return Err(corrupt("checkpoint body checksum mismatch"));
    }
    Ok((u64_at(header, 16), body))
}

/// The newest checkpoint, verified.
#[derive(Debug)]
pub(crate) struct LoadedCheckpoint {
    pub(crate) file: String,
    pub(crate) position: u64,
    bytes: Vec<u8>,
}

impl LoadedCheckpoint {
    /// The body (verified when loaded).
    pub(crate) fn body(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..]
    }
}

/// One record read back: position, kind, the payload's offset in its
/// segment, and the payload.
pub(crate) type RecordBytes<'a> = (u64, u8, u64, &'a [u8]);

/// The checkpoint files of a journal directory (which the caller has open
/// and locked).
#[derive(Debug, Clone)]
pub(crate) struct Checkpoints {
    dir: PathBuf,
}

impl Checkpoints {
    pub(crate) fn new(dir: &Path) -> Self {
        Self { dir: dir.to_owned() }
    }

    fn names(&self) -> Result<Vec<(u64, String)>, JournalError> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let entry = entry.map_err(io_error(&self.dir))?;
            if let Some(position) = entry.file_name().to_str().and_then(parse_name) {
                names.push((position, name(position)));
            }
        }
        names.sort_unstable();
        Ok(names)
    }

    /// The position of the newest checkpoint by its name, if any (not read).
    pub(crate) fn newest_position(&self) -> Result<Option<u64>, JournalError> {
        Ok(self.names()?.pop().map(|(position, _)| position))
    }

    /// The newest checkpoint, if any; one that does not verify is an error.
    pub(crate) fn read_newest(&self) -> Result<Option<LoadedCheckpoint>, JournalError> {
        let Some((named_position, file)) = self.names()?.pop() else { return Ok(None) };
        let path = self.dir.join(&file);
        let bytes = std::fs::read(&path).map_err(io_error(&path))?;
        let (position, _) = decode(&file, &bytes)?;
        if position != named_position {
            let reason = "the checkpoint's position is not the one its name gives";
            return Err(FormatError::Corrupt { file, offset: 16, reason }.into());
        }
        Ok(Some(LoadedCheckpoint { file, position, bytes }))
    }

    /// Writes the checkpoint at `position` durably (temporary file, sync,
    /// rename, directory sync), then removes older checkpoints and the
    /// segments it covers. Returns the file's name and size, and how many
    /// segments were removed.
    pub(crate) fn write(&self, position: u64, body: &[u8]) -> Result<(String, u64, usize), JournalError> {
        self.remove_temporaries()?;
        let file = name(position);
        let temporary = self.dir.join(format!("{file}{TEMPORARY_SUFFIX}"));
        let bytes = encode(position, body);
        let mut out = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&temporary)
            .map_err(io_error(&temporary))?;
        out.write_all(&bytes).and_then(|()| out.sync_all()).map_err(io_error(&temporary))?;
        drop(out);
        let path = self.dir.join(&file);
        std::fs::rename(&temporary, &path).map_err(io_error(&path))?;
        sync_dir(&self.dir)?;
        for (older, older_file) in self.names()? {
            if older < position {
                self.remove(&older_file)?;
            }
        }
        let removed = self.remove_covered_segments(position)?;
        sync_dir(&self.dir)?;
        Ok((file, bytes.len() as u64, removed))
    }

    /// Removes what a crash left of earlier checkpoint writes.
    fn remove_temporaries(&self) -> Result<(), JournalError> {
        for entry in std::fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let entry = entry.map_err(io_error(&self.dir))?;
            let name = entry.file_name();
            let is_left_over = name
                .to_str()
                .and_then(|name| name.strip_suffix(TEMPORARY_SUFFIX))
                .is_some_and(|name| parse_name(name).is_some());
            if is_left_over {
                let path = entry.path();
                std::fs::remove_file(&path).map_err(io_error(&path))?;
            }
        }
        Ok(())
    }

    fn remove(&self, file: &str) -> Result<(), JournalError> {
        let path = self.dir.join(file);
        std::fs::remove_file(&path).map_err(io_error(&path))
    }

    /// Removes every segment whose records are all below `position`.
    fn remove_covered_segments(&self, position: u64) -> Result<usize, JournalError> {
        let segments = list_segments(&self.dir)?;
        let mut removed = 0;
        for pair in segments.windows(2) {
            let ((_, file), (next_first, _)) = (&pair[0], &pair[1]);
            if *next_first > position {
                break;
            }
            self.remove(file)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Calls `visit` with every record (holes left out) whose position is
    /// in `from..until`, in order, reading the segments as they are (the
    /// flusher may be appending past `until`; every record below it is
    /// durable). An error if any of them is missing or does not verify.
    pub(crate) fn read_records(
        &self,
        from: u64,
        until: u64,
        mut visit: impl FnMut(&str, RecordBytes<'_>) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let mut next = from;
        let segments = list_segments(&self.dir)?;
        for (index, (first, file)) in segments.iter().enumerate() {
            let covered = segments.get(index + 1).is_some_and(|(next_first, _)| *next_first <= next);
            if covered {
                continue; // every record in it is below `from`
            }
            if next >= until {
                break;
            }
            let first = *first;
            if first > next {
                return Err(JournalError::MissingSegment {
                    dir: self.dir.clone(),
                    expected: next,
                    found: first,
                });
            }
            let path = self.dir.join(file);
            let bytes = read_file(&path)?;
            let segment = read_segment_until(file, &bytes, until)?;
            let start = next;
            for record in segment.records.iter().filter(|record| record.position >= start) {
                if record.kind != HOLE_KIND {
                    let payload = &bytes[record.payload.clone()];
                    visit(file, (record.position, record.kind, record.payload.start as u64, payload))?;
                }
                next = record.position + 1;
            }
        }
        if next < until {
            let dir = self.dir.clone();
            return Err(JournalError::MissingSegment { dir, expected: next, found: until });
        }
        Ok(())
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, JournalError> {
    let mut bytes = Vec::new();
    let mut file = File::open(path).map_err(io_error(path))?;
    std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io_error(path))?;
    Ok(bytes)
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_every_damage_is_refused() {
        let body: Vec<u8> = (0..200u8).collect();
        let bytes = encode(77, &body);
        assert_eq!(decode("c", &bytes), Ok((77, &body[..])));
        for cut in 0..bytes.len() {
            assert!(decode("c", &bytes[..cut]).is_err(), "cut at {cut}");
        }
        for index in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[index] ^= 0x10;
            assert!(decode("c", &flipped).is_err(), "flipped byte {index}");
        }
    }

    #[test]
    fn names_sort_as_positions_do() {
        assert_eq!(parse_name(&name(42)), Some(42));
        assert!(name(9) < name(10));
        assert_eq!(parse_name("checkpoint-42.ckpt"), None);
        assert_eq!(parse_name(&format!("{}{TEMPORARY_SUFFIX}", name(1))), None);
    }
}
