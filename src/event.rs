//! The change stream's events: committed journal entries, typed, each one
//! complete on its own ([`crate::Ledger::subscribe`]).
//!
//! # Implementation details
//!
//! An event is one journal entry, read back from a durable segment and
//! translated field by field: the journal's entries name every account and
//! amount they move (`docs/journal.md`, "Self-contained entries"), so an
//! event needs nothing read before it, and a stream can start at any
//! position. Entries that are the ledger's own bookkeeping (a transfer's
//! debit before its outcome, a cut transfer abandoned by recovery, spending
//! counted against a credential's cap, a bucket's level) are not events; a
//! transfer's debit is reported with its outcome, so a consumer that sums
//! [`Event::movements`] sees each transfer move its money at one position.

use crate::journal::{Entry, HoldEnd};
use crate::{
    AccountId, AccountOptions, CredentialId, CredentialSpec, HoldId, HoldState, Rejection, Scopes, Status,
    TransferId,
};

/// One committed change, at its position in the journal.
///
/// Events come in increasing position order. Positions are unique but not
/// contiguous: steps that changed nothing and the ledger's bookkeeping
/// entries are not events. A consumer that stores `position + 1` with what
/// it did resumes exactly after it ([`crate::Since::Position`]).
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Change, Ledger, Since};
///
/// let dir = tempfile::tempdir()?;
/// let ledger = Ledger::builder().accounts_max(8).open(dir.path())?;
/// ledger.open_account(AccountId(1), AccountOptions::default())?;
/// ledger.credit(AccountId(1), 5)?;
/// let mut events = ledger.subscribe(Since::Position(0))?;
/// let opened = events.next().unwrap()?;
/// assert!(matches!(opened.change, Change::AccountOpened { account: AccountId(1), .. }));
/// let credited = events.next().unwrap()?;
/// assert!(credited.position > opened.position);
/// assert_eq!(credited.movements().collect::<Vec<_>>(), [(AccountId(1), 5)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    /// The entry's position in the journal.
    pub position: u64,
    /// What changed.
    pub change: Change,
}

