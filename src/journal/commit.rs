//! Group commit: the flusher thread that writes the ring's records in
//! position order and syncs them, and the ways to wait for that.
//!
//! # Implementation details
//!
//! * **One flusher thread** per journal owns the [`Storage`]. A round copies
//!   every record handed out so far from the ring (waiting only for steps
//!   still between their position and their record), appends them in one
//!   write, syncs once, and then publishes `durable`: every position below
//!   it is on stable storage. Callers that wait meanwhile share the next
//!   round's sync: that is group commit. A dedicated thread, rather than a
//!   leader elected among waiters, lets an async task wait without blocking
//!   its executor's thread on `fdatasync`.
//! * **Waking the flusher.** It sleeps while nobody waits. A waiter raises
//!   `requested` under the `control` lock and notifies `work` if the flusher
//!   is idle; the flusher checks `requested` under the same lock before it
//!   sleeps, so no request is lost. Writers that do not wait (buffered
//!   durability) never touch the lock: the flusher then wakes every
//!   `flush_interval` to write what is pending.
//! * **Publishing progress.** The flusher stores `durable` (or `consumed`,
//!   in the ring) *before* taking the lock to notify `progress`; a waiter
//!   checks under the lock before it sleeps, so it either sees the new value
//!   or is asleep when the notification comes.
//! * **Failure is final.** The first error from the store is latched in
//!   `failure`, `failed` is set, every waiter and ticket is woken with
//!   [`JournalFailed`], and the flusher exits. Nothing is retried: a retry
//!   after a failed `fdatasync` can report success for data the kernel has
//!   already dropped. Records handed out after that are never written.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use super::entry::Entry;
use super::format::encode_record;
use super::ring::{Ring, HOLE_KIND};
use super::storage::Storage;
use crate::sync::{AtomicBool, AtomicU64, Condvar, JoinHandle, Mutex, MutexGuard, Ordering, Thread};
use crate::{JournalAction, JournalFailed};

/// How much a round copies at most: a bound on the flusher's buffer.
const ROUND_BYTES_MAX: usize = 4 << 20;
/// The longest a round waits for the callers the previous one woke.
#[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
const LINGER_MAX: Duration = Duration::from_millis(1);
/// The checkers have no clock, and lingering ends on a timeout: under them
/// a round never lingers (it only ever delays a round, so the models lose
/// no interleaving that matters to safety).
#[cfg(any(atomic_ledger_loom, atomic_ledger_shuttle))]
const LINGER_MAX: Duration = Duration::ZERO;

/// What waiters and the flusher agree on under the lock.
#[derive(Debug, Default)]
struct Control {
    /// Someone waits for every position below this to be durable (or, for
    /// a ring slot, consumed).
    requested: u64,
    flusher_idle: bool,
    stopping: bool,
    failure: Option<JournalFailed>,
    /// The failure's full message (path and OS error).
    failure_detail: Option<String>,
    /// Tickets waiting: (positions below this durable, waker).
    wakers: Vec<(u64, Waker)>,
    /// Each thread parked in [`Journal::wait_durable`]: the end it waits
    /// for, and the thread. [`Shared::announce`] takes out and unparks the
    /// ones it satisfies; [`Shared::fail`] all of them.
    waiters: Vec<(u64, Thread)>,
    /// Readers of the journal parked in [`Watch::wait_beyond`]: woken, all
    /// of them, by every announcement, the failure and the close (kept
    /// apart from `waiters`, which the flusher counts to pace its rounds).
    watchers: Vec<Thread>,
    /// The journal was dropped and its flusher has stopped: `durable` is final.
    closed: bool,
}

