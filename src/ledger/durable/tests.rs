use std::path::Path;

use super::*;
use crate::journal::storage_for_tests::{Contents, MemoryStorage};
use crate::{AccountError, AccountId, AccountOptions, Floor, LinkedError, Rejection, Status, TransferId};

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);
const C: AccountId = AccountId(3);

fn open(dir: &Path) -> Ledger {
    Ledger::builder().accounts_max(16).transfer_ids_max(64).transfer_id_shards(4).open(dir).unwrap()
}

fn transfer(id: u128, from: AccountId, to: AccountId, amount: u64) -> Transfer {
    Transfer { id: TransferId(id), from, to, amount }
}

/// Every kind of journaled operation, with its answers.
fn workload(ledger: &Ledger) -> Vec<Result<TransferReceipt, TransferError>> {
    let overdraft = AccountOptions { floor: Floor::Overdraft(50), ..AccountOptions::default() };
    ledger.open_account(A, AccountOptions::default()).unwrap();
    ledger.open_account(B, overdraft).unwrap();
    ledger.open_account(C, AccountOptions::default()).unwrap();
    ledger.credit(A, 100).unwrap();
    ledger.debit(B, 20).unwrap();
    let mut answers = vec![
        ledger.transfer(transfer(1, A, C, 30)),
        ledger.transfer(transfer(2, C, A, 1_000)), // rejected, remembered
        ledger.transfer(transfer(3, A, B, 5)),
    ];
    ledger.transfer_all(&[transfer(10, A, B, 10), transfer(11, A, C, 10)]).unwrap();
    let refused = ledger.transfer_all(&[transfer(20, B, C, 10), transfer(21, B, A, 100)]);
    assert!(matches!(refused, Err(LinkedError::LegFailed { index: 1, .. })));
    ledger.freeze(C).unwrap();
    ledger.open_account(AccountId(4), AccountOptions::default()).unwrap();
    ledger.close(AccountId(4)).unwrap();
    answers.push(ledger.transfer(transfer(4, C, A, 1))); // frozen: rejected
    answers
}

fn balances(ledger: &Ledger) -> Vec<i64> {
    [A, B, C].iter().map(|&id| ledger.balance(id).unwrap()).collect()
}

#[test]
fn a_reopened_ledger_has_every_balance_status_and_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (answers, before) = {
        let ledger = open(dir.path());
        let answers = workload(&ledger);
        (answers, balances(&ledger))
    };
    let ledger = open(dir.path());
    assert_eq!(balances(&ledger), before);
    assert_eq!(ledger.status(C), Ok(Status::Frozen));
    assert_eq!(ledger.status(AccountId(4)), Ok(Status::Closed));
    assert!(ledger.audit().is_consistent());
    // Every id answers as before, now as a repeat.
    for (id, answer) in [1u128, 2, 3, 4].into_iter().zip(&answers) {
        let retried = ledger.transfer(match id {
            1 => transfer(1, A, C, 30),
            2 => transfer(2, C, A, 1_000),
            3 => transfer(3, A, B, 5),
            _ => transfer(4, C, A, 1),
        });
        match (answer, retried) {
            (Ok(_), Ok(receipt)) => assert!(receipt.repeat),
            (
                Err(TransferError::Rejected { reason, .. }),
                Err(TransferError::Rejected { reason: again, repeat }),
            ) => {
                assert_eq!((*reason, true), (again, repeat));
            }
            (first, again) => panic!("id {id}: {first:?} then {again:?}"),
        }
    }
    let batch = ledger.transfer_all(&[transfer(10, A, B, 10), transfer(11, A, C, 10)]);
    assert_eq!(batch.map(|receipt| receipt.repeat), Ok(true));
    let refused = ledger.transfer_all(&[transfer(20, B, C, 10), transfer(21, B, A, 100)]).unwrap_err();
    let Some((1, TransferError::Rejected { repeat: true, .. })) = refused.failure() else {
        panic!("{refused:?}")
    };
    assert_eq!(balances(&ledger), before, "repeats changed nothing");
    let recovery = ledger.recovery().unwrap();
    assert!(recovery.entries > 20);
    assert_eq!(recovery.torn_tail, None);
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());
    let second = Ledger::builder().open(dir.path());
    assert!(matches!(second, Err(JournalError::Locked { .. })));
}

