//! Quotas: refilling buckets under real threads (never over-grant), refunds,
//! an API key with both a rate limit and an allowance decided together, and
//! reserve-then-settle through holds.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};

use atomic_ledger::{
    AccountError, AccountId, AccountOptions, AsError, BucketId, BucketPolicy, CredentialError, CredentialId,
    CredentialSpec, HoldId, HoldRequest, Ledger, ManualClock, QuotaError, Refunded, Rejection, Scopes,
    BUCKET_CAPACITY_MAX,
};

const CUSTOMER: AccountId = AccountId(1);
const PROVIDER: AccountId = AccountId(2);
const BUCKET: BucketId = BucketId(9);
const KEY: CredentialId = CredentialId(5);

fn ledger() -> (Ledger, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(1_000));
    let ledger = Ledger::builder().clock(clock.clone()).build().unwrap();
    for id in [CUSTOMER, PROVIDER] {
        ledger.open_account(id, AccountOptions::default()).unwrap();
    }
    (ledger, clock)
}

fn api_key(rate_limit: Option<BucketId>, spend_cap: Option<u64>) -> CredentialSpec {
    CredentialSpec {
        account: CUSTOMER,
        scopes: Scopes::DEBIT | Scopes::HOLD | Scopes::RESOLVE,
        amount_max_per_op: None,
        spend_cap,
        expires_at_ms: None,
        rate_limit,
    }
}

fn denied<T: std::fmt::Debug, E: std::fmt::Debug>(result: Result<T, AsError<E>>) -> CredentialError {
    match result {
        Err(AsError::Denied(error)) => error,
        other => panic!("expected a denial, got {other:?}"),
    }
}

/// Four takers and a thread that moves the clock on, one interval at a time:
/// the units granted never exceed the capacity plus what the refill produced,
/// and granted + level left accounts for every unit exactly once refills stop.
#[test]
fn concurrent_takers_never_receive_more_than_capacity_plus_refill() {
    const TAKERS: usize = 4;
    const INTERVALS: u64 = 200;
    let (ledger, clock) = ledger();
    let policy = BucketPolicy { capacity: 20, refill_amount: 3, refill_interval_ms: 10 };
    ledger.open_bucket(BUCKET, policy).unwrap();
    let granted = AtomicU64::new(0);
    let refunded = AtomicU64::new(0);
    let clock_done = AtomicBool::new(false);
    let start = Barrier::new(TAKERS + 1);
    std::thread::scope(|scope| {
        for taker in 0..TAKERS {
            let (ledger, granted, refunded, clock_done, start) =
                (&ledger, &granted, &refunded, &clock_done, &start);
            scope.spawn(move || {
                start.wait();
                let mut round = 0u64;
                while !clock_done.load(Ordering::Acquire) || round < 50 {
                    round += 1;
                    let units = 1 + (round + taker as u64) % 3;
                    match ledger.take(BUCKET, units) {
                        Ok(_) => {
                            granted.fetch_add(units, Ordering::Relaxed);
                            // Every seventh grant is "not used" and goes back.
                            if round.is_multiple_of(7) {
                                let back = ledger.refund(BUCKET, units).unwrap();
                                refunded.fetch_add(back.restored, Ordering::Relaxed);
                            }
                        }
                        Err(QuotaError::Exhausted { available, retry_after_ms, .. }) => {
                            assert!(available < units && retry_after_ms >= 1);
                        }
                        Err(other) => panic!("unexpected {other:?}"),
                    }
                }
            });
        }
        let (clock, clock_done, start) = (&clock, &clock_done, &start);
        scope.spawn(move || {
            start.wait();
            for _ in 0..INTERVALS {
                clock.advance_ms(policy.refill_interval_ms);
                std::thread::yield_now();
            }
            clock_done.store(true, Ordering::Release);
        });
    });
    let granted = granted.into_inner();
    let refunded = refunded.into_inner();
    let produced = policy.capacity + policy.refill_amount * INTERVALS;
    let level = ledger.bucket_info(BUCKET).unwrap().level;
    assert!(granted - refunded <= produced, "granted {granted} - refunded {refunded} > produced {produced}");
    assert!(granted - refunded + level <= produced);
    assert!(granted > policy.capacity, "the refill was used: {granted}");
}

