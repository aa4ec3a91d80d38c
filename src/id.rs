//! Account and transfer identifiers, and a generator of time-ordered ids.
//!
//! # Implementation details
//!
//! Both ids are 128-bit, like TigerBeetle's. `0` and `u128::MAX` are reserved in
//! both spaces so that they can never be confused with "unset" or "all ones"
//! sentinels in a caller's own storage.
//!
//! The transfer-id table forgets the *smallest* ids first once it is full, and
//! refuses any unknown id at or below what it forgot (see [`crate::Ledger::transfer`]).
//! Ids from [`IdGenerator`] put the creation time in their top bits, so
//! "smallest" means "oldest" and a retry of a recent transfer stays answerable.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sync::{Ordering, UnmodelledAtomicU64, UnmodelledOnceLock};

/// Identifies an account. `0` and `u128::MAX` are reserved.
///
/// ```
/// use atomic_ledger::AccountId;
/// let id = AccountId(42);
/// assert!(!id.is_reserved());
/// assert!(AccountId(0).is_reserved());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccountId(pub u128);

/// Identifies a transfer; the key that makes a transfer apply at most once.
/// `0` and `u128::MAX` are reserved.
///
/// ```
/// use atomic_ledger::TransferId;
/// assert!(TransferId(u128::MAX).is_reserved());
/// assert!(!TransferId(7).is_reserved());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TransferId(pub u128);

/// Identifies a hold (a two-phase transfer); the key that makes creating a
/// hold idempotent. `0` and `u128::MAX` are reserved.
///
/// ```
/// use atomic_ledger::HoldId;
/// assert!(HoldId(0).is_reserved());
/// assert!(!HoldId(12).is_reserved());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HoldId(pub u128);

/// Identifies a credential: the ledger-side record behind a bearer token or an
/// API key (the service maps its token or key to this id). `0` and
/// `u128::MAX` are reserved.
///
/// ```
/// use atomic_ledger::CredentialId;
/// assert!(CredentialId(0).is_reserved());
/// assert!(!CredentialId(3).is_reserved());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CredentialId(pub u128);

/// Identifies a refilling quota bucket (a rate limit). `0` and `u128::MAX`
/// are reserved.
///
/// ```
/// use atomic_ledger::BucketId;
/// assert!(BucketId(0).is_reserved());
/// assert!(!BucketId(5).is_reserved());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BucketId(pub u128);

