//! The hold table: two-phase transfers. Authorise now (move money out of the source's
//! spendable balance), capture later (post), or release (void, expiry).
//!
//! # Implementation details
//!
//! ```text
//!             hold()                post(amount)      posted: amount → to, rest → from
//!  (none) ──────────────► Open ──┬────────────────►  Posted { amount }
//!     │                          ├── void() ──────►  Voided             all → from
//!     │ source refused           └── expiry ──────►  Expired            all → from
//!     └────────────────► Rejected(reason)            (lazy on touch, or expire_due)
//! ```
//!
//! * **Creating** a hold is one CAS on the source's word ([`AccountCell::begin_hold`]):
//!   the floor and status checks of a debit, the balance lowered, and the
//!   account's open-hold count raised, together. Then the amount joins the
//!   account's held total. A refusal is recorded like a transfer's.
//! * **Resolving** happens under the hold's shard lock, which is what makes
//!   post, void and expiry mutually exclusive: the first to take the lock sees
//!   `Open` and resolves it; the others see the final state and get
//!   [`HoldError::AlreadyResolved`] naming it. The money then lands by CAS:
//!   a post credits `to` (which may refuse, leaving the hold open) and returns
//!   the rest to `from`; a void or expiry returns everything. Returns cannot
//!   fail: the open-hold count keeps `from` from closing, and the word's
//!   headroom holds every open hold's amount ([`crate::cell`]).
//! * **Expiry** uses the ledger's [`crate::Clock`]. A due hold expires the first
//!   time it is touched (`post`, `void`, `hold_info`, a repeated `hold`), or
//!   when [`crate::Ledger::expire_due`] sweeps. Nothing runs in the background;
//!   a service that wants timely releases runs the sweep from its own timer.
//!
//! The memory of holds is [`crate::hold_lanes`]: open holds are never
//! forgotten; resolved ones are, smallest id first, like transfer ids.

use crate::cell::AccountCell;
use crate::credential_cell::Refunds;
use crate::epoch::Epoch;
use crate::hold_lanes::{HoldLanes, HoldRecord};
use crate::id_table::{shard_budget, Shards};
use crate::journal::{Entry, HoldEnd, Logging};
use crate::sync::MutexGuard;
use crate::{HoldError, HoldId, HoldInfo, HoldRequest, HoldState, Posted};

/// The accounts a hold moves money between, and where a charged
/// credential gets back what a resolution returns.
#[derive(Clone, Copy)]
pub(crate) struct Cells<'a> {
    pub(crate) from: &'a AccountCell,
    pub(crate) to: &'a AccountCell,
    pub(crate) refunds: Refunds<'a>,
}

impl Cells<'_> {
    /// The request that created `record`, its accounts named by id again.
    pub(crate) fn request_of(&self, record: &HoldRecord) -> HoldRequest {
        let (from, to) = (self.from.id(), self.to.id());
        HoldRequest { id: record.id, from, to, amount: record.amount, expires_at_ms: record.expires_at_ms }
    }
}

pub(crate) struct Holds {
    shards: Shards<HoldLanes>,
    holds_max: usize,
}

type Guard<'a> = MutexGuard<'a, HoldLanes>;

impl Holds {
    /// `shard_count` shards (a power of two ≤ `holds_max`) sharing `holds_max` holds.
    pub(crate) fn new(holds_max: usize, shard_count: usize) -> Self {
        assert!(holds_max >= shard_count);
        let lanes = |index| HoldLanes::new(shard_budget(holds_max, shard_count, index));
        Self { shards: Shards::new(shard_count, lanes), holds_max }
    }

