//! The journal's directory: the lock that keeps a second process out, the
//! segment files, and reading them back in order.
//!
//! # Implementation details
//!
//! * **Lock.** `LOCK` in the directory, held with `File::try_lock` for as
//!   long as the journal is open. A second opener, in this process or
//!   another, gets [`JournalError::Locked`] instead of a second writer.
//! * **Segments** are named by their first position, zero-padded so that
//!   names sort as positions do. A new segment is created with its header
//!   written and synced, then the directory synced, before any record goes
//!   into it: a segment that exists after a crash has a header that verifies.
//! * **Reading back** lists the segments, checks that each begins where the
//!   previous one ended (a missing segment is refused: acknowledged records
//!   were in it), reads each with [`super::format::read_segment`] (only the
//!   newest may end in a torn tail), and truncates a torn tail, reporting it.
//! * Every I/O error is returned, named by its path; none is retried.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::format::{encode_header, read_segment, FormatError, Segment, TornTail, HEADER_LEN};

const LOCK_FILE: &str = "LOCK";
const SEGMENT_PREFIX: &str = "segment-";
const SEGMENT_SUFFIX: &str = ".log";

/// Why a durable ledger cannot be opened. Each names the file (and the
/// offset or position) where opening stopped; nothing acknowledged is ever
/// dropped to make opening succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Another open ledger (in this process or another) holds the directory.
    #[error("{dir}: another process (or another ledger in this one) has this journal open", dir = dir.display())]
    Locked {
        /// The journal directory.
        dir: PathBuf,
    },
    /// An I/O error, never retried.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A segment does not verify.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The segments do not follow each other: one is missing.
    #[error("{dir}: a segment is missing: the records jump from position {expected} to {found}", dir = dir.display())]
    MissingSegment {
        /// The journal directory.
        dir: PathBuf,
        /// The position the next segment should begin with.
        expected: u64,
        /// The position it begins with.
        found: u64,
    },
    /// A record whose checksum verifies but whose payload is not a valid
    /// entry (written by a newer version, or corrupt before its checksum).
    #[error("{file}: the record at offset {offset} does not decode: {reason}")]
    Undecodable {
        /// The segment file.
        file: String,
        /// The payload's offset in it.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry whose effect is impossible in the state before it.
    #[error("{file}: the entry at position {position} cannot apply: {reason}")]
    Inconsistent {
        /// The segment file.
        file: String,
        /// The entry's position.
        position: u64,
        /// Why it cannot apply.
        reason: &'static str,
    },
    /// The builder's limits are out of range.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// A limit is too small for what the journal holds.
    #[error("{limit} is too small for the journal: it needs {needed}")]
    TooSmall {
        /// The builder's limit.
        limit: &'static str,
        /// What the journal needs.
        needed: usize,
    },
    /// Writing recovery's own records failed.
    #[error(transparent)]
    Failed(#[from] crate::JournalFailed),
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.to_owned(), source }
}

/// `<prefix><position, 20 digits><suffix>`: a file named by a position,
/// zero-padded so that names sort as positions do.
pub(crate) fn numbered_name(prefix: &str, position: u64, suffix: &str) -> String {
    format!("{prefix}{position:020}{suffix}")
}

/// The position in a [`numbered_name`], if `name` is one.
pub(crate) fn parse_numbered_name(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.len() != 20 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The name of the segment whose first record has position `first_position`.
pub(crate) fn segment_name(first_position: u64) -> String {
    numbered_name(SEGMENT_PREFIX, first_position, SEGMENT_SUFFIX)
}

fn parse_segment_name(name: &str) -> Option<u64> {
    parse_numbered_name(name, SEGMENT_PREFIX, SEGMENT_SUFFIX)
}

/// The segments in directory `path`: (first position, file name), ascending.
pub(crate) fn list_segments(path: &Path) -> Result<Vec<(u64, String)>, JournalError> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io_error(path))? {
        let entry = entry.map_err(io_error(path))?;
        if let Some(first) = entry.file_name().to_str().and_then(parse_segment_name) {
            names.push((first, segment_name(first)));
        }
    }
    names.sort_unstable();
    Ok(names)
}

/// Makes the entries of directory `path` durable (after a file is created,
/// renamed or removed).
pub(crate) fn sync_dir(path: &Path) -> Result<(), JournalError> {
    File::open(path).and_then(|dir| dir.sync_all()).map_err(io_error(path))
}

/// One segment as read back.
#[derive(Debug)]
pub(crate) struct ReadSegment {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) segment: Segment,
}

/// Every segment of a journal, in order, and the torn tail that was cut
/// from the newest (file name and what was cut).
#[derive(Debug)]
pub(crate) struct ReadBack {
    pub(crate) segments: Vec<ReadSegment>,
    pub(crate) truncated: Option<(String, TornTail)>,
}

