//! Operations made with a credential (`*_as`): each one use of the
//! credential ([`crate::credential_cell`]) around the plain operation.

use super::transfers::Resolved;
use super::{Account, Ledger};
use crate::credential_cell::{run_as, Amounts, CredentialCell, InUse};
use crate::journal::NoLog;
use crate::transfer::move_funds;
use crate::{
    AccountAction, AccountError, AccountId, AccountInfo, AsError, CredentialId, HoldError, HoldId,
    HoldReceipt, HoldRequest, Posted, Scopes, Transfer, TransferError, TransferReceipt,
};
impl Ledger {
    /// [`Ledger::debit`] of the credential's account, with credential `id`
    /// (scope [`Scopes::DEBIT`]; the amount counts against its caps).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, AsError, CredentialError, CredentialId, CredentialSpec, Ledger, Scopes};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// ledger.credit(AccountId(1), 100).unwrap();
    /// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::DEBIT, amount_max_per_op: None, spend_cap: Some(15), expires_at_ms: None, rate_limit: None };
    /// ledger.issue_credential(CredentialId(1), spec).unwrap();
    /// assert_eq!(ledger.debit_as(CredentialId(1), 10), Ok(90));
    /// let capped = ledger.debit_as(CredentialId(1), 10);
    /// assert!(matches!(capped, Err(AsError::Denied(CredentialError::SpendCapExceeded { cap: 15, spent: 10, requested: 10, .. }))));
    /// ```
    pub fn debit_as(&self, id: CredentialId, amount: u64) -> Result<i64, AsError<AccountError>> {
        let (cell, account) = self.credential_for(id)?;
        let amounts = Amounts { amount, spend: amount };
        // The account by the credential's own reference: no second lookup.
        let debit = || Account { cell: cell.account_cell(), ledger: self }.debit(amount);
        self.run_as(cell, Scopes::DEBIT, account, amounts, debit, Result::is_ok)
    }

    /// [`Ledger::credit`] of the credential's account (scope [`Scopes::CREDIT`]).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, CredentialId, CredentialSpec, Ledger, Scopes};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::CREDIT, amount_max_per_op: Some(50), spend_cap: None, expires_at_ms: None, rate_limit: None };
    /// ledger.issue_credential(CredentialId(1), spec).unwrap();
    /// assert_eq!(ledger.credit_as(CredentialId(1), 50), Ok(50));
    /// assert!(ledger.credit_as(CredentialId(1), 51).is_err()); // above the per-operation maximum
    /// ```
    pub fn credit_as(&self, id: CredentialId, amount: u64) -> Result<i64, AsError<AccountError>> {
        let (cell, account) = self.credential_for(id)?;
        // A credit spends nothing, but the per-operation maximum applies to it.
        let amounts = Amounts { amount, spend: 0 };
        let credit = || Account { cell: cell.account_cell(), ledger: self }.credit(amount);
        self.run_as(cell, Scopes::CREDIT, account, amounts, credit, |_| false)
    }

    /// [`Ledger::transfer`] out of the credential's account (scope
    /// [`Scopes::DEBIT`]; `transfer.from` must be that account; the amount
    /// counts against the caps and the rate limit). The credential must be
    /// live and scoped for every call, repeats included. The amount is
    /// charged under the transfer id's lock, and only for a fresh id: a repeat
    /// (sequential, or concurrent with the first submission) gets the
    /// recorded outcome and spends nothing, even when the cap has no room
    /// left. A refusal by the cap or the rate limit records nothing, so the
    /// id stays usable.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, AsError, CredentialError, CredentialId, CredentialSpec, Ledger, Scopes, Transfer, TransferId};
    /// let ledger = Ledger::new();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(AccountId(1), 100).unwrap();
    /// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::DEBIT, amount_max_per_op: None, spend_cap: Some(60), expires_at_ms: None, rate_limit: None };
    /// ledger.issue_credential(CredentialId(1), spec).unwrap();
    /// let pay = Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(2), amount: 30 };
    /// assert!(ledger.transfer_as(CredentialId(1), pay).is_ok());
    /// assert!(ledger.transfer_as(CredentialId(1), pay).unwrap().repeat); // spends nothing again
    /// let theirs = Transfer { id: TransferId(2), from: AccountId(2), to: AccountId(1), amount: 1 };
    /// assert!(matches!(ledger.transfer_as(CredentialId(1), theirs), Err(AsError::Denied(CredentialError::WrongAccount { .. }))));
    /// assert_eq!(ledger.credential_info(CredentialId(1)).unwrap().spent, 30);
    /// ```
    pub fn transfer_as(
        &self,
        id: CredentialId,
        transfer: Transfer,
    ) -> Result<TransferReceipt, AsError<TransferError>> {
        let (cell, _) = self.credential_for(id)?;
        // The spend is charged under the transfer id's lock, for a fresh id only.
        let amounts = Amounts { amount: transfer.amount, spend: 0 };
        let mut in_use = InUse::begin(cell, Scopes::DEBIT, transfer.from, amounts, self.rates())
            .map_err(AsError::Denied)?;
        let result = self.transfer_charged(transfer, &mut in_use);
        in_use.end(matches!(result, Ok(receipt) if !receipt.repeat));
        result
    }

