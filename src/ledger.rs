//! The ledger: accounts by id, transfers, external movements, audit.

use crate::cell::AMOUNT_MAX;
use crate::directory::{Directory, Inserted};
use crate::transfer::move_funds;
use crate::transfer_ids::{Record, TransferIds};
use crate::{
    Account, AccountError, AccountId, AccountInfo, AccountOptions, ConfigError, Floor, OpenError, Opened,
    Status, Transfer, TransferError, TransferReceipt, BALANCE_MAX,
};

/// Accepted range of [`LedgerBuilder::accounts_max`].
///
/// ```
/// use atomic_ledger::{ConfigError, Ledger, ACCOUNTS_MAX_LIMIT};
/// let too_many = Ledger::builder().accounts_max(ACCOUNTS_MAX_LIMIT + 1).build();
/// assert!(matches!(too_many, Err(ConfigError::OutOfRange { name: "accounts_max", .. })));
/// ```
pub const ACCOUNTS_MAX_LIMIT: usize = 1 << 28;
/// Accepted range of [`LedgerBuilder::transfer_ids_max`].
///
/// ```
/// use atomic_ledger::{ConfigError, Ledger, TRANSFER_IDS_MAX_LIMIT};
/// let too_many = Ledger::builder().transfer_ids_max(TRANSFER_IDS_MAX_LIMIT + 1).build();
/// assert!(matches!(too_many, Err(ConfigError::OutOfRange { name: "transfer_ids_max", .. })));
/// ```
pub const TRANSFER_IDS_MAX_LIMIT: usize = 1 << 28;

/// Validates an amount the same way for every operation.
#[inline]
pub(crate) fn check_amount(amount: u64) -> Result<(), AccountError> {
    if amount == 0 {
        return Err(AccountError::ZeroAmount);
    }
    if amount > AMOUNT_MAX {
        return Err(AccountError::AmountTooLarge { amount, amount_max: AMOUNT_MAX });
    }
    Ok(())
}

/// The same failure, reported by a transfer. Exhaustive on purpose: a new
/// `AccountError` variant must decide here how a transfer reports it.
fn transfer_error(error: AccountError) -> TransferError {
    match error {
        AccountError::ReservedAccountId(id) => TransferError::ReservedAccountId(id),
        AccountError::UnknownAccount(id) => TransferError::UnknownAccount(id),
        AccountError::ZeroAmount => TransferError::ZeroAmount,
        AccountError::AmountTooLarge { amount, amount_max } => {
            TransferError::AmountTooLarge { amount, amount_max }
        }
        AccountError::Rejected(reason) => TransferError::Rejected { reason, repeat: false },
    }
}

/// Options for a [`Ledger`]. Every table has a fixed capacity, chosen here.
///
/// ```
/// use atomic_ledger::Ledger;
/// let ledger = Ledger::builder().accounts_max(1_000_000).transfer_ids_max(4_000_000).build().unwrap();
/// assert_eq!(ledger.accounts_max(), 1_000_000);
/// ```
#[derive(Debug, Clone)]
pub struct LedgerBuilder {
    accounts_max: usize,
    transfer_ids_max: usize,
    transfer_id_shards: usize,
}

impl Default for LedgerBuilder {
    fn default() -> Self {
        let parallelism = std::thread::available_parallelism().map_or(4, usize::from);
        Self {
            accounts_max: 65_536,
            transfer_ids_max: 1 << 20,
            transfer_id_shards: (parallelism * 4).next_power_of_two().clamp(4, 256),
        }
    }
}

impl LedgerBuilder {
    /// How many accounts the ledger can hold (default 65 536; at most
    /// [`ACCOUNTS_MAX_LIMIT`]). The directory allocates 16 bytes per account of
    /// capacity up front, and 128 bytes per account opened.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger, OpenError};
    /// let ledger = Ledger::builder().accounts_max(2).build().unwrap();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
    /// let third = ledger.open_account(AccountId(3), AccountOptions::default());
    /// assert_eq!(third, Err(OpenError::LedgerFull { accounts_max: 2 }));
    /// ```
    pub fn accounts_max(mut self, accounts_max: usize) -> Self {
        self.accounts_max = accounts_max;
        self
    }

