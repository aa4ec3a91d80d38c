//! Linked transfers: several legs applied all together or not at all.
//!
//! # Implementation details
//!
//! [`apply_linked`] runs with every leg's transfer-id shard locked (see
//! [`crate::transfer_ids`]), in two phases over the accounts involved:
//!
//! 1. **Reserve**, leg by leg: one CAS on `from` checks its status and floor
//!    and debits the leg; one CAS on `to` checks that it is not closed and that
//!    the batch's credits to it fit under [`crate::BALANCE_MAX`]. The first CAS
//!    on each distinct account also **pins** it (`in_flight + 1`), so it cannot
//!    close until the batch ends. A refusal undoes the reservations made so far
//!    — one CAS per pinned account, returning what was debited — and names the
//!    leg.
//! 2. **Commit**: one CAS per pinned account adds what the batch credits to it
//!    and unpins it. These commits cannot fail: the pin keeps the account open,
//!    and a balance raised meanwhile by other credits lands in the word's
//!    headroom (each pin carries at most [`crate::AMOUNT_MAX`], which is why a
//!    batch may move at most that much into, and out of, any one account).
//!    The exception is an account with a ceiling of its own
//!    ([`crate::AccountOptions::ceiling`]): credits may have filled its room
//!    since the reservation, and its commit must be refused then. So it is
//!    committed **first**, by one CAS that checks the ceiling
//!    (`AccountCell::commit_credit`); if that refuses, nothing of the batch
//!    has been credited yet and the batch undoes everything, naming the leg.
//!    Only one such commit can go first, so a batch may credit at most one
//!    account with a ceiling ([`crate::LinkedError::TwoCeilings`], checked
//!    before the batch runs).
//!
//! Nothing is credited before every debit succeeded, so no credit ever has to
//! be taken back (it could have been spent meanwhile). What observers can see
//! while a batch runs is what they see of a transfer: debited money missing
//! from its source before it arrives (as if held), which may refuse a
//! concurrent debit that the batch's failure then makes look unnecessary;
//! never money in two places, and after a failed batch returns, no trace of it.
//! Debits are checked against balances before any of the batch's credits, so
//! a leg cannot spend what an earlier leg of the same batch brings in.
//!
//! If an account is pinned by [`crate::IN_FLIGHT_MAX`] transfers already, the
//! batch undoes everything, yields, and starts over, so it never holds pins
//! while waiting.

use crate::cell::{AccountCell, DebitStep};
use crate::epoch::Epoch;
use crate::journal::{Entry, Logging};
use crate::record_lanes::leg_byte;
use crate::{Rejection, TransferError, TransferId};

/// The most legs one linked batch may have.
///
/// ```
/// use atomic_ledger::{AccountId, Ledger, LinkedError, Transfer, TransferId, LINKED_LEGS_MAX};
/// let ledger = Ledger::new();
/// let leg = Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(2), amount: 1 };
/// let legs = vec![leg; LINKED_LEGS_MAX + 1];
/// assert_eq!(ledger.transfer_all(&legs), Err(LinkedError::LegCount { legs: 17, legs_max: LINKED_LEGS_MAX }));
/// ```
pub const LINKED_LEGS_MAX: usize = 16;

/// A linked batch that took effect, every leg of it.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, LinkedReceipt, Transfer, TransferId};
/// let ledger = Ledger::new();
/// for id in 1..=3 {
///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
/// }
/// ledger.credit(AccountId(1), 10).unwrap();
/// let pay = Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(2), amount: 8 };
/// let fee = Transfer { id: TransferId(2), from: AccountId(1), to: AccountId(3), amount: 1 };
/// assert_eq!(ledger.transfer_all(&[pay, fee]), Ok(LinkedReceipt { legs: 2, repeat: false }));
/// assert_eq!(ledger.transfer_all(&[pay, fee]), Ok(LinkedReceipt { legs: 2, repeat: true }));
/// assert_eq!(ledger.balance(AccountId(1)), Ok(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LinkedReceipt {
    /// How many legs were applied.
    pub legs: usize,
    /// `true` if this batch had already been applied and this call changed nothing.
    pub repeat: bool,
}

/// The error list of a failed batch: `error` at `index`, "linked leg failed" elsewhere.
pub(crate) fn leg_errors(legs: usize, index: usize, error: TransferError) -> Vec<TransferError> {
    (0..legs)
        .map(|leg| if leg == index { error } else { TransferError::LinkedLegFailed { failed_index: index } })
        .collect()
}

/// One leg, resolved to its accounts.
pub(crate) struct Leg<'a> {
    pub(crate) id: TransferId,
    pub(crate) from: &'a AccountCell,
    pub(crate) to: &'a AccountCell,
    pub(crate) amount: u64,
}

/// Where a batch's steps are journaled, and the batch's name there (its first leg's id).
#[derive(Clone, Copy)]
struct Journaled<L> {
    log: L,
    first: TransferId,
}

impl<L: Logging> Journaled<L> {
    fn debited(self, account: &AccountCell, amount: u64) -> (L, impl Fn() -> Option<Entry>) {
        let (first, account) = (self.first, account.id());
        (self.log, move || Some(Entry::BatchDebited { first, account, amount }))
    }

    fn returned(self, account: &AccountCell, amount: u64) -> (L, impl Fn() -> Option<Entry>) {
        let (first, account) = (self.first, account.id());
        // Nothing returned (an account the batch only credits): a hole.
        (self.log, move || (amount > 0).then_some(Entry::BatchReturned { first, account, amount }))
    }

