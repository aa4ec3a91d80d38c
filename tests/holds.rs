//! Holds (two-phase transfers): every error case, lazy and swept expiry,
//! closing rules, and real-thread races in which exactly one resolution wins.

use std::sync::Arc;

use atomic_ledger::{
    AccountError, AccountId, AccountOptions, Floor, HoldError, HoldField, HoldId, HoldReceipt, HoldRequest,
    HoldState, Ledger, ManualClock, Posted, Rejection, AMOUNT_MAX,
};

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);

fn ledger_at(now_ms: u64) -> (Ledger, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(now_ms));
    let ledger = Ledger::builder().clock(clock.clone()).build().unwrap();
    ledger.open_account(A, AccountOptions::default()).unwrap();
    ledger.open_account(B, AccountOptions::default()).unwrap();
    ledger.credit(A, 100).unwrap();
    (ledger, clock)
}

fn request(id: u128, amount: u64, expires_at_ms: u64) -> HoldRequest {
    HoldRequest { id: HoldId(id), from: A, to: B, amount, expires_at_ms }
}

#[test]
fn invalid_requests_are_refused_and_change_nothing() {
    let (ledger, _) = ledger_at(1_000);
    let valid = request(1, 10, 2_000);
    let cases = [
        (HoldRequest { id: HoldId(0), ..valid }, HoldError::ReservedHoldId(HoldId(0))),
        (HoldRequest { id: HoldId(u128::MAX), ..valid }, HoldError::ReservedHoldId(HoldId(u128::MAX))),
        (HoldRequest { from: AccountId(0), ..valid }, HoldError::ReservedAccountId(AccountId(0))),
        (HoldRequest { to: AccountId(9), ..valid }, HoldError::UnknownAccount(AccountId(9))),
        (HoldRequest { amount: 0, ..valid }, HoldError::ZeroAmount),
        (
            HoldRequest { amount: AMOUNT_MAX + 1, ..valid },
            HoldError::AmountTooLarge { amount: AMOUNT_MAX + 1, amount_max: AMOUNT_MAX },
        ),
        (HoldRequest { to: A, ..valid }, HoldError::SameAccount(A)),
        (
            HoldRequest { expires_at_ms: 1_000, ..valid },
            HoldError::ExpiryInPast { expires_at_ms: 1_000, now_ms: 1_000 },
        ),
        (
            HoldRequest { expires_at_ms: 5, ..valid },
            HoldError::ExpiryInPast { expires_at_ms: 5, now_ms: 1_000 },
        ),
    ];
    for (bad, expected) in cases {
        assert_eq!(ledger.hold(bad), Err(expected), "{bad:?}");
    }
    assert_eq!(ledger.holds_remembered(), 0, "validation errors record nothing");
    assert_eq!(ledger.hold(valid), Ok(HoldReceipt { id: HoldId(1), repeat: false }), "the id is still free");
    assert_eq!(ledger.balance(A), Ok(90));
}

