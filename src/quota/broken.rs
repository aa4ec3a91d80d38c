//! A deliberately broken twin of the bucket's deciding CAS, for
//! `.ci/broken-variants` only: it replaces the real function of the same name
//! when its test-only feature is on, and loom's quota models must reject it.
//! Never enable the feature.

#![allow(unused_imports)] // each twin uses its own part of them

use super::{encode, BucketCell, Shortfall};
use crate::journal::Logging;
use crate::sync::Ordering;

#[cfg(all(feature = "_broken-stale-bucket-level", feature = "_broken-stale-bucket-tick"))]
compile_error!("both twins replace `take_units`: enable one broken variant at a time");

impl BucketCell {
    /// `_broken-quota-check-then-write`: stores without comparing, so two
    /// takes that both saw the last unit both get it.
    #[cfg(feature = "_broken-quota-check-then-write")]
    pub(super) fn install(&self, _word: u64, next: u64) -> Result<(), u64> {
        self.word.store(next, Ordering::Release);
        Ok(())
    }

    /// `_broken-stale-bucket-level` and `_broken-stale-bucket-tick`: the
    /// level is checked on a word read before the CAS loop (level), or the
    /// loop refills from the time base of that first read (tick). The CAS
    /// still compares the whole word, and the retry after it fails takes
    /// units that are no longer there, or pays a refill a second time.
    #[cfg(any(feature = "_broken-stale-bucket-level", feature = "_broken-stale-bucket-tick"))]
    pub(crate) fn take_units(&self, log: impl Logging, units: u64, now_ms: u64) -> Result<u64, Shortfall> {
        if !self.units_in_range(units) {
            return Err(Shortfall::OutOfRange);
        }
        let now_tick = self.tick_at(now_ms);
        let _claimed = log.journaled().then(|| self.claim.take());
        let first = self.word.load(Ordering::Acquire);
        let (first_level, _) = self.refilled(first, now_tick);
        if first_level < units {
            let retry_after_ms = self.retry_after_ms(units - first_level, super::decode(first).1, now_ms);
            return Err(Shortfall::Exhausted { available: first_level, retry_after_ms });
        }
        let mut word = first;
        loop {
            let based =
                if cfg!(feature = "_broken-stale-bucket-tick") { stale_tick(word, first) } else { word };
            let (level, tick) = self.refilled(based, now_tick);
            if cfg!(feature = "_broken-stale-bucket-tick") && level < units {
                return Err(Shortfall::Exhausted { available: level, retry_after_ms: 0 });
            }
            let next = encode(level.saturating_sub(units), tick);
            let position = log.take_position(true);
            match self.install(word, next) {
                Ok(()) => {
                    log.fill(position, || Some(crate::journal::Entry::BucketSet { id: self.id, word: next }));
                    return Ok(level.saturating_sub(units));
                }
                Err(actual) => {
                    log.hole(position);
                    word = actual;
                }
            }
        }
    }
}

/// `word`'s level with `first`'s time base.
#[cfg(any(feature = "_broken-stale-bucket-level", feature = "_broken-stale-bucket-tick"))]
fn stale_tick(word: u64, first: u64) -> u64 {
    let (level, _) = super::decode(word);
    let (_, tick) = super::decode(first);
    encode(level, tick)
}
