//! The journal's segment format: a checksummed, versioned header, then
//! checksummed records, each carrying its log position.
//!
//! # Implementation details
//!
//! ```text
//! segment header (32 bytes): magic "ALEDGSEG" | version u32 | 0 u32 | first position u64 | crc u32 | 0 u32
//! record frame (20 bytes):   body length u32 | position u64 | body crc u32 | frame crc u32
//! record body:               kind u8 | payload (body length − 1 bytes)
//! ```
//!
//! All integers are little-endian; every checksum is CRC-32C. The segment
//! header's covers its first 24 bytes. A frame's covers its first 16 bytes,
//! so its length is trusted only once it verifies: a length corrupted in the
//! middle of a segment cannot pass for a record cut short at its end and
//! make the reader drop what follows. The body's checksum covers the kind
//! and the payload. Positions increase by one from the segment header's
//! first position: a gap is corruption, not a torn write.
//!
//! **Torn or corrupt.** Only the last segment can have a torn tail: it is
//! the one being appended to when the process stops. There, a record whose
//! verified frame declares an end past the end of the file, or whose frame
//! or body checksum fails with nothing but zero bytes after it (a
//! preallocated or partly written block), is a torn tail (so bit rot in
//! exactly the final record's body reads as torn too: the two cannot be
//! told apart): [`read_segment`] returns the records before it
//! and reports where the tail starts and how long it is, and the opener
//! truncates it. Anything else that does not verify (a checksum that fails
//! with data after it, a bad record in an earlier segment, a gap) is
//! corruption: it is refused, naming the file and the offset, because
//! acknowledged records may lie beyond it.

use std::ops::Range;

/// The first bytes of every segment.
const MAGIC: [u8; 8] = *b"ALEDGSEG";
/// The format this code reads and writes.
pub(crate) const FORMAT_VERSION: u32 = 3;
pub(crate) const HEADER_LEN: usize = 32;
/// A record's frame: length, position, body checksum, frame checksum.
const FRAME_LEN: usize = 20;
/// The largest record body (kind and payload): far above any record the
/// ledger writes, and small enough that a corrupt length cannot make the
/// reader look gigabytes ahead.
pub(crate) const RECORD_BODY_MAX: usize = 1 << 16;

/// Why a segment cannot be read. Each names the file and, for records, the
/// byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The header is short, has the wrong magic, or does not verify.
    #[error("{file}: the file header does not verify")]
    BadHeader {
        /// The segment or checkpoint file.
        file: String,
    },
    /// The segment was written by another version of the format.
    #[error("{file}: format version {found}, this build reads {expected}")]
    Version {
        /// The segment file.
        file: String,
        /// The version it declares.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// A record that does not verify, with data after it (or in a segment
    /// that is not the last): acknowledged records may lie beyond it.
    #[error("{file}: corrupt record at offset {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        file: String,
        /// Where the record starts.
        offset: u64,
        /// What does not verify.
        reason: &'static str,
    },
}

/// A torn tail of the last segment: where it starts and how many bytes it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TornTail {
    pub(crate) offset: u64,
    pub(crate) bytes: u64,
}

/// One record of a segment read from `bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordRef {
    pub(crate) position: u64,
    pub(crate) kind: u8,
    /// The payload's bytes in the segment.
    pub(crate) payload: Range<usize>,
}

/// A segment as read: its records, and the torn tail the opener truncates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) first_position: u64,
    pub(crate) records: Vec<RecordRef>,
    pub(crate) torn: Option<TornTail>,
}

impl Segment {
    /// The position the next record appended to this segment takes.
    pub(crate) fn next_position(&self) -> u64 {
        self.first_position + self.records.len() as u64
    }
}

/// The header of a segment whose first record has position `first_position`.
pub(crate) fn encode_header(first_position: u64) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[16..24].copy_from_slice(&first_position.to_le_bytes());
    let crc = crc32c::crc32c(&header[..24]);
    header[24..28].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Appends the record `(position, kind, payload)` to `out`.
pub(crate) fn encode_record(position: u64, kind: u8, payload: &[u8], out: &mut Vec<u8>) {
    let body_len = 1 + payload.len();
    assert!(body_len <= RECORD_BODY_MAX, "a record body of {body_len} bytes");
    let body_crc = crc32c::crc32c_append(crc32c::crc32c(&[kind]), payload);
    let mut frame = [0u8; FRAME_LEN];
    frame[..4].copy_from_slice(&(body_len as u32).to_le_bytes());
    frame[4..12].copy_from_slice(&position.to_le_bytes());
    frame[12..16].copy_from_slice(&body_crc.to_le_bytes());
    let frame_crc = crc32c::crc32c(&frame[..16]);
    frame[16..].copy_from_slice(&frame_crc.to_le_bytes());
    out.extend_from_slice(&frame);
    out.push(kind);
    out.extend_from_slice(payload);
}

pub(super) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

