//! Accounts by id and by handle: open, debit, credit, freeze, unfreeze,
//! close and the reads. Each is one CAS loop on the account's word
//! ([`crate::cell`]); the lookup by id writes nothing.

use super::durable::durably;
use super::Ledger;
use crate::cell::AccountCell;
use crate::directory::Inserted;
use crate::journal::{Entry, Logging};
use crate::{
    AccountError, AccountId, AccountInfo, AccountOptions, Floor, OpenError, Opened, Status, AMOUNT_MAX,
    BALANCE_MAX,
};

/// Validates an amount the same way for every operation.
#[inline]
pub(super) fn check_amount(amount: u64) -> Result<(), AccountError> {
    if amount == 0 {
        return Err(AccountError::ZeroAmount);
    }
    if amount > AMOUNT_MAX {
        return Err(AccountError::AmountTooLarge { amount, amount_max: AMOUNT_MAX });
    }
    Ok(())
}

impl Ledger {
    /// Opens account `id` with `options`. Opening an existing account with the
    /// same options returns [`Opened::AlreadyExists`] and changes nothing, so a
    /// retried open is safe; with different options it is an error.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger, OpenError, Opened};
    /// let ledger = Ledger::new();
    /// let options = AccountOptions { floor: Floor::Overdraft(100), ..AccountOptions::default() };
    /// assert_eq!(ledger.open_account(AccountId(9), options), Ok(Opened::Created));
    /// assert_eq!(ledger.open_account(AccountId(9), options), Ok(Opened::AlreadyExists));
    /// assert!(matches!(
    ///     ledger.open_account(AccountId(9), AccountOptions::default()),
    ///     Err(OpenError::OptionsConflict { .. })
    /// ));
    /// ```
    pub fn open_account(&self, id: AccountId, options: AccountOptions) -> Result<Opened, OpenError> {
        if id.is_reserved() {
            return Err(OpenError::ReservedAccountId(id));
        }
        if let Floor::Overdraft(limit) = options.floor {
            if limit > BALANCE_MAX as u64 {
                return Err(OpenError::OverdraftTooLarge { limit, limit_max: BALANCE_MAX as u64 });
            }
        }
        if let Some(ceiling) = options.ceiling.filter(|&ceiling| ceiling > BALANCE_MAX as u64) {
            return Err(OpenError::CeilingTooLarge { ceiling, ceiling_max: BALANCE_MAX as u64 });
        }
        durably!(self, |log| self.open_logged(id, options, log))
    }

    fn open_logged(
        &self,
        id: AccountId,
        options: AccountOptions,
        log: impl Logging,
    ) -> Result<Opened, OpenError> {
        // Under the directory's insert lock, before the cell is published:
        // every step that finds the account takes a later position.
        let make = || {
            log.record(|| Entry::AccountOpened { account: id, options });
            AccountCell::new(id, options, self.epoch.load())
        };
        match self.directory.insert(id.0, make) {
            Inserted::New => Ok(Opened::Created),
            Inserted::Existing(cell) if cell.options() == options => Ok(Opened::AlreadyExists),
            Inserted::Existing(cell) => {
                Err(OpenError::OptionsConflict { account: id, existing: cell.options(), requested: options })
            }
            Inserted::Full => Err(OpenError::LedgerFull { accounts_max: self.directory.entries_max() }),
        }
    }

