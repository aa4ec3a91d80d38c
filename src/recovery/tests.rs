use super::*;
use crate::Floor;

const A: AccountId = AccountId(1);
const B: AccountId = AccountId(2);
const C: AccountId = AccountId(3);

fn replay(entries: &[Entry]) -> Result<Replayed, Inconsistent> {
    let mut replayed = Replayed::default();
    for (position, entry) in entries.iter().enumerate() {
        replayed.apply(position as u64, entry)?;
    }
    Ok(replayed)
}

fn opened(accounts: &[AccountId]) -> Vec<Entry> {
    accounts
        .iter()
        .map(|&account| Entry::AccountOpened { account, options: AccountOptions::default() })
        .collect()
}

fn balance(replayed: &Replayed, id: AccountId) -> i64 {
    replayed.accounts().iter().find(|account| account.id == id).unwrap().balance
}

/// Replays `entries`, then the completions, as the opener does.
fn recover(entries: &[Entry]) -> Replayed {
    let mut replayed = replay(entries).unwrap();
    for (offset, entry) in replayed.completions().iter().enumerate() {
        replayed.apply((entries.len() + offset) as u64, entry).unwrap();
    }
    assert!(replayed.completions().is_empty(), "completions settle everything");
    replayed
}

#[test]
fn a_transfer_cut_after_its_debit_is_returned_and_forgotten() {
    let mut log = opened(&[A, B]);
    log.push(Entry::Credited { account: A, amount: 10 });
    log.push(Entry::TransferDebited { id: TransferId(7), from: A, to: B, amount: 4 });
    assert_eq!(balance(&replay(&log).unwrap(), A), 6);
    let replayed = recover(&log);
    assert_eq!((balance(&replayed, A), balance(&replayed, B)), (10, 0));
    assert!(replayed.decisions().is_empty(), "never acknowledged: forgotten");
}

#[test]
fn a_credited_transfer_is_decided_applied() {
    let mut log = opened(&[A, B]);
    log.push(Entry::Credited { account: A, amount: 10 });
    log.push(Entry::TransferDebited { id: TransferId(7), from: A, to: B, amount: 4 });
    log.push(Entry::TransferCredited { id: TransferId(7), from: A, to: B, amount: 4 });
    let replayed = recover(&log);
    assert_eq!((balance(&replayed, A), balance(&replayed, B)), (6, 4));
    let Decision::Single(decided) = replayed.decisions()[0] else { panic!("a single transfer") };
    assert_eq!((decided.id, decided.outcome), (TransferId(7), Outcome::Applied));
}

fn batch_declared() -> Vec<Entry> {
    let mut log = opened(&[A, B, C]);
    log.push(Entry::Credited { account: A, amount: 10 });
    let leg = |index: u8, to, amount| Entry::LegDeclared {
        id: TransferId(100 + u128::from(index)),
        first: TransferId(100),
        legs: 2,
        index,
        from: A,
        to,
        amount,
    };
    log.push(leg(0, B, 3));
    log.push(leg(1, C, 2));
    log.push(Entry::BatchDebited { first: TransferId(100), account: A, amount: 3 });
    log.push(Entry::BatchDebited { first: TransferId(100), account: A, amount: 2 });
    log
}

#[test]
fn a_batch_cut_before_its_commit_is_undone_and_forgotten() {
    let replayed = recover(&batch_declared());
    assert_eq!([A, B, C].map(|id| balance(&replayed, id)), [10, 0, 0]);
    assert!(replayed.decisions().is_empty());
}

#[test]
fn a_batch_cut_after_one_commit_is_completed_and_decided() {
    let mut log = batch_declared();
    log.push(Entry::BatchCredited { first: TransferId(100), account: B, amount: 3 });
    let replayed = recover(&log);
    assert_eq!([A, B, C].map(|id| balance(&replayed, id)), [5, 3, 2]);
    let Decision::Batch(legs) = &replayed.decisions()[0] else { panic!("a batch") };
    assert_eq!(legs.len(), 2);
    assert!(legs.iter().all(|leg| leg.outcome == Outcome::Applied));
}