#[derive(Debug)]
struct Shared {
    ring: Ring,
    durable: CachePadded<AtomicU64>,
    /// `failure.is_some()`, readable without the lock.
    failed: AtomicBool,
    control: Mutex<Control>,
    /// The flusher sleeps here.
    work: Condvar,
    /// Waiters for durability or ring room sleep here.
    progress: Condvar,
    /// Buffered durability: write pending records at least this often.
    flush_interval: Option<Duration>,
    /// Counted by the flusher alone, read by [`Journal::stats`] (Relaxed:
    /// figures for a report, ordered with nothing).
    syncs: AtomicU64,
    bytes_written: AtomicU64,
    sync_nanos: AtomicU64,
}

/// What a durable ledger's journal has done since it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct JournalStats {
    /// Syncs (`fdatasync`) made: each made every record before it durable,
    /// for every caller waiting on one of them (group commit).
    pub syncs: u64,
    /// Bytes written to the journal's segments (records with their frames).
    pub bytes_written: u64,
    /// Time spent in those syncs, in all.
    pub sync_time: Duration,
    /// Every position below this is durable.
    pub durable_position: u64,
}

/// The journal's write path: positions, records, group commit.
#[derive(Debug)]
pub(crate) struct Journal {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

/// A position taken by a step; filled with its record by [`Self::fill`], or
/// with a hole when dropped unfilled (the step's CAS failed).
#[must_use = "a position must be filled: drop it only when the step changed nothing"]
#[derive(Debug)]
pub(crate) struct Reservation<'a> {
    journal: &'a Journal,
    position: u64,
    filled: bool,
}

impl Reservation<'_> {
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// Writes the step's record (kind ≠ 0).
    pub(crate) fn fill(mut self, kind: u8, payload: &[u8]) {
        assert_ne!(kind, HOLE_KIND, "kind 0 is the hole");
        self.filled = true;
        self.journal.write(self.position, kind, payload);
    }

    /// Writes the step's entry.
    #[inline]
    pub(crate) fn fill_entry(self, entry: &Entry) {
        let (kind, payload) = entry.encode();
        self.fill(kind, payload.as_ref());
    }
}

/// Where a step writes its record. Two implementations: [`NoLog`] for an
/// in-memory ledger, a zero-sized type whose every method is a no-op, so
/// that the in-memory code, monomorphized for it, is the code before the
/// journal existed; and [`Log`] for a durable one.
pub(crate) trait Logging: Copy {
    /// Whether steps are journaled: they then serialize their writes to
    /// each word with a claim (see [`Claim`]), which the in-memory ledger
    /// never takes.
    fn journaled(self) -> bool;
    /// A position for a step about to publish a change that `changes`:
    /// none without a journal, and none for a CAS that writes the word it
    /// read (it publishes nothing another step could observe). The caller
    /// passes it to [`Self::fill`] or [`Self::hole`] on every path; nothing
    /// between may panic (a position left unfilled stalls the flusher).
    fn take_position(self, changes: bool) -> Option<u64>;
    /// Fills `position` with `entry()` (a hole if `None`); `entry` is only
    /// called when there is a position, so the in-memory path builds none.
    fn fill(self, position: Option<u64>, entry: impl FnOnce() -> Option<Entry>);
    /// Fills `position` with a hole: the step's CAS failed.
    fn hole(self, position: Option<u64>);
    /// Records a step that changes no atomic word but must be remembered (a
    /// recorded rejection, a batch's declaration, an account opened): its
    /// position is taken after the loads that decided it, under the lock
    /// that orders it.
    fn record(self, entry: impl FnOnce() -> Entry);
}

