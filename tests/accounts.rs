//! Every single-account operation and every error it can return.

use atomic_ledger::{
    AccountError, AccountId, AccountInfo, AccountOptions, Asset, ConfigError, Floor, Ledger, OpenError,
    Opened, Rejection, Status, AMOUNT_MAX, BALANCE_MAX, FLOOR_MIN,
};

const A: AccountId = AccountId(1);

fn ledger_with(floor: Floor, balance: u64) -> Ledger {
    let ledger = Ledger::new();
    assert_eq!(
        ledger.open_account(A, AccountOptions { floor, ..AccountOptions::default() }),
        Ok(Opened::Created)
    );
    if balance > 0 {
        ledger.credit(A, balance).unwrap();
    }
    ledger
}

fn rejected(rejection: Rejection) -> Result<i64, AccountError> {
    Err(AccountError::Rejected(rejection))
}

#[test]
fn open_is_idempotent_for_identical_options_and_refuses_different_ones() {
    let ledger = Ledger::new();
    let overdraft = AccountOptions { floor: Floor::Overdraft(50), ..AccountOptions::default() };
    assert_eq!(ledger.open_account(A, overdraft), Ok(Opened::Created));
    assert_eq!(ledger.open_account(A, overdraft), Ok(Opened::AlreadyExists));
    assert_eq!(
        ledger.open_account(A, AccountOptions::default()),
        Err(OpenError::OptionsConflict {
            account: A,
            existing: overdraft,
            requested: AccountOptions::default()
        })
    );
    assert_eq!(ledger.account_info(A).unwrap().floor, -50);
}

#[test]
fn open_refuses_reserved_ids_and_oversized_overdrafts() {
    let ledger = Ledger::new();
    for reserved in [AccountId(0), AccountId(u128::MAX)] {
        assert_eq!(
            ledger.open_account(reserved, AccountOptions::default()),
            Err(OpenError::ReservedAccountId(reserved))
        );
    }
    let too_deep =
        AccountOptions { floor: Floor::Overdraft(BALANCE_MAX as u64 + 1), ..AccountOptions::default() };
    assert_eq!(
        ledger.open_account(A, too_deep),
        Err(OpenError::OverdraftTooLarge { limit: BALANCE_MAX as u64 + 1, limit_max: BALANCE_MAX as u64 })
    );
    assert_eq!(ledger.account(A).err(), Some(AccountError::UnknownAccount(A)), "nothing was opened");
}

#[test]
fn ledger_full_is_an_error_and_existing_accounts_still_open_idempotently() {
    let ledger = Ledger::builder().accounts_max(2).build().unwrap();
    for id in 1..=2 {
        assert_eq!(ledger.open_account(AccountId(id), AccountOptions::default()), Ok(Opened::Created));
    }
    assert_eq!(
        ledger.open_account(AccountId(3), AccountOptions::default()),
        Err(OpenError::LedgerFull { accounts_max: 2 })
    );
    assert_eq!(ledger.open_account(AccountId(2), AccountOptions::default()), Ok(Opened::AlreadyExists));
}

#[test]
fn builder_rejects_out_of_range_limits() {
    assert!(matches!(
        Ledger::builder().accounts_max(0).build(),
        Err(ConfigError::OutOfRange { name: "accounts_max", value: 0, .. })
    ));
    assert!(matches!(
        Ledger::builder().transfer_id_shards(8).transfer_ids_max(4).build(),
        Err(ConfigError::OutOfRange { name: "transfer_ids_max", value: 4, min: 8, .. })
    ));
    assert!(matches!(
        Ledger::builder().transfer_id_shards(0).build(),
        Err(ConfigError::OutOfRange { name: "transfer_id_shards", .. })
    ));
}

#[test]
fn many_accounts_are_all_found_and_unknown_ones_are_not() {
    let ledger = Ledger::builder().accounts_max(10_000).build().unwrap();
    for id in 1..=10_000u128 {
        // Ids that share their low or high half, to exercise the hash and probing.
        let id = AccountId(if id % 2 == 0 { id << 64 } else { id });
        ledger.open_account(id, AccountOptions::default()).unwrap();
        ledger.credit(id, 1 + (id.0 % 1000) as u64).unwrap();
    }
    for id in 1..=10_000u128 {
        let id = AccountId(if id % 2 == 0 { id << 64 } else { id });
        assert_eq!(ledger.balance(id), Ok(1 + (id.0 % 1000) as i64));
    }
    assert_eq!(ledger.balance(AccountId(10_001)), Err(AccountError::UnknownAccount(AccountId(10_001))));
    assert_eq!(ledger.audit().accounts, 10_000);
}

