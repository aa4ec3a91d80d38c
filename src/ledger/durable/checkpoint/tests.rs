//! Checkpoints through the ledger: what a reopen after one recovers, the
//! id tables' marks kept, segments removed, damage refused.

use std::path::Path;

use crate::{
    AccountId, AccountOptions, BucketId, BucketPolicy, CredentialId, CredentialSpec, HoldId, HoldRequest,
    HoldState, JournalError, Ledger, LedgerBuilder, Scopes, Status, Transfer, TransferError, TransferId,
};

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);
const C: AccountId = AccountId(3);

fn builder() -> LedgerBuilder {
    Ledger::builder().accounts_max(16).transfer_ids_max(64).transfer_id_shards(4)
}

fn transfer(id: u128, from: AccountId, to: AccountId, amount: u64) -> Transfer {
    Transfer { id: TransferId(id), from, to, amount }
}

fn hold(id: u128, amount: u64) -> HoldRequest {
    HoldRequest { id: HoldId(id), from: A, to: B, amount, expires_at_ms: u64::MAX }
}

fn spec() -> CredentialSpec {
    CredentialSpec {
        account: A,
        scopes: Scopes::ALL,
        amount_max_per_op: None,
        spend_cap: Some(100),
        expires_at_ms: None,
        rate_limit: Some(BucketId(1)),
    }
}

/// Everything a reopen must bring back, read through the public API.
fn state(ledger: &Ledger) -> String {
    let accounts: Vec<_> = [A, B, C].iter().map(|&id| ledger.account_info(id).unwrap()).collect();
    let holds: Vec<_> = (1..=4).map(|id| ledger.hold_info(HoldId(id)).map(|info| info.state)).collect();
    let credential = ledger.credential_info(CredentialId(1)).unwrap();
    let bucket = ledger.bucket_info(BucketId(1)).unwrap();
    format!("{accounts:?}\n{holds:?}\n{credential:?}\n{bucket:?}")
}

/// Half of every kind of operation, a checkpoint (if `checkpoint`), the
/// other half.
fn workload(ledger: &Ledger, checkpoint: bool) -> Option<crate::Checkpoint> {
    for id in [A, B, C] {
        ledger.open_account(id, AccountOptions::default()).unwrap();
    }
    ledger.credit(A, 500).unwrap();
    ledger
        .open_bucket(
            BucketId(1),
            BucketPolicy { capacity: 50, refill_amount: 1, refill_interval_ms: 1 << 40 },
        )
        .unwrap();
    ledger.issue_credential(CredentialId(1), spec()).unwrap();
    ledger.transfer(transfer(1, A, B, 30)).unwrap();
    assert!(ledger.transfer(transfer(2, B, C, 1_000)).is_err()); // rejected, remembered
    ledger.transfer_all(&[transfer(10, A, B, 10), transfer(11, A, C, 10)]).unwrap();
    ledger.hold(hold(1, 40)).unwrap();
    ledger.hold(hold(2, 20)).unwrap();
    ledger.debit_as(CredentialId(1), 25).unwrap();
    let written = if checkpoint { ledger.checkpoint().unwrap() } else { None };
    ledger.post(HoldId(1), 15).unwrap(); // a hold the checkpoint holds open
    ledger.hold(hold(3, 5)).unwrap();
    ledger.void(HoldId(3)).unwrap();
    ledger.transfer(transfer(3, B, C, 7)).unwrap();
    ledger.debit_as(CredentialId(1), 5).unwrap();
    ledger.freeze(C).unwrap();
    written
}

