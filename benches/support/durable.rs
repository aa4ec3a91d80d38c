//! The durable half of the ratio report (`bench_report durable`): the
//! disk's own limits, measured first; durable transfers/s with 1, 8, 64 and
//! 256 concurrent callers next to SQLite (WAL, `synchronous=FULL`) doing the
//! same conditional-update transfer, interleaved round by round; the batch
//! call; bytes per record and syncs per operation from the journal's own
//! counters; recovery time with and without a checkpoint.
//!
//! Everything runs in a temporary directory under `TMPDIR` (printed with
//! its file system): point `TMPDIR` at the disk you mean to measure.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use atomic_ledger::{AccountId, AccountOptions, Durability, Ledger, Transfer, TransferError, TransferId};

const ACCOUNTS: u128 = 10_000;
const FUNDING: u64 = 1 << 40;
const CALLERS: [usize; 4] = [1, 8, 64, 256];
const ROUNDS: usize = 3;
const SYNC_SAMPLES: usize = 500;
const SEQUENTIAL_BYTES: usize = 256 << 20;

/// The disk's own limits.
#[derive(Debug, Clone, Copy)]
pub struct Disk {
    pub sync_median: Duration,
    pub sync_p99: Duration,
    pub bytes_per_s: f64,
}

fn percentile(samples: &mut [Duration], fraction: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() - 1) as f64 * fraction).round() as usize]
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// 4 KiB appended then `fdatasync`, `SYNC_SAMPLES` times; then 256 MiB in
/// 1 MiB writes and one sync.
pub fn measure_disk(dir: &Path) -> Disk {
    let path = dir.join("disk-probe");
    let mut file = OpenOptions::new().create(true).append(true).open(&path).expect("probe file");
    let block = vec![0x5a_u8; 4096];
    let mut samples: Vec<Duration> = (0..SYNC_SAMPLES)
        .map(|_| {
            file.write_all(&block).expect("write");
            let started = Instant::now();
            file.sync_data().expect("fdatasync");
            started.elapsed()
        })
        .collect();
    let (sync_median, sync_p99) = (percentile(&mut samples, 0.5), percentile(&mut samples, 0.99));
    let chunk = vec![0xa5_u8; 1 << 20];
    let started = Instant::now();
    for _ in 0..SEQUENTIAL_BYTES / chunk.len() {
        file.write_all(&chunk).expect("write");
    }
    file.sync_data().expect("fdatasync");
    let bytes_per_s = SEQUENTIAL_BYTES as f64 / started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path).expect("remove the probe");
    Disk { sync_median, sync_p99, bytes_per_s }
}

