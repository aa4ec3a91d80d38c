//! The transfer-id table: what makes a transfer apply at most once.
//!
//! # Implementation details
//!
//! The table is split into a power-of-two number of shards, each a
//! cache-padded mutex over a `HashMap` of recorded transfers, a min-heap of
//! the same ids (eviction order), and a low-water mark. A transfer holds its
//! shard's lock from the id lookup through applying the transfer to recording
//! its outcome, so the check "was this id seen?" and the insert are one
//! critical section: a concurrent duplicate waits on the lock (for the few CAS
//! steps of the transfer) and then finds the recorded outcome.
//!
//! Memory is bounded: each shard holds at most `ceil(transfer_ids_max / shards)`
//! records. Recording one more evicts the shard's smallest id and raises the
//! shard's low-water mark to it; any id not in the shard and at or below the
//! mark is refused ([`crate::TransferError::IdExpired`]), because it may be one
//! that was evicted. Ids are ordered by value, so with time-ordered ids (see
//! [`crate::IdGenerator`]) the oldest are forgotten first.
//!
//! Why not DashMap: the table needs per-shard eviction order and a low-water
//! mark updated under the same lock as the insert, and the lock must be held
//! across the transfer itself; DashMap's entry API would hold a shard lock too,
//! but offers neither.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crossbeam_utils::CachePadded;

use crate::hash::IdHashBuilder;
use crate::sync::{Mutex, MutexGuard};
use crate::{AccountId, Rejection, TransferError, TransferField, TransferId};

/// What the table remembers of a decided transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) from: AccountId,
    pub(crate) to: AccountId,
    pub(crate) amount: u64,
    pub(crate) outcome: Result<(), Rejection>,
}

pub(crate) struct Shard {
    records: HashMap<u128, Record, IdHashBuilder>,
    eviction_order: BinaryHeap<Reverse<u128>>,
    /// Largest id evicted from this shard; 0 (a reserved id) while none has been.
    low_water: u128,
}

pub(crate) struct TransferIds {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    shard_records_max: usize,
}

/// What the caller must do with an id, decided under the shard lock.
pub(crate) enum Lookup<'a> {
    /// Never seen: apply the transfer, then [`Fresh::record`] its outcome.
    Fresh(Fresh<'a>),
    /// Seen with the same fields: here is the recorded outcome.
    Repeat(Result<(), Rejection>),
}

/// An id that is not in the table, with its shard still locked.
pub(crate) struct Fresh<'a> {
    shard: MutexGuard<'a, Shard>,
    shard_records_max: usize,
    id: u128,
}

impl TransferIds {
    pub(crate) fn new(transfer_ids_max: usize, shard_count: usize) -> Self {
        assert!(shard_count.is_power_of_two() && transfer_ids_max >= shard_count);
        Self {
            shards: (0..shard_count)
                .map(|_| {
                    CachePadded::new(Mutex::new(Shard {
                        records: HashMap::with_hasher(IdHashBuilder::new()),
                        eviction_order: BinaryHeap::new(),
                        low_water: 0,
                    }))
                })
                .collect(),
            shard_records_max: transfer_ids_max.div_ceil(shard_count),
        }
    }

    fn shard_of(&self, id: TransferId) -> &Mutex<Shard> {
        // Fold and mix, so that sequential ids and time-prefixed ids alike spread.
        let folded = (id.0 as u64) ^ ((id.0 >> 64) as u64);
        let mixed = folded.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let index = (mixed >> 32) as usize & (self.shards.len() - 1);
        &self.shards[index]
    }

    /// Locks the id's shard and classifies the id against `record`'s fields.
    pub(crate) fn lookup(&self, id: TransferId, fields: &Record) -> Result<Lookup<'_>, TransferError> {
        let shard = self.shard_of(id).lock();
        if let Some(seen) = shard.records.get(&id.0) {
            let field = if seen.from != fields.from {
                TransferField::From
            } else if seen.to != fields.to {
                TransferField::To
            } else if seen.amount != fields.amount {
                TransferField::Amount
            } else {
                return Ok(Lookup::Repeat(seen.outcome));
            };
            return Err(TransferError::IdConflict { id, field });
        }
        if id.0 <= shard.low_water {
            return Err(TransferError::IdExpired { id, low_water: TransferId(shard.low_water) });
        }
        Ok(Lookup::Fresh(Fresh { shard, shard_records_max: self.shard_records_max, id: id.0 }))
    }

    /// Records currently held, over all shards (takes each shard lock in turn).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|shard| shard.lock().records.len()).sum()
    }
}

impl Fresh<'_> {
    /// Records the decided outcome and releases the shard.
    pub(crate) fn record(mut self, record: Record) {
        let shard = &mut *self.shard;
        if shard.records.len() == self.shard_records_max {
            if let Some(Reverse(oldest)) = shard.eviction_order.pop() {
                shard.records.remove(&oldest);
                shard.low_water = shard.low_water.max(oldest);
            }
        }
        let previous = shard.records.insert(self.id, record);
        debug_assert!(previous.is_none(), "a fresh id was already recorded");
        shard.eviction_order.push(Reverse(self.id));
        debug_assert!(shard.records.len() <= self.shard_records_max);
        debug_assert_eq!(shard.records.len(), shard.eviction_order.len());
    }
}
