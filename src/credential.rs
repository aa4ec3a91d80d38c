//! Credentials as their users see them: what one may do ([`Scopes`]), how
//! one is issued ([`CredentialSpec`]) and what it reports. Plain data; the
//! atomic word that decides each use is [`crate::credential_cell`].

use crate::{AccountId, BucketId, CredentialId, JournalFailed};

/// What a credential may do. Combine with `|`.
///
/// ```
/// use atomic_ledger::Scopes;
/// let scopes = Scopes::DEBIT | Scopes::READ;
/// assert!(scopes.contains(Scopes::READ));
/// assert!(!scopes.contains(Scopes::CREDIT));
/// assert!(Scopes::ALL.contains(scopes));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "u8", into = "u8")
)]
pub struct Scopes(u8);

/// The scopes' bits: one per scope, in the order the constants are declared.
///
/// ```
/// use atomic_ledger::Scopes;
/// assert_eq!(u8::from(Scopes::NONE), 0);
/// assert_eq!(Scopes::try_from(u8::from(Scopes::READ | Scopes::DEBIT)), Ok(Scopes::READ | Scopes::DEBIT));
/// ```
impl From<Scopes> for u8 {
    fn from(scopes: Scopes) -> u8 {
        scopes.bits()
    }
}

/// Scopes from their bits; bits that name no scope are refused (the
/// value is returned).
///
/// ```
/// use atomic_ledger::Scopes;
/// assert_eq!(Scopes::try_from(u8::from(Scopes::ALL)), Ok(Scopes::ALL));
/// assert_eq!(Scopes::try_from(0b1000_0000), Err(0b1000_0000));
/// ```
impl TryFrom<u8> for Scopes {
    type Error = u8;

    fn try_from(bits: u8) -> Result<Self, u8> {
        let scopes = Scopes::from_bits(bits);
        if scopes.bits() == bits {
            Ok(scopes)
        } else {
            Err(bits)
        }
    }
}

impl Scopes {
    /// Nothing.
    pub const NONE: Scopes = Scopes(0);
    /// Debit the account, or transfer out of it.
    pub const DEBIT: Scopes = Scopes(1);
    /// Place holds on the account.
    pub const HOLD: Scopes = Scopes(1 << 1);
    /// Post or void holds from or to the account.
    pub const RESOLVE: Scopes = Scopes(1 << 2);
    /// Credit the account.
    pub const CREDIT: Scopes = Scopes(1 << 3);
    /// Read the account.
    pub const READ: Scopes = Scopes(1 << 4);
    /// Freeze, unfreeze or close the account.
    pub const ADMIN: Scopes = Scopes(1 << 5);
    /// Every scope.
    pub const ALL: Scopes = Scopes(0x3f);

    /// Whether every scope in `other` is in `self`.
    ///
    /// ```
    /// use atomic_ledger::Scopes;
    /// assert!(Scopes::ALL.contains(Scopes::HOLD | Scopes::RESOLVE));
    /// assert!(Scopes::NONE.contains(Scopes::NONE));
    /// ```
    pub const fn contains(self, other: Scopes) -> bool {
        self.0 & other.0 == other.0
    }

    /// The scopes as six bits (what the credential word stores).
    pub(crate) const fn bits(self) -> u8 {
        self.0 & Self::ALL.0
    }

    /// The scopes of six stored bits.
    pub(crate) const fn from_bits(bits: u8) -> Scopes {
        Scopes(bits & Self::ALL.0)
    }
}

impl std::ops::BitOr for Scopes {
    type Output = Scopes;
    fn bitor(self, other: Scopes) -> Scopes {
        Scopes(self.0 | other.0)
    }
}

