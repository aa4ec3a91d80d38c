//! Model-based property tests: random sequences of every public operation,
//! valid and invalid, run on the real `Ledger` and on the sequential model in
//! `support/model.rs`. After every step the outcomes and the whole state must
//! be equal. Failures shrink to a minimal sequence.
//!
//! Cases: `PROPTEST_CASES` (default 1000; CI runs 4000).

mod support;

use proptest::prelude::*;
use support::differential::{check_ops, StateChecks};
use support::model::{
    AccountRef, Amount, Batch, BucketRef, CredentialKind, CredentialRef, Expiry, FloorKind, HoldRef, LegSpec,
    Op, PolicyKind, ShapeRef, Tag, TransferRef, Units,
};

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

fn hold_id() -> impl Strategy<Value = HoldRef> {
    prop_oneof![12 => (1u8..=6).prop_map(HoldRef), 1 => prop_oneof![Just(HoldRef(0)), Just(HoldRef(7))]]
}

fn leg() -> impl Strategy<Value = LegSpec> {
    (transfer_id(), account(), account(), amount())
        .prop_map(|(id, from, to, amount)| LegSpec(id, from, to, amount))
}

fn batch() -> impl Strategy<Value = Batch> {
    ([leg(), leg(), leg()], any::<u8>()).prop_map(|(legs, len)| Batch(legs, len))
}

fn floor() -> impl Strategy<Value = FloorKind> {
    prop_oneof![Just(FloorKind::Zero), amount().prop_map(FloorKind::Overdraft), Just(FloorKind::Unbounded)]
}

fn credential() -> impl Strategy<Value = CredentialRef> {
    prop_oneof![12 => (1u8..=3).prop_map(CredentialRef), 1 => prop_oneof![Just(CredentialRef(0)), Just(CredentialRef(4))]]
}

fn credential_kind() -> impl Strategy<Value = CredentialKind> {
    // Mostly for account 1 with the debit and hold scopes; any scopes and limits.
    let scopes = prop_oneof![3 => Just(0b11u8), 1 => any::<u8>()];
    (prop_oneof![3 => Just(AccountRef(1)), 1 => account()], scopes, any::<u8>())
        .prop_map(|(account, scopes, limits)| CredentialKind(account, scopes, limits))
}

fn bucket() -> impl Strategy<Value = BucketRef> {
    prop_oneof![12 => (1u8..=2).prop_map(BucketRef), 1 => prop_oneof![Just(BucketRef(0)), Just(BucketRef(3))]]
}

