//! One shard's memory of holds: open ones, and resolved ones until they are
//! forgotten under the low-water mark.
//!
//! # Implementation details
//!
//! Plain memory, guarded by the shard's mutex (see [`crate::hold_table`]).
//! Hold ids arrive in nearly increasing order, like transfer ids, so the
//! holds are kept in id order in [`IdLanes`] (see [`crate::id_lanes`]), one
//! 48-byte [`Entry`] per hold: the id, the accounts' directory slots, the
//! amount with the state's tag drawn into its top bits, the expiry and the
//! posted amount. A hold refused at creation (its reason has numbers) or
//! paid for by a credential keeps that in a side map, `spilled`.
//!
//! **Eviction** takes the smallest ids, in batches like the transfer ids'
//! ([`EVICTION_BATCH_MAX`]), and raises the low-water mark to the largest of
//! them. A resolved hold is forgotten. An **open hold is moved aside**, not
//! forgotten: it still holds money, and post, void and expiry must find it.
//! So eviction never stops at an open hold, and the mark can rise past it:
//! an id at or below the mark is looked for in `aside` before it is called
//! unknown. An aside hold that is resolved is forgotten at the next
//! eviction (`resolved_aside`), as it would have been in the lanes, being
//! among the smallest. The bound counts the aside holds too: a shard whose
//! every hold is open has no room (`TableFull`).
//!
//! Before (0.5.x) each shard was a `HashMap` of whole records (about 150
//! bytes of record, 2 copies per operation) with a sampling sweep of the
//! whole shard at each eviction.

use std::collections::HashMap;

use crate::directory::Slot;
use crate::hash::IdHashBuilder;
use crate::id_lanes::{IdLanes, LaneEntry};
use crate::{CredentialId, HoldField, HoldId, HoldRequest, HoldState, Rejection};

/// Holds evicted at once when a shard is full, at most (and an eighth of
/// the shard, if less).
const EVICTION_BATCH_MAX: usize = 64;

/// A remembered hold, as the table works with it: its accounts by directory
/// slot (exact for the ledger's life, see [`Slot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HoldRecord {
    pub(crate) id: HoldId,
    pub(crate) from: Slot,
    pub(crate) to: Slot,
    pub(crate) amount: u64,
    pub(crate) expires_at_ms: u64,
    pub(crate) state: HoldState,
    /// The credential whose cap and rate limit paid for the hold
    /// ([`crate::Ledger::hold_as`]): what is not posted goes back to it.
    pub(crate) charged: Option<CredentialId>,
}

impl HoldRecord {
    /// The first field in which `request` differs from this record, if any.
    pub(crate) fn conflict(&self, request: &HoldRecord) -> Option<HoldField> {
        if self.from != request.from {
            Some(HoldField::From)
        } else if self.to != request.to {
            Some(HoldField::To)
        } else if self.amount != request.amount {
            Some(HoldField::Amount)
        } else if self.expires_at_ms != request.expires_at_ms {
            Some(HoldField::ExpiresAt)
        } else {
            None
        }
    }
}

/// `Entry::amount_state`: the amount in the low bits, the state's tag from
/// [`STATE_SHIFT`], and [`SPILLED_BIT`].
const STATE_SHIFT: u32 = 56;
const STATE_MASK: u64 = 0b111 << STATE_SHIFT;
/// Set when the hold's refusal or its credential is in `spilled`.
const SPILLED_BIT: u64 = 1 << 63;
const AMOUNT_MASK: u64 = (1 << STATE_SHIFT) - 1;
const _: () = assert!(crate::AMOUNT_MAX <= AMOUNT_MASK, "amounts stay below the tag");

const OPEN: u64 = 0;
const POSTED: u64 = 1;
const VOIDED: u64 = 2;
const EXPIRED: u64 = 3;
const REJECTED: u64 = 4;

/// One remembered hold: 48 bytes, four to three cache lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
struct Entry {
    id: u128,
    from: Slot,
    to: Slot,
    amount_state: u64,
    expires_at_ms: u64,
    /// The amount posted, for a posted hold; 0 otherwise.
    posted: u64,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 48);

impl LaneEntry for Entry {
    #[inline]
    fn id(&self) -> u128 {
        self.id
    }
}

impl Entry {
    fn tag(&self) -> u64 {
        (self.amount_state & STATE_MASK) >> STATE_SHIFT
    }

    fn is_open(&self) -> bool {
        self.tag() == OPEN
    }

    fn is_spilled(&self) -> bool {
        self.amount_state & SPILLED_BIT != 0
    }

