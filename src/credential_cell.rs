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
//! before them.
//!
//! **Every guard is read from the word the deciding CAS replaces**
//! (`admit` runs on each attempt's word): a revoke or a downgrade that lands
//! after a use read the word makes that use's CAS fail, and its retry sees
//! it. The observer models in `tests/loom.rs` pin this, and the broken twins
//! `_broken-stale-revocation` and `_broken-stale-scope` (which check the
//! first word read) must fail them.
//!
//! **Expiry** is judged by the ledger clock, read on each attempt of
//! `begin`. The clock is an input, not ledger state: no ledger operation
//! changes it, so no CAS can decide it together with the use. What holds is
//! that a use that begins after the clock has passed the expiry fails (loom
//! `expiry_races_a_use`), and a use in flight when the clock passes it either
//! completes in full or is refused in full. A use can complete after another
//! thread has seen the clock pass the expiry; for a hard cut-off, revoke.
//!
//! **One cache line per use.** A use without a rate limit reads only the
//! cell's first 64 bytes: the id (which the directory's lookup compares),
//! the word, the spec's guards drawn into three `u64`s, and the account's
//! cell itself, by address (see [`CredentialCell`]), so that the operation
//! needs no second lookup. The spec as issued follows, for `info`, the
//! journal and a re-issue's comparison. (With the spec first, a use read
//! three lines of its cell and then looked the account up by id: at a
//! million credentials, each line and the lookup's slot were cache misses.)

use std::ptr::NonNull;

use crate::cell::AccountCell;
use crate::clock::Clock;
use crate::directory::Directory;
use crate::journal::{Entry, Log, Logging, NoLog};
use crate::quota::{BucketCell, Shortfall};
use crate::sync::{AtomicU64, Ordering};
use crate::{
    AccountId, AsError, BucketId, CredentialError, CredentialId, CredentialInfo, CredentialSpec, Scopes,
    AMOUNT_MAX,
};

const REVOKED: u64 = 1 << 63;
const GEN_BIT: u64 = 1 << 62;
const SCOPES_SHIFT: u32 = 56;
const SCOPES_MASK: u64 = 0x3f << SCOPES_SHIFT;
const USES_MAX: u64 = 127;
const USES_SHIFT: [u32; 2] = [49, 42];
const SPENT_MASK: u64 = (1 << 42) - 1;
const _: () = assert!(AMOUNT_MAX <= SPENT_MASK, "a cap of AMOUNT_MAX fits the spent field");

fn scopes_of(word: u64) -> Scopes {
    Scopes::from_bits(((word & SCOPES_MASK) >> SCOPES_SHIFT) as u8)
}

fn scopes_word(scopes: Scopes) -> u64 {
    u64::from(scopes.bits()) << SCOPES_SHIFT
}

/// A use in progress: which generation it counted in and what it spent.
#[derive(Debug)]
#[must_use = "a use must be ended"]
pub(crate) struct Ticket {
    generation: usize,
    spent: u64,
}

#[derive(Debug)]
/// A credential. `repr(C)`, hot fields first: everything a use without a
/// rate limit reads lies in the first 64 bytes (checked below), the spec as
/// issued after them.
#[repr(C)]
pub(crate) struct CredentialCell {
    id: CredentialId,
    /// The cell of `spec.account`, in the same ledger's directory (see
    /// [`Self::account_cell`]).
    account: NonNull<AccountCell>,
    word: AtomicU64,
    /// `spec.amount_max_per_op`, or [`NO_LIMIT`].
    amount_max_per_op: u64,
    /// `spec.spend_cap` in the low bits ([`CAP_MASK`]), and which of the
    /// optional guards the spec names: [`HAS_CAP`], [`HAS_EXPIRY`],
    /// [`HAS_RATE_LIMIT`].
    limits: u64,
    /// `spec.expires_at_ms`; meaningful only with [`HAS_EXPIRY`].
    expires_at_ms: u64,
    spec: CredentialSpec,
}