/// A word's write claim, for journaled steps only.
///
/// A CAS can succeed on a word that was changed and changed back since it
/// was loaded (ABA). Its step then took its position before the steps that
/// wrote those values, though its CAS depends on them: a crash prefix could
/// hold it without them (`loom_a_cas_that_succeeds_on_a_rewritten_word_*`
/// finds one, a debit durable before the credit it spent). So a journaled
/// step holds its word's claim from its load to its CAS: no other
/// deciding step can write the word in between, the position it takes is
/// after every position of the writes it depends on, and positions follow
/// each word's modification order. Unconditional RMWs (a transfer's
/// `in_flight` decrement, a snapshot's bit flip) need no claim: they make
/// the claimed CAS fail and retry, and commute with every decision.
///
/// A claim is held for one load, one decision, one `fetch_add` and one
/// CAS. It is a mutex (parking_lot's: one CAS to take, one to release, and
/// it parks rather than spins when held). Reads never take it. This is the
/// one place durable mode is not lock-free: writers to one account wait for
/// each other's claims (a preempted holder stalls them).
#[derive(Debug)]
pub(crate) struct Claim(crate::sync::Mutex<()>);

/// A held [`Claim`], released when dropped.
pub(crate) type Claimed<'a> = crate::sync::MutexGuard<'a, ()>;

impl Claim {
    pub(crate) fn new() -> Self {
        Self(crate::sync::Mutex::new(()))
    }

    /// Takes the claim, waiting while another step holds it. The mutex's
    /// acquire and release order the previous holder's position and CAS
    /// before ours.
    pub(crate) fn take(&self) -> Claimed<'_> {
        self.0.lock()
    }
}

/// No journal: steps record nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoLog;

impl Logging for NoLog {
    #[inline(always)]
    fn journaled(self) -> bool {
        false
    }

    #[inline(always)]
    fn take_position(self, _changes: bool) -> Option<u64> {
        None
    }

    #[inline(always)]
    fn fill(self, _position: Option<u64>, _entry: impl FnOnce() -> Option<Entry>) {}

    #[inline(always)]
    fn hole(self, _position: Option<u64>) {}

    #[inline(always)]
    fn record(self, _entry: impl FnOnce() -> Entry) {}
}

/// A journal chosen at run time, for the paths too slow for the choice to
/// matter (credentials, buckets): `None` records nothing.
impl Logging for Option<Log<'_>> {
    #[inline]
    fn journaled(self) -> bool {
        self.is_some()
    }

    #[inline]
    fn take_position(self, changes: bool) -> Option<u64> {
        self.and_then(|log| log.take_position(changes))
    }

    #[inline]
    fn fill(self, position: Option<u64>, entry: impl FnOnce() -> Option<Entry>) {
        if let Some(log) = self {
            log.fill(position, entry);
        }
    }

    #[inline]
    fn hole(self, position: Option<u64>) {
        self.fill(position, || None);
    }

    #[inline]
    fn record(self, entry: impl FnOnce() -> Entry) {
        if let Some(log) = self {
            log.record(entry);
        }
    }
}

/// A durable ledger's journal, as steps write to it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Log<'a>(&'a Journal);

impl<'a> Log<'a> {
    pub(crate) fn to(journal: &'a Journal) -> Self {
        Log(journal)
    }
}

impl Logging for Log<'_> {
    #[inline]
    fn journaled(self) -> bool {
        true
    }

    #[inline]
    fn take_position(self, changes: bool) -> Option<u64> {
        changes.then(|| self.0.shared.ring.reserve())
    }

    #[inline]
    fn fill(self, position: Option<u64>, entry: impl FnOnce() -> Option<Entry>) {
        if let Some(position) = position {
            let reservation = Reservation { journal: self.0, position, filled: false };
            match entry() {
                Some(entry) => reservation.fill_entry(&entry),
                None => drop(reservation), // a hole
            }
        }
    }

    #[inline]
    fn hole(self, position: Option<u64>) {
        self.fill(position, || None);
    }

    #[inline]
    fn record(self, entry: impl FnOnce() -> Entry) {
        self.0.reserve().fill_entry(&entry());
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.filled {
            self.journal.write(self.position, HOLE_KIND, &[]);
        }
    }
}

