//! loom models of the journal's write path: group commit, ring room, and the
//! ordering rule on a toy word. Run with the other in-crate models:
//! `RUSTFLAGS="--cfg atomic_ledger_loom" cargo test --release --lib loom`.

use loom::sync::Arc;
use loom::thread;

use super::*;
use crate::journal::format::{encode_header, read_segment};
use crate::journal::ring::Ring;
use crate::journal::storage::memory::MemoryStorage;

/// Runs `body` in every interleaving with at most `preemptions` forced
/// switches (`LOOM_MAX_PREEMPTIONS` overrides it).
fn model(preemptions: usize, body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    // The flusher's lock, condvar and copy steps make long but finite runs.
    builder.max_branches = 20_000;
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    builder.check(body);
}

/// The models with the flusher thread: bound 2 explores them in seconds
/// (bound 3 takes 80 s for the first and finds nothing more).
const FLUSHER_PREEMPTIONS: usize = 2;
/// The ordering rule's models are small: bound 3.
const RULE_PREEMPTIONS: usize = 3;

/// The positions the store has synced, in order.
fn synced_positions(storage: &MemoryStorage) -> Vec<u64> {
    let contents = storage.0.lock();
    let Some((first, _)) = contents.appended.first() else { return Vec::new() };
    let mut bytes = encode_header(*first).to_vec();
    for (_, frames) in &contents.appended[..contents.synced] {
        bytes.extend_from_slice(frames);
    }
    let segment = read_segment("memory", &bytes, false).unwrap();
    segment.records.iter().map(|record| record.position).collect()
}