/// `amount_max_per_op` when the spec names none: above every amount
/// ([`AMOUNT_MAX`] bounds them), so the check needs no branch on it.
const NO_LIMIT: u64 = u64::MAX;
const CAP_MASK: u64 = SPENT_MASK;
const HAS_CAP: u64 = 1 << 63;
const HAS_EXPIRY: u64 = 1 << 62;
const HAS_RATE_LIMIT: u64 = 1 << 61;
const _: () = assert!(AMOUNT_MAX <= CAP_MASK && AMOUNT_MAX < NO_LIMIT, "caps fit below the flags");
const _: () = assert!(CAP_MASK & (HAS_CAP | HAS_EXPIRY | HAS_RATE_LIMIT) == 0);
// With the std atomics (the checkers' atomics are larger and carry metadata).
#[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
const _: () = assert!(std::mem::offset_of!(CredentialCell, spec) <= 64, "a use reads one line");

// SAFETY: `account` is only ever turned into a shared reference to an
// `AccountCell`, which is `Sync`; every other field is `Send + Sync`.
unsafe impl Send for CredentialCell {}
// SAFETY: as above.
unsafe impl Sync for CredentialCell {}

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
    /// `spec` must have been validated (caps at most [`AMOUNT_MAX`]), and
    /// `account` must be its account's cell in the directory of the ledger
    /// that will hold this credential (see [`Self::account_cell`]).
    pub(crate) fn new(id: CredentialId, spec: CredentialSpec, account: &AccountCell) -> Self {
        Self::with_word(id, spec, account, scopes_word(spec.scopes))
    }

    fn with_word(id: CredentialId, spec: CredentialSpec, account: &AccountCell, word: u64) -> Self {
        let cap = spec.spend_cap.unwrap_or(0);
        assert!(cap <= CAP_MASK && spec.amount_max_per_op.is_none_or(|max| max <= AMOUNT_MAX));
        assert_eq!(account.id(), spec.account, "the spec's own account");
        let flag = |named: bool, flag: u64| if named { flag } else { 0 };
        let limits = cap
            | flag(spec.spend_cap.is_some(), HAS_CAP)
            | flag(spec.expires_at_ms.is_some(), HAS_EXPIRY)
            | flag(spec.rate_limit.is_some(), HAS_RATE_LIMIT);
        Self {
            id,
            account: NonNull::from(account),
            word: AtomicU64::new(word),
            amount_max_per_op: spec.amount_max_per_op.unwrap_or(NO_LIMIT),
            limits,
            expires_at_ms: spec.expires_at_ms.unwrap_or(0),
            spec,
        }
    }

    /// A credential as recovery left it: no use in flight. `account` as in
    /// [`Self::new`].
    pub(crate) fn restored(
        id: CredentialId,
        spec: CredentialSpec,
        account: &AccountCell,
        scopes: Scopes,
        revoked: bool,
        spent: u64,
    ) -> Self {
        assert!(spent <= SPENT_MASK, "replay kept spent in range");
        let revoked = if revoked { REVOKED } else { 0 };
        Self::with_word(id, spec, account, revoked | scopes_word(scopes) | spent)
    }

    pub(crate) fn spec(&self) -> CredentialSpec {
        self.spec
    }

    pub(crate) fn id(&self) -> CredentialId {
        self.id
    }

    /// The rate limit's bucket; reads the spec's line only if there is one.
    #[inline]
    pub(crate) fn rate_limit(&self) -> Option<BucketId> {
        if self.limits & HAS_RATE_LIMIT == 0 {
            return None;
        }
        self.spec.rate_limit
    }

    /// The spending cap, if the spec names one.
    #[inline]
    fn spend_cap(&self) -> Option<u64> {
        (self.limits & HAS_CAP != 0).then_some(self.limits & CAP_MASK)
    }

    /// Whether a hold it places must give anything back: it has a cap or a rate limit.
    pub(crate) fn charges_anything(&self) -> bool {
        self.limits & (HAS_CAP | HAS_RATE_LIMIT) != 0
    }

    #[inline]
    pub(crate) fn account(&self) -> AccountId {
        self.account_cell().id()
    }

    /// The account's cell, without a lookup.
    #[inline]
    pub(crate) fn account_cell(&self) -> &AccountCell {
        // SAFETY: `account` came from a `&AccountCell` in the directory of
        // the ledger that holds this credential (both constructors' contract;
        // their two callers, issue and recovery, look the account up in
        // their own ledger). A directory frees its cells only when it is
        // dropped, and accounts are never removed, so the cell lives as long
        // as the ledger; `&self` borrows this credential from that same
        // ledger's credential directory, so the ledger outlives the borrow.
        // While the ledger drops, nothing calls this: credential cells have
        // no `Drop` of their own.
        unsafe { self.account.as_ref() }
    }

    /// Starts a use needing `needed`, moving `amount` (held to the
    /// per-operation maximum) and spending `spend` against the cap (0 for
    /// operations that move nothing out). One CAS decides: every guard is
    /// checked on the word that CAS replaces, so a revoke or a downgrade that
    /// lands first makes the CAS fail and the guards run again. `Err` changed
    /// nothing. Refusals are checked in the order revoked, expired, scope,
    /// per-operation maximum, cap.
    /// `now_ms` is called only if the credential expires (the hot path of a
    /// credential without expiry reads no clock).
    #[cfg(not(any(feature = "_broken-stale-revocation", feature = "_broken-stale-scope")))]
    pub(crate) fn begin(
        &self,
        log: impl Logging,
        needed: Scopes,
        amount: u64,
        spend: u64,
        now_ms: impl Fn() -> u64,
    ) -> Result<Ticket, CredentialError> {
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            let spend = self.admit(word, needed, amount, spend, &now_ms)?;
            match self.count_use(log, word, spend) {
                Ok(ticket) => return Ok(ticket),
                Err(actual) => word = actual,
            }
        }
    }

    /// Every guard of a use, on `word`: what it spends against the cap (0
    /// without one), or why it is refused.
    fn admit(
        &self,
        word: u64,
        needed: Scopes,
        amount: u64,
        spend: u64,
        now_ms: &impl Fn() -> u64,
    ) -> Result<u64, CredentialError> {
        let id = self.id;
        if word & REVOKED != 0 {
            return Err(CredentialError::Revoked(id));
        }
        if self.limits & HAS_EXPIRY != 0 {
            let (expires_at_ms, now_ms) = (self.expires_at_ms, now_ms());
            if now_ms >= expires_at_ms {
                return Err(CredentialError::Expired { id, expires_at_ms, now_ms });
            }
        }
        let granted = scopes_of(word);
        if !granted.contains(needed) {
            return Err(CredentialError::ScopeMissing { id, needed, granted });
        }
        // `NO_LIMIT` is above every amount: no branch on whether there is one.
        let amount_max = self.amount_max_per_op;
        if amount > amount_max {
            return Err(CredentialError::PerOpCapExceeded { id, amount, amount_max });
        }
        let spent = word & SPENT_MASK;
        // Without a cap nothing is counted: the field would overflow.
        match self.spend_cap() {
            // `spent <= cap` always; this form cannot overflow for any `spend`.
            Some(cap) if spend > cap - spent => {
                Err(CredentialError::SpendCapExceeded { id, cap, spent, requested: spend })
            }
            Some(_) => Ok(spend),
            None => Ok(0),
        }
    }

    /// Counts one use spending `spend` (already admitted on `word`) by a CAS
    /// from `word`. `Err` carries the word to decide again on: the word
    /// changed, or 127 uses of this credential's generation are in flight
    /// (each one operation long), after yielding.
    /// Journaled as `CredentialSpent` when it spends, a hole when it only
    /// counts the use (the count is not state recovery restores).
    fn count_use(&self, log: impl Logging, word: u64, spend: u64) -> Result<Ticket, u64> {
        let generation = generation(word);
        if uses(word, generation) == USES_MAX {
            crate::sync::yield_now();
            return Err(self.word.load(Ordering::Acquire));
        }
        let spent = word & SPENT_MASK;
        debug_assert!(spent + spend <= self.spend_cap().unwrap_or(0) && spent + spend <= SPENT_MASK);
        let next = word + (1 << USES_SHIFT[generation]) + spend;
        // AcqRel: the use is ordered after the revoke it did not see, and
        // before the operation it guards.
        let position = log.take_position(true);
        match self.word.compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                log.fill(position, || {
                    (spend > 0).then_some(Entry::CredentialSpent { id: self.id, amount: spend })
                });
                Ok(Ticket { generation, spent: spend })
            }
            Err(actual) => {
                log.hole(position);
                Err(actual)
            }
        }
    }

    /// Adds `spend` to a use begun without it (`transfer_as` and `hold_as`
    /// charge under the id's lock, once they know the id is fresh): one CAS
    /// checking the cap. `end` gives it back with the rest if the operation
    /// does not take effect.
    pub(crate) fn charge(
        &self,
        log: impl Logging,
        ticket: &mut Ticket,
        spend: u64,
    ) -> Result<(), CredentialError> {
        let Some(cap) = self.spend_cap() else {
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
            let position = log.take_position(spend > 0);
            match self.word.compare_exchange_weak(word, word + spend, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    log.fill(position, || Some(Entry::CredentialSpent { id: self.id, amount: spend }));
                    ticket.spent += spend;
                    return Ok(());
                }
                Err(actual) => {
                    log.hole(position);
                    word = actual;
                }
            }
        }
    }

    /// Ends a use; gives its spend back if the operation did not take effect.
    pub(crate) fn end(&self, log: impl Logging, ticket: Ticket, took_effect: bool) {
        let one_use = 1 << USES_SHIFT[ticket.generation];
        let given_back = if took_effect { 0 } else { ticket.spent };
        // An unconditional RMW: its position is taken before it, so every step
        // that reads its result takes a later one.
        let position = log.take_position(true);
        // Release: a revoke that sees the count drop sees the operation done.
        let previous = self.word.fetch_sub(one_use + given_back, Ordering::Release);
        let returned =
            (given_back > 0).then_some(Entry::CredentialReturned { id: self.id, amount: given_back });
        log.fill(position, || returned);
        debug_assert!(uses(previous, ticket.generation) >= 1 && previous & SPENT_MASK >= given_back);
    }

    /// Gives `amount` back to the spending cap: the unposted part of a hold
    /// this credential placed (its amount was counted when the hold began).
    pub(crate) fn give_back(&self, log: impl Logging, amount: u64) {
        if self.limits & HAS_CAP == 0 {
            return; // nothing was counted
        }
        let position = log.take_position(true); // before the RMW, as in `end`
                                                // Release, as `end`: ordered after the hold's resolution.
        let previous = self.word.fetch_sub(amount, Ordering::Release);
        log.fill(position, || Some(Entry::CredentialReturned { id: self.id, amount }));
        debug_assert!(previous & SPENT_MASK >= amount, "gave back more than was spent");
    }

    /// Revokes, then waits for the uses already in flight. Returns `false` if
    /// it was already revoked. Call with the credentials' admin lock held.
    pub(crate) fn revoke(&self, log: impl Logging) -> bool {
        let position = log.take_position(true); // before the RMW, as in `end`
        let previous = self.word.fetch_or(REVOKED, Ordering::AcqRel);
        log.fill(position, || (previous & REVOKED == 0).then_some(Entry::CredentialRevoked { id: self.id }));
        self.wait_for_uses(|word| uses(word, 0) + uses(word, 1));
        previous & REVOKED == 0
    }

    /// Narrows the scopes to `scopes` (which must be a subset), then waits for
    /// the uses that began under the old scopes. Call with the admin lock held.
    pub(crate) fn downgrade(&self, log: impl Logging, scopes: Scopes) -> Result<(), CredentialError> {
        let id = self.id;
        let mut word = self.word.load(Ordering::Acquire);
        let old_generation = loop {
            if word & REVOKED != 0 {
                return Err(CredentialError::Revoked(id));
            }
            let granted = scopes_of(word);
            if !granted.contains(scopes) {
                return Err(CredentialError::NotADowngrade { id, granted, requested: scopes });
            }
            let old = generation(word);
            debug_assert_eq!(
                uses(word, 1 - old),
                0,
                "the admin lock lets each downgrade drain its generation"
            );
            let next = ((word & !SCOPES_MASK) | scopes_word(scopes)) ^ GEN_BIT;
            let position = log.take_position(true);
            match self.word.compare_exchange(word, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    log.fill(position, || Some(Entry::CredentialDowngraded { id, scopes }));
                    break old;
                }
                Err(actual) => {
                    log.hole(position);
                    word = actual;
                }
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
            scopes: scopes_of(word),
            spent: word & SPENT_MASK,
            revoked: word & REVOKED != 0,
            in_use: (uses(word, 0) + uses(word, 1)) as u32,
        }
    }
}

