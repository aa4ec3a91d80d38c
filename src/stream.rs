//! The change stream: a subscription's reader thread, which follows the
//! journal's durable records and delivers them as [`Event`]s.
//!
//! # Implementation details
//!
//! Each [`Subscription`] has one reader thread. It reads the segment files
//! ([`crate::journal::Tail`]) up to the journal's durable position, sends
//! each event into a bounded `crossbeam-channel`, and, once it has read
//! everything durable, parks on the journal's [`crate::journal::Watch`]
//! until the durable position moves. Writers never wait for it: the flusher
//! only unparks watchers after each round, and a subscriber that falls
//! behind blocks only its own reader on the full channel, then catches up
//! from the files (the page cache, for recent records). The reader holds
//! the journal's shared state, never the ledger: dropping the ledger closes
//! the journal, and the reader ends the stream once it has delivered every
//! durable record.
//!
//! Async consumers poll the same channel; the reader wakes the registered
//! waker after each send ([`atomic_waker::AtomicWaker`]).

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use atomic_waker::AtomicWaker;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::event::{Change, Event};
use crate::journal::{JournalError, Tail, TailError, Watch, Watched};
use crate::sync::{AtomicBool, AtomicU64, Ordering};
use crate::JournalFailed;

/// Events a reader may have sent and the consumer not yet taken.
const CHANNEL_EVENTS: usize = 4_096;
/// Records the reader takes from the files between sends.
const READ_RECORDS: usize = 1_024;

/// Where a subscription starts.
///
/// ```
/// use atomic_ledger::Since;
///
/// let resume_after = 41;
/// assert_eq!(Since::Position(resume_after + 1), Since::Position(42));
/// assert_ne!(Since::End, Since::Position(0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Since {
    /// The first event at or after this position (`0`: the journal's
    /// beginning, if no checkpoint has removed it).
    Position(u64),
    /// From the next position handed out: the events of operations that
    /// begin after the call, and the outcomes of those in flight (a
    /// `TransferApplied` whose debit came before, or the rest of a linked
    /// batch whose first steps came before: a consumer summing movements
    /// from here can see a batch credit without its debit).
    End,
}

/// Why a subscription cannot start, or stopped.
///
/// ```
/// use atomic_ledger::{Ledger, Since, SubscribeError};
///
/// let in_memory = Ledger::builder().accounts_max(8).build()?;
/// assert!(matches!(in_memory.subscribe(Since::End), Err(SubscribeError::NotDurable)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubscribeError {
    /// The ledger has no journal ([`crate::LedgerBuilder::build`]): only a
    /// durable ledger has a change stream.
    #[error("the ledger is in memory: only a durable ledger has a change stream")]
    NotDurable,
    /// The position is past the journal's end.
    #[error("position {requested} is past the journal's end, {end}")]
    Beyond {
        /// The position asked for.
        requested: u64,
        /// The position the next record takes.
        end: u64,
    },
    /// The records from `requested` on were folded into the checkpoint at
    /// `checkpoint` and their segment removed: the stream never skips them
    /// silently, and cannot give them back (their effects are in the
    /// ledger's state). It can go on from `resume_from`, the oldest position
    /// the journal keeps. A consumer that must see every event stores its
    /// position and keeps up, and a checkpoint (which folds the whole
    /// durable prefix) is taken only once every such consumer has read past
    /// it (as a message log's retention is set by its slowest reader).
    #[error(
        "position {requested} was folded into a checkpoint; the journal keeps positions from {resume_from}"
    )]
    Compacted {
        /// The position the stream needed.
        requested: u64,
        /// The oldest position the journal keeps.
        resume_from: u64,
        /// The position of the newest checkpoint.
        checkpoint: Option<u64>,
    },
    /// The journal failed: nothing after the events delivered is durable.
    #[error(transparent)]
    Failed(#[from] JournalFailed),
    /// A segment could not be read, or a durable record does not verify.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The stream ended: the ledger was dropped and every durable event
    /// delivered ([`Subscription::next_timeout`] only; the iterator and the
    /// stream end with `None`).
    #[error("the stream ended: the ledger was closed")]
    Ended,
}

impl From<TailError> for SubscribeError {
    fn from(error: TailError) -> Self {
        match error {
            TailError::Compacted { requested, oldest_kept, checkpoint } => {
                SubscribeError::Compacted { requested, resume_from: oldest_kept, checkpoint }
            }
            TailError::Journal(error) => SubscribeError::Journal(error),
        }
    }
}