    /// A handle to account `id`, for hot code that wants to skip the lookup.
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let account = ledger.account(AccountId(1)).unwrap();
    /// account.credit(5).unwrap();
    /// assert_eq!(ledger.balance(AccountId(1)), Ok(5)); // the same account, by id
    /// assert!(matches!(ledger.account(AccountId(2)), Err(AccountError::UnknownAccount(AccountId(2)))));
    /// ```
    #[inline]
    pub fn account(&self, id: AccountId) -> Result<Account<'_>, AccountError> {
        let (cell, _) = self.find_account(id)?;
        Ok(Account { cell, ledger: self })
    }

    /// Debits `amount` from `id` to the outside world; returns the new balance.
    /// One CAS decides: fails, changing nothing, if the account is frozen or
    /// closed or the balance would fall below its floor.
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection};
    /// let ledger = Ledger::new();
    /// let quota = AccountId(5);
    /// ledger.open_account(quota, AccountOptions::default()).unwrap();
    /// ledger.credit(quota, 2).unwrap();
    /// assert_eq!(ledger.debit(quota, 2), Ok(0));
    /// assert!(matches!(
    ///     ledger.debit(quota, 1),
    ///     Err(AccountError::Rejected(Rejection::InsufficientFunds { available: 0, requested: 1, .. }))
    /// ));
    /// ```
    #[inline]
    pub fn debit(&self, id: AccountId, amount: u64) -> Result<i64, AccountError> {
        self.account(id)?.debit(amount)
    }

    /// Credits `amount` to `id` from the outside world; returns the new balance.
    /// Fails, changing nothing, if the account is closed or would exceed [`BALANCE_MAX`].
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection, BALANCE_MAX};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// assert_eq!(ledger.credit(AccountId(1), 40), Ok(40));
    /// let overflow = ledger.credit(AccountId(1), BALANCE_MAX as u64);
    /// assert!(matches!(overflow, Err(AccountError::Rejected(Rejection::BalanceOverflow { .. }))));
    /// assert_eq!(ledger.balance(AccountId(1)), Ok(40));
    /// ```
    #[inline]
    pub fn credit(&self, id: AccountId, amount: u64) -> Result<i64, AccountError> {
        self.account(id)?.credit(amount)
    }

    /// Freezes `id`: credits still land, debits and transfers out fail. See [`Account::freeze`].
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection};
    /// let ledger = Ledger::new();
    /// let id = AccountId(1);
    /// ledger.open_account(id, AccountOptions::default()).unwrap();
    /// ledger.freeze(id).unwrap();
    /// assert_eq!(ledger.credit(id, 10), Ok(10));
    /// assert!(matches!(ledger.debit(id, 1), Err(AccountError::Rejected(Rejection::AccountFrozen { .. }))));
    /// ```
    pub fn freeze(&self, id: AccountId) -> Result<(), AccountError> {
        self.account(id)?.freeze()
    }

    /// Unfreezes `id`. See [`Account::unfreeze`].
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger};
    /// let ledger = Ledger::new();
    /// let id = AccountId(1);
    /// ledger.open_account(id, AccountOptions::default()).unwrap();
    /// ledger.credit(id, 10).unwrap();
    /// ledger.freeze(id).unwrap();
    /// ledger.unfreeze(id).unwrap();
    /// assert_eq!(ledger.debit(id, 10), Ok(0));
    /// ```
    pub fn unfreeze(&self, id: AccountId) -> Result<(), AccountError> {
        self.account(id)?.unfreeze()
    }

    /// Closes `id` for good. See [`Account::close`].
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection};
    /// let ledger = Ledger::new();
    /// let id = AccountId(1);
    /// ledger.open_account(id, AccountOptions::default()).unwrap();
    /// ledger.credit(id, 5).unwrap();
    /// let refused = ledger.close(id);
    /// assert!(matches!(refused, Err(AccountError::Rejected(Rejection::BalanceNotZero { balance: 5, .. }))));
    /// ledger.debit(id, 5).unwrap();
    /// assert_eq!(ledger.close(id), Ok(()));
    /// assert!(matches!(ledger.credit(id, 1), Err(AccountError::Rejected(Rejection::AccountClosed { .. }))));
    /// ```
    pub fn close(&self, id: AccountId) -> Result<(), AccountError> {
        self.account(id)?.close()
    }

    /// The balance of `id` now.
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// ledger.credit(AccountId(1), 12).unwrap();
    /// assert_eq!(ledger.balance(AccountId(1)), Ok(12));
    /// assert_eq!(ledger.balance(AccountId(2)), Err(AccountError::UnknownAccount(AccountId(2))));
    /// ```
    pub fn balance(&self, id: AccountId) -> Result<i64, AccountError> {
        Ok(self.account(id)?.balance())
    }

    /// The status of `id` now.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger, Status};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// assert_eq!(ledger.status(AccountId(1)), Ok(Status::Open));
    /// ledger.close(AccountId(1)).unwrap();
    /// assert_eq!(ledger.status(AccountId(1)), Ok(Status::Closed));
    /// ```
    pub fn status(&self, id: AccountId) -> Result<Status, AccountError> {
        Ok(self.account(id)?.status())
    }

    /// Balance, status, floor, in-flight and open-hold counts of `id` from one
    /// atomic load, and its held total read just after.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger, Status};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Overdraft(100), ..AccountOptions::default() }).unwrap();
    /// ledger.debit(AccountId(1), 30).unwrap();
    /// let info = ledger.account_info(AccountId(1)).unwrap();
    /// assert_eq!((info.balance, info.status, info.floor, info.in_flight, info.held), (-30, Status::Open, -100, 0, 0));
    /// ```
    pub fn account_info(&self, id: AccountId) -> Result<AccountInfo, AccountError> {
        Ok(self.account(id)?.info())
    }
}

