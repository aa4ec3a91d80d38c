//! What a refilling bucket is to its users: `BucketPolicy`, `BucketInfo`,
//! `Refunded`, the capacity limit and `QuotaError`. The bucket's word and
//! its CAS loops are [`crate::quota`].

use crate::{BucketId, JournalFailed};

/// The largest bucket capacity: the level field is 24 bits.
///
/// ```
/// use atomic_ledger::BUCKET_CAPACITY_MAX;
/// assert_eq!(BUCKET_CAPACITY_MAX, 16_777_215);
/// ```
pub const BUCKET_CAPACITY_MAX: u64 = (1 << LEVEL_BITS) - 1;

/// The level's bits in a bucket's word (see [`crate::quota`]).
pub(crate) const LEVEL_BITS: u32 = 24;

/// How a refilling bucket fills: it starts full at `capacity` and gains
/// `refill_amount` units at the end of every `refill_interval_ms`, never
/// holding more than `capacity`.
///
/// ```
/// use atomic_ledger::BucketPolicy;
/// // 100 requests per second, bursts of up to 100.
/// let policy = BucketPolicy { capacity: 100, refill_amount: 100, refill_interval_ms: 1_000 };
/// assert_eq!(policy.capacity, 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BucketPolicy {
    /// The most units the bucket holds: `1..=BUCKET_CAPACITY_MAX`.
    pub capacity: u64,
    /// Units added per interval: `1..=capacity`.
    pub refill_amount: u64,
    /// The interval: at least 1 ms.
    pub refill_interval_ms: u64,
}

/// A bucket as the ledger sees it now (level brought up to the clock).
///
/// ```
/// use atomic_ledger::{BucketId, BucketPolicy, Ledger};
/// let ledger = Ledger::new();
/// let policy = BucketPolicy { capacity: 10, refill_amount: 1, refill_interval_ms: 100 };
/// ledger.open_bucket(BucketId(1), policy).unwrap();
/// ledger.take(BucketId(1), 4).unwrap();
/// let info = ledger.bucket_info(BucketId(1)).unwrap();
/// assert_eq!((info.level, info.policy), (6, policy));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BucketInfo {
    /// The bucket.
    pub id: BucketId,
    /// Its policy.
    pub policy: BucketPolicy,
    /// Units available now.
    pub level: u64,
}

/// What a refund restored.
///
/// ```
/// use atomic_ledger::{BucketId, BucketPolicy, Ledger, Refunded};
/// let ledger = Ledger::new();
/// ledger.open_bucket(BucketId(1), BucketPolicy { capacity: 10, refill_amount: 10, refill_interval_ms: 1_000 }).unwrap();
/// ledger.take(BucketId(1), 3).unwrap();
/// assert_eq!(ledger.refund(BucketId(1), 5), Ok(Refunded { restored: 3, level: 10 })); // full at 10
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Refunded {
    /// Units put back. Less than asked only when the bucket filled up first
    /// (a refill already replaced the rest).
    pub restored: u64,
    /// The level after.
    pub level: u64,
}

/// Errors of the refilling quota buckets ([`crate::Ledger::take`],
/// [`crate::Ledger::refund`], [`crate::Ledger::open_bucket`]). Every error
/// changed nothing.
///
/// ```
/// use atomic_ledger::{BucketId, BucketPolicy, Ledger, ManualClock, QuotaError};
/// use std::sync::Arc;
/// let ledger = Ledger::builder().clock(Arc::new(ManualClock::new(0))).build().unwrap();
/// ledger.open_bucket(BucketId(1), BucketPolicy { capacity: 2, refill_amount: 1, refill_interval_ms: 500 }).unwrap();
/// ledger.take(BucketId(1), 2).unwrap();
/// let error = ledger.take(BucketId(1), 1).unwrap_err();
/// assert_eq!(error, QuotaError::Exhausted { id: BucketId(1), requested: 1, available: 0, retry_after_ms: 500 });
/// assert_eq!(error.to_string(), "bucket 1 has 0 of the 1 units requested; retry after 500 ms");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum QuotaError {
    /// The bucket does not have the units now.
    #[error(
        "bucket {id} has {available} of the {requested} units requested; retry after {retry_after_ms} ms"
    )]
    Exhausted {
        /// The bucket.
        id: BucketId,
        /// The units asked for.
        requested: u64,
        /// The units it had, at the decision.
        available: u64,
        /// How long until the refill will have brought enough, if nobody else takes any.
        retry_after_ms: u64,
    },
    /// Zero units, or more than the bucket can ever hold.
    #[error("bucket {id} takes 1 to {capacity} units at a time, not {units}")]
    UnitsOutOfRange {
        /// The bucket.
        id: BucketId,
        /// The units asked for.
        units: u64,
        /// Its capacity.
        capacity: u64,
    },
    /// No bucket with this id.
    #[error("no bucket {0}")]
    UnknownBucket(BucketId),
    /// `0` and `u128::MAX` are reserved.
    #[error("bucket id {0} is reserved")]
    ReservedBucketId(BucketId),
    /// The id was already opened with another policy.
    #[error("bucket {0} was already opened with a different policy")]
    IdConflict(BucketId),
    /// A policy field outside its range.
    #[error("bucket {field} must be between {min} and {max}, got {value}")]
    PolicyOutOfRange {
        /// Which field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The smallest accepted value.
        min: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// The bucket table is full (see [`crate::LedgerBuilder::buckets_max`]).
    #[error("the bucket table is full ({buckets_max} buckets)")]
    TableFull {
        /// The configured capacity.
        buckets_max: usize,
    },
    /// A durable ledger's journal failed: this operation is not
    /// acknowledged, and no later one will be (see [`crate::JournalFailed`]).
    #[error(transparent)]
    Journal(#[from] JournalFailed),
}
