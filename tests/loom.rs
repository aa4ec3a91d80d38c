//! loom models of the lock-free core: every interleaving (up to the preemption
//! bound) of a few threads on a real `Ledger`, whose atomics and mutexes are
//! loom's under `--cfg atomic_ledger_loom`.
//!
//! Run: `RUSTFLAGS="--cfg atomic_ledger_loom" cargo test --release --test loom`
//! (`LOOM_MAX_PREEMPTIONS` overrides the default bound of 3).
#![cfg(atomic_ledger_loom)]

use atomic_ledger::{
    AccountError, AccountId, AccountOptions, AsError, BucketId, BucketPolicy, CredentialError, CredentialId,
    CredentialSpec, Floor, HoldError, HoldId, HoldRequest, HoldState, Ledger, LinkedError, ManualClock,
    Posted, Rejection, Scopes, Status, Transfer, TransferError, TransferId, BALANCE_MAX,
};
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);
const C: AccountId = AccountId(3);

fn model(body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = None;
    }
    builder.check(body);
}

/// A ledger small enough for loom: 4 accounts, 4 remembered ids, 2 id shards
/// (transfer ids 1 and 2 fall in different shards, so such transfers truly race).
fn ledger(accounts: &[(AccountId, Floor, u64)]) -> Arc<Ledger> {
    let ledger = Ledger::builder()
        .accounts_max(4)
        .transfer_ids_max(4)
        .holds_max(4)
        .credentials_max(2)
        .buckets_max(1)
        .transfer_id_shards(2)
        .clock(std::sync::Arc::new(ManualClock::new(0)))
        .build()
        .unwrap();
    for &(id, floor, balance) in accounts {
        ledger.open_account(id, AccountOptions { floor, ..AccountOptions::default() }).unwrap();
        if balance > 0 {
            ledger.credit(id, balance).unwrap();
        }
    }
    Arc::new(ledger)
}

/// Runs both racers on spawned threads (main only joins them): loom explores a
/// race between two spawned threads far more thoroughly than one between a
/// spawned thread and the thread that spawned it.
fn race<L, R>(left: impl FnOnce() -> L + Send + 'static, right: impl FnOnce() -> R + Send + 'static) -> (L, R)
where
    L: Send + 'static,
    R: Send + 'static,
{
    let left = thread::spawn(left);
    let right = thread::spawn(right);
    (left.join().unwrap(), right.join().unwrap())
}

fn transfer(id: u128, from: AccountId, to: AccountId, amount: u64) -> Transfer {
    Transfer { id: TransferId(id), from, to, amount }
}

#[test]
fn two_debits_race_for_the_last_funds() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Overdraft(1), 1)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (mine, theirs) = race(move || one.debit(A, 2), move || two.debit(A, 2));
        assert!(mine.is_ok() != theirs.is_ok(), "exactly one wins: {mine:?} {theirs:?}");
        let loser = if mine.is_ok() { theirs } else { mine };
        assert_eq!(
            loser,
            Err(AccountError::Rejected(Rejection::InsufficientFunds {
                account: A,
                available: 0,
                requested: 2
            }))
        );
        assert_eq!(ledger.balance(A), Ok(-1));
        assert!(ledger.audit().is_consistent());
    });
}

#[test]
fn debit_races_credit() {
    model(|| {
        // The debit can win only after the credit...
        let ledger = ledger(&[(A, Floor::Zero, 1)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (credit, debit) = race(move || one.credit(A, 1), move || two.debit(A, 2));
        assert_eq!(credit, Ok(2), "the debit fails unless the credit came first");
        assert_eq!(ledger.balance(A), Ok(if debit.is_ok() { 0 } else { 2 }));
        assert!(ledger.audit().is_consistent());
    });
    model(|| {
        // ...and when both always succeed, neither update may be lost.
        let ledger = ledger(&[(A, Floor::Zero, 2)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (credit, debit) = race(move || one.credit(A, 1), move || two.debit(A, 2));
        assert!(credit.is_ok() && debit.is_ok());
        assert_eq!(ledger.balance(A), Ok(1));
        assert!(ledger.audit().is_consistent());
    });
}

#[test]
fn opposite_transfers_conserve_and_never_overdraw() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 1), (B, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (forth, back) =
            race(move || one.transfer(transfer(1, A, B, 1)), move || two.transfer(transfer(2, B, A, 1)));
        assert!(forth.is_ok(), "A always holds 1 when A→B starts: {forth:?}");
        let (a, b) = (ledger.balance(A).unwrap(), ledger.balance(B).unwrap());
        assert_eq!(a + b, 1);
        assert_eq!((a, b), if back.is_ok() { (1, 0) } else { (0, 1) });
        assert!(ledger.audit().is_consistent());
    });
}

#[test]
fn same_transfer_id_from_two_threads_applies_once() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 1), (B, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (mine, theirs) =
            race(move || one.transfer(transfer(7, A, B, 1)), move || two.transfer(transfer(7, A, B, 1)));
        let (mine, theirs) = (mine.unwrap(), theirs.unwrap());
        assert!(mine.repeat != theirs.repeat, "one applies, one repeats: {mine:?} {theirs:?}");
        assert_eq!((ledger.balance(A), ledger.balance(B)), (Ok(0), Ok(1)));
        assert!(ledger.audit().is_consistent());
    });
}