impl Journal {
    /// Starts the flusher over `storage`; the first record will have
    /// `first_position`. `flush_interval`: `None` writes only when someone
    /// waits; `Some` also writes pending records that often.
    pub(crate) fn start(
        storage: impl Storage,
        first_position: u64,
        ring_capacity: usize,
        flush_interval: Option<Duration>,
    ) -> Self {
        let shared = Arc::new(Shared {
            ring: Ring::new(ring_capacity, first_position),
            durable: CachePadded::new(AtomicU64::new(first_position)),
            failed: AtomicBool::new(false),
            control: Mutex::new(Control { requested: first_position, ..Control::default() }),
            work: Condvar::new(),
            progress: Condvar::new(),
            flush_interval,
            syncs: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            sync_nanos: AtomicU64::new(0),
        });
        let flusher = {
            let shared = Arc::clone(&shared);
            crate::sync::spawn(move || Flusher::new(shared, storage, first_position).run())
        };
        Self { shared, flusher: Some(flusher) }
    }

    /// Positions and the ring without a flusher, for the loom models of the
    /// ordering rule on the whole ledger (the flusher has models of its
    /// own): nothing is written; [`Self::drain`] reads the ring instead. No
    /// one may wait for durability on it.
    #[cfg(all(test, atomic_ledger_loom))]
    pub(crate) fn detached(ring_capacity: usize) -> Self {
        let shared = Arc::new(Shared {
            ring: Ring::new(ring_capacity, 0),
            durable: CachePadded::new(AtomicU64::new(0)),
            failed: AtomicBool::new(false),
            control: Mutex::new(Control::default()),
            work: Condvar::new(),
            progress: Condvar::new(),
            flush_interval: None,
            syncs: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            sync_nanos: AtomicU64::new(0),
        });
        Self { shared, flusher: None }
    }

    /// Every entry of a [`Self::detached`] journal, in position order,
    /// holes left out. Every position handed out must be filled.
    #[cfg(all(test, atomic_ledger_loom))]
    pub(crate) fn drain(&self) -> Vec<(u64, Entry)> {
        let ring = &self.shared.ring;
        let end = ring.handed_out();
        assert!(end <= ring.capacity(), "a detached ring never laps");
        let mut entries = Vec::new();
        let mut payload = Vec::new();
        for position in 0..end {
            payload.clear();
            let kind = ring.read(position, &mut payload).expect("every position is filled");
            if kind != HOLE_KIND {
                entries.push((position, Entry::decode(kind, &payload).expect("valid entries")));
            }
        }
        entries
    }

