//! Quotas: refilling buckets (rate limits) whose level and time base change in
//! one CAS, with refunds. A plain allowance needs no new type: it is an
//! account with [`crate::Floor::Zero`], consumed by `debit` and topped up by
//! `credit`.
//!
//! # Implementation details
//!
//! One 64-bit word per bucket:
//!
//! ```text
//!  63              40 39                                          0
//! +------------------+---------------------------------------------+
//! | level (24 bits)  | tick: whole refill intervals since origin   |
//! +------------------+---------------------------------------------+
//! ```
//!
//! * `tick` is the time base: the number of whole `refill_interval_ms` that had
//!   passed since the bucket was opened (`origin_ms`, the ledger clock then)
//!   when the level was last brought up to date. Every take and refund reads
//!   the clock once, turns it into `now_tick`, and in the **same CAS** writes
//!   the refilled level minus (or plus) the units and `max(tick, now_tick)`.
//!   A refill is therefore claimed exactly once: a racing operation that read
//!   the old word fails its CAS and recomputes from the new one, whose time base
//!   already covers the intervals just paid out.
//! * The time base never moves back. A thread that read the clock earlier than
//!   the last writer (`now_tick < tick`) gets no refill, so skewed readers can
//!   only under-grant. Hence the invariant, checked by loom and the property
//!   tests: units granted ≤ capacity + `refill_amount` × (the largest tick
//!   written) + units refunded.
//! * Refill is discrete: `refill_amount` arrives at each interval boundary, up
//!   to `capacity`. The partial interval is never lost, because the tick is
//!   counted from the origin, not from the last operation.
//!
//! Limits: capacity ≤ [`BUCKET_CAPACITY_MAX`] (2^24 − 1); the 40-bit tick lasts
//! 34 years at a 1 ms interval (then the bucket stops refilling).

use crate::bucket::LEVEL_BITS;
use crate::journal::{Claim, Entry, Logging};
use crate::sync::{AtomicU64, Ordering};
use crate::{BucketId, BucketInfo, BucketPolicy, QuotaError, Refunded, BUCKET_CAPACITY_MAX};

const TICK_BITS: u32 = 64 - LEVEL_BITS;
const TICK_MAX: u64 = (1 << TICK_BITS) - 1;

/// Why a bucket refused a take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shortfall {
    /// Not enough units now.
    Exhausted { available: u64, retry_after_ms: u64 },
    /// Zero, or more than the capacity.
    OutOfRange,
}

#[derive(Debug)]
pub(crate) struct BucketCell {
    id: BucketId,
    policy: BucketPolicy,
    origin_ms: u64,
    /// `level << 40 | tick`; see the module docs.
    word: AtomicU64,
    /// Serializes journaled takes and refunds (durable ledgers only): a
    /// `BucketSet` records the whole word, so the records of one bucket must
    /// follow its modification order (see [`Claim`]).
    claim: Claim,
}

impl crate::directory::Keyed for BucketCell {
    fn key(&self) -> u128 {
        self.id.0
    }
}

fn decode(word: u64) -> (u64, u64) {
    (word >> TICK_BITS, word & TICK_MAX)
}

fn encode(level: u64, tick: u64) -> u64 {
    debug_assert!(level <= BUCKET_CAPACITY_MAX && tick <= TICK_MAX);
    level << TICK_BITS | tick
}

/// Validates a policy: each field in its range.
pub(crate) fn check_policy(policy: &BucketPolicy) -> Result<(), QuotaError> {
    let out_of_range = |field, value, min, max| QuotaError::PolicyOutOfRange { field, value, min, max };
    if !(1..=BUCKET_CAPACITY_MAX).contains(&policy.capacity) {
        return Err(out_of_range("capacity", policy.capacity, 1, BUCKET_CAPACITY_MAX));
    }
    if !(1..=policy.capacity).contains(&policy.refill_amount) {
        return Err(out_of_range("refill_amount", policy.refill_amount, 1, policy.capacity));
    }
    if policy.refill_interval_ms == 0 {
        return Err(out_of_range("refill_interval_ms", 0, 1, u64::MAX));
    }
    Ok(())
}

impl BucketCell {
    /// A full bucket. `policy` must have passed [`check_policy`].
    pub(crate) fn new(id: BucketId, policy: BucketPolicy, origin_ms: u64) -> Self {
        Self { id, policy, origin_ms, word: AtomicU64::new(encode(policy.capacity, 0)), claim: Claim::new() }
    }

    /// A bucket as recovery left it: the word its last take or refund
    /// wrote, or full at tick 0 if none did.
    pub(crate) fn restored(id: BucketId, policy: BucketPolicy, origin_ms: u64, word: Option<u64>) -> Self {
        let cell = Self::new(id, policy, origin_ms);
        if let Some(word) = word {
            cell.word.store(word, Ordering::Relaxed);
        }
        cell
    }

    pub(crate) fn policy(&self) -> BucketPolicy {
        self.policy
    }

