//! The word's encoding, the headroom proof and the snapshot save slot.

use super::*;
use crate::journal::{unlogged, NoLog};
use proptest::prelude::*;

proptest! {
    #[test]
    fn encode_decode_round_trips(
        status in 0..=STATUS_CLOSED,
        snap in prop_oneof![Just(0), Just(SNAP_BIT)],
        in_flight in 0..=u64::from(IN_FLIGHT_MAX),
        holds in 0..=u64::from(HOLDS_OPEN_MAX),
        balance in -BALANCE_REPR_MAX - 1..=BALANCE_REPR_MAX,
    ) {
        let state = State { status, in_flight, holds, balance };
        let word = state.encode(snap);
        prop_assert_eq!(State::decode(word), state);
        prop_assert_eq!(word & SNAP_BIT, snap);
    }
}

#[test]
fn extreme_balances_round_trip() {
    for balance in [0, 1, -1, BALANCE_MAX, FLOOR_MIN, BALANCE_REPR_MAX, -BALANCE_REPR_MAX - 1] {
        let state = State { status: STATUS_FROZEN, in_flight: 31, holds: 63, balance };
        assert_eq!(State::decode(state.encode(SNAP_BIT)), state);
    }
}

#[test]
fn headroom_holds_every_pending_return() {
    let epoch = Epoch::new();
    let cell = AccountCell::new(AccountId(1), AccountOptions::default(), 0);
    cell.credit(&epoch, NoLog, AMOUNT_MAX).unwrap();
    for _ in 0..IN_FLIGHT_MAX {
        cell.pinned_debit(&epoch, (NoLog, unlogged), AMOUNT_MAX, true).unwrap();
        cell.credit(&epoch, NoLog, AMOUNT_MAX).unwrap();
    }
    assert_eq!(cell.pinned_debit(&epoch, (NoLog, unlogged), 1, true), Err(DebitStep::Saturated));
    for _ in 0..HOLDS_OPEN_MAX {
        cell.begin_hold(&epoch, (NoLog, unlogged), AMOUNT_MAX).unwrap();
        cell.credit(&epoch, NoLog, AMOUNT_MAX).unwrap();
    }
    assert!(matches!(cell.begin_hold(&epoch, (NoLog, unlogged), 1), Err(Rejection::TooManyHolds { .. })));
    for _ in 0..IN_FLIGHT_MAX {
        cell.unpin(&epoch, (NoLog, unlogged), AMOUNT_MAX);
    }
    for _ in 0..HOLDS_OPEN_MAX {
        cell.release_held(&epoch, AMOUNT_MAX);
        cell.end_hold(&epoch, (NoLog, unlogged), AMOUNT_MAX);
    }
    let state = cell.load_quiescent();
    assert_eq!((state.in_flight, state.holds, cell.held()), (0, 0, 0));
    assert_eq!(state.balance, BALANCE_MAX * (PINS_MAX + 1));
    assert!(state.balance <= BALANCE_REPR_MAX);
}

#[test]
fn an_operation_saves_the_value_a_snapshot_began_with() {
    let epoch = Epoch::new();
    let cell = AccountCell::new(AccountId(1), AccountOptions::default(), epoch.load());
    cell.credit(&epoch, NoLog, 7).unwrap();
    let next = epoch.advance();
    let before = cell.word.load(Ordering::Relaxed);
    cell.debit(&epoch, NoLog, 2).unwrap(); // saves 7 first
    cell.debit(&epoch, NoLog, 1).unwrap(); // already saved
    assert_eq!(cell.saved.load(Ordering::Relaxed), next << 2 | SAVE_DONE);
    let after = cell.word.load(Ordering::Relaxed);
    assert_eq!(after & SNAP_BIT, before & SNAP_BIT, "operations never flip");
    let captured = cell.collect(next).expect("born before the epoch");
    assert_eq!((captured.state.balance, captured.held), (7, 0));
    assert_ne!(cell.word.load(Ordering::Relaxed) & SNAP_BIT, before & SNAP_BIT, "the snapshot flipped");
    assert_eq!(cell.load_quiescent().balance, 4);
    // Untouched in the next epoch: the snapshot seals and takes the word itself.
    let third = epoch.advance();
    assert_eq!(cell.collect(third).map(|captured| captured.state.balance), Some(4));
    assert_eq!(cell.saved.load(Ordering::Relaxed), third << 2 | SAVE_SEALED);
    assert_eq!(cell.collect(third + 1).map(|captured| captured.state.balance), Some(4));
}