pub(super) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Reads segment `file` from `bytes`. `is_last`: whether it is the newest
/// segment, the only one that may end in a torn tail.
pub(crate) fn read_segment(file: &str, bytes: &[u8], is_last: bool) -> Result<Segment, FormatError> {
    let first_position = read_header(file, bytes)?;
    let mut segment = Segment { first_position, records: Vec::new(), torn: None };
    let mut offset = HEADER_LEN;
    while offset < bytes.len() {
        match read_record(bytes, offset, segment.next_position()) {
            Ok((record, end)) => {
                segment.records.push(record);
                offset = end;
            }
            Err(Unreadable::Torn) if is_last => {
                segment.torn = Some(TornTail { offset: offset as u64, bytes: (bytes.len() - offset) as u64 });
                break;
            }
            Err(Unreadable::Torn) => {
                let reason = "a torn record in a segment that is not the last";
                return Err(FormatError::Corrupt { file: file.to_owned(), offset: offset as u64, reason });
            }
            Err(Unreadable::Corrupt(reason)) => {
                return Err(FormatError::Corrupt { file: file.to_owned(), offset: offset as u64, reason });
            }
        }
    }
    debug_assert!(segment.records.windows(2).all(|pair| pair[1].position == pair[0].position + 1));
    Ok(segment)
}

/// Reads the records of segment `file` whose positions are below `until`,
/// from `bytes` that may be being appended to past them (the flusher's
/// newest segment, read by a checkpoint). Records below `until` are durable
/// and never rewritten, so every one of them must verify: one that does not
/// is corruption, never a torn tail.
pub(crate) fn read_segment_until(file: &str, bytes: &[u8], until: u64) -> Result<Segment, FormatError> {
    let first_position = read_header(file, bytes)?;
    let mut segment = Segment { first_position, records: Vec::new(), torn: None };
    let mut offset = HEADER_LEN;
    while offset < bytes.len() && segment.next_position() < until {
        let (record, end) = read_record(bytes, offset, segment.next_position()).map_err(|unreadable| {
            let reason = match unreadable {
                Unreadable::Torn => "a durable record cut short",
                Unreadable::Corrupt(reason) => reason,
            };
            FormatError::Corrupt { file: file.to_owned(), offset: offset as u64, reason }
        })?;
        segment.records.push(record);
        offset = end;
    }
    Ok(segment)
}

/// The record at `offset` of `bytes`, a prefix of a segment that is still
/// being read, if it is all there: it must have position `expected` and,
/// being durable, verify. `Ok(None)`: its bytes are not all in `bytes` yet.
pub(crate) fn read_durable_record(
    bytes: &[u8],
    offset: usize,
    expected: u64,
) -> Result<Option<(RecordRef, usize)>, &'static str> {
    match read_record(bytes, offset, expected) {
        Ok(read) => Ok(Some(read)),
        // Only a short read makes a durable record look torn; a checksum that
        // fails with zeros after it is corruption too, reported once the
        // bytes after it are read or the file ends.
        Err(Unreadable::Torn) => Ok(None),
        Err(Unreadable::Corrupt(reason)) => Err(reason),
    }
}

/// The first position of the segment whose header is the start of `bytes`.
pub(crate) fn read_header(file: &str, bytes: &[u8]) -> Result<u64, FormatError> {
    let bad = || FormatError::BadHeader { file: file.to_owned() };
    let header = bytes.get(..HEADER_LEN).ok_or_else(bad)?;
    if header[..8] != MAGIC || u32_at(header, 24) != crc32c::crc32c(&header[..24]) {
        return Err(bad());
    }
    let found = u32_at(header, 8);
    if found != FORMAT_VERSION {
        return Err(FormatError::Version { file: file.to_owned(), found, expected: FORMAT_VERSION });
    }
    Ok(u64_at(header, 16))
}

/// Why the record at an offset could not be read.
enum Unreadable {
    /// Cut short, or failing a checksum with only zeros after it: a write
    /// the process did not finish.
    Torn,
    Corrupt(&'static str),
}

/// The record at `offset`, which must have position `expected`, and where it ends.
fn read_record(bytes: &[u8], offset: usize, expected: u64) -> Result<(RecordRef, usize), Unreadable> {
    let rest = &bytes[offset..];
    // Torn unless something non-zero follows the bad part: then acknowledged
    // records may lie beyond it.
    let torn_unless_followed = |after: usize, reason| {
        if all_zero(&bytes[after.min(bytes.len())..]) {
            Unreadable::Torn
        } else {
            Unreadable::Corrupt(reason)
        }
    };
    if rest.len() < FRAME_LEN {
        return Err(Unreadable::Torn);
    }
    if u32_at(rest, 16) != crc32c::crc32c(&rest[..16]) {
        return Err(torn_unless_followed(offset + FRAME_LEN, "frame checksum mismatch"));
    }
    let body_len = u32_at(rest, 0) as usize;
    if body_len == 0 || body_len > RECORD_BODY_MAX {
        return Err(Unreadable::Corrupt("record length out of range"));
    }
    let position = u64_at(rest, 4);
    if position != expected {
        return Err(Unreadable::Corrupt("position out of sequence"));
    }
    let end = offset + FRAME_LEN + body_len;
    if end > bytes.len() {
        return Err(Unreadable::Torn);
    }
    let body = &bytes[offset + FRAME_LEN..end];
    if u32_at(rest, 12) != crc32c::crc32c(body) {
        return Err(torn_unless_followed(end, "body checksum mismatch"));
    }
    let record = RecordRef { position, kind: body[0], payload: offset + FRAME_LEN + 1..end };
    Ok((record, end))
}

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&byte| byte == 0)
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