#[test]
fn debit_respects_each_kind_of_floor() {
    let zero = ledger_with(Floor::Zero, 10);
    assert_eq!(zero.debit(A, 10), Ok(0));
    assert_eq!(
        zero.debit(A, 1),
        rejected(Rejection::InsufficientFunds { account: A, available: 0, requested: 1 })
    );

    let overdraft = ledger_with(Floor::Overdraft(5), 10);
    assert_eq!(
        overdraft.debit(A, 16),
        rejected(Rejection::InsufficientFunds { account: A, available: 15, requested: 16 })
    );
    assert_eq!(overdraft.debit(A, 15), Ok(-5));

    let treasury = ledger_with(Floor::Unbounded, 0);
    assert_eq!(treasury.debit(A, AMOUNT_MAX), Ok(FLOOR_MIN));
    assert_eq!(
        treasury.debit(A, 1),
        rejected(Rejection::InsufficientFunds { account: A, available: 0, requested: 1 })
    );
    assert!(treasury.audit().is_consistent());
}

#[test]
fn failed_debits_and_credits_change_nothing() {
    let ledger = ledger_with(Floor::Zero, 7);
    let before = ledger.audit();
    assert_eq!(
        ledger.debit(A, 8).map(drop),
        rejected(Rejection::InsufficientFunds { account: A, available: 7, requested: 8 }).map(drop)
    );
    assert_eq!(ledger.debit(A, 0), Err(AccountError::ZeroAmount));
    assert_eq!(ledger.credit(A, 0), Err(AccountError::ZeroAmount));
    let huge = AMOUNT_MAX + 1;
    assert_eq!(
        ledger.debit(A, huge),
        Err(AccountError::AmountTooLarge { amount: huge, amount_max: AMOUNT_MAX })
    );
    assert_eq!(
        ledger.credit(A, u64::MAX),
        Err(AccountError::AmountTooLarge { amount: u64::MAX, amount_max: AMOUNT_MAX })
    );
    assert_eq!(ledger.audit(), before);
}

#[test]
fn credit_stops_at_the_maximum_balance_without_wrapping() {
    let ledger = ledger_with(Floor::Zero, AMOUNT_MAX);
    assert_eq!(ledger.balance(A), Ok(BALANCE_MAX));
    assert_eq!(
        ledger.credit(A, 1),
        rejected(Rejection::BalanceOverflow {
            account: A,
            balance: BALANCE_MAX,
            amount: 1,
            balance_max: BALANCE_MAX
        })
    );
    assert_eq!(ledger.balance(A), Ok(BALANCE_MAX));
}

#[test]
fn unknown_and_reserved_accounts_are_refused_by_every_operation() {
    let ledger = Ledger::new();
    let unknown = AccountId(99);
    assert_eq!(ledger.debit(unknown, 1), Err(AccountError::UnknownAccount(unknown)));
    assert_eq!(ledger.credit(unknown, 1), Err(AccountError::UnknownAccount(unknown)));
    assert_eq!(ledger.freeze(unknown), Err(AccountError::UnknownAccount(unknown)));
    assert_eq!(ledger.unfreeze(unknown), Err(AccountError::UnknownAccount(unknown)));
    assert_eq!(ledger.close(unknown), Err(AccountError::UnknownAccount(unknown)));
    assert_eq!(ledger.status(unknown), Err(AccountError::UnknownAccount(unknown)));
    assert_eq!(ledger.balance(unknown), Err(AccountError::UnknownAccount(unknown)));
    for reserved in [AccountId(0), AccountId(u128::MAX)] {
        assert_eq!(ledger.debit(reserved, 1), Err(AccountError::ReservedAccountId(reserved)));
        assert_eq!(ledger.account(reserved).err(), Some(AccountError::ReservedAccountId(reserved)));
    }
}

#[test]
fn frozen_accounts_take_credits_but_not_debits() {
    let ledger = ledger_with(Floor::Zero, 10);
    assert_eq!(ledger.freeze(A), Ok(()));
    assert_eq!(ledger.freeze(A), Ok(()), "freeze is idempotent");
    assert_eq!(ledger.status(A), Ok(Status::Frozen));
    assert_eq!(ledger.debit(A, 1), rejected(Rejection::AccountFrozen { account: A }));
    assert_eq!(ledger.credit(A, 5), Ok(15));
    assert_eq!(ledger.unfreeze(A), Ok(()));
    assert_eq!(ledger.unfreeze(A), Ok(()), "unfreeze is idempotent");
    assert_eq!(ledger.debit(A, 15), Ok(0));
}