/// A handle to one account: the same operations as the id-based ones on
/// [`crate::Ledger`], without the directory lookup. Borrowing the ledger keeps it
/// free of reference counting, so a hot loop touches only the account's own
/// cache line. `Copy`, `Send` and `Sync`.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// let account = ledger.account(AccountId(1)).unwrap();
/// account.credit(100).unwrap();
/// assert_eq!(account.debit(30), Ok(70));
/// assert_eq!(account.balance(), 70);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Account<'ledger> {
    pub(crate) cell: &'ledger AccountCell,
    pub(super) ledger: &'ledger Ledger,
}

impl<'ledger> Account<'ledger> {
    /// The account's id.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(3), AccountOptions::default()).unwrap();
    /// assert_eq!(ledger.account(AccountId(3)).unwrap().id(), AccountId(3));
    /// ```
    pub fn id(&self) -> AccountId {
        self.cell.id()
    }

    /// Debits `amount` to the outside world; returns the new balance. Fails,
    /// changing nothing, if the account is not open or the balance would go
    /// below its floor.
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let account = ledger.account(AccountId(1)).unwrap();
    /// account.credit(10).unwrap();
    /// assert_eq!(account.debit(4), Ok(6));
    /// assert!(matches!(account.debit(7), Err(AccountError::Rejected(Rejection::InsufficientFunds { .. }))));
    /// assert_eq!(account.balance(), 6); // the refused debit changed nothing
    /// ```
    #[inline]
    pub fn debit(&self, amount: u64) -> Result<i64, AccountError> {
        check_amount(amount)?;
        durably!(self.ledger, |log| Ok(self.cell.debit(&self.ledger.epoch, log, amount)?))
    }

    /// Credits `amount` from the outside world; returns the new balance. Fails,
    /// changing nothing, if the account is closed or the balance would exceed
    /// [`crate::BALANCE_MAX`].
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let account = ledger.account(AccountId(1)).unwrap();
    /// assert_eq!(account.credit(10), Ok(10));
    /// account.debit(10).unwrap();
    /// account.close().unwrap();
    /// assert!(matches!(account.credit(1), Err(AccountError::Rejected(Rejection::AccountClosed { .. }))));
    /// ```
    #[inline]
    pub fn credit(&self, amount: u64) -> Result<i64, AccountError> {
        check_amount(amount)?;
        durably!(self.ledger, |log| Ok(self.cell.credit(&self.ledger.epoch, log, amount)?))
    }

