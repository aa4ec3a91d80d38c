//! Credentials: the ledger-side record behind a bearer token or an API key,
//! checked in the same lock-free step sequence as the action it authorises.
//!
//! # Implementation details
//!
//! One 64-bit word per credential:
//!
//! ```text
//!  63   62   61     56 55       49 48       42 41                        0
//! +----+----+---------+-----------+-----------+---------------------------+
//! |rev |gen | scopes  | uses[0]   | uses[1]   | spent (against the cap)   |
//! +----+----+---------+-----------+-----------+---------------------------+
//! ```
//!
//! * A **use** ([`CredentialCell::begin`]) is one CAS that checks `rev`, the
//!   scope bit and the spending cap, adds the amount to `spent` and counts
//!   itself in `uses[gen]`. The operation then runs; [`CredentialCell::end`]
//!   uncounts it, and gives the amount back if the operation failed.
//! * **Revoke** sets `rev` (so every later `begin` fails), then waits until
//!   both use counts are zero: only uses that began before it, each one
//!   operation long. It never waits for a use that begins after it.
//! * **Downgrading scopes** writes the new scopes and flips `gen` in one CAS,
//!   then waits for `uses[old gen]` to drain. New uses, which see the new
//!   scopes, count in the other generation, so a steady stream of them cannot
//!   hold the downgrade up. Admin operations on credentials are serialized by a
//!   mutex, so the other generation is always drained when a downgrade starts.
//!
//! A credentialed operation therefore succeeds only if the credential was
//! live, in scope and within its caps at its `begin`, and the revocation or
//! downgrade that would have refused it had not yet returned: it linearizes
//! before them. Expiry is judged by the ledger clock read at `begin`.

use crate::sync::{AtomicU64, Ordering};
use crate::{AccountId, BucketId, CredentialError, CredentialId, AMOUNT_MAX};

