//! The transfer-id table: what makes a transfer, or a linked batch, apply at
//! most once.
//!
//! # Implementation details
//!
//! Shards of decided transfers, each a mutex over a [`RecordLanes`] (the
//! records, their index, eviction and the low-water mark), spread over the
//! shards as in [`crate::id_table`]. [`TransferIds::decide`] holds the id's
//! shard lock from the lookup, through applying the transfer, to recording
//! its outcome: a concurrent duplicate waits on the lock, for the few CAS steps
//! of the transfer, and then finds the recorded outcome.
//! [`TransferIds::decide_linked`] does the same for every leg of a batch at
//! once, taking the legs' shards in index order (the global lock order, which
//! the snapshot gate also follows), so a batch is decided as one unit.
//!
//! Why not DashMap: the eviction and the mark must change under the same lock
//! as the insert, and the lock must be held across the transfer itself.
//! Why not a `HashMap` per shard (as before 0.4): see [`crate::record_lanes`].

use crate::id_table::{shard_budget, Shards};
use crate::record_lanes::{leg_byte, Link, Outcome, Record, RecordLanes};
use crate::sync::MutexGuard;
use crate::{Rejection, TransferError, TransferField, TransferId};

/// How [`TransferIds::decide`] answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) outcome: Result<(), Rejection>,
    /// The outcome was recorded earlier; `apply` did not run.
    pub(crate) repeat: bool,
}

/// How [`TransferIds::decide_linked`] answered: `Err` names the failing leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkedDecision {
    pub(crate) outcome: Result<(), (usize, Rejection)>,
    pub(crate) repeat: bool,
}

/// Why [`TransferIds::decide_linked`] refused a batch, recording nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkedRefusal {
    /// Leg `.0` is invalid against the table (an id conflict, an expired id).
    Leg(usize, TransferError),
    /// `legs_in_shard` of the batch's ids fall in one shard, which can
    /// remember only `shard_records_max` records.
    ShardTooSmall { legs_in_shard: usize, shard_records_max: usize },
}

/// Looks `id` up: `Ok(Some(outcome))` for a repeat with the same fields,
/// `Ok(None)` for a fresh id, `Err` for a conflict or an expired id.
#[inline]
fn classify(shard: &RecordLanes, id: TransferId, fields: &Record) -> Result<Option<Outcome>, TransferError> {
    if let Some(seen) = shard.get(id.0) {
        let field = if seen.from != fields.from {
            TransferField::From
        } else if seen.to != fields.to {
            TransferField::To
        } else if seen.amount != fields.amount {
            TransferField::Amount
        } else if seen.link != fields.link {
            TransferField::Link
        } else {
            return Ok(Some(seen.outcome));
        };
        return Err(TransferError::IdConflict { id, field });
    }
    if id.0 <= shard.low_water {
        return Err(TransferError::IdExpired { id, low_water: TransferId(shard.low_water) });
    }
    Ok(None)
}

#[cfg(feature = "_broken-split-id-check")]
mod broken;

pub(crate) struct TransferIds {
    shards: Shards<RecordLanes>,
}

type Guard<'a> = MutexGuard<'a, RecordLanes>;

impl TransferIds {
    /// `shard_count` shards (a power of two ≤ `transfer_ids_max`) sharing
    /// `transfer_ids_max` records; each can take a whole linked batch.
    pub(crate) fn new(transfer_ids_max: usize, shard_count: usize) -> Self {
        assert!(transfer_ids_max >= shard_count);
        let lanes = |index| RecordLanes::new(shard_budget(transfer_ids_max, shard_count, index));
        Self { shards: Shards::new(shard_count, lanes) }
    }

    fn shard_index(&self, id: TransferId) -> usize {
        self.shards.index(id.0)
    }

