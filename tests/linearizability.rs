//! Linearizability of real concurrent histories.
//!
//! Each history: a small ledger (3 accounts with little money, so that races for
//! the last funds are common), then 3 threads released together, each running
//! 5–8 random operations: transfers and linked batches (ids from a space of 4,
//! so concurrent duplicates and conflicts happen), holds, posts and voids
//! (hold ids from a space of 3), debits, credits, freezes, closes, reads and
//! snapshots. Every call is stamped with a shared logical clock just before it is
//! made and just after it returns. The WGL checker in `support/lincheck.rs`
//! must find an order of the calls that respects those stamps and replays on
//! the sequential model (`support/model.rs`: transfers in three steps, batches
//! one step per CAS, holds in two or three) with every observed result. A
//! snapshot is a single step that cannot fall between another operation's
//! steps: a history where a snapshot saw half a transfer, half a batch or half
//! a post is rejected.
//!
//! A second workload is dense in status changes (freeze, unfreeze, close) and
//! reads beside debits, transfers and holds, so that real threads meet the
//! races each status guard decides.
//!
//! Histories: `LINCHECK_HISTORIES` per workload (default 2000).

mod support;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use support::lincheck::{self, Event};
use support::model::{
    self, AccountRef, Amount, Batch, BucketRef, CredentialKind, CredentialRef, Expiry, FloorKind, HoldRef,
    LegSpec, Model, Op, Outcome, PolicyKind, ShapeRef, Tag, TransferRef, Units,
};

const THREADS: usize = 3;

struct Rng(u64);
impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn random_op(rng: &mut Rng) -> Op {
    let account = |rng: &mut Rng| AccountRef(1 + rng.below(3) as u8);
    let amount = |rng: &mut Rng| Amount(5, rng.below(4) as u16); // 1..=4
    let transfer_id = |rng: &mut Rng| TransferRef(1 + rng.below(4) as u8);
    let hold_id = |rng: &mut Rng| HoldRef(1 + rng.below(3) as u8);
    let leg = |rng: &mut Rng| LegSpec(transfer_id(rng), account(rng), account(rng), amount(rng));
    let (key, bucket) = (CredentialRef(1), BucketRef(1));
    let units = |rng: &mut Rng| Units(1 + rng.below(2) as u8);
    match rng.below(34) {
        26..=28 => Op::DebitAs(key, amount(rng), Tag(0)), // tagged by the caller
        29 => Op::CredentialInfo(key),
        30 => Op::Take(bucket, units(rng)),
        31 => Op::Refund(bucket, units(rng)),
        32 => Op::BucketInfo(bucket),
        33 => Op::Revoke(key),
        0..=5 => Op::Transfer(transfer_id(rng), account(rng), account(rng), amount(rng)),
        6..=7 => Op::Debit(account(rng), amount(rng)),
        8 => Op::DebitByHandle(account(rng), amount(rng)),
        9 => Op::Credit(account(rng), amount(rng)),
        10 => Op::Freeze(account(rng)),
        11 => Op::Unfreeze(account(rng)),
        12 => Op::Close(account(rng)),
        13..=14 => Op::Linked(Batch([leg(rng), leg(rng), leg(rng)], rng.below(3) as u8)),
        // Expiry 15 is "never": the clock does not move in these histories.
        15..=17 => Op::Hold(hold_id(rng), account(rng), account(rng), amount(rng), Expiry(15)),
        18..=19 => Op::Post(hold_id(rng), amount(rng)),
        20 => Op::Void(hold_id(rng)),
        21 => Op::HoldInfo(hold_id(rng)),
        22..=23 => Op::Snapshot,
        // `held` is read apart from the word: not part of one atomic read.
        _ => Op::ReadWord(account(rng)),
    }
}

/// A workload dense in status changes and reads beside debits, transfers and
/// holds: freezes, unfreezes and closes race the operations their status
/// guards, and reads pin where each one fell. A guard read outside the CAS
/// that applies its change (a debit that checked the status before a freeze
/// and landed after it) shows up as a read that no order explains.
fn status_dense_op(rng: &mut Rng) -> Op {
    let account = |rng: &mut Rng| AccountRef(1 + rng.below(3) as u8);
    let amount = |rng: &mut Rng| Amount(5, rng.below(2) as u16); // 1..=2
    let transfer_id = |rng: &mut Rng| TransferRef(1 + rng.below(4) as u8);
    let hold_id = |rng: &mut Rng| HoldRef(1 + rng.below(2) as u8);
    match rng.below(20) {
        0..=2 => Op::Freeze(account(rng)),
        3..=4 => Op::Unfreeze(account(rng)),
        5 => Op::Close(account(rng)),
        6..=8 => Op::ReadWord(account(rng)),
        10..=11 => Op::Debit(account(rng), amount(rng)),
        12 => Op::Credit(account(rng), amount(rng)),
        13..=14 => Op::Transfer(transfer_id(rng), account(rng), account(rng), amount(rng)),
        15 => Op::Hold(hold_id(rng), account(rng), account(rng), amount(rng), Expiry(15)),
        16 => Op::Post(hold_id(rng), amount(rng)),
        17 => Op::Void(hold_id(rng)),
        18 => Op::DebitByHandle(account(rng), amount(rng)),
        _ => Op::ReadWord(account(rng)), // `held` is read apart from the word: not part of one atomic read
    }
}

