//! The public face of one account: its options, status, and a handle that
//! skips the directory lookup.

use crate::cell::{AccountCell, FLOOR_MIN};
use crate::{AccountError, AccountId};

/// An account's lifecycle state.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opened {
    /// The account is new.
    Created,
    /// It existed already with the same options; nothing changed. A retried
    /// `open_account` lands here and can go on as if it had created it.
    AlreadyExists,
}

/// A consistent view of one account: all fields come from one atomic load.
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
    /// Transfers that have debited it and have not finished (0 at quiescence).
    pub in_flight: u32,
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
}

impl<'ledger> Account<'ledger> {
    /// The account's id.
    pub fn id(&self) -> AccountId {
        self.cell.id()
    }

    /// Debits `amount` to the outside world; returns the new balance. Fails,
    /// changing nothing, if the account is not open or the balance would go
    /// below its floor.
    #[inline]
    pub fn debit(&self, amount: u64) -> Result<i64, AccountError> {
        crate::ledger::check_amount(amount)?;
        Ok(self.cell.debit(amount)?)
    }

    /// Credits `amount` from the outside world; returns the new balance. Fails,
    /// changing nothing, if the account is closed or the balance would exceed
    /// [`crate::BALANCE_MAX`].
    #[inline]
    pub fn credit(&self, amount: u64) -> Result<i64, AccountError> {
        crate::ledger::check_amount(amount)?;
        Ok(self.cell.credit(amount)?)
    }

    /// Stops debits (credits still land). Idempotent; fails only on a closed account.
    /// A debit that starts after `freeze` returns fails.
    pub fn freeze(&self) -> Result<(), AccountError> {
        Ok(self.cell.freeze()?)
    }

    /// Allows debits again. Idempotent; fails only on a closed account.
    pub fn unfreeze(&self) -> Result<(), AccountError> {
        Ok(self.cell.unfreeze()?)
    }

    /// Closes the account for good. Needs a zero balance and no transfer out of
    /// it in flight (freeze first to stop new ones).
    pub fn close(&self) -> Result<(), AccountError> {
        Ok(self.cell.close()?)
    }

    /// The spendable balance now.
    #[inline]
    pub fn balance(&self) -> i64 {
        self.cell.load().balance
    }

    /// The status now.
    pub fn status(&self) -> Status {
        self.cell.load().public_status()
    }

    /// The lowest balance the account may reach (fixed at opening).
    pub fn floor(&self) -> i64 {
        self.cell.floor()
    }

    /// Balance, status, floor and in-flight count from one atomic load.
    pub fn info(&self) -> AccountInfo {
        let state = self.cell.load();
        AccountInfo {
            id: self.cell.id(),
            balance: state.balance,
            status: state.public_status(),
            floor: self.cell.floor(),
            in_flight: state.in_flight as u32,
        }
    }
}
