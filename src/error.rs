//! Error types, one enum per operation family.
//!
//! Every error is returned *instead of* an effect: an operation that returns
//! `Err` has changed nothing (the one documented exception is a transfer's
//! recorded rejection, which records the transfer id so that retries get the
//! same answer — see [`crate::Ledger::transfer`]).
//!
//! Here are the families that move money through accounts: single-account
//! operations ([`AccountError`]), opening, transfers, linked batches and
//! holds. A transfer or a hold can fail in every way a single-account
//! operation can, and reports it with a variant of its own of the same name
//! and fields; the `From<AccountError>` conversions at the end of this file
//! say how, side by side, and are exhaustive, so a new [`AccountError`]
//! variant does not compile until each family has decided how to report it.
//! (The shared variants are repeated, not embedded as
//! `TransferError::Account(AccountError)`, so that a caller matches one
//! level deep: `TransferError::UnknownAccount(id)`.) A credential's refusals
//! ([`crate::CredentialError`]) and a bucket's ([`crate::QuotaError`]) live
//! with those concepts.

use crate::{
    AccountId, AccountOptions, Asset, CredentialError, HoldId, HoldState, JournalFailed, Rejection,
    TransferId,
};

/// Errors of single-account operations: `debit`, `credit`, `freeze`,
/// `unfreeze`, `close`, and looking an account up.
///
/// ```
/// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger};
/// let ledger = Ledger::new();
/// assert_eq!(ledger.debit(AccountId(0), 1), Err(AccountError::ReservedAccountId(AccountId(0))));
/// assert_eq!(ledger.debit(AccountId(7), 1), Err(AccountError::UnknownAccount(AccountId(7))));
/// ledger.open_account(AccountId(7), AccountOptions::default()).unwrap();
/// assert_eq!(ledger.credit(AccountId(7), 0), Err(AccountError::ZeroAmount));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AccountError {
    /// `0` and `u128::MAX` are never account ids.
    #[error("account id {0} is reserved (0 and u128::MAX are never account ids)")]
    ReservedAccountId(AccountId),
    /// No account with this id was opened.
    #[error("unknown account {0}")]
    UnknownAccount(AccountId),
    /// Moving zero is refused rather than treated as a no-op, since it is almost
    /// always a caller's bug.
    #[error("amount must be greater than zero")]
    ZeroAmount,
    /// The amount is above [`crate::AMOUNT_MAX`]; it is never wrapped or clamped.
    #[error("amount {amount} exceeds the maximum {amount_max}")]
    AmountTooLarge {
        /// The amount asked for.
        amount: u64,
        /// The largest accepted amount.
        amount_max: u64,
    },
    /// The account refused the change.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// A durable ledger's journal failed: this operation is not
    /// acknowledged, and no later one will be (see [`JournalFailed`]).
    #[error(transparent)]
    Journal(#[from] JournalFailed),
}