    /// Takes the next position for a step that is about to publish a change.
    #[inline]
    pub(crate) fn reserve(&self) -> Reservation<'_> {
        Reservation { journal: self, position: self.shared.ring.reserve(), filled: false }
    }

    /// Every position below this has been handed out.
    pub(crate) fn handed_out(&self) -> u64 {
        self.shared.ring.handed_out()
    }

    /// What the journal has done since it was opened.
    pub(crate) fn stats(&self) -> JournalStats {
        let shared = &*self.shared;
        JournalStats {
            syncs: shared.syncs.load(Ordering::Relaxed),
            bytes_written: shared.bytes_written.load(Ordering::Relaxed),
            sync_time: Duration::from_nanos(shared.sync_nanos.load(Ordering::Relaxed)),
            durable_position: shared.durable.load(Ordering::Acquire),
        }
    }

    /// Every position below this is durable.
    pub(crate) fn durable(&self) -> u64 {
        self.shared.durable.load(Ordering::Acquire)
    }

    /// The failure that stopped the journal, if any.
    #[inline]
    pub(crate) fn failure(&self) -> Option<JournalFailed> {
        // Acquire: pairs with `fail`'s Release; then the lock holds the value.
        if !self.shared.failed.load(Ordering::Acquire) {
            return None;
        }
        self.shared.control.lock().failure
    }

    /// The full message of the failure that stopped the journal.
    pub(crate) fn failure_detail(&self) -> Option<String> {
        self.shared.control.lock().failure_detail.clone()
    }

    fn write(&self, position: u64, kind: u8, payload: &[u8]) {
        let ring = &self.shared.ring;
        if !ring.has_room(position) && !self.wait_for_room(position) {
            return; // failed: nothing after the failure is written
        }
        ring.write(position, kind, payload);
    }

    /// Waits until `position`'s slot is free; `false` if the journal failed.
    #[cold]
    fn wait_for_room(&self, position: u64) -> bool {
        let shared = &*self.shared;
        let consumed_needed = position + 1 - shared.ring.capacity();
        let mut control = shared.control.lock();
        loop {
            if control.failure.is_some() {
                return false;
            }
            if shared.ring.has_room(position) {
                return true;
            }
            control = shared.request(control, consumed_needed);
        }
    }

    /// Blocks until every position below `end` is durable.
    ///
    /// The thread parks instead of waiting on a condvar: a condvar's waiters
    /// all take its mutex again on waking, one after another, and at 256
    /// callers that convoy cost more than the sync. A parked thread wakes
    /// (unparked by [`Shared::announce`]) and checks `durable` with no lock.
    /// It registers under the lock before parking, and an unpark that comes
    /// before the park is kept by the thread's token: no wake-up is lost.
    pub(crate) fn wait_durable(&self, end: u64) -> Result<(), JournalFailed> {
        let shared = &*self.shared;
        if shared.durable.load(Ordering::Acquire) >= end {
            return Ok(());
        }
        let mut control = shared.control.lock();
        // Registered once: `announce` takes the entry out only when `end` is
        // durable, so a spurious wake-up finds it still there.
        let mut registered = false;
        loop {
            if let Some(failure) = control.failure {
                return Err(failure);
            }
            if shared.durable.load(Ordering::Acquire) >= end {
                return Ok(());
            }
            if !registered {
                control.waiters.push((end, crate::sync::current()));
                shared.ask(&mut control, end);
                registered = true;
            }
            drop(control);
            crate::sync::park();
            // Acquire: pairs with the flusher's Release store of `durable`.
            if shared.durable.load(Ordering::Acquire) >= end {
                return Ok(());
            }
            control = shared.control.lock();
        }
    }

    /// Blocks until everything handed out so far is durable: the barrier.
    pub(crate) fn sync(&self) -> Result<(), JournalFailed> {
        self.wait_durable(self.handed_out())
    }

    /// A future that completes once everything handed out so far is durable.
    pub(crate) fn synced(&self) -> Synced<'_> {
        Synced { shared: &self.shared, end: self.handed_out() }
    }
}

impl Shared {
    /// Asks the flusher to make (or consume) every position below `end`,
    /// then sleeps until it makes progress.
    fn request<'a>(&self, mut control: MutexGuard<'a, Control>, end: u64) -> MutexGuard<'a, Control> {
        self.ask(&mut control, end);
        self.progress.wait(control)
    }

    fn ask(&self, control: &mut Control, end: u64) {
        control.requested = control.requested.max(end);
        if control.flusher_idle {
            self.work.notify_one();
        }
    }

    /// Latches the first failure and wakes everyone with it.
    fn fail(&self, failure: JournalFailed, detail: String) {
        let mut control = self.control.lock();
        control.failure.get_or_insert(failure);
        control.failure_detail.get_or_insert(detail);
        // Release: `Journal::failure` reads the latched value after this.
        self.failed.store(true, Ordering::Release);
        for (_, waker) in control.wakers.drain(..) {
            waker.wake();
        }
        let parked: Vec<(u64, Thread)> = control.waiters.drain(..).collect();
        let watchers = std::mem::take(&mut control.watchers);
        drop(control);
        for (_, thread) in parked {
            thread.unpark();
        }
        watchers.into_iter().for_each(|thread| thread.unpark());
        self.progress.notify_all();
    }

    /// Wakes the waiters and tickets that `durable` (or `consumed`) now
    /// satisfies; returns how many threads were parked waiting (before
    /// waking any).
    fn announce(&self, durable: u64) -> usize {
        let mut control = self.control.lock();
        let waiting = control.waiters.len();
        let mut index = 0;
        while index < control.wakers.len() {
            if control.wakers[index].0 <= durable {
                control.wakers.swap_remove(index).1.wake();
            } else {
                index += 1;
            }
        }
        let mut ready = Vec::new();
        let mut index = 0;
        while index < control.waiters.len() {
            if control.waiters[index].0 <= durable {
                ready.push(control.waiters.swap_remove(index).1);
            } else {
                index += 1;
            }
        }
        let watchers = std::mem::take(&mut control.watchers);
        drop(control);
        // Unparked outside the lock: the woken threads need not take it.
        for thread in ready.into_iter().chain(watchers) {
            thread.unpark();
        }
        self.progress.notify_all(); // ring room
        waiting
    }
}

