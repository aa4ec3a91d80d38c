//! Time, for hold expiry: a trait so that tests (and simulations) can drive it.
//!
//! # Implementation details
//!
//! The ledger reads the clock only in hold operations (`hold`, `post`, `void`,
//! `hold_info`), never on the debit path. Times are milliseconds since the Unix
//! epoch, as `u64`.

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
