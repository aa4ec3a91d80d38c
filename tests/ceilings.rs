//! Ceilings: no credit, transfer in, batch commit or post takes a balance
//! above its account's ceiling; money coming back is never refused.

use atomic_ledger::{
    AccountError, AccountId, AccountOptions, Floor, HoldError, HoldId, HoldRequest, HoldState, Ledger,
    LinkedError, OpenError, Opened, Rejection, Transfer, TransferError, TransferId, BALANCE_MAX,
};

const WALLET: AccountId = AccountId(1);
const OTHER_WALLET: AccountId = AccountId(2);
const BANK: AccountId = AccountId(3);
const PLAIN: AccountId = AccountId(4);
const CEILING: u64 = 100;

fn ledger() -> Ledger {
    let ledger = Ledger::new();
    let wallet = AccountOptions { ceiling: Some(CEILING), ..AccountOptions::default() };
    ledger.open_account(WALLET, wallet).unwrap();
    ledger.open_account(OTHER_WALLET, wallet).unwrap();
    ledger
        .open_account(BANK, AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() })
        .unwrap();
    ledger.open_account(PLAIN, AccountOptions::default()).unwrap();
    ledger
}

fn transfer(id: u128, from: AccountId, to: AccountId, amount: u64) -> Transfer {
    Transfer { id: TransferId(id), from, to, amount }
}

fn above(balance: i64, amount: u64) -> Rejection {
    Rejection::CeilingExceeded { account: WALLET, balance, amount, ceiling: CEILING }
}