/// Errors of [`crate::Ledger::open_account`].
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger, OpenError, BALANCE_MAX};
/// let ledger = Ledger::builder().accounts_max(1).build().unwrap();
/// let options = AccountOptions::default();
/// assert_eq!(ledger.open_account(AccountId(0), options), Err(OpenError::ReservedAccountId(AccountId(0))));
/// let huge = AccountOptions { floor: Floor::Overdraft(BALANCE_MAX as u64 + 1), ..AccountOptions::default() };
/// assert!(matches!(ledger.open_account(AccountId(1), huge), Err(OpenError::OverdraftTooLarge { .. })));
/// let too_high = AccountOptions { ceiling: Some(BALANCE_MAX as u64 + 1), ..AccountOptions::default() };
/// assert!(matches!(ledger.open_account(AccountId(1), too_high), Err(OpenError::CeilingTooLarge { .. })));
/// ledger.open_account(AccountId(1), options).unwrap();
/// assert_eq!(ledger.open_account(AccountId(2), options), Err(OpenError::LedgerFull { accounts_max: 1 }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OpenError {
    /// `0` and `u128::MAX` are never account ids.
    #[error("account id {0} is reserved (0 and u128::MAX are never account ids)")]
    ReservedAccountId(AccountId),
    /// The ceiling is above [`crate::BALANCE_MAX`].
    #[error("ceiling {ceiling} exceeds the maximum balance {ceiling_max}")]
    CeilingTooLarge {
        /// The ceiling asked for.
        ceiling: u64,
        /// The largest ceiling.
        ceiling_max: u64,
    },
    /// The overdraft limit is above [`crate::BALANCE_MAX`].
    #[error("overdraft limit {limit} exceeds the maximum {limit_max}")]
    OverdraftTooLarge {
        /// The limit asked for.
        limit: u64,
        /// The largest accepted limit.
        limit_max: u64,
    },
    /// The account exists with other options. (Opening it again with the *same*
    /// options is not an error: it returns [`crate::Opened::AlreadyExists`].)
    #[error("account {account} already exists with options {existing:?}, not {requested:?}")]
    OptionsConflict {
        /// The account.
        account: AccountId,
        /// The options it was opened with.
        existing: AccountOptions,
        /// The options asked for now.
        requested: AccountOptions,
    },
    /// The ledger holds `accounts_max` accounts already.
    #[error("the ledger is full: it holds its maximum of {accounts_max} accounts")]
    LedgerFull {
        /// The configured capacity.
        accounts_max: usize,
    },
    /// A durable ledger's journal failed: this operation is not
    /// acknowledged, and no later one will be (see [`JournalFailed`]).
    #[error(transparent)]
    Journal(#[from] JournalFailed),
}

/// Which field of a repeated transfer differs from the transfer first recorded
/// under the same id.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger};
/// use atomic_ledger::{Transfer, TransferError, TransferField, TransferId};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
/// ledger.credit(AccountId(1), 10).unwrap();
/// let first = Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(2), amount: 5 };
/// ledger.transfer(first).unwrap();
/// let retry = ledger.transfer(Transfer { amount: 6, ..first });
/// assert_eq!(retry, Err(TransferError::IdConflict { id: TransferId(1), field: TransferField::Amount }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TransferField {
    /// The debited account.
    From,
    /// The credited account.
    To,
    /// The amount.
    Amount,
    /// Whether it was a leg of a linked batch, and of which (first leg's id,
    /// number of legs, position).
    Link,
}

impl std::fmt::Display for TransferField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::From => "from",
            Self::To => "to",
            Self::Amount => "amount",
            Self::Link => "batch",
        })
    }
}