#[test]
fn same_rejected_transfer_id_from_two_threads_is_decided_once() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 0), (B, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (mine, theirs) =
            race(move || one.transfer(transfer(7, A, B, 1)), move || two.transfer(transfer(7, A, B, 1)));
        let repeats: Vec<bool> = [mine, theirs]
            .iter()
            .map(|result| match result {
                Err(TransferError::Rejected { reason: Rejection::InsufficientFunds { .. }, repeat }) => {
                    *repeat
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert!(repeats[0] != repeats[1]);
    });
}

#[test]
fn a_debit_that_starts_after_freeze_returns_fails() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 2)]);
        let frozen = Arc::new(AtomicBool::new(false));
        let (one, two, flag) = (ledger.clone(), ledger.clone(), frozen.clone());
        let ((), (freeze_returned, debit)) = race(
            move || {
                one.freeze(A).unwrap();
                flag.store(true, Ordering::Release);
            },
            move || {
                let freeze_returned = frozen.load(Ordering::Acquire);
                (freeze_returned, two.debit(A, 1))
            },
        );
        if freeze_returned {
            assert_eq!(debit, Err(AccountError::Rejected(Rejection::AccountFrozen { account: A })));
        }
        let expected = if debit.is_ok() { 1 } else { 2 };
        assert_eq!(ledger.balance(A), Ok(expected));
        assert_eq!(ledger.status(A), Ok(Status::Frozen));
    });
}

#[test]
fn close_races_credit() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (close, credit) = race(move || one.close(A), move || two.credit(A, 1));
        match (close, credit) {
            (Ok(()), Err(AccountError::Rejected(Rejection::AccountClosed { .. }))) => {
                assert_eq!(ledger.balance(A), Ok(0));
                assert_eq!(ledger.status(A), Ok(Status::Closed));
            }
            (Err(AccountError::Rejected(Rejection::BalanceNotZero { balance: 1, .. })), Ok(1)) => {
                assert_eq!(ledger.status(A), Ok(Status::Open));
            }
            other => panic!("impossible outcome {other:?}"),
        }
        assert!(ledger.audit().is_consistent());
    });
}

#[test]
fn credits_race_at_the_maximum_balance() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, BALANCE_MAX as u64 - 1)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (mine, theirs) = race(move || one.credit(A, 1), move || two.credit(A, 1));
        assert!(mine.is_ok() != theirs.is_ok(), "exactly one fits: {mine:?} {theirs:?}");
        let loser = if mine.is_ok() { theirs } else { mine };
        assert!(matches!(loser, Err(AccountError::Rejected(Rejection::BalanceOverflow { .. }))));
        assert_eq!(ledger.balance(A), Ok(BALANCE_MAX));
    });
}

#[test]
fn transfer_undone_when_destination_closes_meanwhile() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 1), (B, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (moved, (close_b, close_a)) =
            race(move || one.transfer(transfer(1, A, B, 1)), move || (two.close(B), two.close(A)));
        match moved {
            Ok(_) => {
                assert!(close_b.is_err(), "B was credited, so it was open at the credit");
                assert_eq!((ledger.balance(A), ledger.balance(B)), (Ok(0), Ok(1)));
            }
            Err(TransferError::Rejected { reason: Rejection::AccountClosed { account }, .. }) => {
                assert_eq!(account, B);
                assert!(close_b.is_ok());
                // The undo put the money back, and A could not be closed meanwhile.
                assert!(close_a.is_err());
                assert_eq!((ledger.balance(A), ledger.balance(B)), (Ok(1), Ok(0)));
            }
            other => panic!("impossible outcome {other:?}"),
        }
        assert!(ledger.audit().is_consistent());
    });
}

