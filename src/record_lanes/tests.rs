//! The lanes against a model, and their eviction, search and placement.

use std::collections::BTreeMap;

use std::collections::VecDeque;

use super::*;
use crate::id_lanes::{gallop_from_back, LANES_MAX};
use crate::{AccountId, Rejection, TransferId};

fn record(n: u128) -> Record {
    // Fields that vary with the id, within their ranges.
    let slot = (n % (1 << 29)) as u32;
    Record {
        from: Slot(slot),
        to: Slot(slot + 1),
        amount: (n % crate::AMOUNT_MAX as u128) as u64 + 1,
        link: Link::Single,
        outcome: Outcome::Applied,
    }
}

fn rejected(n: u128) -> Record {
    let reason = Rejection::InsufficientFunds { account: AccountId(n), available: 3, requested: 5 };
    Record { outcome: Outcome::Rejected(reason), ..record(n) }
}

fn leg(n: u128) -> Record {
    Record { link: Link::Leg { first: TransferId(n), legs: 2, index: 1 }, ..record(n) }
}

/// Against a model (every record ever inserted): each remembered id
/// answers its record; each forgotten one is ≤ the mark and was among the
/// smallest; the bound holds. Ids come in order, a little late, far
/// late, far ahead and at random.
#[test]
fn agrees_with_a_model_through_growth_eviction_and_wrapping() {
    for records_max in [1usize, 2, 7, 64, 100, 1000] {
        let mut ring = RecordLanes::new(records_max);
        let mut model: BTreeMap<u128, Record> = BTreeMap::new();
        let mut state = 0x2545_f491_u64;
        for step in 0..6000u128 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let id = match state % 16 {
                0 => 1 + u128::from(state % 3000),
                1 => 1 << 100 | step,
                2 => u128::from(state) << 40,
                3..=5 => 1000 + step.saturating_sub(u128::from(state % 40)),
                _ => 1000 + step,
            };
            if model.contains_key(&id) || id <= ring.low_water {
                assert!(ring.get(id).is_none() || model.get(&id) == ring.get(id).as_ref());
                continue;
            }
            assert_eq!(ring.get(id), None);
            let fields = match state % 7 {
                0 => rejected(id),
                1 => leg(id),
                _ => record(id),
            };
            ring.make_room(1);
            let forgotten: Vec<u128> = model.keys().copied().filter(|&id| ring.get(id).is_none()).collect();
            let smallest: Vec<u128> = model.keys().copied().take(forgotten.len()).collect();
            assert_eq!(forgotten, smallest, "the smallest go first");
            for id in forgotten {
                assert!(id <= ring.low_water, "{id} forgotten above the mark {}", ring.low_water);
                model.remove(&id);
            }
            ring.insert(id, fields);
            model.insert(id, fields);
            assert_eq!(model.len(), ring.len());
            assert!(ring.len() <= records_max);
            if step % 97 == 0 {
                ring.check();
            }
        }
        ring.check();
        for (&id, fields) in &model {
            assert_eq!(ring.get(id), Some(*fields));
        }
        if records_max >= 64 {
            let spilled: Vec<&(Link, Outcome)> = ring.spilled.values().collect();
            assert!(spilled.iter().any(|(_, outcome)| matches!(outcome, Outcome::Rejected(_))), "rejections");
            assert!(spilled.iter().any(|(link, _)| matches!(link, Link::Leg { .. })), "legs");
        }
    }
}

#[test]
fn ordered_and_slightly_late_ids_stay_in_the_ring() {
    let mut ring = RecordLanes::new(10_000);
    for id in 1..=5000u128 {
        // Pairs swapped: each even id arrives just before its odd predecessor.
        let id = if id % 2 == 0 { id - 1 } else { id + 1 };
        ring.make_room(1);
        ring.insert(id, record(id));
    }
    assert_eq!((ring.len(), ring.entries.overflow_len()), (5000, 0));
    assert!((1..=5000u128).all(|id| ring.get(id) == Some(record(id))));
    ring.check();
    // Three clients, one 300 ids behind and one 5 000 behind: each keeps
    // appending to its own lane, and every id is found.
    let mut streams = RecordLanes::new(100_000);
    for step in 10_000..20_000u128 {
        for (client, lag) in [(0u128, 0u128), (1, 300), (2, 5000)] {
            let id = (step - lag) * 4 + client;
            streams.make_room(1);
            streams.insert(id, record(id));
        }
    }
    assert_eq!((streams.entries.lane_count(), streams.entries.overflow_len()), (3, 0));
    assert!((10_000..20_000u128).all(|step| streams.get((step - 300) * 4 + 1).is_some()));
    streams.check();
    // More streams than lanes: the overflow takes the rest.
    let mut many = RecordLanes::new(100_000);
    for step in 1..=100u128 {
        for client in 0..(LANES_MAX as u128 + 2) {
            let id = (1000 - client * 90) * 1000 + step;
            many.insert(id, record(id));
        }
    }
    assert_eq!(many.entries.lane_count(), LANES_MAX);
    assert!(many.entries.overflow_len() > 0);
    many.check();
}