    /// How many transfer ids the ledger remembers at most (default 2^20; at most
    /// [`TRANSFER_IDS_MAX_LIMIT`]). When a shard of the table fills, about the
    /// smallest eighth of its ids is forgotten at once, and any unknown id at or
    /// below them is refused with [`TransferError::IdExpired`].
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger, Transfer, TransferError, TransferId};
    /// let ledger = Ledger::builder().transfer_id_shards(1).transfer_ids_max(8).build().unwrap();
    /// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Unbounded }).unwrap();
    /// ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
    /// let transfer = |id| Transfer { id: TransferId(id), from: AccountId(1), to: AccountId(2), amount: 1 };
    /// for id in 1..=9 {
    ///     ledger.transfer(transfer(id)).unwrap(); // the ninth makes the table forget the smallest ids
    /// }
    /// assert!(matches!(ledger.transfer(transfer(1)), Err(TransferError::IdExpired { .. })));
    /// ```
    pub fn transfer_ids_max(mut self, transfer_ids_max: usize) -> Self {
        self.transfer_ids_max = transfer_ids_max;
        self
    }

    /// How many locks the transfer-id table is split into (rounded up to a power
    /// of two; default 4 × available parallelism, between 4 and 256).
    ///
    /// ```
    /// use atomic_ledger::{ConfigError, Ledger};
    /// assert!(Ledger::builder().transfer_id_shards(16).build().is_ok());
    /// // 10 rounds up to 16 shards, and each shard needs room for at least one id.
    /// let result = Ledger::builder().transfer_id_shards(10).transfer_ids_max(8).build();
    /// assert!(matches!(result, Err(ConfigError::OutOfRange { name: "transfer_ids_max", min: 16, .. })));
    /// ```
    pub fn transfer_id_shards(mut self, shards: usize) -> Self {
        self.transfer_id_shards = shards;
        self
    }

    /// Builds the ledger, or says which setting is out of range.
    ///
    /// ```
    /// use atomic_ledger::{ConfigError, Ledger};
    /// let ledger = Ledger::builder().accounts_max(10).build().unwrap();
    /// assert_eq!(ledger.accounts_max(), 10);
    /// let result = Ledger::builder().transfer_id_shards(0).build();
    /// assert!(matches!(result, Err(ConfigError::OutOfRange { name: "transfer_id_shards", value: 0, .. })));
    /// ```
    pub fn build(self) -> Result<Ledger, ConfigError> {
        check_range("accounts_max", self.accounts_max, 1, ACCOUNTS_MAX_LIMIT)?;
        check_range("transfer_id_shards", self.transfer_id_shards, 1, 1 << 16)?;
        let shards = self.transfer_id_shards.next_power_of_two();
        check_range("transfer_ids_max", self.transfer_ids_max, shards, TRANSFER_IDS_MAX_LIMIT)?;
        Ok(Ledger {
            directory: Directory::new(self.accounts_max),
            transfer_ids: TransferIds::new(self.transfer_ids_max, shards),
        })
    }
}

fn check_range(name: &'static str, value: usize, min: usize, max: usize) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange { name, value, min, max })
    }
}

/// An in-process ledger: accounts whose balances change only by compare-and-swap.
///
/// `Send + Sync`: share it by reference (scoped threads) or in an `Arc`.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, Transfer, TransferId};
/// let ledger = Ledger::new();
/// let (alice, bob) = (AccountId(1), AccountId(2));
/// ledger.open_account(alice, AccountOptions::default()).unwrap();
/// ledger.open_account(bob, AccountOptions::default()).unwrap();
/// ledger.credit(alice, 100).unwrap();
///
/// let transfer = Transfer { id: TransferId(1), from: alice, to: bob, amount: 60 };
/// assert!(!ledger.transfer(transfer).unwrap().repeat);
/// assert!(ledger.transfer(transfer).unwrap().repeat); // applied once
/// assert_eq!(ledger.balance(alice).unwrap(), 40);
/// assert_eq!(ledger.balance(bob).unwrap(), 60);
/// assert!(ledger.audit().is_consistent());
/// ```
pub struct Ledger {
    directory: Directory,
    transfer_ids: TransferIds,
}