    pub(crate) fn id(&self) -> BucketId {
        self.id
    }

    fn tick_at(&self, now_ms: u64) -> u64 {
        (now_ms.saturating_sub(self.origin_ms) / self.policy.refill_interval_ms).min(TICK_MAX)
    }

    /// The word's level brought up to `now_tick`, and the time base to write.
    fn refilled(&self, word: u64, now_tick: u64) -> (u64, u64) {
        let (level, tick) = decode(word);
        let intervals = now_tick.saturating_sub(tick);
        let gained = intervals.saturating_mul(self.policy.refill_amount);
        (level.saturating_add(gained).min(self.policy.capacity), tick.max(now_tick))
    }

    /// Whether `units` could ever be granted: 1..=capacity.
    fn units_in_range(&self, units: u64) -> bool {
        (1..=self.policy.capacity).contains(&units)
    }

    fn units_out_of_range(&self, units: u64) -> QuotaError {
        QuotaError::UnitsOutOfRange { id: self.id, units, capacity: self.policy.capacity }
    }

    /// [`Self::take_units`], with the error as [`crate::Ledger::take`] reports it.
    pub(crate) fn take(&self, log: impl Logging, units: u64, now_ms: u64) -> Result<u64, QuotaError> {
        self.take_units(log, units, now_ms).map_err(|shortfall| match shortfall {
            Shortfall::Exhausted { available, retry_after_ms } => {
                QuotaError::Exhausted { id: self.id, requested: units, available, retry_after_ms }
            }
            Shortfall::OutOfRange => self.units_out_of_range(units),
        })
    }

    /// Takes `units` if the refilled level has them; returns the level after.
    /// One CAS decides; `Err` changed nothing. (A small error type: it is
    /// returned on the credentialed hot path.)
    #[cfg(not(any(feature = "_broken-stale-bucket-level", feature = "_broken-stale-bucket-tick")))]
    #[inline]
    pub(crate) fn take_units(&self, log: impl Logging, units: u64, now_ms: u64) -> Result<u64, Shortfall> {
        if !self.units_in_range(units) {
            return Err(Shortfall::OutOfRange);
        }
        let now_tick = self.tick_at(now_ms);
        let _claimed = log.journaled().then(|| self.claim.take());
        // Acquire/AcqRel, as for the account word: an operation ordered after
        // this one (same thread, or through a join or a lock) sees its result.
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            let (level, tick) = self.refilled(word, now_tick);
            if level < units {
                let retry_after_ms = self.retry_after_ms(units - level, tick, now_ms);
                return Err(Shortfall::Exhausted { available: level, retry_after_ms });
            }
            let next = encode(level - units, tick);
            let position = log.take_position(next != word);
            match self.install(word, next) {
                Ok(()) => {
                    log.fill(position, || Some(Entry::BucketSet { id: self.id, word: next }));
                    return Ok(level - units);
                }
                Err(actual) => {
                    log.hole(position);
                    word = actual;
                }
            }
        }
    }

    /// The CAS that decides a take: `next` replaces `word` only if the word
    /// did not change since it was read. AcqRel/Acquire, as for the account
    /// word.
    #[cfg(not(feature = "_broken-quota-check-then-write"))]
    #[inline]
    fn install(&self, word: u64, next: u64) -> Result<(), u64> {
        self.word.compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire).map(drop)
    }

    /// Puts `units` back, up to capacity. One CAS.
    pub(crate) fn refund(&self, log: impl Logging, units: u64, now_ms: u64) -> Result<Refunded, QuotaError> {
        if !self.units_in_range(units) {
            return Err(self.units_out_of_range(units));
        }
        Ok(self.put_back(log, units, now_ms))
    }

    /// [`Self::refund`] of units this crate took (always in range).
    pub(crate) fn put_back(&self, log: impl Logging, units: u64, now_ms: u64) -> Refunded {
        debug_assert!(units <= self.policy.capacity);
        let now_tick = self.tick_at(now_ms);
        let _claimed = log.journaled().then(|| self.claim.take());
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            let (level, tick) = self.refilled(word, now_tick);
            let after = (level + units).min(self.policy.capacity);
            let next = encode(after, tick);
            let position = log.take_position(next != word);
            match self.word.compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    log.fill(position, || Some(Entry::BucketSet { id: self.id, word: next }));
                    return Refunded { restored: after - level, level: after };
                }
                Err(actual) => {
                    log.hole(position);
                    word = actual;
                }
            }
        }
    }

    /// How long until `missing` more units will have arrived, counted from
    /// `now_ms`, if nobody else takes any. `tick` is the refilled time base.
    fn retry_after_ms(&self, missing: u64, tick: u64, now_ms: u64) -> u64 {
        let intervals = missing.div_ceil(self.policy.refill_amount);
        let due_ms = tick
            .saturating_add(intervals)
            .saturating_mul(self.policy.refill_interval_ms)
            .saturating_add(self.origin_ms);
        due_ms.saturating_sub(now_ms).max(1)
    }

    /// The level now (the bucket's word is not written).
    pub(crate) fn info(&self, now_ms: u64) -> BucketInfo {
        let (level, _) = self.refilled(self.word.load(Ordering::Acquire), self.tick_at(now_ms));
        BucketInfo { id: self.id, policy: self.policy, level }
    }
}