    fn credited(self, account: &AccountCell, amount: u64) -> (L, impl Fn() -> Option<Entry>) {
        let (first, account) = (self.first, account.id());
        // Nothing credited (an account the batch only debits): a hole, so
        // that the batch's last credit is its last entry and recovery can
        // tell when it is complete.
        (self.log, move || (amount > 0).then_some(Entry::BatchCredited { first, account, amount }))
    }

    /// Every leg, before the batch changes anything: recovery needs them all
    /// to finish or undo a batch the crash cut, and the id table needs them
    /// for a rejected batch.
    fn declare(self, legs: &[Leg<'_>]) {
        let count = leg_byte(legs.len());
        for (index, leg) in legs.iter().enumerate() {
            self.log.record(|| Entry::LegDeclared {
                id: leg.id,
                first: self.first,
                legs: count,
                index: leg_byte(index),
                from: leg.from.id(),
                to: leg.to.id(),
                amount: leg.amount,
            });
        }
    }
}

/// An account the batch has pinned, and what it has debited from and owes to it.
struct Pinned<'a> {
    cell: &'a AccountCell,
    debited: u64,
    incoming: u64,
}

enum Interrupted {
    Failed(usize, Rejection),
    Saturated,
}

/// Applies every leg or none; `Err` names the failing leg.
///
/// Journaled (`docs/journal.md`): `LegDeclared` for every leg first, then
/// `BatchDebited` per debit, `BatchCredited` per commit, `BatchReturned` per
/// undo, and `BatchRejected` once a refused batch has returned everything.
/// The caller holds every leg's shard lock throughout.
pub(crate) fn apply_linked(
    epoch: &Epoch,
    log: impl Logging,
    legs: &[Leg<'_>],
) -> Result<(), (usize, Rejection)> {
    let journaled = Journaled { log, first: legs[0].id };
    journaled.declare(legs);
    loop {
        let mut pinned: Vec<Pinned<'_>> = Vec::with_capacity(legs.len() * 2);
        let reserved = reserve(epoch, journaled, legs, &mut pinned);
        match reserved.and_then(|()| commit_checked(epoch, journaled, legs, &pinned)) {
            Ok(checked) => {
                for (position, account) in pinned.iter().enumerate() {
                    if Some(position) != checked {
                        account.cell.unpin(
                            epoch,
                            journaled.credited(account.cell, account.incoming),
                            account.incoming,
                        );
                    }
                }
                return Ok(());
            }
            Err(interrupted) => {
                for account in &pinned {
                    account.cell.unpin(
                        epoch,
                        journaled.returned(account.cell, account.debited),
                        account.debited,
                    );
                }
                match interrupted {
                    Interrupted::Failed(leg, reason) => {
                        let failed_index = leg_byte(leg);
                        log.record(|| Entry::BatchRejected { first: journaled.first, failed_index, reason });
                        return Err((leg, reason));
                    }
                    // Saturated: start over without holding any pin.
                    Interrupted::Saturated => crate::sync::yield_now(),
                }
            }
        }
    }
}

/// Commits the batch's credit to its one account with a ceiling, if it has
/// one, checked: the only commit that can fail, so it goes first, while
/// nothing of the batch has been credited and an undo is still clean.
/// Returns its position in `pinned`.
fn commit_checked(
    epoch: &Epoch,
    journaled: Journaled<impl Logging>,
    legs: &[Leg<'_>],
    pinned: &[Pinned<'_>],
) -> Result<Option<usize>, Interrupted> {
    let Some(position) = pinned.iter().position(|account| account.incoming > 0 && account.cell.has_ceiling())
    else {
        return Ok(None);
    };
    debug_assert!(
        pinned[position + 1..].iter().all(|account| account.incoming == 0 || !account.cell.has_ceiling()),
        "a batch credits at most one account with a ceiling (checked before it runs)"
    );
    let account = &pinned[position];
    let credited = journaled.credited(account.cell, account.incoming);
    account.cell.commit_credit(epoch, credited, account.incoming).map(|()| Some(position)).map_err(|reason| {
        let leg = legs.iter().position(|leg| std::ptr::eq(leg.to, account.cell));
        Interrupted::Failed(leg.unwrap_or_else(|| unreachable!("credited by a leg")), reason)
    })
}

fn reserve<'a>(
    epoch: &Epoch,
    journaled: Journaled<impl Logging>,
    legs: &[Leg<'a>],
    pinned: &mut Vec<Pinned<'a>>,
) -> Result<(), Interrupted> {
    let fail = |leg: usize| {
        move |step: DebitStep| match step {
            DebitStep::Rejected(reason) => Interrupted::Failed(leg, reason),
            DebitStep::Saturated => Interrupted::Saturated,
        }
    };
    for (index, leg) in legs.iter().enumerate() {
        let position = find(pinned, leg.from);
        let debited = journaled.debited(leg.from, leg.amount);
        leg.from.pinned_debit(epoch, debited, leg.amount, position.is_none()).map_err(fail(index))?;
        let position = position.unwrap_or_else(|| push(pinned, leg.from));
        pinned[position].debited += leg.amount;

        let position = find(pinned, leg.to);
        let incoming = position.map_or(0, |position| pinned[position].incoming) + leg.amount;
        leg.to.reserve_credit(epoch, journaled.log, incoming, position.is_none()).map_err(fail(index))?;
        let position = position.unwrap_or_else(|| push(pinned, leg.to));
        pinned[position].incoming = incoming;
    }
    Ok(())
}

fn find(pinned: &[Pinned<'_>], cell: &AccountCell) -> Option<usize> {
    pinned.iter().position(|account| std::ptr::eq(account.cell, cell))
}

fn push<'a>(pinned: &mut Vec<Pinned<'a>>, cell: &'a AccountCell) -> usize {
    pinned.push(Pinned { cell, debited: 0, incoming: 0 });
    pinned.len() - 1
}