    fn lock(&self, id: HoldId) -> Guard<'_> {
        self.shards.lock(id.0)
    }

    /// Creates the hold once; `Ok(Ok(repeat))`. `fields` is the request with
    /// its accounts' slots, `request` as the caller gave it; `now_ms` reads
    /// the clock, which must be earlier than its expiry (checked by the
    /// caller). For a fresh id,
    /// `admit` runs first, under the shard lock: if it declines, nothing is
    /// recorded (`Ok(Err)`).
    pub(crate) fn hold<D>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        (request, fields): (HoldRequest, HoldRecord),
        cells: Cells<'_>,
        now_ms: impl Fn() -> u64,
        admit: impl FnOnce() -> Result<(), D>,
    ) -> Result<Result<bool, D>, HoldError> {
        debug_assert_eq!(fields.state, HoldState::Open);
        let mut shard = self.lock(request.id);
        let repeat = |record: HoldRecord| {
            if let Some(field) = record.conflict(&fields) {
                return (Err(HoldError::IdConflict { id: request.id, field }), None);
            }
            let expired = Self::expire_if_due(epoch, log, &record, cells, now_ms);
            let answer = match expired.unwrap_or(record.state) {
                HoldState::Rejected(reason) => Err(HoldError::Rejected { reason, repeat: true }),
                _ => Ok(Ok(true)),
            };
            (answer, expired)
        };
        if let Some(answer) = shard.update(request.id, repeat) {
            return answer;
        }
        if request.id.0 <= shard.low_water {
            return Err(HoldError::IdExpired { id: request.id, low_water: HoldId(shard.low_water) });
        }
        if !shard.make_room() {
            return Err(HoldError::TableFull { holds_max: self.holds_max });
        }
        if let Err(declined) = admit() {
            return Ok(Err(declined));
        }
        let HoldRequest { id, from, to, amount, expires_at_ms } = request;
        let charged = fields.charged;
        let placed = || Some(Entry::HoldPlaced { id, from, to, amount, expires_at_ms, charged });
        let state = match cells.from.begin_hold(epoch, (log, placed), amount) {
            Ok(()) => HoldState::Open,
            Err(reason) => {
                log.record(|| Entry::HoldRejected { id, from, to, amount, expires_at_ms, reason });
                HoldState::Rejected(reason)
            }
        };
        shard.insert(HoldRecord { state, ..fields });
        match state {
            HoldState::Rejected(reason) => Err(HoldError::Rejected { reason, repeat: false }),
            _ => Ok(Ok(false)),
        }
    }

    /// Runs `act` on open hold `id` under its shard lock, after expiring it
    /// if it is due; records the state `act` resolves it to, if any. The
    /// state is read and changed under one acquisition of the lock: that is
    /// what makes post, void and expiry exclusive. The caller resolves the
    /// accounts through `cells_of`.
    fn resolve_open<'a, R>(
        epoch: &Epoch,
        log: impl Logging,
        shard: &mut Guard<'_>,
        id: HoldId,
        (cells_of, now_ms): (impl FnOnce(&HoldRecord) -> Cells<'a>, impl Fn() -> u64 + Copy),
        act: impl FnOnce(&HoldRecord, Cells<'a>) -> (Result<R, HoldError>, Option<HoldState>),
    ) -> Result<R, HoldError> {
        let touched = shard.update(id, |record| {
            let cells = cells_of(&record);
            if let Some(expired) = Self::expire_if_due(epoch, log, &record, cells, now_ms) {
                return (Err(HoldError::AlreadyResolved { id, state: expired }), Some(expired));
            }
            match record.state {
                HoldState::Open => act(&record, cells),
                state => (Err(HoldError::AlreadyResolved { id, state }), None),
            }
        });
        touched.unwrap_or(Err(HoldError::UnknownHold(id)))
    }

    /// Expires `record` if it is open and due, returning `Expired` for the
    /// caller to record; `None` if it is not.
    fn expire_if_due(
        epoch: &Epoch,
        log: impl Logging,
        record: &HoldRecord,
        cells: Cells<'_>,
        now_ms: impl Fn() -> u64,
    ) -> Option<HoldState> {
        // A hold that never expires does not read the clock.
        let never = record.expires_at_ms == HoldRequest::NEVER_EXPIRES;
        if record.state.is_open() && !never && now_ms() >= record.expires_at_ms {
            return Some(Self::release(epoch, log, record, cells, HoldState::Expired));
        }
        None
    }

    /// Void or expiry: everything back to `from`. Returns `state`, which the
    /// caller records in the shard it holds locked.
    fn release(
        epoch: &Epoch,
        log: impl Logging,
        record: &HoldRecord,
        cells: Cells<'_>,
        state: HoldState,
    ) -> HoldState {
        debug_assert!(record.state.is_open() && matches!(state, HoldState::Voided | HoldState::Expired));
        let HoldRecord { id, amount, .. } = *record;
        let end = if state == HoldState::Voided { HoldEnd::Voided } else { HoldEnd::Expired };
        cells.from.release_held(epoch, amount);
        let (from, to) = (cells.from.id(), cells.to.id());
        let ended = || Some(Entry::HoldEnded { id, from, to, end, returned: amount });
        cells.from.end_hold(epoch, (log, ended), amount);
        if let Some(credential) = record.charged {
            cells.refunds.give_back(credential, amount);
        }
        state
    }

    /// Posts `amount` of hold `id`. The hold's state is read and changed
    /// under one acquisition of its shard lock: that lock is what makes
    /// post, void and expiry exclusive.
    #[cfg(not(feature = "_broken-stale-hold-state"))]
    pub(crate) fn post<'a>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        id: HoldId,
        amount: u64,
        cells_of: impl FnOnce(&HoldRecord) -> Cells<'a>,
        now_ms: impl Fn() -> u64 + Copy,
    ) -> Result<Posted, HoldError> {
        let mut shard = self.lock(id);
        Self::resolve_open(epoch, log, &mut shard, id, (cells_of, now_ms), |record, cells| {
            match Self::post_open(epoch, log, record, cells, amount) {
                Ok(posted) => (Ok(posted), Some(HoldState::Posted { amount })),
                Err(error) => (Err(error), None),
            }
        })
    }

    /// The post of an open hold, its shard locked since the state was read;
    /// the caller records `Posted` if it succeeds.
    fn post_open(
        epoch: &Epoch,
        log: impl Logging,
        record: &HoldRecord,
        cells: Cells<'_>,
        amount: u64,
    ) -> Result<Posted, HoldError> {
        let HoldRecord { id, amount: held, .. } = *record;
        if amount > held {
            return Err(HoldError::ExceedsHold { id, held, requested: amount });
        }
        // Out of `held` first, so that no observer counts the money twice.
        cells.from.release_held(epoch, held);
        let (from, to) = (cells.from.id(), cells.to.id());
        let credited = || Some(Entry::HoldPostCredited { id, from, to, amount });
        if let Err(reason) = cells.to.transfer_credit(epoch, (log, credited), amount) {
            cells.from.restore_held(held);
            return Err(HoldError::Rejected { reason, repeat: false });
        }
        let returned = held - amount;
        let end = HoldEnd::Posted { amount };
        let ended = || Some(Entry::HoldEnded { id, from, to, end, returned });
        cells.from.end_hold(epoch, (log, ended), returned);
        if let (Some(credential), true) = (record.charged, returned > 0) {
            cells.refunds.give_back(credential, returned);
        }
        Ok(Posted { posted: amount, returned })
    }

    pub(crate) fn void<'a>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        id: HoldId,
        cells_of: impl FnOnce(&HoldRecord) -> Cells<'a>,
        now_ms: impl Fn() -> u64 + Copy,
    ) -> Result<u64, HoldError> {
        let mut shard = self.lock(id);
        Self::resolve_open(epoch, log, &mut shard, id, (cells_of, now_ms), |record, cells| {
            let voided = Self::release(epoch, log, record, cells, HoldState::Voided);
            (Ok(record.amount), Some(voided))
        })
    }

    pub(crate) fn info<'a>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        id: HoldId,
        cells_of: impl FnOnce(&HoldRecord) -> Cells<'a>,
        now_ms: impl Fn() -> u64 + Copy,
    ) -> Result<HoldInfo, HoldError> {
        let mut shard = self.lock(id);
        let read = shard.update(id, |record| {
            let cells = cells_of(&record);
            let expired = Self::expire_if_due(epoch, log, &record, cells, now_ms);
            let state = expired.unwrap_or(record.state);
            (HoldInfo { request: cells.request_of(&record), state }, expired)
        });
        read.ok_or(HoldError::UnknownHold(id))
    }

    /// Expires every open hold due at `now_ms`, one shard at a time. Returns how many.
    pub(crate) fn expire_due<'a>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        now_ms: u64,
        cells_of: impl Fn(&HoldRecord) -> Cells<'a>,
    ) -> usize {
        let mut expired = 0;
        for index in 0..self.shards.count() {
            let mut shard = self.shards.lock_index(index);
            for record in shard.due(now_ms) {
                debug_assert_ne!(record.expires_at_ms, HoldRequest::NEVER_EXPIRES);
                let state = Self::release(epoch, log, &record, cells_of(&record), HoldState::Expired);
                shard.resolve(record.id, state);
                expired += 1;
            }
        }
        expired
    }

    /// Records a hold read back from a journal, as [`Self::hold`] did
    /// (making room the same way); `Err` if the table cannot hold it.
    pub(crate) fn restore_created(&self, record: HoldRecord) -> Result<(), ()> {
        let mut shard = self.lock(record.id);
        if !shard.make_room() {
            return Err(());
        }
        shard.insert(record);
        Ok(())
    }

    /// Records a resolution read back from a journal.
    pub(crate) fn restore_resolved(&self, id: HoldId, state: HoldState) -> Result<(), ()> {
        let mut shard = self.lock(id);
        if !shard.get(id).is_some_and(|record| record.state.is_open()) {
            return Err(());
        }
        shard.resolve(id, state);
        Ok(())
    }

    /// Each shard's low-water mark and remembered holds, in shard order:
    /// what a checkpoint keeps.
    pub(crate) fn image(&self) -> Vec<(u128, Vec<HoldRecord>)> {
        (0..self.shards.count())
            .map(|index| {
                let shard = self.shards.lock_index(index);
                (shard.low_water, shard.records().collect())
            })
            .collect()
    }

    /// Raises the low-water marks to a checkpoint's (see
    /// [`crate::id_table::restored_mark`]).
    pub(crate) fn raise_low_water(&self, marks: &[u128]) {
        let count = self.shards.count();
        for index in 0..count {
            let mut shard = self.shards.lock_index(index);
            shard.low_water = shard.low_water.max(crate::id_table::restored_mark(marks, count, index));
        }
    }

    /// Every shard locked: the hold half of the snapshot gate.
    #[cfg_attr(feature = "_broken-snapshot-without-gate", allow(dead_code))]
    pub(crate) fn lock_all(&self) -> Vec<Guard<'_>> {
        self.shards.lock_all()
    }

    /// Holds currently remembered (open and resolved).
    pub(crate) fn len(&self) -> usize {
        self.shards.sum(HoldLanes::len)
    }
}

#[cfg(feature = "_broken-stale-hold-state")]
mod broken;
