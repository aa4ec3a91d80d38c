//! The account cell: one account's balance and status in one atomic word.
//!
//! # Implementation details
//!
//! ```text
//!  63  62  61  60       56 55      50 49                                  0
//! +------+----+-----------+----------+-------------------------------------+
//! |status|snap| in_flight |  holds   |   balance (signed, two's complement) |
//! +------+----+-----------+----------+-------------------------------------+
//! ```
//!
//! * `status` (2 bits): [`STATUS_OPEN`], [`STATUS_FROZEN`], [`STATUS_CLOSED`].
//! * `snap` (1 bit): the parity of the last snapshot epoch that collected this
//!   account (see [`crate::snapshot`]). Every change preserves it; only the
//!   snapshot flips it, once per epoch, with a `fetch_xor` that changes
//!   nothing else.
//! * `in_flight` (5 bits, ≤ [`IN_FLIGHT_MAX`]): transfers and linked batches
//!   that have pinned this account and not yet finished. `close` requires it to
//!   be zero *in the same CAS*, so a pending undo or credit never meets a closed
//!   account.
//! * `holds` (6 bits, ≤ [`HOLDS_OPEN_MAX`]): open holds debited from this
//!   account; `close` requires zero, so a void or expiry can always return.
//! * `balance` (50 bits, signed): the spendable balance, representable in
//!   `[-2^49, 2^49 - 1]`. Credits may raise it to [`BALANCE_MAX`] = 2^42 - 1;
//!   the space above is headroom: each pin (an in-flight transfer, a linked
//!   batch, an open hold) can bring back or bring in at most [`AMOUNT_MAX`]
//!   without a balance check, and
//!   `BALANCE_MAX + (IN_FLIGHT_MAX + HOLDS_OPEN_MAX) * AMOUNT_MAX < 2^49`,
//!   so undos, commits and hold returns never fail.
//!
//! **The ceiling** ([`crate::AccountOptions::ceiling`], ≤ `BALANCE_MAX`)
//! replaces `BALANCE_MAX` in the check of every credit, inside the same CAS:
//! an external credit, a transfer's credit leg, a batch's reservation and its
//! checked commit ([`AccountCell::commit_credit`]), a hold's post. It only
//! makes the checks stricter, so the headroom argument holds unchanged. What
//! lands without a check is the account's own money coming back (an undo, a
//! void or an expiry, a failed batch's return): never refused, it can lift
//! the balance above the ceiling. Let `c = balance + Σ` amounts pinned *out*
//! of the account (debited by an in-flight transfer or batch, or held). A
//! checked credit leaves `balance ≤ ceiling`, pins and returns keep `c`, a
//! post, a transfer's completion or a debit lowers it; so at every moment
//! `balance ≤ c ≤ ceiling + Σ` pinned out at the last checked credit: the
//! excess over the ceiling is at most what the account had out then, and no
//! credit lands until the balance is back under it. Keeping
//! the ceiling exact through returns would need the pinned-out amounts in
//! the word, which has no room for them.
//!
//! Every change is one `compare_exchange_weak` loop over the whole word
//! ([`AccountCell::update`]): the floor check, the status check and the new
//! balance are decided together, so no interleaving can overdraw the account
//! or debit a frozen one.
//!
//! Orderings: loads and failed CASes are `Acquire`, successful CASes `AcqRel`.
//! Balances would stay correct with `Relaxed` (each account is one location, and
//! RMWs on one location are totally ordered), but a transfer's credit must
//! *release* the debit that preceded it: a reader that acquires the credited
//! balance then sees the debit too, and never counts money in both places.
//! On x86 every locked RMW is already a full barrier, so this costs nothing there.

use crate::epoch::Epoch;
use crate::journal::{Claim, Entry, Logging};
use crate::sync::{AtomicU64, Ordering};
use crate::{AccountId, AccountOptions, Asset, Floor, Rejection, Status, AMOUNT_MAX, BALANCE_MAX, FLOOR_MIN};

pub(crate) const STATUS_SHIFT: u32 = 62;
pub(crate) const STATUS_OPEN: u64 = 0;
pub(crate) const STATUS_FROZEN: u64 = 1;
pub(crate) const STATUS_CLOSED: u64 = 2;

