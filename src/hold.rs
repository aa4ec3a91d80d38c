//! Holds (two-phase transfers) as their users see them: the request, the
//! states a hold goes through, and what each call returns. Plain data; the
//! table and the state machine that resolve each hold exactly once are
//! [`crate::hold_table`].

use crate::{AccountId, CredentialId, HoldId, Rejection};

/// A request to hold `amount` of `from`'s balance for a later post to `to`.
///
/// ```
/// use atomic_ledger::{AccountId, HoldId, HoldRequest};
/// let request = HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 50, expires_at_ms: 1_900_000_000_000 };
/// assert_eq!(request.amount, 50);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HoldRequest {
    /// Idempotency key: the ledger creates each hold at most once.
    pub id: HoldId,
    /// The account whose balance is held.
    pub from: AccountId,
    /// The account a post credits.
    pub to: AccountId,
    /// How much to hold; `1..=AMOUNT_MAX`.
    pub amount: u64,
    /// When the hold expires, in the ledger clock's milliseconds; must be
    /// later than now. [`HoldRequest::NEVER_EXPIRES`] (`u64::MAX`): never, and
    /// no operation on the hold reads the clock.
    pub expires_at_ms: u64,
}

impl HoldRequest {
    /// The expiry of a hold that never expires: only `post` or `void` end it.
    /// Its `hold`, `post`, `void` and `hold_info` skip the clock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use atomic_ledger::{AccountId, AccountOptions, HoldId, HoldRequest, HoldState, Ledger, ManualClock};
    /// let clock = Arc::new(ManualClock::new(0));
    /// let ledger = Ledger::builder().clock(clock.clone()).build().unwrap();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(AccountId(1), 10).unwrap();
    /// let request = HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 4, expires_at_ms: HoldRequest::NEVER_EXPIRES };
    /// ledger.hold(request).unwrap();
    /// clock.set_ms(u64::MAX); // even the end of time
    /// assert_eq!(ledger.hold_info(HoldId(1)).unwrap().state, HoldState::Open);
    /// assert_eq!(ledger.expire_due(u64::MAX), 0);
    /// ```
    pub const NEVER_EXPIRES: u64 = u64::MAX;
}

/// Where a hold is in its life.
///
/// ```
/// use atomic_ledger::HoldState;
/// assert!(HoldState::Open.is_open());
/// assert!(!HoldState::Posted { amount: 5 }.is_open());
/// assert_eq!(HoldState::Voided.to_string(), "voided");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum HoldState {
    /// The amount is held.
    Open,
    /// Posted: `amount` went to `to`, the rest back to `from`.
    Posted {
        /// The amount captured.
        amount: u64,
    },
    /// Voided: everything went back to `from`.
    Voided,
    /// Expired: everything went back to `from`.
    Expired,
    /// Never held: the source refused (recorded like a transfer rejection).
    Rejected(Rejection),
}

impl HoldState {
    /// Whether the hold still holds its amount.
    ///
    /// ```
    /// use atomic_ledger::HoldState;
    /// assert!(!HoldState::Expired.is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        matches!(self, Self::Open)
    }
}

impl std::fmt::Display for HoldState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Open => f.write_str("open"),
            Self::Posted { amount } => write!(f, "posted ({amount})"),
            Self::Voided => f.write_str("voided"),
            Self::Expired => f.write_str("expired"),
            Self::Rejected(reason) => write!(f, "never held ({reason})"),
        }
    }
}

/// A hold as the ledger records it.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, HoldId, HoldRequest, HoldState, Ledger};
/// let ledger = Ledger::new();
/// for id in 1..=2 {
///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
/// }
/// ledger.credit(AccountId(1), 10).unwrap();
/// let request = HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 4, expires_at_ms: u64::MAX };
/// ledger.hold(request).unwrap();
/// let info = ledger.hold_info(HoldId(1)).unwrap();
/// assert_eq!((info.request, info.state), (request, HoldState::Open));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HoldInfo {
    /// The request that created it.
    pub request: HoldRequest,
    /// Its state now.
    pub state: HoldState,
}

/// A hold that exists (`repeat: true` if an earlier call with this id created it).
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, HoldId, HoldReceipt, HoldRequest, Ledger};
/// let ledger = Ledger::new();
/// for id in 1..=2 {
///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
/// }
/// ledger.credit(AccountId(1), 10).unwrap();
/// let request = HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 4, expires_at_ms: u64::MAX };
/// assert_eq!(ledger.hold(request), Ok(HoldReceipt { id: HoldId(1), repeat: false }));
/// assert_eq!(ledger.hold(request), Ok(HoldReceipt { id: HoldId(1), repeat: true }));
/// assert_eq!(ledger.balance(AccountId(1)), Ok(6)); // held once
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HoldReceipt {
    /// The hold's id.
    pub id: HoldId,
    /// `true` if the hold had already been created and this call changed nothing.
    pub repeat: bool,
}

/// What a post moved.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, HoldId, HoldRequest, Ledger, Posted};
/// let ledger = Ledger::new();
/// for id in 1..=2 {
///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
/// }
/// ledger.credit(AccountId(1), 10).unwrap();
/// let request = HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 8, expires_at_ms: u64::MAX };
/// ledger.hold(request).unwrap();
/// assert_eq!(ledger.post(HoldId(1), 5), Ok(Posted { posted: 5, returned: 3 }));
/// assert_eq!((ledger.balance(AccountId(1)), ledger.balance(AccountId(2))), (Ok(5), Ok(5)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Posted {
    /// Credited to the hold's `to`.
    pub posted: u64,
    /// Returned to the hold's `from`.
    pub returned: u64,
}

/// A hold as the hold table keeps it and a checkpoint stores it: its
/// request, its state, and the credential that paid for it.
pub(crate) type RestoredHold = (HoldRequest, HoldState, Option<CredentialId>);