/// A pseudo-random pair of distinct accounts for operation `i` of `thread`.
fn pair(thread: usize, i: usize) -> (u128, u128) {
    let mixed = ((thread as u64) << 32 | i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let from = u128::from(mixed >> 40) % ACCOUNTS;
    let to = (from + 1 + u128::from(mixed & 0xffff) % (ACCOUNTS - 1)) % ACCOUNTS;
    (from + 1, to + 1)
}

/// A durable ledger of `ACCOUNTS` funded accounts in `dir`.
pub(crate) fn durable_ledger(dir: &Path, durability: Durability) -> Ledger {
    let ledger = Ledger::builder()
        .accounts_max(ACCOUNTS as usize)
        .transfer_ids_max(1 << 22)
        .durability(durability)
        .open(dir)
        .expect("open the journal");
    for id in 1..=ACCOUNTS {
        ledger.open_account(AccountId(id), AccountOptions::default()).expect("fresh id");
    }
    for id in 1..=ACCOUNTS {
        ledger.credit(AccountId(id), FUNDING).expect("fits");
    }
    ledger.sync().expect("durable");
    ledger
}

fn transfer_of(round: usize, thread: usize, i: usize) -> Transfer {
    let (from, to) = pair(thread, i);
    let id = (round as u128) << 64 | (thread as u128) << 40 | i as u128;
    Transfer { id: TransferId(id), from: AccountId(from), to: AccountId(to), amount: 1 }
}

/// `threads` callers, each `ops` operations; ops/s.
fn callers(threads: usize, ops: usize, op: &(dyn Fn(usize, usize) + Sync)) -> f64 {
    let elapsed = crate::support::run_threads(threads, ops, 0, op);
    (threads * ops) as f64 / elapsed.as_secs_f64()
}

/// Operations per caller: about 2 000 in all, at least 40 each.
fn ops_per_caller(threads: usize, total: usize) -> usize {
    (total / threads).max(40.min(total))
}

/// Wakes the executor thread: the waker [`async_callers`] gives tickets.
struct Unpark(std::thread::Thread);

impl std::task::Wake for Unpark {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

/// `callers` concurrent operations in flight, as an async service runs
/// them, on [`EXECUTORS`] threads (each with its share): each applies a
/// transfer on a buffered ledger, then awaits its ticket
/// (`ledger.synced()`), and only then counts as done and starts the next.
/// No thread blocks per caller; each sync acknowledges every operation in
/// flight. Returns ops/s.
pub(crate) fn async_callers(ledger: &Ledger, round: usize, callers: usize, ops: usize) -> f64 {
    let executors = EXECUTORS.min(callers);
    let clock = Instant::now();
    std::thread::scope(|scope| {
        for executor in 0..executors {
            let share = move |total: usize| total / executors + usize::from(executor < total % executors);
            scope.spawn(move || run_executor(ledger, round, executor, share(callers), share(ops)));
        }
    });
    ops as f64 / clock.elapsed().as_secs_f64()
}

/// Threads the async callers run on. One: two (one per core) measured
/// slower at every caller count (26 253 / 154 174 / 451 662 transfers/s at
/// 8 / 64 / 256 callers against one thread's 40 204 / 255 590 / 625 535 in
/// neighbouring runs), their syncs no longer lined up with each other's.
const EXECUTORS: usize = 1;

/// One executor thread: `callers` operations in flight until `ops` are done.
/// Tickets complete in order, so it polls the oldest and parks while that
/// one is pending (its waker unparks it).
fn run_executor(ledger: &Ledger, round: usize, executor: usize, callers: usize, ops: usize) {
    use std::collections::VecDeque;
    use std::future::Future;
    use std::task::{Context, Poll};
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut in_flight = VecDeque::with_capacity(callers);
    let (mut started, mut done) = (0usize, 0usize);
    let start = |started: &mut usize, in_flight: &mut VecDeque<_>| {
        let result = ledger.transfer(transfer_of(round, executor, *started));
        assert!(!matches!(result, Err(TransferError::Journal(_))), "{result:?}");
        *started += 1;
        in_flight.push_back(Box::pin(ledger.synced().expect("durable")));
    };
    while started < callers.min(ops) {
        start(&mut started, &mut in_flight);
    }
    while done < ops {
        let Some(oldest) = in_flight.front_mut() else { break };
        match oldest.as_mut().poll(&mut context) {
            Poll::Ready(result) => {
                result.expect("durable");
                in_flight.pop_front();
                done += 1;
                if started < ops {
                    start(&mut started, &mut in_flight);
                }
            }
            Poll::Pending => std::thread::park(),
        }
    }
}

/// SQLite in WAL mode with `synchronous=FULL`: each caller has its own
/// connection, and a transfer is one immediate transaction that records the
/// id (a repeat is refused by the primary key), debits with a conditional
/// `UPDATE … WHERE balance >= amount`, and credits.
struct Sqlite {
    connections: Vec<Mutex<rusqlite::Connection>>,
}

impl Sqlite {
    fn open(dir: &Path, callers_max: usize) -> Self {
        let path = dir.join("sqlite.db");
        let setup = rusqlite::Connection::open(&path).expect("sqlite");
        setup
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
                 CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
                 CREATE TABLE transfers (id BLOB PRIMARY KEY, from_id INTEGER, to_id INTEGER,
                                         amount INTEGER, applied INTEGER) WITHOUT ROWID;",
            )
            .expect("schema");
        let insert = setup.prepare("INSERT INTO accounts VALUES (?1, ?2)");
        let mut insert = insert.expect("insert");
        setup.execute_batch("BEGIN").expect("begin");
        for id in 1..=ACCOUNTS as i64 {
            insert.execute((id, FUNDING as i64)).expect("account");
        }
        drop(insert);
        setup.execute_batch("COMMIT").expect("commit");
        let connections = (0..callers_max)
            .map(|_| {
                let connection = rusqlite::Connection::open(&path).expect("sqlite");
                connection.execute_batch("PRAGMA synchronous = FULL;").expect("pragma");
                connection.busy_timeout(Duration::from_secs(60)).expect("busy timeout");
                Mutex::new(connection)
            })
            .collect();
        Self { connections }
    }

    fn transfer(&self, caller: usize, transfer: &Transfer) -> bool {
        let mut connection = self.connections[caller].lock().expect("one caller per connection");
        let transaction = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin immediate");
        let id = transfer.id.0.to_be_bytes();
        let (from, to, amount) = (transfer.from.0 as i64, transfer.to.0 as i64, transfer.amount as i64);
        let recorded = transaction
            .execute("INSERT INTO transfers VALUES (?1, ?2, ?3, ?4, 0)", (&id[..], from, to, amount));
        if recorded.is_err() {
            return false; // a repeat: nothing changes
        }
        let debited = transaction
            .execute(
                "UPDATE accounts SET balance = balance - ?2 WHERE id = ?1 AND balance >= ?2",
                (from, amount),
            )
            .expect("debit");
        if debited == 1 {
            transaction
                .execute("UPDATE accounts SET balance = balance + ?2 WHERE id = ?1", (to, amount))
                .expect("credit");
            transaction
                .execute("UPDATE transfers SET applied = 1 WHERE id = ?1", [&id[..]])
                .expect("outcome");
        }
        transaction.commit().expect("commit");
        debited == 1
    }
}

/// Prints the durable rows.
pub fn report() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let started = Instant::now();
    println!("\n## Durable ({})", describe(dir.path()));
    let disk = measure_disk(dir.path());
    println!(
        "\ndisk: fdatasync after a 4 KiB write {:.3} ms median, {:.3} ms p99 ({SYNC_SAMPLES} samples); \
         sequential write {:.0} MB/s (256 MiB, 1 MiB writes, one sync)",
        disk.sync_median.as_secs_f64() * 1e3,
        disk.sync_p99.as_secs_f64() * 1e3,
        disk.bytes_per_s / 1e6
    );
    let ledger_dir = dir.path().join("ledger");
    let ledger = durable_ledger(&ledger_dir, Durability::Synchronous);
    let buffered = durable_ledger(&dir.path().join("buffered"), Durability::Buffered);
    let sqlite = Sqlite::open(dir.path(), *CALLERS.iter().max().expect("callers"));
    println!(
        "\n| callers | threads: durable transfers/s | syncs per transfer | ÷ N/sync latency | async tasks on one thread: durable transfers/s | ÷ N/sync latency | SQLite WAL FULL transfers/s | threads ÷ SQLite |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut round = 0;
    for threads in CALLERS {
        let (mut ours, mut theirs, mut syncs_per_op) = (Vec::new(), Vec::new(), Vec::new());
        let mut tasks = Vec::new();
        for _ in 0..ROUNDS {
            round += 1;
            let before = ledger.journal_stats().expect("durable");
            let ops = ops_per_caller(threads, 2_000);
            ours.push(callers(threads, ops, &|thread, i| {
                let result = ledger.transfer(transfer_of(round, thread, i));
                assert!(!matches!(result, Err(TransferError::Journal(_))), "{result:?}");
            }));
            let after = ledger.journal_stats().expect("durable");
            syncs_per_op.push((after.syncs - before.syncs) as f64 / (threads * ops) as f64);
            tasks.push(async_callers(&buffered, round, threads, (threads * 40).max(2_000)));
            let ops = ops_per_caller(threads, 1_000).max(8);
            theirs.push(callers(threads, ops, &|thread, i| {
                sqlite.transfer(thread, &transfer_of(round, thread, i));
            }));
        }
        let (ours, theirs, tasks) = (median(&mut ours), median(&mut theirs), median(&mut tasks));
        let bound = threads as f64 / disk.sync_median.as_secs_f64();
        println!(
            "| {threads} | {ours:.0} | {:.3} | {:.2} | {tasks:.0} | {:.2} | {theirs:.0} | {:.1} |",
            median(&mut syncs_per_op),
            ours / bound,
            tasks / bound,
            ours / theirs
        );
    }
    assert!(ledger.audit().is_consistent() && buffered.audit().is_consistent());
    drop(buffered);
    let stats = ledger.journal_stats().expect("durable");
    let record_bytes = stats.bytes_written as f64 / stats.durable_position as f64;
    drop(ledger);
    batch_call(dir.path(), &disk);
    println!(
        "\n(callers: median of {ROUNDS} interleaved rounds, about 2 000 transfers per round for atomic-ledger and 1 000 \
         for SQLite, at least 40 and 8 per caller; threads: each caller a thread blocking in a synchronous transfer; \
         async tasks: that many transfers in flight on one thread, each acknowledged when its ticket completes; \
         every transfer a fresh id between two of {ACCOUNTS} accounts; \
         {record_bytes:.0} bytes per journal record on average, framing included, two records per transfer)"
    );
    recovery_time(dir.path());
    println!("\ndurable report took {:.1} s", started.elapsed().as_secs_f64());
}

/// The file system under `path`, from `/proc/mounts` (Linux).
pub(crate) fn describe(path: &Path) -> String {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else { return path.display().to_string() };
    let mount = mounts
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            (fields.len() > 2 && path.starts_with(fields[1])).then(|| (fields[1].len(), fields[0], fields[2]))
        })
        .max();
    match mount {
        Some((_, device, kind)) => format!("{} on {device}, {kind}", path.display()),
        None => path.display().to_string(),
    }
}

