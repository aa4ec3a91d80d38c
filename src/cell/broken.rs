//! Deliberately broken twins of the cell's protocol steps, for
//! `.ci/broken-variants` only: each replaces the real function of the same
//! name when its test-only feature is on, and loom and shuttle must reject
//! it. Never enable these features.

#![allow(unused_imports)] // each twin uses its own part of them

use super::{AccountCell, State, SNAP_BIT};
use crate::epoch::Epoch;
use crate::journal::{Entry, Logging};
use crate::sync::Ordering;
use crate::Rejection;

#[cfg(all(feature = "_broken-stale-status", feature = "_broken-stale-floor"))]
compile_error!("both twins replace `debit`: enable one broken variant at a time");
#[cfg(all(feature = "_broken-stale-closed", feature = "_broken-stale-ceiling"))]
compile_error!("both twins replace `credit`: enable one broken variant at a time");

impl AccountCell {
    /// `_broken-check-then-write`: reads, checks, then stores, with no CAS,
    /// so two changes that both pass their checks both land.
    #[cfg(feature = "_broken-check-then-write")]
    pub(super) fn update<E>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        note: impl Fn() -> Option<Entry>,
        mut decide: impl FnMut(State) -> Result<State, E>,
    ) -> Result<State, E> {
        let current = epoch.load();
        let word = self.word.load(Ordering::Acquire);
        self.save_if_due(current, word);
        let next = decide(State::decode(word))?;
        let position = log.take_position(true);
        self.word.store(next.encode(word & SNAP_BIT), Ordering::Release);
        log.fill(position, &note);
        Ok(next)
    }

    /// `_broken-position-after-cas`: takes the journal position right after
    /// the CAS instead of before it. A step that reads the new word can take
    /// its position first (a close that saw the debit drain the account),
    /// and a crash can leave the log with the reader and not the writer.
    #[cfg(feature = "_broken-position-after-cas")]
    pub(super) fn update<E>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        note: impl Fn() -> Option<Entry>,
        mut decide: impl FnMut(State) -> Result<State, E>,
    ) -> Result<State, E> {
        let current = epoch.load();
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            self.save_if_due(current, word);
            let next = decide(State::decode(word))?;
            let new_word = next.encode(word & SNAP_BIT);
            match self.word.compare_exchange_weak(word, new_word, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    let position = log.take_position(new_word != word);
                    log.fill(position, &note);
                    return Ok(next);
                }
                Err(actual) => word = actual,
            }
        }
    }

    /// `_broken-unclaimed-cas`: a journaled step writes without its word's
    /// claim. A CAS that succeeds on a word changed and changed back since
    /// its load (ABA) took its position before the writes it depends on.
    #[cfg(feature = "_broken-unclaimed-cas")]
    pub(super) fn update<E>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        note: impl Fn() -> Option<Entry>,
        decide: impl FnMut(State) -> Result<State, E>,
    ) -> Result<State, E> {
        self.update_loop(epoch, log, note, decide)
    }

    /// `_broken-snapshot-without-capture`: never saves an account's value for
    /// a running snapshot, which then reads whatever each account holds when
    /// its scan reaches it.
    #[cfg(feature = "_broken-snapshot-without-capture")]
    pub(super) fn save_if_due(&self, _current: u64, _word: u64) {}

    /// `_broken-stale-status`: checks the status on a read made before the
    /// CAS loop, and the loop checks only the floor. A freeze that lands
    /// between the read and the CAS goes unseen: the debit succeeds after
    /// `freeze` has returned and a reader has seen the old balance.
    #[cfg(feature = "_broken-stale-status")]
    pub(crate) fn debit(&self, epoch: &Epoch, log: impl Logging, amount: u64) -> Result<i64, Rejection> {
        self.check_status_for_debit(self.observe(epoch))?;
        let note = || Some(Entry::Debited { account: self.id, amount });
        let next = self.update(epoch, log, note, |state| {
            Ok(State { balance: self.check_floor(state, amount)?, ..state })
        })?;
        self.left.fetch_add(amount, Ordering::Relaxed);
        Ok(next.balance)
    }

    /// `_broken-stale-floor`: checks the floor on a balance read before the
    /// CAS loop, and the loop only subtracts. Two debits that both saw the
    /// last funds both land below the floor.
    #[cfg(feature = "_broken-stale-floor")]
    pub(crate) fn debit(&self, epoch: &Epoch, log: impl Logging, amount: u64) -> Result<i64, Rejection> {
        self.check_floor(self.observe(epoch), amount)?;
        let note = || Some(Entry::Debited { account: self.id, amount });
        let next = self.update(epoch, log, note, |state| {
            self.check_status_for_debit(state)?;
            Ok(State { balance: state.balance - amount as i64, ..state })
        })?;
        self.left.fetch_add(amount, Ordering::Relaxed);
        Ok(next.balance)
    }

    /// `_broken-stale-closed`: checks that the account is not closed on a
    /// read made before the CAS loop, and the loop checks only the room
    /// under the maximum. A credit lands on an account closed meanwhile.
    #[cfg(feature = "_broken-stale-closed")]
    pub(crate) fn credit(&self, epoch: &Epoch, log: impl Logging, amount: u64) -> Result<i64, Rejection> {
        self.check_status_for_credit(self.observe(epoch))?;
        let note = || Some(Entry::Credited { account: self.id, amount });
        let next = self.update(epoch, log, note, |state| {
            Ok(State { balance: self.check_room(state, amount)?, ..state })
        })?;
        self.entered.fetch_add(amount, Ordering::Relaxed);
        Ok(next.balance)
    }

    /// `_broken-stale-ceiling`: checks the room under the ceiling on a
    /// balance read before the CAS loop, and the loop only adds. Two credits
    /// that both saw the last room both land above the ceiling.
    #[cfg(feature = "_broken-stale-ceiling")]
    pub(crate) fn credit(&self, epoch: &Epoch, log: impl Logging, amount: u64) -> Result<i64, Rejection> {
        self.check_room(self.observe(epoch), amount)?;
        let note = || Some(Entry::Credited { account: self.id, amount });
        let next = self.update(epoch, log, note, |state| {
            self.check_status_for_credit(state)?;
            Ok(State { balance: state.balance + amount as i64, ..state })
        })?;
        self.entered.fetch_add(amount, Ordering::Relaxed);
        Ok(next.balance)
    }

    /// `_broken-stale-ceiling-commit`: a linked batch's commit to an account
    /// with a ceiling trusts the room its reservation saw, as the commits to
    /// other accounts do; a credit that filled the room in between leaves
    /// the balance above the ceiling.
    #[cfg(feature = "_broken-stale-ceiling-commit")]
    pub(crate) fn commit_credit(
        &self,
        epoch: &Epoch,
        journaled: (impl Logging, impl Fn() -> Option<Entry>),
        incoming_total: u64,
    ) -> Result<(), Rejection> {
        self.unpin(epoch, journaled, incoming_total);
        Ok(())
    }
}
