//! Whole-ledger schedule exploration with shuttle: the real `Ledger` API end to
//! end (directory inserts and lookups, the transfer-id table, the account
//! cells), with every atomic and mutex under shuttle's scheduler, explored by
//! randomized schedules and by PCT (probabilistic concurrency testing, which
//! finds any bug of depth d with probability ≥ 1/(n·k^(d-1)) per run).
//!
//! Run: `RUSTFLAGS="--cfg atomic_ledger_shuttle" CARGO_TARGET_DIR=target/shuttle
//!       cargo test --release --test shuttle`
//! Schedules per scheduler: `SHUTTLE_ITERATIONS` (default 3000).
#![cfg(atomic_ledger_shuttle)]

use std::collections::HashMap;
use std::sync::Arc;

use atomic_ledger::{
    AccountId, AccountOptions, Floor, HoldId, HoldRequest, Ledger, ManualClock, Transfer, TransferError,
    TransferId,
};
use shuttle::sync::atomic::{AtomicBool, Ordering};
use shuttle::thread;

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);
const LATE: AccountId = AccountId(3); // opened by a thread while others already send to it

fn iterations() -> usize {
    std::env::var("SHUTTLE_ITERATIONS").ok().and_then(|value| value.parse().ok()).unwrap_or(3000)
}

fn transfer(id: u128, from: AccountId, to: AccountId, amount: u64) -> Transfer {
    Transfer { id: TransferId(id), from, to, amount }
}

/// One run of the workload; panics on any broken invariant.
fn workload() {
    let ledger = Arc::new(
        Ledger::builder()
            .accounts_max(4)
            .transfer_ids_max(16)
            .transfer_id_shards(2)
            .credentials_max(1)
            .buckets_max(1)
            .build()
            .unwrap(),
    );
    ledger.open_account(A, AccountOptions::default()).unwrap();
    ledger
        .open_account(B, AccountOptions { floor: Floor::Overdraft(2), ..AccountOptions::default() })
        .unwrap();
    ledger.credit(A, 3).unwrap();
    let done = Arc::new(AtomicBool::new(false));

    let scripts: Vec<Vec<Transfer>> = vec![
        vec![transfer(1, A, B, 2), transfer(2, B, A, 3), transfer(3, A, LATE, 1), transfer(1, A, B, 2)],
        vec![transfer(1, A, B, 2), transfer(4, B, LATE, 2), transfer(5, A, B, 1)],
    ];
    let movers: Vec<_> = scripts
        .into_iter()
        .map(|script| {
            let ledger = ledger.clone();
            thread::spawn(move || script.into_iter().map(|t| (t, ledger.transfer(t))).collect::<Vec<_>>())
        })
        .collect();
    let opener = {
        let ledger = ledger.clone();
        thread::spawn(move || {
            ledger.open_account(LATE, AccountOptions::default()).unwrap();
            let debited = ledger.debit(A, 1).is_ok();
            ledger.freeze(B).unwrap();
            ledger.unfreeze(B).unwrap();
            debited
        })
    };
    let observer = {
        let (ledger, done) = (ledger.clone(), done.clone());
        thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                for id in [A, B, LATE] {
                    if let Ok(info) = ledger.account_info(id) {
                        assert!(info.balance >= info.floor, "observed below floor: {info:?}");
                    }
                }
                thread::yield_now();
            }
        })
    };

    let mut results = Vec::new();
    for mover in movers {
        results.extend(mover.join().unwrap());
    }
    let external_debit = opener.join().unwrap();
    done.store(true, Ordering::Release);
    observer.join().unwrap();

    // Each id applied at most once, and every repeat answered consistently.
    let mut applied: HashMap<TransferId, Transfer> = HashMap::new();
    for (request, result) in &results {
        match result {
            Ok(receipt) if !receipt.repeat => {
                assert!(applied.insert(request.id, *request).is_none(), "{:?} applied twice", request.id);
            }
            Ok(_) | Err(TransferError::Rejected { .. }) | Err(TransferError::UnknownAccount(_)) => {}
            Err(other) => panic!("unexpected {other:?} for {request:?}"),
        }
    }
    // Final balances follow from what was applied.
    let mut expected: HashMap<AccountId, i64> =
        HashMap::from([(A, 3 - i64::from(external_debit)), (B, 0), (LATE, 0)]);
    for transfer in applied.values() {
        *expected.get_mut(&transfer.from).unwrap() -= transfer.amount as i64;
        *expected.get_mut(&transfer.to).unwrap() += transfer.amount as i64;
    }
    for (id, balance) in expected {
        assert_eq!(ledger.balance(id), Ok(balance), "account {id}");
    }
    let audit = ledger.audit();
    assert!(audit.is_consistent(), "{audit:?}");
}

#[test]
fn random_schedules_keep_the_invariants() {
    shuttle::check_random(workload, iterations());
}

#[test]
fn pct_schedules_keep_the_invariants() {
    shuttle::check_pct(workload, iterations(), 3);
}

/// Snapshots while transfers, a linked batch, a hold and its post or void, and
/// a thread's debit-then-credit run: every snapshot must total 5 (nothing
/// half-way) or 4 (the debit without its later credit), never 6 (the credit
/// without the debit before it), and no balance below its floor.
fn snapshot_workload() {
    const C: AccountId = AccountId(3);
    let ledger = Arc::new(
        Ledger::builder()
            .accounts_max(4)
            .transfer_ids_max(16)
            .holds_max(8)
            .transfer_id_shards(2)
            .credentials_max(1)
            .buckets_max(1)
            .clock(std::sync::Arc::new(ManualClock::new(0)))
            .build()
            .unwrap(),
    );
    for id in [A, B, C] {
        ledger.open_account(id, AccountOptions::default()).unwrap();
    }
    ledger.credit(A, 5).unwrap();
    let hold = HoldRequest { id: HoldId(1), from: A, to: C, amount: 2, expires_at_ms: 100 };
    let threads = vec![
        {
            let ledger = ledger.clone();
            thread::spawn(move || {
                let _ = ledger.transfer(transfer(1, A, B, 1));
                let _ = ledger.transfer_all(&[transfer(2, B, C, 1), transfer(3, A, C, 1)]);
                let _ = ledger.transfer(transfer(4, C, A, 1));
            })
        },
        {
            let ledger = ledger.clone();
            thread::spawn(move || {
                if ledger.hold(hold).is_ok() && ledger.post(HoldId(1), 1).is_err() {
                    let _ = ledger.void(HoldId(1));
                }
                let _ = ledger.expire_due(100);
            })
        },
        {
            let ledger = ledger.clone();
            thread::spawn(move || {
                if ledger.debit(B, 1).is_ok() {
                    ledger.credit(A, 1).unwrap();
                }
            })
        },
    ];
    for _ in 0..2 {
        let snapshot = ledger.snapshot();
        assert!([4, 5].contains(&snapshot.total()), "snapshot total {}: {snapshot:?}", snapshot.total());
        assert!(snapshot.accounts().iter().all(|account| account.balance >= 0), "{snapshot:?}");
    }
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(ledger.snapshot().total(), 5);
    assert!(ledger.audit().is_consistent());
}

#[test]
fn random_schedules_keep_snapshots_consistent() {
    shuttle::check_random(snapshot_workload, iterations());
}

#[test]
fn pct_schedules_keep_snapshots_consistent() {
    shuttle::check_pct(snapshot_workload, iterations(), 3);
}