    /// Stops debits (credits still land). Idempotent; fails only on a closed account.
    /// A debit that starts after `freeze` returns fails.
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let account = ledger.account(AccountId(1)).unwrap();
    /// account.freeze().unwrap();
    /// assert_eq!(account.freeze(), Ok(())); // idempotent
    /// assert_eq!(account.credit(5), Ok(5)); // credits still land
    /// assert!(matches!(account.debit(1), Err(AccountError::Rejected(Rejection::AccountFrozen { .. }))));
    /// ```
    pub fn freeze(&self) -> Result<(), AccountError> {
        durably!(self.ledger, |log| Ok(self.cell.freeze(&self.ledger.epoch, log)?))
    }

    /// Allows debits again. Idempotent; fails only on a closed account.
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection, Status};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let account = ledger.account(AccountId(1)).unwrap();
    /// account.freeze().unwrap();
    /// account.unfreeze().unwrap();
    /// assert_eq!(account.status(), Status::Open);
    /// account.close().unwrap();
    /// assert!(matches!(account.unfreeze(), Err(AccountError::Rejected(Rejection::AccountClosed { .. }))));
    /// ```
    pub fn unfreeze(&self) -> Result<(), AccountError> {
        durably!(self.ledger, |log| Ok(self.cell.unfreeze(&self.ledger.epoch, log)?))
    }

    /// Closes the account for good. Needs a zero balance, no transfer or linked
    /// batch pinning it, and no open hold on it (freeze first to stop new ones).
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection, Status};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let account = ledger.account(AccountId(1)).unwrap();
    /// account.credit(5).unwrap();
    /// assert!(matches!(account.close(), Err(AccountError::Rejected(Rejection::BalanceNotZero { .. }))));
    /// account.debit(5).unwrap();
    /// assert_eq!(account.close(), Ok(()));
    /// assert_eq!(account.status(), Status::Closed);
    /// ```
    pub fn close(&self) -> Result<(), AccountError> {
        durably!(self.ledger, |log| Ok(self.cell.close(&self.ledger.epoch, log)?))
    }

    /// The spendable balance now.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let account = ledger.account(AccountId(1)).unwrap();
    /// assert_eq!(account.balance(), 0);
    /// account.credit(42).unwrap();
    /// assert_eq!(account.balance(), 42);
    /// ```
    #[inline]
    pub fn balance(&self) -> i64 {
        self.cell.observe(&self.ledger.epoch).balance
    }

    /// The status now.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger, Status};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let account = ledger.account(AccountId(1)).unwrap();
    /// assert_eq!(account.status(), Status::Open);
    /// account.freeze().unwrap();
    /// assert_eq!(account.status(), Status::Frozen);
    /// ```
    pub fn status(&self) -> Status {
        self.cell.observe(&self.ledger.epoch).public_status()
    }

    /// The lowest balance the account may reach (fixed at opening).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Overdraft(300), ..AccountOptions::default() }).unwrap();
    /// let account = ledger.account(AccountId(1)).unwrap();
    /// assert_eq!(account.floor(), -300);
    /// ```
    pub fn floor(&self) -> i64 {
        self.cell.floor()
    }

    /// Balance, status, floor, in-flight and open-hold counts from one atomic
    /// load, and the held total read just after.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger, Status};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let account = ledger.account(AccountId(1)).unwrap();
    /// account.credit(8).unwrap();
    /// let info = account.info();
    /// assert_eq!((info.id, info.balance, info.status), (AccountId(1), 8, Status::Open));
    /// assert_eq!((info.floor, info.in_flight), (0, 0));
    /// ```
    pub fn info(&self) -> AccountInfo {
        let state = self.cell.observe(&self.ledger.epoch);
        AccountInfo {
            id: self.cell.id(),
            asset: self.cell.asset(),
            balance: state.balance,
            status: state.public_status(),
            floor: self.cell.floor(),
            ceiling: self.cell.ceiling(),
            in_flight: state.in_flight as u32,
            holds_open: state.holds as u32,
            held: self.cell.held(),
        }
    }
}