/// Errors of [`crate::Ledger::transfer`].
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, Rejection, Transfer, TransferError, TransferId};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
/// let same = Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(1), amount: 5 };
/// assert_eq!(ledger.transfer(same), Err(TransferError::SameAccount(AccountId(1))));
/// let unfunded = Transfer { to: AccountId(2), ..same }; // same id: the validation error recorded nothing
/// let reason = Rejection::InsufficientFunds { account: AccountId(1), available: 0, requested: 5 };
/// assert_eq!(ledger.transfer(unfunded), Err(TransferError::Rejected { reason, repeat: false }));
/// assert_eq!(ledger.transfer(unfunded), Err(TransferError::Rejected { reason, repeat: true }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TransferError {
    /// `0` and `u128::MAX` are never transfer ids.
    #[error("transfer id {0} is reserved (0 and u128::MAX are never transfer ids)")]
    ReservedTransferId(TransferId),
    /// `0` and `u128::MAX` are never account ids.
    #[error("account id {0} is reserved (0 and u128::MAX are never account ids)")]
    ReservedAccountId(AccountId),
    /// No account with this id was opened.
    #[error("unknown account {0}")]
    UnknownAccount(AccountId),
    /// Moving zero is refused.
    #[error("amount must be greater than zero")]
    ZeroAmount,
    /// The amount is above [`crate::AMOUNT_MAX`].
    #[error("amount {amount} exceeds the maximum {amount_max}")]
    AmountTooLarge {
        /// The amount asked for.
        amount: u64,
        /// The largest accepted amount.
        amount_max: u64,
    },
    /// `from` and `to` are the same account.
    #[error("a transfer needs two different accounts, got {0} twice")]
    SameAccount(AccountId),
    /// `from` and `to` count different assets: money moves only within one.
    #[error("{from} counts {from_asset} and {to} counts {to_asset}: money moves only within one asset")]
    AssetMismatch {
        /// The source.
        from: AccountId,
        /// Its asset.
        from_asset: Asset,
        /// The destination.
        to: AccountId,
        /// Its asset.
        to_asset: Asset,
    },
    /// The id was used before for a transfer that differs in `field`.
    #[error("transfer id {id} was already used with a different {field}")]
    IdConflict {
        /// The transfer id.
        id: TransferId,
        /// The first field that differs (checked in the order from, to, amount, link).
        field: TransferField,
    },
    /// The ledger no longer remembers ids this old, so it cannot tell whether
    /// this one was applied; it refuses rather than risk applying it twice.
    /// Retry with a fresh id only if you know the original was never applied.
    #[error("transfer id {id} is at or below the forgotten-id mark {low_water}: the ledger cannot tell whether it was applied, so it refuses it")]
    IdExpired {
        /// The transfer id.
        id: TransferId,
        /// The largest id the ledger has forgotten in this id's shard.
        low_water: TransferId,
    },
    /// An account refused the transfer. Recorded under the transfer id: a retry
    /// with the same id returns this same rejection with `repeat: true`.
    #[error("transfer rejected{}: {reason}", if *.repeat { " (repeat of a recorded outcome)" } else { "" })]
    Rejected {
        /// What the account said.
        reason: Rejection,
        /// `true` if this id was decided earlier and this is its recorded outcome.
        repeat: bool,
    },
    /// A leg of a linked batch that did not fail itself: leg `failed_index`
    /// did, so no leg was applied.
    #[error("linked leg failed: leg {failed_index} of the batch failed, so this leg was not applied")]
    LinkedLegFailed {
        /// The index of the leg that failed.
        failed_index: usize,
    },
    /// Two legs of one linked batch have the same transfer id.
    #[error("transfer id {id} appears twice in the batch (first at leg {first_index})")]
    DuplicateLegId {
        /// The repeated id.
        id: TransferId,
        /// The index of its first occurrence.
        first_index: usize,
    },
    /// A durable ledger's journal failed: this operation is not
    /// acknowledged, and no later one will be (see [`JournalFailed`]).
    #[error(transparent)]
    Journal(#[from] JournalFailed),
}

