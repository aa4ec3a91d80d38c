//! A durable ledger: opening one from its journal (recovery), and waiting
//! for operations to be on disk (the durability modes, the barrier, the
//! ticket, the batch call). The journal itself is [`crate::journal`].
//!
//! Checkpoints, which bound what recovery reads, are [`checkpoint`].

use std::path::Path;
use std::time::Duration;

use super::{Ledger, LedgerBuilder};
use crate::cell::{AccountCell, Restored};
use crate::credential_cell::CredentialCell;
use crate::directory::Inserted;
use crate::journal::{
    Checkpoints, Entry, Journal, JournalDir, JournalError, Log, RecordBytes, SegmentFiles, Storage, Synced,
    HEADER_LEN, HOLE_KIND,
};
use crate::quota::BucketCell;
use crate::record_lanes::Record;
use crate::recovery::{Decided, Decision, HoldEvent, RecoveredCredential, Replayed};
use crate::{JournalFailed, Transfer, TransferError, TransferReceipt};

/// When a durable ledger's operations return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Durability {
    /// Each operation returns once its records, and every record before
    /// them, are on stable storage (`fdatasync`). Concurrent callers share
    /// each sync (group commit).
    #[default]
    Synchronous,
    /// Operations return as soon as they are done in memory; their records
    /// are written within [`BUFFERED_FLUSH_INTERVAL`]. A crash loses what
    /// was not yet written. [`Ledger::sync`] (or awaiting
    /// [`Ledger::synced`]) is the barrier that makes everything before it
    /// durable.
    Buffered,
}

/// How often a buffered ledger writes what is pending, at the longest.
pub const BUFFERED_FLUSH_INTERVAL: Duration = Duration::from_millis(5);

/// Records in flight between the steps and the flusher, at most.
const RING_RECORDS: usize = 1 << 14;
/// A segment is closed, and the next begun, past this size (default of
/// [`LedgerBuilder::journal_segment_bytes_max`]).
pub(super) const SEGMENT_BYTES_MAX: usize = 64 << 20;

/// What recovery found and did when the ledger was opened
/// ([`Ledger::recovery`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Recovery {
    /// Journal entries replayed (holes not counted).
    pub entries: u64,
    /// The position the next record takes.
    pub next_position: u64,
    /// The newest segment's torn tail, cut at open: (segment file, offset, bytes).
    pub torn_tail: Option<(String, u64, u64)>,
    /// Operations the crash cut, none of them acknowledged: transfers and
    /// batches undone and forgotten, batches completed (a commit of theirs
    /// was in the journal).
    pub transfers_abandoned: u64,
    /// See [`Self::transfers_abandoned`].
    pub batches_abandoned: u64,
    /// See [`Self::transfers_abandoned`].
    pub batches_completed: u64,
    /// Posts the crash cut after their credit, ended by recovery (the rest
    /// of the hold returned to its source).
    pub posts_completed: u64,
    /// The position of the checkpoint recovery started from, if any:
    /// replay read the journal only from there.
    pub checkpoint: Option<u64>,
}

/// The journal side of a durable ledger.
#[derive(Debug)]
pub(super) struct Durable {
    journal: Journal,
    durability: Durability,
    recovery: Recovery,
    /// Writes checkpoints (`None` for a journal not in a directory: the
    /// tests' in-memory store and the loom models).
    checkpoints: Option<checkpoint::Checkpointer>,
    /// The journal's directory, which the change stream reads (`None` as
    /// for `checkpoints`).
    dir: Option<std::path::PathBuf>,
}

