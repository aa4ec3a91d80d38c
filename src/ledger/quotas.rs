//! Refilling quota buckets by id: open, take, refund, read. Each is one CAS
//! on the bucket's word ([`crate::quota`]).

use super::durable::durably;
use super::Ledger;
use crate::directory::Inserted;
use crate::journal::{Entry, Logging};
use crate::quota::{check_policy, BucketCell};
use crate::{BucketId, BucketInfo, BucketPolicy, QuotaError, Refunded};

impl Ledger {
    fn bucket(&self, id: BucketId) -> Result<&BucketCell, QuotaError> {
        if id.is_reserved() {
            return Err(QuotaError::ReservedBucketId(id));
        }
        self.buckets.get(id.0).ok_or(QuotaError::UnknownBucket(id))
    }

    /// Opens refilling bucket `id`, full, with its time base at the ledger
    /// clock's now. Opening the same id with the same policy again is accepted
    /// and changes nothing; with another policy it is [`QuotaError::IdConflict`].
    ///
    /// ```
    /// use atomic_ledger::{BucketId, BucketPolicy, Ledger, QuotaError};
    /// let ledger = Ledger::new();
    /// let policy = BucketPolicy { capacity: 60, refill_amount: 1, refill_interval_ms: 1_000 };
    /// ledger.open_bucket(BucketId(1), policy).unwrap();
    /// ledger.open_bucket(BucketId(1), policy).unwrap(); // idempotent
    /// let other = BucketPolicy { capacity: 61, ..policy };
    /// assert_eq!(ledger.open_bucket(BucketId(1), other), Err(QuotaError::IdConflict(BucketId(1))));
    /// assert!(matches!(
    ///     ledger.open_bucket(BucketId(2), BucketPolicy { refill_interval_ms: 0, ..policy }),
    ///     Err(QuotaError::PolicyOutOfRange { field: "refill_interval_ms", .. })
    /// ));
    /// ```
    pub fn open_bucket(&self, id: BucketId, policy: BucketPolicy) -> Result<(), QuotaError> {
        if id.is_reserved() {
            return Err(QuotaError::ReservedBucketId(id));
        }
        check_policy(&policy)?;
        durably!(self, |log| self.open_bucket_logged(log, id, policy))
    }

    fn open_bucket_logged(
        &self,
        log: impl Logging,
        id: BucketId,
        policy: BucketPolicy,
    ) -> Result<(), QuotaError> {
        let origin_ms = self.clock.now_ms();
        let make = || {
            log.record(|| Entry::BucketOpened { id, policy, origin_ms });
            BucketCell::new(id, policy, origin_ms)
        };
        match self.buckets.insert(id.0, make) {
            Inserted::New => Ok(()),
            Inserted::Existing(cell) if cell.policy() == policy => Ok(()),
            Inserted::Existing(_) => Err(QuotaError::IdConflict(id)),
            Inserted::Full => Err(QuotaError::TableFull { buckets_max: self.buckets.entries_max() }),
        }
    }

    /// Takes `units` from bucket `id`, refilled to the ledger clock's now, and
    /// returns the level left. One CAS writes the new level and time base
    /// together, so concurrent takers never get more than the capacity plus
    /// what the refill has produced. Lock-free. When the bucket is short, the
    /// error says how many units it has and when enough will have arrived.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use atomic_ledger::{BucketId, BucketPolicy, Ledger, ManualClock, QuotaError};
    /// let clock = Arc::new(ManualClock::new(0));
    /// let ledger = Ledger::builder().clock(clock.clone()).build().unwrap();
    /// // 10 requests per second per API key, bursts of up to 10.
    /// ledger.open_bucket(BucketId(7), BucketPolicy { capacity: 10, refill_amount: 10, refill_interval_ms: 1_000 }).unwrap();
    /// for left in (0..10).rev() {
    ///     assert_eq!(ledger.take(BucketId(7), 1), Ok(left));
    /// }
    /// assert!(matches!(ledger.take(BucketId(7), 1), Err(QuotaError::Exhausted { available: 0, retry_after_ms: 1_000, .. })));
    /// clock.advance_ms(1_000);
    /// assert_eq!(ledger.take(BucketId(7), 1), Ok(9));
    /// ```
    pub fn take(&self, id: BucketId, units: u64) -> Result<u64, QuotaError> {
        let bucket = self.bucket(id)?;
        durably!(self, |log| bucket.take(log, units, self.clock.now_ms()))
    }

    /// Gives `units` back to bucket `id` (for work that was charged and then
    /// not done), up to its capacity; says how many it restored. Unlike a
    /// GCRA limiter's single timestamp, the level can go back up. The ledger
    /// does not know what each caller took: give back only what you took. To
    /// charge an estimate and settle the actual cost, place a hold with a
    /// rate-limited credential ([`Ledger::hold_as`]): resolving the hold gives
    /// the unused part back.
    ///
    /// ```
    /// use atomic_ledger::{BucketId, BucketPolicy, Ledger, Refunded};
    /// let ledger = Ledger::new();
    /// ledger.open_bucket(BucketId(1), BucketPolicy { capacity: 5, refill_amount: 1, refill_interval_ms: 60_000 }).unwrap();
    /// ledger.take(BucketId(1), 5).unwrap();
    /// assert_eq!(ledger.refund(BucketId(1), 2), Ok(Refunded { restored: 2, level: 2 }));
    /// ```
    pub fn refund(&self, id: BucketId, units: u64) -> Result<Refunded, QuotaError> {
        let bucket = self.bucket(id)?;
        durably!(self, |log| bucket.refund(log, units, self.clock.now_ms()))
    }

    /// Bucket `id`: its policy and its level now. Writes nothing.
    ///
    /// ```
    /// use atomic_ledger::{BucketId, Ledger, QuotaError};
    /// let ledger = Ledger::new();
    /// assert_eq!(ledger.bucket_info(BucketId(3)), Err(QuotaError::UnknownBucket(BucketId(3))));
    /// ```
    pub fn bucket_info(&self, id: BucketId) -> Result<BucketInfo, QuotaError> {
        Ok(self.bucket(id)?.info(self.clock.now_ms()))
    }
}