#[test]
fn reader_never_counts_money_in_flight_twice() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 1), (B, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (moved, (a, b)) = race(
            move || one.transfer(transfer(1, A, B, 1)),
            move || {
                // Destination first: if the credit is visible, the debit before it must be.
                let b = two.balance(B).unwrap();
                (two.balance(A).unwrap(), b)
            },
        );
        assert!(a + b <= 1, "saw the money twice: a={a} b={b}");
        assert!(moved.is_ok());
    });
}

/// The hold used by the hold models: 1 of A's, for B, expiring at 10 ms.
fn hold_request(amount: u64) -> HoldRequest {
    HoldRequest { id: HoldId(1), from: A, to: B, amount, expires_at_ms: 10 }
}

#[test]
fn post_void_and_expiry_race_and_exactly_one_wins() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 2), (B, Floor::Zero, 0)]);
        ledger.hold(hold_request(2)).unwrap();
        let (one, two, three) = (ledger.clone(), ledger.clone(), ledger.clone());
        let sweeper = thread::spawn(move || three.expire_due(10)); // explicit time: the hold is due
        let (posted, voided) = race(move || one.post(HoldId(1), 1), move || two.void(HoldId(1)));
        let expired = sweeper.join().unwrap();
        let winners = usize::from(posted.is_ok()) + usize::from(voided.is_ok()) + expired;
        assert_eq!(winners, 1, "exactly one resolves: {posted:?} {voided:?} expired {expired}");
        let state = ledger.hold_info(HoldId(1)).unwrap().state;
        for loser in [posted.err(), voided.err()].into_iter().flatten() {
            assert_eq!(
                loser,
                HoldError::AlreadyResolved { id: HoldId(1), state },
                "losers are told what happened"
            );
        }
        // The funds are in exactly one place.
        let expected = match state {
            HoldState::Posted { amount: 1 } => (1, 1),
            HoldState::Voided | HoldState::Expired => (2, 0),
            other => panic!("impossible state {other:?}"),
        };
        assert_eq!((ledger.balance(A).unwrap(), ledger.balance(B).unwrap()), expected);
        assert_eq!(ledger.account_info(A).unwrap().held, 0);
        assert!(ledger.audit().is_consistent());
    });
}

#[test]
fn hold_races_a_debit_for_the_last_funds() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 1), (B, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (held, debited) = race(move || one.hold(hold_request(1)), move || two.debit(A, 1));
        assert!(held.is_ok() != debited.is_ok(), "exactly one gets the unit: {held:?} {debited:?}");
        let info = ledger.account_info(A).unwrap();
        assert_eq!((info.balance, info.held), (0, u64::from(held.is_ok())));
        if let Err(error) = held {
            let reason = Rejection::InsufficientFunds { account: A, available: 0, requested: 1 };
            assert_eq!(error, HoldError::Rejected { reason, repeat: false });
        }
        assert!(ledger.audit().is_consistent());
    });
}

#[test]
fn a_failing_linked_batch_leaves_nothing_behind_while_a_debit_runs() {
    model(|| {
        // Leg 1 always fails (A holds 2, the legs need 3), so the batch must leave no trace.
        let ledger = ledger(&[(A, Floor::Zero, 2), (B, Floor::Zero, 0), (C, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let legs = [transfer(1, A, B, 1), transfer(2, A, C, 2)];
        let (batch, debit) = race(
            move || {
                let batch = one.transfer_all(&legs);
                // Seen by the batch's own thread after it returned: no partial effect.
                (batch, one.balance(B).unwrap(), one.balance(C).unwrap())
            },
            move || two.debit(A, 2),
        );
        let (batch, b_after, c_after) = batch;
        assert_eq!((b_after, c_after), (0, 0));
        let Err(LinkedError::LegFailed { index, legs }) = batch else { panic!("the batch cannot succeed") };
        assert!(matches!(
            legs[index],
            TransferError::Rejected { reason: Rejection::InsufficientFunds { .. }, .. }
        ));
        // The debit may lose only while the batch holds A's money in flight.
        let a = ledger.balance(A).unwrap();
        assert_eq!(a, if debit.is_ok() { 0 } else { 2 });
        assert_eq!(ledger.account_info(A).unwrap().in_flight, 0);
        assert!(ledger.audit().is_consistent());
    });
}

#[test]
fn a_snapshot_racing_a_transfer_conserves() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 1), (B, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (moved, snapshot) = race(move || one.transfer(transfer(1, A, B, 1)), move || two.snapshot());
        assert!(moved.is_ok());
        let balances = (snapshot.get(A).unwrap().balance, snapshot.get(B).unwrap().balance);
        assert!(balances == (1, 0) || balances == (0, 1), "half a transfer: {balances:?}");
        assert_eq!(snapshot.total(), 1);
    });
}