#[cfg(any(feature = "_broken-stale-revocation", feature = "_broken-stale-scope"))]
mod broken;

/// What a use draws on besides its credential: the buckets its rate limit
/// takes from, and the clock they refill by.
#[derive(Clone, Copy)]
pub(crate) struct RateLimits<'a> {
    pub(crate) buckets: &'a Directory<BucketCell>,
    pub(crate) clock: &'a dyn Clock,
    /// Where credential and bucket steps are journaled (`None` in memory):
    /// chosen at run time, as these paths are long enough not to notice.
    pub(crate) log: Option<Log<'a>>,
}

impl<'a> RateLimits<'a> {
    /// The bucket behind a credential's rate limit: checked to exist when the
    /// credential was issued, and buckets are never removed.
    fn bucket(&self, id: BucketId) -> &'a BucketCell {
        self.buckets.get(id.0).unwrap_or_else(|| unreachable!("bucket {id} vanished"))
    }
}

/// What a credentialed operation moves: `amount` (held to the credential's
/// per-operation maximum) and `spend` (counted against its cap and its rate
/// limit; 0 for credits and reads).
#[derive(Clone, Copy)]
pub(crate) struct Amounts {
    pub(crate) amount: u64,
    pub(crate) spend: u64,
}

/// A credentialed use in progress: counted in the credential's word, with
/// what it took from the rate limit. Ended by [`InUse::end`].
#[must_use = "a use must be ended"]
pub(crate) struct InUse<'a> {
    cell: &'a CredentialCell,
    ticket: Ticket,
    bucket: Option<(&'a BucketCell, u64)>,
    rates: RateLimits<'a>,
}