impl LedgerBuilder {
    /// Opens the durable ledger in directory `dir`, creating it if needed,
    /// and recovers its state: the newest checkpoint, then the journal after
    /// it (`docs/journal.md`). Every state change is journaled; with
    /// [`Durability::Synchronous`] (the default) each operation returns once
    /// its records are on stable storage. The limits must hold what the
    /// journal holds (an error says which does not). One ledger at a time
    /// may have `dir` open ([`JournalError::Locked`] otherwise); a journal
    /// that does not verify or does not replay is refused, naming the file.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger};
    ///
    /// let dir = tempfile::tempdir()?;
    /// {
    ///     let ledger = Ledger::builder().accounts_max(1_000).open(dir.path())?;
    ///     ledger.open_account(AccountId(1), AccountOptions::default())?;
    ///     ledger.credit(AccountId(1), 42)?; // returns once it is on disk
    /// }
    /// let ledger = Ledger::builder().accounts_max(1_000).open(dir.path())?;
    /// assert_eq!(ledger.balance(AccountId(1))?, 42);
    /// assert!(ledger.recovery().unwrap().entries >= 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(self, dir: impl AsRef<Path>) -> Result<Ledger, JournalError> {
        let durability = self.durability;
        let segment_bytes_max = self.segment_bytes_max as u64;
        let builder = self.clone();
        let mut ledger = self.build().map_err(JournalError::Config)?;
        let dir = JournalDir::open(dir.as_ref())?;
        let dir_path = dir.path().to_owned();
        let checkpoints = Checkpoints::new(dir.path());
        let loaded = checkpoints.read_newest()?;
        let mut replayed = match &loaded {
            Some(loaded) => checkpoint::decode(loaded)?,
            None => Replayed::default(),
        };
        let base = replayed.base_position();
        let read_back = dir.read_back()?;
        if let Some(first) = read_back.segments.first() {
            if first.segment.first_position > base {
                let found = first.segment.first_position;
                return Err(JournalError::MissingSegment {
                    dir: dir.path().to_owned(),
                    expected: base,
                    found,
                });
            }
        }
        for segment in &read_back.segments {
            for record in segment.segment.records.iter().filter(|record| record.position >= base) {
                let payload = &segment.bytes[record.payload.clone()];
                let offset = record.payload.start as u64;
                replay(&mut replayed, &segment.name, (record.position, record.kind, offset, payload))?;
            }
        }
        let next_position = read_back.segments.last().map_or(base, |last| last.segment.next_position());
        if next_position < base {
            let file = loaded.map_or_else(String::new, |loaded| loaded.file);
            let reason = "the journal ends before its checkpoint's position";
            return Err(JournalError::Inconsistent { file, position: next_position, reason });
        }
        let (segment, segment_bytes) = match read_back.segments.last() {
            Some(last) => (dir.reopen_segment(&last.name)?, last.bytes.len() as u64 - torn_bytes(&read_back)),
            None => (dir.create_segment(base)?, HEADER_LEN as u64),
        };
        let storage = SegmentFiles::new(dir, segment, segment_bytes, segment_bytes_max);
        let torn_tail = read_back.truncated.map(|(file, torn)| (file, torn.offset, torn.bytes));
        let checkpoint = loaded.map(|loaded| loaded.position);
        let recovery = Recovery { next_position, torn_tail, checkpoint, ..Recovery::default() };
        attach(&mut ledger, storage, durability, replayed, recovery)?;
        if let Some(durable) = ledger.durable.as_deref_mut() {
            durable.checkpoints = Some(checkpoint::Checkpointer::new(checkpoints, builder));
            durable.dir = Some(dir_path);
        }
        Ok(ledger)
    }

    /// A durable ledger with an empty journal on `storage` (the tests'
    /// fault-injecting store).
    #[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
    pub(crate) fn build_on(self, storage: impl Storage) -> Result<Ledger, JournalError> {
        let durability = self.durability;
        let mut ledger = self.build()?;
        attach(&mut ledger, storage, durability, Replayed::default(), Recovery::default())?;
        Ok(ledger)
    }

    /// A buffered durable ledger whose journal has no flusher (see
    /// `Journal::detached`), for the loom models of the ordering rule.
    #[cfg(all(test, atomic_ledger_loom))]
    pub(crate) fn build_detached(self, ring_capacity: usize) -> Ledger {
        let mut ledger = self.build().unwrap_or_else(|error| panic!("{error}"));
        let durable = Durable {
            journal: Journal::detached(ring_capacity),
            durability: Durability::Buffered,
            recovery: Recovery::default(),
            checkpoints: None,
            dir: None,
        };
        ledger.durable = Some(Box::new(durable));
        ledger
    }

    /// The entries a [`Self::build_detached`] ledger has journaled.
    #[cfg(all(test, atomic_ledger_loom))]
    pub(crate) fn drain_detached(ledger: &Ledger) -> Vec<(u64, Entry)> {
        ledger.durable().map_or_else(Vec::new, |durable| durable.journal.drain())
    }

    /// How large a journal segment file grows before the next one begins
    /// (default 64 MiB; 4 KiB to 1 GiB). A checkpoint removes only whole
    /// segments, so smaller segments free disk sooner after one, at the
    /// cost of more files. No effect on [`Self::build`].
    ///
    /// ```
    /// use atomic_ledger::{JournalError, Ledger};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().journal_segment_bytes_max(1 << 20).open(dir.path())?;
    /// let too_small = Ledger::builder().journal_segment_bytes_max(100).open(dir.path());
    /// assert!(matches!(too_small, Err(JournalError::Config(_))));
    /// # drop(ledger);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn journal_segment_bytes_max(mut self, bytes: usize) -> Self {
        self.segment_bytes_max = bytes;
        self
    }

    /// When a durable ledger's operations return (default
    /// [`Durability::Synchronous`]). No effect on [`Self::build`].
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Durability, Ledger};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().durability(Durability::Buffered).open(dir.path())?;
    /// ledger.open_account(AccountId(1), AccountOptions::default())?;
    /// ledger.credit(AccountId(1), 5)?; // returned before its record was synced
    /// ledger.sync()?; // now it, and everything before it, is on disk
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }
}