/// Two writers share a one-slot ring (the second waits for room) and each
/// waits for its record: a wait returns only once the store has synced
/// every position up to the waiter's, and each position is written once.
#[test]
fn loom_a_wait_returns_only_after_its_prefix_is_synced() {
    model(FLUSHER_PREEMPTIONS, || {
        let storage = MemoryStorage::default();
        let journal = Arc::new(Journal::start(storage.clone(), 0, 1, None));
        let writers: Vec<_> = (0..2u8)
            .map(|writer| {
                let (journal, storage) = (Arc::clone(&journal), storage.clone());
                thread::spawn(move || {
                    let reservation = journal.reserve();
                    let position = reservation.position();
                    reservation.fill(1, &[writer]);
                    journal.wait_durable(position + 1).unwrap();
                    let synced = synced_positions(&storage);
                    assert!(synced.len() as u64 > position, "acknowledged before {position} was synced");
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        drop(journal);
        assert_eq!(synced_positions(&storage), vec![0, 1]);
    });
}

/// A ticket polled while the flusher runs is woken once its prefix is durable.
#[test]
fn loom_a_ticket_is_woken_once_its_prefix_is_durable() {
    model(FLUSHER_PREEMPTIONS, || {
        let storage = MemoryStorage::default();
        let journal = Journal::start(storage.clone(), 0, 2, None);
        journal.reserve().fill(1, b"t");
        assert_eq!(loom::future::block_on(journal.synced()), Ok(()));
        assert_eq!(synced_positions(&storage), vec![0]);
    });
}

/// The ordering rule on one word, modelled on "a debit drains the account,
/// then close follows": the closer succeeds only on the drained word, so
/// the drain's record must come first in the log.
fn rule_model(position_before_rmw: bool) {
    model(RULE_PREEMPTIONS, move || {
        let ring = Arc::new(Ring::new(4, 0));
        let word = Arc::new(AtomicU64::new(1)); // the balance
        let drain = {
            let (ring, word) = (Arc::clone(&ring), Arc::clone(&word));
            thread::spawn(move || {
                let seen = word.load(Ordering::Acquire);
                if seen == 1 {
                    let step = |ring: &Ring| {
                        let position = ring.reserve();
                        ring.write(position, 1, b"drain");
                        position
                    };
                    let early = position_before_rmw.then(|| step(&ring));
                    let drained = word.compare_exchange(1, 0, Ordering::AcqRel, Ordering::Acquire).is_ok();
                    assert!(drained, "only this thread changes the balance");
                    early.unwrap_or_else(|| step(&ring));
                }
            })
        };
        let close = {
            let (ring, word) = (Arc::clone(&ring), Arc::clone(&word));
            thread::spawn(move || {
                // Close succeeds only on an empty balance (2 marks it closed).
                let seen = word.load(Ordering::Acquire);
                if seen == 0 {
                    let position = ring.reserve();
                    let closed = word.compare_exchange(0, 2, Ordering::AcqRel, Ordering::Acquire).is_ok();
                    ring.write(position, if closed { 2 } else { HOLE_KIND }, b"");
                }
            })
        };
        drain.join().unwrap();
        close.join().unwrap();
        let mut kinds = Vec::new();
        let mut payload = Vec::new();
        for position in 0..ring.handed_out() {
            kinds.push(ring.read(position, &mut payload).expect("every position filled"));
        }
        if let Some(close_at) = kinds.iter().position(|&kind| kind == 2) {
            let drain_at = kinds.iter().position(|&kind| kind == 1);
            assert!(
                drain_at.is_some_and(|drain_at| drain_at < close_at),
                "the close is in the log before the drain it depended on: {kinds:?}"
            );
        }
    });
}

#[test]
fn loom_the_ordering_rule_puts_a_drain_before_the_close_that_saw_it() {
    rule_model(true);
}

/// "A position right after your CAS" fails: the closer can take its
/// position between the drainer's CAS and the drainer's position.
#[test]
#[should_panic(expected = "the close is in the log before the drain it depended on")]
fn loom_a_position_taken_after_the_cas_breaks_the_rule() {
    rule_model(false);
}

/// A watcher (the change stream's reader) parked for position 0 wakes once
/// a writer's record is durable: no announcement is lost between its check
/// and its park. A lost one leaves it parked, which loom reports.
#[test]
fn loom_a_watcher_sees_every_durable_advance() {
    model(FLUSHER_PREEMPTIONS, || {
        let journal = Arc::new(Journal::start(MemoryStorage::default(), 0, 1, None));
        let watch = journal.watch();
        let watcher = thread::spawn(move || loop {
            match watch.wait_beyond(0) {
                Watched::Look if watch.durable() >= 1 => return,
                Watched::Look => {}
                other => panic!("the journal is open and healthy: {other:?}"),
            }
        });
        let reservation = journal.reserve();
        reservation.fill(1, &[7]);
        journal.wait_durable(1).unwrap();
        watcher.join().unwrap();
    });
}

/// A watcher parked on a journal that is dropped wakes and finds it closed,
/// with `durable` final: the stream ends instead of waiting forever.
#[test]
fn loom_a_watcher_learns_that_the_journal_closed() {
    model(FLUSHER_PREEMPTIONS, || {
        let journal = Journal::start(MemoryStorage::default(), 0, 1, None);
        let watch = journal.watch();
        let watcher = thread::spawn(move || loop {
            match watch.wait_beyond(0) {
                Watched::Look => {}
                Watched::Closed => return watch.durable(),
                Watched::Failed(failure) => panic!("{failure}"),
            }
        });
        drop(journal);
        assert_eq!(watcher.join().unwrap(), 0, "nothing was written");
    });
}

/// A round makes a record durable and the next fails: a watcher learns of
/// the failure only once it has seen every durable record, never with
/// acknowledged records it has not been told of.
#[test]
fn loom_a_watcher_sees_what_is_durable_before_the_failure() {
    model(FLUSHER_PREEMPTIONS, || {
        let storage = MemoryStorage::default();
        storage.0.lock().syncs_before_failure = Some(1);
        let journal = Arc::new(Journal::start(storage, 0, 2, None));
        let watch = journal.watch();
        let watcher = thread::spawn(move || {
            let mut seen = 0;
            loop {
                match watch.wait_beyond(seen) {
                    Watched::Look => seen = seen.max(watch.durable()),
                    Watched::Failed(_) => {
                        assert!(watch.durable() <= seen, "told of the failure before durable records");
                        return;
                    }
                    Watched::Closed => panic!("the journal fails before it is dropped"),
                }
            }
        });
        journal.reserve().fill(1, &[1]);
        journal.wait_durable(1).unwrap();
        journal.reserve().fill(1, &[2]);
        assert!(journal.wait_durable(2).is_err(), "the second sync fails");
        watcher.join().unwrap();
    });
}
