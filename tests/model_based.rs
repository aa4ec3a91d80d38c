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