macro_rules! id_common {
    ($name:ident) => {
        impl $name {
            /// Whether this id is one of the two reserved values, `0` and `u128::MAX`.
            #[inline]
            pub const fn is_reserved(self) -> bool {
                self.0 == 0 || self.0 == u128::MAX
            }
        }

        impl From<u128> for $name {
            #[inline]
            fn from(value: u128) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_common!(AccountId);
id_common!(TransferId);
id_common!(HoldId);
id_common!(CredentialId);
id_common!(BucketId);

/// Bits of an id below the millisecond timestamp.
const TIMESTAMP_SHIFT: u32 = 80;
/// Bits of an id below the generator's tag: the sequence within a millisecond.
const SEQUENCE_BITS: u32 = 24;
const SEQUENCE_MAX: u64 = (1 << SEQUENCE_BITS) - 1;
/// Bits of the generator's tag, between the timestamp and the sequence.
const TAG_BITS: u32 = TIMESTAMP_SHIFT - SEQUENCE_BITS;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

/// Tags handed out in this process so far. A generator's tag is the
/// process's random base plus this count, so that no two generators of one
/// process ever share a tag (until 2^56 generators have been made).
static GENERATORS_MADE: UnmodelledAtomicU64 = UnmodelledAtomicU64::new(0);

/// The process's random base for tags, drawn once: generators of two
/// processes share a tag only if the bases fall within the number of
/// generators made of each other, about one chance in 2^56 / generators.
fn process_tag_base() -> u64 {
    static BASE: UnmodelledOnceLock<u64> = UnmodelledOnceLock::new();
    *BASE.get_or_init(|| {
        let [seed, _] = crate::sync::hash_seed();
        seed & TAG_MASK
    })
}

/// A tag no other generator of this process has.
fn fresh_tag() -> u64 {
    // Relaxed: the counter orders nothing else; `fetch_add` alone makes each value unique.
    let made = GENERATORS_MADE.fetch_add(1, Ordering::Relaxed);
    process_tag_base().wrapping_add(made) & TAG_MASK
}

/// Generates unique, strictly increasing, time-ordered 128-bit ids.
///
/// Layout (most significant first): 48 bits of Unix time in milliseconds, a
/// 56-bit tag that is the generator's own, and a 24-bit sequence that counts
/// within a millisecond. If the wall clock steps back, the generator keeps
/// the last timestamp it used, so its ids never decrease; if the sequence
/// runs out within one millisecond, it borrows the next.
///
/// **No two generators share a tag**, so no two generators produce the same
/// id. Within a process this is exact: each tag is a random per-process base
/// plus a count of the generators made so far, so it takes 2^56 generators
/// to repeat one. Across processes the bases are random, and two processes
/// collide only if their bases fall within the number of generators either
/// made (for a million generators each, about one chance in 2^36). For this
/// reason `IdGenerator` is not `Clone`: a copy would share the tag and the
/// sequence, and reissue the original's ids, which the ledger would answer as
/// repeats of payments that were never its own. Make another generator with
/// [`IdGenerator::new`] instead.
///
/// One generator per thread is the intended use (`next` takes `&mut self`).
///
/// ```
/// use atomic_ledger::IdGenerator;
/// let mut ids = IdGenerator::new();
/// let first = ids.next_transfer_id();
/// let second = ids.next_transfer_id();
/// assert!(second > first);
/// assert!(!first.is_reserved());
/// ```
///
/// A copy does not compile:
///
/// ```compile_fail
/// let ids = atomic_ledger::IdGenerator::new();
/// let copy = ids.clone();
/// ```
#[derive(Debug)]
pub struct IdGenerator {
    tag: u64,
    last_ms: u64,
    sequence: u64,
}

impl Default for IdGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl IdGenerator {
    /// A generator with a tag of its own.
    ///
    /// ```
    /// use atomic_ledger::IdGenerator;
    /// let (mut first, mut second) = (IdGenerator::new(), IdGenerator::new());
    /// // Each generator has its own tag, so their ids never collide.
    /// assert_ne!(first.next_u128(), second.next_u128());
    /// ```
    pub fn new() -> Self {
        Self { tag: fresh_tag(), last_ms: 0, sequence: 0 }
    }

    /// The next id as a raw `u128`.
    ///
    /// ```
    /// use atomic_ledger::IdGenerator;
    /// let mut ids = IdGenerator::new();
    /// let (first, second) = (ids.next_u128(), ids.next_u128());
    /// assert!(second > first);
    /// assert!(first != 0 && second != u128::MAX); // never a reserved value
    /// ```
    pub fn next_u128(&mut self) -> u128 {
        let now_ms =
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
                & ((1 << 48) - 1);
        if now_ms > self.last_ms {
            self.last_ms = now_ms;
            self.sequence = 0;
        } else if self.sequence == SEQUENCE_MAX {
            // 2^24 ids in one millisecond is beyond any one thread today;
            // borrowing the next millisecond keeps the ids strictly increasing regardless.
            self.last_ms += 1;
            self.sequence = 0;
        } else {
            self.sequence += 1;
        }
        debug_assert!(self.tag <= TAG_MASK && self.sequence <= SEQUENCE_MAX);
        let id = (u128::from(self.last_ms) << TIMESTAMP_SHIFT)
            | (u128::from(self.tag) << SEQUENCE_BITS)
            | u128::from(self.sequence);
        // The timestamp is far above zero for any real clock, and below 2^48 ms
        // the top bits can never all be ones: the id is never reserved.
        debug_assert!(id != 0 && id != u128::MAX);
        id
    }

    /// The next id, as a [`TransferId`].
    ///
    /// ```
    /// use atomic_ledger::{IdGenerator, TransferId};
    /// let mut ids = IdGenerator::new();
    /// let id: TransferId = ids.next_transfer_id();
    /// assert!(!id.is_reserved());
    /// assert!(ids.next_transfer_id() > id);
    /// ```
    pub fn next_transfer_id(&mut self) -> TransferId {
        TransferId(self.next_u128())
    }

    /// The next id, as an [`AccountId`].
    ///
    /// ```
    /// use atomic_ledger::{AccountOptions, IdGenerator, Ledger, Opened};
    /// let mut ids = IdGenerator::new();
    /// let ledger = Ledger::new();
    /// let id = ids.next_account_id();
    /// assert_eq!(ledger.open_account(id, AccountOptions::default()), Ok(Opened::Created));
    /// assert!(ids.next_account_id() > id);
    /// ```
    pub fn next_account_id(&mut self) -> AccountId {
        AccountId(self.next_u128())
    }
}