    /// Sets the state (never to `Rejected`: a refusal is recorded whole, by
    /// [`HoldLanes::insert`]).
    fn set_state(&mut self, state: HoldState) {
        let (tag, posted) = match state {
            HoldState::Open => (OPEN, 0),
            HoldState::Posted { amount } => (POSTED, amount),
            HoldState::Voided => (VOIDED, 0),
            HoldState::Expired => (EXPIRED, 0),
            HoldState::Rejected(_) => unreachable!("a hold is refused only when it is created"),
        };
        self.amount_state = (self.amount_state & !STATE_MASK) | tag << STATE_SHIFT;
        self.posted = posted;
    }
}

/// What a few holds keep beside their entry.
#[derive(Debug, Clone, Copy, Default)]
struct Spilled {
    rejected: Option<Rejection>,
    charged: Option<CredentialId>,
}

/// A hold's record as the table works with it, from its entry and, for a
/// refused or credential-paid hold, its side entry.
#[inline]
fn record_of(spilled: &HashMap<u128, Spilled, IdHashBuilder>, entry: &Entry) -> HoldRecord {
    let spilled = if entry.is_spilled() {
        *spilled.get(&entry.id).unwrap_or_else(|| unreachable!("a spilled hold has its side entry"))
    } else {
        Spilled::default()
    };
    let state = match entry.tag() {
        OPEN => HoldState::Open,
        POSTED => HoldState::Posted { amount: entry.posted },
        VOIDED => HoldState::Voided,
        EXPIRED => HoldState::Expired,
        _ => HoldState::Rejected(spilled.rejected.unwrap_or_else(|| unreachable!("kept with the tag"))),
    };
    HoldRecord {
        id: HoldId(entry.id),
        from: entry.from,
        to: entry.to,
        amount: entry.amount_state & AMOUNT_MASK,
        expires_at_ms: entry.expires_at_ms,
        state,
        charged: spilled.charged,
    }
}

pub(crate) struct HoldLanes {
    entries: IdLanes<Entry>,
    /// Open holds that eviction took from the lanes: every id here is ≤ `low_water`.
    aside: HashMap<u128, Entry, IdHashBuilder>,
    /// Ids in `aside` resolved since the last eviction, which forgets them.
    resolved_aside: Vec<u128>,
    spilled: HashMap<u128, Spilled, IdHashBuilder>,
    /// The bound on remembered holds (lanes and aside), at every moment:
    /// this shard's part of `holds_max`.
    holds_max: usize,
    /// Every forgotten id is ≤ this; 0 (reserved) while nothing was forgotten.
    pub(crate) low_water: u128,
}

impl HoldLanes {
    /// Room for up to `holds_max` holds (≥ 1).
    pub(crate) fn new(holds_max: usize) -> Self {
        assert!(holds_max >= 1, "every shard can remember at least one hold");
        Self {
            entries: IdLanes::new(),
            aside: HashMap::with_hasher(IdHashBuilder::new()),
            resolved_aside: Vec::new(),
            spilled: HashMap::with_hasher(IdHashBuilder::new()),
            holds_max,
            low_water: 0,
        }
    }

    /// Holds remembered, open and resolved.
    pub(crate) fn len(&self) -> usize {
        self.entries.len() + self.aside.len()
    }

    /// The hold `id`, if remembered.
    #[inline]
    pub(crate) fn get(&self, id: HoldId) -> Option<HoldRecord> {
        let entry = match self.entries.get(id.0) {
            Some(entry) => entry,
            None if id.0 <= self.low_water => self.aside.get(&id.0)?,
            None => return None,
        };
        Some(record_of(&self.spilled, entry))
    }

    /// Runs `decide` on the record of hold `id`, found once, and records the
    /// state it returns, if any (an open hold resolved: a post, a void, an
    /// expiry on touch). `None` if the hold is not remembered. One lookup
    /// where a read and a later [`Self::resolve`] would take two.
    #[inline]
    pub(crate) fn update<R>(
        &mut self,
        id: HoldId,
        decide: impl FnOnce(HoldRecord) -> (R, Option<HoldState>),
    ) -> Option<R> {
        let (entry, aside) = match self.entries.get_mut(id.0) {
            Some(entry) => (entry, false),
            None if id.0 <= self.low_water => (self.aside.get_mut(&id.0)?, true),
            None => return None,
        };
        let (result, state) = decide(record_of(&self.spilled, entry));
        if let Some(state) = state {
            debug_assert!(entry.is_open() && !state.is_open());
            entry.set_state(state);
            if aside {
                self.resolved_aside.push(id.0);
            }
        }
        Some(result)
    }