const SNAP_SHIFT: u32 = 61;
const SNAP_BIT: u64 = 1 << SNAP_SHIFT;

/// The `snap` bit an account collected for `epoch` carries: the epoch's parity.
#[inline]
fn snap_bit(epoch: u64) -> u64 {
    (epoch & 1) << SNAP_SHIFT
}

/// States of the save slot (low two bits of `AccountCell::saved`).
const SAVE_DONE: u64 = 0;
const SAVE_BUSY: u64 = 1;
const SAVE_SEALED: u64 = 2;
const SAVE_STATE_MASK: u64 = 3;

pub(crate) const IN_FLIGHT_SHIFT: u32 = 56;
pub(crate) const IN_FLIGHT_ONE: u64 = 1 << IN_FLIGHT_SHIFT;
/// Transfers and linked batches that may have pinned one account at once; the
/// next one waits for one of them to finish.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, IN_FLIGHT_MAX};
/// assert_eq!(IN_FLIGHT_MAX, 31);
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// let info = ledger.account_info(AccountId(1)).unwrap();
/// assert!(info.in_flight <= IN_FLIGHT_MAX);
/// ```
pub const IN_FLIGHT_MAX: u32 = 31;

pub(crate) const HOLDS_SHIFT: u32 = 50;
/// Open holds one account may be the source of; the next hold is refused with
/// [`Rejection::TooManyHolds`] until one is posted, voided or expires.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Floor, HoldError, HoldId, HoldRequest, Ledger};
/// use atomic_ledger::{Rejection, HOLDS_OPEN_MAX};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() }).unwrap();
/// ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
/// let hold = |id| HoldRequest { id: HoldId(id), from: AccountId(1), to: AccountId(2), amount: 1, expires_at_ms: u64::MAX };
/// for id in 1..=u128::from(HOLDS_OPEN_MAX) {
///     ledger.hold(hold(id)).unwrap();
/// }
/// let refused = ledger.hold(hold(1000));
/// assert!(matches!(refused, Err(HoldError::Rejected { reason: Rejection::TooManyHolds { .. }, .. })));
/// ```
pub const HOLDS_OPEN_MAX: u32 = 63;

pub(crate) const BALANCE_BITS: u32 = 50;
pub(crate) const BALANCE_MASK: u64 = (1 << BALANCE_BITS) - 1;
pub(crate) const BALANCE_REPR_MAX: i64 = (1 << (BALANCE_BITS - 1)) - 1;

/// [`AccountCell::floor_kind`]'s values.
const FLOOR_ZERO: u8 = 0;
const FLOOR_OVERDRAFT: u8 = 1;
const FLOOR_UNBOUNDED: u8 = 2;

const PINS_MAX: i64 = IN_FLIGHT_MAX as i64 + HOLDS_OPEN_MAX as i64;
const _: () = assert!(BALANCE_MAX + PINS_MAX * (AMOUNT_MAX as i64) <= BALANCE_REPR_MAX);
const _: () = assert!(FLOOR_MIN - (AMOUNT_MAX as i64) >= -BALANCE_REPR_MAX - 1);
const _: () = assert!(HOLDS_SHIFT == BALANCE_BITS);
const _: () = assert!((HOLDS_OPEN_MAX as u64) < 1 << (IN_FLIGHT_SHIFT - HOLDS_SHIFT));
const _: () = assert!((IN_FLIGHT_MAX as u64) < 1 << (SNAP_SHIFT - IN_FLIGHT_SHIFT));

/// The word, decoded (without the snapshot bit, which only captures change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct State {
    pub(crate) status: u64,
    pub(crate) in_flight: u64,
    pub(crate) holds: u64,
    pub(crate) balance: i64,
}

impl State {
    pub(crate) const INITIAL: State = State { status: STATUS_OPEN, in_flight: 0, holds: 0, balance: 0 };

    #[inline]
    pub(crate) fn decode(word: u64) -> State {
        let status = word >> STATUS_SHIFT;
        debug_assert!(status <= STATUS_CLOSED, "status bits 0b11 are never written");
        State {
            status,
            in_flight: (word >> IN_FLIGHT_SHIFT) & u64::from(IN_FLIGHT_MAX),
            holds: (word >> HOLDS_SHIFT) & u64::from(HOLDS_OPEN_MAX),
            // Shift the balance field to the top, then arithmetic-shift back to sign-extend.
            balance: ((word << (64 - BALANCE_BITS)) as i64) >> (64 - BALANCE_BITS),
        }
    }