/// Gives a credentialed use its history-unique tag.
fn tagged(op: Op, tag: u8) -> Op {
    match op {
        Op::DebitAs(key, amount, _) => Op::DebitAs(key, amount, Tag(tag)),
        other => other,
    }
}

fn setup() -> [Op; 7] {
    [
        Op::Open(AccountRef(1), FloorKind::Zero, ShapeRef(0)),
        Op::Open(AccountRef(2), FloorKind::Overdraft(Amount(5, 1)), ShapeRef(0)), // floor -2
        Op::Open(AccountRef(3), FloorKind::Zero, ShapeRef(20)),                   // ceiling 6
        Op::Credit(AccountRef(1), Amount(5, 2)),                                  // 3
        Op::Credit(AccountRef(3), Amount(5, 0)),                                  // 1
        Op::OpenBucket(BucketRef(1), PolicyKind(0)), // 3 units (the clock stands still: no refill)
        // Key 1: account 1, debit and hold scopes, cap 6, rate limit bucket 1.
        Op::IssueCredential(CredentialRef(1), CredentialKind(AccountRef(1), 0b11, 0b0110)),
    ]
}

type History = Vec<Event<Op, Outcome>>;

/// One thread's operations.
type Script = Vec<Op>;

/// Runs one history on real threads released together, on `ledger`.
fn record(ledger: &model::Real, scripts: &[Script; THREADS]) -> (History, Model) {
    let mut initial = Model::default();
    for op in setup() {
        assert_eq!(model::apply_real(ledger, &op), initial.apply(&op));
    }
    let clock = AtomicU64::new(0);
    let ready = AtomicUsize::new(0);
    let mut history = Vec::new();
    std::thread::scope(|scope| {
        let runners: Vec<_> = scripts
            .iter()
            .enumerate()
            .map(|(thread, script)| {
                let (clock, ready) = (&clock, &ready);
                scope.spawn(move || {
                    ready.fetch_add(1, Ordering::AcqRel);
                    while ready.load(Ordering::Acquire) < THREADS {
                        std::hint::spin_loop();
                        std::thread::yield_now();
                    }
                    script
                        .iter()
                        .map(|op| {
                            let invoked_at = clock.fetch_add(1, Ordering::SeqCst);
                            let ret = model::apply_real(ledger, op);
                            let returned_at = clock.fetch_add(1, Ordering::SeqCst);
                            Event { thread, op: *op, ret, invoked_at, returned_at }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for runner in runners {
            history.extend(runner.join().expect("runner panicked"));
        }
    });
    let audit = ledger.audit();
    assert!(audit.is_consistent(), "{audit:?}");
    (history, initial)
}

#[test]
fn concurrent_histories_are_linearizable() {
    check_histories("mixed", random_op, Mode::InMemory);
}

#[test]
fn status_dense_histories_are_linearizable() {
    check_histories("status-dense", status_dense_op, Mode::InMemory);
}

/// The same histories on a durable ledger (its word claims and log
/// positions in every step), a quarter as many: each must be linearizable,
/// and reopening its journal must recover exactly the state it left.
#[test]
fn durable_histories_are_linearizable_and_recover_their_final_state() {
    check_histories("durable", random_op, Mode::Durable);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    InMemory,
    Durable,
}

/// Everything the public API shows of the small ledger's state.
fn fingerprint(ledger: &atomic_ledger::Ledger) -> String {
    let accounts: Vec<_> = (0..7u8).map(|raw| ledger.account_info(AccountRef(raw).id())).collect();
    let credentials: Vec<_> = (0..5u8).map(|raw| ledger.credential_info(CredentialRef(raw).id())).collect();
    let buckets: Vec<_> = (0..4u8).map(|raw| ledger.bucket_info(BucketRef(raw).id())).collect();
    let remembered = (ledger.transfer_ids_remembered(), ledger.holds_remembered());
    format!("{accounts:?}\n{credentials:?}\n{buckets:?}\n{:?}\n{remembered:?}", ledger.audit())
}

/// Records and checks `LINCHECK_HISTORIES` histories of operations drawn by
/// `draw` (a quarter as many on a durable ledger).
fn check_histories(workload: &str, draw: fn(&mut Rng) -> Op, mode: Mode) {
    let histories: u64 =
        std::env::var("LINCHECK_HISTORIES").ok().and_then(|value| value.parse().ok()).unwrap_or(2000);
    let histories = if mode == Mode::Durable { histories / 4 } else { histories };
    let (mut events, mut overlapping) = (0usize, 0usize);
    for seed in 0..histories {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0xbf58_476d_1ce4_e5b9) | 1);
        let scripts: [Script; THREADS] = std::array::from_fn(|thread| {
            let len = 5 + rng.below(4) as usize;
            (0..len).map(|index| tagged(draw(&mut rng), (thread * 16 + index) as u8)).collect()
        });
        let (history, initial) = match mode {
            Mode::InMemory => record(&model::ledger(), &scripts),
            Mode::Durable => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let clock = std::sync::Arc::new(atomic_ledger::ManualClock::new(0));
                let live = model::durable_ledger(dir.path(), clock.clone());
                let recorded = record(&live, &scripts);
                let before = fingerprint(&live);
                drop(live); // writes what is pending
                let reopened = model::durable_ledger(dir.path(), clock);
                assert_eq!(
                    fingerprint(&reopened),
                    before,
                    "{workload} history {seed} did not recover its state"
                );
                recorded
            }
        };
        events += history.len();
        overlapping += history
            .iter()
            .filter(|a| {
                history.iter().any(|b| {
                    a.thread != b.thread && a.invoked_at < b.returned_at && b.invoked_at < a.returned_at
                })
            })
            .count();
        if lincheck::check(&initial, &history).is_none() {
            let mut sorted = history.clone();
            sorted.sort_by_key(|event| event.invoked_at);
            panic!("{workload} history {seed} is not linearizable:\n{sorted:#?}");
        }
    }
    eprintln!(
        "linearizability ({workload}): {histories} histories, {events} operations ({:.1} per history), {overlapping} of them overlapping another thread's",
        events as f64 / histories as f64
    );
    assert!(overlapping > 0, "no history had concurrent operations: the test would prove nothing");
}

/// The checker must reject what the ledger must never do: here a history
/// where two debits both took the last 3 units of account 1.
#[test]
fn a_planted_double_spend_is_rejected() {
    let (_, initial) = record(&model::ledger(), &[vec![], vec![], vec![]]);
    let debit = Op::Debit(AccountRef(1), Amount(5, 2));
    let history = vec![
        Event { thread: 0, op: debit, ret: Outcome::Money(Ok(0)), invoked_at: 0, returned_at: 3 },
        Event { thread: 1, op: debit, ret: Outcome::Money(Ok(0)), invoked_at: 1, returned_at: 2 },
    ];
    assert!(lincheck::check(&initial, &history).is_none());
}

/// And a transfer id applied twice by two concurrent submissions.
#[test]
fn a_planted_double_apply_is_rejected() {
    let (_, initial) = record(&model::ledger(), &[vec![], vec![], vec![]]);
    let transfer = Op::Transfer(TransferRef(1), AccountRef(1), AccountRef(3), Amount(5, 0));
    let applied = Outcome::Transfer(Ok(atomic_ledger::TransferReceipt {
        id: atomic_ledger::TransferId(1),
        repeat: false,
    }));
    let history = vec![
        Event { thread: 0, op: transfer, ret: applied.clone(), invoked_at: 0, returned_at: 3 },
        Event { thread: 1, op: transfer, ret: applied, invoked_at: 1, returned_at: 2 },
    ];
    assert!(lincheck::check(&initial, &history).is_none());
}

/// And a credentialed debit that succeeded although it began after the
/// revocation of its credential had returned.
#[test]
fn a_planted_use_after_revoke_is_rejected() {
    let (_, initial) = record(&model::ledger(), &[vec![], vec![], vec![]]);
    let revoke = Op::Revoke(CredentialRef(1));
    let debit = Op::DebitAs(CredentialRef(1), Amount(5, 0), Tag(1));
    let history = vec![
        Event { thread: 0, op: revoke, ret: Outcome::Revoked(Ok(true)), invoked_at: 0, returned_at: 1 },
        Event { thread: 1, op: debit, ret: Outcome::DebitAs(Ok(2)), invoked_at: 2, returned_at: 3 },
    ];
    assert!(lincheck::check(&initial, &history).is_none());
    // The same debit overlapping the revocation may have come first.
    let overlapping = vec![
        Event { thread: 0, op: revoke, ret: Outcome::Revoked(Ok(true)), invoked_at: 0, returned_at: 3 },
        Event { thread: 1, op: debit, ret: Outcome::DebitAs(Ok(2)), invoked_at: 1, returned_at: 2 },
    ];
    assert!(lincheck::check(&initial, &overlapping).is_some());
}
