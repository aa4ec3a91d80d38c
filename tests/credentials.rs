//! Credentials: every refusal, caps consumed and given back, and revocation
//! that cannot be outrun, with real threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use atomic_ledger::{
    AccountAction, AccountError, AccountId, AccountOptions, AsError, CredentialError, CredentialId,
    CredentialSpec, HoldId, HoldRequest, Ledger, ManualClock, Rejection, Scopes, Status, Transfer,
    TransferId, AMOUNT_MAX,
};

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);
const KEY: CredentialId = CredentialId(7);

fn ledger() -> (Ledger, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(1_000));
    let ledger = Ledger::builder().clock(clock.clone()).build().unwrap();
    for id in [A, B] {
        ledger.open_account(id, AccountOptions::default()).unwrap();
    }
    ledger.credit(A, 1_000).unwrap();
    (ledger, clock)
}

fn spec(scopes: Scopes) -> CredentialSpec {
    CredentialSpec {
        account: A,
        scopes,
        amount_max_per_op: None,
        spend_cap: None,
        expires_at_ms: None,
        rate_limit: None,
    }
}

fn denied<T: std::fmt::Debug, E: std::fmt::Debug>(result: Result<T, AsError<E>>) -> CredentialError {
    match result {
        Err(AsError::Denied(error)) => error,
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[test]
fn issuing_validates_and_is_idempotent() {
    let (ledger, _) = ledger();
    let good = spec(Scopes::READ);
    assert_eq!(
        ledger.issue_credential(CredentialId(0), good),
        Err(CredentialError::ReservedCredentialId(CredentialId(0)))
    );
    let unknown = CredentialSpec { account: AccountId(9), ..good };
    assert_eq!(ledger.issue_credential(KEY, unknown), Err(CredentialError::UnknownAccount(AccountId(9))));
    for cap in [0, AMOUNT_MAX + 1] {
        let bad = CredentialSpec { spend_cap: Some(cap), ..good };
        assert_eq!(
            ledger.issue_credential(KEY, bad),
            Err(CredentialError::CapOutOfRange { cap, amount_max: AMOUNT_MAX })
        );
    }
    let stale = CredentialSpec { expires_at_ms: Some(1_000), ..good };
    assert_eq!(
        ledger.issue_credential(KEY, stale),
        Err(CredentialError::ExpiryInPast { expires_at_ms: 1_000, now_ms: 1_000 })
    );
    assert_eq!(ledger.issue_credential(KEY, good), Ok(()));
    assert_eq!(ledger.issue_credential(KEY, good), Ok(()));
    assert_eq!(ledger.issue_credential(KEY, spec(Scopes::ALL)), Err(CredentialError::IdConflict(KEY)));
}

#[test]
fn every_refusal_has_its_variant_and_changes_nothing() {
    let (ledger, clock) = ledger();
    let capped = CredentialSpec {
        account: A,
        scopes: Scopes::DEBIT | Scopes::READ,
        amount_max_per_op: Some(100),
        spend_cap: Some(150),
        expires_at_ms: Some(2_000),
        rate_limit: None,
    };
    ledger.issue_credential(KEY, capped).unwrap();
    assert_eq!(
        denied(ledger.debit_as(CredentialId(8), 1)),
        CredentialError::UnknownCredential(CredentialId(8))
    );
    assert_eq!(
        denied(ledger.credit_as(KEY, 1)),
        CredentialError::ScopeMissing {
            id: KEY,
            needed: Scopes::CREDIT,
            granted: Scopes::DEBIT | Scopes::READ
        }
    );
    assert_eq!(
        denied(ledger.debit_as(KEY, 101)),
        CredentialError::PerOpCapExceeded { id: KEY, amount: 101, amount_max: 100 }
    );
    assert_eq!(ledger.debit_as(KEY, 100), Ok(900));
    assert_eq!(
        denied(ledger.debit_as(KEY, 51)),
        CredentialError::SpendCapExceeded { id: KEY, cap: 150, spent: 100, requested: 51 }
    );
    let theirs = Transfer { id: TransferId(1), from: B, to: A, amount: 1 };
    assert_eq!(
        denied(ledger.transfer_as(KEY, theirs)),
        CredentialError::WrongAccount { id: KEY, account: A, requested: B }
    );
    clock.set_ms(2_000);
    assert_eq!(
        denied(ledger.debit_as(KEY, 1)),
        CredentialError::Expired { id: KEY, expires_at_ms: 2_000, now_ms: 2_000 }
    );
    ledger.revoke(KEY).unwrap();
    assert_eq!(denied(ledger.account_info_as(KEY)), CredentialError::Revoked(KEY));
    assert_eq!(ledger.balance(A), Ok(900));
    assert_eq!(ledger.credential_info(KEY).unwrap().spent, 100);
}

#[test]
fn a_failed_operation_gives_its_spend_back() {
    let (ledger, _) = ledger();
    ledger
        .issue_credential(
            KEY,
            CredentialSpec { spend_cap: Some(1_500), ..spec(Scopes::DEBIT | Scopes::HOLD) },
        )
        .unwrap();
    let failed = ledger.debit_as(KEY, 1_001);
    assert!(matches!(
        failed,
        Err(AsError::Failed(AccountError::Rejected(Rejection::InsufficientFunds { .. })))
    ));
    let transfer = Transfer { id: TransferId(1), from: A, to: B, amount: 1_001 };
    assert!(matches!(ledger.transfer_as(KEY, transfer), Err(AsError::Failed(_))));
    let hold = HoldRequest { id: HoldId(1), from: A, to: B, amount: 1_001, expires_at_ms: u64::MAX };
    assert!(matches!(ledger.hold_as(KEY, hold), Err(AsError::Failed(_))));
    assert_eq!(ledger.credential_info(KEY).unwrap().spent, 0);
    assert_eq!(ledger.debit_as(KEY, 1_000), Ok(0));
    assert_eq!(ledger.credential_info(KEY).unwrap().spent, 1_000);
}

#[test]
fn scopes_cover_every_credentialed_operation() {
    let (ledger, _) = ledger();
    ledger.issue_credential(KEY, spec(Scopes::ALL)).unwrap();
    ledger.issue_credential(CredentialId(8), spec(Scopes::NONE)).unwrap();
    let hold = HoldRequest { id: HoldId(1), from: A, to: B, amount: 10, expires_at_ms: u64::MAX };
    let transfer = Transfer { id: TransferId(1), from: A, to: B, amount: 5 };
    let none = CredentialId(8);
    assert!(matches!(
        denied(ledger.debit_as(none, 1)),
        CredentialError::ScopeMissing { needed: Scopes::DEBIT, .. }
    ));
    assert!(matches!(
        denied(ledger.transfer_as(none, transfer)),
        CredentialError::ScopeMissing { needed: Scopes::DEBIT, .. }
    ));
    assert!(matches!(
        denied(ledger.hold_as(none, hold)),
        CredentialError::ScopeMissing { needed: Scopes::HOLD, .. }
    ));
    assert!(matches!(
        denied(ledger.credit_as(none, 1)),
        CredentialError::ScopeMissing { needed: Scopes::CREDIT, .. }
    ));
    assert!(matches!(
        denied(ledger.account_info_as(none)),
        CredentialError::ScopeMissing { needed: Scopes::READ, .. }
    ));
    assert!(matches!(
        denied(ledger.administer_as(none, AccountAction::Freeze)),
        CredentialError::ScopeMissing { needed: Scopes::ADMIN, .. }
    ));
    ledger.hold_as(KEY, hold).unwrap();
    assert!(matches!(
        denied(ledger.void_as(none, HoldId(1))),
        CredentialError::ScopeMissing { needed: Scopes::RESOLVE, .. }
    ));
    assert_eq!(ledger.post_as(KEY, HoldId(1), 4).map(|posted| posted.returned), Ok(6));
    ledger.transfer_as(KEY, transfer).unwrap();
    ledger.administer_as(KEY, AccountAction::Freeze).unwrap();
    assert_eq!(ledger.status(A), Ok(Status::Frozen));
    assert_eq!(ledger.balance(B), Ok(9));
}

/// Real threads use a key as fast as they can while the main thread revokes
/// it. Every use that succeeded was already done when `revoke` returned, and
/// every use that began after it was refused.
#[test]
fn a_revocation_cannot_be_outrun() {
    let (ledger, _) = ledger();
    ledger.credit(A, 1_000_000).unwrap();
    ledger.issue_credential(KEY, spec(Scopes::DEBIT)).unwrap();
    let revoked = AtomicBool::new(false);
    let succeeded_after = AtomicU64::new(0);
    let balance_at_revoke = std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let began_after_revoke = revoked.load(Ordering::SeqCst);
                match ledger.debit_as(KEY, 1) {
                    Ok(_) if began_after_revoke => {
                        succeeded_after.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(AsError::Denied(CredentialError::Revoked(_))) => break,
                    Err(other) => panic!("{other:?}"),
                }
            });
        }
        // Let the users get going (a count, not a sleep).
        while ledger.balance(A).unwrap() > 1_001_000 - 1_000 {
            std::hint::spin_loop();
        }
        ledger.revoke(KEY).unwrap();
        let balance = ledger.balance(A).unwrap();
        revoked.store(true, Ordering::SeqCst);
        balance
    });
    assert_eq!(succeeded_after.load(Ordering::SeqCst), 0, "a use that began after revoke returned succeeded");
    assert_eq!(ledger.balance(A), Ok(balance_at_revoke), "a use completed after revoke returned");
    assert_eq!(ledger.credential_info(KEY).unwrap().in_use, 0);
}