/// How to issue a credential: for which account, allowed to do what, up to how much.
///
/// ```
/// use atomic_ledger::{AccountId, CredentialSpec, Scopes};
/// let spec = CredentialSpec {
///     account: AccountId(1),
///     scopes: Scopes::DEBIT | Scopes::READ,
///     amount_max_per_op: Some(500),
///     spend_cap: Some(10_000),
///     expires_at_ms: None,
///     rate_limit: None,
/// };
/// assert_eq!(spec.spend_cap, Some(10_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CredentialSpec {
    /// The account every use acts on.
    pub account: AccountId,
    /// What it may do.
    pub scopes: Scopes,
    /// The most one operation may move (`None`: up to [`crate::AMOUNT_MAX`]).
    pub amount_max_per_op: Option<u64>,
    /// The most all its debits, transfers out and holds may move in total
    /// (`None`: no total limit). Spent amounts are given back when an
    /// operation fails.
    pub spend_cap: Option<u64>,
    /// When it stops working, in the ledger clock's milliseconds (`None`: never).
    pub expires_at_ms: Option<u64>,
    /// A refilling bucket (opened with [`crate::Ledger::open_bucket`]) that
    /// every debit, transfer out and hold made with this credential also
    /// takes its amount from (`None`: no rate limit). Several credentials may
    /// share one bucket.
    pub rate_limit: Option<BucketId>,
}

/// A credential as the ledger sees it now.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, CredentialId, CredentialSpec, Ledger, Scopes};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::READ, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: None };
/// ledger.issue_credential(CredentialId(7), spec).unwrap();
/// let info = ledger.credential_info(CredentialId(7)).unwrap();
/// assert_eq!((info.scopes, info.spent, info.revoked), (Scopes::READ, 0, false));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CredentialInfo {
    /// The credential.
    pub id: CredentialId,
    /// As issued (its `scopes` field is the issued scopes).
    pub spec: CredentialSpec,
    /// Its scopes now (after any downgrade).
    pub scopes: Scopes,
    /// How much it has spent against its cap (0 for a credential without one:
    /// nothing is counted then).
    pub spent: u64,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Uses in flight now.
    pub in_use: u32,
}

/// An administrative action on an account, for [`crate::Ledger::administer_as`].
///
/// ```
/// use atomic_ledger::AccountAction;
/// assert_ne!(AccountAction::Freeze, AccountAction::Close);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AccountAction {
    /// [`crate::Ledger::freeze`].
    Freeze,
    /// [`crate::Ledger::unfreeze`].
    Unfreeze,
    /// [`crate::Ledger::close`].
    Close,
}