    /// The word for this state, with snapshot bit `snap` (0 or [`SNAP_BIT`]).
    #[inline]
    pub(crate) fn encode(self, snap: u64) -> u64 {
        debug_assert!(self.status <= STATUS_CLOSED);
        debug_assert!(self.in_flight <= u64::from(IN_FLIGHT_MAX));
        debug_assert!(self.holds <= u64::from(HOLDS_OPEN_MAX));
        debug_assert!((-BALANCE_REPR_MAX - 1..=BALANCE_REPR_MAX).contains(&self.balance));
        debug_assert!(snap & !SNAP_BIT == 0);
        (self.status << STATUS_SHIFT)
            | snap
            | (self.in_flight << IN_FLIGHT_SHIFT)
            | (self.holds << HOLDS_SHIFT)
            | (self.balance as u64 & BALANCE_MASK)
    }

    pub(crate) fn public_status(self) -> Status {
        match self.status {
            STATUS_OPEN => Status::Open,
            STATUS_FROZEN => Status::Frozen,
            _ => Status::Closed,
        }
    }
}

/// What recovery restores of an account besides its options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Restored {
    pub(crate) balance: i64,
    pub(crate) status: Status,
    pub(crate) holds: u32,
    pub(crate) held: u64,
    pub(crate) entered: u64,
    pub(crate) left: u64,
}

/// Why a pinning debit did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DebitStep {
    Rejected(Rejection),
    /// [`IN_FLIGHT_MAX`] pins are held on the account: wait for one to finish.
    Saturated,
}

/// The in-flight count after pinning once more (if `pin`), or `Saturated`.
#[inline]
fn pinned(state: State, pin: bool) -> Result<u64, DebitStep> {
    let in_flight = state.in_flight + u64::from(pin);
    if in_flight > u64::from(IN_FLIGHT_MAX) {
        return Err(DebitStep::Saturated);
    }
    Ok(in_flight)
}

/// One account. Boxed and cache-line padded by the directory, so two accounts
/// never share a line; its address never changes while the ledger lives.
///
/// `repr(C)`, hot fields first: a debit or credit reads the word, the floor
/// or the ceiling and a flow counter, a lookup by id compares the id, and a
/// transfer compares its accounts' assets, all within the first 64 bytes;
/// the held total and the snapshot's save slot sit in the second. The options
/// are kept as those fields plus two kind bytes, not as a second copy,
/// which would not fit. (Left to the compiler, the floor landed in the second
/// line and a debit by handle ran about a third slower.)
#[derive(Debug)]
#[repr(C)]
pub(crate) struct AccountCell {
    word: AtomicU64,
    floor: i64,
    /// The highest balance a credit may produce: the option, or [`BALANCE_MAX`].
    ceiling: i64,
    /// Lifetime sum of external debits, wrapping. Relaxed: read only by `audit`
    /// at quiescence, after the writers' effects are ordered by a join.
    left: AtomicU64,
    /// 16-byte aligned: between the flow counters, so that nothing pads.
    id: AccountId,
    /// Lifetime sum of external credits, wrapping. Relaxed, as `left`.
    entered: AtomicU64,
    /// `options.asset`: a transfer compares both accounts' assets after its
    /// lookups, which have just read this line.
    asset: Asset,
    /// Which [`Floor`] the options named (`floor` alone cannot tell
    /// `Overdraft(0)` from `Zero`).
    floor_kind: u8,
    /// Whether the options named a ceiling.
    has_ceiling: bool,
    /// Sum of this account's open holds. Changed only by hold operations, under
    /// their hold-table shard lock and after `save_if_due` for the current
    /// epoch (see [`crate::snapshot`]). Relaxed: ordered by those locks.
    held: AtomicU64,
    /// The epoch the account was opened in; snapshots of that epoch or older
    /// do not include it.
    born_epoch: u64,
    /// `epoch << 2 | SAVE_*`: who has the pre-image for that epoch (see
    /// [`Self::save`] and [`Self::collect`]). Monotone in the epoch, so a claim
    /// by a thread holding an old epoch fails instead of overwriting a newer one.
    saved: AtomicU64,
    /// The pre-image an operation saved for the snapshot of `saved`'s epoch.
    saved_word: AtomicU64,
    saved_held: AtomicU64,
    /// Serializes journaled writes to `word` (durable ledgers only; see
    /// [`Claim`]). On the second line: the in-memory path never touches it.
    claim: Claim,
}

