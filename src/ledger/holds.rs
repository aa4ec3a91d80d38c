//! Holds: validation and the public calls; the table and the state machine
//! that resolves each hold exactly once are in [`crate::hold_table`].

use super::accounts::check_amount;
use super::durable::durably;
use super::{never_declined, Ledger};
use crate::directory::Slot;
use crate::hold::RestoredHold;
use crate::hold_lanes::HoldRecord;
use crate::hold_table::Cells;
use crate::journal::{Logging, NoLog};
use crate::{
    CredentialId, HoldError, HoldId, HoldInfo, HoldReceipt, HoldRequest, HoldState, JournalFailed, Posted,
};

impl Ledger {
    /// Holds `request.amount` of `request.from`'s balance for a later
    /// [`Ledger::post`] to `request.to`, at most once per `request.id`.
    ///
    /// One CAS on `from` decides, with a debit's checks: status open, balance
    /// not below the floor, and fewer than [`crate::HOLDS_OPEN_MAX`] open holds.
    /// The money leaves the spendable balance and is reported as
    /// [`crate::AccountInfo::held`] until the hold is posted, voided or expires
    /// (at `expires_at_ms` on the ledger's [`crate::Clock`]). An account with open
    /// holds cannot close.
    ///
    /// Idempotent like a transfer: validation errors record nothing; otherwise
    /// the id's outcome is recorded, and a repeat with the same fields returns
    /// it with `repeat: true` (also if the hold has since been resolved).
    ///
    /// # Examples
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, HoldError, HoldId, HoldRequest, Ledger, Rejection};
    /// let ledger = Ledger::new();
    /// let (card, merchant) = (AccountId(1), AccountId(2));
    /// ledger.open_account(card, AccountOptions::default()).unwrap();
    /// ledger.open_account(merchant, AccountOptions::default()).unwrap();
    /// ledger.credit(card, 100).unwrap();
    /// let request = HoldRequest { id: HoldId(1), from: card, to: merchant, amount: 80, expires_at_ms: u64::MAX };
    /// ledger.hold(request).unwrap();
    /// assert_eq!(ledger.balance(card), Ok(20));
    /// assert_eq!(ledger.account_info(card).unwrap().held, 80);
    /// let second = HoldRequest { id: HoldId(2), amount: 30, ..request };
    /// assert!(matches!(ledger.hold(second), Err(HoldError::Rejected { reason: Rejection::InsufficientFunds { available: 20, .. }, .. })));
    /// ```
    pub fn hold(&self, request: HoldRequest) -> Result<HoldReceipt, HoldError> {
        durably!(self, |log| Ok(never_declined(self.hold_with(log, request, None, || Ok(()))?)))
    }

    /// [`Ledger::hold`]; for a fresh id, `admit` runs under the hold id's lock
    /// first and may decline (inner `Err`, nothing recorded). `charged`: the
    /// credential to give the unposted part back to.
    pub(super) fn hold_with<D>(
        &self,
        log: impl Logging,
        request: HoldRequest,
        charged: Option<CredentialId>,
        admit: impl FnOnce() -> Result<(), D>,
    ) -> Result<Result<HoldReceipt, D>, HoldError> {
        let HoldRequest { id, from, to, amount, expires_at_ms } = request;
        if id.is_reserved() {
            return Err(HoldError::ReservedHoldId(id));
        }
        let (from_cell, from_slot) = self.find_account(from).map_err(HoldError::from)?;
        let (to_cell, to_slot) = self.find_account(to).map_err(HoldError::from)?;
        check_amount(amount).map_err(HoldError::from)?;
        if from == to {
            return Err(HoldError::SameAccount(from));
        }
        let (from_asset, to_asset) = (from_cell.asset(), to_cell.asset());
        if from_asset != to_asset {
            return Err(HoldError::AssetMismatch { from, from_asset, to, to_asset });
        }
        if expires_at_ms != HoldRequest::NEVER_EXPIRES {
            let now_ms = self.clock.now_ms();
            if expires_at_ms <= now_ms {
                return Err(HoldError::ExpiryInPast { expires_at_ms, now_ms });
            }
        }
        let cells = Cells { from: from_cell, to: to_cell, refunds: self.refunds() };
        let state = HoldState::Open;
        let fields = HoldRecord { id, from: from_slot, to: to_slot, amount, expires_at_ms, state, charged };
        let decided =
            self.holds.hold(&self.epoch, log, (request, fields), cells, || self.clock.now_ms(), admit)?;
        Ok(decided.map(|repeat| HoldReceipt { id, repeat }))
    }

    /// Captures `amount` of hold `id`: `amount` goes to the hold's `to`, the rest
    /// back to its `from`. Exactly one of post, void and expiry resolves a hold;
    /// the others get [`HoldError::AlreadyResolved`] with what happened. A hold
    /// that is due expires now instead, and the post gets that error. If `to`
    /// refuses the credit (closed, or at its maximum) the post fails with
    /// [`HoldError::Rejected`] and the hold stays open.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, HoldError, HoldId, HoldRequest, HoldState, Ledger, Posted};
    /// let ledger = Ledger::new();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(AccountId(1), 50).unwrap();
    /// let request = HoldRequest { id: HoldId(7), from: AccountId(1), to: AccountId(2), amount: 40, expires_at_ms: u64::MAX };
    /// ledger.hold(request).unwrap();
    /// assert_eq!(ledger.post(HoldId(7), 41), Err(HoldError::ExceedsHold { id: HoldId(7), held: 40, requested: 41 }));
    /// assert_eq!(ledger.post(HoldId(7), 25), Ok(Posted { posted: 25, returned: 15 }));
    /// let again = ledger.void(HoldId(7));
    /// assert_eq!(again, Err(HoldError::AlreadyResolved { id: HoldId(7), state: HoldState::Posted { amount: 25 } }));
    /// assert_eq!((ledger.balance(AccountId(1)), ledger.balance(AccountId(2))), (Ok(25), Ok(25)));
    /// ```
    pub fn post(&self, id: HoldId, amount: u64) -> Result<Posted, HoldError> {
        if id.is_reserved() {
            return Err(HoldError::ReservedHoldId(id));
        }
        check_amount(amount).map_err(HoldError::from)?;
        durably!(self, |log| {
            self.holds.post(
                &self.epoch,
                log,
                id,
                amount,
                |record| self.hold_cells(record),
                || self.clock.now_ms(),
            )
        })
    }

    /// Releases hold `id`: everything goes back to its `from`. Returns the
    /// amount returned. Races with post and expiry as [`Ledger::post`] says.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, HoldError, HoldId, HoldRequest, HoldState, Ledger};
    /// let ledger = Ledger::new();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(AccountId(1), 50).unwrap();
    /// let request = HoldRequest { id: HoldId(7), from: AccountId(1), to: AccountId(2), amount: 40, expires_at_ms: u64::MAX };
    /// ledger.hold(request).unwrap();
    /// assert_eq!(ledger.void(HoldId(7)), Ok(40));
    /// assert_eq!(ledger.post(HoldId(7), 1), Err(HoldError::AlreadyResolved { id: HoldId(7), state: HoldState::Voided }));
    /// assert_eq!(ledger.balance(AccountId(1)), Ok(50));
    /// ```
    pub fn void(&self, id: HoldId) -> Result<u64, HoldError> {
        if id.is_reserved() {
            return Err(HoldError::ReservedHoldId(id));
        }
        durably!(self, |log| {
            self.holds.void(&self.epoch, log, id, |record| self.hold_cells(record), || self.clock.now_ms())
        })
    }

    /// Hold `id` and its state (a due hold expires first).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, HoldError, HoldId, HoldRequest, HoldState, Ledger};
    /// let ledger = Ledger::new();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// let request = HoldRequest { id: HoldId(3), from: AccountId(1), to: AccountId(2), amount: 5, expires_at_ms: u64::MAX };
    /// assert!(ledger.hold(request).is_err()); // no funds: recorded as rejected
    /// assert!(matches!(ledger.hold_info(HoldId(3)).unwrap().state, HoldState::Rejected(_)));
    /// assert_eq!(ledger.hold_info(HoldId(4)), Err(HoldError::UnknownHold(HoldId(4))));
    /// ```
    pub fn hold_info(&self, id: HoldId) -> Result<HoldInfo, HoldError> {
        if id.is_reserved() {
            return Err(HoldError::ReservedHoldId(id));
        }
        // A read that may expire the hold: journaled like a void.
        durably!(self, |log| {
            self.holds.info(&self.epoch, log, id, |record| self.hold_cells(record), || self.clock.now_ms())
        })
    }

    /// Expires every open hold whose expiry is at or before `now_ms`, returning
    /// their money to their sources; returns how many expired. Takes each
    /// hold-table shard lock in turn, for one pass over that shard.
    ///
    /// Nothing expires holds in the background: a due hold is also released
    /// the first time it is touched. To release due holds promptly, call this
    /// from a timer — for example a thread that runs
    /// `ledger.expire_due(clock.now_ms())` every second (the ledger is `Sync`;
    /// share it in an `Arc`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use atomic_ledger::{AccountId, AccountOptions, Clock, HoldId, HoldRequest, Ledger, ManualClock};
    /// let clock = Arc::new(ManualClock::new(0));
    /// let ledger = Ledger::builder().clock(clock.clone()).build().unwrap();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(AccountId(1), 10).unwrap();
    /// for (id, expires_at_ms) in [(1, 100), (2, 200)] {
    ///     ledger.hold(HoldRequest { id: HoldId(id), from: AccountId(1), to: AccountId(2), amount: 5, expires_at_ms }).unwrap();
    /// }
    /// assert_eq!(ledger.expire_due(150), 1);
    /// assert_eq!(ledger.balance(AccountId(1)), Ok(5));
    /// assert_eq!(ledger.expire_due(clock.now_ms() + 1_000), 1);
    /// assert_eq!(ledger.balance(AccountId(1)), Ok(10));
    /// ```
    pub fn expire_due(&self, now_ms: u64) -> usize {
        let cells = |record: &HoldRecord| self.hold_cells(record);
        match self.durable() {
            None => self.holds.expire_due(&self.epoch, NoLog, now_ms, cells),
            // A failed journal expires nothing (`run` refuses to start), and
            // the next durable operation reports the failure.
            Some(durable) => durable
                .run(|log| Ok::<_, JournalFailed>(self.holds.expire_due(&self.epoch, log, now_ms, cells)))
                .unwrap_or(0),
        }
    }

    /// How many holds the ledger currently remembers (open and resolved).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, HoldId, HoldRequest, Ledger};
    /// let ledger = Ledger::new();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// let request = HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 5, expires_at_ms: u64::MAX };
    /// let _ = ledger.hold(request); // refused (no funds), and remembered
    /// assert_eq!(ledger.holds_remembered(), 1);
    /// ```
    pub fn holds_remembered(&self) -> usize {
        self.holds.len()
    }

    /// The accounts of a recorded hold: validated when it was created, and
    /// accounts are never removed.
    fn hold_cells(&self, record: &HoldRecord) -> Cells<'_> {
        let cell = |slot: Slot| {
            self.directory.at(slot).unwrap_or_else(|| unreachable!("hold account at {slot:?} vanished"))
        };
        Cells { from: cell(record.from), to: cell(record.to), refunds: self.refunds() }
    }

    /// A hold as the table keeps it, from a journal's or a checkpoint's
    /// request: recovery checked that its accounts exist
    /// (`Replayed::check_pair`), and they were restored first.
    pub(super) fn hold_record(&self, (request, state, charged): RestoredHold) -> HoldRecord {
        let HoldRequest { id, from, to, amount, expires_at_ms } = request;
        let slot = |id| self.find_account(id).map_or_else(|_| unreachable!("restored"), |(_, slot)| slot);
        HoldRecord { id, from: slot(from), to: slot(to), amount, expires_at_ms, state, charged }
    }

    /// A remembered hold as a caller sees it: the request, the state, the credential.
    pub(super) fn hold_image(&self, record: &HoldRecord) -> RestoredHold {
        (self.hold_cells(record).request_of(record), record.state, record.charged)
    }
}
