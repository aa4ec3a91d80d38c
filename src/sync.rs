//! The one place the crate's atomics and locks come from.
//!
//! # Implementation details
//!
//! Three backends, chosen by cfg:
//! * default: std atomics and parking_lot's mutex;
//! * `--cfg atomic_ledger_loom`: loom's, so the account cell, the directory and
//!   the transfer-id table run unchanged inside loom's exhaustive model checker
//!   (`tests/loom.rs`);
//! * `--cfg atomic_ledger_shuttle`: shuttle's, so whole-ledger workloads run
//!   under shuttle's randomized and PCT schedulers (`tests/shuttle.rs`).
//!
//! Nothing else in the crate may import from `std::sync` or `parking_lot`
//! directly: a stray std atomic would be invisible to the checkers and
//! silently weaken the proofs.
//!
//! The mutex wrapper gives std/loom and parking_lot one API (`lock()` returns
//! the guard). Poisoning cannot happen in practice — no code panics while
//! holding one of these locks — and if it did the data is still consistent,
//! because every critical section writes its state last.

#[cfg(all(atomic_ledger_loom, atomic_ledger_shuttle))]
compile_error!("choose one of --cfg atomic_ledger_loom and --cfg atomic_ledger_shuttle");

#[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

#[cfg(atomic_ledger_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

#[cfg(atomic_ledger_shuttle)]
pub(crate) use shuttle::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

/// Threads the crate starts itself (the journal's flusher): the checker's
/// under a checker, so that models see them.
#[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
pub(crate) use std::thread::{current, park, spawn, JoinHandle, Thread};

#[cfg(atomic_ledger_loom)]
pub(crate) use loom::thread::{current, park, spawn, JoinHandle, Thread};

#[cfg(atomic_ledger_shuttle)]
pub(crate) use shuttle::thread::{current, park, spawn, JoinHandle, Thread};

/// A std atomic that the checkers do *not* see, for inputs that are not ledger
/// state (the manual clock, the count of id generators made). Its `Ordering` is the std one, which the loom and
/// shuttle orderings re-export.
pub(crate) use std::sync::atomic::AtomicU64 as UnmodelledAtomicU64;

/// A std once-cell that the checkers do not see either, for process-wide
/// inputs drawn once (the id generators' tag base).
pub(crate) use std::sync::OnceLock as UnmodelledOnceLock;

#[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
pub(crate) use parking_lot::{Mutex, MutexGuard};

#[cfg(any(atomic_ledger_loom, atomic_ledger_shuttle))]
pub(crate) use self::checked_mutex::{Mutex, MutexGuard};

/// A condition variable over [`Mutex`], with the guard-in, guard-out shape
/// of std's, on every backend.
#[derive(Debug, Default)]
pub(crate) struct Condvar(CondvarBackend);

#[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
type CondvarBackend = parking_lot::Condvar;
#[cfg(atomic_ledger_loom)]
type CondvarBackend = loom::sync::Condvar;
#[cfg(atomic_ledger_shuttle)]
type CondvarBackend = shuttle::sync::Condvar;

impl Condvar {
    pub(crate) fn new() -> Self {
        Self(CondvarBackend::new())
    }

    /// Releases `guard`, waits for a notification, and locks again.
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        #[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
        {
            let mut guard = guard;
            self.0.wait(&mut guard);
            guard
        }
        #[cfg(any(atomic_ledger_loom, atomic_ledger_shuttle))]
        self.0.wait(guard).unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// As [`Self::wait`], but returns after `timeout` at the latest.
    ///
    /// The checkers have no clock: under them this is [`Self::wait`], and a
    /// model must never rely on a timeout to make progress.
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: std::time::Duration,
    ) -> MutexGuard<'a, T> {
        #[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
        {
            let mut guard = guard;
            self.0.wait_for(&mut guard, timeout);
            guard
        }
        #[cfg(any(atomic_ledger_loom, atomic_ledger_shuttle))]
        {
            let _ = timeout;
            self.wait(guard)
        }
    }

    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

#[cfg(any(atomic_ledger_loom, atomic_ledger_shuttle))]
mod checked_mutex {
    #[cfg(atomic_ledger_loom)]
    use loom::sync as backend;
    #[cfg(atomic_ledger_shuttle)]
    use shuttle::sync as backend;

    pub(crate) use backend::MutexGuard;

    /// The checker's mutex behind parking_lot's signature.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(backend::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(backend::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> backend::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }
}

/// Gives way to other threads while waiting on a bounded condition.
///
/// Under a checker this must be the checker's `yield_now`, or a schedule in
/// which the awaited thread never runs would spin forever.
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
    std::thread::yield_now();
    #[cfg(atomic_ledger_loom)]
    loom::thread::yield_now();
    #[cfg(atomic_ledger_shuttle)]
    shuttle::thread::yield_now();
}

/// Two random words that key the directory's hash, so that account ids chosen
/// by an adversary cannot be made to collide without knowing them.
///
/// Fixed under the checkers: they replay schedules and require every replay
/// to touch the same atomics in the same order.
pub(crate) fn hash_seed() -> [u64; 2] {
    #[cfg(not(any(atomic_ledger_loom, atomic_ledger_shuttle)))]
    {
        use std::hash::{BuildHasher, Hasher};
        let state = std::collections::hash_map::RandomState::new();
        let mut first = state.build_hasher();
        first.write_u64(0x9e37_79b9_7f4a_7c15);
        let mut second = state.build_hasher();
        second.write_u64(0xc2b2_ae3d_27d4_eb4f);
        [first.finish(), second.finish()]
    }
    #[cfg(any(atomic_ledger_loom, atomic_ledger_shuttle))]
    {
        [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f]
    }
}
