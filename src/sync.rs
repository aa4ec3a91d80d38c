//! The one place the crate's atomics and locks come from.
//!
//! # Implementation details
//!
//! Under `RUSTFLAGS="--cfg atomic_ledger_loom"` every type here is loom's, so the
//! account cell, the directory and the transfer-id table run unchanged inside
//! loom's model checker (see `tests/loom.rs`). Nothing else in the crate may
//! import from `std::sync` or `parking_lot` directly: a stray std atomic would be
//! invisible to loom and silently weaken the proofs.
//!
//! The mutex wrapper gives std/loom and parking_lot one API (`lock()` returns
//! the guard). Poisoning cannot happen in practice — no code panics while
//! holding one of these locks — and if it did the data is still consistent,
//! because every critical section writes its state last.

#[cfg(not(atomic_ledger_loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

#[cfg(atomic_ledger_loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

#[cfg(not(atomic_ledger_loom))]
pub(crate) use parking_lot::Mutex;

#[cfg(atomic_ledger_loom)]
pub(crate) use self::loom_mutex::Mutex;

#[cfg(atomic_ledger_loom)]
mod loom_mutex {
    /// loom's mutex behind parking_lot's signature.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }
}

/// Gives way to other threads while waiting on a bounded condition.
///
/// Under loom this must be loom's `yield_now`, or the model would spin forever
/// in a schedule where the thread it waits on never runs.
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(atomic_ledger_loom))]
    std::thread::yield_now();
    #[cfg(atomic_ledger_loom)]
    loom::thread::yield_now();
}

/// Two random words that key the directory's hash, so that account ids chosen
/// by an adversary cannot be made to collide without knowing them.
///
/// Fixed under loom: loom replays each model many times and requires every
/// replay to touch the same atomics in the same order.
pub(crate) fn hash_seed() -> [u64; 2] {
    #[cfg(not(atomic_ledger_loom))]
    {
        use std::hash::{BuildHasher, Hasher};
        let state = std::collections::hash_map::RandomState::new();
        let mut first = state.build_hasher();
        first.write_u64(0x9e37_79b9_7f4a_7c15);
        let mut second = state.build_hasher();
        second.write_u64(0xc2b2_ae3d_27d4_eb4f);
        [first.finish(), second.finish()]
    }
    #[cfg(atomic_ledger_loom)]
    {
        [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f]
    }
}