/// Errors of [`crate::Ledger::transfer_all`]. Any error means no leg was applied.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, LinkedError, Rejection, Transfer, TransferError, TransferId};
/// let ledger = Ledger::new();
/// for id in 1..=3 {
///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
/// }
/// ledger.credit(AccountId(1), 10).unwrap();
/// let pay = Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(2), amount: 8 };
/// let fee = Transfer { id: TransferId(2), from: AccountId(1), to: AccountId(3), amount: 5 };
/// let Err(LinkedError::LegFailed { index, legs }) = ledger.transfer_all(&[pay, fee]) else { panic!() };
/// assert_eq!(index, 1);
/// assert_eq!(legs[0], TransferError::LinkedLegFailed { failed_index: 1 });
/// assert!(matches!(legs[1], TransferError::Rejected { reason: Rejection::InsufficientFunds { available: 2, .. }, .. }));
/// assert_eq!(ledger.balance(AccountId(1)), Ok(10)); // nothing moved
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LinkedError {
    /// A batch needs between 1 and [`crate::LINKED_LEGS_MAX`] legs.
    #[error("a linked batch takes 1 to {legs_max} legs, got {legs}")]
    LegCount {
        /// Legs given.
        legs: usize,
        /// The limit.
        legs_max: usize,
    },
    /// Leg `index` failed with `legs[index]`; every other leg reports
    /// [`TransferError::LinkedLegFailed`]. No leg was applied.
    #[error("leg {index} of the linked batch failed, so no leg was applied: {}", legs[*index])]
    LegFailed {
        /// The failing leg.
        index: usize,
        /// One error per leg, in order.
        legs: Vec<TransferError>,
    },
    /// Two of the batch's destinations have a ceiling
    /// ([`crate::AccountOptions::ceiling`]). A batch commits the credit to an
    /// account with a ceiling first, with a check that may refuse it, while
    /// an undo is still clean; only one commit can go first. Nothing was
    /// applied or recorded.
    #[error(
        "a linked batch may credit at most one account with a ceiling: {first} and {second} both have one"
    )]
    TwoCeilings {
        /// The first destination with a ceiling, in leg order.
        first: AccountId,
        /// The second.
        second: AccountId,
    },
    /// `legs_in_shard` of the batch's ids fall in one shard of the
    /// transfer-id table, which remembers at most `shard_records_max` ids
    /// (its part of [`crate::LedgerBuilder::transfer_ids_max`]), so the batch
    /// could not be remembered without passing the configured bound. Nothing
    /// was applied or recorded. A table of at least
    /// [`crate::LINKED_LEGS_MAX`] ids per shard fits every batch.
    #[error(
        "the transfer-id table cannot remember this batch: {legs_in_shard} of its ids fall in one shard, which remembers at most {shard_records_max}"
    )]
    IdShardTooSmall {
        /// The batch's ids that fall in the fullest shard.
        legs_in_shard: usize,
        /// What that shard can remember.
        shard_records_max: usize,
    },
    /// A durable ledger's journal failed: this operation is not
    /// acknowledged, and no later one will be (see [`JournalFailed`]).
    #[error(transparent)]
    Journal(#[from] JournalFailed),
}

impl LinkedError {
    /// The failing leg and its own error, if a leg failed.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, Ledger, LinkedError, Transfer, TransferError, TransferId};
    /// let ledger = Ledger::new();
    /// let leg = Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(2), amount: 1 };
    /// let error = ledger.transfer_all(&[leg]).unwrap_err();
    /// assert_eq!(error.failure(), Some((0, &TransferError::UnknownAccount(AccountId(1)))));
    /// assert_eq!(LinkedError::LegCount { legs: 0, legs_max: 16 }.failure(), None);
    /// ```
    pub fn failure(&self) -> Option<(usize, &TransferError)> {
        match self {
            Self::LegCount { .. }
            | Self::IdShardTooSmall { .. }
            | Self::TwoCeilings { .. }
            | Self::Journal(_) => None,
            Self::LegFailed { index, legs } => legs.get(*index).map(|error| (*index, error)),
        }
    }
}

/// Which field of a repeated hold request differs from the hold first recorded
/// under the same id.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, HoldError, HoldField, HoldId, HoldRequest, Ledger};
/// let ledger = Ledger::new();
/// for id in 1..=2 {
///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
/// }
/// ledger.credit(AccountId(1), 10).unwrap();
/// let request = HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 5, expires_at_ms: u64::MAX };
/// ledger.hold(request).unwrap();
/// let retry = ledger.hold(HoldRequest { amount: 6, ..request });
/// assert_eq!(retry, Err(HoldError::IdConflict { id: HoldId(1), field: HoldField::Amount }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum HoldField {
    /// The debited account.
    From,
    /// The account a post credits.
    To,
    /// The amount held.
    Amount,
    /// The expiry time.
    ExpiresAt,
}

impl std::fmt::Display for HoldField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::From => "from",
            Self::To => "to",
            Self::Amount => "amount",
            Self::ExpiresAt => "expires_at_ms",
        })
    }
}