#[test]
fn bucket_errors_are_typed_and_change_nothing() {
    let (ledger, clock) = ledger();
    let policy = BucketPolicy { capacity: 10, refill_amount: 2, refill_interval_ms: 100 };
    assert_eq!(ledger.open_bucket(BucketId(0), policy), Err(QuotaError::ReservedBucketId(BucketId(0))));
    assert_eq!(ledger.take(BUCKET, 1), Err(QuotaError::UnknownBucket(BUCKET)));
    assert_eq!(ledger.refund(BucketId(u128::MAX), 1), Err(QuotaError::ReservedBucketId(BucketId(u128::MAX))));
    let too_big = BucketPolicy { capacity: BUCKET_CAPACITY_MAX + 1, ..policy };
    assert!(matches!(
        ledger.open_bucket(BUCKET, too_big),
        Err(QuotaError::PolicyOutOfRange { field: "capacity", .. })
    ));
    ledger.open_bucket(BUCKET, policy).unwrap();
    let out_of_range = |units| QuotaError::UnitsOutOfRange { id: BUCKET, units, capacity: 10 };
    assert_eq!(ledger.take(BUCKET, 0), Err(out_of_range(0)));
    assert_eq!(ledger.take(BUCKET, 11), Err(out_of_range(11)));
    assert_eq!(ledger.refund(BUCKET, 11), Err(out_of_range(11)));
    assert_eq!(ledger.bucket_info(BUCKET).unwrap().level, 10);
    assert_eq!(ledger.take(BUCKET, 9), Ok(1));
    clock.advance_ms(30); // inside the first interval
    let exhausted = QuotaError::Exhausted { id: BUCKET, requested: 5, available: 1, retry_after_ms: 170 };
    assert_eq!(ledger.take(BUCKET, 5), Err(exhausted));
    assert_eq!(ledger.bucket_info(BUCKET).unwrap().level, 1);
    clock.advance_ms(170); // two boundaries: +4
    assert_eq!(ledger.take(BUCKET, 5), Ok(0));
    assert_eq!(ledger.refund(BUCKET, 3), Ok(Refunded { restored: 3, level: 3 }));
}

/// One API key, a rate limit of 50 and an allowance of 30: 200 concurrent
/// requests get exactly 30, and the 20 units taken by refused requests went
/// back to the bucket.
#[test]
fn rate_limit_and_allowance_are_decided_together_or_rolled_back() {
    let (ledger, _) = ledger();
    ledger.credit(CUSTOMER, 30).unwrap();
    ledger
        .open_bucket(BUCKET, BucketPolicy { capacity: 50, refill_amount: 50, refill_interval_ms: 3_600_000 })
        .unwrap();
    ledger.issue_credential(KEY, api_key(Some(BUCKET), Some(1_000))).unwrap();
    let served = AtomicU64::new(0);
    let (out_of_allowance, rate_refusals) = (AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..25 {
                    match ledger.debit_as(KEY, 1) {
                        Ok(_) => served.fetch_add(1, Ordering::Relaxed),
                        Err(AsError::Failed(AccountError::Rejected(Rejection::InsufficientFunds {
                            ..
                        }))) => out_of_allowance.fetch_add(1, Ordering::Relaxed),
                        Err(AsError::Denied(CredentialError::RateLimited { .. })) => {
                            rate_refusals.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(other) => panic!("unexpected {other:?}"),
                    };
                }
            });
        }
    });
    assert_eq!(served.into_inner(), 30);
    assert_eq!(ledger.balance(CUSTOMER), Ok(0));
    assert_eq!(ledger.credential_info(KEY).unwrap().spent, 30);
    // Every refused request's unit came back: only the 30 served are gone.
    assert_eq!(ledger.bucket_info(BUCKET).unwrap().level, 20);
    assert_eq!(out_of_allowance.into_inner() + rate_refusals.into_inner(), 170);
    // Now the rate limit binds: top up the allowance, and 20 more get through.
    ledger.credit(CUSTOMER, 100).unwrap();
    let results: Vec<_> = (0..25).map(|_| ledger.debit_as(KEY, 1)).collect();
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 20);
    let error = denied(ledger.debit_as(KEY, 1));
    let limited = CredentialError::RateLimited {
        id: KEY,
        bucket: BUCKET,
        requested: 1,
        available: 0,
        retry_after_ms: 3_600_000,
    };
    assert_eq!(error, limited);
}