// With the std atomics (the checkers' atomics are larger and carry metadata).
#[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
const _: () = assert!(std::mem::offset_of!(AccountCell, held) == 64, "hot fields fill the first line");
#[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
const _: () = assert!(std::mem::size_of::<AccountCell>() <= 128, "one padded cell per account");

impl crate::directory::Keyed for AccountCell {
    fn key(&self) -> u128 {
        self.id.0
    }
}

impl AccountCell {
    /// `options` must have been validated (overdraft limit and ceiling at
    /// most `BALANCE_MAX`). `born_epoch` must be read under the directory's
    /// insert lock.
    pub(crate) fn new(id: AccountId, options: AccountOptions, born_epoch: u64) -> Self {
        let floor = options.floor.lowest_balance();
        assert!((FLOOR_MIN..=0).contains(&floor), "floor {floor} out of range");
        let ceiling = options.ceiling.map_or(BALANCE_MAX, |ceiling| ceiling as i64);
        assert!((0..=BALANCE_MAX).contains(&ceiling), "ceiling {ceiling} out of range");
        let floor_kind = match options.floor {
            Floor::Zero => FLOOR_ZERO,
            Floor::Overdraft(_) => FLOOR_OVERDRAFT,
            Floor::Unbounded => FLOOR_UNBOUNDED,
        };
        Self {
            word: AtomicU64::new(State::INITIAL.encode(snap_bit(born_epoch))),
            held: AtomicU64::new(0),
            entered: AtomicU64::new(0),
            left: AtomicU64::new(0),
            saved_word: AtomicU64::new(0),
            saved_held: AtomicU64::new(0),
            claim: Claim::new(),
            // Nothing to save for the epoch it is born in: that snapshot excludes it.
            saved: AtomicU64::new(born_epoch << 2 | SAVE_SEALED),
            asset: options.asset,
            floor_kind,
            has_ceiling: options.ceiling.is_some(),
            born_epoch,
            id,
            floor,
            ceiling,
        }
    }

    /// The cell of an account as recovery left it: no pin; `holds` open
    /// holds holding `held` in all.
    pub(crate) fn restored(
        id: AccountId,
        options: AccountOptions,
        born_epoch: u64,
        state: &Restored,
    ) -> Self {
        let cell = Self::new(id, options, born_epoch);
        let status = match state.status {
            Status::Open => STATUS_OPEN,
            Status::Frozen => STATUS_FROZEN,
            Status::Closed => STATUS_CLOSED,
        };
        assert!((FLOOR_MIN..=BALANCE_REPR_MAX).contains(&state.balance), "replay checked the balance");
        assert!(state.holds <= HOLDS_OPEN_MAX, "replay checked the open holds");
        let holds = u64::from(state.holds);
        let word =
            State { status, balance: state.balance, holds, ..State::INITIAL }.encode(snap_bit(born_epoch));
        cell.word.store(word, Ordering::Relaxed);
        cell.held.store(state.held, Ordering::Relaxed);
        cell.entered.store(state.entered, Ordering::Relaxed);
        cell.left.store(state.left, Ordering::Relaxed);
        cell
    }

    /// The options the account was opened with, rebuilt from its fields.
    pub(crate) fn options(&self) -> AccountOptions {
        let floor = match self.floor_kind {
            FLOOR_ZERO => Floor::Zero,
            FLOOR_OVERDRAFT => Floor::Overdraft(self.floor.unsigned_abs()),
            _ => Floor::Unbounded,
        };
        let ceiling = self.has_ceiling.then_some(self.ceiling as u64);
        AccountOptions { floor, asset: self.asset, ceiling }
    }