fn credential_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (credential(), credential_kind()).prop_map(|(id, kind)| Op::IssueCredential(id, kind)),
        4 => (credential(), amount()).prop_map(|(id, amount)| Op::DebitAs(id, amount, Tag(0))),
        2 => (credential(), hold_id(), account(), amount(), any::<u8>())
            .prop_map(|(id, hold, to, amount, expiry)| Op::HoldAs(id, hold, to, amount, Expiry(expiry))),
        3 => (credential(), transfer_id(), prop_oneof![3 => Just(AccountRef(1)), 1 => account()], account(), amount())
            .prop_map(|(key, id, from, to, amount)| Op::TransferAs(key, id, from, to, amount)),
        1 => credential().prop_map(Op::Revoke),
        1 => credential().prop_map(Op::CredentialInfo),
        2 => (bucket(), any::<u8>()).prop_map(|(id, policy)| Op::OpenBucket(id, PolicyKind(policy))),
        3 => (bucket(), any::<u8>()).prop_map(|(id, units)| Op::Take(id, Units(units))),
        1 => (bucket(), any::<u8>()).prop_map(|(id, units)| Op::Refund(id, Units(units))),
        1 => bucket().prop_map(Op::BucketInfo),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (account(), floor(), any::<u8>()).prop_map(|(account, floor, asset)| Op::Open(account, floor, ShapeRef(asset))),
        4 => (account(), amount()).prop_map(|(account, amount)| Op::Credit(account, amount)),
        3 => (account(), amount()).prop_map(|(account, amount)| Op::Debit(account, amount)),
        1 => (account(), amount()).prop_map(|(account, amount)| Op::DebitByHandle(account, amount)),
        1 => account().prop_map(Op::Freeze),
        1 => account().prop_map(Op::Unfreeze),
        1 => account().prop_map(Op::Close),
        6 => (transfer_id(), account(), account(), amount())
            .prop_map(|(id, from, to, amount)| Op::Transfer(id, from, to, amount)),
        1 => account().prop_map(Op::Read),
        3 => batch().prop_map(Op::Linked),
        4 => (hold_id(), account(), account(), amount(), any::<u8>())
            .prop_map(|(id, from, to, amount, expiry)| Op::Hold(id, from, to, amount, Expiry(expiry))),
        2 => (hold_id(), amount()).prop_map(|(id, amount)| Op::Post(id, amount)),
        2 => hold_id().prop_map(Op::Void),
        1 => hold_id().prop_map(Op::HoldInfo),
        1 => Just(Op::ExpireDue),
        2 => Just(Op::Tick),
        1 => Just(Op::Snapshot),
        12 => credential_op(),
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

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(1000) / 4,
        max_shrink_iters: 10_000,
        ..ProptestConfig::default()
    })]

    /// A durable ledger, reopened from its journal every few operations,
    /// still equals the model at every step.
    #[test]
    fn a_durable_ledger_matches_the_model_across_restarts(
        ops in prop::collection::vec(op(), 1..60),
        restart_every in 1usize..8,
    ) {
        support::differential::check_ops_restarting(&ops, restart_every);
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
        Op::Open(a, Zero, ShapeRef(0)),
        Op::Open(a, Zero, ShapeRef(0)),
        Op::Open(a, Unbounded, ShapeRef(0)),
        Op::Open(b, Overdraft(small(10)), ShapeRef(0)),
        Op::Open(c, Overdraft(Amount(2, 0)), ShapeRef(0)),
        Op::Open(AccountRef(0), Zero, ShapeRef(0)),
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
        Op::Open(AccountRef(3), Unbounded, ShapeRef(0)),
        Op::Open(AccountRef(4), Zero, ShapeRef(0)),
        Op::Open(AccountRef(5), Zero, ShapeRef(0)),
        Op::Read(AccountRef(5)),
        Op::Transfer(TransferRef(4), AccountRef(3), AccountRef(4), Amount(1, 0)),
        Op::Transfer(TransferRef(5), AccountRef(3), AccountRef(4), small(1)),
    ]);
}

/// Holds, linked batches and snapshots through their outcomes and errors.
#[test]
fn a_scripted_hold_and_batch_sequence_matches() {
    use FloorKind::*;
    let (a, b, c) = (AccountRef(1), AccountRef(2), AccountRef(3));
    let small = |n: u16| Amount(5, n - 1);
    let (h1, h2, h3) = (HoldRef(1), HoldRef(2), HoldRef(3));
    let later = Expiry(3); // 30 ms
    let leg = |id, from, to, amount| LegSpec(TransferRef(id), from, to, amount);
    check_sequence(&[
        Op::Open(a, Zero, ShapeRef(0)),
        Op::Open(b, Zero, ShapeRef(0)),
        Op::Open(c, Overdraft(small(5)), ShapeRef(0)),
        Op::Credit(a, small(100)),
        Op::Hold(h1, a, b, small(60), later),
        Op::Hold(h1, a, b, small(60), later),     // repeat
        Op::Hold(h1, a, b, small(61), later),     // conflict
        Op::Hold(h2, a, b, small(41), later),     // insufficient: recorded
        Op::Hold(h2, a, b, small(41), later),     // its repeat
        Op::Hold(h3, a, b, small(10), Expiry(0)), // expiry in the past
        Op::Hold(h3, a, a, small(10), later),     // same account
        Op::Hold(h3, a, b, Amount(0, 0), later),  // zero
        Op::Post(h1, small(61)),                  // above the hold
        Op::Post(HoldRef(4), small(1)),           // unknown
        Op::Close(a),
        Op::Snapshot,
        Op::Post(h1, small(25)),
        Op::Void(h1), // after resolution
        Op::HoldInfo(h1),
        Op::Hold(h3, a, c, small(5), later),
        Op::Tick,
        Op::Tick,
        Op::Tick,     // now 30: due
        Op::Void(h3), // expires instead
        Op::Hold(HoldRef(5), a, c, small(5), Expiry(5)),
        Op::Tick,
        Op::Tick,
        Op::ExpireDue,
        Op::Snapshot,
        Op::Linked(Batch([leg(1, a, b, small(20)), leg(2, a, c, small(5)), leg(3, c, b, small(3))], 2)),
        Op::Linked(Batch([leg(1, a, b, small(20)), leg(2, a, c, small(5)), leg(3, c, b, small(3))], 2)),
        Op::Linked(Batch([leg(4, a, b, small(1)), leg(5, b, c, small(500)), leg(6, a, c, small(1))], 2)),
        Op::Linked(Batch([leg(4, a, b, small(1)), leg(4, b, c, small(1)), leg(6, a, c, small(1))], 1)),
        Op::Linked(Batch([leg(6, a, b, small(1)), leg(6, b, c, small(1)), leg(6, a, c, small(1))], 255)),
        Op::Transfer(TransferRef(1), a, b, small(20)), // a batch leg, alone: conflict
        Op::Read(a),
        Op::Snapshot,
    ]);
}