fn assert_answers_as_before(ledger: &Ledger) {
    assert_eq!(ledger.transfer(transfer(1, A, B, 30)).map(|receipt| receipt.repeat), Ok(true));
    assert!(matches!(
        ledger.transfer(transfer(2, B, C, 1_000)),
        Err(TransferError::Rejected { repeat: true, .. })
    ));
    assert_eq!(ledger.transfer(transfer(3, B, C, 7)).map(|receipt| receipt.repeat), Ok(true));
    let batch = ledger.transfer_all(&[transfer(10, A, B, 10), transfer(11, A, C, 10)]);
    assert_eq!(batch.map(|receipt| receipt.repeat), Ok(true));
    assert_eq!(ledger.hold(hold(2, 20)).map(|receipt| receipt.repeat), Ok(true));
    assert_eq!(ledger.hold_info(HoldId(1)).unwrap().state, HoldState::Posted { amount: 15 });
    assert_eq!(ledger.status(C), Ok(Status::Frozen));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_reopen_after_a_checkpoint_recovers_what_a_full_replay_does() {
    let (with, without) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (live, checkpoint) = {
        let ledger = builder().open(with.path()).unwrap();
        let checkpoint = workload(&ledger, true).unwrap();
        (state(&ledger), checkpoint)
    };
    {
        // The same operations, no checkpoint (which writes no record).
        let ledger = builder().open(without.path()).unwrap();
        assert_eq!(workload(&ledger, false), None);
        assert_eq!(state(&ledger), live);
    }
    let ledger = builder().open(with.path()).unwrap();
    assert_eq!(state(&ledger), live);
    let recovery = ledger.recovery().unwrap().clone();
    assert_eq!(recovery.checkpoint, Some(checkpoint.position));
    let full = builder().open(without.path()).unwrap();
    assert_eq!(state(&full), live);
    assert!(recovery.entries < full.recovery().unwrap().entries, "{recovery:?}");
    assert_eq!(recovery.next_position, full.recovery().unwrap().next_position);
    assert_answers_as_before(&ledger);
    assert_answers_as_before(&full);
    assert_eq!(state(&ledger), state(&full));
}

fn expired_low_water(ledger: &Ledger, id: u128) -> Option<TransferId> {
    match ledger.transfer(transfer(id, A, B, 1)) {
        Err(TransferError::IdExpired { low_water, .. }) => Some(low_water),
        _ => None,
    }
}

#[test]
fn the_id_tables_marks_and_records_survive_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let small = || Ledger::builder().accounts_max(4).transfer_ids_max(8).transfer_id_shards(1).holds_max(4);
    let (mark, hold_mark) = {
        let ledger = small().open(dir.path()).unwrap();
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.open_account(B, AccountOptions::default()).unwrap();
        ledger.credit(A, 1_000).unwrap();
        for id in 1..=20 {
            ledger.transfer(transfer(id, A, B, 1)).unwrap();
        }
        ledger.checkpoint().unwrap().unwrap();
        for id in 21..=30 {
            ledger.transfer(transfer(id, A, B, 1)).unwrap();
        }
        for id in 1..=6 {
            ledger.hold(hold(id, 1)).unwrap();
            ledger.void(HoldId(id)).unwrap();
        }
        // A second checkpoint starts from the first.
        ledger.checkpoint().unwrap().unwrap();
        let mark = expired_low_water(&ledger, 1).unwrap();
        let hold_mark = match ledger.hold(hold(1, 1)) {
            Err(crate::HoldError::IdExpired { low_water, .. }) => low_water,
            other => panic!("{other:?}"),
        };
        (mark, hold_mark)
    };
    assert!(mark.0 >= 20, "{mark:?}");
    let ledger = small().open(dir.path()).unwrap();
    assert_eq!(ledger.recovery().unwrap().entries, 0, "everything came from the checkpoint");
    assert_eq!(expired_low_water(&ledger, 1), Some(mark));
    assert_eq!(ledger.transfer(transfer(30, A, B, 1)).map(|receipt| receipt.repeat), Ok(true));
    assert!(
        matches!(ledger.hold(hold(1, 1)), Err(crate::HoldError::IdExpired { low_water, .. }) if low_water == hold_mark)
    );
    assert_eq!(ledger.hold(hold(6, 1)).map(|receipt| receipt.repeat), Ok(true));
    assert_eq!(ledger.balance(B), Ok(30));
}