/// What a committed entry changed.
///
/// ```
/// use atomic_ledger::{AccountId, Change, TransferId};
///
/// let applied = Change::TransferApplied { id: TransferId(7), from: AccountId(1), to: AccountId(2), amount: 3 };
/// assert_eq!(applied.movements().collect::<Vec<_>>(), [(AccountId(1), -3), (AccountId(2), 3)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Change {
    /// An account was opened (balance zero).
    AccountOpened {
        /// The account.
        account: AccountId,
        /// Its floor, asset and ceiling.
        options: AccountOptions,
    },
    /// An external credit ([`crate::Ledger::credit`]).
    Credited {
        /// The account credited.
        account: AccountId,
        /// How much.
        amount: u64,
    },
    /// An external debit ([`crate::Ledger::debit`] and the credentialed debit).
    Debited {
        /// The account debited.
        account: AccountId,
        /// How much.
        amount: u64,
    },
    /// The account was frozen, unfrozen (`Open`) or closed.
    StatusChanged {
        /// The account.
        account: AccountId,
        /// Its new status.
        status: Status,
    },
    /// A transfer applied: `amount` left `from` and reached `to`.
    TransferApplied {
        /// The transfer's id.
        id: TransferId,
        /// The account debited.
        from: AccountId,
        /// The account credited.
        to: AccountId,
        /// How much.
        amount: u64,
    },
    /// A transfer refused, and recorded: a retry of its id gets this answer.
    /// It moved nothing (a debit already made was returned).
    TransferRejected {
        /// The transfer's id.
        id: TransferId,
        /// The account it would have debited.
        from: AccountId,
        /// The account it would have credited.
        to: AccountId,
        /// How much.
        amount: u64,
        /// Why.
        reason: Rejection,
    },
    /// Leg `index` of the linked batch whose first id is `first`, declared
    /// before the batch changes anything. The batch applies every leg
    /// (at its first [`Change::BatchCredited`]) or none
    /// ([`Change::BatchRejected`], or [`Change::BatchAbandoned`] if a crash
    /// cut it before it was acknowledged).
    LegDeclared {
        /// The leg's transfer id.
        id: TransferId,
        /// The batch's first id.
        first: TransferId,
        /// How many legs the batch has.
        legs: u8,
        /// This leg's index.
        index: u8,
        /// The account the leg debits.
        from: AccountId,
        /// The account it credits.
        to: AccountId,
        /// How much.
        amount: u64,
    },
    /// The batch took `amount` out of `account` (its legs from it, summed).
    BatchDebited {
        /// The batch's first id.
        first: TransferId,
        /// The account debited.
        account: AccountId,
        /// How much.
        amount: u64,
    },
    /// The batch gave `amount` back to `account` (it is being undone).
    BatchReturned {
        /// The batch's first id.
        first: TransferId,
        /// The account given back to.
        account: AccountId,
        /// How much.
        amount: u64,
    },
    /// The batch credited `account`: the batch is applied.
    BatchCredited {
        /// The batch's first id.
        first: TransferId,
        /// The account credited.
        account: AccountId,
        /// How much (its legs to it, summed).
        amount: u64,
    },
    /// The batch was refused, and recorded; every debit was returned.
    BatchRejected {
        /// The batch's first id.
        first: TransferId,
        /// The leg that failed.
        failed_index: u8,
        /// Why.
        reason: Rejection,
    },
    /// A batch a crash cut before any credit, never acknowledged: its
    /// debits were returned and its ids forgotten (a retry applies it).
    BatchAbandoned {
        /// The batch's first id.
        first: TransferId,
    },
    /// A hold took `amount` out of `from`'s balance.
    HoldPlaced {
        /// The hold's id.
        id: HoldId,
        /// The account held.
        from: AccountId,
        /// The account a post credits.
        to: AccountId,
        /// How much.
        amount: u64,
        /// When it expires (ledger clock, ms).
        expires_at_ms: u64,
    },
    /// A hold refused, and recorded; it moved nothing.
    HoldRejected {
        /// The hold's id.
        id: HoldId,
        /// The account it would have held.
        from: AccountId,
        /// The account a post would have credited.
        to: AccountId,
        /// How much.
        amount: u64,
        /// Why.
        reason: Rejection,
    },
    /// A post credited `amount` of the hold to `to`; a
    /// [`Change::HoldEnded`] follows with the rest.
    HoldPosted {
        /// The hold's id.
        id: HoldId,
        /// The account held.
        from: AccountId,
        /// The account credited.
        to: AccountId,
        /// How much.
        amount: u64,
    },
    /// The hold ended (posted, voided or expired): `returned` went back to `from`.
    HoldEnded {
        /// The hold's id.
        id: HoldId,
        /// The account held.
        from: AccountId,
        /// The account a post credits.
        to: AccountId,
        /// `Posted`, `Voided` or `Expired`.
        state: HoldState,
        /// How much went back to `from`.
        returned: u64,
    },
    /// A credential was issued.
    CredentialIssued {
        /// Its id.
        id: CredentialId,
        /// What it may do.
        spec: CredentialSpec,
    },
    /// A credential was revoked.
    CredentialRevoked {
        /// Its id.
        id: CredentialId,
    },
    /// A credential's scopes were narrowed.
    CredentialDowngraded {
        /// Its id.
        id: CredentialId,
        /// What it may still do.
        scopes: Scopes,
    },
}

impl Event {
    /// The balance changes this event made, per account, signed (empty for
    /// events that move no money). Summed from an account's opening, they
    /// give its balance at every event, in a history where each transfer
    /// moves its money at its outcome: between a transfer's debit and its
    /// outcome the account really had the amount less (the debit is not an
    /// event), so a balance here never breaks a floor, but may exceed what
    /// the account held then.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, Change, Event};
    ///
    /// let event = Event { position: 9, change: Change::Debited { account: AccountId(4), amount: 2 } };
    /// assert_eq!(event.movements().collect::<Vec<_>>(), [(AccountId(4), -2)]);
    /// ```
    pub fn movements(&self) -> impl Iterator<Item = (AccountId, i64)> {
        self.change.movements()
    }
}

impl Change {
    /// See [`Event::movements`].
    ///
    /// ```
    /// use atomic_ledger::{AccountId, Change};
    ///
    /// let closed = Change::StatusChanged { account: AccountId(1), status: atomic_ledger::Status::Closed };
    /// assert_eq!(closed.movements().count(), 0);
    /// ```
    pub fn movements(&self) -> impl Iterator<Item = (AccountId, i64)> {
        // Amounts are at most `AMOUNT_MAX` = `BALANCE_MAX`, an `i64`.
        let signed = |amount: u64| i64::try_from(amount).unwrap_or(i64::MAX);
        let (first, second) = match *self {
            Change::Credited { account, amount }
            | Change::BatchReturned { account, amount, .. }
            | Change::BatchCredited { account, amount, .. } => (Some((account, signed(amount))), None),
            Change::Debited { account, amount } | Change::BatchDebited { account, amount, .. } => {
                (Some((account, -signed(amount))), None)
            }
            Change::TransferApplied { from, to, amount, .. } => {
                (Some((from, -signed(amount))), Some((to, signed(amount))))
            }
            Change::HoldPlaced { from, amount, .. } => (Some((from, -signed(amount))), None),
            Change::HoldPosted { to, amount, .. } => (Some((to, signed(amount))), None),
            Change::HoldEnded { from, returned, .. } if returned > 0 => {
                (Some((from, signed(returned))), None)
            }
            _ => (None, None),
        };
        first.into_iter().chain(second)
    }

