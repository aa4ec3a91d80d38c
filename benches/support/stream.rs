//! The change stream's rows (`bench_report stream`): writers' durable
//! transfers/s with no subscriber, with a subscriber that keeps up, and with
//! one that sleeps (and so falls behind), interleaved round by round; the
//! events/s the keeping-up subscriber received meanwhile; and how fast a
//! new subscriber catches up from the journal's files.
//!
//! Writers are the async callers of the durable rows (64 transfers in
//! flight on one thread, a buffered ledger, each acknowledged when its
//! ticket completes): the fastest durable path, so the one a subscriber
//! would slow first.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atomic_ledger::{Durability, Ledger, Since, SubscribeError};

use crate::durable::{async_callers, describe, durable_ledger, median};

const ROUNDS: usize = 5;
const CALLERS: usize = 64;
const TRANSFERS_PER_ROUND: usize = 50_000;
/// The sleeping subscriber: this long asleep every `SLOW_EVERY` events.
const SLOW_SLEEP: Duration = Duration::from_millis(1);
const SLOW_EVERY: u64 = 100;

#[derive(Clone, Copy, PartialEq)]
enum Subscriber {
    None,
    KeepsUp,
    Sleeps,
}

/// A subscriber on its own thread until `stop`; counts the events it took.
fn subscribe(
    ledger: &Ledger,
    kind: Subscriber,
    stop: Arc<AtomicBool>,
    taken: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    let mut events = ledger.subscribe(Since::End).expect("a durable ledger");
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match events.next_timeout(Duration::from_millis(10)) {
                Ok(Some(_)) => {
                    let count = taken.fetch_add(1, Ordering::Relaxed) + 1;
                    if kind == Subscriber::Sleeps && count.is_multiple_of(SLOW_EVERY) {
                        std::thread::sleep(SLOW_SLEEP); // the slow consumer being measured
                    }
                }
                Ok(None) => {}
                Err(SubscribeError::Ended) => return,
                Err(error) => panic!("{error}"),
            }
        }
    })
}

/// Prints the stream's rows.
pub fn report() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!("\n## Change stream ({})", describe(dir.path()));
    let ledger = durable_ledger(&dir.path().join("stream"), Durability::Buffered);
    let kinds = [Subscriber::None, Subscriber::KeepsUp, Subscriber::Sleeps];
    let mut writers: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
    let mut received = Vec::new();
    let mut round = 1_000;
    for _ in 0..ROUNDS {
        for (index, &kind) in kinds.iter().enumerate() {
            round += 1;
            let (stop, taken) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
            let subscriber =
                (kind != Subscriber::None).then(|| subscribe(&ledger, kind, stop.clone(), taken.clone()));
            let started = Instant::now();
            writers[index].push(async_callers(&ledger, round, CALLERS, TRANSFERS_PER_ROUND));
            let elapsed = started.elapsed().as_secs_f64();
            stop.store(true, Ordering::Relaxed);
            if let Some(subscriber) = subscriber {
                subscriber.join().expect("the subscriber");
            }
            if kind == Subscriber::KeepsUp {
                received.push(taken.load(Ordering::Relaxed) as f64 / elapsed);
            }
        }
    }
    let [none, keeps_up, sleeps] = [0, 1, 2].map(|index| median(&mut writers[index]));
    println!("\n| writers (64 async transfers in flight, buffered, each awaited) | durable transfers/s | ÷ no subscriber |");
    println!("|---|---|---|");
    println!("| no subscriber | {none:.0} | 1.00 |");
    println!("| a subscriber that keeps up | {keeps_up:.0} | {:.2} |", keeps_up / none);
    println!(
        "| a subscriber that sleeps {} ms every {SLOW_EVERY} events | {sleeps:.0} | {:.2} |",
        SLOW_SLEEP.as_millis(),
        sleeps / none
    );
    println!(
        "\nthe keeping-up subscriber received {:.0} events/s while the writers ran (median of {ROUNDS})",
        median(&mut received)
    );
    catch_up(&ledger);
}

/// A new subscriber reads everything from position 0: events/s.
fn catch_up(ledger: &Ledger) {
    ledger.sync().expect("durable");
    let end = ledger.journal_stats().expect("durable").durable_position;
    let mut events = ledger.subscribe(Since::Position(0)).expect("from the beginning");
    let started = Instant::now();
    let mut count = 0u64;
    while events.caught_up().is_none_or(|below| below < end) {
        if let Ok(Some(_)) = events.next_timeout(Duration::from_millis(10)) {
            count += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "\ncatching up from the files: {count} events ({end} journal positions) in {elapsed:.2} s, {:.0} events/s",
        count as f64 / elapsed
    );
}