impl<'a> InUse<'a> {
    /// Begins a use of `cell` needing `needed` on `account`: the credential's
    /// checks and `amounts.spend` against its cap in one CAS, then the rate
    /// limit (after the credential's own checks, so that a refused use costs
    /// no units).
    #[inline(always)]
    pub(crate) fn begin(
        cell: &'a CredentialCell,
        needed: Scopes,
        account: AccountId,
        amounts: Amounts,
        rates: RateLimits<'a>,
    ) -> Result<Self, CredentialError> {
        if cell.account() != account {
            return Err(CredentialError::WrongAccount {
                id: cell.id(),
                account: cell.account(),
                requested: account,
            });
        }
        let now_ms = || rates.clock.now_ms();
        let ticket = match rates.log {
            // Monomorphized per case: the in-memory path carries no journal code.
            None => cell.begin(NoLog, needed, amounts.amount, amounts.spend, now_ms)?,
            Some(log) => cell.begin(log, needed, amounts.amount, amounts.spend, now_ms)?,
        };
        let mut in_use = InUse { cell, ticket, bucket: None, rates };
        if let Err(error) = in_use.take_rate(amounts.spend) {
            in_use.end(false);
            return Err(error);
        }
        Ok(in_use)
    }

    /// Charges `spend` to a use begun without it: the cap, then the rate
    /// limit. For `transfer_as` and `hold_as`, which charge under the id's
    /// lock so that a repeat is answered without being charged. On `Err`, the
    /// use's end gives back what was charged.
    pub(crate) fn charge(&mut self, spend: u64) -> Result<(), CredentialError> {
        self.cell.charge(self.rates.log, &mut self.ticket, spend)?;
        self.take_rate(spend)
    }