/// Starts the journal on `storage` after `recovery.next_position`, settles
/// what the crash cut, and puts the recovered state into `ledger`.
fn attach(
    ledger: &mut Ledger,
    storage: impl Storage,
    durability: Durability,
    mut replayed: Replayed,
    mut recovery: Recovery,
) -> Result<(), JournalError> {
    let flush_interval = (durability == Durability::Buffered).then_some(BUFFERED_FLUSH_INTERVAL);
    let journal = Journal::start(storage, recovery.next_position, RING_RECORDS, flush_interval);
    settle_cut_operations(&journal, &mut replayed, &mut recovery)?;
    recovery.entries = replayed.entries;
    recovery.next_position = journal.handed_out();
    ledger.restore(&replayed)?;
    ledger.durable = Some(Box::new(Durable { journal, durability, recovery, checkpoints: None, dir: None }));
    Ok(())
}

/// Decodes a record of segment `file` and applies it to `replayed`; holes
/// are skipped.
fn replay(replayed: &mut Replayed, file: &str, record: RecordBytes<'_>) -> Result<(), JournalError> {
    let (position, kind, offset, payload) = record;
    if kind == HOLE_KIND {
        return Ok(());
    }
    let entry = Entry::decode(kind, payload).map_err(|error| JournalError::Undecodable {
        file: file.to_owned(),
        offset,
        reason: error.reason,
    })?;
    replayed.apply(position, &entry).map_err(|error| JournalError::Inconsistent {
        file: file.to_owned(),
        position: error.position,
        reason: error.reason,
    })
}

fn torn_bytes(read_back: &crate::journal::ReadBack) -> u64 {
    read_back.truncated.as_ref().map_or(0, |(_, torn)| torn.bytes)
}

/// Journals and applies the entries that finish or undo what the crash cut
/// (see [`crate::journal`]'s replay), and waits for them to be durable: the
/// next recovery must see the same settlement.
fn settle_cut_operations(
    journal: &Journal,
    replayed: &mut Replayed,
    recovery: &mut Recovery,
) -> Result<(), JournalError> {
    for entry in replayed.completions() {
        match entry {
            Entry::TransferAbandoned { .. } => recovery.transfers_abandoned += 1,
            Entry::BatchAbandoned { .. } => recovery.batches_abandoned += 1,
            Entry::BatchCredited { .. } => recovery.batches_completed += 1,
            Entry::HoldEnded { .. } => recovery.posts_completed += 1,
            _ => {}
        }
        let reservation = journal.reserve();
        let position = reservation.position();
        reservation.fill_entry(&entry);
        replayed.apply(position, &entry).map_err(|error| JournalError::Inconsistent {
            file: String::from("(recovery)"),
            position: error.position,
            reason: error.reason,
        })?;
    }
    journal.sync().map_err(JournalError::Failed)
}

