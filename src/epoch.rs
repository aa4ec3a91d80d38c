//! The snapshot epoch: one counter that every operation reads and only a
//! snapshot advances (the protocol is in [`crate::snapshot`]).

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering};

/// The snapshot epoch.
#[derive(Debug)]
pub(crate) struct Epoch {
    /// Padded: every operation reads it, and it must not share a line with
    /// anything written often.
    value: CachePadded<AtomicU64>,
}

impl Epoch {
    pub(crate) fn new() -> Self {
        Self { value: CachePadded::new(AtomicU64::new(0)) }
    }

    /// Acquire: pairs with `advance`, so an operation that sees epoch `e` sees
    /// every effect of the multi-account operations that finished before it.
    #[inline]
    pub(crate) fn load(&self) -> u64 {
        self.value.load(Ordering::Acquire)
    }

    /// Starts the next epoch and returns it. Call only with the gate held.
    /// AcqRel: releases what the gate's holders did; acquires nothing but keeps
    /// the increment ordered after the lock acquisitions.
    pub(crate) fn advance(&self) -> u64 {
        self.value.fetch_add(1, Ordering::AcqRel) + 1
    }
}