/// The newest segment's bytes.
fn segment(dir: &Path) -> std::path::PathBuf {
    let mut segments: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect();
    segments.sort();
    segments.pop().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn every_truncation_of_the_journal_recovers_a_consistent_prefix() {
    let dir = tempfile::tempdir().unwrap();
    drop(workload(&open(dir.path())));
    let full = std::fs::read(segment(dir.path())).unwrap();
    let mut entries_seen = std::collections::BTreeSet::new();
    for len in crate::journal::HEADER_LEN..=full.len() {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(dir.path(), copy.path());
        let file = segment(copy.path());
        std::fs::write(&file, &full[..len]).unwrap();
        let ledger = open(copy.path());
        assert!(ledger.audit().is_consistent(), "cut at {len}");
        for id in [A, B, C] {
            if let Ok(info) = ledger.account_info(id) {
                assert!(info.balance >= info.floor, "cut at {len}: {info:?}");
                assert_eq!((info.in_flight, info.holds_open), (0, 0));
            }
        }
        let recovery = ledger.recovery().unwrap();
        let balances = [A, B, C].map(|id| ledger.account_info(id).map(|info| info.balance).ok());
        entries_seen.insert((recovery.entries, balances));
        // A cut inside a record is a torn tail, reported; a cut between records is not.
        if let Some((_, offset, bytes)) = &recovery.torn_tail {
            assert_eq!(offset + bytes, len as u64);
        }
    }
    assert!(entries_seen.len() > 20, "the cuts recovered many different prefixes: {entries_seen:?}");
}

#[test]
fn a_flipped_byte_before_the_tail_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(workload(&open(dir.path())));
    let file = segment(dir.path());
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&file, &bytes).unwrap();
    match Ledger::builder().open(dir.path()) {
        Err(JournalError::Format(crate::FormatError::Corrupt { offset, .. })) => {
            assert!(offset <= middle as u64);
        }
        other => panic!("expected a corrupt record, got {other:?}"),
    }
}

#[test]
fn a_transfer_cut_by_a_crash_is_undone_and_its_id_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ledger = open(dir.path());
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.open_account(B, AccountOptions::default()).unwrap();
        ledger.credit(A, 10).unwrap();
        ledger.transfer(transfer(1, A, B, 4)).unwrap();
    }
    // Cut the last record, the transfer's credit: its debit stays.
    let file = segment(dir.path());
    let bytes = std::fs::read(&file).unwrap();
    let credit_record = 20 + 1 + 16;
    std::fs::write(&file, &bytes[..bytes.len() - credit_record]).unwrap();
    let ledger = open(dir.path());
    assert_eq!(ledger.recovery().unwrap().transfers_abandoned, 1);
    assert_eq!((ledger.balance(A), ledger.balance(B)), (Ok(10), Ok(0)));
    // Never acknowledged, so forgotten: the retry applies it, once.
    assert_eq!(ledger.transfer(transfer(1, A, B, 4)).map(|receipt| receipt.repeat), Ok(false));
    drop(ledger);
    let ledger = open(dir.path());
    assert_eq!((ledger.balance(A), ledger.balance(B)), (Ok(6), Ok(4)));
    assert_eq!(ledger.recovery().unwrap().transfers_abandoned, 0, "the settlement was journaled");
}

fn failing(configure: impl FnOnce(&mut Contents)) -> (MemoryStorage, Ledger) {
    let storage = MemoryStorage::default();
    configure(&mut storage.0.lock());
    let ledger = Ledger::builder().build_on(storage.clone()).unwrap();
    (storage, ledger)
}

#[test]
fn a_failed_sync_fails_the_operation_and_refuses_every_later_one() {
    let (_storage, ledger) = failing(|contents| contents.syncs_before_failure = Some(2));
    ledger.open_account(A, AccountOptions::default()).unwrap();
    ledger.credit(A, 5).unwrap();
    let failed = ledger.credit(A, 1).unwrap_err();
    let AccountError::Journal(failure) = failed else { panic!("{failed:?}") };
    assert_eq!(failure.action, crate::JournalAction::Sync);
    // Refused before it starts: nothing changes in memory either.
    let balance = ledger.balance(A).unwrap();
    assert_eq!(ledger.debit(A, 1), Err(AccountError::Journal(failure)));
    assert_eq!(ledger.transfer(transfer(1, A, B, 1)), Err(TransferError::Journal(failure)));
    assert_eq!(ledger.balance(A), Ok(balance));
    assert_eq!(ledger.sync(), Err(failure));
}

#[test]
fn a_failed_write_fails_the_operation() {
    let (_storage, ledger) = failing(|contents| contents.writes_before_failure = Some(0));
    let failed = ledger.open_account(A, AccountOptions::default()).unwrap_err();
    assert!(matches!(
        failed,
        crate::OpenError::Journal(JournalFailed { action: crate::JournalAction::Write, .. })
    ));
}