#[test]
fn close_needs_zero_balance_and_then_refuses_everything() {
    let ledger = ledger_with(Floor::Overdraft(10), 3);
    assert_eq!(
        ledger.close(A),
        Err(AccountError::Rejected(Rejection::BalanceNotZero { account: A, balance: 3 }))
    );
    ledger.debit(A, 5).unwrap();
    assert_eq!(
        ledger.close(A),
        Err(AccountError::Rejected(Rejection::BalanceNotZero { account: A, balance: -2 }))
    );
    ledger.credit(A, 2).unwrap();
    ledger.freeze(A).unwrap();
    assert_eq!(ledger.close(A), Ok(()), "a frozen account at zero can close");
    let closed = Rejection::AccountClosed { account: A };
    assert_eq!(ledger.close(A), Err(AccountError::Rejected(closed)));
    assert_eq!(ledger.debit(A, 1), rejected(closed));
    assert_eq!(ledger.credit(A, 1), rejected(closed));
    assert_eq!(ledger.freeze(A), Err(AccountError::Rejected(closed)));
    assert_eq!(ledger.unfreeze(A), Err(AccountError::Rejected(closed)));
    assert_eq!(ledger.status(A), Ok(Status::Closed));
    assert!(ledger.audit().is_consistent());
}

#[test]
fn handle_and_id_calls_agree() {
    let by_id = ledger_with(Floor::Overdraft(3), 0);
    let by_handle = ledger_with(Floor::Overdraft(3), 0);
    let handle = by_handle.account(A).unwrap();
    assert_eq!(handle.id(), A);
    let script: [(bool, u64); 6] =
        [(true, 5), (false, 7), (false, 2), (true, 1), (false, 9), (true, AMOUNT_MAX + 1)];
    for (is_credit, amount) in script {
        let (expected, actual) = if is_credit {
            (by_id.credit(A, amount), handle.credit(amount))
        } else {
            (by_id.debit(A, amount), handle.debit(amount))
        };
        assert_eq!(expected, actual);
    }
    assert_eq!(by_id.freeze(A), handle.freeze());
    assert_eq!(by_id.debit(A, 1), handle.debit(1));
    assert_eq!(by_id.account_info(A), Ok(handle.info()));
    assert_eq!(by_id.balance(A), Ok(handle.balance()));
    assert_eq!(by_id.status(A), Ok(handle.status()));
    assert_eq!(handle.floor(), -3);
    assert_eq!(
        handle.info(),
        AccountInfo {
            id: A,
            asset: Asset(0),
            balance: handle.balance(),
            status: Status::Frozen,
            floor: -3,
            ceiling: BALANCE_MAX,
            in_flight: 0,
            holds_open: 0,
            held: 0
        }
    );
}

#[test]
fn audit_counts_external_flows() {
    let ledger = ledger_with(Floor::Zero, 0);
    ledger.credit(A, 100).unwrap();
    ledger.debit(A, 30).unwrap();
    ledger.debit(A, 1000).unwrap_err();
    let audit = ledger.audit();
    assert_eq!(
        (audit.accounts, audit.balance_total, audit.entered_total, audit.left_total),
        (1, 70, 100, 30)
    );
    assert!(audit.conserves() && audit.is_consistent());
}

#[test]
fn types_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Ledger>();
    shareable::<atomic_ledger::Account<'static>>();
    shareable::<AccountError>();
    shareable::<atomic_ledger::TransferError>();
    // The change stream's: a subscription moves to (and may be shared with) another thread.
    shareable::<atomic_ledger::Subscription>();
    shareable::<atomic_ledger::EventStream>();
    shareable::<atomic_ledger::SubscribeError>();
    shareable::<atomic_ledger::Statements>();
    shareable::<atomic_ledger::Event>();
}

#[test]
fn errors_explain_themselves() {
    let message =
        AccountError::Rejected(Rejection::InsufficientFunds { account: A, available: 3, requested: 5 })
            .to_string();
    assert_eq!(message, "insufficient funds in account 1: 3 available above the floor, 5 requested");
    assert_eq!(
        AccountError::AmountTooLarge { amount: 9, amount_max: 8 }.to_string(),
        "amount 9 exceeds the maximum 8"
    );
}

#[test]
fn debug_output_counts_accounts() {
    let ledger = Ledger::builder().accounts_max(8).build().unwrap();
    ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
    assert_eq!(format!("{ledger:?}"), "Ledger { accounts: 2, accounts_max: 8, .. }");
}