impl Default for Ledger {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("accounts", &self.directory.len())
            .field("accounts_max", &self.directory.accounts_max())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// A ledger with the default limits (see [`LedgerBuilder`]).
    ///
    /// ```
    /// use atomic_ledger::Ledger;
    /// let ledger = Ledger::new();
    /// assert_eq!(ledger.accounts_max(), 65_536);
    /// assert_eq!(ledger.audit().accounts, 0);
    /// assert_eq!(ledger.transfer_ids_remembered(), 0);
    /// ```
    pub fn new() -> Self {
        // The defaults are in range by construction.
        Self::builder().build().unwrap_or_else(|error| unreachable!("default config invalid: {error}"))
    }

    /// Starts configuring a ledger.
    ///
    /// ```
    /// use atomic_ledger::Ledger;
    /// let ledger = Ledger::builder().accounts_max(100).transfer_ids_max(1_000).build().unwrap();
    /// assert_eq!(ledger.accounts_max(), 100);
    /// ```
    pub fn builder() -> LedgerBuilder {
        LedgerBuilder::default()
    }

    /// The configured account capacity.
    ///
    /// ```
    /// use atomic_ledger::Ledger;
    /// assert_eq!(Ledger::new().accounts_max(), 65_536);
    /// assert_eq!(Ledger::builder().accounts_max(500).build().unwrap().accounts_max(), 500);
    /// ```
    pub fn accounts_max(&self) -> usize {
        self.directory.accounts_max()
    }