#[test]
fn a_table_with_other_shards_refuses_every_id_the_old_one_did() {
    let dir = tempfile::tempdir().unwrap();
    let mark = {
        let ledger = Ledger::builder()
            .accounts_max(4)
            .transfer_ids_max(8)
            .transfer_id_shards(4)
            .open(dir.path())
            .unwrap();
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.open_account(B, AccountOptions::default()).unwrap();
        ledger.credit(A, 1_000).unwrap();
        for id in 1..=40 {
            ledger.transfer(transfer(id, A, B, 1)).unwrap();
        }
        ledger.checkpoint().unwrap().unwrap();
        (1..=40).filter_map(|id| expired_low_water(&ledger, id)).map(|mark| mark.0).max().unwrap()
    };
    let ledger =
        Ledger::builder().accounts_max(4).transfer_ids_max(8).transfer_id_shards(2).open(dir.path()).unwrap();
    for id in 1..=mark {
        assert!(expired_low_water(&ledger, id).is_some(), "id {id} is refused");
    }
}

fn files(dir: &Path, extension: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|found| found == extension))
        .count()
}

#[test]
fn a_checkpoint_removes_the_segments_it_covers_and_the_rest_recover() {
    let dir = tempfile::tempdir().unwrap();
    let small_segments = || builder().transfer_ids_max(4_096).journal_segment_bytes_max(4_096);
    let balances = {
        let ledger = small_segments().open(dir.path()).unwrap();
        for id in [A, B] {
            ledger.open_account(id, AccountOptions::default()).unwrap();
        }
        ledger.credit(A, 1_000_000).unwrap();
        for id in 1..=300 {
            ledger.transfer(transfer(id, A, B, id as u64)).unwrap(); // a sync each: segments roll
        }
        let segments_before = files(dir.path(), "log");
        assert!(segments_before > 3, "{segments_before} segments");
        let checkpoint = ledger.checkpoint().unwrap().unwrap();
        assert_eq!(checkpoint.segments_removed, segments_before - 1);
        assert_eq!(files(dir.path(), "log"), 1);
        assert_eq!(files(dir.path(), "ckpt"), 1);
        ledger.transfer(transfer(301, B, A, 1)).unwrap();
        (ledger.balance(A).unwrap(), ledger.balance(B).unwrap())
    };
    let ledger = small_segments().open(dir.path()).unwrap();
    assert_eq!((ledger.balance(A).unwrap(), ledger.balance(B).unwrap()), balances);
    assert_eq!(ledger.transfer(transfer(150, A, B, 150)).map(|receipt| receipt.repeat), Ok(true));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_damaged_checkpoint_refuses_to_open_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ledger = builder().open(dir.path()).unwrap();
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.credit(A, 5).unwrap();
        ledger.checkpoint().unwrap().unwrap();
    }
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|found| found == "ckpt"))
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();
    for index in [3, 20, bytes.len() - 1] {
        let mut flipped = bytes.clone();
        flipped[index] ^= 1;
        std::fs::write(&file, &flipped).unwrap();
        match builder().open(dir.path()) {
            Err(JournalError::Format(error)) => {
                let name = file.file_name().unwrap().to_str().unwrap();
                assert!(error.to_string().contains(name), "{error}");
            }
            other => panic!("byte {index}: {other:?}"),
        }
    }
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(builder().open(dir.path()).unwrap().balance(A), Ok(5));
}

#[test]
fn an_in_memory_ledger_has_nothing_to_checkpoint() {
    assert_eq!(Ledger::new().checkpoint().unwrap(), None);
}

#[test]
fn a_checkpoint_cut_before_its_rename_is_ignored_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let left_over = dir.path().join("checkpoint-00000000000000000005.ckpt.tmp");
    {
        let ledger = builder().open(dir.path()).unwrap();
        ledger.open_account(A, AccountOptions::default()).unwrap();
        ledger.credit(A, 5).unwrap();
    }
    std::fs::write(&left_over, b"half a checkpoint").unwrap();
    let ledger = builder().open(dir.path()).unwrap();
    assert_eq!((ledger.balance(A), ledger.recovery().unwrap().checkpoint), (Ok(5), None));
    ledger.checkpoint().unwrap().unwrap();
    assert!(!left_over.exists());
    assert_eq!(files(dir.path(), "tmp"), 0);
}