    /// The accounts this change concerns (empty for credentials).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, Change, TransferId};
    ///
    /// let batch = Change::BatchRejected {
    ///     first: TransferId(1),
    ///     failed_index: 0,
    ///     reason: atomic_ledger::Rejection::AccountFrozen { account: AccountId(3) },
    /// };
    /// assert_eq!(batch.accounts().count(), 0);
    /// ```
    pub fn accounts(&self) -> impl Iterator<Item = AccountId> {
        let (first, second) = match *self {
            Change::AccountOpened { account, .. }
            | Change::Credited { account, .. }
            | Change::Debited { account, .. }
            | Change::StatusChanged { account, .. }
            | Change::BatchDebited { account, .. }
            | Change::BatchReturned { account, .. }
            | Change::BatchCredited { account, .. } => (Some(account), None),
            Change::TransferApplied { from, to, .. }
            | Change::TransferRejected { from, to, .. }
            | Change::LegDeclared { from, to, .. }
            | Change::HoldPlaced { from, to, .. }
            | Change::HoldRejected { from, to, .. }
            | Change::HoldPosted { from, to, .. }
            | Change::HoldEnded { from, to, .. } => (Some(from), Some(to)),
            _ => (None, None),
        };
        first.into_iter().chain(second)
    }

    /// The event a journal entry is, if it is one (module docs).
    pub(crate) fn of(entry: Entry) -> Option<Change> {
        Some(match entry {
            Entry::AccountOpened { account, options } => Change::AccountOpened { account, options },
            Entry::Credited { account, amount } => Change::Credited { account, amount },
            Entry::Debited { account, amount } => Change::Debited { account, amount },
            Entry::StatusSet { account, status } => Change::StatusChanged { account, status },
            Entry::TransferCredited { id, from, to, amount } => {
                Change::TransferApplied { id, from, to, amount }
            }
            Entry::TransferUndone { id, from, to, amount, reason }
            | Entry::TransferRejected { id, from, to, amount, reason } => {
                Change::TransferRejected { id, from, to, amount, reason }
            }
            Entry::LegDeclared { id, first, legs, index, from, to, amount } => {
                Change::LegDeclared { id, first, legs, index, from, to, amount }
            }
            Entry::BatchDebited { first, account, amount } => Change::BatchDebited { first, account, amount },
            Entry::BatchReturned { first, account, amount } => {
                Change::BatchReturned { first, account, amount }
            }
            Entry::BatchCredited { first, account, amount } => {
                Change::BatchCredited { first, account, amount }
            }
            Entry::BatchRejected { first, failed_index, reason } => {
                Change::BatchRejected { first, failed_index, reason }
            }
            Entry::BatchAbandoned { first } => Change::BatchAbandoned { first },
            Entry::HoldPlaced { id, from, to, amount, expires_at_ms, .. } => {
                Change::HoldPlaced { id, from, to, amount, expires_at_ms }
            }
            Entry::HoldRejected { id, from, to, amount, reason, .. } => {
                Change::HoldRejected { id, from, to, amount, reason }
            }
            Entry::HoldPostCredited { id, from, to, amount } => Change::HoldPosted { id, from, to, amount },
            Entry::HoldEnded { id, from, to, end, returned } => {
                let state = match end {
                    HoldEnd::Posted { amount } => HoldState::Posted { amount },
                    HoldEnd::Voided => HoldState::Voided,
                    HoldEnd::Expired => HoldState::Expired,
                };
                Change::HoldEnded { id, from, to, state, returned }
            }
            Entry::CredentialIssued { id, spec } => Change::CredentialIssued { id, spec },
            Entry::CredentialRevoked { id } => Change::CredentialRevoked { id },
            Entry::CredentialDowngraded { id, scopes } => Change::CredentialDowngraded { id, scopes },
            Entry::TransferDebited { .. }
            | Entry::TransferAbandoned { .. }
            | Entry::CredentialSpent { .. }
            | Entry::CredentialReturned { .. }
            | Entry::BucketOpened { .. }
            | Entry::BucketSet { .. } => return None,
        })
    }
}
