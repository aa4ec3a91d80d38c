//! [`Ledger::subscribe`]: the change stream of a durable ledger (the
//! reader is [`crate::stream`], the events [`crate::event`]).

use crate::ledger::Ledger;
use crate::stream::{Since, SubscribeError, Subscription};

impl Ledger {
    /// The committed (durable) changes, in log order, from `since`: every
    /// account opened, credited, debited, frozen or closed, every transfer
    /// applied or rejected, every linked batch's steps, every hold placed,
    /// posted, voided or expired, every credential issued, revoked or
    /// downgraded ([`crate::Change`]).
    ///
    /// Each [`crate::Event`] carries its position: a consumer that stores
    /// `position + 1` with its own state and subscribes from there after a
    /// restart (its own or the ledger's) sees every event exactly once.
    /// The stream reads the journal's files on a thread of its own: a
    /// consumer that falls behind never slows writers, and catches up from
    /// the files. It never skips: a position whose segment a
    /// [`Self::checkpoint`] removed is [`SubscribeError::Compacted`], with
    /// the oldest position kept. Events arrive once durable: with
    /// [`crate::Durability::Buffered`], within
    /// [`crate::BUFFERED_FLUSH_INTERVAL`] or at the next [`Self::sync`].
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Change, Ledger, Since, Transfer, TransferId};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().accounts_max(8).open(dir.path())?;
    /// for id in [AccountId(1), AccountId(2)] {
    ///     ledger.open_account(id, AccountOptions::default())?;
    /// }
    /// ledger.credit(AccountId(1), 10)?;
    /// let mut events = ledger.subscribe(Since::End)?;
    /// ledger.transfer(Transfer { id: TransferId(7), from: AccountId(1), to: AccountId(2), amount: 4 })?;
    /// let event = events.next().unwrap()?;
    /// assert_eq!(
    ///     event.change,
    ///     Change::TransferApplied { id: TransferId(7), from: AccountId(1), to: AccountId(2), amount: 4 }
    /// );
    /// // A consumer that stored `event.position + 1` resumes after it.
    /// let mut resumed = ledger.subscribe(Since::Position(event.position + 1))?;
    /// ledger.credit(AccountId(2), 1)?;
    /// assert_eq!(resumed.next().unwrap()?.change, Change::Credited { account: AccountId(2), amount: 1 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribe(&self, since: Since) -> Result<Subscription, SubscribeError> {
        let durable = self.durable().ok_or(SubscribeError::NotDurable)?;
        let dir = durable.dir.as_deref().ok_or(SubscribeError::NotDurable)?;
        let end = durable.journal.handed_out();
        let from = match since {
            Since::Position(requested) if requested > end => {
                return Err(SubscribeError::Beyond { requested, end });
            }
            Since::Position(requested) => requested,
            Since::End => end,
        };
        Subscription::start(dir, from, durable.journal.watch())
    }
}