    #[inline(always)]
    fn take_rate(&mut self, spend: u64) -> Result<(), CredentialError> {
        let Some(bucket) = self.cell.rate_limit().filter(|_| spend > 0) else {
            return Ok(());
        };
        debug_assert!(self.bucket.is_none(), "one rate-limit charge per use");
        let bucket = self.rates.bucket(bucket);
        let now_ms = self.rates.clock.now_ms();
        let taken = match self.rates.log {
            None => bucket.take_units(NoLog, spend, now_ms),
            Some(log) => bucket.take_units(log, spend, now_ms),
        };
        match taken {
            Ok(_) => {
                self.bucket = Some((bucket, spend));
                Ok(())
            }
            Err(shortfall) => Err(rate_limited(self.cell.id(), bucket, spend, shortfall)),
        }
    }

    /// Ends the use; if the operation did not take effect, gives back its
    /// rate-limit units and its cap spend.
    #[inline(always)]
    pub(crate) fn end(self, took_effect: bool) {
        if let (Some((bucket, units)), false) = (self.bucket, took_effect) {
            bucket.put_back(self.rates.log, units, self.rates.clock.now_ms());
        }
        match self.rates.log {
            None => self.cell.end(NoLog, self.ticket, took_effect),
            Some(log) => self.cell.end(log, self.ticket, took_effect),
        }
    }
}