#[test]
fn a_snapshot_racing_a_post_conserves() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 2), (B, Floor::Zero, 0)]);
        ledger.hold(hold_request(2)).unwrap();
        let (one, two) = (ledger.clone(), ledger.clone());
        let (posted, snapshot) = race(move || one.post(HoldId(1), 1), move || two.snapshot());
        assert_eq!(posted, Ok(Posted { posted: 1, returned: 1 }));
        let (a, b) = (snapshot.get(A).unwrap(), snapshot.get(B).unwrap());
        let seen = (a.balance, a.held, b.balance);
        assert!(seen == (0, 2, 0) || seen == (1, 0, 1), "half a post: {seen:?}");
        assert_eq!(snapshot.total(), 2);
    });
}

/// Single-account operations never wait for a snapshot, so the snapshot must
/// get their order right by capturing accounts: it may see neither, the
/// first, or both of one thread's debit of one account then credit of the
/// other, never the credit alone. Both directions, since the snapshot scans
/// accounts in directory order.
#[test]
fn a_snapshot_sees_a_prefix_of_single_account_operations() {
    for (first, second) in [(A, B), (B, A)] {
        model(move || {
            let ledger = ledger(&[(A, Floor::Zero, 1), (B, Floor::Zero, 1)]);
            let (one, two) = (ledger.clone(), ledger.clone());
            let ((), snapshot) = race(
                move || {
                    one.debit(first, 1).unwrap();
                    one.credit(second, 1).unwrap();
                },
                move || two.snapshot(),
            );
            let seen = (snapshot.get(first).unwrap().balance, snapshot.get(second).unwrap().balance);
            assert!([(1, 1), (0, 1), (0, 2)].contains(&seen), "not a prefix: {seen:?}");
        });
    }
}

const KEY: CredentialId = CredentialId(1);

fn issue(ledger: &Ledger, spend_cap: Option<u64>) {
    let spec = CredentialSpec {
        account: A,
        scopes: Scopes::DEBIT,
        amount_max_per_op: None,
        spend_cap,
        expires_at_ms: None,
        rate_limit: None,
    };
    ledger.issue_credential(KEY, spec).unwrap();
}

/// A debit that begins after `revoke` returns fails, and none completes after
/// it returns: what the revoking thread reads right after `revoke` is final.
#[test]
fn revoke_races_a_debit_and_cannot_be_outrun() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 2)]);
        issue(&ledger, None);
        let revoked = Arc::new(AtomicBool::new(false));
        let (one, two, flag) = (ledger.clone(), ledger.clone(), revoked.clone());
        let (balance_at_revoke, (began_after, debit)) = race(
            move || {
                one.revoke(KEY).unwrap();
                let balance = one.balance(A).unwrap();
                flag.store(true, Ordering::Release);
                balance
            },
            move || {
                let began_after = revoked.load(Ordering::Acquire);
                (began_after, two.debit_as(KEY, 1))
            },
        );
        if began_after {
            assert_eq!(debit, Err(AsError::Denied(CredentialError::Revoked(KEY))));
        }
        assert_eq!(ledger.balance(A), Ok(balance_at_revoke), "a use completed after revoke returned");
        assert_eq!(balance_at_revoke, if debit.is_ok() { 1 } else { 2 });
    });
}

/// Two uses race for the last unit of a spending cap: exactly one gets it.
#[test]
fn two_uses_race_for_the_last_unit_of_a_cap() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 5)]);
        issue(&ledger, Some(1));
        let (one, two) = (ledger.clone(), ledger.clone());
        let (mine, theirs) = race(move || one.debit_as(KEY, 1), move || two.debit_as(KEY, 1));
        assert!(mine.is_ok() != theirs.is_ok(), "exactly one fits the cap: {mine:?} {theirs:?}");
        let loser = if mine.is_ok() { theirs } else { mine };
        let refused = CredentialError::SpendCapExceeded { id: KEY, cap: 1, spent: 1, requested: 1 };
        assert_eq!(loser, Err(AsError::Denied(refused)));
        assert_eq!((ledger.balance(A), ledger.credential_info(KEY).unwrap().spent), (Ok(4), 1));
    });
}

