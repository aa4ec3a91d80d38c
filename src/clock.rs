//! Time, for hold and credential expiry and bucket refills: a trait so that
//! tests (and simulations) can drive it.
//!
//! # Implementation details
//!
//! The ledger reads the clock in hold operations (`hold`, `post`, `void`,
//! `hold_info`), in the uses of credentials that expire, and in every bucket
//! take or refund; never on the plain debit path. Times are milliseconds since
//! the Unix epoch, as `u64`. [`SystemClock`] asks the OS each time (about
//! 45 ns on the 2-core VM of BENCHMARKS/CHANGELOG, most of a bucket take);
//! [`MonotonicClock`] reads the OS once and then a calibrated CPU counter
//! (about 12 ns there).

use std::fmt::Debug;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sync::{Ordering, UnmodelledAtomicU64};

/// A source of the current time in milliseconds. Implementations must be cheap
/// and must not block; they need not be monotonic (a hold expires the first
/// time the clock reads at or past its expiry).
///
/// ```
/// use atomic_ledger::{Clock, ManualClock, SystemClock};
/// let manual = ManualClock::new(1_000);
/// assert_eq!(manual.now_ms(), 1_000);
/// assert!(SystemClock.now_ms() > 1_600_000_000_000); // after September 2020
/// ```
pub trait Clock: Send + Sync + Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The wall clock (`SystemTime::now`). The default.
///
/// ```
/// use atomic_ledger::{Clock, SystemClock};
/// let (first, second) = (SystemClock.now_ms(), SystemClock.now_ms());
/// assert!(second + 1_000 >= first);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A clock before 1970 reads as 0; one past year 584 million saturates.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Unix time read from the OS once, when the clock is made, then advanced by
/// a monotonic clock: the CPU's time-stamp counter where it is reliable
/// (calibrated by the `quanta` crate, as `governor` does), else the OS's
/// monotonic clock. About four times cheaper to read than [`SystemClock`] on
/// the benchmark machine, which matters for quota buckets, whose every take
/// reads the clock.
///
/// Trade-off: it never goes back and ignores wall-clock steps, but it does not
/// follow NTP's corrections either, so it drifts from the wall clock by the
/// counter's frequency error (typically a few parts per million: a fraction
/// of a second per day). Good for rate limits and short expiries; make a new
/// one from time to time, or use [`SystemClock`], where expiry times must
/// track the wall clock exactly over days.
///
/// ```
/// use atomic_ledger::{Clock, MonotonicClock, SystemClock};
/// let clock = MonotonicClock::new();
/// let (fast, os) = (clock.now_ms(), SystemClock.now_ms());
/// assert!(fast.abs_diff(os) < 1_000);
/// assert!(clock.now_ms() >= fast); // monotonic
/// ```
#[derive(Debug, Clone)]
pub struct MonotonicClock {
    counter: quanta::Clock,
    origin_raw: u64,
    origin_ms: u64,
}

impl MonotonicClock {
    /// A clock reading the OS's Unix time now. The first clock made in a
    /// process calibrates the counter against the OS clock (at least half a
    /// millisecond, at most 200 ms; once per process).
    ///
    /// ```
    /// use atomic_ledger::{Clock, MonotonicClock};
    /// assert!(MonotonicClock::new().now_ms() > 1_600_000_000_000);
    /// ```
    pub fn new() -> Self {
        let counter = quanta::Clock::new();
        let origin_raw = counter.raw();
        Self { counter, origin_raw, origin_ms: SystemClock.now_ms() }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now_ms(&self) -> u64 {
        // A counter reading from a core whose counter lags reads as no time
        // elapsed (`delta_as_nanos` is 0 then), never as a time before the origin.
        let elapsed_ns = self.counter.delta_as_nanos(self.origin_raw, self.counter.raw());
        self.origin_ms.saturating_add(elapsed_ns / 1_000_000)
    }
}

/// A clock that moves only when told to: for tests and simulations. Share it
/// with the ledger through an `Arc` and keep a clone to move it.
///
/// ```
/// use std::sync::Arc;
/// use atomic_ledger::{Clock, ManualClock};
/// let clock = Arc::new(ManualClock::new(10));
/// clock.advance_ms(5);
/// assert_eq!(clock.now_ms(), 15);
/// clock.set_ms(100);
/// assert_eq!(clock.now_ms(), 100);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    // Not modelled by the checkers on purpose: the clock is an input, not ledger
    // state, and its interleavings are not worth exploring.
    now_ms: UnmodelledAtomicU64,
}

impl ManualClock {
    /// A clock reading `now_ms`.
    ///
    /// ```
    /// use atomic_ledger::{Clock, ManualClock};
    /// assert_eq!(ManualClock::new(7).now_ms(), 7);
    /// ```
    pub fn new(now_ms: u64) -> Self {
        Self { now_ms: UnmodelledAtomicU64::new(now_ms) }
    }

    /// Sets the time.
    ///
    /// ```
    /// use atomic_ledger::{Clock, ManualClock};
    /// let clock = ManualClock::new(0);
    /// clock.set_ms(42);
    /// assert_eq!(clock.now_ms(), 42);
    /// ```
    pub fn set_ms(&self, now_ms: u64) {
        self.now_ms.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the time forward by `delta_ms` (saturating).
    ///
    /// ```
    /// use atomic_ledger::{Clock, ManualClock};
    /// let clock = ManualClock::new(u64::MAX - 1);
    /// clock.advance_ms(10);
    /// assert_eq!(clock.now_ms(), u64::MAX);
    /// ```
    pub fn advance_ms(&self, delta_ms: u64) {
        let _ = self
            .now_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| Some(now.saturating_add(delta_ms)));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}
