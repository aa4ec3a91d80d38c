//! The account cell: one account's balance and status in one atomic word.
//!
//! # Implementation details
//!
//! ```text
//!  63  62 61        56 55                                              0
//! +------+------------+-------------------------------------------------+
//! |status| in_flight  |          balance (signed, two's complement)     |
//! +------+------------+-------------------------------------------------+
//! ```
//!
//! * `status` (2 bits): [`STATUS_OPEN`], [`STATUS_FROZEN`], [`STATUS_CLOSED`].
//! * `in_flight` (6 bits): transfers that have debited this account and have
//!   not yet credited their destination or undone the debit. `close` requires
//!   it to be zero *in the same CAS*, so a transfer's undo can never land on a
//!   closed account.
//! * `balance` (56 bits, signed): the spendable balance, representable in
//!   `[-2^55, 2^55 - 1]`. Credits may raise it to [`BALANCE_MAX`] = 2^49 - 1;
//!   the space above is headroom for undos: an undo restores a debit of at most
//!   [`AMOUNT_MAX`], at most [`IN_FLIGHT_MAX`] undos can be pending, and
//!   `BALANCE_MAX + IN_FLIGHT_MAX * AMOUNT_MAX < 2^55`, so an undo never fails.
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

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering};
use crate::{AccountId, AccountOptions, Rejection, Status};

pub(crate) const STATUS_SHIFT: u32 = 62;
pub(crate) const STATUS_OPEN: u64 = 0;
pub(crate) const STATUS_FROZEN: u64 = 1;
pub(crate) const STATUS_CLOSED: u64 = 2;

pub(crate) const IN_FLIGHT_SHIFT: u32 = 56;
pub(crate) const IN_FLIGHT_ONE: u64 = 1 << IN_FLIGHT_SHIFT;
/// Transfers that may be half-way out of one account at once; the next one waits.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, IN_FLIGHT_MAX};
/// assert_eq!(IN_FLIGHT_MAX, 63);
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// let info = ledger.account_info(AccountId(1)).unwrap();
/// assert!(info.in_flight <= IN_FLIGHT_MAX);
/// ```
pub const IN_FLIGHT_MAX: u32 = 63;

pub(crate) const BALANCE_BITS: u32 = 56;
pub(crate) const BALANCE_MASK: u64 = (1 << BALANCE_BITS) - 1;
pub(crate) const BALANCE_REPR_MAX: i64 = (1 << (BALANCE_BITS - 1)) - 1;

/// The largest balance a credit may produce: 2^49 - 1 = 562 949 953 421 311
/// (5.6 trillion in cents). Only an undone transfer, restoring money that was
/// already in the account, can take a balance above it.
///
/// ```
/// use atomic_ledger::{AccountError, AccountId, AccountOptions, Ledger, Rejection, BALANCE_MAX};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// assert_eq!(ledger.credit(AccountId(1), BALANCE_MAX as u64), Ok(BALANCE_MAX));
/// let refused = ledger.credit(AccountId(1), 1);
/// assert!(matches!(refused, Err(AccountError::Rejected(Rejection::BalanceOverflow { .. }))));
/// ```
pub const BALANCE_MAX: i64 = (1 << 49) - 1;
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
/// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Unbounded }).unwrap();
/// assert_eq!(ledger.account(AccountId(1)).unwrap().floor(), FLOOR_MIN);
/// ```
pub const FLOOR_MIN: i64 = -BALANCE_MAX;

const _: () = assert!(BALANCE_MAX + (IN_FLIGHT_MAX as i64) * (AMOUNT_MAX as i64) <= BALANCE_REPR_MAX);
const _: () = assert!(FLOOR_MIN - (AMOUNT_MAX as i64) >= -BALANCE_REPR_MAX - 1);

/// The word, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct State {
    pub(crate) status: u64,
    pub(crate) in_flight: u64,
    pub(crate) balance: i64,
}

impl State {
    pub(crate) const INITIAL: State = State { status: STATUS_OPEN, in_flight: 0, balance: 0 };

    #[inline]
    pub(crate) fn decode(word: u64) -> State {
        let status = word >> STATUS_SHIFT;
        debug_assert!(status <= STATUS_CLOSED, "status bits 0b11 are never written");
        State {
            status,
            in_flight: (word >> IN_FLIGHT_SHIFT) & u64::from(IN_FLIGHT_MAX),
            // Shift the 56-bit field to the top, then arithmetic-shift back to sign-extend.
            balance: ((word << (64 - BALANCE_BITS)) as i64) >> (64 - BALANCE_BITS),
        }
    }