const REVOKED: u64 = 1 << 63;
const GEN_BIT: u64 = 1 << 62;
const SCOPES_SHIFT: u32 = 56;
const SCOPES_MASK: u64 = 0x3f << SCOPES_SHIFT;
const USES_MAX: u64 = 127;
const USES_SHIFT: [u32; 2] = [49, 42];
const SPENT_MASK: u64 = (1 << 42) - 1;
const _: () = assert!(AMOUNT_MAX <= SPENT_MASK, "a cap of AMOUNT_MAX fits the spent field");

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
pub struct Scopes(u8);

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

    fn from_word(word: u64) -> Scopes {
        Scopes(((word & SCOPES_MASK) >> SCOPES_SHIFT) as u8)
    }

    fn to_word(self) -> u64 {
        u64::from(self.0 & 0x3f) << SCOPES_SHIFT
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
pub struct CredentialSpec {
    /// The account every use acts on.
    pub account: AccountId,
    /// What it may do.
    pub scopes: Scopes,
    /// The most one operation may move (`None`: up to [`AMOUNT_MAX`]).
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
pub enum AccountAction {
    /// [`crate::Ledger::freeze`].
    Freeze,
    /// [`crate::Ledger::unfreeze`].
    Unfreeze,
    /// [`crate::Ledger::close`].
    Close,
}

/// A use in progress: which generation it counted in and what it spent.
#[derive(Debug)]
#[must_use = "a use must be ended"]
pub(crate) struct Ticket {
    generation: usize,
    spent: u64,
}

#[derive(Debug)]
pub(crate) struct CredentialCell {
    id: CredentialId,
    spec: CredentialSpec,
    word: AtomicU64,
}

impl crate::directory::Keyed for CredentialCell {
    fn key(&self) -> u128 {
        self.id.0
    }
}

fn uses(word: u64, generation: usize) -> u64 {
    (word >> USES_SHIFT[generation]) & USES_MAX
}

fn generation(word: u64) -> usize {
    usize::from(word & GEN_BIT != 0)
}

impl CredentialCell {
    pub(crate) fn new(id: CredentialId, spec: CredentialSpec) -> Self {
        Self { id, spec, word: AtomicU64::new(spec.scopes.to_word()) }
    }

    pub(crate) fn spec(&self) -> CredentialSpec {
        self.spec
    }

    pub(crate) fn id(&self) -> CredentialId {
        self.id
    }

    #[inline]
    pub(crate) fn rate_limit(&self) -> Option<BucketId> {
        self.spec.rate_limit
    }

    /// Whether a hold it places must give anything back: it has a cap or a rate limit.
    pub(crate) fn charges_anything(&self) -> bool {
        self.spec.spend_cap.is_some() || self.spec.rate_limit.is_some()
    }

    pub(crate) fn account(&self) -> AccountId {
        self.spec.account
    }

    /// Starts a use needing `needed`, moving `amount` (held to the
    /// per-operation maximum) and spending `spend` against the cap (0 for
    /// operations that move nothing out). One CAS decides; `Err` changed
    /// nothing. Refusals are checked in the order revoked, expired, scope,
    /// per-operation maximum, cap.
    /// `now_ms` is called only if the credential expires (the hot path of a
    /// credential without expiry reads no clock).
    pub(crate) fn begin(
        &self,
        needed: Scopes,
        amount: u64,
        spend: u64,
        now_ms: impl Fn() -> u64,
    ) -> Result<Ticket, CredentialError> {
        let id = self.id;
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            if word & REVOKED != 0 {
                return Err(CredentialError::Revoked(id));
            }
            if let Some(expires_at_ms) = self.spec.expires_at_ms {
                let now_ms = now_ms();
                if now_ms >= expires_at_ms {
                    return Err(CredentialError::Expired { id, expires_at_ms, now_ms });
                }
            }
            let granted = Scopes::from_word(word);
            if !granted.contains(needed) {
                return Err(CredentialError::ScopeMissing { id, needed, granted });
            }
            if let Some(amount_max) = self.spec.amount_max_per_op {
                if amount > amount_max {
                    return Err(CredentialError::PerOpCapExceeded { id, amount, amount_max });
                }
            }
            let spent = word & SPENT_MASK;
            // Without a cap nothing is counted: the field would overflow.
            let spend = match self.spec.spend_cap {
                // `spent <= cap` always; this form cannot overflow for any `spend`.
                Some(cap) if spend > cap - spent => {
                    return Err(CredentialError::SpendCapExceeded { id, cap, spent, requested: spend });
                }
                Some(_) => spend,
                None => 0,
            };
            let generation = generation(word);
            if uses(word, generation) == USES_MAX {
                // 127 uses of this one credential are in flight; each is one operation long.
                crate::sync::yield_now();
                word = self.word.load(Ordering::Acquire);
                continue;
            }
            debug_assert!(spent + spend <= self.spec.spend_cap.unwrap_or(0) && spent + spend <= SPENT_MASK);
            let next = word + (1 << USES_SHIFT[generation]) + spend;
            // AcqRel: the use is ordered after the revoke it did not see, and
            // before the operation it guards.
            match self.word.compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(Ticket { generation, spent: spend }),
                Err(actual) => word = actual,
            }
        }
    }

    /// Adds `spend` to a use begun without it (`transfer_as` and `hold_as`
    /// charge under the id's lock, once they know the id is fresh): one CAS
    /// checking the cap. `end` gives it back with the rest if the operation
    /// does not take effect.
    pub(crate) fn charge(&self, ticket: &mut Ticket, spend: u64) -> Result<(), CredentialError> {
        let Some(cap) = self.spec.spend_cap else {
            return Ok(()); // nothing is counted without a cap
        };
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            let spent = word & SPENT_MASK;
            if spend > cap - spent {
                return Err(CredentialError::SpendCapExceeded { id: self.id, cap, spent, requested: spend });
            }
            // AcqRel, as `begin`. The use is already counted, so a revoke that
            // began since waits for this use to end: the charge cannot outrun it.
            match self.word.compare_exchange_weak(word, word + spend, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    ticket.spent += spend;
                    return Ok(());
                }
                Err(actual) => word = actual,
            }
        }
    }

    /// Ends a use; gives its spend back if the operation did not take effect.
    pub(crate) fn end(&self, ticket: Ticket, took_effect: bool) {
        let one_use = 1 << USES_SHIFT[ticket.generation];
        let given_back = if took_effect { 0 } else { ticket.spent };
        // Release: a revoke that sees the count drop sees the operation done.
        let previous = self.word.fetch_sub(one_use + given_back, Ordering::Release);
        debug_assert!(uses(previous, ticket.generation) >= 1 && previous & SPENT_MASK >= given_back);
    }

    /// Gives `amount` back to the spending cap: the unposted part of a hold
    /// this credential placed (its amount was counted when the hold began).
    pub(crate) fn give_back(&self, amount: u64) {
        if self.spec.spend_cap.is_none() {
            return; // nothing was counted
        }
        // Release, as `end`: ordered after the hold's resolution.
        let previous = self.word.fetch_sub(amount, Ordering::Release);
        debug_assert!(previous & SPENT_MASK >= amount, "gave back more than was spent");
    }

    /// Revokes, then waits for the uses already in flight. Returns `false` if
    /// it was already revoked. Call with the credentials' admin lock held.
    pub(crate) fn revoke(&self) -> bool {
        let previous = self.word.fetch_or(REVOKED, Ordering::AcqRel);
        self.wait_for_uses(|word| uses(word, 0) + uses(word, 1));
        previous & REVOKED == 0
    }

    /// Narrows the scopes to `scopes` (which must be a subset), then waits for
    /// the uses that began under the old scopes. Call with the admin lock held.
    pub(crate) fn downgrade(&self, scopes: Scopes) -> Result<(), CredentialError> {
        let id = self.id;
        let mut word = self.word.load(Ordering::Acquire);
        let old_generation = loop {
            if word & REVOKED != 0 {
                return Err(CredentialError::Revoked(id));
            }
            let granted = Scopes::from_word(word);
            if !granted.contains(scopes) {
                return Err(CredentialError::NotADowngrade { id, granted, requested: scopes });
            }
            let old = generation(word);
            debug_assert_eq!(
                uses(word, 1 - old),
                0,
                "the admin lock lets each downgrade drain its generation"
            );
            let next = ((word & !SCOPES_MASK) | scopes.to_word()) ^ GEN_BIT;
            match self.word.compare_exchange(word, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break old,
                Err(actual) => word = actual,
            }
        };
        self.wait_for_uses(|word| uses(word, old_generation));
        Ok(())
    }

    fn wait_for_uses(&self, count: impl Fn(u64) -> u64) {
        // Acquire: pairs with `end`'s Release, so the finished operations'
        // effects are visible when this returns.
        while count(self.word.load(Ordering::Acquire)) != 0 {
            crate::sync::yield_now();
        }
    }

    pub(crate) fn info(&self) -> CredentialInfo {
        let word = self.word.load(Ordering::Acquire);
        CredentialInfo {
            id: self.id,
            spec: self.spec,
            scopes: Scopes::from_word(word),
            spent: word & SPENT_MASK,
            revoked: word & REVOKED != 0,
            in_use: (uses(word, 0) + uses(word, 1)) as u32,
        }
    }
}