    /// [`Ledger::transfer`], charging `in_use` the amount if the id is fresh.
    fn transfer_charged<'a>(
        &'a self,
        transfer: Transfer,
        in_use: &mut InUse<'a>,
    ) -> Result<TransferReceipt, AsError<TransferError>> {
        let Transfer { id, amount, .. } = transfer;
        let Resolved { from, to, record } = self.resolve_transfer(&transfer).map_err(AsError::Failed)?;
        let decided = self.transfer_ids.decide(id, record, || {
            in_use.charge(amount)?;
            // The money's steps are journaled; the credential's spending is
            // not yet (issue 16's next step).
            let moved = match self.durable() {
                None => move_funds(&self.epoch, NoLog, &transfer, from, to),
                Some(durable) => move_funds(&self.epoch, durable.log(), &transfer, from, to),
            };
            Ok(moved)
        });
        let decision = decided.map_err(AsError::Failed)?.map_err(AsError::Denied)?;
        match decision.outcome {
            Ok(()) => Ok(TransferReceipt { id, repeat: decision.repeat }),
            Err(reason) => Err(AsError::Failed(TransferError::Rejected { reason, repeat: decision.repeat })),
        }
    }

    /// [`Ledger::hold`] on the credential's account (scope [`Scopes::HOLD`];
    /// `request.from` must be that account). The amount counts against the
    /// credential's caps and comes out of its rate limit now; whatever the
    /// hold does not post goes back to both when it resolves (a partial post
    /// returns the rest, a void or an expiry all of it). That is how to
    /// reserve an estimated cost and settle the actual one. As for
    /// [`Ledger::transfer_as`], the charge is made under the hold id's lock
    /// and only for a fresh id: a repeat is answered and charged nothing.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, BucketId, BucketPolicy, CredentialId, CredentialSpec, HoldId, HoldRequest, Ledger, Scopes};
    /// let ledger = Ledger::new();
    /// let (customer, provider) = (AccountId(1), AccountId(2));
    /// for id in [customer, provider] {
    ///     ledger.open_account(id, AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(customer, 1_000).unwrap(); // the month's allowance, in tokens
    /// ledger.open_bucket(BucketId(1), BucketPolicy { capacity: 500, refill_amount: 500, refill_interval_ms: 60_000 }).unwrap();
    /// let key = CredentialSpec { account: customer, scopes: Scopes::HOLD | Scopes::RESOLVE, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: Some(BucketId(1)) };
    /// ledger.issue_credential(CredentialId(1), key).unwrap();
    /// // Reserve an estimate of 300 tokens, then settle the 120 actually used.
    /// let request = HoldRequest { id: HoldId(1), from: customer, to: provider, amount: 300, expires_at_ms: u64::MAX };
    /// ledger.hold_as(CredentialId(1), request).unwrap();
    /// assert_eq!(ledger.bucket_info(BucketId(1)).unwrap().level, 200);
    /// ledger.post_as(CredentialId(1), HoldId(1), 120).unwrap();
    /// assert_eq!(ledger.bucket_info(BucketId(1)).unwrap().level, 380); // 180 given back
    /// assert_eq!(ledger.balance(customer), Ok(880));
    /// ```
    pub fn hold_as(&self, id: CredentialId, request: HoldRequest) -> Result<HoldReceipt, AsError<HoldError>> {
        let (cell, _) = self.credential_for(id)?;
        // As for `transfer_as`: charged under the hold id's lock, for a fresh id only.
        let amounts = Amounts { amount: request.amount, spend: 0 };
        let mut in_use =
            InUse::begin(cell, Scopes::HOLD, request.from, amounts, self.rates()).map_err(AsError::Denied)?;
        let charged = Some(id).filter(|_| cell.charges_anything());
        // The hold's money is journaled; the credential's spending is not yet.
        let held = match self.durable() {
            None => self.hold_with(NoLog, request, charged, || in_use.charge(request.amount)),
            Some(durable) => {
                self.hold_with(durable.log(), request, charged, || in_use.charge(request.amount))
            }
        };
        let result = match held {
            Ok(Ok(receipt)) => Ok(receipt),
            Ok(Err(denied)) => Err(AsError::Denied(denied)),
            Err(error) => Err(AsError::Failed(error)),
        };
        in_use.end(matches!(result, Ok(receipt) if !receipt.repeat));
        result
    }

    /// The account a hold-resolving credential must be for: the hold's source
    /// or its destination.
    fn hold_party(
        &self,
        id: CredentialId,
        hold: HoldId,
    ) -> Result<(&CredentialCell, AccountId), AsError<HoldError>> {
        let (cell, account) = self.credential_for(id)?;
        let request = self.hold_info(hold).map_err(AsError::Failed)?.request;
        Ok((cell, if request.to == account { request.to } else { request.from }))
    }

    /// [`Ledger::post`] with a credential for the hold's source or destination
    /// (scope [`Scopes::RESOLVE`]).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, CredentialId, CredentialSpec, HoldId, HoldRequest, Ledger, Scopes};
    /// let ledger = Ledger::new();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(AccountId(1), 100).unwrap();
    /// ledger.hold(HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 25, expires_at_ms: u64::MAX }).unwrap();
    /// let merchant = CredentialSpec { account: AccountId(2), scopes: Scopes::RESOLVE, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: None };
    /// ledger.issue_credential(CredentialId(9), merchant).unwrap();
    /// assert_eq!(ledger.post_as(CredentialId(9), HoldId(1), 20).map(|posted| posted.posted), Ok(20));
    /// ```
    pub fn post_as(&self, id: CredentialId, hold: HoldId, amount: u64) -> Result<Posted, AsError<HoldError>> {
        let (cell, account) = self.hold_party(id, hold)?;
        let amounts = Amounts { amount, spend: 0 };
        self.run_as(cell, Scopes::RESOLVE, account, amounts, || self.post(hold, amount), |_| false)
    }

    /// [`Ledger::void`] with a credential for the hold's source or destination
    /// (scope [`Scopes::RESOLVE`]).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, CredentialId, CredentialSpec, HoldId, HoldRequest, Ledger, Scopes};
    /// let ledger = Ledger::new();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(AccountId(1), 100).unwrap();
    /// ledger.hold(HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 25, expires_at_ms: u64::MAX }).unwrap();
    /// let card = CredentialSpec { account: AccountId(1), scopes: Scopes::RESOLVE, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: None };
    /// ledger.issue_credential(CredentialId(3), card).unwrap();
    /// assert_eq!(ledger.void_as(CredentialId(3), HoldId(1)), Ok(25));
    /// ```
    pub fn void_as(&self, id: CredentialId, hold: HoldId) -> Result<u64, AsError<HoldError>> {
        let (cell, account) = self.hold_party(id, hold)?;
        let amounts = Amounts { amount: 0, spend: 0 };
        self.run_as(cell, Scopes::RESOLVE, account, amounts, || self.void(hold), |_| false)
    }

    /// [`Ledger::account_info`] of the credential's account (scope [`Scopes::READ`]).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, CredentialId, CredentialSpec, Ledger, Scopes};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::READ, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: None };
    /// ledger.issue_credential(CredentialId(1), spec).unwrap();
    /// assert_eq!(ledger.account_info_as(CredentialId(1)).map(|info| info.balance), Ok(0));
    /// ```
    pub fn account_info_as(&self, id: CredentialId) -> Result<AccountInfo, AsError<AccountError>> {
        let (cell, account) = self.credential_for(id)?;
        let amounts = Amounts { amount: 0, spend: 0 };
        self.run_as(cell, Scopes::READ, account, amounts, || self.account_info(account), |_| false)
    }

    /// [`Ledger::freeze`], [`Ledger::unfreeze`] or [`Ledger::close`] of the
    /// credential's account (scope [`Scopes::ADMIN`]).
    ///
    /// ```
    /// use atomic_ledger::{AccountAction, AccountId, AccountOptions, CredentialId, CredentialSpec, Ledger, Scopes, Status};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::ADMIN, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: None };
    /// ledger.issue_credential(CredentialId(1), spec).unwrap();
    /// ledger.administer_as(CredentialId(1), AccountAction::Freeze).unwrap();
    /// assert_eq!(ledger.status(AccountId(1)), Ok(Status::Frozen));
    /// ```
    pub fn administer_as(
        &self,
        id: CredentialId,
        action: AccountAction,
    ) -> Result<(), AsError<AccountError>> {
        let (cell, account) = self.credential_for(id)?;
        let amounts = Amounts { amount: 0, spend: 0 };
        let operation = || match action {
            AccountAction::Freeze => self.freeze(account),
            AccountAction::Unfreeze => self.unfreeze(account),
            AccountAction::Close => self.close(account),
        };
        self.run_as(cell, Scopes::ADMIN, account, amounts, operation, |_| false)
    }

    /// The credential and its account, or a denial.
    fn credential_for<E>(&self, id: CredentialId) -> Result<(&CredentialCell, AccountId), AsError<E>> {
        let cell = self.credential(id).map_err(AsError::Denied)?;
        Ok((cell, cell.account()))
    }

    /// [`run_as`] with this ledger's rate limits.
    #[inline(always)]
    fn run_as<T, E>(
        &self,
        cell: &CredentialCell,
        needed: Scopes,
        account: AccountId,
        amounts: Amounts,
        operation: impl FnOnce() -> Result<T, E>,
        took_effect: impl FnOnce(&Result<T, E>) -> bool,
    ) -> Result<T, AsError<E>> {
        run_as(cell, needed, account, amounts, self.rates(), operation, took_effect)
    }
}
