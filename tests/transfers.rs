//! Transfers: double entry, undo, exactly-once by id, bounded id memory.

use atomic_ledger::{
    AccountId, AccountOptions, Floor, IdGenerator, Ledger, Rejection, Transfer, TransferError, TransferField,
    TransferId, TransferReceipt, AMOUNT_MAX, BALANCE_MAX,
};

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);
const TREASURY: AccountId = AccountId(3);

fn ledger() -> Ledger {
    let ledger = Ledger::builder().transfer_ids_max(64).transfer_id_shards(1).build().unwrap();
    ledger.open_account(A, AccountOptions::default()).unwrap();
    ledger.open_account(B, AccountOptions::default()).unwrap();
    ledger
        .open_account(TREASURY, AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() })
        .unwrap();
    ledger.credit(A, 100).unwrap();
    ledger
}

fn transfer(id: u128, from: AccountId, to: AccountId, amount: u64) -> Transfer {
    Transfer { id: TransferId(id), from, to, amount }
}

fn balances(ledger: &Ledger) -> (i64, i64, i64) {
    (ledger.balance(A).unwrap(), ledger.balance(B).unwrap(), ledger.balance(TREASURY).unwrap())
}

#[test]
fn a_transfer_moves_money_once_and_a_repeat_says_so() {
    let ledger = ledger();
    let first = ledger.transfer(transfer(1, A, B, 40));
    assert_eq!(first, Ok(TransferReceipt { id: TransferId(1), repeat: false }));
    assert_eq!(
        ledger.transfer(transfer(1, A, B, 40)),
        Ok(TransferReceipt { id: TransferId(1), repeat: true })
    );
    assert_eq!(balances(&ledger), (60, 40, 0));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_repeat_with_different_fields_names_the_field() {
    let ledger = ledger();
    ledger.transfer(transfer(1, A, B, 40)).unwrap();
    let conflict = |field| Err(TransferError::IdConflict { id: TransferId(1), field });
    assert_eq!(ledger.transfer(transfer(1, TREASURY, B, 40)), conflict(TransferField::From));
    assert_eq!(ledger.transfer(transfer(1, A, TREASURY, 40)), conflict(TransferField::To));
    assert_eq!(ledger.transfer(transfer(1, A, B, 41)), conflict(TransferField::Amount));
    assert_eq!(balances(&ledger), (60, 40, 0));
}

#[test]
fn a_rejected_transfer_is_recorded_and_stays_rejected() {
    let ledger = ledger();
    let insufficient = Rejection::InsufficientFunds { account: A, available: 100, requested: 101 };
    assert_eq!(
        ledger.transfer(transfer(5, A, B, 101)),
        Err(TransferError::Rejected { reason: insufficient, repeat: false })
    );
    ledger.credit(A, 1).unwrap();
    // Funds arrived, but the id's answer does not change: retry under a new id.
    assert_eq!(
        ledger.transfer(transfer(5, A, B, 101)),
        Err(TransferError::Rejected { reason: insufficient, repeat: true })
    );
    assert!(ledger.transfer(transfer(6, A, B, 101)).is_ok());
    assert_eq!(balances(&ledger), (0, 101, 0));
}

#[test]
fn validation_errors_record_nothing_so_the_id_stays_usable() {
    let ledger = ledger();
    let unknown = AccountId(77);
    assert_eq!(ledger.transfer(transfer(9, A, B, 0)), Err(TransferError::ZeroAmount));
    assert_eq!(
        ledger.transfer(transfer(9, A, B, AMOUNT_MAX + 1)),
        Err(TransferError::AmountTooLarge { amount: AMOUNT_MAX + 1, amount_max: AMOUNT_MAX })
    );
    assert_eq!(ledger.transfer(transfer(9, A, A, 1)), Err(TransferError::SameAccount(A)));
    assert_eq!(ledger.transfer(transfer(9, A, unknown, 1)), Err(TransferError::UnknownAccount(unknown)));
    assert_eq!(ledger.transfer(transfer(9, unknown, A, 1)), Err(TransferError::UnknownAccount(unknown)));
    for reserved in [0, u128::MAX] {
        assert_eq!(
            ledger.transfer(transfer(reserved, A, B, 1)),
            Err(TransferError::ReservedTransferId(TransferId(reserved)))
        );
        assert_eq!(
            ledger.transfer(transfer(9, AccountId(reserved), B, 1)),
            Err(TransferError::ReservedAccountId(AccountId(reserved)))
        );
    }
    assert_eq!(ledger.transfer_ids_remembered(), 0);
    assert_eq!(balances(&ledger), (100, 0, 0));
    assert_eq!(
        ledger.transfer(transfer(9, A, B, 1)),
        Ok(TransferReceipt { id: TransferId(9), repeat: false })
    );
}

#[test]
fn frozen_source_and_closed_destination_reject_cleanly() {
    let ledger = ledger();
    ledger.freeze(A).unwrap();
    assert_eq!(
        ledger.transfer(transfer(1, A, B, 1)),
        Err(TransferError::Rejected { reason: Rejection::AccountFrozen { account: A }, repeat: false })
    );
    ledger.unfreeze(A).unwrap();
    ledger.close(B).unwrap();
    // The debit lands first, the credit fails, the debit is undone.
    assert_eq!(
        ledger.transfer(transfer(2, A, B, 1)),
        Err(TransferError::Rejected { reason: Rejection::AccountClosed { account: B }, repeat: false })
    );
    assert_eq!(ledger.account_info(A).unwrap().in_flight, 0);
    assert_eq!(balances(&ledger), (100, 0, 0));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_destination_at_its_maximum_undoes_the_debit() {
    let ledger = ledger();
    ledger.transfer(transfer(1, TREASURY, B, AMOUNT_MAX)).unwrap();
    assert_eq!(ledger.balance(B), Ok(BALANCE_MAX));
    assert_eq!(
        ledger.transfer(transfer(2, A, B, 1)),
        Err(TransferError::Rejected {
            reason: Rejection::BalanceOverflow {
                account: B,
                balance: BALANCE_MAX,
                amount: 1,
                balance_max: BALANCE_MAX
            },
            repeat: false,
        })
    );
    assert_eq!(ledger.balance(A), Ok(100));
    let audit = ledger.audit();
    assert_eq!(audit.balance_total, 100);
    assert!(audit.is_consistent(), "{audit:?}");
}

#[test]
fn a_treasury_issues_money_by_going_negative() {
    let ledger = ledger();
    ledger.transfer(transfer(1, TREASURY, A, 50)).unwrap();
    ledger.transfer(transfer(2, B, TREASURY, 1)).unwrap_err();
    assert_eq!(balances(&ledger), (150, 0, -50));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn forgotten_ids_are_refused_never_reapplied() {
    // One shard remembering 4 ids: the fifth evicts the smallest.
    let ledger = Ledger::builder().transfer_ids_max(4).transfer_id_shards(1).build().unwrap();
    ledger.open_account(A, AccountOptions::default()).unwrap();
    ledger.open_account(B, AccountOptions::default()).unwrap();
    ledger.credit(A, 100).unwrap();
    for id in [10, 20, 30, 40] {
        ledger.transfer(transfer(id, A, B, 1)).unwrap();
    }
    assert_eq!(ledger.transfer_ids_remembered(), 4);
    ledger.transfer(transfer(50, A, B, 1)).unwrap();
    assert_eq!(ledger.transfer_ids_remembered(), 4, "memory stays bounded");
    let expired = |id| Err(TransferError::IdExpired { id: TransferId(id), low_water: TransferId(10) });
    assert_eq!(ledger.transfer(transfer(10, A, B, 1)), expired(10), "a retry of a forgotten id is refused");
    assert_eq!(ledger.transfer(transfer(5, A, B, 1)), expired(5), "so is any unknown id below the mark");
    assert!(ledger.transfer(transfer(20, A, B, 1)).unwrap().repeat, "remembered ids still answer");
    assert!(!ledger.transfer(transfer(15, A, B, 1)).unwrap().repeat, "unknown ids above the mark apply");
    assert_eq!(ledger.balance(B), Ok(6));
}

#[test]
fn generated_ids_increase_and_work_as_transfer_ids() {
    let ledger = ledger();
    let mut ids = IdGenerator::new();
    let mut previous = TransferId(0);
    for _ in 0..1000 {
        let id = ids.next_transfer_id();
        assert!(id > previous);
        previous = id;
    }
    assert!(
        !ledger.transfer(Transfer { id: ids.next_transfer_id(), from: A, to: B, amount: 1 }).unwrap().repeat
    );
}

#[test]
fn the_same_id_from_many_threads_applies_exactly_once() {
    for round in 0..200u128 {
        let ledger = ledger();
        let results: Vec<_> = std::thread::scope(|scope| {
            let racers: Vec<_> =
                (0..8).map(|_| scope.spawn(|| ledger.transfer(transfer(round + 1, A, B, 30)))).collect();
            racers.into_iter().map(|racer| racer.join().unwrap()).collect()
        });
        let applied =
            results.iter().filter(|result| matches!(result, Ok(receipt) if !receipt.repeat)).count();
        let repeats = results.iter().filter(|result| matches!(result, Ok(receipt) if receipt.repeat)).count();
        assert_eq!((applied, repeats), (1, 7), "round {round}: {results:?}");
        assert_eq!(balances(&ledger), (70, 30, 0));
    }
}

#[test]
fn errors_explain_themselves() {
    assert_eq!(
        TransferError::IdConflict { id: TransferId(4), field: TransferField::Amount }.to_string(),
        "transfer id 4 was already used with a different amount"
    );
    assert_eq!(
        TransferError::Rejected { reason: Rejection::AccountFrozen { account: A }, repeat: true }.to_string(),
        "transfer rejected (repeat of a recorded outcome): account 1 is frozen: it accepts credits but not debits"
    );
}

/// Three clients with their own id streams, two of them behind the leader
/// (whatever the scheduling, their ids stay below the leader's), each
/// retrying recent ids, against a table small enough to evict all the time:
/// no id applies twice, a retry gets the recorded answer or `IdExpired`, and
/// the leader's ids, the largest, are never refused and its recent ones stay
/// remembered (the smallest go first). Streams that interleave closely are
/// covered by `record_lanes`'s unit tests and the benchmarks' two threads.
#[test]
fn lagging_streams_and_retries_under_constant_eviction_apply_each_id_once() {
    const STEPS: u128 = 3000;
    let ledger = Ledger::builder().transfer_ids_max(256).transfer_id_shards(2).build().unwrap();
    let source = AccountId(100);
    ledger
        .open_account(source, AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() })
        .unwrap();
    // Lags in id units: at least 4 × STEPS, so a lagging client's ids stay
    // below the leader's even if the leader's thread is descheduled throughout.
    let clients: [(u128, AccountId); 3] =
        [(0, AccountId(10)), (16_000, AccountId(11)), (40_000, AccountId(12))];
    for (_, destination) in clients {
        ledger.open_account(destination, AccountOptions::default()).unwrap();
    }
    let applied: Vec<usize> = std::thread::scope(|scope| {
        let workers: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(client, &(lag, destination))| {
                let ledger = &ledger;
                scope.spawn(move || {
                    let id = |step: u128| (1_000_000 + step * 4 - lag) * 4 + client as u128;
                    let mut applied = std::collections::HashSet::new();
                    for step in 0..STEPS {
                        let mut submissions = vec![step];
                        if step > 0 && step % 3 == 0 {
                            submissions.push(step - 1); // a retry of the last one
                        }
                        if step >= 40 && step % 7 == 0 {
                            submissions.push(step - 40); // a much later retry
                        }
                        for submitted in submissions {
                            let transfer = transfer(id(submitted), source, destination, 1);
                            match ledger.transfer(transfer) {
                                Ok(receipt) if receipt.repeat => {
                                    assert!(applied.contains(&submitted), "a repeat of an id never applied")
                                }
                                Ok(_) => assert!(applied.insert(submitted), "id {submitted} applied twice"),
                                Err(TransferError::IdExpired { id: expired, low_water }) => {
                                    assert!(expired <= low_water);
                                    assert_ne!(
                                        client, 0,
                                        "the leader's id {submitted} expired at step {step}"
                                    );
                                }
                                Err(other) => panic!("client {client}: {other}"),
                            }
                        }
                    }
                    assert_eq!(ledger.balance(destination), Ok(applied.len() as i64));
                    applied.len()
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap()).collect()
    });
    assert_eq!(applied[0], STEPS as usize, "the leader's fresh ids are never refused");
    assert!(ledger.transfer_ids_remembered() <= 256);
    assert_eq!(ledger.balance(source), Ok(-(applied.iter().sum::<usize>() as i64)));
    assert!(ledger.audit().is_consistent());
}