const BATCH_LEN: usize = 10_000;
const BATCHES: usize = 50;

/// Many transfers, one sync: `transfer_many` from one thread.
fn batch_call(dir: &Path, disk: &Disk) {
    let ledger = durable_ledger(&dir.join("batch"), Durability::Synchronous);
    let mut samples = Vec::new();
    let before = ledger.journal_stats().expect("durable");
    for batch in 0..BATCHES {
        let transfers: Vec<Transfer> = (0..BATCH_LEN).map(|i| transfer_of(1_000 + batch, 0, i)).collect();
        let started = Instant::now();
        let results = ledger.transfer_many(&transfers);
        samples.push(BATCH_LEN as f64 / started.elapsed().as_secs_f64());
        assert!(results.iter().all(Result::is_ok));
    }
    let after = ledger.journal_stats().expect("durable");
    let transfers = (BATCHES * BATCH_LEN) as f64;
    let bytes_per_transfer = (after.bytes_written - before.bytes_written) as f64 / transfers;
    let bound = disk.bytes_per_s / bytes_per_transfer;
    let ops = median(&mut samples);
    println!(
        "\nbatch call: transfer_many of {BATCH_LEN}, {BATCHES} calls, one thread: {ops:.0} durable transfers/s (median \
         call), {bytes_per_transfer:.0} bytes and {:.5} syncs per transfer; ÷ (disk bandwidth / bytes per transfer) = {:.2}",
        (after.syncs - before.syncs) as f64 / transfers,
        ops / bound
    );
}