impl Drop for Journal {
    /// Writes and syncs what is pending, then stops the flusher.
    fn drop(&mut self) {
        {
            let mut control = self.shared.control.lock();
            control.stopping = true;
            self.shared.work.notify_one();
        }
        if let Some(flusher) = self.flusher.take() {
            // A panic in the flusher is a bug; it has already been reported,
            // and the drop must not panic again.
            let _ = flusher.join();
        }
        self.shared.close();
    }
}

/// The flusher thread's state.
struct Flusher<S> {
    shared: Arc<Shared>,
    storage: S,
    /// Positions below this have been copied out of the ring (and, once the
    /// round's sync returns, are durable).
    consumed: u64,
    frames: Vec<u8>,
    payload: Vec<u8>,
    /// Threads waiting when the previous round's sync returned, and how
    /// long that sync took: what the next round lingers for (see
    /// `wait_for_work`).
    gathered: usize,
    last_sync: Duration,
}

impl<S: Storage> Flusher<S> {
    fn new(shared: Arc<Shared>, storage: S, first_position: u64) -> Self {
        Self {
            shared,
            storage,
            consumed: first_position,
            frames: Vec::new(),
            payload: Vec::new(),
            gathered: 0,
            last_sync: Duration::ZERO,
        }
    }

    fn run(mut self) {
        while self.wait_for_work() {
            if let Err((action, kind, detail)) = self.round() {
                let failure = JournalFailed { action, kind, position: self.durable() };
                self.shared.fail(failure, detail);
                return;
            }
        }
    }

    fn durable(&self) -> u64 {
        self.shared.durable.load(Ordering::Relaxed)
    }

    /// Sleeps until a round is due; `false` once stopping with nothing pending.
    ///
    /// **Lingering.** A round that callers wait on starts once as many
    /// threads wait as were waiting when the previous round's sync returned,
    /// or once that sync's duration (at most [`LINGER_MAX`]) has passed: the
    /// callers the last round woke get that long to come back with their
    /// next records and share this sync, instead of half of them missing it
    /// and waiting a whole round more. One caller alone never lingers.
    fn wait_for_work(&mut self) -> bool {
        let shared = Arc::clone(&self.shared);
        let mut control = shared.control.lock();
        let mut timed_wait = false;
        let mut linger_until: Option<std::time::Instant> = None;
        loop {
            let durable = self.durable();
            let pending = shared.ring.handed_out() > durable;
            if control.requested > durable && control.waiters.len() < self.gathered && !control.stopping {
                let now = std::time::Instant::now();
                let deadline = *linger_until.get_or_insert(now + self.last_sync.min(LINGER_MAX));
                if now < deadline {
                    control.flusher_idle = true;
                    control = shared.work.wait_timeout(control, deadline - now);
                    control.flusher_idle = false;
                    continue;
                }
            }
            if control.requested > durable || (pending && (control.stopping || timed_wait)) {
                return true;
            }
            if control.stopping || control.failure.is_some() {
                return false;
            }
            control.flusher_idle = true;
            control = match shared.flush_interval {
                Some(interval) if pending => {
                    timed_wait = true;
                    shared.work.wait_timeout(control, interval)
                }
                _ => shared.work.wait(control),
            };
            control.flusher_idle = false;
        }
    }