/// Runs `operation` as one use of `cell` (see [`InUse::begin`]). Cap spend
/// and rate-limit units are given back unless `took_effect` says the
/// operation moved money.
#[inline(always)]
pub(crate) fn run_as<T, E>(
    cell: &CredentialCell,
    needed: Scopes,
    account: AccountId,
    amounts: Amounts,
    rates: RateLimits<'_>,
    operation: impl FnOnce() -> Result<T, E>,
    took_effect: impl FnOnce(&Result<T, E>) -> bool,
) -> Result<T, AsError<E>> {
    let in_use = InUse::begin(cell, needed, account, amounts, rates).map_err(AsError::Denied)?;
    let result = operation();
    let effect = took_effect(&result);
    in_use.end(effect);
    result.map_err(AsError::Failed)
}

/// Where a resolved hold gives back what a credential paid and was not
/// posted: the credential's cap and its rate limit.
#[derive(Clone, Copy)]
pub(crate) struct Refunds<'a> {
    pub(crate) credentials: &'a Directory<CredentialCell>,
    pub(crate) rates: RateLimits<'a>,
}

impl Refunds<'_> {
    /// Gives `amount` back to credential `id`'s cap and rate limit.
    pub(crate) fn give_back(&self, id: CredentialId, amount: u64) {
        let Some(cell) = self.credentials.get(id.0) else {
            debug_assert!(false, "credential {id} vanished: credentials are never removed");
            return;
        };
        cell.give_back(self.rates.log, amount);
        if let Some(bucket) = cell.rate_limit() {
            self.rates.bucket(bucket).put_back(self.rates.log, amount, self.rates.clock.now_ms());
        }
    }
}

/// The refusal of a credential whose rate-limit bucket was short of `requested`.
#[cold]
fn rate_limited(
    id: CredentialId,
    bucket: &BucketCell,
    requested: u64,
    shortfall: Shortfall,
) -> CredentialError {
    match shortfall {
        Shortfall::Exhausted { available, retry_after_ms } => {
            CredentialError::RateLimited { id, bucket: bucket.id(), requested, available, retry_after_ms }
        }
        Shortfall::OutOfRange => CredentialError::ExceedsRateLimit {
            id,
            bucket: bucket.id(),
            amount: requested,
            capacity: bucket.policy().capacity,
        },
    }
}