#[cfg(any(
    feature = "_broken-quota-check-then-write",
    feature = "_broken-stale-bucket-level",
    feature = "_broken-stale-bucket-tick"
))]
mod broken;

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::*;
    use crate::journal::NoLog;

    fn bucket(capacity: u64, refill_amount: u64, refill_interval_ms: u64) -> BucketCell {
        let policy = BucketPolicy { capacity, refill_amount, refill_interval_ms };
        check_policy(&policy).unwrap();
        BucketCell::new(BucketId(1), policy, 1_000)
    }

    #[test]
    fn refills_at_each_interval_boundary_up_to_capacity() {
        let bucket = bucket(5, 2, 100);
        assert_eq!(bucket.take(NoLog, 5, 1_000), Ok(0));
        assert!(matches!(
            bucket.take(NoLog, 1, 1_099),
            Err(QuotaError::Exhausted { available: 0, retry_after_ms: 1, .. })
        ));
        assert_eq!(bucket.take(NoLog, 2, 1_100), Ok(0));
        assert_eq!(bucket.take(NoLog, 1, 1_350), Ok(3)); // two more intervals: 4, less 1
        assert_eq!(bucket.info(9_000).level, 5); // never above capacity
    }

    #[test]
    fn a_late_reader_gets_no_refill_and_does_not_move_the_base_back() {
        let bucket = bucket(4, 1, 10);
        assert_eq!(bucket.take(NoLog, 4, 1_000), Ok(0));
        assert_eq!(bucket.take(NoLog, 1, 1_020), Ok(1)); // tick 2: two refills, one taken
        assert_eq!(bucket.take(NoLog, 1, 1_010), Ok(0)); // an earlier clock reading: no refill
        assert!(bucket.take(NoLog, 1, 1_015).is_err());
        assert_eq!(bucket.take(NoLog, 1, 1_030), Ok(0)); // tick 3: exactly one more
    }

    #[test]
    fn retry_after_counts_to_the_boundary_that_brings_enough() {
        let bucket = bucket(10, 3, 1_000);
        assert_eq!(bucket.take(NoLog, 10, 1_000), Ok(0));
        // 7 missing at 1_250 → three refills → the boundary at 1_000 + 3 × 1_000.
        let error = bucket.take(NoLog, 7, 1_250).unwrap_err();
        assert_eq!(
            error,
            QuotaError::Exhausted { id: BucketId(1), requested: 7, available: 0, retry_after_ms: 2_750 }
        );
    }

    #[test]
    fn refund_restores_up_to_capacity_and_reports_how_much() {
        let bucket = bucket(3, 1, 1_000);
        assert_eq!(bucket.take(NoLog, 2, 1_000), Ok(1));
        assert_eq!(bucket.refund(NoLog, 3, 1_000), Ok(Refunded { restored: 2, level: 3 }));
        assert!(matches!(bucket.refund(NoLog, 0, 1_000), Err(QuotaError::UnitsOutOfRange { .. })));
        assert!(matches!(bucket.take(NoLog, 4, 1_000), Err(QuotaError::UnitsOutOfRange { capacity: 3, .. })));
    }

    #[test]
    fn policies_out_of_range_are_refused() {
        let policy = |capacity, refill_amount, refill_interval_ms| BucketPolicy {
            capacity,
            refill_amount,
            refill_interval_ms,
        };
        assert!(check_policy(&policy(0, 1, 1)).is_err());
        assert!(check_policy(&policy(BUCKET_CAPACITY_MAX + 1, 1, 1)).is_err());
        assert!(check_policy(&policy(5, 6, 1)).is_err());
        assert!(check_policy(&policy(5, 0, 1)).is_err());
        assert!(check_policy(&policy(5, 5, 0)).is_err());
        assert!(check_policy(&policy(BUCKET_CAPACITY_MAX, BUCKET_CAPACITY_MAX, u64::MAX)).is_ok());
    }

    #[test]
    fn huge_times_saturate_without_overflow() {
        let policy = BucketPolicy {
            capacity: BUCKET_CAPACITY_MAX,
            refill_amount: BUCKET_CAPACITY_MAX,
            refill_interval_ms: 1,
        };
        let bucket = BucketCell::new(BucketId(1), policy, 0);
        assert_eq!(bucket.take(NoLog, BUCKET_CAPACITY_MAX, u64::MAX), Ok(0));
        assert_eq!(bucket.info(u64::MAX).level, 0); // the tick saturated: no more refills
        assert!(matches!(bucket.take(NoLog, 1, u64::MAX), Err(QuotaError::Exhausted { .. })));
    }
}
