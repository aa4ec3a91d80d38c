//! Snapshots under load: every snapshot is one instant's books.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use atomic_ledger::{
    AccountId, AccountOptions, Floor, HoldId, HoldRequest, Ledger, ManualClock, Status, Transfer, TransferId,
};

const ACCOUNTS: u128 = 6;
const TOTAL: i128 = 6 * 500;

fn loaded_ledger() -> Ledger {
    let ledger = Ledger::builder().clock(Arc::new(ManualClock::new(0))).build().unwrap();
    for id in 1..=ACCOUNTS {
        ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
        ledger.credit(AccountId(id), 500).unwrap();
    }
    ledger
}

/// Transfers, linked batches and holds (posted or voided) keep moving money
/// while another thread takes snapshots: every snapshot must total exactly
/// the money in the ledger, with no balance below its floor.
#[test]
fn every_snapshot_under_load_conserves_exactly() {
    let ledger = loaded_ledger();
    let stop = AtomicBool::new(false);
    let snapshots = std::thread::scope(|scope| {
        for thread in 0..2u128 {
            let (ledger, stop) = (&ledger, &stop);
            scope.spawn(move || {
                let account = |n: u128| AccountId(1 + n % ACCOUNTS);
                let mut n = 0u128;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let id = (thread << 64) | (n * 4);
                    let _ = ledger.transfer(Transfer {
                        id: TransferId(id),
                        from: account(n),
                        to: account(n + 1),
                        amount: 7,
                    });
                    let _ = ledger.transfer_all(&[
                        Transfer {
                            id: TransferId(id + 1),
                            from: account(n + 2),
                            to: account(n + 3),
                            amount: 5,
                        },
                        Transfer {
                            id: TransferId(id + 2),
                            from: account(n + 3),
                            to: account(n + 4),
                            amount: 900,
                        },
                    ]);
                    let hold = HoldRequest {
                        id: HoldId(id),
                        from: account(n + 4),
                        to: account(n),
                        amount: 11,
                        expires_at_ms: u64::MAX,
                    };
                    if ledger.hold(hold).is_ok() {
                        if n.is_multiple_of(2) {
                            ledger.post(HoldId(id), 6).unwrap();
                        } else {
                            ledger.void(HoldId(id)).unwrap();
                        }
                    }
                }
            });
        }
        let mut taken = 0;
        let mut seen_held = false;
        for _ in 0..300 {
            let snapshot = ledger.snapshot();
            assert_eq!(snapshot.total(), TOTAL, "epoch {}", snapshot.epoch());
            assert_eq!(snapshot.accounts().len() as u128, ACCOUNTS);
            assert!(snapshot.accounts().iter().all(|account| account.balance >= 0));
            seen_held |= snapshot.held_total() > 0;
            taken += 1;
        }
        stop.store(true, Ordering::Relaxed);
        (taken, seen_held)
    });
    assert_eq!(snapshots.0, 300);
    let audit = ledger.audit();
    assert!(audit.is_consistent(), "{audit:?}");
    assert_eq!(audit.balance_total, TOTAL);
}

/// Single-account debits never wait for a snapshot; snapshots must still be
/// ordered with them. One thread only debits, so the snapshots' totals must
/// never increase, and every debit that returned before a snapshot began is in it.
#[test]
fn snapshots_are_ordered_with_concurrent_debits() {
    let ledger = Arc::new(loaded_ledger());
    let debits_done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let debitor = {
        let (ledger, debits_done, stop) = (ledger.clone(), debits_done.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u128;
            while !stop.load(Ordering::Relaxed) && ledger.debit(AccountId(1 + n % ACCOUNTS), 1).is_ok() {
                debits_done.fetch_add(1, Ordering::SeqCst);
                n += 1;
            }
        })
    };
    let mut previous = TOTAL;
    for _ in 0..500 {
        let returned_before = i128::from(debits_done.load(Ordering::SeqCst));
        let total = ledger.snapshot().total();
        assert!(total <= previous, "a snapshot went back in time: {total} after {previous}");
        assert!(total <= TOTAL - returned_before, "missed a debit that returned before it began");
        previous = total;
    }
    stop.store(true, Ordering::Relaxed);
    debitor.join().unwrap();
}

#[test]
fn accounts_opened_during_snapshots_appear_in_the_later_ones() {
    let ledger = Ledger::new();
    let mut opened = 0;
    std::thread::scope(|scope| {
        let opener = scope.spawn(|| {
            for id in 1..=200u128 {
                ledger
                    .open_account(
                        AccountId(id),
                        AccountOptions { floor: Floor::Overdraft(5), ..AccountOptions::default() },
                    )
                    .unwrap();
                ledger.debit(AccountId(id), 5).unwrap();
            }
        });
        while !opener.is_finished() {
            let snapshot = ledger.snapshot();
            let count = snapshot.accounts().len();
            assert!(count >= opened, "accounts disappeared");
            opened = count;
            assert!(snapshot.accounts().windows(2).all(|pair| pair[0].id < pair[1].id), "sorted by id");
            assert!(snapshot.accounts().iter().all(|account| account.status == Status::Open));
        }
        opener.join().unwrap();
    });
    let last = ledger.snapshot();
    assert_eq!(last.accounts().len(), 200);
    assert_eq!(last.total(), -1_000);
}
