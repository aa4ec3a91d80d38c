//! Transfers and linked batches: validation, exactly-once by id
//! ([`crate::transfer_ids`]), and the money's movement ([`crate::transfer`],
//! [`crate::linked`]).

use super::accounts::check_amount;
use super::durable::durably;
use super::{never_declined, Ledger};
use crate::cell::AccountCell;
use crate::journal::Logging;
use crate::linked::{apply_linked, leg_errors, Leg};
use crate::record_lanes::{leg_byte, Link, Outcome, Record};
use crate::transfer::move_funds;
use crate::transfer_ids::LinkedRefusal;
use crate::{
    LinkedError, LinkedReceipt, Transfer, TransferError, TransferReceipt, AMOUNT_MAX, LINKED_LEGS_MAX,
};

/// A batch moves at most `AMOUNT_MAX` into and out of any one account: each
/// pin carries at most that much (see [`crate::linked`]). Checks the totals of
/// the last leg's accounts over `prefix`, so the leg that passes a limit is named.
fn check_batch_totals(prefix: &[Transfer]) -> Result<(), TransferError> {
    let Some(last) = prefix.last() else { return Ok(()) };
    let total = |matches: &dyn Fn(&Transfer) -> bool| -> u128 {
        prefix.iter().filter(|leg| matches(leg)).map(|leg| u128::from(leg.amount)).sum()
    };
    for moved in [total(&|leg| leg.from == last.from), total(&|leg| leg.to == last.to)] {
        if moved > u128::from(AMOUNT_MAX) {
            let amount = u64::try_from(moved).unwrap_or(u64::MAX);
            return Err(TransferError::AmountTooLarge { amount, amount_max: AMOUNT_MAX });
        }
    }
    Ok(())
}

/// A validated transfer: its accounts' cells, and the record its id keeps.
pub(super) struct Resolved<'a> {
    pub(super) from: &'a AccountCell,
    pub(super) to: &'a AccountCell,
    pub(super) record: Record,
}

impl Ledger {
    /// Moves `transfer.amount` from `transfer.from` to `transfer.to`, at most once
    /// per `transfer.id`.
    ///
    /// * Validation errors (reserved or unknown ids, zero or too large an amount,
    ///   the same account twice) change nothing and record nothing: the same id
    ///   may be retried with corrected fields.
    /// * Otherwise the id's outcome is recorded, success or rejection. A repeat
    ///   with the same fields returns the recorded outcome with `repeat: true`
    ///   (`Ok` receipt or [`TransferError::Rejected`]) and changes nothing — also
    ///   when it races the first submission from another thread. So, as in
    ///   TigerBeetle, a rejected transfer (say, insufficient funds) stays rejected:
    ///   retry it under a new id. The answer for an id never changes while it is
    ///   remembered, which is what lets a client that timed out simply resend.
    /// * A repeat with different fields is [`TransferError::IdConflict`], naming the field.
    /// * An id the ledger may have forgotten is [`TransferError::IdExpired`].
    ///
    /// Takes the id's shard lock of the transfer-id table for the duration of
    /// the lookup, two or three CASes, and the record; the accounts themselves
    /// are changed by CAS only.
    ///
    /// # Examples
    ///
    /// ```
    /// use atomic_ledger::{AccountId, Ledger, Transfer, TransferError, TransferField, TransferId};
    /// let ledger = Ledger::new();
    /// let (alice, bob) = (AccountId(1), AccountId(2));
    /// ledger.open_account(alice, Default::default()).unwrap();
    /// ledger.open_account(bob, Default::default()).unwrap();
    /// ledger.credit(alice, 100).unwrap();
    /// let transfer = Transfer { id: TransferId(1), from: alice, to: bob, amount: 60 };
    /// assert_eq!(ledger.transfer(transfer).map(|receipt| receipt.repeat), Ok(false));
    /// let swap = ledger.transfer(Transfer { from: bob, to: alice, ..transfer });
    /// assert_eq!(swap, Err(TransferError::IdConflict { id: TransferId(1), field: TransferField::From }));
    /// ```
    pub fn transfer(&self, transfer: Transfer) -> Result<TransferReceipt, TransferError> {
        durably!(self, |log| self.transfer_logged(&transfer, log))
    }

    /// [`Self::transfer`], its steps journaled to `log`, not waiting for them.
    pub(super) fn transfer_logged(
        &self,
        transfer: &Transfer,
        log: impl Logging,
    ) -> Result<TransferReceipt, TransferError> {
        let Resolved { from, to, record } = self.resolve_transfer(transfer)?;
        let id = transfer.id;
        let decision = never_declined(
            self.transfer_ids.decide(id, record, || Ok(move_funds(&self.epoch, log, transfer, from, to)))?,
        );
        match decision.outcome {
            Ok(()) => Ok(TransferReceipt { id, repeat: decision.repeat }),
            Err(reason) => Err(TransferError::Rejected { reason, repeat: decision.repeat }),
        }
    }

