//! Assets: money moves only between accounts of one asset, and the books
//! balance within each asset.

use atomic_ledger::{
    AccountId, AccountOptions, Asset, Floor, HoldError, HoldId, HoldRequest, Ledger, LinkedError, OpenError,
    Transfer, TransferError, TransferId,
};

const USD: Asset = Asset(840);
const EUR: Asset = Asset(978);
const ALICE_USD: AccountId = AccountId(1);
const BOB_USD: AccountId = AccountId(2);
const ALICE_EUR: AccountId = AccountId(3);
const BANK_USD: AccountId = AccountId(4);
const BANK_EUR: AccountId = AccountId(5);

fn ledger() -> Ledger {
    let ledger = Ledger::new();
    let open = |id, asset, floor| {
        ledger.open_account(id, AccountOptions { floor, asset, ceiling: None }).unwrap();
    };
    open(ALICE_USD, USD, Floor::Zero);
    open(BOB_USD, USD, Floor::Zero);
    open(ALICE_EUR, EUR, Floor::Zero);
    open(BANK_USD, USD, Floor::Unbounded);
    open(BANK_EUR, EUR, Floor::Unbounded);
    ledger.credit(ALICE_USD, 100).unwrap();
    ledger.credit(ALICE_EUR, 50).unwrap();
    ledger
}

fn transfer(id: u128, from: AccountId, to: AccountId, amount: u64) -> Transfer {
    Transfer { id: TransferId(id), from, to, amount }
}

fn balances(ledger: &Ledger) -> Vec<i64> {
    [ALICE_USD, BOB_USD, ALICE_EUR, BANK_USD, BANK_EUR].map(|id| ledger.balance(id).unwrap()).to_vec()
}

#[test]
fn a_transfer_across_assets_is_refused_names_both_and_records_nothing() {
    let ledger = ledger();
    let before = balances(&ledger);
    let across = transfer(1, ALICE_USD, ALICE_EUR, 10);
    let mismatch =
        TransferError::AssetMismatch { from: ALICE_USD, from_asset: USD, to: ALICE_EUR, to_asset: EUR };
    assert_eq!(ledger.transfer(across), Err(mismatch));
    assert_eq!(balances(&ledger), before);
    assert_eq!(ledger.transfer_ids_remembered(), 0, "a validation error records nothing");
    // The id stays usable for a transfer within one asset.
    assert!(!ledger.transfer(transfer(1, ALICE_USD, BOB_USD, 10)).unwrap().repeat);
    assert_eq!(ledger.balance(BOB_USD), Ok(10));
    assert!(mismatch.to_string().contains("asset 840") && mismatch.to_string().contains("asset 978"));
}

#[test]
fn a_linked_batch_with_a_leg_across_assets_moves_nothing() {
    let ledger = ledger();
    let before = balances(&ledger);
    let legs = [transfer(1, ALICE_USD, BOB_USD, 10), transfer(2, ALICE_EUR, BANK_USD, 5)];
    let Err(LinkedError::LegFailed { index, legs: errors }) = ledger.transfer_all(&legs) else {
        panic!("a leg across assets must fail the batch")
    };
    assert_eq!(index, 1);
    let mismatch =
        TransferError::AssetMismatch { from: ALICE_EUR, from_asset: EUR, to: BANK_USD, to_asset: USD };
    assert_eq!(errors[1], mismatch);
    assert_eq!(balances(&ledger), before);
    // Each leg within its own asset is fine.
    let legs = [transfer(1, ALICE_USD, BOB_USD, 10), transfer(2, ALICE_EUR, BANK_EUR, 5)];
    assert!(ledger.transfer_all(&legs).is_ok());
}

#[test]
fn a_hold_across_assets_is_refused_and_holds_nothing() {
    let ledger = ledger();
    let request =
        HoldRequest { id: HoldId(1), from: ALICE_USD, to: ALICE_EUR, amount: 10, expires_at_ms: u64::MAX };
    let mismatch =
        HoldError::AssetMismatch { from: ALICE_USD, from_asset: USD, to: ALICE_EUR, to_asset: EUR };
    assert_eq!(ledger.hold(request), Err(mismatch));
    assert_eq!(ledger.account_info(ALICE_USD).unwrap().held, 0);
    assert_eq!(ledger.holds_remembered(), 0);
    assert!(ledger.hold(HoldRequest { to: BOB_USD, ..request }).is_ok());
}

#[test]
fn reopening_with_another_asset_is_a_conflict() {
    let ledger = ledger();
    let options = AccountOptions { asset: USD, ..AccountOptions::default() };
    assert_eq!(ledger.account_info(ALICE_USD).unwrap().asset, USD);
    assert!(ledger.open_account(ALICE_USD, options).is_ok());
    let conflict = ledger.open_account(ALICE_USD, AccountOptions { asset: EUR, ..options });
    assert!(matches!(conflict, Err(OpenError::OptionsConflict { .. })));
}

#[test]
fn the_books_balance_within_each_asset_under_concurrent_load() {
    let ledger = ledger();
    std::thread::scope(|scope| {
        for thread in 0..4u128 {
            let ledger = &ledger;
            scope.spawn(move || {
                for round in 0..500u128 {
                    let id = thread * 10_000 + round * 4;
                    let _ = ledger.transfer(transfer(id + 1, BANK_USD, ALICE_USD, 2));
                    let _ = ledger.transfer(transfer(id + 2, ALICE_USD, BOB_USD, 1));
                    let _ = ledger.transfer(transfer(id + 3, ALICE_EUR, BANK_EUR, 1));
                    let _ = ledger.transfer(transfer(id + 4, BOB_USD, ALICE_EUR, 1)); // refused: across
                    let _ = ledger.debit(ALICE_EUR, 1);
                }
            });
        }
        // Every snapshot conserves within each asset while the threads run:
        // dollars only move (100 in all), euros only move or leave by debit.
        for _ in 0..20 {
            let totals = ledger.snapshot().asset_totals();
            assert_eq!(totals[0], (USD, 100), "money crossed from one asset to another");
            assert!(totals[1].0 == EUR && (0..=50).contains(&totals[1].1), "{totals:?}");
        }
    });
    let audit = ledger.audit();
    assert!(audit.is_consistent(), "{audit:?}");
    assert_eq!(audit.assets.iter().map(|part| part.asset).collect::<Vec<_>>(), [USD, EUR]);
    let usd = &audit.assets[0];
    assert_eq!((usd.accounts, usd.balance_total, usd.entered_total, usd.left_total), (3, 100, 100, 0));
    let eur = &audit.assets[1];
    assert_eq!(eur.balance_total, 50 - eur.left_total as i128);
    assert_eq!(ledger.snapshot().asset_totals(), vec![(USD, 100), (EUR, eur.balance_total)]);
}
