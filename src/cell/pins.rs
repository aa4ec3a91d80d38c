//! Pins: how a transfer or a linked batch moves money between two accounts
//! without a lock on either. A pin is counted in the word's `in_flight`
//! field by the same CAS that debits (or reserves room for a credit), keeps
//! the account from closing, and is released by exactly one later CAS that
//! lands the money: the credit, the undo, or the batch's commit.

use super::{pinned, AccountCell, DebitStep, State, IN_FLIGHT_ONE, STATUS_CLOSED};
use crate::epoch::Epoch;
use crate::journal::{Entry, Logging};

use crate::sync::Ordering;
use crate::{Rejection, AMOUNT_MAX};

impl AccountCell {
    /// Debits `amount` and, if `pin`, counts one more pin in flight, in one CAS.
    /// A pin must be released by exactly one [`Self::unpin`] (or, for a plain
    /// transfer, [`Self::finish_transfer_debit`]).
    #[inline]
    pub(crate) fn pinned_debit(
        &self,
        epoch: &Epoch,
        (log, note): (impl Logging, impl Fn() -> Option<Entry>),
        amount: u64,
        pin: bool,
    ) -> Result<(), DebitStep> {
        self.update(epoch, log, note, |state| {
            let balance = self.check_debit(state, amount).map_err(DebitStep::Rejected)?;
            Ok(State { balance, in_flight: pinned(state, pin)?, ..state })
        })
        .map(drop)
    }

    /// A linked batch's promise to credit `incoming_total` later: checks that the
    /// account is not closed and that the credit fits under its ceiling now,
    /// and, if `pin`, pins the account so that it cannot close before the credit
    /// lands. Later credits may still raise the balance; the batch's commit then
    /// lands in the headroom above `BALANCE_MAX` (module docs), unless the
    /// account has a ceiling of its own: that commit is [`Self::commit_credit`],
    /// checked.
    ///
    /// Journaled as a hole: a reservation changes no balance, and a pin is
    /// not state that recovery restores.
    pub(crate) fn reserve_credit(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        incoming_total: u64,
        pin: bool,
    ) -> Result<(), DebitStep> {
        self.update(
            epoch,
            log,
            || None,
            |state| {
                self.check_credit(state, incoming_total).map_err(DebitStep::Rejected)?;
                Ok(State { in_flight: pinned(state, pin)?, ..state })
            },
        )
        .map(drop)
    }

    /// Releases a pin and adds `amount` (possibly 0) in one CAS. Cannot fail:
    /// a pinned account cannot close, and the headroom holds every pin's amount.
    #[inline]
    pub(crate) fn unpin(
        &self,
        epoch: &Epoch,
        (log, note): (impl Logging, impl Fn() -> Option<Entry>),
        amount: u64,
    ) {
        debug_assert!(amount <= AMOUNT_MAX);
        let unpinned = self.update(epoch, log, note, |state| -> Result<State, std::convert::Infallible> {
            debug_assert!(state.in_flight >= 1 && state.status != STATUS_CLOSED, "{state:?}");
            Ok(State { balance: state.balance + amount as i64, in_flight: state.in_flight - 1, ..state })
        });
        debug_assert!(unpinned.is_ok());
    }

    /// A linked batch's checked commit to an account with a ceiling: adds
    /// `incoming_total` and releases the batch's pin in one CAS if the credit
    /// still fits under the ceiling, and changes nothing otherwise (the batch
    /// then undoes everything; its pin here is released by that undo).
    #[cfg(not(feature = "_broken-stale-ceiling-commit"))]
    pub(crate) fn commit_credit(
        &self,
        epoch: &Epoch,
        (log, note): (impl Logging, impl Fn() -> Option<Entry>),
        incoming_total: u64,
    ) -> Result<(), Rejection> {
        self.update(epoch, log, note, |state| {
            debug_assert!(state.in_flight >= 1 && state.status != STATUS_CLOSED, "{state:?}");
            let balance = self.check_room(state, incoming_total)?;
            Ok(State { balance, in_flight: state.in_flight - 1, ..state })
        })
        .map(drop)
    }

    /// A transfer's credit to its destination: as `credit`, but money moved
    /// between accounts is not counted as entering the ledger.
    #[inline]
    pub(crate) fn transfer_credit(
        &self,
        epoch: &Epoch,
        (log, note): (impl Logging, impl Fn() -> Option<Entry>),
        amount: u64,
    ) -> Result<(), Rejection> {
        self.update(epoch, log, note, |state| {
            let balance = self.check_credit(state, amount)?;
            Ok(State { balance, ..state })
        })
        .map(drop)
    }

    /// The destination was credited: the transfer is no longer in flight.
    #[inline]
    pub(crate) fn finish_transfer_debit(&self) {
        // Only the in_flight field changes and it is ≥ 1 (our own increment), so a
        // plain subtraction cannot borrow from the bits above. No save needed:
        // the transfer's debit saved this account if a snapshot needed it, in the
        // same epoch (it holds a lock that advancing the epoch takes), and
        // in-flight counts are not part of a snapshot. Release: pairs with `close`'s
        // Acquire so that a close that sees the count at zero sees the transfer
        // complete. Acquire is not needed: nothing is read after this.
        let previous = self.word.fetch_sub(IN_FLIGHT_ONE, Ordering::Release);
        debug_assert!(State::decode(previous).in_flight >= 1);
    }
}