/// A credentialed transfer whose debit fails gives its spend back: a debit
/// racing it for the cap is refused only while the transfer's spend is in
/// flight, and the cap ends exactly as the debit left it.
#[test]
fn a_failed_credentialed_transfer_gives_the_cap_back() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 1), (B, Floor::Zero, 0)]);
        issue(&ledger, Some(2));
        let (one, two) = (ledger.clone(), ledger.clone());
        let (transfer, debit) =
            race(move || one.transfer_as(KEY, transfer(1, A, B, 2)), move || two.debit_as(KEY, 1));
        // A never holds 2: the transfer fails, or is refused if the debit's spend left no room.
        assert!(
            matches!(
                transfer,
                Err(AsError::Failed(TransferError::Rejected { .. }))
                    | Err(AsError::Denied(CredentialError::SpendCapExceeded { .. }))
            ),
            "{transfer:?}"
        );
        let spent = ledger.credential_info(KEY).unwrap().spent;
        assert_eq!(spent, u64::from(debit.is_ok()), "only the debit's spend remains");
        assert_eq!(ledger.credential_info(KEY).unwrap().in_use, 0);
    });
}

/// Expiry racing a use: the use is decided by the clock reading at its start,
/// so it either succeeds in full or is refused as expired, never half.
#[test]
fn expiry_races_a_use() {
    model(|| {
        let clock = std::sync::Arc::new(ManualClock::new(0));
        let ledger = Arc::new(
            Ledger::builder()
                .accounts_max(4)
                .transfer_id_shards(2)
                .transfer_ids_max(4)
                .holds_max(4)
                .credentials_max(2)
                .buckets_max(1)
                .clock(clock.clone())
                .build()
                .unwrap(),
        );
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.credit(A, 1).unwrap();
        let spec = CredentialSpec {
            account: A,
            scopes: Scopes::DEBIT,
            amount_max_per_op: None,
            spend_cap: Some(1),
            expires_at_ms: Some(10),
            rate_limit: None,
        };
        ledger.issue_credential(KEY, spec).unwrap();
        let expired = Arc::new(AtomicBool::new(false));
        let (one, flag) = (ledger.clone(), expired.clone());
        let ((), (began_after, debit)) = race(
            move || {
                clock.set_ms(10);
                flag.store(true, Ordering::Release);
            },
            move || {
                let began_after = expired.load(Ordering::Acquire);
                (began_after, one.debit_as(KEY, 1))
            },
        );
        if began_after {
            assert!(matches!(debit, Err(AsError::Denied(CredentialError::Expired { .. }))));
        }
        let info = ledger.credential_info(KEY).unwrap();
        match debit {
            Ok(0) => assert_eq!(info.spent, 1),
            Err(AsError::Denied(CredentialError::Expired { .. })) => {
                assert_eq!((ledger.balance(A), info.spent), (Ok(1), 0));
            }
            other => panic!("impossible outcome {other:?}"),
        }
    });
}

const BUCKET: BucketId = BucketId(1);