    /// Opens account `id` with `options`. Opening an existing account with the
    /// same options returns [`Opened::AlreadyExists`] and changes nothing, so a
    /// retried open is safe; with different options it is an error.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger, OpenError, Opened};
    /// let ledger = Ledger::new();
    /// let options = AccountOptions { floor: Floor::Overdraft(100) };
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
        match self.directory.insert(id, options) {
            Inserted::New => Ok(Opened::Created),
            Inserted::Existing(cell) if cell.options() == options => Ok(Opened::AlreadyExists),
            Inserted::Existing(cell) => {
                Err(OpenError::OptionsConflict { account: id, existing: cell.options(), requested: options })
            }
            Inserted::Full => Err(OpenError::LedgerFull { accounts_max: self.directory.accounts_max() }),
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
    pub fn account(&self, id: AccountId) -> Result<Account<'_>, AccountError> {
        if id.is_reserved() {
            return Err(AccountError::ReservedAccountId(id));
        }
        self.directory.get(id).map(|cell| Account { cell }).ok_or(AccountError::UnknownAccount(id))
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

    /// Balance, status, floor and in-flight count of `id`, from one atomic load.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger, Status};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Overdraft(100) }).unwrap();
    /// ledger.debit(AccountId(1), 30).unwrap();
    /// let info = ledger.account_info(AccountId(1)).unwrap();
    /// assert_eq!((info.balance, info.status, info.floor, info.in_flight), (-30, Status::Open, -100, 0));
    /// ```
    pub fn account_info(&self, id: AccountId) -> Result<AccountInfo, AccountError> {
        Ok(self.account(id)?.info())
    }

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
        let Transfer { id, from, to, amount } = transfer;
        if id.is_reserved() {
            return Err(TransferError::ReservedTransferId(id));
        }
        let from_cell = self.account(from).map_err(transfer_error)?.cell;
        let to_cell = self.account(to).map_err(transfer_error)?.cell;
        check_amount(amount).map_err(transfer_error)?;
        if from == to {
            return Err(TransferError::SameAccount(from));
        }
        let fields = Record { from, to, amount, outcome: Ok(()) };
        let decision = self.transfer_ids.decide(id, fields, || move_funds(from_cell, to_cell, amount))?;
        match decision.outcome {
            Ok(()) => Ok(TransferReceipt { id, repeat: decision.repeat }),
            Err(reason) => Err(TransferError::Rejected { reason, repeat: decision.repeat }),
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

    /// Checks the books. Meaningful at quiescence (no operation running): then
    /// the sum of all balances must equal what entered by [`Ledger::credit`] minus
    /// what left by [`Ledger::debit`] — transfers only move money — every balance
    /// is at or above its floor, no transfer is in flight, and closed accounts
    /// hold nothing. While operations run, the totals are not one instant's.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// ledger.credit(AccountId(1), 10).unwrap();
    /// ledger.debit(AccountId(1), 3).unwrap();
    /// let audit = ledger.audit();
    /// assert_eq!((audit.balance_total, audit.entered_total, audit.left_total), (7, 10, 3));
    /// assert!(audit.is_consistent());
    /// ```
    pub fn audit(&self) -> Audit {
        let mut audit = Audit::default();
        self.directory.for_each(|cell| {
            let state = cell.load();
            let (entered, left) = cell.external_flows();
            audit.accounts += 1;
            audit.balance_total += i128::from(state.balance);
            audit.entered_total += u128::from(entered);
            audit.left_total += u128::from(left);
            audit.in_flight_total += state.in_flight;
            if state.balance < cell.floor() {
                audit.below_floor.push(cell.id());
            }
            if state.public_status() == Status::Closed && state.balance != 0 {
                audit.closed_not_empty.push(cell.id());
            }
        });
        audit
    }
}

/// The result of [`Ledger::audit`].
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// ledger.credit(AccountId(1), 10).unwrap();
/// let audit = ledger.audit();
/// assert_eq!((audit.accounts, audit.balance_total, audit.in_flight_total), (1, 10, 0));
/// assert!(audit.below_floor.is_empty() && audit.closed_not_empty.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Accounts visited.
    pub accounts: usize,
    /// Sum of all balances.
    pub balance_total: i128,
    /// Sum of all external credits. Exact while no single account's lifetime
    /// inflow exceeds 2^64 units; the agreement check holds modulo 2^64 regardless.
    pub entered_total: u128,
    /// Sum of all external debits (same precision as `entered_total`).
    pub left_total: u128,
    /// Transfers half-way through; 0 at quiescence.
    pub in_flight_total: u64,
    /// Accounts whose balance is below their floor (must be empty).
    pub below_floor: Vec<AccountId>,
    /// Closed accounts with a non-zero balance (must be empty).
    pub closed_not_empty: Vec<AccountId>,
}

impl Audit {
    /// Whether money is conserved: balances sum to entered minus left.
    ///
    /// ```
    /// use atomic_ledger::Audit;
    /// let balanced = Audit { balance_total: 7, entered_total: 10, left_total: 3, ..Audit::default() };
    /// assert!(balanced.conserves());
    /// let minted = Audit { balance_total: 8, ..balanced }; // one unit that never entered
    /// assert!(!minted.conserves());
    /// ```
    pub fn conserves(&self) -> bool {
        let net_external = self.entered_total.wrapping_sub(self.left_total) as u64;
        self.balance_total as u64 == net_external
    }

    /// Conservation, every floor respected, no transfer in flight, closed accounts empty.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, Audit};
    /// let books = Audit { accounts: 1, balance_total: 5, entered_total: 5, ..Audit::default() };
    /// assert!(books.is_consistent());
    /// let overdrawn = Audit { below_floor: vec![AccountId(1)], ..books };
    /// assert!(overdrawn.conserves() && !overdrawn.is_consistent());
    /// ```
    pub fn is_consistent(&self) -> bool {
        self.conserves()
            && self.in_flight_total == 0
            && self.below_floor.is_empty()
            && self.closed_not_empty.is_empty()
    }
}