/// Eight long lanes and an overflow, evicted together: exactly the
/// smallest ids go, from whichever holds them, and the mark covers them.
#[test]
fn overflow_and_lanes_evict_together_smallest_first() {
    let mut lanes = RecordLanes::new(729);
    // Streams 7 down to 0, 70 ids each, 1 000 apart: each stream starts
    // below every tail, so each gets a lane.
    let stream_id = |stream: u128, step: u128| stream * 1_000_000 + step * 1000;
    for stream in (0..8u128).rev() {
        for step in 1..=70 {
            lanes.insert(stream_id(stream, step), record(stream));
        }
    }
    // Below everything, and between stream 0's second and third ids: far
    // back from every tail, so no lane takes them and the overflow does.
    for id in (1..=129u128).chain(2001..=2020) {
        lanes.insert(id, record(id));
    }
    assert_eq!((lanes.entries.lane_count(), lanes.entries.overflow_len(), lanes.len()), (8, 149, 709));
    // Exactly full: nothing is evicted yet.
    for id in 9_000_001..=9_000_020u128 {
        lanes.make_room(1);
        lanes.insert(id, record(id));
    }
    assert_eq!((lanes.len(), lanes.low_water), (729, 0));
    let mut remembered: Vec<u128> = (0..8u128)
        .flat_map(|stream| (1..=70).map(move |step| stream_id(stream, step)))
        .chain((1..=129).chain(2001..=2020))
        .chain(9_000_001..=9_000_020)
        .collect();
    remembered.sort_unstable();
    for id in 9_000_021..=9_000_300u128 {
        lanes.make_room(1);
        // Batches of 65. The first comes from the overflow alone, so the
        // mark is what the overflow gave up; the second ends on the lanes'
        // 1 000, which must go before the overflow's 2 001.
        if id == 9_000_021 {
            assert_eq!((lanes.entries.overflow_len(), lanes.low_water), (84, 65));
        }
        if id == 9_000_086 {
            assert_eq!((lanes.entries.overflow_len(), lanes.low_water), (20, 1000));
        }
        lanes.insert(id, record(id));
        remembered.push(id);
        let forgotten = remembered.iter().take_while(|&&kept| lanes.get(kept).is_none()).count();
        assert!(remembered[forgotten..].iter().all(|&kept| lanes.get(kept).is_some()), "smallest first");
        assert_eq!(lanes.low_water, if forgotten == 0 { 0 } else { remembered[forgotten - 1] });
        lanes.check();
    }
    assert!((lanes.entries.overflow_len() == 0), "the overflow's ids were among the smallest");
    assert!((2001..=2020u128).all(|id| lanes.get(id).is_none() && id <= lanes.low_water));
    assert!(lanes.get(stream_id(7, 70)).is_some(), "the largest ids stay");
}

#[test]
fn galloping_finds_every_id_and_no_other() {
    for len in [1usize, 2, 3, 5, 8, 64, 100, 1000] {
        let lane: VecDeque<Entry> = (1..=len as u128)
            .map(|n| Entry { id: 10 * n, from: Slot(0), to: Slot(0), amount_spilled: 0 })
            .collect();
        for n in 1..=len as u128 {
            assert_eq!(gallop_from_back(&lane, 10 * n), Some(n as usize - 1), "len {len}");
            assert_eq!(gallop_from_back(&lane, 10 * n + 5), None);
        }
        assert_eq!(gallop_from_back(&lane, 5), None);
    }
}

#[test]
fn evicts_the_smallest_and_keeps_far_future_ids() {
    let mut ring = RecordLanes::new(1024);
    let future = 1u128 << 120;
    ring.insert(future, record(future));
    for id in 2..=1024u128 {
        ring.insert(id, record(id));
    }
    ring.make_room(1);
    ring.insert(2000, record(2000));
    // One more than needed and 64 of slack went, at once: ids 2 to 66.
    assert_eq!((ring.low_water, ring.len()), (66, 960));
    assert!(ring.get(future).is_some(), "a far-future id does not drag the mark up");
    ring.check();
}

#[test]
fn batches_make_room_for_several_records_at_once() {
    let mut ring = RecordLanes::new(16);
    for id in 1..=16u128 {
        ring.insert(id, if id % 2 == 0 { leg(id) } else { record(id) });
    }
    ring.make_room(5);
    // 16 / 8 = 2 more than needed go at once.
    assert_eq!((ring.len(), ring.low_water), (9, 7));
    for id in 100..105u128 {
        ring.insert(id, leg(id));
    }
    ring.check();
    assert_eq!(ring.get(104), Some(leg(104)));
    // A batch as large as the bound: everything else goes, and the bound holds.
    let mut small = RecordLanes::new(4);
    for id in 1..=4u128 {
        small.insert(id, record(id));
    }
    small.make_room(4);
    assert_eq!((small.len(), small.low_water), (0, 4));
    for id in 10..14u128 {
        small.insert(id, leg(id));
    }
    assert_eq!(small.len(), 4);
    small.make_room(1);
    assert_eq!((small.len(), small.low_water), (3, 10), "4 / 8 = 0: no slack");
    small.check();
}

#[test]
#[should_panic(expected = "cannot fit")]
fn a_batch_larger_than_the_bound_is_never_made_room_for() {
    RecordLanes::new(4).make_room(5);
}