    #[inline]
    pub(crate) fn ceiling(&self) -> i64 {
        self.ceiling
    }

    #[inline]
    pub(crate) fn id(&self) -> AccountId {
        self.id
    }

    #[inline]
    pub(crate) fn asset(&self) -> Asset {
        self.asset
    }

    #[inline]
    pub(crate) fn floor(&self) -> i64 {
        self.floor
    }

    /// The state now, without taking part in snapshots: for `audit`, which is
    /// only meaningful at quiescence.
    #[inline]
    pub(crate) fn load_quiescent(&self) -> State {
        State::decode(self.word.load(Ordering::Acquire))
    }

    /// The state now, as a linearizable read: a read is an operation like any
    /// other and must not see a value newer than a snapshot it follows.
    #[inline]
    pub(crate) fn observe(&self, epoch: &Epoch) -> State {
        State::decode(self.observe_word(epoch))
    }

    #[inline]
    fn observe_word(&self, epoch: &Epoch) -> u64 {
        let current = epoch.load();
        let word = self.word.load(Ordering::Acquire);
        self.save_if_due(current, word);
        word
    }

    /// The sum of open holds now (not atomic with the balance; see [`crate::Snapshot`]).
    pub(crate) fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Lifetime external (entered, left) sums, wrapping.
    pub(crate) fn external_flows(&self) -> (u64, u64) {
        (self.entered.load(Ordering::Relaxed), self.left.load(Ordering::Relaxed))
    }

