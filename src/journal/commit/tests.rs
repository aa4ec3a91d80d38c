use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::*;
use crate::journal::format::{encode_header, read_segment};
use crate::journal::storage::memory::{Contents, MemoryStorage};

/// Every record the store has synced, as (position, kind, payload), read
/// back through the segment format.
fn synced_records(storage: &MemoryStorage) -> Vec<(u64, u8, Vec<u8>)> {
    let contents = storage.0.lock();
    let Some((first, _)) = contents.appended.first() else { return Vec::new() };
    let mut bytes = encode_header(*first).to_vec();
    for (_, frames) in &contents.appended[..contents.synced] {
        bytes.extend_from_slice(frames);
    }
    let segment = read_segment("memory", &bytes, false).expect("the flusher writes valid frames");
    segment
        .records
        .iter()
        .map(|record| (record.position, record.kind, bytes[record.payload.clone()].to_vec()))
        .collect()
}

fn journal(storage: &MemoryStorage, ring_capacity: usize) -> Journal {
    Journal::start(storage.clone(), 0, ring_capacity, None)
}

#[test]
fn a_wait_returns_once_its_records_and_all_before_them_are_synced() {
    let storage = MemoryStorage::default();
    let journal = journal(&storage, 8);
    for round in 0..50u8 {
        let reservation = journal.reserve();
        let position = reservation.position();
        reservation.fill(1, &[round; 3]);
        journal.wait_durable(position + 1).unwrap();
        let records = synced_records(&storage);
        assert_eq!(records.len() as u64, position + 1, "every position up to {position} synced");
        assert_eq!(records.last().unwrap(), &(position, 1, vec![round; 3]));
    }
}

#[test]
fn concurrent_writers_share_syncs_and_the_log_holds_each_position_once_in_order() {
    const THREADS: u64 = 4;
    const RECORDS: u64 = 500;
    let storage = MemoryStorage::default();
    // A ring far smaller than what is in flight: writers wait for room.
    let journal = journal(&storage, 4);
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let journal = &journal;
            scope.spawn(move || {
                for record in 0..RECORDS {
                    let reservation = journal.reserve();
                    let position = reservation.position();
                    reservation.fill(2, &(thread * RECORDS + record).to_le_bytes());
                    journal.wait_durable(position + 1).unwrap();
                }
            });
        }
    });
    let records = synced_records(&storage);
    assert_eq!(records.len() as u64, THREADS * RECORDS);
    let mut seen: Vec<u64> = records
        .iter()
        .enumerate()
        .map(|(index, (position, kind, payload))| {
            assert_eq!((*position, *kind), (index as u64, 2));
            u64::from_le_bytes(payload[..8].try_into().unwrap())
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..THREADS * RECORDS).collect::<Vec<_>>(), "each record exactly once");
    let syncs = storage.0.lock().appended.len() as u64;
    assert!(syncs <= THREADS * RECORDS, "at most one sync per record");
}

#[test]
fn a_dropped_reservation_is_a_hole() {
    let storage = MemoryStorage::default();
    let journal = journal(&storage, 4);
    drop(journal.reserve());
    journal.reserve().fill(3, b"after the hole");
    journal.sync().unwrap();
    let records = synced_records(&storage);
    assert_eq!(records, vec![(0, HOLE_KIND, vec![]), (1, 3, b"after the hole".to_vec())]);
}

#[test]
fn dropping_the_journal_writes_what_is_pending() {
    let storage = MemoryStorage::default();
    let journal = journal(&storage, 4);
    for record in 0..3u8 {
        journal.reserve().fill(1, &[record]);
    }
    drop(journal);
    assert_eq!(synced_records(&storage).len(), 3);
}

fn fails(configure: impl FnOnce(&mut Contents)) -> (MemoryStorage, Journal) {
    let storage = MemoryStorage::default();
    configure(&mut storage.0.lock());
    let journal = journal(&storage, 4);
    (storage, journal)
}

#[test]
fn a_failed_write_is_reported_to_every_waiter_and_never_retried() {
    let (storage, journal) = fails(|contents| contents.writes_before_failure = Some(1));
    journal.reserve().fill(1, b"first");
    journal.sync().unwrap();
    journal.reserve().fill(1, b"second");
    let failure = journal.sync().unwrap_err();
    assert_eq!(failure.action, JournalAction::Write);
    assert_eq!(failure.position, 1, "the first position not durable");
    assert_eq!(journal.failure(), Some(failure));
    assert!(journal.failure_detail().unwrap().contains("injected failure"));
    // Later records are never written, and every later wait fails the same way.
    journal.reserve().fill(1, b"third");
    assert_eq!(journal.sync(), Err(failure));
    assert_eq!(journal.durable(), 1);
    drop(journal);
    assert_eq!(synced_records(&storage).len(), 1);
    assert_eq!(storage.0.lock().appended.len(), 1, "no append after the failure");
}

#[test]
fn a_failed_sync_is_reported_and_never_retried() {
    let (storage, journal) = fails(|contents| contents.syncs_before_failure = Some(0));
    journal.reserve().fill(1, b"lost");
    let failure = journal.sync().unwrap_err();
    assert_eq!((failure.action, failure.position), (JournalAction::Sync, 0));
    assert_eq!(journal.durable(), 0, "a failed sync publishes nothing");
    drop(journal);
    let contents = storage.0.lock();
    assert_eq!((contents.appended.len(), contents.synced), (1, 0), "one attempt, no retry");
}

#[test]
fn writers_blocked_on_a_full_ring_are_released_by_a_failure() {
    let (_storage, journal) = fails(|contents| contents.syncs_before_failure = Some(0));
    // Capacity 4: positions 4.. wait for room, which a failed journal never
    // makes; they must return instead of hanging.
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..4 {
                    journal.reserve().fill(1, b"x");
                }
            });
        }
        scope.spawn(|| {
            journal.reserve().fill(1, b"y");
            assert!(journal.sync().is_err());
        });
    });
    assert!(journal.failure().is_some());
}

#[test]
fn buffered_records_reach_the_store_with_nobody_waiting() {
    let storage = MemoryStorage::default();
    let journal = Journal::start(storage.clone(), 0, 4, Some(Duration::from_millis(1)));
    journal.reserve().fill(1, b"buffered");
    // A guard against a hang, not a speed threshold.
    let deadline = Instant::now() + Duration::from_secs(60);
    while journal.durable() < 1 {
        assert!(Instant::now() < deadline, "the flusher never wrote a buffered record");
        std::thread::yield_now();
    }
    assert_eq!(synced_records(&storage).len(), 1);
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread until it completes: the smallest executor.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

#[test]
fn a_ticket_completes_once_what_came_before_it_is_synced() {
    let storage = MemoryStorage::default();
    let journal = journal(&storage, 4);
    for record in 0..10u8 {
        journal.reserve().fill(1, &[record]);
        let ticket = journal.synced();
        block_on(ticket).unwrap();
        assert_eq!(synced_records(&storage).len(), usize::from(record) + 1);
    }
    // A ticket for nothing pending is ready at once.
    assert_eq!(block_on(journal.synced()), Ok(()));
}

#[test]
fn a_ticket_reports_a_failure() {
    let (_storage, journal) = fails(|contents| contents.writes_before_failure = Some(0));
    journal.reserve().fill(1, b"x");
    let failure = block_on(journal.synced()).unwrap_err();
    assert_eq!(failure.action, JournalAction::Write);
}
