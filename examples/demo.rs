//! The main demo: many threads hammer a few accounts with transfers, retries of
//! the same transfer ids, and external debits (quota-style); a watcher thread
//! reads every balance as fast as it can. Then it prints throughput and the
//! audit: nobody went below their floor, no transfer applied twice, and money
//! is conserved.
//!
//! `cargo run --release --example demo`

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use atomic_ledger::{AccountId, AccountOptions, Floor, IdGenerator, Ledger, Transfer, TransferError};

const THREADS: usize = 8;
const OPERATIONS_PER_THREAD: u64 = 500_000;
const ACCOUNTS: [(AccountId, Floor, u64); 4] = [
    (AccountId(1), Floor::Zero, 10_000),
    (AccountId(2), Floor::Zero, 10_000),
    (AccountId(3), Floor::Overdraft(2_000), 0),
    (AccountId(4), Floor::Zero, 100),
];

#[derive(Default)]
struct Counts {
    applied: AtomicU64,
    rejected: AtomicU64,
    repeats_answered: AtomicU64,
    deposits: AtomicU64,
    debits: AtomicU64,
}

fn main() -> ExitCode {
    let ledger = Ledger::new();
    for (id, floor, opening) in ACCOUNTS {
        ledger.open_account(id, AccountOptions { floor, ..AccountOptions::default() }).expect("fresh ledger");
        if opening > 0 {
            ledger.credit(id, opening).expect("fits");
        }
    }
    let lowest_seen: Vec<AtomicI64> = ACCOUNTS.iter().map(|_| AtomicI64::new(i64::MAX)).collect();
    let counts = Counts::default();
    let done = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|scope| {
        scope.spawn(|| watch(&ledger, &lowest_seen, &done));
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                scope.spawn({
                    let (ledger, counts) = (&ledger, &counts);
                    move || hammer(ledger, counts, thread as u64)
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("worker panicked");
        }
        done.store(true, Ordering::Release);
    });
    let elapsed = started.elapsed();

    let operations = THREADS as u64 * OPERATIONS_PER_THREAD;
    println!(
        "{THREADS} threads, {operations} operations on {} hot accounts in {elapsed:.2?}",
        ACCOUNTS.len()
    );
    println!("  {:.2} million operations/s", operations as f64 / elapsed.as_secs_f64() / 1e6);
    println!(
        "  transfers applied {}, rejected {}, retries answered without re-applying {}, deposits {}, external debits {}",
        counts.applied.load(Ordering::Relaxed),
        counts.rejected.load(Ordering::Relaxed),
        counts.repeats_answered.load(Ordering::Relaxed),
        counts.deposits.load(Ordering::Relaxed),
        counts.debits.load(Ordering::Relaxed),
    );
    let mut overdrawn = false;
    for ((id, floor, _), lowest) in ACCOUNTS.iter().zip(&lowest_seen) {
        let info = ledger.account_info(*id).expect("opened");
        let lowest = lowest.load(Ordering::Relaxed);
        overdrawn |= lowest < info.floor;
        println!(
            "  account {id}: balance {:>6}, floor {:>6} ({floor:?}), lowest balance seen while running {lowest:>6}",
            info.balance, info.floor
        );
    }
    let audit = ledger.audit();
    println!(
        "audit: balances sum to {}, entered {} − left {} = {}; in flight {}; below floor {:?}",
        audit.balance_total,
        audit.entered_total,
        audit.left_total,
        audit.entered_total as i128 - audit.left_total as i128,
        audit.in_flight_total,
        audit.below_floor
    );
    if audit.is_consistent() && !overdrawn {
        println!("PASS: no overdraft, no transfer applied twice, money conserved");
        ExitCode::SUCCESS
    } else {
        println!("FAIL");
        ExitCode::FAILURE
    }
}

/// Random transfers among the hot accounts, each retried once under the same id
/// (as a client that timed out would), plus deposits and external debits.
fn hammer(ledger: &Ledger, counts: &Counts, seed: u64) {
    let mut ids = IdGenerator::new();
    let mut state = 0x9e37_79b9_7f4a_7c15 ^ (seed + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let mut random = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    for _ in 0..OPERATIONS_PER_THREAD / 2 {
        let from = ACCOUNTS[random(4) as usize].0;
        let to = ACCOUNTS[random(4) as usize].0;
        if from == to {
            // Money enters and leaves the ledger (deposits, quota use) at the same rate.
            let amount = 1 + random(500);
            if random(2) == 0 {
                ledger.credit(from, amount).expect("far below the maximum");
                counts.deposits.fetch_add(1, Ordering::Relaxed);
            } else if ledger.debit(from, amount).is_ok() {
                counts.debits.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        let transfer = Transfer { id: ids.next_transfer_id(), from, to, amount: 1 + random(500) };
        for attempt in 0..2 {
            match ledger.transfer(transfer) {
                Ok(receipt) if receipt.repeat => counts.repeats_answered.fetch_add(1, Ordering::Relaxed),
                Ok(_) => counts.applied.fetch_add(1, Ordering::Relaxed),
                Err(TransferError::Rejected { repeat: true, .. }) => {
                    counts.repeats_answered.fetch_add(1, Ordering::Relaxed)
                }
                Err(TransferError::Rejected { .. }) => counts.rejected.fetch_add(1, Ordering::Relaxed),
                Err(error) => panic!("attempt {attempt} of {transfer:?}: {error}"),
            };
        }
    }
}

fn watch(ledger: &Ledger, lowest_seen: &[AtomicI64], done: &AtomicBool) {
    let handles: Vec<_> = ACCOUNTS.iter().map(|(id, ..)| ledger.account(*id).expect("opened")).collect();
    while !done.load(Ordering::Acquire) {
        for (handle, lowest) in handles.iter().zip(lowest_seen) {
            lowest.fetch_min(handle.balance(), Ordering::Relaxed);
        }
    }
}
