//! Checkpoints of a durable ledger: the state its journal's durable prefix
//! leaves, written to one file, so that recovery reads that file and only
//! the records after it; the segments it covers are then removed.
//!
//! # Implementation details
//!
//! **Why not a snapshot of the live ledger.** A checkpoint at position `P`
//! must hold exactly the effects of the records below `P`: recovery applies
//! the records from `P` on to it. The live state at any instant is not
//! that. Positions are taken before CASes, so an operation with a larger
//! position can be visible while one with a smaller position, on another
//! account, is not yet: a [`Ledger::snapshot`] can hold position 11's
//! effect without position 10's, and no `P` makes it a prefix. So the
//! checkpoint is the journal's own fold: the previous checkpoint, plus the
//! durable records after it, replayed exactly as recovery replays them
//! ([`crate::recovery`]). It is right by construction (recovery from it
//! and recovery from the whole journal are the same fold), and it never
//! touches the live ledger: writers do not stop, wait or slow down for it,
//! beyond sharing the disk.
//!
//! **The id tables** are kept as images of what they remember, not as
//! their history (which grows without bound): replay's decisions are put
//! into a scratch ledger built with the same limits, in the order the live
//! tables took them, and what its tables then hold, with their low-water
//! marks, is written ([`crate::recovery`]'s `image` module).
//!
//! **Cost.** Reading the records since the previous checkpoint, holding one
//! replayed state and one scratch ledger while it runs, and writing a file
//! the size of the state. One checkpoint runs at a time (a lock only
//! checkpoints take).

use super::{replay, JournalError, Ledger, LedgerBuilder};
use crate::journal::{Checkpoints, LoadedCheckpoint};
use crate::record_lanes::Record;
use crate::recovery::{Decided, Replayed, TableImages};
use crate::sync::Mutex;
use crate::TransferId;

/// What [`Ledger::checkpoint`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Checkpoint {
    /// The position it covers: every record below it. Recovery reads the
    /// journal from here.
    pub position: u64,
    /// Journal entries read since the previous checkpoint.
    pub entries_read: u64,
    /// The checkpoint file's size.
    pub bytes: u64,
    /// Segment files removed because the checkpoint covers them.
    pub segments_removed: usize,
}

/// A durable ledger's checkpoint writer: the files, and the limits a
/// scratch ledger is built with.
#[derive(Debug)]
pub(in crate::ledger) struct Checkpointer {
    files: Checkpoints,
    builder: LedgerBuilder,
    one_at_a_time: Mutex<()>,
}

impl Checkpointer {
    pub(in crate::ledger) fn new(files: Checkpoints, builder: LedgerBuilder) -> Self {
        Self { files, builder, one_at_a_time: Mutex::new(()) }
    }
}

/// Replay's state at `loaded`, decoded; a body that does not decode is
/// refused, naming the file.
pub(super) fn decode(loaded: &LoadedCheckpoint) -> Result<Replayed, JournalError> {
    Replayed::decode_checkpoint(loaded.position, loaded.body()).map_err(|error| JournalError::Undecodable {
        file: loaded.file.clone(),
        offset: 0,
        reason: error.reason,
    })
}

impl Ledger {
    /// Writes a checkpoint of everything durable so far, then removes the
    /// journal segments it covers: the next [`LedgerBuilder::open`] reads
    /// the checkpoint and only the journal after it. Writers are not
    /// stopped; the checkpoint holds exactly the journal's durable prefix
    /// (see the module docs for why that, and not a snapshot). Returns
    /// `None` on an in-memory ledger.
    ///
    /// A service calls it from a timer, or after so many operations, as it
    /// calls [`Ledger::expire_due`]: its cost is the journal since the last
    /// checkpoint plus one pass over the state.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger};
    ///
    /// let dir = tempfile::tempdir()?;
    /// {
    ///     let ledger = Ledger::builder().open(dir.path())?;
    ///     ledger.open_account(AccountId(1), AccountOptions::default())?;
    ///     ledger.credit(AccountId(1), 7)?;
    ///     let checkpoint = ledger.checkpoint()?.unwrap();
    ///     assert_eq!(checkpoint.position, 2); // it covers both records
    /// }
    /// let ledger = Ledger::builder().open(dir.path())?;
    /// assert_eq!(ledger.recovery().unwrap().checkpoint, Some(2));
    /// assert_eq!(ledger.balance(AccountId(1))?, 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, JournalError> {
        let Some(durable) = self.durable() else { return Ok(None) };
        let Some(checkpointer) = &durable.checkpoints else { return Ok(None) };
        let _one_at_a_time = checkpointer.one_at_a_time.lock();
        let until = durable.journal.durable();
        let mut replayed = match checkpointer.files.read_newest()? {
            Some(loaded) => decode(&loaded)?,
            None => Replayed::default(),
        };
        let from = replayed.base_position();
        checkpointer.files.read_records(from, until, |file, record| replay(&mut replayed, file, record))?;
        let scratch = checkpointer.builder.clone().build()?;
        scratch.restore(&replayed)?;
        let body = replayed.encode_checkpoint(&scratch.table_images());
        let (_, bytes, segments_removed) = checkpointer.files.write(until, &body)?;
        Ok(Some(Checkpoint { position: until, entries_read: replayed.entries, bytes, segments_removed }))
    }

    /// What the id tables remember, with account ids for slots.
    pub(super) fn table_images(&self) -> TableImages {
        let account = |slot| {
            self.directory
                .at(slot)
                .map_or_else(|| unreachable!("a record names an account slot"), |cell| cell.id())
        };
        let decided = |id: u128, record: Record| Decided {
            id: TransferId(id),
            from: account(record.from),
            to: account(record.to),
            amount: record.amount,
            link: record.link,
            outcome: record.outcome,
        };
        let mut images = TableImages::default();
        for (mark, records) in self.transfer_ids.image() {
            images.transfer_marks.push(mark);
            images.transfers.extend(records.into_iter().map(|(id, record)| decided(id, record)));
        }
        for (mark, holds) in self.holds.image() {
            images.hold_marks.push(mark);
            images.holds.extend(holds.iter().map(|record| self.hold_image(record)));
        }
        images.transfers.sort_unstable_by_key(|decided| decided.id);
        images.holds.sort_unstable_by_key(|(request, ..)| request.id);
        images
    }

    /// Puts a checkpoint's id-table images into the tables, before the
    /// decisions replayed after it.
    pub(super) fn restore_images(&self, images: &TableImages) -> Result<(), JournalError> {
        for decided in &images.transfers {
            let record = [(decided.id, self.record_of(decided))];
            self.transfer_ids
                .restore(&record)
                .map_err(|needed| JournalError::TooSmall { limit: "transfer_ids_max", needed })?;
        }
        self.transfer_ids.raise_low_water(&images.transfer_marks);
        for &hold in &images.holds {
            self.holds
                .restore_created(self.hold_record(hold))
                .map_err(|()| JournalError::TooSmall { limit: "holds_max", needed: images.holds.len() })?;
        }
        self.holds.raise_low_water(&images.hold_marks);
        Ok(())
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