/// An open journal directory, locked for as long as this lives.
#[derive(Debug)]
pub(crate) struct JournalDir {
    path: PathBuf,
    _lock: File,
}

impl JournalDir {
    /// Opens (creating it if needed) and locks the journal directory `path`.
    pub(crate) fn open(path: &Path) -> Result<Self, JournalError> {
        std::fs::create_dir_all(path).map_err(io_error(path))?;
        let lock_path = path.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => Ok(Self { path: path.to_owned(), _lock: lock }),
            Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::Locked { dir: path.to_owned() }),
            Err(std::fs::TryLockError::Error(source)) => Err(JournalError::Io { path: lock_path, source }),
        }
    }

    /// Makes the directory's entries durable (after a file is created,
    /// renamed or removed).
    fn sync_dir(&self) -> Result<(), JournalError> {
        sync_dir(&self.path)
    }

    /// The directory's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the segment whose first record will have position
    /// `first_position`: header written and synced, directory synced.
    pub(crate) fn create_segment(&self, first_position: u64) -> Result<SegmentWriter, JournalError> {
        let path = self.path.join(segment_name(first_position));
        let mut file =
            OpenOptions::new().create_new(true).append(true).open(&path).map_err(io_error(&path))?;
        file.write_all(&encode_header(first_position)).map_err(io_error(&path))?;
        file.sync_all().map_err(io_error(&path))?;
        self.sync_dir()?;
        Ok(SegmentWriter { file, path })
    }

    /// Opens the existing segment `name` to append to it.
    pub(crate) fn reopen_segment(&self, name: &str) -> Result<SegmentWriter, JournalError> {
        let path = self.path.join(name);
        let file = OpenOptions::new().append(true).open(&path).map_err(io_error(&path))?;
        Ok(SegmentWriter { file, path })
    }

    /// Reads every segment back in order, refusing a missing one, and
    /// truncates the newest's torn tail (synced before this returns).
    pub(crate) fn read_back(&self) -> Result<ReadBack, JournalError> {
        let names = list_segments(&self.path)?;
        let mut read_back = ReadBack { segments: Vec::with_capacity(names.len()), truncated: None };
        let count = names.len();
        for (index, (_, name)) in names.into_iter().enumerate() {
            let path = self.path.join(&name);
            let bytes = std::fs::read(&path).map_err(io_error(&path))?;
            let is_last = index + 1 == count;
            if is_last && self.is_torn_creation(&name, &bytes) {
                // A crash while the segment was created: it holds no record.
                std::fs::remove_file(&path).map_err(io_error(&path))?;
                self.sync_dir()?;
                let torn = TornTail { offset: 0, bytes: bytes.len() as u64 };
                read_back.truncated = Some((name, torn));
                continue;
            }
            let segment = read_segment(&name, &bytes, is_last)?;
            if let Some(previous) = read_back.segments.last() {
                let expected = previous.segment.next_position();
                if segment.first_position != expected {
                    let found = segment.first_position;
                    return Err(JournalError::MissingSegment { dir: self.path.clone(), expected, found });
                }
            }
            if let Some(torn) = segment.torn {
                truncate(&path, torn.offset)?;
                read_back.truncated = Some((name.clone(), torn));
            }
            read_back.segments.push(ReadSegment { name, bytes, segment });
        }
        Ok(read_back)
    }
}

impl JournalDir {
    /// Whether the newest segment is one whose creation a crash cut: no
    /// longer than a header, and not a header that verifies (the header is
    /// written and synced before the directory entry, but a file system may
    /// keep the entry and lose the data). It can hold no record. Anything
    /// longer with a bad header is refused: records may follow it.
    fn is_torn_creation(&self, name: &str, bytes: &[u8]) -> bool {
        bytes.len() <= HEADER_LEN && read_segment(name, bytes, true).is_err()
    }
}

fn truncate(path: &Path, len: u64) -> Result<(), JournalError> {
    let file = OpenOptions::new().write(true).open(path).map_err(io_error(path))?;
    file.set_len(len).and_then(|()| file.sync_all()).map_err(io_error(path))
}

/// The newest segment, open for appending.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    file: File,
    path: PathBuf,
}

impl SegmentWriter {
    /// Appends encoded records (not yet durable).
    pub(crate) fn append(&mut self, records: &[u8]) -> Result<(), JournalError> {
        self.file.write_all(records).map_err(io_error(&self.path))
    }

    /// Makes everything appended so far durable (`fdatasync`).
    pub(crate) fn sync(&mut self) -> Result<(), JournalError> {
        self.file.sync_data().map_err(io_error(&self.path))
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