/// The recovery measurement alone (`bench_report recovery`).
pub fn recovery_only() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!("## Recovery ({})", describe(dir.path()));
    recovery_time(dir.path());
}

/// Accounts and journal records for the recovery measurement
/// (`RECOVERY_ACCOUNTS`, `RECOVERY_RECORDS`; 1 000 000 and 10 000 000).
fn recovery_size() -> (usize, u64) {
    let read = |name: &str, default: u64| {
        std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
    };
    (read("RECOVERY_ACCOUNTS", 1_000_000) as usize, read("RECOVERY_RECORDS", 10_000_000))
}

/// Time to open a journal of `RECOVERY_RECORDS` records over
/// `RECOVERY_ACCOUNTS` accounts: replaying all of it, then from a
/// checkpoint taken at its end.
fn recovery_time(dir: &Path) {
    let (accounts, records) = recovery_size();
    let path = dir.join("recovery");
    let builder = || Ledger::builder().accounts_max(accounts).durability(Durability::Buffered);
    let written = Instant::now();
    {
        let ledger = builder().open(&path).expect("open");
        for id in 1..=accounts as u128 {
            ledger.open_account(AccountId(id), AccountOptions::default()).expect("fresh id");
            ledger.credit(AccountId(id), FUNDING).expect("fits");
        }
        let mut batch = 1u128;
        while ledger.journal_stats().expect("durable").durable_position < records {
            let transfers: Vec<Transfer> = (0..100_000)
                .map(|i| {
                    let from = (i as u128 * 7_919 + batch) % accounts as u128 + 1;
                    let (from, to) = (AccountId(from), AccountId(from % accounts as u128 + 1));
                    Transfer { id: TransferId(batch << 32 | i as u128), from, to, amount: 1 }
                })
                .collect();
            let results = ledger.transfer_many(&transfers);
            let failed = results.iter().find(|result| result.is_err());
            assert!(failed.is_none(), "{failed:?}");
            batch += 1;
        }
    }
    let written = written.elapsed();
    let bytes: u64 = std::fs::read_dir(&path)
        .expect("dir")
        .map(|entry| entry.expect("entry").metadata().expect("meta").len())
        .sum();
    let opened = Instant::now();
    let ledger = builder().open(&path).expect("reopen");
    let full = opened.elapsed();
    let recovery = ledger.recovery().expect("durable").clone();
    let checkpointing = Instant::now();
    let checkpoint = ledger.checkpoint().expect("checkpoint").expect("durable");
    let checkpoint_time = checkpointing.elapsed();
    drop(ledger);
    let opened = Instant::now();
    let ledger = builder().open(&path).expect("reopen from the checkpoint");
    let from_checkpoint = opened.elapsed();
    assert!(ledger.audit().is_consistent());
    assert_eq!(ledger.recovery().expect("durable").checkpoint, Some(checkpoint.position));
    println!(
        "\nrecovery: {accounts} accounts, {} journal entries ({:.0} MB of segments, written in {:.1} s): \
         open replaying all of it {:.2} s; a checkpoint of it took {:.2} s ({:.0} MB, {} segments removed); \
         open from the checkpoint {:.2} s",
        recovery.entries,
        bytes as f64 / 1e6,
        written.as_secs_f64(),
        full.as_secs_f64(),
        checkpoint_time.as_secs_f64(),
        checkpoint.bytes as f64 / 1e6,
        checkpoint.segments_removed,
        from_checkpoint.as_secs_f64()
    );
}