#[test]
fn a_rate_limited_use_spends_nothing_and_an_amount_above_capacity_is_refused() {
    let (ledger, _) = ledger();
    ledger.credit(CUSTOMER, 500).unwrap();
    ledger
        .open_bucket(BUCKET, BucketPolicy { capacity: 100, refill_amount: 10, refill_interval_ms: 1_000 })
        .unwrap();
    assert_eq!(
        ledger.issue_credential(KEY, api_key(Some(BucketId(77)), None)),
        Err(CredentialError::UnknownBucket(BucketId(77)))
    );
    ledger.issue_credential(KEY, api_key(Some(BUCKET), Some(400))).unwrap();
    assert_eq!(ledger.debit_as(KEY, 90), Ok(410));
    let limited = CredentialError::RateLimited {
        id: KEY,
        bucket: BUCKET,
        requested: 20,
        available: 10,
        retry_after_ms: 1_000,
    };
    assert_eq!(denied(ledger.debit_as(KEY, 20)), limited);
    assert_eq!(
        limited.to_string(),
        "credential 5 is rate-limited by bucket 9: 20 requested, 10 available; retry after 1000 ms"
    );
    assert_eq!(
        denied(ledger.debit_as(KEY, 101)),
        CredentialError::ExceedsRateLimit { id: KEY, bucket: BUCKET, amount: 101, capacity: 100 }
    );
    assert_eq!(ledger.credential_info(KEY).unwrap().spent, 90); // the refusals spent nothing
    assert_eq!(ledger.balance(CUSTOMER), Ok(410));
}

/// Reserve an estimate with a hold, then settle: the part not posted goes
/// back to the credential's cap and its rate limit, whichever way the hold
/// resolves (partial post, void, expiry).
#[test]
fn holds_reserve_an_estimate_and_give_back_what_is_not_posted() {
    let (ledger, clock) = ledger();
    ledger.credit(CUSTOMER, 1_000).unwrap();
    ledger
        .open_bucket(BUCKET, BucketPolicy { capacity: 600, refill_amount: 1, refill_interval_ms: 3_600_000 })
        .unwrap();
    ledger.issue_credential(KEY, api_key(Some(BUCKET), Some(700))).unwrap();
    let hold = |id, amount, expires_at_ms| HoldRequest {
        id: HoldId(id),
        from: CUSTOMER,
        to: PROVIDER,
        amount,
        expires_at_ms,
    };
    let level = || ledger.bucket_info(BUCKET).unwrap().level;
    let spent = || ledger.credential_info(KEY).unwrap().spent;

    ledger.hold_as(KEY, hold(1, 300, u64::MAX)).unwrap();
    assert_eq!((level(), spent()), (300, 300));
    ledger.post_as(KEY, HoldId(1), 120).unwrap();
    assert_eq!((level(), spent()), (480, 120));

    ledger.hold_as(KEY, hold(2, 200, u64::MAX)).unwrap();
    assert!(ledger.hold_as(KEY, hold(2, 200, u64::MAX)).unwrap().repeat); // charged once
    assert_eq!((level(), spent()), (280, 320));
    ledger.void(HoldId(2)).unwrap(); // without the credential: still given back
    assert_eq!((level(), spent()), (480, 120));

    ledger.hold_as(KEY, hold(3, 100, 5_000)).unwrap();
    clock.set_ms(5_000);
    assert_eq!(ledger.expire_due(5_000), 1);
    assert_eq!((level(), spent()), (480, 120));

    // A hold the source refuses is charged nothing.
    let refused = ledger.hold_as(KEY, hold(4, 580, u64::MAX));
    assert!(matches!(refused, Err(AsError::Denied(CredentialError::RateLimited { .. }))));
    ledger.issue_credential(CredentialId(6), api_key(None, Some(5_000))).unwrap();
    let refused = ledger.hold_as(CredentialId(6), hold(5, 2_000, u64::MAX));
    assert!(matches!(refused, Err(AsError::Failed(_))));
    assert_eq!(ledger.credential_info(CredentialId(6)).unwrap().spent, 0);
    assert_eq!(ledger.balance(CUSTOMER), Ok(880));
    assert!(ledger.audit().is_consistent());
}