/// Why a credential did not allow an operation, or could not be issued or changed.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, AsError, CredentialError, CredentialId, CredentialSpec, Ledger, Scopes};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::READ, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: None };
/// ledger.issue_credential(CredentialId(1), spec).unwrap();
/// let denied = ledger.debit_as(CredentialId(1), 5);
/// assert!(matches!(denied, Err(AsError::Denied(CredentialError::ScopeMissing { needed: Scopes::DEBIT, .. }))));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CredentialError {
    /// `0` and `u128::MAX` are never credential ids.
    #[error("credential id {0} is reserved (0 and u128::MAX are never credential ids)")]
    ReservedCredentialId(CredentialId),
    /// No credential with this id was issued.
    #[error("unknown credential {0}")]
    UnknownCredential(CredentialId),
    /// The credential was revoked.
    #[error("credential {0} is revoked")]
    Revoked(CredentialId),
    /// The credential expired (judged by the ledger clock when the use began).
    #[error("credential {id} expired at {expires_at_ms} ms (now {now_ms} ms)")]
    Expired {
        /// The credential.
        id: CredentialId,
        /// Its expiry.
        expires_at_ms: u64,
        /// The ledger clock's time.
        now_ms: u64,
    },
    /// The credential lacks a scope the operation needs.
    #[error("credential {id} lacks scope {needed:?} (it has {granted:?})")]
    ScopeMissing {
        /// The credential.
        id: CredentialId,
        /// The scope the operation needs.
        needed: Scopes,
        /// The scopes it has.
        granted: Scopes,
    },
    /// The operation acts on an account the credential is not for.
    #[error("credential {id} is for account {account}, not {requested}")]
    WrongAccount {
        /// The credential.
        id: CredentialId,
        /// Its account.
        account: AccountId,
        /// The account the operation acts on.
        requested: AccountId,
    },
    /// The amount is above the credential's per-operation maximum.
    #[error("credential {id} allows at most {amount_max} per operation, not {amount}")]
    PerOpCapExceeded {
        /// The credential.
        id: CredentialId,
        /// The amount asked for.
        amount: u64,
        /// Its per-operation maximum.
        amount_max: u64,
    },
    /// The amount would take the credential past its total spending cap.
    #[error("credential {id} would exceed its spending cap {cap}: {spent} spent, {requested} requested")]
    SpendCapExceeded {
        /// The credential.
        id: CredentialId,
        /// Its cap.
        cap: u64,
        /// Already spent, at the decision.
        spent: u64,
        /// The amount asked for.
        requested: u64,
    },
    /// `downgrade_credential` may only remove scopes.
    #[error("credential {id} has scopes {granted:?}: {requested:?} is not a subset of them")]
    NotADowngrade {
        /// The credential.
        id: CredentialId,
        /// Its scopes now.
        granted: Scopes,
        /// The scopes asked for.
        requested: Scopes,
    },
    /// The id was already issued with another spec.
    #[error("credential {0} was already issued with a different spec")]
    IdConflict(CredentialId),
    /// Issuing for an account that was not opened (or a reserved account id).
    #[error("cannot issue a credential for account {0}: no such account")]
    UnknownAccount(AccountId),
    /// A cap above [`crate::AMOUNT_MAX`] (or zero).
    #[error("credential cap {cap} must be between 1 and {amount_max}")]
    CapOutOfRange {
        /// The cap given.
        cap: u64,
        /// The largest accepted cap.
        amount_max: u64,
    },
    /// Issuing a credential that has already expired.
    #[error("credential expiry {expires_at_ms} ms is not after the current time {now_ms} ms")]
    ExpiryInPast {
        /// The expiry asked for.
        expires_at_ms: u64,
        /// The ledger clock's time.
        now_ms: u64,
    },
    /// The credential table is full (see [`crate::LedgerBuilder::credentials_max`]).
    #[error("the credential table is full ({credentials_max} credentials)")]
    TableFull {
        /// The configured capacity.
        credentials_max: usize,
    },
    /// Issuing with a rate limit whose bucket was not opened.
    #[error("cannot issue a credential limited by bucket {0}: no such bucket")]
    UnknownBucket(BucketId),
    /// The credential's rate-limit bucket does not have the amount now.
    #[error("credential {id} is rate-limited by bucket {bucket}: {requested} requested, {available} available; retry after {retry_after_ms} ms")]
    RateLimited {
        /// The credential.
        id: CredentialId,
        /// Its rate-limit bucket.
        bucket: BucketId,
        /// The units asked for (the operation's amount).
        requested: u64,
        /// The units the bucket had, at the decision.
        available: u64,
        /// How long until the refill will have brought enough, if nobody else takes any.
        retry_after_ms: u64,
    },
    /// The amount is more than the credential's rate-limit bucket can ever hold.
    #[error(
        "credential {id} is rate-limited by bucket {bucket}, which holds at most {capacity}, not {amount}"
    )]
    ExceedsRateLimit {
        /// The credential.
        id: CredentialId,
        /// Its rate-limit bucket.
        bucket: BucketId,
        /// The amount asked for.
        amount: u64,
        /// The bucket's capacity.
        capacity: u64,
    },
    /// A durable ledger's journal failed: this operation is not
    /// acknowledged, and no later one will be (see [`crate::JournalFailed`]).
    #[error(transparent)]
    Journal(#[from] JournalFailed),
}