/// Eight threads race for a cap of 1 000 units in ones: exactly 1 000 succeed.
#[test]
fn racing_uses_never_exceed_the_spending_cap() {
    let (ledger, _) = ledger();
    ledger.credit(A, 1_000_000).unwrap();
    ledger.issue_credential(KEY, CredentialSpec { spend_cap: Some(1_000), ..spec(Scopes::DEBIT) }).unwrap();
    let granted: usize = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| (0..400).filter(|_| ledger.debit_as(KEY, 1).is_ok()).count()))
            .collect();
        racers.into_iter().map(|racer| racer.join().unwrap()).sum()
    });
    assert_eq!(granted, 1_000);
    assert_eq!(ledger.balance(A), Ok(1_001_000 - 1_000));
    assert_eq!(ledger.credential_info(KEY).unwrap().spent, 1_000);
}

#[test]
fn a_downgrade_waits_only_for_uses_under_the_old_scopes() {
    let (ledger, _) = ledger();
    ledger.credit(A, 1_000_000).unwrap();
    ledger.issue_credential(KEY, spec(Scopes::DEBIT | Scopes::READ)).unwrap();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // A steady stream of reads, which stay allowed: they must not hold the downgrade up.
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                ledger.account_info_as(KEY).unwrap();
            }
        });
        ledger.downgrade_credential(KEY, Scopes::READ).unwrap();
        assert!(matches!(denied(ledger.debit_as(KEY, 1)), CredentialError::ScopeMissing { .. }));
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(ledger.credential_info(KEY).unwrap().scopes, Scopes::READ);
}