    /// Copies what has been handed out, writes it, syncs it, publishes it.
    fn round(&mut self) -> Result<(), (JournalAction, std::io::ErrorKind, String)> {
        let first = self.consumed;
        let end = self.shared.ring.handed_out();
        self.frames.clear();
        while self.consumed < end && self.frames.len() < ROUND_BYTES_MAX {
            self.copy_next();
        }
        if self.shared.ring.consumed() < self.consumed {
            self.shared.ring.publish_consumed(self.consumed);
            self.shared.announce(self.durable()); // ring room, for writers waiting on it
        }
        if !self.frames.is_empty() {
            let report =
                |error: super::storage::StorageError| (error.action, error.kind(), error.to_string());
            self.storage.append(first, &self.frames).map_err(report)?;
            let started = std::time::Instant::now();
            self.storage.sync().map_err(report)?;
            self.last_sync = started.elapsed();
            let nanos = u64::try_from(self.last_sync.as_nanos()).unwrap_or(u64::MAX);
            let shared = &self.shared;
            shared.syncs.fetch_add(1, Ordering::Relaxed);
            shared.bytes_written.fetch_add(self.frames.len() as u64, Ordering::Relaxed);
            shared.sync_nanos.fetch_add(nanos, Ordering::Relaxed);
        }
        // Release: a waiter that acquires `durable` may act on its records
        // being on disk (the sync above returned).
        self.shared.durable.store(self.consumed, Ordering::Release);
        // Every thread waiting now is a caller the next round can wait for.
        self.gathered = self.shared.announce(self.consumed);
        Ok(())
    }

    /// Copies the record at `consumed`, waiting for its step if it is still
    /// running (publishing what was copied, so that waiting writers move on).
    fn copy_next(&mut self) {
        loop {
            self.payload.clear();
            if let Some(kind) = self.shared.ring.read(self.consumed, &mut self.payload) {
                encode_record(self.consumed, kind, &self.payload, &mut self.frames);
                self.consumed += 1;
                return;
            }
            if self.shared.ring.consumed() < self.consumed {
                self.shared.ring.publish_consumed(self.consumed);
                self.shared.announce(self.durable());
            }
            crate::sync::yield_now();
        }
    }
}

/// A ticket that completes once every operation before it is durable
/// ([`std::future::Future`]; any executor, no runtime needed).
#[must_use = "a ticket does nothing unless awaited"]
#[derive(Debug)]
pub struct Synced<'a> {
    shared: &'a Shared,
    end: u64,
}

impl Future for Synced<'_> {
    type Output = Result<(), JournalFailed>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let shared = self.shared;
        if shared.durable.load(Ordering::Acquire) >= self.end {
            return Poll::Ready(Ok(()));
        }
        let mut control = shared.control.lock();
        if let Some(failure) = control.failure {
            return Poll::Ready(Err(failure));
        }
        // Checked again under the lock: the flusher wakes tickets under it,
        // after storing `durable`.
        if shared.durable.load(Ordering::Acquire) >= self.end {
            return Poll::Ready(Ok(()));
        }
        let waker = context.waker();
        if !control.wakers.iter().any(|(end, known)| *end == self.end && known.will_wake(waker)) {
            control.wakers.push((self.end, waker.clone()));
        }
        shared.ask(&mut control, self.end);
        Poll::Pending
    }
}

mod watch;
pub(crate) use watch::{Watch, Watched};

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;

#[cfg(all(test, atomic_ledger_loom))]
mod loom_tests;
