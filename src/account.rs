//! The public face of one account: its options, status, and a handle that
//! skips the directory lookup.

use crate::cell::{AccountCell, FLOOR_MIN};
use crate::snapshot::Epoch;
use crate::{AccountError, AccountId};

/// An account's lifecycle state.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, Status};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// assert_eq!(ledger.status(AccountId(1)), Ok(Status::Open));
/// ledger.freeze(AccountId(1)).unwrap();
/// assert_eq!(ledger.status(AccountId(1)), Ok(Status::Frozen));
/// ledger.close(AccountId(1)).unwrap(); // zero balance: a frozen account can be closed
/// assert_eq!(ledger.status(AccountId(1)), Ok(Status::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Accepts debits and credits.
    Open,
    /// Accepts credits but no debits (and no transfers out).
    Frozen,
    /// Accepts nothing. Only a zero-balance account can be closed, and closing is final.
    Closed,
}

/// How far below zero an account's balance may go. Fixed when the account is opened.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger};
/// assert_eq!(Floor::default(), Floor::Zero);
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Overdraft(50) }).unwrap();
/// assert_eq!(ledger.debit(AccountId(1), 50), Ok(-50));
/// assert!(ledger.debit(AccountId(1), 1).is_err()); // would go below -50
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Floor {
    /// Never below zero (the default).
    #[default]
    Zero,
    /// Down to `-limit`; `limit` is at most [`crate::BALANCE_MAX`].
    Overdraft(u64),
    /// Down to [`crate::FLOOR_MIN`]: for a system or treasury account through
    /// which money enters and leaves the ledger by transfers.
    Unbounded,
}

impl Floor {
    /// The lowest balance this floor allows.
    ///
    /// ```
    /// use atomic_ledger::{Floor, FLOOR_MIN};
    /// assert_eq!(Floor::Zero.lowest_balance(), 0);
    /// assert_eq!(Floor::Overdraft(500).lowest_balance(), -500);
    /// assert_eq!(Floor::Unbounded.lowest_balance(), FLOOR_MIN);
    /// ```
    pub const fn lowest_balance(self) -> i64 {
        match self {
            Floor::Zero => 0,
            // Callers validate `limit <= BALANCE_MAX` before it reaches a cell;
            // saturate here so that this const fn is total.
            Floor::Overdraft(limit) if limit > crate::BALANCE_MAX as u64 => FLOOR_MIN,
            Floor::Overdraft(limit) => -(limit as i64),
            Floor::Unbounded => FLOOR_MIN,
        }
    }
}

/// Options fixed when an account is opened.
///
/// ```
/// use atomic_ledger::{AccountOptions, Floor};
/// let overdraft = AccountOptions { floor: Floor::Overdraft(10_000) };
/// assert_ne!(overdraft, AccountOptions::default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AccountOptions {
    /// How far below zero the balance may go.
    pub floor: Floor,
}

/// What [`crate::Ledger::open_account`] did.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, Opened};
/// let ledger = Ledger::new();
/// let options = AccountOptions::default();
/// assert_eq!(ledger.open_account(AccountId(1), options), Ok(Opened::Created));
/// assert_eq!(ledger.open_account(AccountId(1), options), Ok(Opened::AlreadyExists)); // a retry
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opened {
    /// The account is new.
    Created,
    /// It existed already with the same options; nothing changed. A retried
    /// `open_account` lands here and can go on as if it had created it.
    AlreadyExists,
}

/// A view of one account. Every field but `held` comes from one atomic load;
/// `held` is read just after it (see [`crate::Ledger::snapshot`] for a view of
/// balances and held amounts at one instant).
///
/// ```
/// use atomic_ledger::{AccountId, AccountInfo, AccountOptions, Floor, Ledger, Status};
/// let ledger = Ledger::new();
/// let id = AccountId(1);
/// ledger.open_account(id, AccountOptions { floor: Floor::Overdraft(20) }).unwrap();
/// ledger.credit(id, 5).unwrap();
/// let expected = AccountInfo { id, balance: 5, status: Status::Open, floor: -20, in_flight: 0, holds_open: 0, held: 0 };
/// assert_eq!(ledger.account_info(id), Ok(expected));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountInfo {
    /// The account.
    pub id: AccountId,
    /// Its spendable balance.
    pub balance: i64,
    /// Its lifecycle state.
    pub status: Status,
    /// The lowest balance it may reach.
    pub floor: i64,
    /// Transfers and linked batches that have pinned it and have not finished (0 at quiescence).
    pub in_flight: u32,
    /// Open holds debited from it.
    pub holds_open: u32,
    /// The sum of those holds: money out of `balance`, not yet posted or returned.
    pub held: u64,
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
    pub(crate) epoch: &'ledger Epoch,
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
        crate::ledger::check_amount(amount)?;
        Ok(self.cell.debit(self.epoch, amount)?)
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
        crate::ledger::check_amount(amount)?;
        Ok(self.cell.credit(self.epoch, amount)?)
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
        Ok(self.cell.freeze(self.epoch)?)
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
        Ok(self.cell.unfreeze(self.epoch)?)
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
        Ok(self.cell.close(self.epoch)?)
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
        self.cell.observe(self.epoch).balance
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
        self.cell.observe(self.epoch).public_status()
    }

    /// The lowest balance the account may reach (fixed at opening).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Overdraft(300) }).unwrap();
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
        let state = self.cell.observe(self.epoch);
        AccountInfo {
            id: self.cell.id(),
            balance: state.balance,
            status: state.public_status(),
            floor: self.cell.floor(),
            in_flight: state.in_flight as u32,
            holds_open: state.holds as u32,
            held: self.cell.held(),
        }
    }
}
