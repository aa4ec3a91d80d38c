//! A plain sequential reference model of the ledger, and the operations that
//! drive both it and the real `Ledger` (property tests, linearizability
//! histories, the fuzz target).
//!
//! The model is deliberately naive: `BTreeMap`s and `if`s, no atomics, no
//! sharing. Every outcome, error numbers included, must equal the real one's.
//! It does not model eviction of remembered transfer ids: harnesses configure
//! `transfer_ids_max` above the number of operations they run.
#![allow(dead_code)]

use std::collections::BTreeMap;

use super::lincheck::{Spec, Stepped};
use arbitrary::Arbitrary;
use atomic_ledger::{
    AccountError, AccountId, AccountInfo, AccountOptions, Floor, Ledger, OpenError, Opened, Rejection,
    Status, Transfer, TransferError, TransferField, TransferId, TransferReceipt, AMOUNT_MAX, BALANCE_MAX,
};

/// Accounts the harnesses may open; one more than they can hold.
pub const ACCOUNTS_MAX: usize = 4;
/// Plenty: the model does not evict.
pub const TRANSFER_IDS_MAX: usize = 1 << 16;

/// A ledger configured like the model.
pub fn ledger() -> Ledger {
    Ledger::builder()
        .accounts_max(ACCOUNTS_MAX)
        .transfer_ids_max(TRANSFER_IDS_MAX)
        .transfer_id_shards(4)
        .build()
        .expect("valid config")
}

/// Index into a small account space: 0 and 6 are the reserved ids, 1..=5 real ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct AccountRef(pub u8);

impl AccountRef {
    pub fn id(self) -> AccountId {
        match self.0 % 7 {
            0 => AccountId(0),
            6 => AccountId(u128::MAX),
            n => AccountId(u128::from(n)),
        }
    }
}

/// An amount: mostly small, sometimes at or past the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct Amount(pub u8, pub u16);

impl Amount {
    pub fn value(self) -> u64 {
        match self.0 % 16 {
            0 => 0,
            1 => AMOUNT_MAX,
            2 => AMOUNT_MAX + 1,
            3 => u64::MAX,
            4 => AMOUNT_MAX - u64::from(self.1),
            _ => 1 + u64::from(self.1 % 200),
        }
    }
}

/// Index into a small transfer-id space (so repeats and conflicts are common):
/// 0 and 7 are the reserved ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct TransferRef(pub u8);

