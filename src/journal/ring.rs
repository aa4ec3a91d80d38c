//! Log positions and the ring of record slots they index: how a step's record
//! gets from the thread that made it to the flusher, in position order.
//!
//! # Implementation details
//!
//! * **`next`** hands out positions, one `fetch_add` per step. A step takes
//!   its position after the loads its decision depends on and before the RMW
//!   that publishes it (`docs/journal.md`, "The ordering rule"): that is the
//!   whole of the ordering rule, and this counter is its only shared write.
//! * **Slots.** Position `p` owns slot `p % capacity`. The step that took `p`
//!   writes its record there (kind, length, payload words; `Relaxed`) and
//!   then publishes it by storing `p + 1` into the slot's `stamp` with
//!   `Release`. A step whose CAS failed writes a *hole* (kind
//!   [`HOLE_KIND`], no payload): every position is filled exactly once, so
//!   the log has no gaps (the segment format refuses a gap as corruption).
//! * **`consumed`**: every position below it has been copied out of its slot
//!   by the flusher. The step that took `p` may write slot `p % capacity`
//!   only once `p < consumed + capacity`: the slot's previous occupant,
//!   `p - capacity`, has been copied out. The flusher publishes `consumed`
//!   with `Release` after its reads of the slots, and the writer loads it
//!   with `Acquire` before its writes, so the two never touch a slot at once.
//! * **No deadlock.** The flusher copies slots in position order and waits
//!   only for the lowest position not yet copied. That position's slot is
//!   always free (everything before it has been copied), so its step can
//!   always finish, whatever the steps after it are waiting for.
//!
//! Slots are written through `AtomicU64` words rather than `UnsafeCell`
//! bytes: safe code, and a plain `mov` each on x86.

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering};

/// The kind byte of a hole: a position whose step changed nothing.
pub(crate) const HOLE_KIND: u8 = 0;

/// Payload words per slot.
const SLOT_WORDS: usize = 14;
/// The largest record payload a step may write, in bytes.
pub(crate) const SLOT_PAYLOAD_MAX: usize = SLOT_WORDS * 8;

/// One record slot: a stamp, the kind and length, and the payload.
#[derive(Debug)]
struct Slot {
    /// `position + 1` once the record of `position` is in the slot; the
    /// stamp of an earlier occupant (or 0) before.
    stamp: AtomicU64,
    /// `kind | payload length << 8`.
    head: AtomicU64,
    words: [AtomicU64; SLOT_WORDS],
}

