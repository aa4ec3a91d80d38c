//! The one seam for where journal bytes go: segment files now; a replicated
//! store could stand behind it later. Tests put a fault-injecting store here.
//!
//! # Implementation details
//!
//! The flusher is the only caller, one call at a time. It appends encoded
//! records (whole frames, positions ascending without a gap) and then asks
//! for them to be made durable. A store must not report an append or a sync
//! done unless it is; an error is returned as is and never retried: the
//! flusher stops the journal on the first one.

use std::io;

use super::files::{JournalDir, JournalError, SegmentWriter};
use crate::JournalAction;

/// Where the flusher's bytes go.
pub(crate) trait Storage: Send + 'static {
    /// Appends `frames`, whose first record has position `first_position`,
    /// after everything appended before (not yet durable).
    fn append(&mut self, first_position: u64, frames: &[u8]) -> Result<(), StorageError>;
    /// Makes everything appended so far durable.
    fn sync(&mut self) -> Result<(), StorageError>;
}

/// A store's failure: what it was doing, and the I/O error, with its path.
#[derive(Debug, thiserror::Error)]
#[error("journal {action} failed: {source}")]
pub(crate) struct StorageError {
    pub(crate) action: JournalAction,
    #[source]
    pub(crate) source: JournalError,
}

impl StorageError {
    pub(crate) fn kind(&self) -> io::ErrorKind {
        match &self.source {
            JournalError::Io { source, .. } => source.kind(),
            _ => io::ErrorKind::Other,
        }
    }
}

/// Segment files in a locked journal directory; a new segment is started
/// once the current one holds `segment_bytes_max` bytes.
#[derive(Debug)]
pub(crate) struct SegmentFiles {
    dir: JournalDir,
    current: SegmentWriter,
    current_bytes: u64,
    segment_bytes_max: u64,
}

impl SegmentFiles {
    /// Appends to `current`, which already holds `current_bytes`.
    pub(crate) fn new(
        dir: JournalDir,
        current: SegmentWriter,
        current_bytes: u64,
        segment_bytes_max: u64,
    ) -> Self {
        Self { dir, current, current_bytes, segment_bytes_max }
    }
}

impl Storage for SegmentFiles {
    fn append(&mut self, first_position: u64, frames: &[u8]) -> Result<(), StorageError> {
        if self.current_bytes >= self.segment_bytes_max {
            // The old segment's last records must be durable before the new
            // one exists: recovery reads a segment that is not the newest as
            // complete.
            self.sync()?;
            let fail = |source| StorageError { action: JournalAction::CreateSegment, source };
            self.current = self.dir.create_segment(first_position).map_err(fail)?;
            self.current_bytes = super::format::HEADER_LEN as u64;
        }
        let fail = |source| StorageError { action: JournalAction::Write, source };
        self.current.append(frames).map_err(fail)?;
        self.current_bytes += frames.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.current.sync().map_err(|source| StorageError { action: JournalAction::Sync, source })
    }
}

/// A store in memory that keeps what was synced apart from what was only
/// appended, and can be told to fail: for the journal's own tests and the
/// loom models.
#[cfg(test)]
pub(crate) mod memory {
    use std::sync::Arc;

    use super::{Storage, StorageError};
    use crate::journal::files::JournalError;
    use crate::sync::Mutex;
    use crate::JournalAction;

    /// What the store holds, shared with the test that inspects it.
    #[derive(Debug, Default)]
    pub(crate) struct Contents {
        /// `(first position, frames)` of each append, in order.
        pub(crate) appended: Vec<(u64, Vec<u8>)>,
        /// How many of `appended` a sync has covered.
        pub(crate) synced: usize,
        /// Appends left before one fails (`None`: never).
        pub(crate) writes_before_failure: Option<usize>,
        /// Syncs left before one fails (`None`: never).
        pub(crate) syncs_before_failure: Option<usize>,
    }

