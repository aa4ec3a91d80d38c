//! Model-based property tests: random sequences of every public operation,
//! valid and invalid, run on the real `Ledger` and on the sequential model in
//! `support/model.rs`. After every step the outcomes and the whole state must
//! be equal. Failures shrink to a minimal sequence.
//!
//! Cases: `PROPTEST_CASES` (default 1000; CI runs 4000).

mod support;

use proptest::prelude::*;
use support::differential::{check_ops, StateChecks};
use support::model::{AccountRef, Amount, FloorKind, Op, TransferRef};

fn account() -> impl Strategy<Value = AccountRef> {
    // Mostly the five real ids (1..=5); reserved ids now and then.
    prop_oneof![8 => (1u8..=5).prop_map(AccountRef), 1 => prop_oneof![Just(AccountRef(0)), Just(AccountRef(6))]]
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![8 => (5u8..16, 0u16..300).prop_map(|(kind, raw)| Amount(kind, raw)), 1 => (0u8..5, any::<u16>()).prop_map(|(kind, raw)| Amount(kind, raw))]
}

fn transfer_id() -> impl Strategy<Value = TransferRef> {
    prop_oneof![12 => (1u8..=6).prop_map(TransferRef), 1 => prop_oneof![Just(TransferRef(0)), Just(TransferRef(7))]]
}

fn floor() -> impl Strategy<Value = FloorKind> {
    prop_oneof![Just(FloorKind::Zero), amount().prop_map(FloorKind::Overdraft), Just(FloorKind::Unbounded)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (account(), floor()).prop_map(|(account, floor)| Op::Open(account, floor)),
        4 => (account(), amount()).prop_map(|(account, amount)| Op::Credit(account, amount)),
        3 => (account(), amount()).prop_map(|(account, amount)| Op::Debit(account, amount)),
        1 => (account(), amount()).prop_map(|(account, amount)| Op::DebitByHandle(account, amount)),
        1 => account().prop_map(Op::Freeze),
        1 => account().prop_map(Op::Unfreeze),
        1 => account().prop_map(Op::Close),
        6 => (transfer_id(), account(), account(), amount())
            .prop_map(|(id, from, to, amount)| Op::Transfer(id, from, to, amount)),
        1 => account().prop_map(Op::Read),
    ]
}

fn check_sequence(ops: &[Op]) {
    check_ops(ops, StateChecks::EveryStep);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(1000),
        max_shrink_iters: 10_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn ledger_matches_the_sequential_model(ops in prop::collection::vec(op(), 1..60)) {
        check_sequence(&ops);
    }
}

/// A fixed sequence through every kind of operation and error, so that the
/// harness itself is known to reach them.
#[test]
fn a_scripted_sequence_matches() {
    use FloorKind::*;
    let (a, b, c) = (AccountRef(1), AccountRef(2), AccountRef(3));
    let small = |n: u16| Amount(5, n - 1);
    check_sequence(&[
        Op::Open(a, Zero),
        Op::Open(a, Zero),
        Op::Open(a, Unbounded),
        Op::Open(b, Overdraft(small(10))),
        Op::Open(c, Overdraft(Amount(2, 0))),
        Op::Open(AccountRef(0), Zero),
        Op::Credit(a, small(100)),
        Op::Credit(a, Amount(3, 0)),
        Op::Debit(a, Amount(0, 0)),
        Op::Transfer(TransferRef(1), a, b, small(30)),
        Op::Transfer(TransferRef(1), a, b, small(30)),
        Op::Transfer(TransferRef(1), a, b, small(31)),
        Op::Transfer(TransferRef(2), b, a, small(45)),
        Op::Transfer(TransferRef(2), b, a, small(45)),
        Op::Freeze(a),
        Op::DebitByHandle(a, small(1)),
        Op::Close(b),
        Op::Unfreeze(a),
        Op::Debit(a, small(70)),
        Op::Close(a),
        Op::Credit(a, small(1)),
        Op::Transfer(TransferRef(3), b, a, small(1)),
        Op::Open(AccountRef(3), Unbounded),
        Op::Open(AccountRef(4), Zero),
        Op::Open(AccountRef(5), Zero),
        Op::Read(AccountRef(5)),
        Op::Transfer(TransferRef(4), AccountRef(3), AccountRef(4), Amount(1, 0)),
        Op::Transfer(TransferRef(5), AccountRef(3), AccountRef(4), small(1)),
    ]);
}

/// Eviction is outside the model (which ids go first depends on the table's
/// hash order), but its safety property is not: with far more distinct ids
/// than the table remembers, an id once decided is answered as a repeat or
/// refused as expired, never applied again, and memory stays bounded.
mod bounded_id_memory {
    use std::collections::HashMap;

    use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger, Transfer, TransferError, TransferId};
    use proptest::prelude::*;

    const REMEMBERED_MAX: usize = 16;

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(1000),
            ..ProptestConfig::default()
        })]

        #[test]
        fn a_decided_id_is_never_applied_again(ids in prop::collection::vec(1u128..=64, 1..200)) {
            let ledger = Ledger::builder().transfer_ids_max(REMEMBERED_MAX).transfer_id_shards(2).build().unwrap();
            ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Unbounded }).unwrap();
            ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
            let mut decided: HashMap<u128, bool> = HashMap::new(); // id → applied?
            for id in ids {
                let transfer = Transfer { id: TransferId(id), from: AccountId(1), to: AccountId(2), amount: 1 };
                match (ledger.transfer(transfer), decided.get(&id)) {
                    (Ok(receipt), Some(true)) => prop_assert!(receipt.repeat, "id {} applied twice", id),
                    (Ok(receipt), None) => {
                        prop_assert!(!receipt.repeat);
                        decided.insert(id, true);
                    }
                    (Err(TransferError::IdExpired { low_water, .. }), _) => prop_assert!(id <= low_water.0),
                    (other, seen) => prop_assert!(false, "id {}: {:?} after {:?}", id, other, seen),
                }
                prop_assert!(ledger.transfer_ids_remembered() <= REMEMBERED_MAX);
            }
            let applied = decided.values().filter(|applied| **applied).count() as i64;
            prop_assert_eq!(ledger.balance(AccountId(2)), Ok(applied));
            prop_assert!(ledger.audit().is_consistent());
        }
    }
}
