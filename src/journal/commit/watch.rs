//! Watching how far the journal is durable, for readers that follow it
//! (the change stream) and must neither keep the ledger open nor pace the
//! flusher.
//!
//! # Implementation details
//!
//! A watcher checks `durable`, the failure and `closed` under the `control`
//! lock and, if none lets it go on, registers its thread there before it
//! parks. Every change to them is published before the same lock is taken
//! to wake the watchers ([`Shared::announce`] after storing `durable`,
//! [`Shared::fail`] after latching the failure, [`Shared::close`] after
//! the flusher stopped): a watcher either sees the change or is registered
//! when the wake comes, and an unpark that comes before its park is kept by
//! the thread's token. Watchers do not ask the flusher for anything: they
//! never make it write sooner, and it does not count them.

use std::sync::Arc;

use super::{Control, Shared};
use crate::sync::Ordering;
use crate::JournalFailed;

/// How far a journal is durable, seen by a reader; it outlives the ledger
/// and tells the reader when the journal closed.
#[derive(Debug, Clone)]
pub(crate) struct Watch(Arc<Shared>);

/// What [`Watch::wait_beyond`] returned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Watched {
    /// `durable` may have moved (or the thread was unparked by someone
    /// else): look again.
    Look,
    /// The journal is closed: `durable` is final and was below the position.
    Closed,
    /// The journal failed, and nothing beyond the position is durable (nor
    /// ever will be).
    Failed(JournalFailed),
}

impl super::Journal {
    /// A watch on this journal's durable position.
    pub(crate) fn watch(&self) -> Watch {
        Watch(Arc::clone(&self.shared))
    }
}

impl Watch {
    /// Every position below this is durable.
    pub(crate) fn durable(&self) -> u64 {
        // Acquire: pairs with the flusher's Release store, after the sync
        // that made the records below it durable (and written: readable).
        self.0.durable.load(Ordering::Acquire)
    }

    /// Parks until the record at `position` is durable, the journal fails
    /// or closes, or the thread is unparked by someone else.
    pub(crate) fn wait_beyond(&self, position: u64) -> Watched {
        let shared = &*self.0;
        let mut control = shared.control.lock();
        if let Some(found) = look(shared, &control, position) {
            return found;
        }
        control.watchers.push(crate::sync::current());
        drop(control);
        crate::sync::park();
        Watched::Look
    }
}

/// What a watcher finds under the lock: `None` if it must wait.
///
/// Durable records first: a round can make records durable and the next
/// one fail before the watcher looks, and those records were acknowledged,
/// so they must be delivered before the failure. Then the failure, then
/// the close (`durable` is final by then).
#[cfg(not(feature = "_broken-watch-failure-first"))]
fn look(shared: &Shared, control: &Control, position: u64) -> Option<Watched> {
    if shared.durable.load(Ordering::Acquire) > position {
        return Some(Watched::Look);
    }
    if let Some(failure) = control.failure {
        return Some(Watched::Failed(failure));
    }
    control.closed.then_some(Watched::Closed)
}

/// Broken on purpose (`_broken-watch-failure-first`): the failure before
/// the durable position, which withholds records made durable by the round
/// before the failing one. `loom_a_watcher_sees_what_is_durable_before_the_failure`
/// must reject it.
#[cfg(feature = "_broken-watch-failure-first")]
fn look(shared: &Shared, control: &Control, position: u64) -> Option<Watched> {
    if let Some(failure) = control.failure {
        return Some(Watched::Failed(failure));
    }
    if shared.durable.load(Ordering::Acquire) > position {
        return Some(Watched::Look);
    }
    control.closed.then_some(Watched::Closed)
}

impl Shared {
    /// The journal is dropped and its flusher stopped: wakes the watchers,
    /// which find `closed`.
    pub(super) fn close(&self) {
        let mut control = self.control.lock();
        control.closed = true;
        let watchers = std::mem::take(&mut control.watchers);
        drop(control);
        watchers.into_iter().for_each(|thread| thread.unpark());
    }
}
