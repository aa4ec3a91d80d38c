//! What an account is, as its users see it: its options (floor), its status,
//! the limits on amounts and balances, what it reports, and why it refuses a
//! change ([`Rejection`]). Plain data; the atomic word that holds an account
//! is [`crate::cell`], and the operations are in [`crate::ledger`].

use crate::AccountId;

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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
/// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Overdraft(50), ..AccountOptions::default() }).unwrap();
/// assert_eq!(ledger.debit(AccountId(1), 50), Ok(-50));
/// assert!(ledger.debit(AccountId(1), 1).is_err()); // would go below -50
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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

/// What an account's balance counts: a currency or any other asset, as a
/// small code the caller assigns (like TigerBeetle's `ledger`). Money moves
/// only between accounts of one asset: a transfer, a linked batch's leg or a
/// hold between accounts of two assets is refused with an error naming both.
/// The default, `Asset(0)`, is the one asset of a ledger that needs no more.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Asset, Ledger, Transfer, TransferError, TransferId};
/// const USD: Asset = Asset(840);
/// const EUR: Asset = Asset(978);
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions { asset: USD, ..AccountOptions::default() }).unwrap();
/// ledger.open_account(AccountId(2), AccountOptions { asset: EUR, ..AccountOptions::default() }).unwrap();
/// ledger.credit(AccountId(1), 10).unwrap();
/// let across = Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(2), amount: 5 };
/// assert!(matches!(ledger.transfer(across), Err(TransferError::AssetMismatch { from_asset: USD, to_asset: EUR, .. })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Asset(pub u32);

impl std::fmt::Display for Asset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "asset {}", self.0)
    }
}

/// Options fixed when an account is opened. Build them from the default, so
/// that options added later keep their defaults:
///
/// ```
/// use atomic_ledger::{AccountOptions, Asset, Floor};
/// let overdraft = AccountOptions { floor: Floor::Overdraft(10_000), ..AccountOptions::default() };
/// assert_ne!(overdraft, AccountOptions::default());
/// assert_eq!(overdraft.asset, Asset(0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccountOptions {
    /// How far below zero the balance may go.
    pub floor: Floor,
    /// What the balance counts; money moves only between accounts of one asset.
    pub asset: Asset,
    /// The most a credit may bring the balance to (`None`: [`BALANCE_MAX`];
    /// at most that). Checked inside the CAS of every credit: an external
    /// credit, a transfer's credit leg, a linked batch's commit and a hold's
    /// post that would cross it are refused with
    /// [`Rejection::CeilingExceeded`]. Money coming back to the account (a
    /// transfer's undo, a void or an expiry of its hold, a failed batch's
    /// undo) is the account's own and is never refused: it can lift the
    /// balance above the ceiling by at most what the account had out in
    /// those pins when the credits filled the room.
    ///
    /// ```
    /// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection};
    /// let ledger = Ledger::new();
    /// let wallet = AccountOptions { ceiling: Some(150), ..AccountOptions::default() };
    /// ledger.open_account(AccountId(1), wallet).unwrap();
    /// ledger.credit(AccountId(1), 100).unwrap();
    /// let refused = ledger.credit(AccountId(1), 60);
    /// assert!(matches!(refused, Err(AccountError::Rejected(Rejection::CeilingExceeded { ceiling: 150, .. }))));
    /// assert_eq!(ledger.credit(AccountId(1), 50), Ok(150));
    /// ```
    pub ceiling: Option<u64>,
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
/// use atomic_ledger::{AccountId, AccountInfo, AccountOptions, Asset, Floor, Ledger, Status, BALANCE_MAX};
/// let ledger = Ledger::new();
/// let id = AccountId(1);
/// ledger.open_account(id, AccountOptions { floor: Floor::Overdraft(20), ..AccountOptions::default() }).unwrap();
/// ledger.credit(id, 5).unwrap();
/// let expected = AccountInfo { id, asset: Asset(0), balance: 5, status: Status::Open, floor: -20, ceiling: BALANCE_MAX, in_flight: 0, holds_open: 0, held: 0 };
/// assert_eq!(ledger.account_info(id), Ok(expected));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccountInfo {
    /// The account.
    pub id: AccountId,
    /// What its balance counts.
    pub asset: Asset,
    /// Its spendable balance.
    pub balance: i64,
    /// Its lifecycle state.
    pub status: Status,
    /// The lowest balance it may reach.
    pub floor: i64,
    /// The highest balance a credit may bring it to ([`BALANCE_MAX`] without a ceiling).
    pub ceiling: i64,
    /// Transfers and linked batches that have pinned it and have not finished (0 at quiescence).
    pub in_flight: u32,
    /// Open holds debited from it.
    pub holds_open: u32,
    /// The sum of those holds: money out of `balance`, not yet posted or returned.
    pub held: u64,
}

