//! Transfers between two accounts: debit, then credit, undo on failure.
//!
//! # Implementation details
//!
//! [`move_funds`] is the whole protocol and [`credit_step`] its only credit:
//!
//! 1. `from.pinned_debit` — one CAS checks `from`'s status and floor,
//!    lowers the balance and counts the transfer in flight. Nothing has happened
//!    if it fails.
//! 2. [`credit_step`] — one CAS on `to`. On success, `from`'s in-flight count
//!    drops; on failure (`to` closed meanwhile, or at its maximum) the debit is
//!    undone by one CAS on `from`, which cannot fail (see [`crate::cell`]).
//!
//! Between 1 and 2 the money is in neither balance, as if held: observers may
//! see `from` debited and `to` not yet credited, never the reverse (the credit
//! releases the debit; see the ordering notes in [`crate::cell`]), so no reader
//! can count the money twice. At quiescence no transfer is in flight and the
//! sum of balances is exactly what entered minus what left.
//!
//! Each step takes its journal position between its decision and its CAS
//! (the ordering rule, `docs/journal.md`): a debit of `to` that spends the
//! credited money comes after the credit in the log, and a close of `from`
//! that sees the transfer finished comes after its credit or undo.

use crate::cell::{AccountCell, DebitStep};
use crate::epoch::Epoch;
use crate::journal::{Entry, Logging};
use crate::{AccountId, Rejection, TransferId};

/// A transfer request: move `amount` from `from` to `to`, at most once per `id`.
///
/// ```
/// use atomic_ledger::{AccountId, Transfer, TransferId};
/// let transfer = Transfer { id: TransferId(7), from: AccountId(1), to: AccountId(2), amount: 250 };
/// assert_eq!(transfer.amount, 250);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Transfer {
    /// Idempotency key: the ledger applies each id at most once.
    pub id: TransferId,
    /// The account debited.
    pub from: AccountId,
    /// The account credited.
    pub to: AccountId,
    /// How much moves; `1..=AMOUNT_MAX`.
    pub amount: u64,
}

/// A transfer that took effect.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, Transfer, TransferId, TransferReceipt};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
/// ledger.credit(AccountId(1), 10).unwrap();
/// let transfer = Transfer { id: TransferId(7), from: AccountId(1), to: AccountId(2), amount: 10 };
/// assert_eq!(ledger.transfer(transfer), Ok(TransferReceipt { id: TransferId(7), repeat: false }));
/// assert_eq!(ledger.transfer(transfer), Ok(TransferReceipt { id: TransferId(7), repeat: true }));
/// assert_eq!(ledger.balance(AccountId(2)), Ok(10)); // moved once
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TransferReceipt {
    /// The transfer's id.
    pub id: TransferId,
    /// `true` if the id had already been applied and this call changed nothing.
    pub repeat: bool,
}

/// Moves `transfer.amount` from `from` to `to`, or changes nothing and says why.
///
/// Journaled (`docs/journal.md`): the debit step writes `TransferDebited`,
/// then the credit step `TransferCredited` or the undo `TransferUndone`; a
/// refusal of the debit writes `TransferRejected`, since the id table
/// remembers it. The caller holds the id's shard lock throughout, so the
/// id's records are in the log in the order the table decides them.
pub(crate) fn move_funds(
    epoch: &Epoch,
    log: impl Logging,
    transfer: &Transfer,
    from: &AccountCell,
    to: &AccountCell,
) -> Result<(), Rejection> {
    let Transfer { id, from: from_id, to: to_id, amount } = *transfer;
    let debited = || Some(Entry::TransferDebited { id, from: from_id, to: to_id, amount });
    loop {
        match from.pinned_debit(epoch, (log, debited), amount, true) {
            Ok(()) => break,
            Err(DebitStep::Rejected(reason)) => {
                log.record(|| Entry::TransferRejected { id, from: from_id, to: to_id, amount, reason });
                return Err(reason);
            }
            // 31 transfers are half-way out of this one account; each finishes in
            // a few CAS steps, so wait for one rather than fail a valid transfer.
            Err(DebitStep::Saturated) => crate::sync::yield_now(),
        }
    }
    credit_step(epoch, log, id, from, to, amount)
}

/// The credit half of a transfer whose debit is done: the one place a
/// transfer's money arrives.
fn credit_step(
    epoch: &Epoch,
    log: impl Logging,
    id: TransferId,
    from: &AccountCell,
    to: &AccountCell,
    amount: u64,
) -> Result<(), Rejection> {
    let credited = || Some(Entry::TransferCredited { id, from: from.id(), to: to.id(), amount });
    match to.transfer_credit(epoch, (log, credited), amount) {
        Ok(()) => {
            from.finish_transfer_debit();
            Ok(())
        }
        Err(reason) => {
            let undone = || Some(Entry::TransferUndone { id, from: from.id(), to: to.id(), amount, reason });
            from.unpin(epoch, (log, undone), amount);
            Err(reason)
        }
    }
}