    /// Records that open hold `id` is now `state` (resolved).
    pub(crate) fn resolve(&mut self, id: HoldId, state: HoldState) {
        debug_assert!(!state.is_open());
        if let Some(entry) = self.entries.get_mut(id.0) {
            debug_assert!(entry.is_open());
            entry.set_state(state);
        } else if let Some(entry) = self.aside.get_mut(&id.0) {
            debug_assert!(entry.is_open());
            entry.set_state(state);
            self.resolved_aside.push(id.0);
        } else {
            unreachable!("hold {id} resolved without its record")
        }
    }

    /// Remembers `record`, whose id must not be remembered, after
    /// [`Self::make_room`]. A new hold is open or refused; one restored from
    /// a journal or a checkpoint may be in any state.
    #[inline]
    pub(crate) fn insert(&mut self, record: HoldRecord) {
        debug_assert!(self.len() < self.holds_max, "make_room first");
        debug_assert!(record.amount <= AMOUNT_MASK, "amounts are validated first");
        let rejected = match record.state {
            HoldState::Rejected(reason) => Some(reason),
            _ => None,
        };
        let spilled = rejected.is_some() || record.charged.is_some();
        let amount_state = record.amount | if spilled { SPILLED_BIT } else { 0 };
        let HoldRecord { id, from, to, expires_at_ms, .. } = record;
        let mut entry = Entry { id: id.0, from, to, amount_state, expires_at_ms, posted: 0 };
        match record.state {
            HoldState::Rejected(_) => entry.amount_state |= REJECTED << STATE_SHIFT,
            state => entry.set_state(state),
        }
        self.entries.insert(entry);
        if spilled {
            self.spilled.insert(id.0, Spilled { rejected, charged: record.charged });
        }
    }

    /// Makes room for one more hold: evicts the smallest ids (moving open
    /// holds aside) until it fits, and a little more when it has to evict
    /// at all. `false` if every remembered hold is open: nothing to forget.
    #[inline]
    pub(crate) fn make_room(&mut self) -> bool {
        self.len() < self.holds_max || self.evict_batch()
    }

    #[cold]
    #[inline(never)]
    fn evict_batch(&mut self) -> bool {
        self.forget_resolved_aside();
        let slack = EVICTION_BATCH_MAX.min(self.holds_max / 8);
        let target = self.holds_max.saturating_sub(slack).max(1);
        while self.len() >= target && !self.entries.is_empty() {
            // Each pass takes at most what is over the target: an open hold
            // moved aside still counts, so the loop goes on past it.
            let count_max = self.entries.len().min(self.len() + 1 - target);
            let (aside, spilled) = (&mut self.aside, &mut self.spilled);
            let take = |entry: &Entry| {
                if entry.is_open() {
                    aside.insert(entry.id, *entry);
                } else if entry.is_spilled() {
                    spilled.remove(&entry.id);
                }
            };
            let largest = self.entries.pop_smallest(count_max, take);
            let largest = largest.unwrap_or_else(|| unreachable!("not empty"));
            self.low_water = self.low_water.max(largest);
        }
        self.len() < self.holds_max
    }

    /// Forgets the aside holds resolved since the last eviction: they are
    /// below the mark, so the smallest remembered.
    fn forget_resolved_aside(&mut self) {
        for id in self.resolved_aside.drain(..) {
            let entry = self.aside.remove(&id).unwrap_or_else(|| unreachable!("aside until forgotten"));
            debug_assert!(!entry.is_open());
            if entry.is_spilled() {
                self.spilled.remove(&id);
            }
        }
    }

    /// Every remembered hold, in no particular order.
    pub(crate) fn records(&self) -> impl Iterator<Item = HoldRecord> + '_ {
        self.entries.iter().chain(self.aside.values()).map(|entry| record_of(&self.spilled, entry))
    }

    /// The open holds due at `now_ms`.
    pub(crate) fn due(&self, now_ms: u64) -> Vec<HoldRecord> {
        let never = HoldRequest::NEVER_EXPIRES;
        let due =
            |entry: &&Entry| entry.is_open() && entry.expires_at_ms != never && now_ms >= entry.expires_at_ms;
        self.entries
            .iter()
            .chain(self.aside.values())
            .filter(due)
            .map(|entry| record_of(&self.spilled, entry))
            .collect()
    }

    /// Checks every invariant (tests; O(holds)).
    #[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
    pub(crate) fn check(&self) {
        self.entries.check();
        assert!(self.len() <= self.holds_max);
        assert!(self.aside.keys().all(|&id| id <= self.low_water), "aside only below the mark");
        assert!(self.aside.keys().all(|id| self.entries.get(*id).is_none()), "each hold once");
        let spilled = self.entries.iter().chain(self.aside.values()).filter(|entry| entry.is_spilled());
        assert_eq!(spilled.count(), self.spilled.len());
        for id in &self.resolved_aside {
            assert!(self.aside.get(id).is_some_and(|entry| !entry.is_open()));
        }
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
