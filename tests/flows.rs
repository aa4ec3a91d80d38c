//! External flows (what entered by `credit` and left by `debit`) are counted
//! exactly by the audit, with many threads over several ledgers at once.

use atomic_ledger::{AccountId, AccountOptions, Ledger};

const THREADS: u64 = 80;
const LEDGERS: usize = 6;
const ROUNDS: u64 = 300;

#[test]
fn flows_are_exact_across_many_threads_and_ledgers() {
    let ledgers: Vec<Ledger> = (0..LEDGERS)
        .map(|_| {
            let ledger = Ledger::builder().accounts_max(4).build().unwrap();
            ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
            ledger
        })
        .collect();
    // Per thread, per ledger: (entered, left) that the thread saw succeed.
    let tallies: Vec<Vec<(u128, u128)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let ledgers = &ledgers;
                scope.spawn(move || {
                    let mut tally = vec![(0u128, 0u128); LEDGERS];
                    for round in 0..ROUNDS {
                        for (index, ledger) in ledgers.iter().enumerate() {
                            let amount = 1 + (thread + round + index as u64) % 5;
                            ledger.credit(AccountId(1), amount).unwrap();
                            tally[index].0 += u128::from(amount);
                            if ledger.debit(AccountId(1), amount + 1).is_ok() {
                                tally[index].1 += u128::from(amount + 1);
                            }
                        }
                    }
                    tally
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap()).collect()
    });
    for (index, ledger) in ledgers.iter().enumerate() {
        let entered: u128 = tallies.iter().map(|tally| tally[index].0).sum();
        let left: u128 = tallies.iter().map(|tally| tally[index].1).sum();
        let audit = ledger.audit();
        assert_eq!((audit.entered_total, audit.left_total), (entered, left), "ledger {index}");
        assert!(audit.is_consistent(), "ledger {index}: {audit:?}");
    }
}