    /// Validates a transfer's fields (recording nothing) and finds its accounts.
    pub(super) fn resolve_transfer(&self, transfer: &Transfer) -> Result<Resolved<'_>, TransferError> {
        let Transfer { id, from, to, amount } = *transfer;
        if id.is_reserved() {
            return Err(TransferError::ReservedTransferId(id));
        }
        let (from_cell, from_slot) = self.find_account(from).map_err(TransferError::from)?;
        let (to_cell, to_slot) = self.find_account(to).map_err(TransferError::from)?;
        check_amount(amount).map_err(TransferError::from)?;
        if from == to {
            return Err(TransferError::SameAccount(from));
        }
        let (from_asset, to_asset) = (from_cell.asset(), to_cell.asset());
        if from_asset != to_asset {
            return Err(TransferError::AssetMismatch { from, from_asset, to, to_asset });
        }
        let record =
            Record { from: from_slot, to: to_slot, amount, link: Link::Single, outcome: Outcome::Applied };
        Ok(Resolved { from: from_cell, to: to_cell, record })
    }

    /// Applies every leg of `legs` or none of them, at most once per batch.
    ///
    /// * Each leg is validated as by [`Ledger::transfer`]; its id must be new to
    ///   the batch ([`TransferError::DuplicateLegId`]). A batch moves at most
    ///   [`crate::AMOUNT_MAX`] into and out of any one account
    ///   ([`TransferError::AmountTooLarge`] names the leg that passes it).
    /// * A failing leg is reported by index with its error
    ///   ([`LinkedError::LegFailed`]), every other leg with
    ///   [`TransferError::LinkedLegFailed`]; no leg has any effect.
    /// * Every leg's id records the batch: resubmitting the same batch returns
    ///   the recorded outcome with `repeat: true`; submitting one of its ids
    ///   alone or in another batch is [`TransferError::IdConflict`] on
    ///   [`crate::TransferField::Link`].
    /// * Debits are checked against balances before any of the batch's credits
    ///   land: a leg cannot spend what an earlier leg brings in.
    ///
    /// While the batch runs, concurrent observers may see its debited money
    /// missing from the sources before it reaches the destinations (as if
    /// held), and a concurrent debit may be refused for that reason. They never
    /// see money in two places or a credit that is later taken back, and after
    /// a failed batch returns nothing of it remains. Takes the legs' transfer-id
    /// shard locks for the batch's duration; the accounts change by CAS only.
    ///
    /// # Examples
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger, Transfer, TransferId};
    /// let ledger = Ledger::new();
    /// let (buyer, seller, platform) = (AccountId(1), AccountId(2), AccountId(3));
    /// for id in [buyer, seller, platform] {
    ///     ledger.open_account(id, AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(buyer, 100).unwrap();
    /// let payment = Transfer { id: TransferId(10), from: buyer, to: seller, amount: 95 };
    /// let fee = Transfer { id: TransferId(11), from: buyer, to: platform, amount: 5 };
    /// ledger.transfer_all(&[payment, fee]).unwrap();
    /// assert_eq!(ledger.balance(seller), Ok(95));
    /// assert_eq!(ledger.balance(platform), Ok(5));
    /// ```
    pub fn transfer_all(&self, legs: &[Transfer]) -> Result<LinkedReceipt, LinkedError> {
        durably!(self, |log| self.transfer_all_logged(legs, log))
    }

    fn transfer_all_logged(
        &self,
        legs: &[Transfer],
        log: impl Logging,
    ) -> Result<LinkedReceipt, LinkedError> {
        if legs.is_empty() || legs.len() > LINKED_LEGS_MAX {
            return Err(LinkedError::LegCount { legs: legs.len(), legs_max: LINKED_LEGS_MAX });
        }
        let fail =
            |index, error| LinkedError::LegFailed { index, legs: leg_errors(legs.len(), index, error) };
        let first = legs[0].id;
        let mut resolved = Vec::with_capacity(legs.len());
        let mut records = Vec::with_capacity(legs.len());
        for (index, leg) in legs.iter().enumerate() {
            let Resolved { from, to, record } =
                self.resolve_transfer(leg).map_err(|error| fail(index, error))?;
            if let Some(first_index) = legs[..index].iter().position(|earlier| earlier.id == leg.id) {
                return Err(fail(index, TransferError::DuplicateLegId { id: leg.id, first_index }));
            }
            check_batch_totals(&legs[..=index]).map_err(|error| fail(index, error))?;
            resolved.push(Leg { id: leg.id, from, to, amount: leg.amount });
            let link = Link::Leg { first, legs: leg_byte(legs.len()), index: leg_byte(index) };
            records.push((leg.id, Record { link, ..record }));
        }
        check_one_ceiling(&resolved)?;
        let decision = self
            .transfer_ids
            .decide_linked(&records, || apply_linked(&self.epoch, log, &resolved))
            .map_err(|refusal| match refusal {
                LinkedRefusal::Leg(index, error) => fail(index, error),
                LinkedRefusal::ShardTooSmall { legs_in_shard, shard_records_max } => {
                    LinkedError::IdShardTooSmall { legs_in_shard, shard_records_max }
                }
            })?;
        match decision.outcome {
            Ok(()) => Ok(LinkedReceipt { legs: legs.len(), repeat: decision.repeat }),
            Err((index, reason)) => {
                Err(fail(index, TransferError::Rejected { reason, repeat: decision.repeat }))
            }
        }
    }

    /// How many transfer ids the ledger currently remembers.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger, Transfer, TransferId};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
    /// assert_eq!(ledger.transfer_ids_remembered(), 0);
    /// let unfunded = Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(2), amount: 5 };
    /// assert!(ledger.transfer(unfunded).is_err()); // a rejection is remembered too
    /// assert_eq!(ledger.transfer_ids_remembered(), 1);
    /// ```
    pub fn transfer_ids_remembered(&self) -> usize {
        self.transfer_ids.len()
    }
}

/// A batch may credit at most one account with a ceiling (see [`crate::linked`]).
fn check_one_ceiling(legs: &[Leg<'_>]) -> Result<(), LinkedError> {
    let mut ceilinged = legs.iter().map(|leg| leg.to).filter(|cell| cell.has_ceiling());
    let Some(first) = ceilinged.next() else { return Ok(()) };
    match ceilinged.find(|cell| !std::ptr::eq(*cell, first)) {
        Some(second) => Err(LinkedError::TwoCeilings { first: first.id(), second: second.id() }),
        None => Ok(()),
    }
}