#[test]
fn resolution_errors_name_what_happened() {
    let (ledger, _) = ledger_at(0);
    assert_eq!(ledger.post(HoldId(5), 1), Err(HoldError::UnknownHold(HoldId(5))));
    assert_eq!(ledger.void(HoldId(5)), Err(HoldError::UnknownHold(HoldId(5))));
    assert_eq!(ledger.hold_info(HoldId(5)), Err(HoldError::UnknownHold(HoldId(5))));
    assert_eq!(ledger.post(HoldId(0), 1), Err(HoldError::ReservedHoldId(HoldId(0))));
    ledger.hold(request(1, 30, 100)).unwrap();
    assert_eq!(ledger.post(HoldId(1), 0), Err(HoldError::ZeroAmount));
    assert_eq!(
        ledger.post(HoldId(1), 31),
        Err(HoldError::ExceedsHold { id: HoldId(1), held: 30, requested: 31 })
    );
    assert_eq!(ledger.post(HoldId(1), 30), Ok(Posted { posted: 30, returned: 0 }));
    let posted = HoldState::Posted { amount: 30 };
    assert_eq!(ledger.post(HoldId(1), 1), Err(HoldError::AlreadyResolved { id: HoldId(1), state: posted }));
    assert_eq!(ledger.void(HoldId(1)), Err(HoldError::AlreadyResolved { id: HoldId(1), state: posted }));
    assert_eq!((ledger.balance(A), ledger.balance(B)), (Ok(70), Ok(30)));

    // A refused hold is recorded: resolving it says it never held anything.
    let refused = ledger.hold(request(2, 1_000, 100));
    let reason = Rejection::InsufficientFunds { account: A, available: 70, requested: 1_000 };
    assert_eq!(refused, Err(HoldError::Rejected { reason, repeat: false }));
    assert_eq!(ledger.hold(request(2, 1_000, 100)), Err(HoldError::Rejected { reason, repeat: true }));
    let never = HoldState::Rejected(reason);
    assert_eq!(ledger.void(HoldId(2)), Err(HoldError::AlreadyResolved { id: HoldId(2), state: never }));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_repeated_hold_is_idempotent_and_a_changed_one_conflicts() {
    let (ledger, _) = ledger_at(0);
    let first = request(1, 10, 100);
    assert_eq!(ledger.hold(first).map(|receipt| receipt.repeat), Ok(false));
    assert_eq!(ledger.hold(first).map(|receipt| receipt.repeat), Ok(true));
    let conflicts = [
        (HoldRequest { to: AccountId(3), ..first }, HoldField::To),
        (HoldRequest { amount: 11, ..first }, HoldField::Amount),
        (HoldRequest { expires_at_ms: 101, ..first }, HoldField::ExpiresAt),
    ];
    ledger.open_account(AccountId(3), AccountOptions::default()).unwrap();
    for (changed, field) in conflicts {
        assert_eq!(ledger.hold(changed), Err(HoldError::IdConflict { id: HoldId(1), field }));
    }
    ledger.void(HoldId(1)).unwrap();
    assert_eq!(ledger.hold(first).map(|receipt| receipt.repeat), Ok(true), "still the same hold, now voided");
    assert_eq!(ledger.balance(A), Ok(100));
}

#[test]
fn a_due_hold_expires_when_touched_or_swept() {
    let (ledger, clock) = ledger_at(0);
    for id in 1..=3 {
        ledger.hold(request(id, 10, 50)).unwrap();
    }
    assert_eq!(ledger.account_info(A).unwrap().held, 30);
    clock.set_ms(50);
    let expired = HoldState::Expired;
    // Touching a due hold expires it; the post is refused with what happened.
    assert_eq!(ledger.post(HoldId(1), 5), Err(HoldError::AlreadyResolved { id: HoldId(1), state: expired }));
    assert_eq!(ledger.hold_info(HoldId(2)).map(|info| info.state), Ok(expired));
    assert_eq!(
        ledger.account_info(A).map(|info| (info.balance, info.held, info.holds_open)),
        Ok((90, 10, 1))
    );
    assert_eq!(ledger.expire_due(clock_now(&clock)), 1);
    assert_eq!(ledger.expire_due(clock_now(&clock)), 0);
    assert_eq!(
        ledger.account_info(A).map(|info| (info.balance, info.held, info.holds_open)),
        Ok((100, 0, 0))
    );
    assert!(ledger.audit().is_consistent());
}

fn clock_now(clock: &ManualClock) -> u64 {
    use atomic_ledger::Clock;
    clock.now_ms()
}

#[test]
fn an_account_with_open_holds_cannot_close() {
    let (ledger, _) = ledger_at(0);
    ledger
        .open_account(
            AccountId(3),
            AccountOptions { floor: Floor::Overdraft(10), ..AccountOptions::default() },
        )
        .unwrap();
    let overdraft = HoldRequest { id: HoldId(1), from: AccountId(3), to: B, amount: 5, expires_at_ms: 100 };
    ledger.hold(overdraft).unwrap();
    ledger.credit(AccountId(3), 5).unwrap(); // balance back to 0 while the hold is open
    let refused = ledger.close(AccountId(3));
    assert_eq!(
        refused,
        Err(AccountError::Rejected(Rejection::HoldsOpen { account: AccountId(3), holds: 1 }))
    );
    ledger.void(HoldId(1)).unwrap();
    ledger.debit(AccountId(3), 5).unwrap();
    assert_eq!(ledger.close(AccountId(3)), Ok(()));
}

#[test]
fn a_post_to_a_closed_account_fails_and_leaves_the_hold_open() {
    let (ledger, _) = ledger_at(0);
    ledger.hold(request(1, 10, 100)).unwrap();
    ledger.close(B).unwrap();
    let refused = ledger.post(HoldId(1), 4);
    assert_eq!(
        refused,
        Err(HoldError::Rejected { reason: Rejection::AccountClosed { account: B }, repeat: false })
    );
    assert_eq!(ledger.hold_info(HoldId(1)).map(|info| info.state), Ok(HoldState::Open));
    assert_eq!(ledger.account_info(A).map(|info| info.held), Ok(10));
    assert_eq!(ledger.void(HoldId(1)), Ok(10));
    assert_eq!(ledger.balance(A), Ok(100));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_hold_table_full_of_open_holds_refuses_more() {
    let ledger = Ledger::builder().transfer_id_shards(1).holds_max(3).build().unwrap();
    ledger.open_account(A, AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() }).unwrap();
    ledger.open_account(B, AccountOptions::default()).unwrap();
    for id in 1..=3 {
        ledger.hold(request(id, 1, u64::MAX)).unwrap();
    }
    assert_eq!(ledger.hold(request(4, 1, u64::MAX)), Err(HoldError::TableFull { holds_max: 3 }));
    ledger.post(HoldId(2), 1).unwrap();
    assert!(ledger.hold(request(4, 1, u64::MAX)).is_ok(), "a resolved hold may be forgotten");
    assert_eq!(ledger.holds_remembered(), 3);
    // The forgotten id is refused, never re-held.
    assert!(matches!(ledger.hold(request(2, 1, u64::MAX)), Err(HoldError::IdExpired { .. })));
}

/// Real threads: posts, voids and sweeps race over many holds; each hold
/// resolves exactly once and the money ends up in exactly one place.
#[test]
fn racing_resolutions_resolve_each_hold_exactly_once() {
    const HOLDS: u128 = 400;
    const SOURCES: u128 = 8; // 50 open holds each, under HOLDS_OPEN_MAX
    let (ledger, _) = ledger_at(0);
    let source = |id: u128| AccountId(10 + id % SOURCES);
    for id in 0..SOURCES {
        ledger.open_account(source(id), AccountOptions::default()).unwrap();
        ledger.credit(source(id), 500).unwrap();
    }
    for id in 1..=HOLDS {
        ledger.hold(HoldRequest { from: source(id), ..request(id, 10, 100) }).unwrap();
    }
    let (posts, voids, swept) = std::thread::scope(|scope| {
        let poster = scope.spawn(|| (1..=HOLDS).filter(|&id| ledger.post(HoldId(id), 4).is_ok()).count());
        let voider = scope.spawn(|| (1..=HOLDS).rev().filter(|&id| ledger.void(HoldId(id)).is_ok()).count());
        let sweeper = scope.spawn(|| (0..50).map(|_| ledger.expire_due(100)).sum::<usize>());
        (poster.join().unwrap(), voider.join().unwrap(), sweeper.join().unwrap())
    });
    let swept = swept + ledger.expire_due(100);
    assert_eq!(posts + voids + swept, HOLDS as usize, "posts {posts} voids {voids} swept {swept}");
    let mut counted = (0, 0, 0);
    for id in 1..=HOLDS {
        match ledger.hold_info(HoldId(id)).unwrap().state {
            HoldState::Posted { amount: 4 } => counted.0 += 1,
            HoldState::Voided => counted.1 += 1,
            HoldState::Expired => counted.2 += 1,
            other => panic!("hold {id} ended {other:?}"),
        }
    }
    assert_eq!(counted, (posts, voids, swept));
    assert_eq!(ledger.balance(B), Ok(4 * posts as i64));
    let sources: i64 = (0..SOURCES).map(|id| ledger.balance(source(id)).unwrap()).sum();
    assert_eq!(sources, 4_000 - 4 * posts as i64);
    assert_eq!(ledger.audit().held_total, 0);
    assert!(ledger.audit().is_consistent());
}

#[test]
fn concurrent_duplicates_of_a_hold_create_it_once() {
    let (ledger, _) = ledger_at(0);
    let first = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..8).map(|_| scope.spawn(|| ledger.hold(request(9, 60, 100)))).collect();
        racers
            .into_iter()
            .map(|racer| racer.join().unwrap().unwrap())
            .filter(|receipt| !receipt.repeat)
            .count()
    });
    assert_eq!(first, 1);
    assert_eq!(ledger.account_info(A).map(|info| (info.balance, info.held)), Ok((40, 60)));
}