/// Errors of the hold operations: [`crate::Ledger::hold`], [`crate::Ledger::post`],
/// [`crate::Ledger::void`] and [`crate::Ledger::hold_info`].
///
/// ```
/// use atomic_ledger::{HoldError, HoldId, Ledger};
/// let ledger = Ledger::new();
/// assert_eq!(ledger.void(HoldId(9)), Err(HoldError::UnknownHold(HoldId(9))));
/// assert_eq!(ledger.post(HoldId(9), 0), Err(HoldError::ZeroAmount));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum HoldError {
    /// `0` and `u128::MAX` are never hold ids.
    #[error("hold id {0} is reserved (0 and u128::MAX are never hold ids)")]
    ReservedHoldId(HoldId),
    /// `0` and `u128::MAX` are never account ids.
    #[error("account id {0} is reserved (0 and u128::MAX are never account ids)")]
    ReservedAccountId(AccountId),
    /// No account with this id was opened.
    #[error("unknown account {0}")]
    UnknownAccount(AccountId),
    /// Holding or posting zero is refused (void a hold to release all of it).
    #[error("amount must be greater than zero")]
    ZeroAmount,
    /// The amount is above [`crate::AMOUNT_MAX`].
    #[error("amount {amount} exceeds the maximum {amount_max}")]
    AmountTooLarge {
        /// The amount asked for.
        amount: u64,
        /// The largest accepted amount.
        amount_max: u64,
    },
    /// `from` and `to` are the same account.
    #[error("a hold needs two different accounts, got {0} twice")]
    SameAccount(AccountId),
    /// `from` and `to` count different assets: money moves only within one.
    #[error("{from} counts {from_asset} and {to} counts {to_asset}: money moves only within one asset")]
    AssetMismatch {
        /// The source.
        from: AccountId,
        /// Its asset.
        from_asset: Asset,
        /// The destination.
        to: AccountId,
        /// Its asset.
        to_asset: Asset,
    },
    /// The hold would expire at or before the time it is created.
    #[error("hold expiry {expires_at_ms} ms is not after the current time {now_ms} ms")]
    ExpiryInPast {
        /// The expiry asked for.
        expires_at_ms: u64,
        /// The ledger clock's time.
        now_ms: u64,
    },
    /// The id was used before for a hold that differs in `field`.
    #[error("hold id {id} was already used with a different {field}")]
    IdConflict {
        /// The hold id.
        id: HoldId,
        /// The first field that differs (in the order from, to, amount, expiry).
        field: HoldField,
    },
    /// The ledger no longer remembers hold ids this old; it refuses rather than
    /// risk holding twice.
    #[error("hold id {id} is at or below the forgotten-id mark {low_water}")]
    IdExpired {
        /// The hold id.
        id: HoldId,
        /// The largest id forgotten in this id's shard.
        low_water: HoldId,
    },
    /// The hold table is full of open holds (see [`crate::LedgerBuilder::holds_max`]).
    #[error("the hold table is full: its shard holds only open holds (holds_max {holds_max})")]
    TableFull {
        /// The configured capacity.
        holds_max: usize,
    },
    /// An account refused. For `hold`, recorded under the hold id: a retry
    /// returns the same rejection with `repeat: true`. For `post`, the
    /// destination refused the credit and the hold stays open.
    #[error("hold rejected{}: {reason}", if *.repeat { " (repeat of a recorded outcome)" } else { "" })]
    Rejected {
        /// What the account said.
        reason: Rejection,
        /// `true` if this is the recorded outcome of an earlier `hold` with this id.
        repeat: bool,
    },
    /// No hold with this id was created (or it was forgotten after it resolved).
    #[error("unknown hold {0}")]
    UnknownHold(HoldId),
    /// A post asked for more than the hold holds.
    #[error("cannot post {requested} from hold {id}: it holds {held}")]
    ExceedsHold {
        /// The hold.
        id: HoldId,
        /// Its amount.
        held: u64,
        /// The amount asked for.
        requested: u64,
    },
    /// The hold was already posted, voided or expired (or was never created,
    /// because its source refused); `state` says which. Nothing changed now.
    #[error("hold {id} is already resolved: {state}")]
    AlreadyResolved {
        /// The hold.
        id: HoldId,
        /// What happened to it.
        state: HoldState,
    },
    /// A durable ledger's journal failed: this operation is not
    /// acknowledged, and no later one will be (see [`JournalFailed`]).
    #[error(transparent)]
    Journal(#[from] JournalFailed),
}

