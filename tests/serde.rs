//! The `serde` feature: the public ids, requests, receipts, infos and
//! errors round-trip through JSON, and what must be validated on the way in
//! is (`Scopes` bits). Run with `cargo test --features serde --test serde`.
#![cfg(feature = "serde")]

use std::fmt::Debug;

use atomic_ledger::{
    AccountError, AccountId, AccountOptions, AsError, Asset, BucketId, BucketPolicy, CredentialError,
    CredentialId, CredentialSpec, Floor, HoldError, HoldId, HoldRequest, HoldState, JournalAction,
    JournalFailed, Ledger, LinkedError, Rejection, Scopes, Status, Transfer, TransferError, TransferId,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) -> String {
    let json = serde_json::to_string(value).expect("serializes");
    let back: T = serde_json::from_str(&json).unwrap_or_else(|error| panic!("{json}: {error}"));
    assert_eq!(&back, value, "{json}");
    json
}

#[test]
fn requests_and_ids_round_trip() {
    let transfer = Transfer { id: TransferId(u128::MAX), from: AccountId(1), to: AccountId(2), amount: 5 };
    assert_eq!(round_trip(&transfer), format!(r#"{{"id":{},"from":1,"to":2,"amount":5}}"#, u128::MAX));
    round_trip(&HoldRequest {
        id: HoldId(3),
        from: AccountId(1),
        to: AccountId(2),
        amount: 9,
        expires_at_ms: 77,
    });
    round_trip(&AccountOptions { floor: Floor::Overdraft(50), asset: Asset(978), ceiling: Some(1_000) });
    round_trip(&AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() });
    round_trip(&CredentialSpec {
        account: AccountId(7),
        scopes: Scopes::DEBIT | Scopes::READ,
        amount_max_per_op: Some(10),
        spend_cap: None,
        expires_at_ms: Some(1),
        rate_limit: Some(BucketId(2)),
    });
    round_trip(&BucketPolicy { capacity: 10, refill_amount: 1, refill_interval_ms: 1_000 });
    round_trip(&(CredentialId(4), Status::Frozen));
}

#[test]
fn states_and_errors_round_trip() {
    let reason = Rejection::InsufficientFunds { account: AccountId(1), available: 3, requested: 5 };
    for state in
        [HoldState::Open, HoldState::Posted { amount: 4 }, HoldState::Voided, HoldState::Rejected(reason)]
    {
        round_trip(&state);
    }
    round_trip(&TransferError::Rejected { reason, repeat: true });
    round_trip(&TransferError::IdExpired { id: TransferId(3), low_water: TransferId(9) });
    let failed =
        JournalFailed { action: JournalAction::Sync, kind: std::io::ErrorKind::StorageFull, position: 12 };
    let json = round_trip(&TransferError::Journal(failed));
    assert!(json.contains("StorageFull"), "{json}");
    round_trip(&AccountError::Rejected(Rejection::AccountFrozen { account: AccountId(2) }));
    round_trip(&HoldError::AlreadyResolved { id: HoldId(1), state: HoldState::Voided });
    round_trip(&AsError::<TransferError>::Denied(CredentialError::Revoked(CredentialId(5))));
    let legs =
        vec![TransferError::LinkedLegFailed { failed_index: 1 }, TransferError::UnknownAccount(AccountId(9))];
    round_trip(&LinkedError::LegFailed { index: 1, legs });
}

#[test]
fn receipts_infos_and_snapshots_from_a_real_ledger_round_trip() {
    let ledger = Ledger::new();
    ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
    ledger.credit(AccountId(1), 10).unwrap();
    let receipt =
        ledger.transfer(Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(2), amount: 4 });
    round_trip(&receipt.unwrap());
    round_trip(&ledger.account_info(AccountId(1)).unwrap());
    round_trip(&ledger.audit());
    let snapshot = ledger.snapshot();
    round_trip(&snapshot.accounts().to_vec());
}

#[test]
fn scopes_with_bits_that_name_nothing_are_refused() {
    assert_eq!(round_trip(&Scopes::READ), u8::from(Scopes::READ).to_string());
    let unknown = serde_json::from_str::<Scopes>("128");
    assert!(unknown.is_err(), "{unknown:?}");
}

#[test]
fn an_unknown_io_error_kind_reads_back_as_other() {
    let json = r#"{"action":"Sync","kind":"SomethingNew","position":3}"#;
    let failed: JournalFailed = serde_json::from_str(json).unwrap();
    assert_eq!(failed.kind, std::io::ErrorKind::Other);
}

#[test]
fn events_and_statements_round_trip() {
    use atomic_ledger::{Change, Event, Since, StatementPage, Statements};

    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::builder().accounts_max(8).holds_max(8).open(dir.path()).unwrap();
    let (a, b) = (AccountId(1), AccountId(2));
    for id in [a, b] {
        ledger.open_account(id, AccountOptions::default()).unwrap();
    }
    ledger.credit(a, 50).unwrap();
    ledger.transfer(Transfer { id: TransferId(1), from: a, to: b, amount: 80 }).unwrap_err();
    ledger.hold(HoldRequest { id: HoldId(1), from: a, to: b, amount: 20, expires_at_ms: u64::MAX }).unwrap();
    ledger.post(HoldId(1), 5).unwrap();
    ledger.freeze(b).unwrap();
    let events = ledger.subscribe(Since::Position(0)).unwrap();
    drop(ledger);
    let events: Vec<Event> = events.map(Result::unwrap).collect();
    let mut statements = Statements::new(16);
    for event in &events {
        round_trip(event);
        statements.apply(event);
    }
    let rejected =
        events.iter().find(|event| matches!(event.change, Change::TransferRejected { .. })).unwrap();
    assert!(round_trip(rejected).contains("InsufficientFunds"), "the reason is kept");
    let page: StatementPage = statements.statement(a, 0, 10).unwrap();
    round_trip(&page);
    assert_eq!(page.balance, 45, "50, less the 5 posted of the hold");
}