/// A clock that counts its readings.
#[derive(Debug, Default)]
struct CountingClock(std::sync::atomic::AtomicU64);

impl atomic_ledger::Clock for CountingClock {
    fn now_ms(&self) -> u64 {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        1_000
    }
}

/// A hold that never expires costs no clock reading through its whole life;
/// one with an expiry reads the clock at each step, and can still expire.
#[test]
fn a_hold_that_never_expires_never_reads_the_clock() {
    let clock = Arc::new(CountingClock::default());
    let ledger = Ledger::builder().clock(clock.clone()).build().unwrap();
    ledger.open_account(A, AccountOptions::default()).unwrap();
    ledger.open_account(B, AccountOptions::default()).unwrap();
    ledger.credit(A, 100).unwrap();
    let readings = || clock.0.load(std::sync::atomic::Ordering::Relaxed);
    let never = request(1, 10, HoldRequest::NEVER_EXPIRES);
    ledger.hold(never).unwrap();
    assert!(ledger.hold(never).unwrap().repeat);
    assert_eq!(ledger.hold_info(HoldId(1)).map(|info| info.state), Ok(HoldState::Open));
    assert_eq!(ledger.post(HoldId(1), 4), Ok(Posted { posted: 4, returned: 6 }));
    assert_eq!(readings(), 0, "no step of a never-expiring hold reads the clock");
    ledger.hold(request(2, 10, 1_001)).unwrap();
    ledger.void(HoldId(2)).unwrap();
    assert_eq!(readings(), 2, "a hold with an expiry reads it to create and to resolve");
    assert_eq!(
        ledger.hold(request(3, 10, 1_000)),
        Err(HoldError::ExpiryInPast { expires_at_ms: 1_000, now_ms: 1_000 })
    );
}
