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
//! Keeping the credit in one function is deliberate: a durable journal will make
//! credits take effect only once the transfer is durable (all debits first,
//! credits after), which keeps crash recovery free of overdrafts.

use crate::cell::{AccountCell, DebitStep};
use crate::epoch::Epoch;
use crate::{AccountId, Rejection, TransferId};

/// A transfer request: move `amount` from `from` to `to`, at most once per `id`.
///
/// ```
/// use atomic_ledger::{AccountId, Transfer, TransferId};
/// let transfer = Transfer { id: TransferId(7), from: AccountId(1), to: AccountId(2), amount: 250 };
/// assert_eq!(transfer.amount, 250);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
pub struct TransferReceipt {
    /// The transfer's id.
    pub id: TransferId,
    /// `true` if the id had already been applied and this call changed nothing.
    pub repeat: bool,
}

/// Moves `amount` from `from` to `to`, or changes nothing and says why.
pub(crate) fn move_funds(
    epoch: &Epoch,
    from: &AccountCell,
    to: &AccountCell,
    amount: u64,
) -> Result<(), Rejection> {
    loop {
        match from.pinned_debit(epoch, amount, true) {
            Ok(()) => break,
            Err(DebitStep::Rejected(rejection)) => return Err(rejection),
            // 31 transfers are half-way out of this one account; each finishes in
            // a few CAS steps, so wait for one rather than fail a valid transfer.
            Err(DebitStep::Saturated) => crate::sync::yield_now(),
        }
    }
    credit_step(epoch, from, to, amount)
}

/// The credit half of a transfer whose debit is done: the one place a
/// transfer's money arrives.
fn credit_step(epoch: &Epoch, from: &AccountCell, to: &AccountCell, amount: u64) -> Result<(), Rejection> {
    match to.transfer_credit(epoch, amount) {
        Ok(()) => {
            from.finish_transfer_debit();
            Ok(())
        }
        Err(rejection) => {
            from.unpin(epoch, amount);
            Err(rejection)
        }
    }
}