/// What the consumer and its reader share.
#[derive(Debug, Default)]
struct Link {
    /// Set when the subscription is dropped.
    cancelled: AtomicBool,
    /// The async consumer's waker.
    waker: AtomicWaker,
    /// The reader has read every record below this and sent its events.
    read_below: AtomicU64,
}

/// The committed events of a durable ledger, in position order, from
/// [`crate::Ledger::subscribe`]: a blocking [`Iterator`] for threads and a
/// [`futures_core::Stream`] for async tasks ([`Self::into_stream`]). It ends (`None`) once the
/// ledger is dropped and every durable event was delivered; an error
/// ([`SubscribeError`]) is its last item.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Change, Ledger, Since};
///
/// let dir = tempfile::tempdir()?;
/// let ledger = Ledger::builder().accounts_max(8).open(dir.path())?;
/// let events = ledger.subscribe(Since::End)?;
/// ledger.open_account(AccountId(1), AccountOptions::default())?;
/// ledger.credit(AccountId(1), 3)?;
/// drop(ledger); // the stream ends after the last durable event
/// let changes: Vec<Change> = events.map(|event| event.map(|event| event.change)).collect::<Result<_, _>>()?;
/// assert_eq!(changes.len(), 2);
/// assert_eq!(changes[1], Change::Credited { account: AccountId(1), amount: 3 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Subscription {
    events: Receiver<Result<Event, SubscribeError>>,
    link: Arc<Link>,
    reader: std::thread::Thread,
}

impl Subscription {
    /// Starts a reader of journal `dir` from position `from`.
    pub(crate) fn start(dir: &Path, from: u64, watch: Watch) -> Result<Self, SubscribeError> {
        let tail = Tail::new(dir, from, watch.durable())?;
        let (sender, events) = crossbeam_channel::bounded(CHANNEL_EVENTS);
        let link = Arc::new(Link { read_below: AtomicU64::new(from), ..Link::default() });
        let reader = {
            let link = Arc::clone(&link);
            std::thread::Builder::new()
                .name("atomic-ledger-subscription".into())
                .spawn(move || Reader { tail, watch, sender, link }.run())
                .map_err(|source| JournalError::Io { path: dir.to_owned(), source })?
        };
        Ok(Self { events, link, reader: reader.thread().clone() })
    }

    /// The next event, waiting at most `timeout` for one: `Ok(None)` if none
    /// came in time; [`SubscribeError::Ended`] once the stream has ended.
    ///
    /// ```
    /// use std::time::Duration;
    /// use atomic_ledger::{Ledger, Since, SubscribeError};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().accounts_max(8).open(dir.path())?;
    /// let mut events = ledger.subscribe(Since::End)?;
    /// assert!(events.next_timeout(Duration::from_millis(1))?.is_none(), "nothing happened");
    /// drop(ledger);
    /// assert!(matches!(events.next_timeout(Duration::from_secs(60)), Err(SubscribeError::Ended)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Event>, SubscribeError> {
        match self.events.recv_timeout(timeout) {
            Ok(item) => item.map(Some),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(SubscribeError::Ended),
        }
    }
}

impl Subscription {
    /// `Some(p)` when this subscription has returned every event below
    /// position `p` (and has none waiting): a consumer that applied each
    /// event it took is up to date with the journal up to `p`, bookkeeping
    /// records that are not events included. `None` while events wait.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger, Since};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().accounts_max(8).open(dir.path())?;
    /// let mut events = ledger.subscribe(Since::Position(0))?;
    /// assert_eq!(events.caught_up(), Some(0), "nothing to read yet");
    /// ledger.open_account(AccountId(1), AccountOptions::default())?;
    /// let opened = events.next().unwrap()?;
    /// // Once the reader has moved past it, the consumer is caught up beyond it:
    /// while events.caught_up().is_none_or(|below| below <= opened.position) {
    ///     std::thread::yield_now();
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn caught_up(&self) -> Option<u64> {
        // Acquire: pairs with the reader's Release store, made after it sent
        // every event below the value; if the channel is then empty, each
        // of those events was taken.
        let below = self.link.read_below.load(Ordering::Acquire);
        self.events.is_empty().then_some(below)
    }
}

impl Iterator for Subscription {
    type Item = Result<Event, SubscribeError>;

    /// Blocks until the next event is durable, or the stream ends.
    fn next(&mut self) -> Option<Self::Item> {
        self.events.recv().ok()
    }
}