/// The error of an operation made with a credential: the credential refused
/// it (nothing happened), or the operation itself failed (and the credential's
/// spend was given back).
///
/// ```
/// use atomic_ledger::{AccountError, AccountId, AccountOptions, AsError, CredentialId, CredentialSpec, Ledger, Rejection, Scopes};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::DEBIT, amount_max_per_op: None, spend_cap: Some(10), expires_at_ms: None, rate_limit: None };
/// ledger.issue_credential(CredentialId(1), spec).unwrap();
/// let failed = ledger.debit_as(CredentialId(1), 5); // no funds
/// assert!(matches!(failed, Err(AsError::Failed(AccountError::Rejected(Rejection::InsufficientFunds { .. })))));
/// assert_eq!(ledger.credential_info(CredentialId(1)).unwrap().spent, 0); // given back
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AsError<E> {
    /// The credential did not allow the operation.
    #[error(transparent)]
    Denied(CredentialError),
    /// The credential allowed it, and the operation failed.
    #[error(transparent)]
    Failed(E),
}

/// Errors of [`crate::LedgerBuilder::build`].
///
/// ```
/// use atomic_ledger::{ConfigError, Ledger, ACCOUNTS_MAX_LIMIT};
/// let error = Ledger::builder().accounts_max(0).build().unwrap_err();
/// assert!(matches!(error, ConfigError::OutOfRange { name: "accounts_max", value: 0, min: 1, .. }));
/// let message = format!("accounts_max must be between 1 and {ACCOUNTS_MAX_LIMIT}, got 0");
/// assert_eq!(error.to_string(), message);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ConfigError {
    /// A limit is outside its accepted range.
    #[error("{name} must be between {min} and {max}, got {value}")]
    OutOfRange {
        /// Which setting.
        name: &'static str,
        /// The value given.
        value: usize,
        /// The smallest accepted value.
        min: usize,
        /// The largest accepted value.
        max: usize,
    },
}

/// How a transfer reports a failure it shares with single-account
/// operations. Exhaustive on purpose (see the module docs).
///
/// ```
/// use atomic_ledger::{AccountError, AccountId, TransferError};
/// let unknown = TransferError::from(AccountError::UnknownAccount(AccountId(4)));
/// assert_eq!(unknown, TransferError::UnknownAccount(AccountId(4)));
/// ```
impl From<AccountError> for TransferError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::ReservedAccountId(id) => Self::ReservedAccountId(id),
            AccountError::UnknownAccount(id) => Self::UnknownAccount(id),
            AccountError::ZeroAmount => Self::ZeroAmount,
            AccountError::AmountTooLarge { amount, amount_max } => {
                Self::AmountTooLarge { amount, amount_max }
            }
            AccountError::Rejected(reason) => Self::Rejected { reason, repeat: false },
            AccountError::Journal(failed) => Self::Journal(failed),
        }
    }
}

/// How a hold operation reports a failure it shares with single-account
/// operations. Exhaustive on purpose (see the module docs).
///
/// ```
/// use atomic_ledger::{AccountError, HoldError};
/// assert_eq!(HoldError::from(AccountError::ZeroAmount), HoldError::ZeroAmount);
/// ```
impl From<AccountError> for HoldError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::ReservedAccountId(id) => Self::ReservedAccountId(id),
            AccountError::UnknownAccount(id) => Self::UnknownAccount(id),
            AccountError::ZeroAmount => Self::ZeroAmount,
            AccountError::AmountTooLarge { amount, amount_max } => {
                Self::AmountTooLarge { amount, amount_max }
            }
            AccountError::Rejected(reason) => Self::Rejected { reason, repeat: false },
            AccountError::Journal(failed) => Self::Journal(failed),
        }
    }
}