/// A ledger with one bucket (capacity 2, one unit per 10 ms) emptied at
/// time 0, and its clock.
fn ledger_with_bucket() -> (Arc<Ledger>, std::sync::Arc<ManualClock>) {
    let clock = std::sync::Arc::new(ManualClock::new(0));
    let ledger = Ledger::builder()
        .accounts_max(2)
        .transfer_id_shards(1)
        .transfer_ids_max(1)
        .holds_max(1)
        .credentials_max(1)
        .buckets_max(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    ledger
        .open_bucket(BUCKET, BucketPolicy { capacity: 2, refill_amount: 1, refill_interval_ms: 10 })
        .unwrap();
    assert_eq!(ledger.take(BUCKET, 2), Ok(0));
    (Arc::new(ledger), clock)
}

/// Refill racing consume: one thread takes twice at tick 1 (one unit
/// produced), the other moves the clock to tick 2 and takes. Whatever the
/// interleaving (including the taker's clock reading going stale), each
/// refill is paid out once: granted + level left = the 2 units produced.
#[test]
fn quota_refill_races_consume_and_never_over_grants() {
    model(|| {
        let (ledger, clock) = ledger_with_bucket();
        clock.set_ms(10);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (first, second) = race(
            move || [one.take(BUCKET, 1).is_ok(), one.take(BUCKET, 1).is_ok()],
            move || {
                clock.set_ms(20);
                two.take(BUCKET, 1).is_ok()
            },
        );
        let granted = first.iter().filter(|&&ok| ok).count() as u64 + u64::from(second);
        let level = ledger.bucket_info(BUCKET).unwrap().level;
        assert!(granted <= 2, "over-granted: {granted}");
        assert_eq!(granted + level, 2, "a refill was lost or paid twice");
    });
}

/// A refund racing a take: the take sees the level before or after the
/// refund, never a torn or doubled one.
#[test]
fn quota_refund_races_take() {
    model(|| {
        let (ledger, _clock) = ledger_with_bucket();
        let (one, two) = (ledger.clone(), ledger.clone());
        let (refunded, taken) = race(move || one.refund(BUCKET, 1), move || two.take(BUCKET, 1));
        assert_eq!(refunded.map(|refund| refund.restored), Ok(1));
        let level = ledger.bucket_info(BUCKET).unwrap().level;
        assert_eq!(level, if taken.is_ok() { 0 } else { 1 });
    });
}

/// An API key with a spending cap and a rate limit, two uses racing for the
/// account's last unit: the use whose debit fails gives back both its cap
/// spend and its rate-limit unit, so exactly one unit of each stays spent.
#[test]
fn a_credentialed_debit_that_fails_gives_back_cap_and_rate() {
    model(|| {
        let (ledger, clock) = ledger_with_bucket();
        clock.set_ms(20); // the bucket is full again
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.credit(A, 1).unwrap();
        let spec = CredentialSpec {
            account: A,
            scopes: Scopes::DEBIT,
            amount_max_per_op: None,
            spend_cap: Some(2),
            expires_at_ms: None,
            rate_limit: Some(BUCKET),
        };
        ledger.issue_credential(KEY, spec).unwrap();
        let (one, two) = (ledger.clone(), ledger.clone());
        let (mine, theirs) = race(move || one.debit_as(KEY, 1), move || two.debit_as(KEY, 1));
        assert!(mine.is_ok() != theirs.is_ok(), "one unit of balance: {mine:?} {theirs:?}");
        let loser = if mine.is_ok() { theirs } else { mine };
        assert!(matches!(
            loser,
            Err(AsError::Failed(AccountError::Rejected(Rejection::InsufficientFunds { .. })))
        ));
        let info = ledger.credential_info(KEY).unwrap();
        assert_eq!((info.spent, info.in_use), (1, 0));
        assert_eq!(ledger.bucket_info(BUCKET).unwrap().level, 1);
    });
}

/// Two submissions of one credentialed transfer whose amount fills the cap:
/// whichever comes second is answered as a repeat, never refused by the cap
/// the first one filled, and the cap is charged once.
#[test]
fn a_duplicate_credentialed_transfer_is_answered_not_refused() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 2), (B, Floor::Zero, 0)]);
        issue(&ledger, Some(2));
        let (one, two) = (ledger.clone(), ledger.clone());
        let (first, second) = race(
            move || one.transfer_as(KEY, transfer(1, A, B, 2)),
            move || two.transfer_as(KEY, transfer(1, A, B, 2)),
        );
        let (first, second) = (first.expect("answered"), second.expect("answered"));
        assert!(first.repeat != second.repeat, "applied exactly once: {first:?} {second:?}");
        assert_eq!((ledger.balance(A), ledger.balance(B)), (Ok(0), Ok(2)));
        assert_eq!(ledger.credential_info(KEY).unwrap().spent, 2);
    });
}

// ---------------------------------------------------------------------------
// Models that see every guard. Each pins the order with an observer: one
// thread changes what a guard reads (freeze, close, a debit, a void, a
// downgrade, a take) and then reads the state; the other runs the guarded
// operation. If the guarded operation succeeded, it must come before the
// change in the order, so the observer's read must already include it. A
// guard read outside the CAS (or the lock) that applies the change lets the
// operation succeed after the observer saw the old state: each model has a
// broken twin in `.ci/broken-variants` that it must reject.
// ---------------------------------------------------------------------------

/// Status (freeze): the debit that succeeds is in the balance read after
/// `freeze` returned. Rejects `_broken-stale-status`.
#[test]
fn freeze_then_read_pins_a_racing_debit() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 2)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let (seen_after_freeze, debit) = race(
            move || {
                one.freeze(A).unwrap();
                one.balance(A).unwrap()
            },
            move || two.debit(A, 1),
        );
        match debit {
            Ok(1) => assert_eq!(seen_after_freeze, 1, "the debit landed after freeze returned"),
            Err(AccountError::Rejected(Rejection::AccountFrozen { account: A })) => {
                assert_eq!(seen_after_freeze, 2);
            }
            other => panic!("impossible outcome {other:?}"),
        }
        assert_eq!(ledger.balance(A), Ok(seen_after_freeze), "nothing moves a frozen account's balance down");
    });
}

/// Status (close): of a close and a credit racing on an empty account,
/// exactly one succeeds, and a closed account stays empty. Rejects
/// `_broken-stale-closed`.
#[test]
fn close_then_read_pins_a_racing_credit() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let ((close, seen_after_close), credit) = race(
            move || {
                let close = one.close(A);
                (close, one.balance(A).unwrap())
            },
            move || two.credit(A, 1),
        );
        assert!(close.is_ok() != credit.is_ok(), "exactly one: {close:?} {credit:?}");
        if close.is_ok() {
            assert_eq!(credit, Err(AccountError::Rejected(Rejection::AccountClosed { account: A })));
            assert_eq!((seen_after_close, ledger.balance(A)), (0, Ok(0)), "money landed on a closed account");
        } else {
            assert_eq!(ledger.balance(A), Ok(1));
        }
        assert!(ledger.audit().is_consistent());
    });
}

