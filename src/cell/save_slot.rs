//! The save slot: how an account keeps its value for a running snapshot
//! while operations go on changing it (the protocol is in
//! [`crate::snapshot`]; the slot's fields are the cell's).

use super::{snap_bit, AccountCell, State, SAVE_BUSY, SAVE_DONE, SAVE_SEALED, SAVE_STATE_MASK, SNAP_BIT};
use crate::sync::Ordering;

/// What a snapshot reads of one account: its state and held total at the
/// snapshot's linearization point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Captured {
    pub(crate) state: State,
    pub(crate) held: u64,
}

impl AccountCell {
    /// Before an operation acts on `word` in the current epoch: if a snapshot
    /// has begun and not yet collected this account, make sure the account's
    /// value at the snapshot is saved. The hot path is one load of the epoch
    /// (a line every core keeps shared) and a bit comparison.
    ///
    /// The epoch is loaded *after* the word: a word the snapshot has already
    /// collected (bit flipped) was flipped after the epoch advanced, and the
    /// word's Acquire load synchronises with that flip, so the epoch read here
    /// is at least the snapshot's.
    #[cfg(not(feature = "_broken-snapshot-without-capture"))]
    #[inline]
    pub(super) fn save_if_due(&self, current: u64, word: u64) {
        if word & SNAP_BIT != snap_bit(current) {
            self.save(current);
        }
    }

    /// Saves this account's value for the snapshot of `epoch`, unless someone
    /// already did, is doing so, or the snapshot has collected the account.
    /// Called with `epoch` loaded, and the account not collected for it.
    ///
    /// The value saved is read after `epoch` was loaded and before the claim.
    /// An operation of this epoch changes the word only after a claim (its own
    /// or another's) or after the snapshot's flip, so that value precedes every
    /// change linearized after the snapshot. The changes it may miss are CASes
    /// of operations that loaded an older epoch: they began before the snapshot
    /// and are linearized after it. At most one claim per account per epoch
    /// succeeds, so this returns after a bounded number of steps.
    #[cold]
    #[inline(never)]
    #[cfg_attr(feature = "_broken-snapshot-without-capture", allow(dead_code))]
    fn save(&self, epoch: u64) {
        loop {
            let saved = self.saved.load(Ordering::Acquire);
            if saved >> 2 >= epoch {
                return;
            }
            let word = self.word.load(Ordering::Acquire);
            if word & SNAP_BIT == snap_bit(epoch) {
                return; // Collected: the snapshot has this account's value.
            }
            // Read before the claim: an operation of this epoch changes `held`
            // only after a claim or the flip, and those of older epochs finished
            // before the epoch advanced (they hold a lock that advancing takes).
            let held = self.held.load(Ordering::Relaxed);
            let claim = epoch << 2 | SAVE_BUSY;
            if self.saved.compare_exchange(saved, claim, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                self.saved_word.store(word, Ordering::Relaxed);
                self.saved_held.store(held, Ordering::Relaxed);
                // Release: publishes the two stores to the snapshot that acquires DONE.
                self.saved.store(epoch << 2 | SAVE_DONE, Ordering::Release);
                return;
            }
        }
    }

    /// The snapshot's read of this account for `epoch`: its value when the
    /// epoch began, or `None` if the account was opened after that.
    ///
    /// 1. Flip the snapshot bit with `fetch_xor`, which cannot fail however hot
    ///    the account is: from here on, operations of this epoch see the account
    ///    collected and no longer save, and a CAS prepared on the old word by an
    ///    operation of an older epoch fails.
    /// 2. Seal the save slot for `epoch`, unless an operation claimed it first:
    ///    then its saved value is the one (waiting, if it is still being
    ///    written, for two stores). Otherwise no operation of this epoch changed
    ///    the account before the flip, and the flipped-away word is the value.
    ///
    /// Only the snapshot flips the bit, once per epoch, so a flip cannot be
    /// confused with an older one.
    pub(crate) fn collect(&self, epoch: u64) -> Option<Captured> {
        if self.born_epoch >= epoch {
            return None;
        }
        // Read before the flip, for the same reason as in `save`.
        let held = self.held.load(Ordering::Relaxed);
        let word = self.word.fetch_xor(SNAP_BIT, Ordering::AcqRel);
        debug_assert_ne!(word & SNAP_BIT, snap_bit(epoch), "only the snapshot flips, once per epoch");
        let own = Captured { state: State::decode(word), held };
        loop {
            let saved = self.saved.load(Ordering::Acquire);
            debug_assert!(saved >> 2 <= epoch, "saved for a later epoch while collecting {epoch}");
            if saved >> 2 == epoch {
                if saved & SAVE_STATE_MASK == SAVE_DONE {
                    let state = State::decode(self.saved_word.load(Ordering::Relaxed));
                    return Some(Captured { state, held: self.saved_held.load(Ordering::Relaxed) });
                }
                debug_assert_eq!(saved & SAVE_STATE_MASK, SAVE_BUSY, "nothing else seals");
                // The claimant is between its claim and its stores.
                crate::sync::yield_now();
                continue;
            }
            let sealed = epoch << 2 | SAVE_SEALED;
            if self.saved.compare_exchange(saved, sealed, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                return Some(own);
            }
        }
    }
}