    #[inline]
    pub(crate) fn encode(self) -> u64 {
        debug_assert!(self.status <= STATUS_CLOSED);
        debug_assert!(self.in_flight <= u64::from(IN_FLIGHT_MAX));
        debug_assert!((-BALANCE_REPR_MAX - 1..=BALANCE_REPR_MAX).contains(&self.balance));
        (self.status << STATUS_SHIFT)
            | (self.in_flight << IN_FLIGHT_SHIFT)
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

/// Why a transfer's debit step did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DebitStep {
    Rejected(Rejection),
    /// [`IN_FLIGHT_MAX`] transfers are half-way out of the account: wait for one.
    Saturated,
}

/// One account. Boxed and cache-line padded by the directory, so two accounts
/// never share a line; its address never changes while the ledger lives.
#[derive(Debug)]
pub(crate) struct AccountCell {
    word: AtomicU64,
    /// Lifetime sum of external credits, wrapping. Relaxed: read only by `audit`
    /// at quiescence, after the writers' effects are ordered by a join.
    entered: AtomicU64,
    /// Lifetime sum of external debits, wrapping. Relaxed, as `entered`.
    left: AtomicU64,
    id: AccountId,
    floor: i64,
    options: AccountOptions,
}

pub(crate) type PaddedCell = CachePadded<AccountCell>;

impl AccountCell {
    /// `options` must have been validated (overdraft limit at most `BALANCE_MAX`).
    pub(crate) fn new(id: AccountId, options: AccountOptions) -> Self {
        let floor = options.floor.lowest_balance();
        assert!((FLOOR_MIN..=0).contains(&floor), "floor {floor} out of range");
        Self {
            word: AtomicU64::new(State::INITIAL.encode()),
            entered: AtomicU64::new(0),
            left: AtomicU64::new(0),
            id,
            floor,
            options,
        }
    }

    pub(crate) fn options(&self) -> AccountOptions {
        self.options
    }

    #[inline]
    pub(crate) fn id(&self) -> AccountId {
        self.id
    }

    #[inline]
    pub(crate) fn floor(&self) -> i64 {
        self.floor
    }

    #[inline]
    pub(crate) fn load(&self) -> State {
        State::decode(self.word.load(Ordering::Acquire))
    }

    /// Lifetime external (entered, left) sums, wrapping.
    pub(crate) fn external_flows(&self) -> (u64, u64) {
        (self.entered.load(Ordering::Relaxed), self.left.load(Ordering::Relaxed))
    }

    /// The single CAS loop every change goes through: `decide` sees the current
    /// state and returns the next one or an error; the CAS installs it only if
    /// the word did not change meanwhile. Returns the state installed.
    #[inline]
    fn update<E>(&self, mut decide: impl FnMut(State) -> Result<State, E>) -> Result<State, E> {
        #[cfg_attr(feature = "_broken-check-then-write", allow(unused_mut))]
        let mut word = self.word.load(Ordering::Acquire);
        #[cfg(feature = "_broken-check-then-write")]
        {
            // Deliberately broken (test-only): check, then write, with no CAS.
            let next = decide(State::decode(word))?;
            self.word.store(next.encode(), Ordering::Release);
            return Ok(next);
        }
        #[allow(unreachable_code)]
        loop {
            let next = decide(State::decode(word))?;
            // AcqRel/Acquire: see the module docs.
            match self.word.compare_exchange_weak(word, next.encode(), Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Ok(next),
                Err(actual) => word = actual,
            }
        }
    }

