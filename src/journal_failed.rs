//! How a durable ledger reports that its journal failed: a plain public
//! type, below every error family that carries it.

/// What the store was doing when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum JournalAction {
    /// Writing records.
    Write,
    /// Making records durable (`fdatasync`).
    Sync,
    /// Creating the next segment file.
    CreateSegment,
}

impl std::fmt::Display for JournalAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JournalAction::Write => "write",
            JournalAction::Sync => "sync",
            JournalAction::CreateSegment => "create a segment",
        })
    }
}

/// The journal could not make records durable. It stays failed: the
/// operation that reports this, and every later durable operation, is not
/// acknowledged. What it did in memory may or may not be on disk; reopen
/// the ledger to recover what is.
///
/// ```text
/// journal sync failed at position 1234 (Other); no later operation is acknowledged
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("journal {action} failed at position {position} ({kind:?}); no later operation is acknowledged")]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct JournalFailed {
    /// What the journal was doing.
    pub action: JournalAction,
    /// The I/O error's kind (the full error is in the ledger's log of it).
    #[cfg_attr(feature = "serde", serde(with = "io_kind"))]
    pub kind: std::io::ErrorKind,
    /// The first position that is not durable.
    pub position: u64,
}

/// An `io::ErrorKind` as its name (`"StorageFull"`); a name this build does
/// not know reads back as `Other`.
#[cfg(feature = "serde")]
mod io_kind {
    use std::io::ErrorKind;

    const KNOWN: [ErrorKind; 16] = [
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
        ErrorKind::AlreadyExists,
        ErrorKind::WouldBlock,
        ErrorKind::InvalidInput,
        ErrorKind::InvalidData,
        ErrorKind::TimedOut,
        ErrorKind::WriteZero,
        ErrorKind::Interrupted,
        ErrorKind::Unsupported,
        ErrorKind::UnexpectedEof,
        ErrorKind::OutOfMemory,
        ErrorKind::StorageFull,
        ErrorKind::ReadOnlyFilesystem,
        ErrorKind::QuotaExceeded,
        ErrorKind::FileTooLarge,
    ];

    pub(super) fn serialize<S: serde::Serializer>(
        kind: &ErrorKind,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{kind:?}"))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<ErrorKind, D::Error> {
        let name = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
        Ok(KNOWN.into_iter().find(|kind| format!("{kind:?}") == name).unwrap_or(ErrorKind::Other))
    }
}