impl Ledger {
    /// Puts the recovered state in the empty ledger: accounts, then the
    /// id table's decisions in the order the table took them (so that its
    /// eviction, and its low-water marks, come out as they were).
    fn restore(&self, replayed: &Replayed) -> Result<(), JournalError> {
        let epoch = self.epoch.load();
        for account in replayed.accounts() {
            let state = Restored {
                balance: account.balance,
                status: account.status,
                holds: account.holds,
                held: account.held,
                entered: account.entered,
                left: account.left,
            };
            let make = || AccountCell::restored(account.id, account.options, epoch, &state);
            match self.directory.insert(account.id.0, make) {
                Inserted::New => {}
                Inserted::Existing(_) => unreachable!("replay opens each account once"),
                Inserted::Full => {
                    let needed = replayed.accounts().len();
                    return Err(JournalError::TooSmall { limit: "accounts_max", needed });
                }
            }
        }
        for bucket in replayed.buckets() {
            let make = || BucketCell::restored(bucket.id, bucket.policy, bucket.origin_ms, bucket.word);
            if let Inserted::Full = self.buckets.insert(bucket.id.0, make) {
                return Err(JournalError::TooSmall {
                    limit: "buckets_max",
                    needed: replayed.buckets().len(),
                });
            }
        }
        for credential in replayed.credentials() {
            let RecoveredCredential { id, spec, scopes, revoked, spent } = *credential;
            // A prefix can count more than the cap (two uses whose positions
            // are ordered apart from their CASes); at most the cap is kept.
            let spent = spent.min(spec.spend_cap.unwrap_or(0));
            // Replay checked that the account was opened, and every replayed
            // account was inserted above.
            let account = self.directory.get(spec.account.0);
            let account = account.unwrap_or_else(|| unreachable!("a credential's account was opened"));
            let make = || CredentialCell::restored(id, spec, account, scopes, revoked, spent);
            if let Inserted::Full = self.credentials.insert(id.0, make) {
                let needed = replayed.credentials().len();
                return Err(JournalError::TooSmall { limit: "credentials_max", needed });
            }
        }
        self.restore_images(replayed.base_images())?;
        let too_small = |needed| JournalError::TooSmall { limit: "transfer_ids_max", needed };
        for decision in replayed.decisions() {
            match decision {
                Decision::Single(decided) => {
                    self.transfer_ids.restore(&[(decided.id, self.record_of(decided))]).map_err(too_small)?;
                }
                Decision::Batch(legs) => {
                    let records: Vec<_> = legs.iter().map(|leg| (leg.id, self.record_of(leg))).collect();
                    self.transfer_ids.restore(&records).map_err(too_small)?;
                }
            }
        }
        for event in replayed.hold_events() {
            let restored = match *event {
                HoldEvent::Created(request, state, charged) => {
                    self.holds.restore_created(self.hold_record((request, state, charged)))
                }
                HoldEvent::Resolved(id, state) => self.holds.restore_resolved(id, state),
            };
            restored
                .map_err(|()| JournalError::TooSmall { limit: "holds_max", needed: self.holds.len() + 1 })?;
        }
        Ok(())
    }

    fn record_of(&self, decided: &Decided) -> Record {
        let slot =
            |id| self.find_account(id).map(|(_, slot)| slot).unwrap_or_else(|_| unreachable!("restored"));
        Record {
            from: slot(decided.from),
            to: slot(decided.to),
            amount: decided.amount,
            link: decided.link,
            outcome: decided.outcome,
        }
    }

    /// The journal side, `None` in memory: what [`durably!`] branches on.
    #[inline]
    pub(super) fn durable(&self) -> Option<&Durable> {
        self.durable.as_deref()
    }

    /// Blocks until every operation that returned before this call is on
    /// stable storage: the barrier for [`Durability::Buffered`]. Returns at
    /// once on an in-memory ledger. An error if the journal has failed (and
    /// then for good: nothing is retried).
    ///
    /// ```
    /// use atomic_ledger::Ledger;
    ///
    /// assert_eq!(Ledger::new().sync(), Ok(())); // in memory: nothing to wait for
    /// ```
    pub fn sync(&self) -> Result<(), JournalFailed> {
        match &self.durable {
            None => Ok(()),
            Some(durable) => durable.journal.sync(),
        }
    }