/// Without a cap nothing is counted, so lifetime spending far beyond what the
/// counter could hold never corrupts the credential.
#[test]
fn an_uncapped_credential_counts_nothing() {
    let (ledger, _) = ledger();
    ledger.issue_credential(KEY, spec(Scopes::DEBIT)).unwrap();
    for _ in 0..4 {
        ledger.credit(A, AMOUNT_MAX - 1_000).unwrap();
        ledger.debit_as(KEY, AMOUNT_MAX - 1_000).unwrap();
    }
    let info = ledger.credential_info(KEY).unwrap();
    assert_eq!((info.spent, info.in_use, info.revoked, info.scopes), (0, 0, false, Scopes::DEBIT));
    assert_eq!(ledger.balance(A), Ok(1_000));
}

/// The same transfer id sent 20 times at once with a credential whose cap
/// fits the amount once: applied once, and every response is that outcome
/// (the repeats are answered under the id's lock, not refused by the cap).
#[test]
fn concurrent_duplicates_of_a_credentialed_transfer_all_get_the_same_answer() {
    let (ledger, _) = ledger();
    let capped = CredentialSpec { spend_cap: Some(100), ..spec(Scopes::DEBIT) };
    ledger.issue_credential(KEY, capped).unwrap();
    let transfer = Transfer { id: TransferId(9), from: A, to: B, amount: 100 };
    let start = std::sync::Barrier::new(20);
    let responses: Vec<_> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    ledger.transfer_as(KEY, transfer)
                })
            })
            .collect();
        senders.into_iter().map(|sender| sender.join().unwrap()).collect()
    });
    assert!(
        responses.iter().all(|response| matches!(response, Ok(receipt) if receipt.id == TransferId(9))),
        "{responses:?}"
    );
    assert_eq!(
        responses.iter().filter(|response| matches!(response, Ok(receipt) if !receipt.repeat)).count(),
        1
    );
    assert_eq!((ledger.balance(A), ledger.balance(B)), (Ok(900), Ok(100)));
    let info = ledger.credential_info(KEY).unwrap();
    assert_eq!((info.spent, info.in_use), (100, 0));
}