    fn check_debit(&self, state: State, amount: u64) -> Result<i64, Rejection> {
        debug_assert!(amount > 0 && amount <= AMOUNT_MAX);
        match state.status {
            STATUS_OPEN => {}
            STATUS_FROZEN => return Err(Rejection::AccountFrozen { account: self.id }),
            _ => return Err(Rejection::AccountClosed { account: self.id }),
        }
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

    fn check_credit(&self, state: State, amount: u64) -> Result<i64, Rejection> {
        debug_assert!(amount > 0 && amount <= AMOUNT_MAX);
        if state.status == STATUS_CLOSED {
            return Err(Rejection::AccountClosed { account: self.id });
        }
        let balance = state.balance + amount as i64;
        if balance > BALANCE_MAX {
            return Err(Rejection::BalanceOverflow {
                account: self.id,
                balance: state.balance,
                amount,
                balance_max: BALANCE_MAX,
            });
        }
        Ok(balance)
    }

    /// Debit to the outside world. Returns the new balance.
    #[inline]
    pub(crate) fn debit(&self, amount: u64) -> Result<i64, Rejection> {
        let next = self.update(|state| {
            let balance = self.check_debit(state, amount)?;
            Ok(State { balance, ..state })
        })?;
        self.left.fetch_add(amount, Ordering::Relaxed);
        Ok(next.balance)
    }

    /// Credit from the outside world. Returns the new balance.
    #[inline]
    pub(crate) fn credit(&self, amount: u64) -> Result<i64, Rejection> {
        let next = self.update(|state| {
            let balance = self.check_credit(state, amount)?;
            Ok(State { balance, ..state })
        })?;
        self.entered.fetch_add(amount, Ordering::Relaxed);
        Ok(next.balance)
    }

    /// A transfer's first step: debit and count the transfer as in flight, in
    /// one CAS. Must be followed by exactly one of [`Self::finish_transfer_debit`]
    /// or [`Self::undo_transfer_debit`].
    #[inline]
    pub(crate) fn begin_transfer_debit(&self, amount: u64) -> Result<(), DebitStep> {
        self.update(|state| {
            let balance = self.check_debit(state, amount).map_err(DebitStep::Rejected)?;
            if state.in_flight == u64::from(IN_FLIGHT_MAX) {
                return Err(DebitStep::Saturated);
            }
            Ok(State { balance, in_flight: state.in_flight + 1, ..state })
        })
        .map(drop)
    }

    /// A transfer's credit to its destination: as `credit`, but money moved
    /// between accounts is not counted as entering the ledger.
    #[inline]
    pub(crate) fn transfer_credit(&self, amount: u64) -> Result<(), Rejection> {
        self.update(|state| {
            let balance = self.check_credit(state, amount)?;
            Ok(State { balance, ..state })
        })
        .map(drop)
    }

    /// The destination was credited: the transfer is no longer in flight.
    #[inline]
    pub(crate) fn finish_transfer_debit(&self) {
        // Only the in_flight field changes and it is ≥ 1 (our own increment), so a
        // plain subtraction cannot borrow from the status bits. Release: pairs with
        // `close`'s Acquire so that a close that sees the count at zero sees the
        // transfer complete. Acquire is not needed: nothing is read after this.
        let previous = self.word.fetch_sub(IN_FLIGHT_ONE, Ordering::Release);
        debug_assert!(State::decode(previous).in_flight >= 1);
    }

    /// The destination refused the credit: put the money back. Cannot fail: the
    /// account cannot be closed while `in_flight > 0`, and the balance headroom
    /// above `BALANCE_MAX` holds every pending undo (module docs).
    #[inline]
    pub(crate) fn undo_transfer_debit(&self, amount: u64) {
        let undone = self.update(|state| -> Result<State, std::convert::Infallible> {
            debug_assert!(state.in_flight >= 1 && state.status != STATUS_CLOSED);
            Ok(State { balance: state.balance + amount as i64, in_flight: state.in_flight - 1, ..state })
        });
        debug_assert!(undone.is_ok());
    }

    /// Open → frozen; frozen stays frozen.
    pub(crate) fn freeze(&self) -> Result<(), Rejection> {
        self.set_status(STATUS_FROZEN)
    }

    /// Frozen → open; open stays open.
    pub(crate) fn unfreeze(&self) -> Result<(), Rejection> {
        self.set_status(STATUS_OPEN)
    }

    fn set_status(&self, status: u64) -> Result<(), Rejection> {
        let state = self.load();
        if state.status == status {
            return Ok(()); // Already there: no write, so no cache-line traffic.
        }
        self.update(|state| match state.status {
            STATUS_CLOSED => Err(Rejection::AccountClosed { account: self.id }),
            _ => Ok(State { status, ..state }),
        })
        .map(drop)
    }

    /// Open or frozen, at zero balance with no transfer in flight → closed.
    pub(crate) fn close(&self) -> Result<(), Rejection> {
        self.update(|state| {
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
            Ok(State { status: STATUS_CLOSED, ..state })
        })
        .map(drop)
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn encode_decode_round_trips(
            status in 0..=STATUS_CLOSED,
            in_flight in 0..=u64::from(IN_FLIGHT_MAX),
            balance in -BALANCE_REPR_MAX - 1..=BALANCE_REPR_MAX,
        ) {
            let state = State { status, in_flight, balance };
            prop_assert_eq!(State::decode(state.encode()), state);
        }
    }

    #[test]
    fn extreme_balances_round_trip() {
        for balance in [0, 1, -1, BALANCE_MAX, FLOOR_MIN, BALANCE_REPR_MAX, -BALANCE_REPR_MAX - 1] {
            let state = State { status: STATUS_FROZEN, in_flight: 63, balance };
            assert_eq!(State::decode(state.encode()), state);
        }
    }

    #[test]
    fn undo_headroom_holds_every_pending_undo() {
        let cell = AccountCell::new(AccountId(1), AccountOptions::default());
        cell.credit(AMOUNT_MAX).unwrap();
        for _ in 0..IN_FLIGHT_MAX {
            cell.begin_transfer_debit(AMOUNT_MAX).unwrap();
            cell.credit(AMOUNT_MAX).unwrap();
        }
        assert_eq!(cell.begin_transfer_debit(1), Err(DebitStep::Saturated));
        for _ in 0..IN_FLIGHT_MAX {
            cell.undo_transfer_debit(AMOUNT_MAX);
        }
        let state = cell.load();
        assert_eq!(state.in_flight, 0);
        assert_eq!(state.balance, BALANCE_MAX * (i64::from(IN_FLIGHT_MAX) + 1));
        assert!(state.balance <= BALANCE_REPR_MAX);
    }
}