/// A [`Subscription`] as a [`futures_core::Stream`], for async tasks
/// ([`Subscription::into_stream`]): it never blocks the executor's thread.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, Since};
/// use futures::StreamExt;
///
/// let dir = tempfile::tempdir()?;
/// let ledger = Ledger::builder().accounts_max(8).open(dir.path())?;
/// let mut events = ledger.subscribe(Since::End)?.into_stream();
/// ledger.open_account(AccountId(1), AccountOptions::default())?;
/// let event = futures::executor::block_on(events.next()).unwrap()?;
/// assert_eq!(event.change.accounts().collect::<Vec<_>>(), [AccountId(1)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct EventStream(Subscription);

impl Subscription {
    /// This subscription as a [`futures_core::Stream`] of the same events.
    ///
    /// ```
    /// use atomic_ledger::{Ledger, Since};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().accounts_max(8).open(dir.path())?;
    /// let stream = ledger.subscribe(Since::End)?.into_stream();
    /// drop(ledger);
    /// assert!(futures::executor::block_on(futures::StreamExt::next(&mut { stream })).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_stream(self) -> EventStream {
        EventStream(self)
    }
}

impl EventStream {
    /// The subscription underneath (for [`Subscription::caught_up`]).
    ///
    /// ```
    /// use atomic_ledger::{Ledger, Since};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let ledger = Ledger::builder().accounts_max(8).open(dir.path())?;
    /// let stream = ledger.subscribe(Since::Position(0))?.into_stream();
    /// assert_eq!(stream.subscription().caught_up(), Some(0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscription(&self) -> &Subscription {
        &self.0
    }
}

impl futures_core::Stream for EventStream {
    type Item = Result<Event, SubscribeError>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let subscription = &self.0;
        let try_take = |events: &Receiver<_>| match events.try_recv() {
            Ok(item) => Some(Poll::Ready(Some(item))),
            Err(TryRecvError::Disconnected) => Some(Poll::Ready(None)),
            Err(TryRecvError::Empty) => None,
        };
        if let Some(ready) = try_take(&subscription.events) {
            return ready;
        }
        // Registered, then checked again: a send between the first check
        // and the registration wakes the new waker or is seen here.
        subscription.link.waker.register(context.waker());
        try_take(&subscription.events).unwrap_or(Poll::Pending)
    }
}

impl Drop for Subscription {
    /// Stops the reader: it sees `cancelled` when it wakes, or a closed
    /// channel when it sends.
    fn drop(&mut self) {
        // Release: the reader's Acquire load after its unpark sees it.
        self.link.cancelled.store(true, Ordering::Release);
        self.reader.unpark();
    }
}

/// The reader thread.
struct Reader {
    tail: Tail,
    watch: Watch,
    sender: Sender<Result<Event, SubscribeError>>,
    link: Arc<Link>,
}

impl Reader {
    fn run(mut self) {
        if let Err(error) = self.follow() {
            let _ = self.sender.send(Err(error)); // the consumer may be gone too
        }
        drop(self.sender);
        self.link.waker.wake(); // the stream's end
    }

    /// Delivers every durable event until the journal closes or the
    /// consumer leaves (`Ok`), or the journal fails (`Err`).
    fn follow(&mut self) -> Result<(), SubscribeError> {
        let mut read = Vec::with_capacity(READ_RECORDS);
        loop {
            // Acquire: pairs with the Release store in `Subscription::drop`.
            if self.link.cancelled.load(Ordering::Acquire) {
                return Ok(());
            }
            let durable = self.watch.durable();
            if self.tail.position() < durable {
                // What was read before an error is delivered before it.
                let outcome = self.tail.read(durable, READ_RECORDS, &mut read);
                for (position, entry) in read.drain(..) {
                    let Some(change) = Change::of(entry) else { continue };
                    if self.sender.send(Ok(Event { position, change })).is_err() {
                        return Ok(()); // the consumer left
                    }
                    self.link.waker.wake();
                }
                outcome?;
                // Release: every send above happens before a consumer's
                // Acquire load that reads this value (`caught_up`).
                self.link.read_below.store(self.tail.position(), Ordering::Release);
                continue;
            }
            match self.watch.wait_beyond(self.tail.position()) {
                Watched::Look => {}
                Watched::Closed => return Ok(()),
                Watched::Failed(failure) => return Err(failure.into()),
            }
        }
    }
}
