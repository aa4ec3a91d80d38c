//! The change stream (`Ledger::subscribe`): every committed record once, in
//! order, across concurrent writers, a subscriber's restart, the ledger's
//! restart and a checkpoint; the typed error for a removed segment; the
//! async `Stream` and the blocking iterator deliver the same events.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use atomic_ledger::{
    AccountId, AccountOptions, Change, Event, HoldId, HoldRequest, Ledger, ManualClock, Since,
    SubscribeError, Transfer, TransferId,
};

const ACCOUNTS: u128 = 8;
const THREADS: u128 = 4;
const TRANSFERS_PER_THREAD: u128 = 200;

fn open(dir: &Path) -> Ledger {
    Ledger::builder()
        .accounts_max(64)
        .transfer_ids_max(4_096)
        .journal_segment_bytes_max(4_096)
        .clock(Arc::new(ManualClock::new(0)))
        .open(dir)
        .unwrap()
}

/// Account ids start at 1 (0 is reserved).
fn account(index: u128) -> AccountId {
    AccountId(1 + index % ACCOUNTS)
}

fn accounts() -> impl Iterator<Item = AccountId> {
    (0..ACCOUNTS).map(account)
}

fn fund(ledger: &Ledger) {
    for account in accounts() {
        ledger.open_account(account, AccountOptions::default()).unwrap();
        ledger.credit(account, 1_000).unwrap();
    }
}

/// Transfers from `THREADS` threads at once; some are refused (the source
/// ran dry), which the stream reports as rejected.
fn transfer_concurrently(ledger: &Ledger, id_base: u128) {
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            scope.spawn(move || {
                for index in 0..TRANSFERS_PER_THREAD {
                    let id = TransferId(id_base + thread * TRANSFERS_PER_THREAD + index);
                    let from = account(thread + index);
                    let to = account(thread + index + 1 + index % 3);
                    let amount = 1 + (index as u64 * 37) % 90;
                    let _ = ledger.transfer(Transfer { id, from, to, amount });
                }
            });
        }
    });
}

/// Takes events until `count` transfers (applied or rejected) were seen.
fn take_transfers(
    events: &mut impl Iterator<Item = Result<Event, SubscribeError>>,
    count: usize,
) -> Vec<Event> {
    let mut taken = Vec::new();
    let mut transfers = 0;
    while transfers < count {
        let event = events.next().expect("the stream goes on").expect("no error");
        transfers += usize::from(is_transfer(&event.change));
        taken.push(event);
    }
    taken
}

fn is_transfer(change: &Change) -> bool {
    matches!(change, Change::TransferApplied { .. } | Change::TransferRejected { .. })
}

fn transfer_id(change: &Change) -> Option<TransferId> {
    match *change {
        Change::TransferApplied { id, .. } | Change::TransferRejected { id, .. } => Some(id),
        _ => None,
    }
}

/// Positions increase; each transfer id appears once.
fn assert_once_in_order(events: &[Event]) {
    assert!(events.windows(2).all(|pair| pair[0].position < pair[1].position), "in log order");
    let ids: Vec<TransferId> = events.iter().filter_map(|event| transfer_id(&event.change)).collect();
    let distinct: HashSet<TransferId> = ids.iter().copied().collect();
    assert_eq!(ids.len(), distinct.len(), "each transfer once");
}

/// Every account's balance from the movements, as the ledger has it.
fn assert_movements_reproduce(ledger: &Ledger, events: &[Event]) {
    let mut balances: BTreeMap<AccountId, i64> = BTreeMap::new();
    for event in events {
        for (account, delta) in event.movements() {
            *balances.entry(account).or_default() += delta;
        }
    }
    for account in accounts() {
        assert_eq!(
            balances.get(&account).copied().unwrap_or(0),
            ledger.balance(account).unwrap(),
            "{account:?}"
        );
    }
}

#[test]
fn every_committed_transfer_is_delivered_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let events = ledger.subscribe(Since::Position(0)).unwrap(); // read while the writers write
    fund(&ledger);
    transfer_concurrently(&ledger, 1);
    let total = (THREADS * TRANSFERS_PER_THREAD) as usize;
    drop(ledger); // the stream ends after the last durable event: a missing one cannot hang the test
    let seen: Vec<Event> = events.map(Result::unwrap).collect();
    assert_once_in_order(&seen);
    assert_eq!(seen.iter().filter(|event| is_transfer(&event.change)).count(), total, "every transfer");
    let ledger = open(dir.path());
    assert_movements_reproduce(&ledger, &seen);
}