    /// A future that completes once every operation that returned before
    /// this call is on stable storage, for async callers of a buffered
    /// ledger: no thread blocks while it waits (std's `Future` and `Waker`:
    /// any executor). `None` on an in-memory ledger.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Durability, Ledger};
    ///
    /// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
    /// #     let waker = std::task::Waker::noop();
    /// #     let mut context = std::task::Context::from_waker(waker);
    /// #     let mut future = std::pin::pin!(future);
    /// #     loop {
    /// #         if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) { return output; }
    /// #         std::thread::yield_now();
    /// #     }
    /// # }
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().durability(Durability::Buffered).open(dir.path())?;
    /// ledger.open_account(AccountId(1), AccountOptions::default())?;
    /// ledger.credit(AccountId(1), 5)?;
    /// // In an async handler: `ledger.synced().unwrap().await?` before answering.
    /// block_on(ledger.synced().unwrap())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn synced(&self) -> Option<Synced<'_>> {
        self.durable.as_deref().map(|durable| durable.journal.synced())
    }

    /// What the journal has done since this ledger was opened: syncs,
    /// bytes written, time in syncs (`None` for an in-memory ledger).
    /// Operations per sync is what group commit achieved.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().open(dir.path())?;
    /// ledger.open_account(AccountId(1), AccountOptions::default())?;
    /// let stats = ledger.journal_stats().unwrap();
    /// assert!(stats.syncs >= 1 && stats.durable_position >= 1);
    /// assert_eq!(Ledger::new().journal_stats(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn journal_stats(&self) -> Option<crate::JournalStats> {
        self.durable.as_deref().map(|durable| durable.journal.stats())
    }

    /// The full message of the I/O error that stopped the journal (its
    /// file and the operating system's error), once one has: the
    /// [`JournalFailed`] every operation then returns says what failed and
    /// where in the log, this says why.
    ///
    /// ```
    /// use atomic_ledger::Ledger;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().open(dir.path())?;
    /// assert_eq!(ledger.journal_failure(), None); // nothing has failed
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn journal_failure(&self) -> Option<String> {
        self.durable.as_deref().and_then(|durable| durable.journal.failure_detail())
    }

    /// What recovery found and did when this ledger was opened (`None` for
    /// an in-memory ledger).
    ///
    /// ```
    /// use atomic_ledger::Ledger;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().open(dir.path())?;
    /// let recovery = ledger.recovery().unwrap();
    /// assert_eq!((recovery.entries, recovery.torn_tail.clone(), recovery.checkpoint), (0, None, None));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recovery(&self) -> Option<&Recovery> {
        self.durable.as_deref().map(|durable| &durable.recovery)
    }

    /// Applies each transfer as [`Ledger::transfer`] does, independently,
    /// and waits for durability once for all of them: many transfers, one
    /// sync. If that sync fails, every transfer reports the failure. On an
    /// in-memory ledger, the same as calling `transfer` for each.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger, Transfer, TransferId};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().open(dir.path())?;
    /// for id in [AccountId(1), AccountId(2)] {
    ///     ledger.open_account(id, AccountOptions::default())?;
    /// }
    /// ledger.credit(AccountId(1), 10)?;
    /// let transfers: Vec<Transfer> = (1..=20)
    ///     .map(|id| Transfer { id: TransferId(id), from: AccountId(1), to: AccountId(2), amount: 1 })
    ///     .collect();
    /// let results = ledger.transfer_many(&transfers);
    /// assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 10); // then the funds ran out
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transfer_many(&self, transfers: &[Transfer]) -> Vec<Result<TransferReceipt, TransferError>> {
        let Some(durable) = &self.durable else {
            return transfers.iter().map(|transfer| self.transfer(*transfer)).collect();
        };
        let mut results: Vec<_> = transfers
            .iter()
            .map(|transfer| durable.run_with(Durability::Buffered, |log| self.transfer_logged(transfer, log)))
            .collect();
        if let Err(failed) = durable.journal.sync() {
            results.iter_mut().for_each(|result| *result = Err(TransferError::Journal(failed)));
        }
        results
    }
}

impl Durable {
    /// The journal, as steps write to it.
    pub(super) fn log(&self) -> Log<'_> {
        Log::to(&self.journal)
    }

    /// Runs `operation` with the journal as its log, and returns once it is
    /// acknowledged: at once with [`Durability::Buffered`], once durable with
    /// [`Durability::Synchronous`]. A failed journal refuses the operation
    /// before it starts.
    pub(super) fn run<T, E: From<JournalFailed>>(
        &self,
        operation: impl FnOnce(Log<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run_with(self.durability, operation)
    }

    /// Out of line: [`durably!`]'s in-memory branch stays small enough to
    /// inline into its callers.
    #[inline(never)]
    fn run_with<T, E: From<JournalFailed>>(
        &self,
        durability: Durability,
        operation: impl FnOnce(Log<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        if let Some(failed) = self.journal.failure() {
            return Err(failed.into());
        }
        let result = operation(Log::to(&self.journal));
        if durability == Durability::Synchronous {
            self.journal.sync()?;
        }
        result
    }
}

/// `durably!(ledger, |log| body)`: runs `body` with `log` bound to the
/// ledger's log and returns once it is acknowledged ([`Durable::run`]).
/// A macro rather than a function taking a closure: the in-memory branch is
/// then code monomorphized for [`crate::journal::NoLog`], and builds no closure (measured:
/// the closure's setup cost a debit by handle 9 of its 37 instructions).
macro_rules! durably {
    ($ledger:expr, |$log:ident| $body:expr) => {
        match $ledger.durable() {
            None => {
                let $log = $crate::journal::NoLog;
                $body
            }
            Some(durable) => durable.run(move |$log| $body),
        }
    };
}
pub(super) use durably;

mod checkpoint;
mod stream;
pub use checkpoint::Checkpoint;

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod crash_model;

#[cfg(all(test, atomic_ledger_loom))]
mod loom_tests;