    /// The single CAS loop every change goes through: `decide` sees the current
    /// state and returns the next one or an error; the CAS installs it only if
    /// the word did not change meanwhile. Returns the state installed. The
    /// snapshot bit is carried over unchanged.
    ///
    /// With a journal, a change takes its log position between the load
    /// that decided it and the CAS that publishes it (the ordering rule,
    /// `docs/journal.md`): every step that reads the new word then takes a
    /// later position. The position gets `note()`'s entry once the CAS
    /// succeeds, and a hole if it fails or `note` has no entry (a step with
    /// nothing to recover, such as a pin).
    #[cfg(not(any(
        feature = "_broken-check-then-write",
        feature = "_broken-position-after-cas",
        feature = "_broken-unclaimed-cas"
    )))]
    #[inline]
    fn update<E>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        note: impl Fn() -> Option<Entry>,
        decide: impl FnMut(State) -> Result<State, E>,
    ) -> Result<State, E> {
        // Journaled: under the word's claim, so that no ABA can order this
        // step before a write it depends on (see `Claim`). `NoLog` folds
        // this branch away.
        let _claimed = log.journaled().then(|| self.claim.take());
        self.update_loop(epoch, log, note, decide)
    }

    #[cfg(not(any(feature = "_broken-check-then-write", feature = "_broken-position-after-cas")))]
    #[inline]
    fn update_loop<E>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        note: impl Fn() -> Option<Entry>,
        mut decide: impl FnMut(State) -> Result<State, E>,
    ) -> Result<State, E> {
        let current = epoch.load();
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            self.save_if_due(current, word);
            let next = decide(State::decode(word))?;
            let new_word = next.encode(word & SNAP_BIT);
            let position = log.take_position(new_word != word);
            // AcqRel/Acquire: see the module docs.
            match self.word.compare_exchange_weak(word, new_word, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    log.fill(position, &note);
                    return Ok(next);
                }
                Err(actual) => {
                    log.hole(position);
                    word = actual;
                }
            }
        }
    }

    fn check_status_for_debit(&self, state: State) -> Result<(), Rejection> {
        match state.status {
            STATUS_OPEN => Ok(()),
            STATUS_FROZEN => Err(Rejection::AccountFrozen { account: self.id }),
            _ => Err(Rejection::AccountClosed { account: self.id }),
        }
    }

    /// Every guard of a debit, on the state the CAS will replace: status, then floor.
    fn check_debit(&self, state: State, amount: u64) -> Result<i64, Rejection> {
        self.check_status_for_debit(state)?;
        self.check_floor(state, amount)
    }

    /// The balance after debiting `amount`, if it stays at or above the floor.
    fn check_floor(&self, state: State, amount: u64) -> Result<i64, Rejection> {
        debug_assert!(amount > 0 && amount <= AMOUNT_MAX);
        debug_assert!(state.balance >= self.floor, "balance below floor: {state:?}");
        let balance = state.balance - amount as i64;
        if balance < self.floor {
            return Err(Rejection::InsufficientFunds {
                account: self.id,
                available: (state.balance - self.floor) as u64,
                requested: amount,
            });
        }
        Ok(balance)
    }

    /// Every guard of a credit, on the state the CAS will replace: status, then room.
    fn check_credit(&self, state: State, amount: u64) -> Result<i64, Rejection> {
        self.check_status_for_credit(state)?;
        self.check_room(state, amount)
    }

    fn check_status_for_credit(&self, state: State) -> Result<(), Rejection> {
        match state.status {
            STATUS_CLOSED => Err(Rejection::AccountClosed { account: self.id }),
            _ => Ok(()),
        }
    }

    /// The balance after crediting `amount`, if it stays at or below [`BALANCE_MAX`].
    fn check_room(&self, state: State, amount: u64) -> Result<i64, Rejection> {
        debug_assert!(amount > 0 && amount <= AMOUNT_MAX);
        let balance = state.balance + amount as i64;
        if balance > self.ceiling {
            return Err(self.no_room(state.balance, amount));
        }
        Ok(balance)
    }

    /// Why a credit of `amount` on `balance` does not fit: the account's own
    /// ceiling, or the ledger's maximum balance.
    #[cold]
    fn no_room(&self, balance: i64, amount: u64) -> Rejection {
        let account = self.id;
        if self.has_ceiling {
            Rejection::CeilingExceeded { account, balance, amount, ceiling: self.ceiling as u64 }
        } else {
            Rejection::BalanceOverflow { account, balance, amount, balance_max: BALANCE_MAX }
        }
    }

    /// Whether the account's options named a ceiling (its batch credits are
    /// then committed with a check; see [`crate::linked`]).
    pub(crate) fn has_ceiling(&self) -> bool {
        self.has_ceiling
    }

    /// Debit to the outside world. Returns the new balance.
    #[cfg(not(any(feature = "_broken-stale-status", feature = "_broken-stale-floor")))]
    #[inline]
    pub(crate) fn debit(&self, epoch: &Epoch, log: impl Logging, amount: u64) -> Result<i64, Rejection> {
        let note = || Some(Entry::Debited { account: self.id, amount });
        let next = self.update(epoch, log, note, |state| {
            let balance = self.check_debit(state, amount)?;
            Ok(State { balance, ..state })
        })?;
        self.left.fetch_add(amount, Ordering::Relaxed);
        Ok(next.balance)
    }

    /// Credit from the outside world. Returns the new balance.
    #[cfg(not(any(feature = "_broken-stale-closed", feature = "_broken-stale-ceiling")))]
    #[inline]
    pub(crate) fn credit(&self, epoch: &Epoch, log: impl Logging, amount: u64) -> Result<i64, Rejection> {
        let note = || Some(Entry::Credited { account: self.id, amount });
        let next = self.update(epoch, log, note, |state| {
            let balance = self.check_credit(state, amount)?;
            Ok(State { balance, ..state })
        })?;
        self.entered.fetch_add(amount, Ordering::Relaxed);
        Ok(next.balance)
    }

    /// A hold's debit: lowers the balance (never below the floor) and counts an
    /// open hold, in one CAS; then adds the amount to the held total.
    pub(crate) fn begin_hold(
        &self,
        epoch: &Epoch,
        (log, note): (impl Logging, impl Fn() -> Option<Entry>),
        amount: u64,
    ) -> Result<(), Rejection> {
        self.update(epoch, log, note, |state| {
            let balance = self.check_debit(state, amount)?;
            if state.holds == u64::from(HOLDS_OPEN_MAX) {
                return Err(Rejection::TooManyHolds { account: self.id, holds_open_max: HOLDS_OPEN_MAX });
            }
            Ok(State { balance, holds: state.holds + 1, ..state })
        })?;
        // The money is in neither the balance nor `held` between the CAS and this
        // add, never in both. A snapshot cannot fall in between (module docs of
        // `crate::snapshot`).
        self.held.fetch_add(amount, Ordering::Relaxed);
        Ok(())
    }

    /// Takes a hold of `hold_amount` out of the held total, before the money
    /// lands anywhere. The caller then lands it by [`Self::end_hold`] and, for a
    /// post, a credit elsewhere. Saves the account for a running snapshot
    /// first, so that the saved `held` pairs with the saved word.
    pub(crate) fn release_held(&self, epoch: &Epoch, hold_amount: u64) {
        self.observe_word(epoch); // for its save

        let previous = self.held.fetch_sub(hold_amount, Ordering::Relaxed);
        debug_assert!(previous >= hold_amount, "held {previous} < hold {hold_amount}");
    }

    /// Undoes [`Self::release_held`] when the post's credit was refused.
    pub(crate) fn restore_held(&self, hold_amount: u64) {
        self.held.fetch_add(hold_amount, Ordering::Relaxed);
    }

    /// Closes a hold: returns `returned` (possibly 0) and uncounts it, in one CAS.
    /// Cannot fail: an account with open holds cannot close, and the headroom
    /// holds every open hold's amount.
    pub(crate) fn end_hold(
        &self,
        epoch: &Epoch,
        (log, note): (impl Logging, impl Fn() -> Option<Entry>),
        returned: u64,
    ) {
        let ended = self.update(epoch, log, note, |state| -> Result<State, std::convert::Infallible> {
            debug_assert!(state.holds >= 1 && state.status != STATUS_CLOSED, "{state:?}");
            Ok(State { balance: state.balance + returned as i64, holds: state.holds - 1, ..state })
        });
        debug_assert!(ended.is_ok());
    }

    /// Open → frozen; frozen stays frozen.
    pub(crate) fn freeze(&self, epoch: &Epoch, log: impl Logging) -> Result<(), Rejection> {
        self.set_status(epoch, log, STATUS_FROZEN)
    }

    /// Frozen → open; open stays open.
    pub(crate) fn unfreeze(&self, epoch: &Epoch, log: impl Logging) -> Result<(), Rejection> {
        self.set_status(epoch, log, STATUS_OPEN)
    }

    fn status_entry(&self, status: u64) -> Option<Entry> {
        let status = State { status, ..State::INITIAL }.public_status();
        Some(Entry::StatusSet { account: self.id, status })
    }

    fn set_status(&self, epoch: &Epoch, log: impl Logging, status: u64) -> Result<(), Rejection> {
        let state = self.observe(epoch);
        if state.status == status {
            return Ok(()); // Already there: no write, so no cache-line traffic.
        }
        self.update(
            epoch,
            log,
            || self.status_entry(status),
            |state| match state.status {
                STATUS_CLOSED => Err(Rejection::AccountClosed { account: self.id }),
                _ => Ok(State { status, ..state }),
            },
        )
        .map(drop)
    }

    /// Open or frozen, at zero balance with no pin and no open hold → closed.
    pub(crate) fn close(&self, epoch: &Epoch, log: impl Logging) -> Result<(), Rejection> {
        self.update(
            epoch,
            log,
            || self.status_entry(STATUS_CLOSED),
            |state| {
                if state.status == STATUS_CLOSED {
                    return Err(Rejection::AccountClosed { account: self.id });
                }
                if state.balance != 0 {
                    return Err(Rejection::BalanceNotZero { account: self.id, balance: state.balance });
                }
                if state.in_flight != 0 {
                    return Err(Rejection::TransfersInFlight {
                        account: self.id,
                        in_flight: state.in_flight as u32,
                    });
                }
                if state.holds != 0 {
                    return Err(Rejection::HoldsOpen { account: self.id, holds: state.holds as u32 });
                }
                Ok(State { status: STATUS_CLOSED, ..state })
            },
        )
        .map(drop)
    }
}

mod pins;
mod save_slot;

#[cfg(any(
    feature = "_broken-check-then-write",
    feature = "_broken-position-after-cas",
    feature = "_broken-unclaimed-cas",
    feature = "_broken-snapshot-without-capture",
    feature = "_broken-stale-status",
    feature = "_broken-stale-floor",
    feature = "_broken-stale-closed",
    feature = "_broken-stale-ceiling",
    feature = "_broken-stale-ceiling-commit"
))]
mod broken;

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