#[test]
fn a_subscriber_resumes_after_its_last_position_and_after_a_ledger_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    fund(&ledger);
    transfer_concurrently(&ledger, 1);
    let mut first = ledger.subscribe(Since::Position(0)).unwrap();
    let mut seen = take_transfers(&mut first, 300);
    drop(first); // the subscriber stops; it saved its last position
    let resume = seen.last().unwrap().position + 1;
    drop(ledger);

    let ledger = open(dir.path()); // the ledger restarts too
    let second = ledger.subscribe(Since::Position(resume)).unwrap();
    transfer_concurrently(&ledger, 10_000);
    let balances: Vec<i64> = accounts().map(|account| ledger.balance(account).unwrap()).collect();
    drop(ledger);
    seen.extend(second.map(Result::unwrap));
    assert_once_in_order(&seen);
    let transfers = seen.iter().filter(|event| is_transfer(&event.change)).count();
    assert_eq!(transfers, 2 * (THREADS * TRANSFERS_PER_THREAD) as usize, "none lost, none repeated");
    let ledger = open(dir.path());
    assert_eq!(balances, accounts().map(|account| ledger.balance(account).unwrap()).collect::<Vec<_>>());
    assert_movements_reproduce(&ledger, &seen);
}

#[test]
fn a_position_a_checkpoint_removed_is_a_typed_error_with_where_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    fund(&ledger);
    transfer_concurrently(&ledger, 1);
    let checkpoint = ledger.checkpoint().unwrap().expect("a checkpoint");
    assert!(checkpoint.segments_removed > 0, "small segments: some are covered");
    let error = ledger.subscribe(Since::Position(0)).unwrap_err();
    let SubscribeError::Compacted { requested: 0, resume_from, checkpoint: Some(at) } = error else {
        panic!("{error:?}")
    };
    assert_eq!(at, checkpoint.position, "the checkpoint that holds what was removed");
    assert!(resume_from > 0 && resume_from <= checkpoint.position, "{resume_from} vs {checkpoint:?}");
    assert!(error.to_string().contains("checkpoint"), "{error}");
    let resumed = ledger.subscribe(Since::Position(resume_from)).unwrap();
    ledger.credit(account(0), 5).unwrap();
    drop(ledger);
    let events: Vec<Event> = resumed.map(Result::unwrap).collect();
    assert!(events.iter().all(|event| event.position >= resume_from));
    assert_eq!(events.last().unwrap().change, Change::Credited { account: account(0), amount: 5 });
}

#[test]
fn a_subscription_past_the_end_or_on_an_in_memory_ledger_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    fund(&ledger);
    let error = ledger.subscribe(Since::Position(1_000_000)).unwrap_err();
    assert!(matches!(error, SubscribeError::Beyond { requested: 1_000_000, .. }), "{error:?}");
    let in_memory = Ledger::builder().accounts_max(4).build().unwrap();
    assert!(matches!(in_memory.subscribe(Since::End), Err(SubscribeError::NotDurable)));
}

#[test]
fn holds_batches_and_credentials_are_events_and_the_async_stream_agrees() {
    use futures::StreamExt;

    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    fund(&ledger);
    let since = Since::End;
    let blocking = ledger.subscribe(since).unwrap();
    let streamed = ledger.subscribe(since).unwrap();
    let (a, b) = (account(0), account(1));
    let request = HoldRequest { id: HoldId(1), from: a, to: b, amount: 30, expires_at_ms: 100 };
    ledger.hold(request).unwrap();
    ledger.post(HoldId(1), 20).unwrap();
    let legs = [
        Transfer { id: TransferId(50), from: a, to: b, amount: 5 },
        Transfer { id: TransferId(51), from: b, to: a, amount: 2 },
    ];
    ledger.transfer_all(&legs).unwrap();
    ledger.freeze(b).unwrap();
    drop(ledger);
    let events: Vec<Event> = blocking.map(Result::unwrap).collect();
    let async_events: Vec<Event> =
        futures::executor::block_on(streamed.into_stream().map(Result::unwrap).collect::<Vec<_>>());
    assert_eq!(events, async_events, "both ways deliver the same events");
    let changes: Vec<Change> = events.iter().map(|event| event.change).collect();
    assert!(matches!(changes[0], Change::HoldPlaced { id: HoldId(1), amount: 30, .. }), "{changes:?}");
    assert!(matches!(changes[1], Change::HoldPosted { id: HoldId(1), amount: 20, .. }), "{changes:?}");
    assert!(
        matches!(changes[2], Change::HoldEnded { id: HoldId(1), returned: 10, .. }),
        "the rest goes back: {changes:?}"
    );
    let legs_declared = changes.iter().filter(|change| matches!(change, Change::LegDeclared { .. })).count();
    let credited = changes.iter().filter(|change| matches!(change, Change::BatchCredited { .. })).count();
    assert_eq!((legs_declared, credited), (2, 2), "{changes:?}");
    assert_eq!(
        *changes.last().unwrap(),
        Change::StatusChanged { account: b, status: atomic_ledger::Status::Frozen }
    );
    let net: i64 = events.iter().flat_map(Event::movements).map(|(_, delta)| delta).sum();
    assert_eq!(net, 0, "money only moved between accounts");
}
