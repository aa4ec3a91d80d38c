//! Linked transfers: all legs or none, failures reported per leg, exactly once
//! per batch, and no partial effect visible after a failed batch returns.

use atomic_ledger::{
    AccountId, AccountOptions, Floor, Ledger, LinkedError, LinkedReceipt, Rejection, Transfer, TransferError,
    TransferField, TransferId, AMOUNT_MAX, BALANCE_MAX, LINKED_LEGS_MAX,
};

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);
const C: AccountId = AccountId(3);

fn ledger() -> Ledger {
    let ledger = Ledger::new();
    for id in [A, B, C] {
        ledger.open_account(id, AccountOptions::default()).unwrap();
    }
    ledger.credit(A, 100).unwrap();
    ledger
}

fn leg(id: u128, from: AccountId, to: AccountId, amount: u64) -> Transfer {
    Transfer { id: TransferId(id), from, to, amount }
}

fn balances(ledger: &Ledger) -> [i64; 3] {
    [A, B, C].map(|id| ledger.balance(id).unwrap())
}

/// The failing leg and the other legs' errors.
fn failure(result: Result<LinkedReceipt, LinkedError>) -> (usize, Vec<TransferError>) {
    match result {
        Err(LinkedError::LegFailed { index, legs }) => {
            for (other, error) in legs.iter().enumerate().filter(|(other, _)| *other != index) {
                assert_eq!(*error, TransferError::LinkedLegFailed { failed_index: index }, "leg {other}");
            }
            (index, legs)
        }
        other => panic!("expected a failed leg, got {other:?}"),
    }
}

