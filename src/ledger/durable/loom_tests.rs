//! loom models of the journal's ordering rule on the real ledger: the
//! cases the issue names, checked by replaying every prefix of the log the
//! run wrote. A prefix is what a crash can leave; replay refuses any prefix
//! that breaks a floor, closes an account with money in it, or credits a
//! closed one. Run with the other in-crate models:
//! `RUSTFLAGS="--cfg atomic_ledger_loom" cargo test --release --lib loom_`.

use loom::sync::Arc;
use loom::thread;

use super::*;
use crate::recovery::Replayed;
use crate::{AccountId, AccountOptions, Transfer, TransferId};

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);

fn model(body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = None; // exhaustive, as tests/loom.rs
    }
    builder.check(body);
}

/// A durable ledger whose journal keeps its records in the ring (no
/// flusher: its own models are in `src/journal/commit/loom_tests.rs`), with
/// A holding `balance` and B empty.
fn ledger(balance: u64) -> Arc<Ledger> {
    let ledger = Ledger::builder()
        .accounts_max(2)
        .transfer_ids_max(2)
        .transfer_id_shards(1)
        .holds_max(1)
        .credentials_max(1)
        .buckets_max(1)
        .build_detached(64);
    ledger.open_account(A, AccountOptions::default()).unwrap();
    ledger.open_account(B, AccountOptions::default()).unwrap();
    ledger.credit(A, balance).unwrap();
    Arc::new(ledger)
}

/// Replays every prefix of what the ledger journaled; each must apply.
fn every_prefix_replays(ledger: &Ledger) {
    let log = LedgerBuilder::drain_detached(ledger);
    for end in 0..=log.len() {
        let mut replayed = Replayed::default();
        for (position, entry) in &log[..end] {
            if let Err(inconsistent) = replayed.apply(*position, entry) {
                panic!("the prefix up to {end} does not replay: {inconsistent}; log {log:?}");
            }
        }
    }
}

fn race(left: impl FnOnce() + Send + 'static, right: impl FnOnce() + Send + 'static) {
    let left = thread::spawn(left);
    let right = thread::spawn(right);
    left.join().unwrap();
    right.join().unwrap();
}

/// A debit drains A and `close(A)` follows: the close must never be in the
/// log without the debit ("a position right after the CAS" fails here).
#[test]
fn loom_a_close_is_never_durable_without_the_debit_it_saw() {
    model(|| {
        let ledger = ledger(1);
        let (one, two) = (ledger.clone(), ledger.clone());
        race(
            move || {
                let _ = one.debit(A, 1);
            },
            move || {
                let _ = two.close(A);
            },
        );
        every_prefix_replays(&ledger);
    });
}

/// A transfer A→B credits B and a debit of B spends that money: the debit
/// must never be in the log without the transfer's credit.
#[test]
fn loom_a_debit_is_never_durable_without_the_credit_it_spent() {
    model(|| {
        let ledger = ledger(1);
        let (one, two) = (ledger.clone(), ledger.clone());
        let transfer = Transfer { id: TransferId(1), from: A, to: B, amount: 1 };
        race(
            move || {
                let _ = one.transfer(transfer);
            },
            move || {
                let _ = two.debit(B, 1);
            },
        );
        every_prefix_replays(&ledger);
    });
}

/// `close(B)` races a transfer into B: the transfer's credit lands before
/// the close in the log, or is refused and undone after it.
#[test]
fn loom_a_close_racing_a_transfer_into_the_account_replays() {
    model(|| {
        let ledger = ledger(1);
        let (one, two) = (ledger.clone(), ledger.clone());
        let transfer = Transfer { id: TransferId(1), from: A, to: B, amount: 1 };
        race(
            move || {
                let _ = one.transfer(transfer);
            },
            move || {
                let _ = two.close(B);
            },
        );
        every_prefix_replays(&ledger);
    });
}

/// ABA: a debit loads the balance and takes its position; meanwhile a
/// second debit drains the account and a credit refills it to the same
/// word; the first debit's CAS then succeeds on a value written after its
/// position. Its position must still order it after the credit it
/// depends on.
#[test]
fn loom_a_cas_that_succeeds_on_a_rewritten_word_is_ordered_after_the_rewrite() {
    model(|| {
        let ledger = ledger(1);
        let (x, y, z) = (ledger.clone(), ledger.clone(), ledger.clone());
        let x = thread::spawn(move || {
            let _ = x.debit(A, 1);
        });
        let y = thread::spawn(move || {
            let _ = y.debit(A, 1);
        });
        let z = thread::spawn(move || {
            let _ = z.credit(A, 1);
        });
        x.join().unwrap();
        y.join().unwrap();
        z.join().unwrap();
        every_prefix_replays(&ledger);
    });
}