#[test]
fn buffered_operations_return_before_the_sync_and_the_barrier_makes_them_durable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ledger = Ledger::builder().durability(Durability::Buffered).open(dir.path()).unwrap();
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.credit(A, 7).unwrap();
        ledger.sync().unwrap();
    }
    assert_eq!(open(dir.path()).balance(A), Ok(7));
}

#[test]
fn many_transfers_share_one_sync() {
    let (storage, ledger) = failing(|_| {});
    ledger.open_account(A, AccountOptions::default()).unwrap();
    ledger.open_account(B, AccountOptions::default()).unwrap();
    ledger.credit(A, 100).unwrap();
    let syncs_before = storage.0.lock().appended.len();
    let transfers: Vec<_> = (1..=50).map(|id| transfer(id, A, B, 1)).collect();
    let results = ledger.transfer_many(&transfers);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(storage.0.lock().appended.len(), syncs_before + 1, "one write and one sync for the batch");
    assert_eq!(ledger.balance(B), Ok(50));
}

#[test]
fn a_reopened_journal_keeps_the_retried_rejection_of_an_unfunded_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let reason = {
        let ledger = open(dir.path());
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.open_account(B, AccountOptions::default()).unwrap();
        let Err(TransferError::Rejected { reason, .. }) = ledger.transfer(transfer(9, A, B, 5)) else {
            panic!()
        };
        reason
    };
    let ledger = open(dir.path());
    ledger.credit(A, 100).unwrap(); // funded now: the id must still answer as first decided
    assert_eq!(ledger.transfer(transfer(9, A, B, 5)), Err(TransferError::Rejected { reason, repeat: true }));
    assert_eq!(reason, Rejection::InsufficientFunds { account: A, available: 0, requested: 5 });
}

fn hold(id: u128, from: AccountId, to: AccountId, amount: u64) -> crate::HoldRequest {
    crate::HoldRequest { id: crate::HoldId(id), from, to, amount, expires_at_ms: u64::MAX }
}

#[test]
fn holds_survive_a_reopen_open_posted_voided_and_rejected() {
    use crate::{HoldId, HoldState};
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let ledger = open(dir.path());
        for id in [A, B] {
            ledger.open_account(id, AccountOptions::default()).unwrap();
        }
        ledger.credit(A, 100).unwrap();
        ledger.hold(hold(1, A, B, 30)).unwrap();
        ledger.hold(hold(2, A, B, 20)).unwrap();
        ledger.hold(hold(3, A, B, 10)).unwrap();
        assert!(ledger.hold(hold(4, A, B, 1_000)).is_err());
        ledger.post(HoldId(1), 25).unwrap();
        ledger.void(HoldId(2)).unwrap();
        (ledger.account_info(A).unwrap(), ledger.account_info(B).unwrap())
    };
    let ledger = open(dir.path());
    assert_eq!((ledger.account_info(A).unwrap(), ledger.account_info(B).unwrap()), before);
    assert_eq!(before.0.holds_open, 1);
    assert_eq!(before.0.held, 10);
    assert_eq!(ledger.hold_info(HoldId(1)).unwrap().state, HoldState::Posted { amount: 25 });
    assert_eq!(ledger.hold_info(HoldId(2)).unwrap().state, HoldState::Voided);
    assert_eq!(ledger.hold_info(HoldId(3)).unwrap().state, HoldState::Open);
    assert!(matches!(ledger.hold_info(HoldId(4)).unwrap().state, HoldState::Rejected(_)));
    assert_eq!(ledger.hold(hold(3, A, B, 10)).map(|receipt| receipt.repeat), Ok(true));
    assert!(matches!(
        ledger.hold(hold(4, A, B, 1_000)),
        Err(crate::HoldError::Rejected { repeat: true, .. })
    ));
    assert!(matches!(ledger.post(HoldId(1), 1), Err(crate::HoldError::AlreadyResolved { .. })));
    // The open hold still resolves, once.
    assert_eq!(ledger.post(HoldId(3), 10).map(|posted| posted.posted), Ok(10));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_post_cut_after_its_credit_is_completed_by_recovery() {
    use crate::{HoldId, HoldState};
    let dir = tempfile::tempdir().unwrap();
    {
        let ledger = open(dir.path());
        for id in [A, B] {
            ledger.open_account(id, AccountOptions::default()).unwrap();
        }
        ledger.credit(A, 100).unwrap();
        ledger.hold(hold(1, A, B, 30)).unwrap();
        ledger.post(HoldId(1), 20).unwrap();
    }
    // Cut the post's last record, the hold's end (frame, kind, id, end, returned).
    let file = segment(dir.path());
    let bytes = std::fs::read(&file).unwrap();
    let ended = 20 + 1 + 16 + 9 + 8;
    std::fs::write(&file, &bytes[..bytes.len() - ended]).unwrap();
    let ledger = open(dir.path());
    assert_eq!(ledger.recovery().unwrap().posts_completed, 1);
    assert_eq!(ledger.hold_info(HoldId(1)).unwrap().state, HoldState::Posted { amount: 20 });
    assert_eq!((ledger.balance(A), ledger.balance(B)), (Ok(80), Ok(20)));
    assert_eq!(ledger.account_info(A).unwrap().holds_open, 0);
    assert!(ledger.audit().is_consistent());
}