impl TransferRef {
    pub fn id(self) -> TransferId {
        match self.0 % 8 {
            0 => TransferId(0),
            7 => TransferId(u128::MAX),
            n => TransferId(u128::from(n)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub enum FloorKind {
    Zero,
    Overdraft(Amount),
    Unbounded,
}

impl FloorKind {
    pub fn options(self) -> AccountOptions {
        let floor = match self {
            FloorKind::Zero => Floor::Zero,
            FloorKind::Overdraft(limit) => Floor::Overdraft(limit.value()),
            FloorKind::Unbounded => Floor::Unbounded,
        };
        AccountOptions { floor }
    }
}

/// One call of the public API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub enum Op {
    Open(AccountRef, FloorKind),
    Credit(AccountRef, Amount),
    Debit(AccountRef, Amount),
    /// Like `Debit`, through an `Account` handle.
    DebitByHandle(AccountRef, Amount),
    Freeze(AccountRef),
    Unfreeze(AccountRef),
    Close(AccountRef),
    Transfer(TransferRef, AccountRef, AccountRef, Amount),
    Read(AccountRef),
}

/// What a call returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Open(Result<Opened, OpenError>),
    Money(Result<i64, AccountError>),
    Status(Result<(), AccountError>),
    Transfer(Result<TransferReceipt, TransferError>),
    Read(Result<AccountInfo, AccountError>),
}

/// Runs `op` on the real ledger.
pub fn apply_real(ledger: &Ledger, op: &Op) -> Outcome {
    match *op {
        Op::Open(account, floor) => Outcome::Open(ledger.open_account(account.id(), floor.options())),
        Op::Credit(account, amount) => Outcome::Money(ledger.credit(account.id(), amount.value())),
        Op::Debit(account, amount) => Outcome::Money(ledger.debit(account.id(), amount.value())),
        Op::DebitByHandle(account, amount) => {
            Outcome::Money(ledger.account(account.id()).and_then(|handle| handle.debit(amount.value())))
        }
        Op::Freeze(account) => Outcome::Status(ledger.freeze(account.id())),
        Op::Unfreeze(account) => Outcome::Status(ledger.unfreeze(account.id())),
        Op::Close(account) => Outcome::Status(ledger.close(account.id())),
        Op::Transfer(id, from, to, amount) => Outcome::Transfer(ledger.transfer(Transfer {
            id: id.id(),
            from: from.id(),
            to: to.id(),
            amount: amount.value(),
        })),
        Op::Read(account) => Outcome::Read(ledger.account_info(account.id())),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountModel {
    pub options: AccountOptions,
    pub floor: i64,
    pub balance: i64,
    pub status: Status,
    /// Transfers out of this account between their debit and their release.
    pub in_flight: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TransferModel {
    from: AccountId,
    to: AccountId,
    amount: u64,
    outcome: Result<(), Rejection>,
}

/// The sequential specification. A transfer takes three steps, each atomic:
/// 1. validate, look the id up, debit `from` and count it in flight;
/// 2. credit `to`, or undo the debit (and finish, rejected);
/// 3. release `from`'s in-flight count (and finish, applied).
///
/// While a transfer is between steps, its id is pending: a duplicate cannot be
/// decided until it finishes (the real ledger holds the id's shard lock).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Model {
    pub accounts: BTreeMap<AccountId, AccountModel>,
    transfers: BTreeMap<TransferId, TransferModel>,
    pending: BTreeMap<TransferId, TransferModel>,
    pub entered: u128,
    pub left: u128,
}

fn check_amount(amount: u64) -> Result<(), AccountError> {
    match amount {
        0 => Err(AccountError::ZeroAmount),
        amount if amount > AMOUNT_MAX => Err(AccountError::AmountTooLarge { amount, amount_max: AMOUNT_MAX }),
        _ => Ok(()),
    }
}

impl AccountModel {
    fn can_debit(&self, id: AccountId, amount: u64) -> Result<i64, Rejection> {
        match self.status {
            Status::Frozen => return Err(Rejection::AccountFrozen { account: id }),
            Status::Closed => return Err(Rejection::AccountClosed { account: id }),
            Status::Open => {}
        }
        let balance = self.balance - amount as i64;
        if balance < self.floor {
            let available = (self.balance - self.floor) as u64;
            return Err(Rejection::InsufficientFunds { account: id, available, requested: amount });
        }
        Ok(balance)
    }

    fn can_credit(&self, id: AccountId, amount: u64) -> Result<i64, Rejection> {
        if self.status == Status::Closed {
            return Err(Rejection::AccountClosed { account: id });
        }
        let balance = self.balance + amount as i64;
        if balance > BALANCE_MAX {
            return Err(Rejection::BalanceOverflow {
                account: id,
                balance: self.balance,
                amount,
                balance_max: BALANCE_MAX,
            });
        }
        Ok(balance)
    }
}

impl Model {
    fn lookup(&self, id: AccountId) -> Result<&AccountModel, AccountError> {
        if id.is_reserved() {
            return Err(AccountError::ReservedAccountId(id));
        }
        self.accounts.get(&id).ok_or(AccountError::UnknownAccount(id))
    }

    fn account_mut(&mut self, id: AccountId) -> Result<&mut AccountModel, AccountError> {
        self.lookup(id)?;
        Ok(self.accounts.get_mut(&id).expect("looked up"))
    }

    pub fn apply(&mut self, op: &Op) -> Outcome {
        match *op {
            Op::Open(account, floor) => Outcome::Open(self.open(account.id(), floor.options())),
            Op::Credit(account, amount) => Outcome::Money(self.credit(account.id(), amount.value())),
            Op::Debit(account, amount) | Op::DebitByHandle(account, amount) => {
                Outcome::Money(self.debit(account.id(), amount.value()))
            }
            Op::Freeze(account) => Outcome::Status(self.set_status(account.id(), Status::Frozen)),
            Op::Unfreeze(account) => Outcome::Status(self.set_status(account.id(), Status::Open)),
            Op::Close(account) => Outcome::Status(self.close(account.id())),
            Op::Transfer(..) => {
                for phase in 0..3 {
                    match self.step(op, phase) {
                        Stepped::Done(outcome) => return outcome,
                        Stepped::Next => {}
                        Stepped::Blocked => unreachable!("sequentially, no id is pending"),
                    }
                }
                unreachable!("a transfer finishes in three steps")
            }
            Op::Read(account) => Outcome::Read(self.read(account.id())),
        }
    }

    fn open(&mut self, id: AccountId, options: AccountOptions) -> Result<Opened, OpenError> {
        if id.is_reserved() {
            return Err(OpenError::ReservedAccountId(id));
        }
        if let Floor::Overdraft(limit) = options.floor {
            if limit > BALANCE_MAX as u64 {
                return Err(OpenError::OverdraftTooLarge { limit, limit_max: BALANCE_MAX as u64 });
            }
        }
        if let Some(existing) = self.accounts.get(&id) {
            return if existing.options == options {
                Ok(Opened::AlreadyExists)
            } else {
                Err(OpenError::OptionsConflict {
                    account: id,
                    existing: existing.options,
                    requested: options,
                })
            };
        }
        if self.accounts.len() == ACCOUNTS_MAX {
            return Err(OpenError::LedgerFull { accounts_max: ACCOUNTS_MAX });
        }
        let floor = options.floor.lowest_balance();
        self.accounts
            .insert(id, AccountModel { options, floor, balance: 0, status: Status::Open, in_flight: 0 });
        Ok(Opened::Created)
    }

    fn credit(&mut self, id: AccountId, amount: u64) -> Result<i64, AccountError> {
        self.lookup(id)?;
        check_amount(amount)?;
        let account = self.account_mut(id)?;
        account.balance = account.can_credit(id, amount)?;
        let balance = account.balance;
        self.entered += u128::from(amount);
        Ok(balance)
    }

    fn debit(&mut self, id: AccountId, amount: u64) -> Result<i64, AccountError> {
        self.lookup(id)?;
        check_amount(amount)?;
        let account = self.account_mut(id)?;
        account.balance = account.can_debit(id, amount)?;
        let balance = account.balance;
        self.left += u128::from(amount);
        Ok(balance)
    }

    fn set_status(&mut self, id: AccountId, status: Status) -> Result<(), AccountError> {
        let account = self.account_mut(id)?;
        if account.status == status {
            return Ok(());
        }
        if account.status == Status::Closed {
            return Err(Rejection::AccountClosed { account: id }.into());
        }
        account.status = status;
        Ok(())
    }

    fn close(&mut self, id: AccountId) -> Result<(), AccountError> {
        let account = self.account_mut(id)?;
        if account.status == Status::Closed {
            return Err(Rejection::AccountClosed { account: id }.into());
        }
        if account.balance != 0 {
            return Err(Rejection::BalanceNotZero { account: id, balance: account.balance }.into());
        }
        if account.in_flight != 0 {
            return Err(Rejection::TransfersInFlight { account: id, in_flight: account.in_flight }.into());
        }
        account.status = Status::Closed;
        Ok(())
    }

    fn transfer_lookup(&self, id: AccountId) -> Result<&AccountModel, TransferError> {
        self.lookup(id).map_err(|error| match error {
            AccountError::ReservedAccountId(id) => TransferError::ReservedAccountId(id),
            _ => TransferError::UnknownAccount(id),
        })
    }

    /// Step 1 of a transfer: everything up to and including the debit leg.
    fn transfer_begin(
        &mut self,
        id: TransferId,
        from: AccountId,
        to: AccountId,
        amount: u64,
    ) -> Stepped<Result<TransferReceipt, TransferError>> {
        if id.is_reserved() {
            return Stepped::Done(Err(TransferError::ReservedTransferId(id)));
        }
        let validated = self.transfer_lookup(from).and_then(|_| self.transfer_lookup(to)).and_then(|_| {
            check_amount(amount).map_err(|error| match error {
                AccountError::AmountTooLarge { amount, amount_max } => {
                    TransferError::AmountTooLarge { amount, amount_max }
                }
                _ => TransferError::ZeroAmount,
            })
        });
        if let Err(error) = validated {
            return Stepped::Done(Err(error));
        }
        if from == to {
            return Stepped::Done(Err(TransferError::SameAccount(from)));
        }
        if self.pending.contains_key(&id) {
            return Stepped::Blocked;
        }
        if let Some(seen) = self.transfers.get(&id) {
            let field = if seen.from != from {
                TransferField::From
            } else if seen.to != to {
                TransferField::To
            } else if seen.amount != amount {
                TransferField::Amount
            } else {
                return Stepped::Done(match seen.outcome {
                    Ok(()) => Ok(TransferReceipt { id, repeat: true }),
                    Err(reason) => Err(TransferError::Rejected { reason, repeat: true }),
                });
            };
            return Stepped::Done(Err(TransferError::IdConflict { id, field }));
        }
        let record = TransferModel { from, to, amount, outcome: Ok(()) };
        let source = self.accounts.get_mut(&from).expect("validated");
        match source.can_debit(from, amount) {
            Ok(balance) => {
                source.balance = balance;
                source.in_flight += 1;
                self.pending.insert(id, record);
                Stepped::Next
            }
            Err(reason) => {
                self.transfers.insert(id, TransferModel { outcome: Err(reason), ..record });
                Stepped::Done(Err(TransferError::Rejected { reason, repeat: false }))
            }
        }
    }

    /// Step 2: credit the destination, or undo the debit and finish rejected.
    fn transfer_credit(&mut self, id: TransferId) -> Stepped<Result<TransferReceipt, TransferError>> {
        let record = self.pending[&id];
        let destination = self.accounts.get_mut(&record.to).expect("validated");
        match destination.can_credit(record.to, record.amount) {
            Ok(balance) => {
                destination.balance = balance;
                Stepped::Next
            }
            Err(reason) => {
                let source = self.accounts.get_mut(&record.from).expect("validated");
                source.balance += record.amount as i64;
                source.in_flight -= 1;
                self.pending.remove(&id);
                self.transfers.insert(id, TransferModel { outcome: Err(reason), ..record });
                Stepped::Done(Err(TransferError::Rejected { reason, repeat: false }))
            }
        }
    }

    /// Step 3: release the source's in-flight count and finish applied.
    fn transfer_finish(&mut self, id: TransferId) -> Stepped<Result<TransferReceipt, TransferError>> {
        let record = self.pending.remove(&id).expect("begun");
        self.accounts.get_mut(&record.from).expect("validated").in_flight -= 1;
        self.transfers.insert(id, record);
        Stepped::Done(Ok(TransferReceipt { id, repeat: false }))
    }

    fn read(&self, id: AccountId) -> Result<AccountInfo, AccountError> {
        let account = self.lookup(id)?;
        Ok(AccountInfo {
            id,
            balance: account.balance,
            status: account.status,
            floor: account.floor,
            in_flight: account.in_flight,
        })
    }

    /// Asserts that the real ledger's state equals the model's.
    pub fn assert_matches(&self, ledger: &Ledger) {
        for raw in 0..7u8 {
            let id = AccountRef(raw).id();
            assert_eq!(ledger.account_info(id), self.read(id), "state of account {id}");
        }
        let audit = ledger.audit();
        assert_eq!(audit.accounts, self.accounts.len());
        assert_eq!(
            audit.balance_total,
            self.accounts.values().map(|account| i128::from(account.balance)).sum::<i128>()
        );
        assert_eq!((audit.entered_total, audit.left_total), (self.entered, self.left));
        assert!(audit.is_consistent(), "{audit:?}");
        assert_eq!(ledger.transfer_ids_remembered(), self.transfers.len());
    }
}

impl Spec for Model {
    type Op = Op;
    type Ret = Outcome;

    fn step(&mut self, op: &Op, phase: u32) -> Stepped<Outcome> {
        let Op::Transfer(id, from, to, amount) = *op else {
            return Stepped::Done(self.apply(op));
        };
        let stepped = match phase {
            0 => self.transfer_begin(id.id(), from.id(), to.id(), amount.value()),
            1 => self.transfer_credit(id.id()),
            _ => self.transfer_finish(id.id()),
        };
        match stepped {
            Stepped::Done(result) => Stepped::Done(Outcome::Transfer(result)),
            Stepped::Next => Stepped::Next,
            Stepped::Blocked => Stepped::Blocked,
        }
    }
}