#[test]
fn a_credit_past_the_ceiling_is_refused_and_changes_nothing() {
    let ledger = ledger();
    assert_eq!(ledger.credit(WALLET, 90), Ok(90));
    assert_eq!(ledger.credit(WALLET, 11), Err(AccountError::Rejected(above(90, 11))));
    assert_eq!(ledger.balance(WALLET), Ok(90));
    assert_eq!(ledger.credit(WALLET, 10), Ok(100), "up to the ceiling itself");
    assert_eq!(ledger.account_info(WALLET).unwrap().ceiling, CEILING as i64);
    assert_eq!(ledger.account_info(BANK).unwrap().ceiling, BALANCE_MAX);
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_transfer_past_the_ceiling_is_refused_recorded_and_undone() {
    let ledger = ledger();
    ledger.credit(WALLET, 95).unwrap();
    let refused = ledger.transfer(transfer(1, BANK, WALLET, 10));
    assert_eq!(refused, Err(TransferError::Rejected { reason: above(95, 10), repeat: false }));
    assert_eq!((ledger.balance(BANK), ledger.balance(WALLET)), (Ok(0), Ok(95)), "the debit was undone");
    let again = ledger.transfer(transfer(1, BANK, WALLET, 10));
    assert_eq!(again, Err(TransferError::Rejected { reason: above(95, 10), repeat: true }));
    assert!(ledger.transfer(transfer(2, BANK, WALLET, 5)).is_ok());
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_post_past_the_ceiling_is_refused_and_the_hold_stays_open() {
    let ledger = ledger();
    ledger.credit(WALLET, 98).unwrap();
    let request = HoldRequest { id: HoldId(1), from: BANK, to: WALLET, amount: 5, expires_at_ms: u64::MAX };
    ledger.hold(request).unwrap();
    assert_eq!(ledger.post(HoldId(1), 5), Err(HoldError::Rejected { reason: above(98, 5), repeat: false }));
    assert_eq!(ledger.hold_info(HoldId(1)).unwrap().state, HoldState::Open);
    assert_eq!(ledger.post(HoldId(1), 2).map(|posted| posted.returned), Ok(3));
    assert_eq!(ledger.balance(WALLET), Ok(100));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_batch_past_the_ceiling_is_refused_whole() {
    let ledger = ledger();
    ledger.credit(WALLET, 95).unwrap(); // room for 5
    let pay_plain = transfer(1, BANK, PLAIN, 3);
    let Err(LinkedError::LegFailed { index, legs }) =
        ledger.transfer_all(&[pay_plain, transfer(2, BANK, WALLET, 6)])
    else {
        panic!("the second leg passes the ceiling")
    };
    assert_eq!((index, legs[1]), (1, TransferError::Rejected { reason: above(95, 6), repeat: false }));
    assert_eq!((ledger.balance(BANK), ledger.balance(PLAIN)), (Ok(0), Ok(0)), "nothing moved");
    // Two legs into one wallet count together: 3 + 3 = 6 > 5 of room.
    let together = [transfer(11, BANK, WALLET, 3), transfer(12, BANK, WALLET, 3)];
    let Err(LinkedError::LegFailed { index, legs }) = ledger.transfer_all(&together) else {
        panic!("together they pass the ceiling")
    };
    assert_eq!((index, legs[1]), (1, TransferError::Rejected { reason: above(95, 6), repeat: false }));
    assert!(ledger.transfer_all(&[transfer(21, BANK, WALLET, 2), transfer(22, BANK, WALLET, 3)]).is_ok());
    assert_eq!(ledger.balance(WALLET), Ok(100));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn a_batch_may_credit_at_most_one_account_with_a_ceiling() {
    let ledger = ledger();
    let legs = [transfer(1, BANK, WALLET, 1), transfer(2, BANK, OTHER_WALLET, 1)];
    assert_eq!(
        ledger.transfer_all(&legs),
        Err(LinkedError::TwoCeilings { first: WALLET, second: OTHER_WALLET })
    );
    assert_eq!(ledger.transfer_ids_remembered(), 0, "refused before anything was decided");
    // Several legs into the same wallet are fine, and so is a wallet as a source.
    let legs =
        [transfer(1, BANK, WALLET, 1), transfer(2, BANK, WALLET, 1), transfer(3, OTHER_WALLET, BANK, 1)];
    ledger.credit(OTHER_WALLET, 1).unwrap();
    assert!(ledger.transfer_all(&legs).is_ok());
    assert_eq!(ledger.balance(WALLET), Ok(2));
}

#[test]
fn money_coming_back_is_never_refused_and_may_pass_the_ceiling_by_what_was_out() {
    let ledger = ledger();
    ledger.credit(WALLET, 100).unwrap();
    let request = HoldRequest { id: HoldId(1), from: WALLET, to: BANK, amount: 30, expires_at_ms: u64::MAX };
    ledger.hold(request).unwrap();
    // The held 30 left the balance, and credits filled the room it left.
    assert_eq!(ledger.credit(WALLET, 30), Ok(100));
    // The void returns the wallet's own money: never refused, 30 over the ceiling.
    assert_eq!(ledger.void(HoldId(1)), Ok(30));
    assert_eq!(ledger.balance(WALLET), Ok(130));
    assert!(matches!(
        ledger.credit(WALLET, 1),
        Err(AccountError::Rejected(Rejection::CeilingExceeded { .. }))
    ));
    assert!(ledger.debit(WALLET, 40).is_ok(), "and it can be spent back under the ceiling");
    assert_eq!(ledger.credit(WALLET, 10), Ok(100));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn ceilings_are_validated_and_part_of_the_options() {
    let ledger = ledger();
    let too_high = AccountOptions { ceiling: Some(BALANCE_MAX as u64 + 1), ..AccountOptions::default() };
    let refused = ledger.open_account(AccountId(9), too_high);
    assert_eq!(
        refused,
        Err(OpenError::CeilingTooLarge { ceiling: BALANCE_MAX as u64 + 1, ceiling_max: BALANCE_MAX as u64 })
    );
    let at_max = AccountOptions { ceiling: Some(BALANCE_MAX as u64), ..AccountOptions::default() };
    assert_eq!(ledger.open_account(AccountId(9), at_max), Ok(Opened::Created));
    assert_eq!(ledger.open_account(AccountId(9), at_max), Ok(Opened::AlreadyExists));
    // `Some(BALANCE_MAX)` and `None` allow the same balances but are different options.
    assert!(matches!(
        ledger.open_account(AccountId(9), AccountOptions::default()),
        Err(OpenError::OptionsConflict { .. })
    ));
    // So are `Overdraft(0)` and `Zero`: the cell keeps which one was named.
    let zero_overdraft = AccountOptions { floor: Floor::Overdraft(0), ..AccountOptions::default() };
    ledger.open_account(AccountId(10), zero_overdraft).unwrap();
    assert_eq!(ledger.open_account(AccountId(10), zero_overdraft), Ok(Opened::AlreadyExists));
    assert!(matches!(
        ledger.open_account(AccountId(10), AccountOptions::default()),
        Err(OpenError::OptionsConflict { .. })
    ));
    // A ceiling of zero: an account that can never be credited.
    let sink = AccountOptions { ceiling: Some(0), ..AccountOptions::default() };
    ledger.open_account(AccountId(11), sink).unwrap();
    assert!(ledger.credit(AccountId(11), 1).is_err());
}

#[test]
fn racing_credits_and_batches_never_pass_the_ceiling() {
    let ledger = ledger();
    let watcher_saw_above = std::sync::atomic::AtomicBool::new(false);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Acquire) {
                if ledger.balance(WALLET).unwrap() > CEILING as i64 {
                    watcher_saw_above.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        let workers: Vec<_> = (0..3u128)
            .map(|thread| {
                let ledger = &ledger;
                scope.spawn(move || {
                    for round in 0..2_000u128 {
                        let id = thread * 1_000_000 + round * 4;
                        let _ = ledger.credit(WALLET, 7);
                        let _ = ledger.transfer(transfer(id + 1, BANK, WALLET, 5));
                        let _ = ledger.transfer_all(&[
                            transfer(id + 2, BANK, WALLET, 3),
                            transfer(id + 3, WALLET, BANK, 1),
                        ]);
                        let _ = ledger.debit(WALLET, 9);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Release);
    });
    assert!(!watcher_saw_above.into_inner(), "a credit took the wallet above its ceiling");
    assert!(ledger.balance(WALLET).unwrap() <= CEILING as i64);
    assert!(ledger.audit().is_consistent());
}
