//! The hold lanes against a model: open holds are never forgotten, resolved
//! ones are forgotten only under the mark, the bound holds.

use std::collections::BTreeMap;

use super::*;
use crate::AccountId;

fn open(n: u128) -> HoldRecord {
    // Fields that vary with the id, within their ranges.
    let slot = (n % (1 << 29)) as u32;
    HoldRecord {
        id: HoldId(n),
        from: Slot(slot),
        to: Slot(slot + 1),
        amount: (n % crate::AMOUNT_MAX as u128) as u64 + 1,
        expires_at_ms: (n as u64).wrapping_mul(7),
        state: HoldState::Open,
        charged: None,
    }
}

fn refused(n: u128) -> HoldRecord {
    let reason = Rejection::InsufficientFunds { account: AccountId(n), available: 3, requested: 5 };
    HoldRecord { state: HoldState::Rejected(reason), ..open(n) }
}

fn charged(n: u128) -> HoldRecord {
    HoldRecord { charged: Some(CredentialId(n + 1)), ..open(n) }
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Against a model (every hold remembered, with its state): each remembered
/// id answers its record; a forgotten one was resolved and is ≤ the mark;
/// room is refused only when every remembered hold is open. Ids come in
/// order, a little late, far ahead and at random; holds are resolved in
/// random order, in the lanes and aside.
#[test]
fn agrees_with_a_model_through_eviction_and_holds_moved_aside() {
    for holds_max in [1usize, 2, 7, 64, 100, 1000] {
        let mut lanes = HoldLanes::new(holds_max);
        let mut model: BTreeMap<u128, HoldRecord> = BTreeMap::new();
        let mut state = 0x2545_f491_u64 ^ holds_max as u64;
        for step in 0..6000u128 {
            let roll = xorshift(&mut state);
            if roll.is_multiple_of(3) {
                // Resolve a remembered open hold, as post, void or expiry do.
                let open_ids: Vec<u128> =
                    model.iter().filter(|(_, record)| record.state.is_open()).map(|(&id, _)| id).collect();
                if let Some(&id) = open_ids.get((roll / 3) as usize % open_ids.len().max(1)) {
                    let resolved = match roll % 9 {
                        0 => HoldState::Posted { amount: 1 },
                        3 => HoldState::Voided,
                        _ => HoldState::Expired,
                    };
                    lanes.resolve(HoldId(id), resolved);
                    model.get_mut(&id).unwrap().state = resolved;
                }
                continue;
            }
            let id = match roll % 16 {
                0 => 1 + u128::from(roll % 3000),
                1 => 1 << 100 | step,
                2 => u128::from(roll) << 40,
                3..=5 => 1000 + step.saturating_sub(u128::from(roll % 40)),
                _ => 1000 + step,
            };
            if model.contains_key(&id) || id <= lanes.low_water {
                assert!(lanes.get(HoldId(id)).is_none() || model.get(&id) == lanes.get(HoldId(id)).as_ref());
                continue;
            }
            assert_eq!(lanes.get(HoldId(id)), None);
            let fields = match roll % 5 {
                0 => refused(id),
                1 => charged(id),
                _ => open(id),
            };
            let room = lanes.make_room();
            let forgotten: Vec<u128> =
                model.keys().copied().filter(|&id| lanes.get(HoldId(id)).is_none()).collect();
            for id in forgotten {
                assert!(!model[&id].state.is_open(), "open hold {id} forgotten");
                assert!(id <= lanes.low_water, "{id} forgotten above the mark {}", lanes.low_water);
                model.remove(&id);
            }
            assert_eq!(model.len(), lanes.len());
            if !room {
                assert_eq!(model.len(), holds_max, "room refused below the bound");
                assert!(
                    model.values().all(|record| record.state.is_open()),
                    "room refused with holds to forget"
                );
                continue;
            }
            lanes.insert(fields);
            model.insert(id, fields);
            assert!(lanes.len() <= holds_max);
            if step % 97 == 0 {
                lanes.check();
            }
        }
        lanes.check();
        for (&id, record) in &model {
            assert_eq!(lanes.get(HoldId(id)), Some(*record));
        }
    }
}

#[test]
fn open_holds_are_moved_aside_and_forgotten_once_resolved() {
    let mut lanes = HoldLanes::new(16);
    for id in 1..=16u128 {
        let record = if id <= 4 { open(id) } else { refused(id) };
        lanes.insert(record);
    }
    for id in 5..=16u128 {
        assert!(lanes.get(HoldId(id)).is_some());
    }
    assert!(lanes.make_room());
    // 16 / 8 = 2 of slack: the four open holds went aside, ids 5 to 7 were forgotten.
    assert_eq!((lanes.len(), lanes.low_water, lanes.aside.len()), (13, 7, 4));
    assert!((5..=7u128).all(|id| lanes.get(HoldId(id)).is_none()));
    assert_eq!(lanes.get(HoldId(2)), Some(open(2)), "an open hold under the mark is found aside");
    lanes.check();
    lanes.resolve(HoldId(2), HoldState::Voided);
    assert_eq!(
        lanes.get(HoldId(2)).map(|record| record.state),
        Some(HoldState::Voided),
        "remembered until then"
    );
    for id in 100..103u128 {
        lanes.insert(open(id));
    }
    assert_eq!(lanes.len(), 16, "full again");
    assert!(lanes.make_room());
    assert_eq!(lanes.get(HoldId(2)), None, "an aside hold, once resolved, is forgotten at the next eviction");
    assert_eq!(lanes.get(HoldId(3)), Some(open(3)));
    lanes.check();
}

#[test]
fn a_shard_of_open_holds_has_no_room_until_one_is_resolved() {
    let mut lanes = HoldLanes::new(4);
    for id in 1..=4u128 {
        assert!(lanes.make_room());
        lanes.insert(charged(id));
    }
    assert!(!lanes.make_room(), "every hold open: nothing to forget");
    assert!(!lanes.make_room(), "and again, with every hold aside");
    assert_eq!(lanes.len(), 4);
    assert!((1..=4u128).all(|id| lanes.get(HoldId(id)) == Some(charged(id))));
    lanes.resolve(HoldId(3), HoldState::Posted { amount: 2 });
    assert!(lanes.make_room());
    assert_eq!(lanes.get(HoldId(3)), None);
    lanes.insert(open(9));
    lanes.check();
    assert!(lanes.spilled.len() == 3, "the forgotten hold's credential went with it");
}

#[test]
fn states_round_trip_through_the_packed_word() {
    let mut lanes = HoldLanes::new(8);
    let big = HoldRecord { amount: crate::AMOUNT_MAX, ..open(1) };
    lanes.insert(big);
    for state in [HoldState::Posted { amount: crate::AMOUNT_MAX }, HoldState::Voided, HoldState::Expired] {
        let mut entry = *lanes.entries.get(1).unwrap();
        entry.set_state(state);
        assert_eq!(super::record_of(&lanes.spilled, &entry), HoldRecord { state, ..big });
    }
    lanes.insert(refused(2));
    lanes.insert(charged(3));
    let posted = HoldRecord { state: HoldState::Posted { amount: 7 }, ..charged(4) };
    lanes.insert(posted);
    assert_eq!(lanes.get(HoldId(4)), Some(posted), "restored in any state");
    assert_eq!(lanes.get(HoldId(2)), Some(refused(2)));
    assert_eq!(lanes.get(HoldId(3)), Some(charged(3)));
}

#[test]
fn update_resolves_in_the_lanes_and_aside_and_reports_an_unknown_hold() {
    let mut lanes = HoldLanes::new(4);
    for id in 1..=4 {
        assert!(lanes.make_room());
        lanes.insert(open(id));
    }
    // Full of open holds: room only by moving the smallest aside.
    assert!(!lanes.make_room());
    let posted = HoldState::Posted { amount: 1 };
    assert_eq!(lanes.update(HoldId(4), |record| (record.state, Some(posted))), Some(HoldState::Open));
    assert_eq!(lanes.get(HoldId(4)).map(|record| record.state), Some(posted));
    assert!(lanes.make_room(), "a resolved hold can be forgotten");
    // Hold 1 was moved aside (below the mark), and is still found there.
    assert!(lanes.low_water >= 1 && lanes.aside.contains_key(&1), "mark {}", lanes.low_water);
    let voided = lanes.update(HoldId(1), |record| (record.id, Some(HoldState::Voided)));
    assert_eq!(voided, Some(HoldId(1)));
    assert_eq!(lanes.get(HoldId(1)).map(|record| record.state), Some(HoldState::Voided));
    assert_eq!(lanes.resolved_aside, vec![1], "forgotten at the next eviction");
    // A read changes nothing; an unknown id runs nothing.
    assert_eq!(
        lanes.update(HoldId(2), |record| (record.amount, None)),
        lanes.get(HoldId(2)).map(|r| r.amount)
    );
    assert_eq!(lanes.update(HoldId(99), |_| -> (u8, _) { unreachable!("no record") }), None);
    lanes.check();
}