#[test]
fn all_legs_apply_together() {
    let ledger = ledger();
    ledger.credit(C, 5).unwrap();
    let batch = [leg(1, A, B, 60), leg(2, A, C, 10), leg(3, C, B, 5)];
    assert_eq!(ledger.transfer_all(&batch), Ok(LinkedReceipt { legs: 3, repeat: false }));
    assert_eq!(balances(&ledger), [30, 65, 10]);
    assert_eq!(ledger.transfer_all(&batch), Ok(LinkedReceipt { legs: 3, repeat: true }));
    assert_eq!(balances(&ledger), [30, 65, 10]);
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_failing_leg_is_named_and_nothing_moves() {
    let ledger = ledger();
    let batch = [leg(1, A, B, 60), leg(2, A, C, 50)];
    let (index, legs) = failure(ledger.transfer_all(&batch));
    let reason = Rejection::InsufficientFunds { account: A, available: 40, requested: 50 };
    assert_eq!((index, legs[1]), (1, TransferError::Rejected { reason, repeat: false }));
    assert_eq!(balances(&ledger), [100, 0, 0]);
    assert_eq!(ledger.account_info(A).unwrap().in_flight, 0);
    // Recorded: the same batch gets the same answer, and changes nothing.
    let (index, legs) = failure(ledger.transfer_all(&batch));
    assert_eq!((index, legs[1]), (1, TransferError::Rejected { reason, repeat: true }));
    assert_eq!(balances(&ledger), [100, 0, 0]);
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_closed_destination_or_an_overflow_fails_the_batch_before_any_credit() {
    let ledger = ledger();
    ledger.close(C).unwrap();
    let (index, legs) = failure(ledger.transfer_all(&[leg(1, A, B, 10), leg(2, A, C, 10)]));
    let closed = Rejection::AccountClosed { account: C };
    assert_eq!((index, legs[1]), (1, TransferError::Rejected { reason: closed, repeat: false }));
    assert_eq!(balances(&ledger), [100, 0, 0]);

    ledger.credit(B, BALANCE_MAX as u64 - 5).unwrap();
    let (index, legs) = failure(ledger.transfer_all(&[leg(3, A, B, 5), leg(4, A, B, 1)]));
    assert_eq!(index, 1, "the second leg takes B past its maximum");
    assert!(matches!(
        legs[1],
        TransferError::Rejected { reason: Rejection::BalanceOverflow { amount: 6, .. }, .. }
    ));
    assert_eq!(ledger.balance(B), Ok(BALANCE_MAX - 5));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_leg_cannot_spend_what_an_earlier_leg_brings_in() {
    let ledger = ledger();
    let (index, legs) = failure(ledger.transfer_all(&[leg(1, A, B, 10), leg(2, B, C, 10)]));
    assert_eq!(index, 1);
    let reason = Rejection::InsufficientFunds { account: B, available: 0, requested: 10 };
    assert_eq!(legs[1], TransferError::Rejected { reason, repeat: false });
}

#[test]
fn invalid_batches_are_refused_and_record_nothing() {
    let ledger = ledger();
    assert_eq!(ledger.transfer_all(&[]), Err(LinkedError::LegCount { legs: 0, legs_max: LINKED_LEGS_MAX }));
    let many: Vec<Transfer> = (1..=17).map(|id| leg(id, A, B, 1)).collect();
    assert_eq!(
        ledger.transfer_all(&many),
        Err(LinkedError::LegCount { legs: 17, legs_max: LINKED_LEGS_MAX })
    );
    let cases: [(Vec<Transfer>, usize, TransferError); 6] = [
        (vec![leg(1, A, B, 1), leg(0, A, C, 1)], 1, TransferError::ReservedTransferId(TransferId(0))),
        (vec![leg(1, A, AccountId(9), 1)], 0, TransferError::UnknownAccount(AccountId(9))),
        (vec![leg(1, A, B, 1), leg(2, A, B, 0)], 1, TransferError::ZeroAmount),
        (vec![leg(1, A, A, 1)], 0, TransferError::SameAccount(A)),
        (
            vec![leg(1, A, B, 1), leg(1, A, C, 1)],
            1,
            TransferError::DuplicateLegId { id: TransferId(1), first_index: 0 },
        ),
        (
            vec![leg(1, A, B, AMOUNT_MAX), leg(2, C, B, 1)],
            1,
            TransferError::AmountTooLarge { amount: AMOUNT_MAX + 1, amount_max: AMOUNT_MAX },
        ),
    ];
    for (batch, index, expected) in cases {
        let (failed, legs) = failure(ledger.transfer_all(&batch));
        assert_eq!((failed, legs[failed]), (index, expected), "{batch:?}");
        assert_eq!(legs.len(), batch.len());
    }
    assert_eq!(ledger.transfer_ids_remembered(), 0);
    assert_eq!(balances(&ledger), [100, 0, 0]);
}

#[test]
fn a_batch_leg_and_a_single_transfer_never_share_an_id() {
    let ledger = ledger();
    ledger.transfer(leg(1, A, B, 1)).unwrap();
    let (index, legs) = failure(ledger.transfer_all(&[leg(2, A, B, 1), leg(1, A, B, 1)]));
    assert_eq!(
        (index, legs[1]),
        (1, TransferError::IdConflict { id: TransferId(1), field: TransferField::Link })
    );
    ledger.transfer_all(&[leg(3, A, B, 1), leg(4, A, C, 1)]).unwrap();
    let alone = ledger.transfer(leg(4, A, C, 1));
    assert_eq!(alone, Err(TransferError::IdConflict { id: TransferId(4), field: TransferField::Link }));
    let (index, legs) = failure(ledger.transfer_all(&[leg(3, A, B, 1)]));
    assert_eq!(
        (index, legs[0]),
        (0, TransferError::IdConflict { id: TransferId(3), field: TransferField::Link })
    );
    assert_eq!(balances(&ledger), [97, 2, 1]);
}

/// Real threads: batches that move money around a ring, and batches that
/// always fail, race with debits and a watcher. Money is conserved, nothing
/// goes below its floor, and failed batches leave nothing behind.
#[test]
fn concurrent_batches_conserve_and_leave_no_trace_when_they_fail() {
    let ledger = Ledger::new();
    let accounts: Vec<AccountId> = (1..=4).map(AccountId).collect();
    for &id in &accounts {
        ledger.open_account(id, AccountOptions { floor: Floor::Zero, ..AccountOptions::default() }).unwrap();
        ledger.credit(id, 1_000).unwrap();
    }
    let debited: i64 = std::thread::scope(|scope| {
        for thread in 0..3u128 {
            let (ledger, accounts) = (&ledger, &accounts);
            scope.spawn(move || {
                for round in 0..2_000u128 {
                    let id = (thread << 32 | round) * 4 + 1;
                    let at = (round % 4) as usize;
                    let ring = [
                        leg(id, accounts[at], accounts[(at + 1) % 4], 3),
                        leg(id + 1, accounts[(at + 1) % 4], accounts[(at + 2) % 4], 2),
                    ];
                    let _ = ledger.transfer_all(&ring);
                    // Always fails on its last leg: more than any account holds.
                    let doomed = [
                        leg(id + 2, accounts[at], accounts[(at + 3) % 4], 1),
                        leg(id + 3, accounts[at], accounts[(at + 2) % 4], 10_000),
                    ];
                    assert!(ledger.transfer_all(&doomed).is_err());
                }
            });
        }
        let debitor = scope
            .spawn(|| (0..2_000).filter(|round| ledger.debit(accounts[round % 4], 1).is_ok()).count() as i64);
        debitor.join().unwrap()
    });
    let audit = ledger.audit();
    assert!(audit.is_consistent(), "{audit:?}");
    assert_eq!(audit.balance_total, 4_000 - i128::from(debited));
}