    /// The entries in `appended` frames (holes left out), with their positions.
    #[cfg_attr(atomic_ledger_loom, allow(dead_code, reason = "the loom models drain the ring instead"))]
    pub(crate) fn decode_log(appended: &[(u64, Vec<u8>)]) -> Vec<(u64, crate::journal::Entry)> {
        let Some((first, _)) = appended.first() else { return Vec::new() };
        let mut bytes = crate::journal::format::encode_header(*first).to_vec();
        for (_, frames) in appended {
            bytes.extend_from_slice(frames);
        }
        let segment = crate::journal::format::read_segment("memory", &bytes, false).expect("valid frames");
        segment
            .records
            .iter()
            .filter(|record| record.kind != crate::journal::HOLE_KIND)
            .map(|record| {
                let entry = crate::journal::Entry::decode(record.kind, &bytes[record.payload.clone()]);
                (record.position, entry.expect("the ledger writes valid entries"))
            })
            .collect()
    }

    #[derive(Debug, Clone)]
    pub(crate) struct MemoryStorage(pub(crate) Arc<Mutex<Contents>>);

    impl Default for MemoryStorage {
        fn default() -> Self {
            Self(Arc::new(Mutex::new(Contents::default())))
        }
    }

    fn injected(action: JournalAction) -> StorageError {
        let source = std::io::Error::other("injected failure");
        StorageError { action, source: JournalError::Io { path: "memory".into(), source } }
    }

    fn countdown(left: &mut Option<usize>) -> bool {
        match left {
            Some(0) => true,
            Some(left) => {
                *left -= 1;
                false
            }
            None => false,
        }
    }

    impl Storage for MemoryStorage {
        fn append(&mut self, first_position: u64, frames: &[u8]) -> Result<(), StorageError> {
            let mut contents = self.0.lock();
            if countdown(&mut contents.writes_before_failure) {
                return Err(injected(JournalAction::Write));
            }
            contents.appended.push((first_position, frames.to_vec()));
            Ok(())
        }

        fn sync(&mut self) -> Result<(), StorageError> {
            let mut contents = self.0.lock();
            if countdown(&mut contents.syncs_before_failure) {
                return Err(injected(JournalAction::Sync));
            }
            contents.synced = contents.appended.len();
            Ok(())
        }
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::*;
    use crate::journal::commit::Journal;

    /// Records written through the journal into segment files of at most
    /// `segment_bytes_max` come back in order, across every segment roll.
    #[test]
    fn segments_roll_and_read_back_as_one_log() {
        let temp = tempfile::tempdir().unwrap();
        let dir = JournalDir::open(temp.path()).unwrap();
        let first = dir.create_segment(0).unwrap();
        let header = crate::journal::format::HEADER_LEN as u64;
        let storage = SegmentFiles::new(dir, first, header, 200);
        let journal = Journal::start(storage, 0, 8, None);
        for record in 0..40u8 {
            journal.reserve().fill(1, &[record; 10]);
            if record % 3 == 0 {
                journal.sync().unwrap();
            }
        }
        drop(journal);
        let dir = JournalDir::open(temp.path()).unwrap();
        let read_back = dir.read_back().unwrap();
        assert!(read_back.segments.len() > 2, "{} segments", read_back.segments.len());
        assert!(read_back.truncated.is_none());
        let mut expected = 0u64;
        for segment in &read_back.segments {
            for record in &segment.segment.records {
                assert_eq!(record.position, expected);
                assert_eq!(&segment.bytes[record.payload.clone()], &[expected as u8; 10]);
                expected += 1;
            }
        }
        assert_eq!(expected, 40);
    }

    #[test]
    fn a_store_error_names_what_failed_and_its_kind() {
        let source = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let error = StorageError {
            action: JournalAction::CreateSegment,
            source: JournalError::Io { path: "/j/segment".into(), source },
        };
        assert_eq!(error.kind(), std::io::ErrorKind::StorageFull);
        assert!(error.to_string().starts_with("journal create a segment failed: /j/segment"));
    }
}