/// Credentials and quota buckets through their outcomes and errors: scopes,
/// caps, expiry, rate limits with refill and give-back, holds that reserve
/// and settle, revocation.
#[test]
fn a_scripted_credential_and_quota_sequence_matches() {
    use FloorKind::*;
    let (a, b) = (AccountRef(1), AccountRef(2));
    let small = |n: u16| Amount(5, n - 1);
    let (k1, k2, k3) = (CredentialRef(1), CredentialRef(2), CredentialRef(3));
    let (q1, q2) = (BucketRef(1), BucketRef(2));
    // Scopes debit + hold; limits: bit 0 per-op 3, bit 1 cap 6, bit 2 rate bucket 1, bit 3 expiry 20 ms.
    let kind = |limits: u8| CredentialKind(a, 0b11, limits);
    check_sequence(&[
        Op::Open(a, Zero, ShapeRef(0)),
        Op::Open(b, Zero, ShapeRef(0)),
        Op::Credit(a, small(20)),
        Op::IssueCredential(k1, kind(0b0110)), // rate limit before its bucket exists
        Op::OpenBucket(q1, PolicyKind(3)),     // refill above capacity
        Op::OpenBucket(q1, PolicyKind(0)),     // capacity 3, +1 per 10 ms
        Op::OpenBucket(q1, PolicyKind(1)),     // conflict
        Op::OpenBucket(q2, PolicyKind(0)),     // table full
        Op::OpenBucket(BucketRef(0), PolicyKind(0)),
        Op::IssueCredential(k1, kind(0b0110)),
        Op::IssueCredential(k1, kind(0b0111)), // conflict
        Op::IssueCredential(k2, CredentialKind(a, 0b10000, 0b1001)),
        Op::IssueCredential(k3, kind(0)), // table full
        Op::IssueCredential(CredentialRef(0), kind(0)),
        Op::DebitAs(k1, small(2), Tag(0)),
        Op::DebitAs(k1, small(2), Tag(0)), // rate-limited: 1 left
        Op::DebitAs(k1, Amount(0, 0), Tag(0)),
        Op::DebitAs(k1, Amount(3, 0), Tag(0)), // u64::MAX against the cap
        Op::DebitAs(k2, small(1), Tag(0)),     // scope missing
        Op::DebitAs(k3, small(1), Tag(0)),     // unknown
        Op::Tick,
        Op::Tick,
        Op::BucketInfo(q1),
        Op::Take(q1, Units(4)), // above capacity
        Op::Take(q1, Units(0)),
        Op::Take(q1, Units(3)),
        Op::Take(q1, Units(1)), // exhausted, with the time to the next unit
        Op::Refund(q1, Units(2)),
        Op::Tick,
        Op::CredentialInfo(k2),
        Op::DebitAs(k2, small(1), Tag(0)), // expired
        Op::HoldAs(k1, HoldRef(1), b, small(3), Expiry(9)),
        Op::HoldAs(k1, HoldRef(1), b, small(3), Expiry(9)), // a repeat is answered, and charged nothing
        Op::CredentialInfo(k1),
        Op::Post(HoldRef(1), small(1)), // two go back to the cap and the bucket
        Op::CredentialInfo(k1),
        Op::HoldAs(k1, HoldRef(2), b, small(2), Expiry(6)),
        Op::Tick,
        Op::Tick,
        Op::Tick,
        Op::ExpireDue, // both units back
        Op::BucketInfo(q1),
        Op::HoldAs(k1, HoldRef(3), b, small(30), Expiry(15)), // above the cap
        Op::TransferAs(k1, TransferRef(1), a, b, small(3)),
        Op::TransferAs(k1, TransferRef(1), a, b, small(3)), // the cap is full: still answered as a repeat
        Op::TransferAs(k1, TransferRef(2), a, b, small(1)), // a fresh id: refused by the cap
        Op::TransferAs(k1, TransferRef(3), b, a, small(1)), // not its account
        Op::Revoke(k1),
        Op::Revoke(k1),
        Op::TransferAs(k1, TransferRef(1), a, b, small(3)), // revoked: even a repeat is refused
        Op::DebitAs(k1, small(1), Tag(0)),
        Op::CredentialInfo(k1),
        Op::Read(a),
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
            ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() }).unwrap();
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

/// The holds' side of bounded id memory: with far more hold ids than the
/// table remembers, a hold is created at most once, an open hold is never
/// forgotten (eviction moves it aside: post and void still find it), and
/// memory stays bounded.
mod bounded_hold_memory {
    use std::collections::HashMap;

    use atomic_ledger::{
        AccountId, AccountOptions, Floor, HoldError, HoldId, HoldRequest, HoldState, Ledger,
    };
    use proptest::prelude::*;

    const HOLDS_MAX: usize = 8;

    #[derive(Debug, Clone, Copy)]
    enum Step {
        Hold(u128),
        Post(u128),
        Void(u128),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (1u128..=48).prop_map(Step::Hold),
            2 => (1u128..=48).prop_map(Step::Post),
            1 => (1u128..=48).prop_map(Step::Void),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(1000),
            ..ProptestConfig::default()
        })]

        #[test]
        fn a_hold_is_made_once_and_an_open_hold_is_never_forgotten(steps in prop::collection::vec(step(), 1..300)) {
            // One shard, so that "full" is a property of the whole table.
            let ledger = Ledger::builder().holds_max(HOLDS_MAX).transfer_id_shards(1).build().unwrap();
            let (from, to) = (AccountId(1), AccountId(2));
            ledger.open_account(from, AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() }).unwrap();
            ledger.open_account(to, AccountOptions::default()).unwrap();
            let mut open: HashMap<u128, bool> = HashMap::new(); // id → still open?
            let mut posted = 0i64;
            for step in steps {
                match step {
                    Step::Hold(id) => {
                        let request = HoldRequest { id: HoldId(id), from, to, amount: 1, expires_at_ms: HoldRequest::NEVER_EXPIRES };
                        match (ledger.hold(request), open.get(&id)) {
                            (Ok(receipt), Some(_)) => prop_assert!(receipt.repeat, "hold {} made twice", id),
                            (Ok(receipt), None) => {
                                prop_assert!(!receipt.repeat);
                                open.insert(id, true);
                            }
                            (Err(HoldError::IdExpired { low_water, .. }), seen) => {
                                prop_assert!(id <= low_water.0);
                                prop_assert!(seen != Some(&true), "open hold {} forgotten", id);
                            }
                            (Err(HoldError::TableFull { .. }), None) => {
                                prop_assert_eq!(ledger.holds_remembered(), HOLDS_MAX);
                                prop_assert_eq!(open.values().filter(|open| **open).count(), HOLDS_MAX, "full with holds to forget");
                            }
                            (other, seen) => prop_assert!(false, "hold {}: {:?} after {:?}", id, other, seen),
                        }
                    }
                    Step::Post(id) | Step::Void(id) => {
                        let outcome = match step {
                            Step::Post(_) => ledger.post(HoldId(id), 1).map(|_| ()),
                            _ => ledger.void(HoldId(id)).map(|_| ()),
                        };
                        match (outcome, open.get(&id)) {
                            (Ok(()), Some(true)) => {
                                open.insert(id, false);
                                posted += i64::from(matches!(step, Step::Post(_)));
                            }
                            (Err(HoldError::UnknownHold(_)), None | Some(false)) => {}
                            (Err(HoldError::AlreadyResolved { state, .. }), Some(false)) => {
                                prop_assert!(state != HoldState::Open);
                            }
                            (other, seen) => prop_assert!(false, "resolving {}: {:?} after {:?}", id, other, seen),
                        }
                    }
                }
                prop_assert!(ledger.holds_remembered() <= HOLDS_MAX);
            }
            let still_open = open.values().filter(|open| **open).count() as u64;
            prop_assert_eq!(ledger.account_info(from).map(|info| info.held), Ok(still_open));
            prop_assert_eq!(ledger.balance(to), Ok(posted));
            prop_assert!(ledger.audit().is_consistent());
        }
    }
}