impl Slot {
    fn new() -> Self {
        Self {
            stamp: AtomicU64::new(0),
            head: AtomicU64::new(0),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Positions, and the slots their records pass through.
#[derive(Debug)]
pub(crate) struct Ring {
    next: CachePadded<AtomicU64>,
    consumed: CachePadded<AtomicU64>,
    slots: Box<[Slot]>,
    /// `capacity - 1`; the capacity is a power of two.
    mask: u64,
}

impl Ring {
    /// A ring of `capacity` slots (a power of two) whose first position is
    /// `first_position`.
    pub(crate) fn new(capacity: usize, first_position: u64) -> Self {
        assert!(capacity.is_power_of_two(), "ring capacity {capacity} is not a power of two");
        let slots: Box<[Slot]> = (0..capacity).map(|_| Slot::new()).collect();
        // A slot's stamp before its first record must not read as any
        // position's from `first_position` on: stamp a previous lap.
        for (index, slot) in slots.iter().enumerate() {
            let previous_lap = Self::previous_lap(first_position, index as u64, capacity as u64);
            slot.stamp.store(previous_lap, Ordering::Relaxed);
        }
        Self {
            next: CachePadded::new(AtomicU64::new(first_position)),
            consumed: CachePadded::new(AtomicU64::new(first_position)),
            slots,
            mask: capacity as u64 - 1,
        }
    }

    /// The stamp slot `index` would carry had the lap before
    /// `first_position` been written: never `p + 1` for a `p ≥ first_position`.
    fn previous_lap(first_position: u64, index: u64, capacity: u64) -> u64 {
        let lap_start = first_position - first_position % capacity;
        let position = lap_start + index;
        // The slot's position in the lap that contains `first_position` is
        // `position`; if that is not below `first_position`, the slot's last
        // occupant was a lap earlier (or never: stamp 0).
        if position < first_position {
            position + 1
        } else {
            (position + 1).saturating_sub(capacity)
        }
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// Takes the next position. The caller must fill it, with a record or a
    /// hole, exactly once.
    #[inline]
    pub(crate) fn reserve(&self) -> u64 {
        // Relaxed: the ordering rule's happens-before edge comes from the
        // ledger word the step loaded before and publishes after (see
        // `docs/journal.md`), and a counter's modification order is total.
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Every position below this has been handed out.
    pub(crate) fn handed_out(&self) -> u64 {
        self.next.load(Ordering::Acquire)
    }

    /// Every position below this has been copied out by the flusher.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed.load(Ordering::Acquire)
    }

    /// Whether `position`'s slot is free to write.
    #[inline]
    pub(crate) fn has_room(&self, position: u64) -> bool {
        // Acquire: pairs with `publish_consumed`'s Release, so the flusher's
        // reads of the slot's previous record happen before our writes.
        position < self.consumed.load(Ordering::Acquire) + self.capacity()
    }

    /// Writes `position`'s record. `has_room(position)` must have returned
    /// true, and the position must not have been filled yet.
    #[inline]
    pub(crate) fn write(&self, position: u64, kind: u8, payload: &[u8]) {
        assert!(payload.len() <= SLOT_PAYLOAD_MAX, "a record payload of {} bytes", payload.len());
        let slot = &self.slots[(position & self.mask) as usize];
        debug_assert!(slot.stamp.load(Ordering::Relaxed) <= position, "position {position} filled twice");
        slot.head.store(u64::from(kind) | (payload.len() as u64) << 8, Ordering::Relaxed);
        for (word, chunk) in slot.words.iter().zip(payload.chunks(8)) {
            let mut bytes = [0u8; 8];
            bytes[..chunk.len()].copy_from_slice(chunk);
            word.store(u64::from_le_bytes(bytes), Ordering::Relaxed);
        }
        // Release: the flusher that acquires the stamp reads the words above.
        slot.stamp.store(position + 1, Ordering::Release);
    }

    /// Copies `position`'s record into `out` (kind, then payload) if it has
    /// been written, and returns its kind; `None` if its step is still running.
    pub(crate) fn read(&self, position: u64, out: &mut Vec<u8>) -> Option<u8> {
        let slot = &self.slots[(position & self.mask) as usize];
        // Acquire: pairs with `write`'s Release.
        if slot.stamp.load(Ordering::Acquire) != position + 1 {
            return None;
        }
        let head = slot.head.load(Ordering::Relaxed);
        let (kind, len) = (head as u8, (head >> 8) as usize);
        assert!(len <= SLOT_PAYLOAD_MAX, "slot {position} holds {len} payload bytes");
        let mut left = len;
        for word in &slot.words[..len.div_ceil(8)] {
            let bytes = word.load(Ordering::Relaxed).to_le_bytes();
            let take = left.min(8);
            out.extend_from_slice(&bytes[..take]);
            left -= take;
        }
        Some(kind)
    }

    /// Publishes that every position below `consumed` has been read, which
    /// frees their slots for the next lap.
    pub(crate) fn publish_consumed(&self, consumed: u64) {
        debug_assert!(consumed >= self.consumed.load(Ordering::Relaxed));
        debug_assert!(consumed <= self.next.load(Ordering::Relaxed));
        // Release: see `has_room`.
        self.consumed.store(consumed, Ordering::Release);
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_as_written_lap_after_lap() {
        let ring = Ring::new(4, 0);
        let mut out = Vec::new();
        for position in 0..20u64 {
            assert_eq!(ring.reserve(), position);
            assert!(ring.has_room(position));
            let payload: Vec<u8> = (0..position as u8 * 5).collect();
            ring.write(position, 7, &payload);
            out.clear();
            assert_eq!(ring.read(position, &mut out), Some(7));
            assert_eq!(out, payload);
            // The next lap's position reads as not written yet.
            assert_eq!(ring.read(position + 4, &mut out), None);
            ring.publish_consumed(position + 1);
        }
    }

    #[test]
    fn a_slot_has_no_room_until_its_previous_occupant_is_consumed() {
        let ring = Ring::new(2, 0);
        for position in 0..3 {
            assert_eq!(ring.reserve(), position);
        }
        assert!(ring.has_room(0) && ring.has_room(1));
        assert!(!ring.has_room(2));
        ring.write(0, 1, &[]);
        ring.publish_consumed(1);
        assert!(ring.has_room(2));
    }

    #[test]
    fn a_ring_starting_mid_lap_reads_no_stale_stamp() {
        for first in [0u64, 1, 3, 4, 5, 1 << 40] {
            let ring = Ring::new(4, first);
            let mut out = Vec::new();
            for position in first..first + 8 {
                assert_eq!(ring.read(position, &mut out), None, "first {first}, position {position}");
            }
        }
    }

    #[test]
    fn the_largest_payload_fits_and_one_more_byte_does_not() {
        let ring = Ring::new(2, 0);
        let payload = [0xab; SLOT_PAYLOAD_MAX];
        ring.write(ring.reserve(), 9, &payload);
        let mut out = Vec::new();
        assert_eq!(ring.read(0, &mut out), Some(9));
        assert_eq!(out, payload);
        let result = std::panic::catch_unwind(|| ring.write(1, 9, &[0; SLOT_PAYLOAD_MAX + 1]));
        assert!(result.is_err());
    }
}