/// Floor: two debits race for the last unit; the winner's own read after
/// its debit shows the floor reached, and the loser is refused. Rejects
/// `_broken-stale-floor`.
#[test]
fn debit_then_read_pins_a_racing_debit_at_the_floor() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 1)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let ((mine, seen_after_mine), theirs) = race(
            move || {
                let debit = one.debit(A, 1);
                (debit, one.balance(A).unwrap())
            },
            move || two.debit(A, 1),
        );
        assert!(mine.is_ok() != theirs.is_ok(), "exactly one gets the last unit: {mine:?} {theirs:?}");
        if mine.is_ok() {
            assert_eq!(seen_after_mine, 0);
        }
        assert_eq!(ledger.balance(A), Ok(0), "below the floor");
        assert!(ledger.audit().is_consistent());
    });
}

/// Hold state: a post that succeeds comes before the void, so the void
/// fails and the balances read after it include the post. Rejects
/// `_broken-stale-hold-state`.
#[test]
fn void_then_read_pins_a_racing_post() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 1), (B, Floor::Zero, 0)]);
        ledger.hold(HoldRequest { expires_at_ms: u64::MAX, ..hold_request(1) }).unwrap();
        let (one, two) = (ledger.clone(), ledger.clone());
        let ((voided, seen_after_void), posted) = race(
            move || {
                let voided = one.void(HoldId(1));
                (voided, (one.balance(A).unwrap(), one.balance(B).unwrap()))
            },
            move || two.post(HoldId(1), 1),
        );
        assert!(voided.is_ok() != posted.is_ok(), "exactly one resolves: {voided:?} {posted:?}");
        let expected = if posted.is_ok() { (0, 1) } else { (1, 0) };
        assert_eq!(seen_after_void, expected, "the post landed after the void returned");
        assert_eq!((ledger.balance(A).unwrap(), ledger.balance(B).unwrap()), expected);
        assert_eq!(ledger.account_info(A).unwrap().held, 0);
        assert!(ledger.audit().is_consistent());
    });
}

/// Scope: a use that succeeds comes before the downgrade that removed its
/// scope, so the balance read after the downgrade includes it. (Revocation
/// is pinned the same way by `revoke_races_a_debit_and_cannot_be_outrun`.)
/// Rejects `_broken-stale-scope`.
#[test]
fn downgrade_then_read_pins_a_racing_use() {
    model(|| {
        let ledger = ledger(&[(A, Floor::Zero, 2)]);
        let spec = CredentialSpec {
            account: A,
            scopes: Scopes::DEBIT | Scopes::READ,
            amount_max_per_op: None,
            spend_cap: None,
            expires_at_ms: None,
            rate_limit: None,
        };
        ledger.issue_credential(KEY, spec).unwrap();
        let (one, two) = (ledger.clone(), ledger.clone());
        let (seen_after_downgrade, debit) = race(
            move || {
                one.downgrade_credential(KEY, Scopes::READ).unwrap();
                one.balance(A).unwrap()
            },
            move || two.debit_as(KEY, 1),
        );
        match debit {
            Ok(1) => assert_eq!(seen_after_downgrade, 1, "the use completed after the downgrade returned"),
            Err(AsError::Denied(CredentialError::ScopeMissing { .. })) => assert_eq!(seen_after_downgrade, 2),
            other => panic!("impossible outcome {other:?}"),
        }
        assert_eq!(ledger.balance(A), Ok(seen_after_downgrade));
        assert_eq!(ledger.credential_info(KEY).unwrap().in_use, 0);
    });
}

/// Bucket level: two takes race for the last unit; exactly one gets it, and
/// the winner's own read after it shows the bucket empty. Rejects
/// `_broken-stale-bucket-level` (and `_broken-quota-check-then-write`).
#[test]
fn quota_take_then_read_pins_a_racing_take() {
    model(|| {
        let (ledger, _clock) = ledger_with_bucket();
        ledger.refund(BUCKET, 1).unwrap(); // one unit, and the clock stands still
        let (one, two) = (ledger.clone(), ledger.clone());
        let ((mine, seen_after_mine), theirs) = race(
            move || {
                let taken = one.take(BUCKET, 1);
                (taken, one.bucket_info(BUCKET).unwrap().level)
            },
            move || two.take(BUCKET, 1),
        );
        assert!(mine.is_ok() != theirs.is_ok(), "exactly one gets the unit: {mine:?} {theirs:?}");
        if mine.is_ok() {
            assert_eq!(seen_after_mine, 0);
        }
        assert_eq!(ledger.bucket_info(BUCKET).unwrap().level, 0);
    });
}