#[test]
fn credentials_and_buckets_survive_a_reopen_revoked_spent_and_narrowed() {
    use crate::{
        AsError, BucketId, BucketPolicy, CredentialError, CredentialId, CredentialSpec, ManualClock, Scopes,
    };
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(ManualClock::new(1_000));
    let open_at = |dir: &Path| {
        Ledger::builder()
            .accounts_max(16)
            .transfer_ids_max(64)
            .transfer_id_shards(4)
            .clock(clock.clone())
            .open(dir)
    };
    let spec = |scopes, rate_limit| CredentialSpec {
        account: A,
        scopes,
        amount_max_per_op: None,
        spend_cap: Some(100),
        expires_at_ms: None,
        rate_limit,
    };
    let policy = BucketPolicy { capacity: 50, refill_amount: 10, refill_interval_ms: 1_000 };
    {
        let ledger = open_at(dir.path()).unwrap();
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.credit(A, 500).unwrap();
        ledger.open_bucket(BucketId(1), policy).unwrap();
        ledger.issue_credential(CredentialId(1), spec(Scopes::ALL, Some(BucketId(1)))).unwrap();
        ledger.issue_credential(CredentialId(2), spec(Scopes::ALL, None)).unwrap();
        ledger.issue_credential(CredentialId(3), spec(Scopes::ALL, None)).unwrap();
        ledger.debit_as(CredentialId(1), 30).unwrap();
        assert!(ledger.revoke(CredentialId(2)).unwrap());
        ledger.downgrade_credential(CredentialId(3), Scopes::READ).unwrap();
        assert_eq!(ledger.take(BucketId(1), 5), Ok(15)); // 50 - 30 - 5
    }
    let ledger = open_at(dir.path()).unwrap();
    let info = ledger.credential_info(CredentialId(1)).unwrap();
    assert_eq!((info.spent, info.revoked, info.in_use), (30, false, 0));
    assert!(ledger.credential_info(CredentialId(2)).unwrap().revoked);
    assert_eq!(
        ledger.debit_as(CredentialId(2), 1),
        Err(AsError::Denied(CredentialError::Revoked(CredentialId(2))))
    );
    assert_eq!(ledger.credential_info(CredentialId(3)).unwrap().scopes, Scopes::READ);
    // The cap did not refill by restarting: 70 left of 100.
    let over = ledger.debit_as(CredentialId(1), 71);
    assert!(
        matches!(over, Err(AsError::Denied(CredentialError::SpendCapExceeded { spent: 30, .. }))),
        "{over:?}"
    );
    // Nor did the bucket: 15 units, until the clock moves.
    assert_eq!(ledger.bucket_info(BucketId(1)).unwrap().level, 15);
    clock.advance_ms(1_000);
    assert_eq!(ledger.bucket_info(BucketId(1)).unwrap().level, 25);
    assert_eq!(ledger.balance(A), Ok(470));
    // A restored credential acts on the restored account (it keeps the cell, not the id).
    assert_eq!(ledger.debit_as(CredentialId(1), 10), Ok(460));
    assert_eq!(ledger.balance(A), Ok(460));
}

#[test]
fn a_journal_whose_first_segment_was_cut_at_creation_opens_empty_and_works() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("segment-00000000000000000000.log"), [0u8; 10]).unwrap();
    {
        let ledger = open(dir.path());
        let recovery = ledger.recovery().unwrap();
        assert_eq!(recovery.torn_tail, Some(("segment-00000000000000000000.log".to_owned(), 0, 10)));
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.credit(A, 3).unwrap();
    }
    assert_eq!(open(dir.path()).balance(A), Ok(3));
}