/// The largest balance a credit may produce: 2^42 - 1 = 4 398 046 511 103
/// (44 billion in cents). Only money coming back or coming in under a pin (an
/// undone transfer, a linked batch's commit, a hold's return) can take a
/// balance above it.
///
/// ```
/// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection, BALANCE_MAX};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// assert_eq!(ledger.credit(AccountId(1), BALANCE_MAX as u64), Ok(BALANCE_MAX));
/// let refused = ledger.credit(AccountId(1), 1);
/// assert!(matches!(refused, Err(AccountError::Rejected(Rejection::BalanceOverflow { .. }))));
/// ```
pub const BALANCE_MAX: i64 = (1 << 42) - 1;
/// The largest amount one operation may move (equal to [`BALANCE_MAX`]).
///
/// ```
/// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, AMOUNT_MAX, BALANCE_MAX};
/// assert_eq!(AMOUNT_MAX, BALANCE_MAX as u64);
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// let refused = ledger.credit(AccountId(1), AMOUNT_MAX + 1);
/// assert_eq!(refused, Err(AccountError::AmountTooLarge { amount: AMOUNT_MAX + 1, amount_max: AMOUNT_MAX }));
/// ```
pub const AMOUNT_MAX: u64 = BALANCE_MAX as u64;
/// The lowest floor: what [`crate::Floor::Unbounded`] means (`-BALANCE_MAX`).
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger, BALANCE_MAX, FLOOR_MIN};
/// assert_eq!(FLOOR_MIN, -BALANCE_MAX);
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() }).unwrap();
/// assert_eq!(ledger.account(AccountId(1)).unwrap().floor(), FLOOR_MIN);
/// ```
pub const FLOOR_MIN: i64 = -BALANCE_MAX;

/// Why an account refused a balance or status change. Produced by the account
/// cell's compare-and-swap, so each one describes the state *at the instant*
/// the operation was decided.
///
/// ```
/// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// ledger.credit(AccountId(1), 3).unwrap();
/// let expected = Rejection::InsufficientFunds { account: AccountId(1), available: 3, requested: 5 };
/// assert_eq!(ledger.debit(AccountId(1), 5), Err(AccountError::Rejected(expected)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Rejection {
    /// The debit would take the balance below the account's floor.
    #[error("insufficient funds in account {account}: {available} available above the floor, {requested} requested")]
    InsufficientFunds {
        /// The account debited.
        account: AccountId,
        /// How much could have been debited: balance minus floor, at the decision.
        available: u64,
        /// The amount asked for.
        requested: u64,
    },
    /// The account is frozen: it accepts credits but no debits.
    #[error("account {account} is frozen: it accepts credits but not debits")]
    AccountFrozen {
        /// The frozen account.
        account: AccountId,
    },
    /// The account is closed and accepts nothing.
    #[error("account {account} is closed")]
    AccountClosed {
        /// The closed account.
        account: AccountId,
    },
    /// The credit would take the balance above [`crate::BALANCE_MAX`].
    #[error("credit of {amount} to account {account} would exceed the maximum balance {balance_max} (balance {balance})")]
    BalanceOverflow {
        /// The account credited.
        account: AccountId,
        /// Its balance at the decision.
        balance: i64,
        /// The amount asked for.
        amount: u64,
        /// The largest balance a credit may produce.
        balance_max: i64,
    },
    /// The credit would take the balance above the account's ceiling
    /// ([`AccountOptions::ceiling`]).
    #[error(
        "credit of {amount} to account {account} would exceed its ceiling {ceiling} (balance {balance})"
    )]
    CeilingExceeded {
        /// The account credited.
        account: AccountId,
        /// Its balance at the decision.
        balance: i64,
        /// The amount asked for (for a linked batch, all it credits to the account).
        amount: u64,
        /// The account's ceiling.
        ceiling: u64,
    },
    /// `close` needs a zero balance.
    #[error("account {account} cannot be closed: its balance is {balance}, not 0")]
    BalanceNotZero {
        /// The account.
        account: AccountId,
        /// Its balance at the decision.
        balance: i64,
    },
    /// `close` needs no transfer out of the account to be half-way through;
    /// freeze the account first (no new transfer can then start) and retry.
    #[error("account {account} cannot be closed yet: {in_flight} transfer(s) out of it are in flight; freeze it and retry")]
    TransfersInFlight {
        /// The account.
        account: AccountId,
        /// How many transfers had debited it but not yet finished.
        in_flight: u32,
    },
    /// `close` needs no open hold on the account; post or void them first.
    #[error("account {account} cannot be closed: {holds} hold(s) on it are open")]
    HoldsOpen {
        /// The account.
        account: AccountId,
        /// How many holds it is the source of.
        holds: u32,
    },
    /// The account is the source of [`crate::HOLDS_OPEN_MAX`] open holds already.
    #[error("account {account} already has the maximum of {holds_open_max} open holds")]
    TooManyHolds {
        /// The account.
        account: AccountId,
        /// The limit.
        holds_open_max: u32,
    },
}