/// Bucket time base: one interval has passed, so one unit has been
/// produced; two takes race for it and exactly one gets it: the refill is
/// paid once, to the take whose CAS moves the time base. Rejects
/// `_broken-stale-bucket-tick`.
#[test]
fn quota_refill_is_paid_once_to_racing_takes() {
    model(|| {
        let (ledger, clock) = ledger_with_bucket();
        clock.set_ms(10); // tick 1: one unit produced
        let (one, two) = (ledger.clone(), ledger.clone());
        let ((mine, seen_after_mine), theirs) = race(
            move || {
                let taken = one.take(BUCKET, 1);
                (taken, one.bucket_info(BUCKET).unwrap().level)
            },
            move || two.take(BUCKET, 1),
        );
        assert!(mine.is_ok() != theirs.is_ok(), "the refill was paid twice: {mine:?} {theirs:?}");
        if mine.is_ok() {
            assert_eq!(seen_after_mine, 0);
        }
        assert_eq!(ledger.bucket_info(BUCKET).unwrap().level, 0);
    });
}

const WALLET: AccountId = AccountId(4);

/// A ledger whose account `WALLET` has a ceiling of 2 and a balance of 1.
fn ledger_with_wallet(accounts: &[(AccountId, Floor, u64)]) -> Arc<Ledger> {
    let ledger = ledger(accounts);
    let wallet = AccountOptions { ceiling: Some(2), ..AccountOptions::default() };
    ledger.open_account(WALLET, wallet).unwrap();
    ledger.credit(WALLET, 1).unwrap();
    ledger
}

/// Ceiling: two credits race for the last unit of room; exactly one lands,
/// and the winner's own read after it shows the ceiling reached. Rejects
/// `_broken-stale-ceiling`.
#[test]
fn two_credits_race_for_the_last_room_under_the_ceiling() {
    model(|| {
        let ledger = ledger_with_wallet(&[]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let ((mine, seen_after_mine), theirs) = race(
            move || {
                let credit = one.credit(WALLET, 1);
                (credit, one.balance(WALLET).unwrap())
            },
            move || two.credit(WALLET, 1),
        );
        assert!(mine.is_ok() != theirs.is_ok(), "exactly one fits: {mine:?} {theirs:?}");
        let loser = if mine.is_ok() { theirs } else { mine };
        let above = Rejection::CeilingExceeded { account: WALLET, balance: 2, amount: 1, ceiling: 2 };
        assert_eq!(loser, Err(AccountError::Rejected(above)));
        if mine.is_ok() {
            assert_eq!(seen_after_mine, 2);
        }
        assert_eq!(ledger.balance(WALLET), Ok(2), "above the ceiling");
    });
}

/// Ceiling in a linked batch: the batch credits the wallet's last unit of
/// room (and pays C) while a credit races for the same room. Exactly one
/// gets it; a refused batch leaves nothing, even when the credit landed
/// between the batch's reservation and its commit. Rejects
/// `_broken-stale-ceiling-commit`.
#[test]
fn a_batch_commit_races_a_credit_for_the_last_room_under_the_ceiling() {
    model(|| {
        let ledger = ledger_with_wallet(&[(A, Floor::Zero, 2), (C, Floor::Zero, 0)]);
        let (one, two) = (ledger.clone(), ledger.clone());
        let legs = [transfer(1, A, WALLET, 1), transfer(2, A, C, 1)];
        let (batch, credit) = race(move || one.transfer_all(&legs), move || two.credit(WALLET, 1));
        assert!(batch.is_ok() != credit.is_ok(), "exactly one gets the room: {batch:?} {credit:?}");
        assert_eq!(ledger.balance(WALLET), Ok(2), "above the ceiling");
        let expected = if batch.is_ok() { (0, 1) } else { (2, 0) };
        assert_eq!((ledger.balance(A).unwrap(), ledger.balance(C).unwrap()), expected);
        if let Err(LinkedError::LegFailed { index, legs }) = batch {
            assert_eq!(index, 0);
            assert!(matches!(
                legs[0],
                TransferError::Rejected { reason: Rejection::CeilingExceeded { .. }, .. }
            ));
        }
        assert!(ledger.audit().is_consistent());
    });
}
