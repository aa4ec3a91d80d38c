//! Statements folded from the change stream: replaying an account's entries
//! reproduces its balance, pages cover the history exactly once, and the
//! fold's memory stays within its bound.

use std::sync::Arc;

use atomic_ledger::{
    AccountId, AccountOptions, HoldId, HoldRequest, Ledger, ManualClock, Since, StatementEntry, Statements,
    Transfer, TransferId,
};

const ACCOUNTS: u128 = 6;

fn account(index: u128) -> AccountId {
    AccountId(1 + index % ACCOUNTS)
}

/// A mixed history: credits, debits, transfers (some refused), holds posted
/// and voided, a linked batch, from two threads.
fn history(ledger: &Ledger) {
    for index in 0..ACCOUNTS {
        ledger.open_account(account(index), AccountOptions::default()).unwrap();
        ledger.credit(account(index), 500).unwrap();
    }
    std::thread::scope(|scope| {
        for thread in 0..2u128 {
            scope.spawn(move || {
                for index in 0..150u128 {
                    let (from, to) = (account(thread + index), account(thread + 2 * index + 1));
                    let id = 1 + thread * 10_000 + index;
                    let amount = 1 + (index as u64 * 13) % 40;
                    match index % 5 {
                        0 => drop(ledger.debit(from, amount)),
                        1 => drop(ledger.credit(to, amount)),
                        2 => {
                            let request =
                                HoldRequest { id: HoldId(id), from, to, amount, expires_at_ms: 1_000 };
                            if ledger.hold(request).is_ok() {
                                if index % 2 == 0 {
                                    let _ = ledger.post(HoldId(id), amount / 2 + 1);
                                } else {
                                    let _ = ledger.void(HoldId(id));
                                }
                            }
                        }
                        3 => {
                            let legs = [
                                Transfer { id: TransferId(id), from, to, amount },
                                Transfer {
                                    id: TransferId(id + 5_000),
                                    from: to,
                                    to: from,
                                    amount: amount / 2 + 1,
                                },
                            ];
                            let _ = ledger.transfer_all(&legs);
                        }
                        _ => drop(ledger.transfer(Transfer {
                            id: TransferId(id),
                            from,
                            to,
                            amount: amount * 20,
                        })),
                    }
                }
            });
        }
    });
}

fn open(dir: &std::path::Path) -> Ledger {
    Ledger::builder()
        .accounts_max(16)
        .holds_max(1_024)
        .clock(Arc::new(ManualClock::new(0)))
        .open(dir)
        .unwrap()
}

#[test]
fn replaying_a_statement_reproduces_the_balance() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let events = ledger.subscribe(Since::Position(0)).unwrap();
    history(&ledger);
    let balances: Vec<i64> = (0..ACCOUNTS).map(|index| ledger.balance(account(index)).unwrap()).collect();
    drop(ledger);
    let mut statements = Statements::new(10_000);
    for event in events {
        statements.apply(&event.unwrap());
    }
    for index in 0..ACCOUNTS {
        let account = account(index);
        let mut entries: Vec<StatementEntry> = Vec::new();
        let mut from = 0;
        loop {
            let page = statements.statement(account, from, 7).unwrap();
            assert!(page.entries.len() <= 7 && page.oldest_kept.is_none());
            entries.extend(&page.entries);
            match page.next {
                Some(next) => from = next,
                None => break,
            }
        }
        assert!(
            entries.windows(2).all(|pair| pair[0].position < pair[1].position),
            "each entry once, in order"
        );
        let mut balance = 0;
        for entry in &entries {
            balance += entry.amount;
            assert_eq!(entry.balance, balance, "the balance after each entry follows from the amounts");
        }
        assert_eq!(balance, balances[index as usize], "{account:?}: the entries add up to the balance");
        assert_eq!(statements.balance(account), Some(balance));
        assert!(entries.len() > 50, "a real history: {}", entries.len());
    }
}

#[test]
fn a_replayed_stream_is_not_counted_twice_and_old_entries_are_dropped_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    history(&ledger);
    let balance = ledger.balance(account(0)).unwrap();
    let events: Vec<_> = {
        let stream = ledger.subscribe(Since::Position(0)).unwrap();
        drop(ledger);
        stream.map(Result::unwrap).collect()
    };
    let mut statements = Statements::new(10);
    for event in events.iter().chain(&events) {
        statements.apply(event);
    }
    assert_eq!(statements.balance(account(0)), Some(balance), "the second pass changed nothing");
    let page = statements.statement(account(0), 0, 100).unwrap();
    assert_eq!(page.entries.len(), 10, "the newest 10 kept");
    assert_eq!(page.oldest_kept, Some(page.entries[0].position));
    assert_eq!(page.entries.last().unwrap().balance, balance);
    for index in 0..ACCOUNTS {
        let kept = statements.statement(account(index), 0, 100).unwrap().entries.len();
        assert!(kept <= 10, "at most the limit per account: {kept}");
    }
}
