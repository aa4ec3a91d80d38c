//! Many threads, few hot accounts, millions of random operations.
//!
//! Checks, against an independent tally kept by the threads themselves:
//! * every balance read concurrently is at or above its floor;
//! * at the end, each balance equals its opening balance plus what the threads
//!   saw succeed (so a transfer id applied twice, or a lost update, shows up);
//! * the ledger's own audit conserves.
//!
//! Size: `ATOMIC_LEDGER_STRESS_OPS` operations in all (default 2 000 000).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use atomic_ledger::{AccountId, AccountOptions, Floor, IdGenerator, Ledger, Transfer, TransferError};

const THREADS: usize = 8;
const ACCOUNTS: [(AccountId, Floor); 5] = [
    (AccountId(1), Floor::Zero),
    (AccountId(2), Floor::Zero),
    (AccountId(3), Floor::Overdraft(500)),
    (AccountId(4), Floor::Zero),
    (AccountId(5), Floor::Unbounded),
];
const OPENING_BALANCE: u64 = 1_000;

/// xorshift64*: deterministic per thread, no dependency.
struct Rng(u64);
impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
    }
}

/// Sets the flag when dropped, so that the watcher stops even if a worker
/// panics (otherwise the scope would wait for the watcher forever).
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Per-account net change that one thread saw succeed.
type Tally = [i64; ACCOUNTS.len()];

fn worker(ledger: &Ledger, seed: u64, operations: u64) -> Tally {
    let mut rng = Rng(seed);
    let mut ids = IdGenerator::new();
    let mut tally = [0i64; ACCOUNTS.len()];
    let mut last: Option<Transfer> = None;
    for _ in 0..operations {
        let (from, to) = (rng.below(5) as usize, rng.below(5) as usize);
        let amount = 1 + rng.below(300);
        match rng.below(20) {
            0 => tally[to] += ledger.credit(ACCOUNTS[to].0, amount).map_or(0, |_| amount as i64),
            1 => tally[from] -= ledger.debit(ACCOUNTS[from].0, amount).map_or(0, |_| amount as i64),
            2 if last.is_some() => {
                // Resubmit the previous transfer: it must never apply again.
                let repeat = last.unwrap_or_else(|| unreachable!());
                match ledger.transfer(repeat) {
                    Ok(receipt) => assert!(receipt.repeat, "{repeat:?} applied twice"),
                    Err(TransferError::Rejected { repeat: true, .. }) => {}
                    Err(other) => panic!("repeat of {repeat:?} gave {other:?}"),
                }
            }
            _ if from != to => {
                let transfer = Transfer {
                    id: ids.next_transfer_id(),
                    from: ACCOUNTS[from].0,
                    to: ACCOUNTS[to].0,
                    amount,
                };
                match ledger.transfer(transfer) {
                    Ok(receipt) => {
                        assert!(!receipt.repeat);
                        tally[from] -= amount as i64;
                        tally[to] += amount as i64;
                    }
                    Err(TransferError::Rejected { repeat: false, .. }) => {}
                    Err(other) => panic!("{transfer:?} gave {other:?}"),
                }
                last = Some(transfer);
            }
            _ => {}
        }
    }
    tally
}

#[test]
fn hot_accounts_never_overdraw_and_conserve() {
    let operations: u64 = std::env::var("ATOMIC_LEDGER_STRESS_OPS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(2_000_000);
    let ledger = Ledger::builder().transfer_ids_max(1 << 18).build().unwrap();
    for (id, floor) in ACCOUNTS {
        ledger.open_account(id, AccountOptions { floor, ..AccountOptions::default() }).unwrap();
        ledger.credit(id, OPENING_BALANCE).unwrap();
    }
    let done = AtomicBool::new(false);
    let reads = AtomicU64::new(0);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let handles: Vec<_> = ACCOUNTS.iter().map(|(id, _)| ledger.account(*id).unwrap()).collect();
            while !done.load(Ordering::Acquire) {
                for handle in &handles {
                    let info = handle.info();
                    assert!(info.balance >= info.floor, "observed below floor: {info:?}");
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
        });
        let stop_watcher = StopOnDrop(&done);
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let ledger = &ledger;
                scope.spawn(move || worker(ledger, 0x9e37_79b9 + thread as u64, operations / THREADS as u64))
            })
            .collect();
        let tallies = workers.into_iter().map(|worker| worker.join().unwrap()).collect();
        drop(stop_watcher);
        reader.join().unwrap();
        tallies
    });
    assert!(reads.load(Ordering::Relaxed) > 0);
    for (index, (id, _)) in ACCOUNTS.iter().enumerate() {
        let expected = OPENING_BALANCE as i64 + tallies.iter().map(|tally| tally[index]).sum::<i64>();
        assert_eq!(ledger.balance(*id), Ok(expected), "account {id}");
    }
    let audit = ledger.audit();
    assert!(audit.is_consistent(), "{audit:?}");
    eprintln!(
        "stress: {operations} operations on {THREADS} threads over {} accounts; {} concurrent balance sweeps; audit {audit:?}",
        ACCOUNTS.len(),
        reads.load(Ordering::Relaxed)
    );
}