    fn lock(&self, id: TransferId) -> Guard<'_> {
        self.shards.lock(id.0)
    }

    /// Decides `id` exactly once. A repeat returns the recorded outcome, and
    /// `apply` does not run. A fresh id runs `apply` under the shard lock and
    /// records its outcome, unless `apply` declines (`Err(D)`: a credential's
    /// cap or rate limit refused it, before any money moved), which records
    /// nothing and is returned as the inner `Err`.
    pub(crate) fn decide<D>(
        &self,
        id: TransferId,
        fields: Record,
        apply: impl FnOnce() -> Result<Result<(), Rejection>, D>,
    ) -> Result<Result<Decision, D>, TransferError> {
        debug_assert_eq!(fields.link, Link::Single);
        let shard = self.lock(id);
        if let Some(outcome) = classify(&shard, id, &fields)? {
            let outcome = match outcome {
                Outcome::Applied => Ok(()),
                Outcome::Rejected(reason) => Err(reason),
                Outcome::LinkedLegFailed { .. } => unreachable!("a single transfer never records this"),
            };
            return Ok(Ok(Decision { outcome, repeat: true }));
        }
        Ok(self.apply_fresh(shard, id, fields, apply))
    }

    /// Runs `apply` for a fresh id and records its outcome, all under the
    /// shard lock its lookup took: no duplicate can slip in between.
    #[cfg(not(feature = "_broken-split-id-check"))]
    fn apply_fresh<D>(
        &self,
        mut shard: Guard<'_>,
        id: TransferId,
        fields: Record,
        apply: impl FnOnce() -> Result<Result<(), Rejection>, D>,
    ) -> Result<Decision, D> {
        let outcome = apply()?;
        // Room is made after `apply`, which may decline: a declined id evicts nothing.
        shard.make_room(1);
        let recorded = outcome.map_or_else(Outcome::Rejected, |()| Outcome::Applied);
        shard.insert(id.0, Record { outcome: recorded, ..fields });
        Ok(Decision { outcome, repeat: false })
    }

    /// Decides a linked batch exactly once: every leg fresh → `apply` runs with
    /// all the legs' shard locks held and each leg's outcome is recorded; every
    /// leg a repeat of the same batch → the recorded outcome. Anything else is
    /// an error naming the first offending leg, and changes nothing.
    pub(crate) fn decide_linked(
        &self,
        legs: &[(TransferId, Record)],
        apply: impl FnOnce() -> Result<(), (usize, Rejection)>,
    ) -> Result<LinkedDecision, LinkedRefusal> {
        let mut shard_indices: Vec<usize> = legs.iter().map(|(id, _)| self.shard_index(*id)).collect();
        shard_indices.sort_unstable();
        shard_indices.dedup();
        // Ascending index order: the global lock order.
        let mut guards: Vec<(usize, Guard<'_>)> =
            shard_indices.into_iter().map(|index| (index, self.shards.lock_index(index))).collect();
        let slot = |id: TransferId, guards: &[(usize, Guard<'_>)]| {
            let index = self.shard_index(id);
            guards
                .binary_search_by_key(&index, |(shard, _)| *shard)
                .unwrap_or_else(|_| unreachable!("locked"))
        };
        let mut seen = Vec::with_capacity(legs.len());
        for (leg, (id, fields)) in legs.iter().enumerate() {
            let classified = classify(&guards[slot(*id, &guards)].1, *id, fields);
            seen.push(classified.map_err(|error| LinkedRefusal::Leg(leg, error))?);
        }
        if let Some(first_known) = seen.iter().position(Option::is_some) {
            if seen.iter().any(Option::is_none) {
                // Legs of one batch are recorded together; a mix means this is
                // not the batch that was recorded.
                let id = legs[first_known].0;
                let conflict = TransferError::IdConflict { id, field: TransferField::Link };
                return Err(LinkedRefusal::Leg(first_known, conflict));
            }
            let failed = seen.iter().enumerate().find_map(|(leg, outcome)| match outcome {
                Some(Outcome::Rejected(reason)) => Some((leg, *reason)),
                _ => None,
            });
            return Ok(LinkedDecision { outcome: failed.map_or(Ok(()), Err), repeat: true });
        }
        let needed_in = |index: usize| legs.iter().filter(|(id, _)| self.shard_index(*id) == index).count();
        // Refused before anything is evicted: the bound holds at every moment,
        // so a shard smaller than the batch's share of it cannot record it.
        for (index, guard) in &guards {
            let needed = needed_in(*index);
            debug_assert!(needed >= 1, "shard {index} was locked for no leg");
            if needed > guard.records_max() {
                let shard_records_max = guard.records_max();
                return Err(LinkedRefusal::ShardTooSmall { legs_in_shard: needed, shard_records_max });
            }
        }
        for (index, guard) in &mut guards {
            guard.make_room(needed_in(*index));
        }
        let outcome = apply();
        for (leg, (id, fields)) in legs.iter().enumerate() {
            let recorded = match outcome {
                Ok(()) => Outcome::Applied,
                Err((failed, reason)) if failed == leg => Outcome::Rejected(reason),
                Err((failed, _)) => Outcome::LinkedLegFailed { failed_index: leg_byte(failed) },
            };
            let position = slot(*id, &guards);
            guards[position].1.insert(id.0, Record { outcome: recorded, ..*fields });
        }
        Ok(LinkedDecision { outcome, repeat: false })
    }

    /// Records decisions read back from a journal, in the order the table
    /// took them: one single transfer, or every leg of one batch, making
    /// room as [`Self::decide`] and [`Self::decide_linked`] do, so that
    /// eviction and the low-water marks come out as they were. `Err` gives
    /// the records a shard would need, when more than it can hold.
    pub(crate) fn restore(&self, legs: &[(TransferId, Record)]) -> Result<(), usize> {
        if let [(id, record)] = legs {
            // One record (a single transfer): no shard list to build.
            let mut shard = self.lock(*id);
            shard.make_room(1);
            shard.insert(id.0, *record);
            return Ok(());
        }
        let mut shard_indices: Vec<usize> = legs.iter().map(|(id, _)| self.shard_index(*id)).collect();
        shard_indices.sort_unstable();
        shard_indices.dedup();
        for index in shard_indices {
            let mut shard = self.shards.lock_index(index);
            let mine = || legs.iter().filter(|(id, _)| self.shard_index(*id) == index);
            let needed = mine().count();
            if needed > shard.records_max() {
                return Err(needed);
            }
            shard.make_room(needed);
            for (id, record) in mine() {
                shard.insert(id.0, *record);
            }
        }
        Ok(())
    }

    /// Each shard's low-water mark and remembered records, in shard order:
    /// what a checkpoint keeps of the table.
    pub(crate) fn image(&self) -> Vec<(u128, Vec<(u128, Record)>)> {
        (0..self.shards.count())
            .map(|index| {
                let shard = self.shards.lock_index(index);
                (shard.low_water, shard.records())
            })
            .collect()
    }

    /// Raises the low-water marks to a checkpoint's `marks` (see
    /// [`crate::id_table::restored_mark`]).
    pub(crate) fn raise_low_water(&self, marks: &[u128]) {
        let count = self.shards.count();
        for index in 0..count {
            let mut shard = self.shards.lock_index(index);
            shard.low_water = shard.low_water.max(crate::id_table::restored_mark(marks, count, index));
        }
    }

    /// Every shard locked, in index order (the one global lock order): the
    /// transfer half of the snapshot gate.
    #[cfg_attr(feature = "_broken-snapshot-without-gate", allow(dead_code))]
    pub(crate) fn lock_all(&self) -> Vec<Guard<'_>> {
        self.shards.lock_all()
    }

    /// Records currently held, over all shards (takes each shard lock in turn).
    pub(crate) fn len(&self) -> usize {
        self.shards.sum(RecordLanes::len)
    }
}