#[test]
fn entries_that_would_break_an_invariant_are_refused_with_their_position() {
    let mut overdraw = opened(&[A]);
    overdraw.push(Entry::Debited { account: A, amount: 1 });
    assert_eq!(
        replay(&overdraw).unwrap_err(),
        Inconsistent { position: 1, reason: "a debit below the floor" }
    );

    let mut close_with_money = opened(&[A]);
    close_with_money.push(Entry::Credited { account: A, amount: 1 });
    close_with_money.push(Entry::StatusSet { account: A, status: Status::Closed });
    assert_eq!(replay(&close_with_money).unwrap_err().position, 2);

    let mut close_in_flight = opened(&[A, B]);
    close_in_flight.push(Entry::Credited { account: A, amount: 1 });
    close_in_flight.push(Entry::TransferDebited { id: TransferId(1), from: A, to: B, amount: 1 });
    close_in_flight.push(Entry::StatusSet { account: A, status: Status::Closed });
    assert!(replay(&close_in_flight).is_err(), "the debit is out of a pinned account");

    let unknown = [Entry::Credited { account: A, amount: 1 }];
    assert_eq!(replay(&unknown).unwrap_err().reason, "an entry names an account never opened");

    let twice = [opened(&[A]), opened(&[A])].concat();
    assert!(replay(&twice).is_err());

    let credit_alone =
        [opened(&[A]), vec![Entry::TransferCredited { id: TransferId(9), from: A, to: A, amount: 1 }]]
            .concat();
    assert!(replay(&credit_alone).is_err());
}

#[test]
fn a_destination_may_close_while_a_transfer_to_it_is_in_flight() {
    let mut log = opened(&[A, B]);
    log.push(Entry::Credited { account: A, amount: 1 });
    log.push(Entry::TransferDebited { id: TransferId(1), from: A, to: B, amount: 1 });
    log.push(Entry::StatusSet { account: B, status: Status::Closed });
    let reason = Rejection::AccountClosed { account: B };
    log.push(Entry::TransferUndone { id: TransferId(1), from: A, to: B, amount: 1, reason });
    let replayed = recover(&log);
    assert_eq!(balance(&replayed, A), 1);
    let Decision::Single(decided) = replayed.decisions()[0] else { panic!("a single transfer") };
    assert_eq!(decided.outcome, Outcome::Rejected(reason));
}

#[test]
fn an_overdraft_floor_is_honoured() {
    let options = AccountOptions { floor: Floor::Overdraft(5), ..AccountOptions::default() };
    let mut log = vec![Entry::AccountOpened { account: A, options }];
    log.push(Entry::Debited { account: A, amount: 5 });
    assert_eq!(balance(&replay(&log).unwrap(), A), -5);
    log.push(Entry::Debited { account: A, amount: 1 });
    assert!(replay(&log).is_err());
}

#[test]
fn a_settling_entry_must_repeat_its_debit() {
    let mut log = opened(&[A, B]);
    log.push(Entry::Credited { account: A, amount: 10 });
    log.push(Entry::TransferDebited { id: TransferId(7), from: A, to: B, amount: 4 });
    let settled = |entry| [log.clone(), vec![entry]].concat();
    let wrong_amount = Entry::TransferCredited { id: TransferId(7), from: A, to: B, amount: 5 };
    let wrong_account = Entry::TransferAbandoned { id: TransferId(7), from: B, to: A, amount: 4 };
    for entry in [wrong_amount, wrong_account] {
        let error = replay(&settled(entry)).unwrap_err();
        assert_eq!(
            error.reason, "a transfer settled with other accounts or amount than its debit",
            "{entry:?}"
        );
    }
    assert!(
        replay(&settled(Entry::TransferCredited { id: TransferId(7), from: A, to: B, amount: 4 })).is_ok()
    );
}

#[test]
fn an_abandoned_batch_returns_each_debit_in_its_own_entry() {
    let replayed = replay(&batch_declared()).unwrap();
    let completions = replayed.completions();
    assert_eq!(
        completions,
        vec![
            Entry::BatchReturned { first: TransferId(100), account: A, amount: 5 },
            Entry::BatchAbandoned { first: TransferId(100) },
        ]
    );
}
