//! The crash model: a concurrent history on a durable ledger, its log cut
//! at every record boundary (every state a crash can leave), each prefix
//! recovered as opening does, and checked: it replays (every floor, ceiling,
//! status and close condition holds at every step), what the crash cut is
//! settled, closed accounts are empty, money is conserved, and no id is
//! decided twice. Each prefix recovered through a checkpoint taken part way
//! (operations in flight at it included) must recover the same state. The
//! full log must also recover exactly the live ledger: every balance and
//! status, and every id's answer.

use std::collections::HashSet;

use proptest::prelude::*;

use crate::journal::storage_for_tests::{decode_log, MemoryStorage};
use crate::journal::Entry;
use crate::recovery::{Decision, Replayed};
use crate::{
    AccountId, AccountOptions, Durability, Floor, Ledger, Status, Transfer, TransferError, TransferId,
};

const ACCOUNTS: u128 = 4;

#[derive(Debug, Clone)]
enum Op {
    Transfer(u128, u128, u64),
    Batch(Vec<(u128, u128, u64)>),
    Debit(u128, u64),
    Credit(u128, u64),
    Freeze(u128),
    Unfreeze(u128),
    Close(u128),
    Hold(u128, u128, u64),
    /// Post (or void, `amount` 0) this thread's hold made `back` holds ago.
    Resolve(usize, u64),
}

fn account() -> impl Strategy<Value = u128> {
    1..=ACCOUNTS
}

fn leg() -> impl Strategy<Value = (u128, u128, u64)> {
    (account(), account(), 1u64..40).prop_filter("two accounts", |(from, to, _)| from != to)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => leg().prop_map(|(from, to, amount)| Op::Transfer(from, to, amount)),
        2 => proptest::collection::vec(leg(), 1..4).prop_map(Op::Batch),
        2 => (account(), 1u64..40).prop_map(|(id, amount)| Op::Debit(id, amount)),
        2 => (account(), 1u64..40).prop_map(|(id, amount)| Op::Credit(id, amount)),
        1 => account().prop_map(Op::Freeze),
        1 => account().prop_map(Op::Unfreeze),
        1 => account().prop_map(Op::Close),
        2 => leg().prop_map(|(from, to, amount)| Op::Hold(from, to, amount)),
        2 => (0usize..3, 0u64..40).prop_map(|(back, amount)| Op::Resolve(back, amount)),
    ]
}

fn options(id: u128) -> AccountOptions {
    match id {
        1 => AccountOptions { floor: Floor::Overdraft(20), ..AccountOptions::default() },
        2 => AccountOptions { ceiling: Some(60), ..AccountOptions::default() },
        _ => AccountOptions::default(),
    }
}

fn transfer(id: u128, (from, to, amount): (u128, u128, u64)) -> Transfer {
    Transfer { id: TransferId(id), from: AccountId(from), to: AccountId(to), amount }
}

fn run(ledger: &Ledger, thread: usize, ops: &[Op]) {
    let mut holds: Vec<crate::HoldId> = Vec::new();
    for (index, op) in ops.iter().enumerate() {
        let id = (thread as u128 + 1) * 1_000 + index as u128 * 10;
        let _ = match op {
            Op::Transfer(from, to, amount) => {
                ledger.transfer(transfer(id, (*from, *to, *amount))).map(drop).map_err(drop)
            }
            Op::Batch(legs) => {
                let legs: Vec<Transfer> = legs
                    .iter()
                    .enumerate()
                    .map(|(leg, fields)| transfer(id + leg as u128, *fields))
                    .collect();
                ledger.transfer_all(&legs).map(drop).map_err(drop)
            }
            Op::Debit(account, amount) => ledger.debit(AccountId(*account), *amount).map(drop).map_err(drop),
            Op::Credit(account, amount) => {
                ledger.credit(AccountId(*account), *amount).map(drop).map_err(drop)
            }
            Op::Freeze(account) => ledger.freeze(AccountId(*account)).map_err(drop),
            Op::Unfreeze(account) => ledger.unfreeze(AccountId(*account)).map_err(drop),
            Op::Close(account) => ledger.close(AccountId(*account)).map_err(drop),
            Op::Hold(from, to, amount) => {
                let request = crate::HoldRequest {
                    id: crate::HoldId(id),
                    from: AccountId(*from),
                    to: AccountId(*to),
                    amount: *amount,
                    expires_at_ms: u64::MAX,
                };
                holds.push(request.id);
                ledger.hold(request).map(drop).map_err(drop)
            }
            Op::Resolve(back, amount) => match holds.iter().rev().nth(*back) {
                Some(&hold) if *amount == 0 => ledger.void(hold).map(drop).map_err(drop),
                Some(&hold) => ledger.post(hold, *amount).map(drop).map_err(drop),
                None => Ok(()),
            },
        };
    }
}

/// Recovers `log` as opening does: replay, then settle what was cut.
fn recover(log: &[(u64, Entry)]) -> Replayed {
    let mut replayed = Replayed::default();
    for (position, entry) in log {
        if let Err(error) = replayed.apply(*position, entry) {
            panic!("a prefix does not replay: {error}; log {log:?}");
        }
    }
    let next = log.last().map_or(0, |(position, _)| position + 1);
    for (offset, entry) in replayed.completions().into_iter().enumerate() {
        if let Err(error) = replayed.apply(next + offset as u64, &entry) {
            panic!("a settlement does not apply: {error}; log {log:?}");
        }
    }
    replayed
}

/// The limits every ledger in the model has.
fn builder() -> crate::LedgerBuilder {
    Ledger::builder().accounts_max(8).transfer_ids_max(256).transfer_id_shards(2)
}

/// What the id tables hold after `replayed`'s decisions.
fn images_of(replayed: &Replayed) -> crate::recovery::TableImages {
    let scratch = builder().build().unwrap();
    scratch.restore(replayed).unwrap();
    scratch.table_images()
}

/// Recovers `log` as opening does after a checkpoint of its first `split`
/// entries: the checkpoint's body decoded, the rest replayed, then settled.
fn recover_through_checkpoint(log: &[(u64, Entry)], split: usize) -> Replayed {
    let mut head = Replayed::default();
    for (position, entry) in &log[..split] {
        head.apply(*position, entry).unwrap();
    }
    let position = split.checked_sub(1).map_or(0, |last| log[last].0 + 1);
    let body = head.encode_checkpoint(&images_of(&head));
    let mut replayed = Replayed::decode_checkpoint(position, &body).unwrap();
    for (position, entry) in &log[split..] {
        if let Err(error) = replayed.apply(*position, entry) {
            panic!("the log after a checkpoint at {split} does not replay: {error}; log {log:?}");
        }
    }
    let next = log.last().map_or(position, |(position, _)| position + 1);
    for (offset, entry) in replayed.completions().into_iter().enumerate() {
        replayed.apply(next + offset as u64, &entry).unwrap();
    }
    replayed
}

/// A checkpoint changes nothing recovery yields: accounts, credentials,
/// buckets, and what the id tables remember.
fn check_checkpoints_agree(log: &[(u64, Entry)], full: &Replayed) {
    for split in [0, log.len() / 3, log.len() / 2, log.len()] {
        let through = recover_through_checkpoint(log, split);
        assert_eq!(through.accounts(), full.accounts(), "checkpoint at {split}");
        assert_eq!(through.credentials(), full.credentials(), "checkpoint at {split}");
        assert_eq!(through.buckets(), full.buckets(), "checkpoint at {split}");
        assert_eq!(images_of(&through), images_of(full), "checkpoint at {split}");
    }
}

fn check_invariants(replayed: &Replayed, external: (u64, u64)) {
    let mut total = 0i64;
    for account in replayed.accounts() {
        assert!(account.balance >= account.options.floor.lowest_balance(), "{account:?}");
        if account.status == Status::Closed {
            assert_eq!((account.balance, account.holds), (0, 0), "{account:?}");
        }
        total += account.balance + account.held as i64;
    }
    let (entered, left) = external;
    assert_eq!(total, entered as i64 - left as i64, "money is conserved");
    let mut ids = HashSet::new();
    for decision in replayed.decisions() {
        let legs = match decision {
            Decision::Single(decided) => std::slice::from_ref(decided),
            Decision::Batch(legs) => legs.as_slice(),
        };
        for leg in legs {
            assert!(ids.insert(leg.id), "{:?} decided twice", leg.id);
        }
    }
}

fn external_flows(replayed: &Replayed) -> (u64, u64) {
    replayed
        .accounts()
        .iter()
        .fold((0, 0), |(entered, left), account| (entered + account.entered, left + account.left))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_crash_prefix_recovers_to_a_consistent_ledger(
        threads in proptest::collection::vec(proptest::collection::vec(op(), 0..16), 2..=3),
    ) {
        let storage = MemoryStorage::default();
        let ledger = builder()
            .durability(Durability::Buffered)
            .build_on(storage.clone())
            .unwrap();
        for id in 1..=ACCOUNTS {
            ledger.open_account(AccountId(id), options(id)).unwrap();
            ledger.credit(AccountId(id), 30).unwrap();
        }
        // Started together, so that their steps interleave.
        let start = std::sync::Barrier::new(threads.len());
        std::thread::scope(|scope| {
            for (thread, ops) in threads.iter().enumerate() {
                let (ledger, start) = (&ledger, &start);
                scope.spawn(move || {
                    start.wait();
                    run(ledger, thread, ops)
                });
            }
        });
        ledger.sync().unwrap();
        let log = decode_log(&storage.0.lock().appended);
        for end in 0..=log.len() {
            let replayed = recover(&log[..end]);
            check_invariants(&replayed, external_flows(&replayed));
            check_checkpoints_agree(&log[..end], &replayed);
        }
        // The whole log recovers the live ledger exactly.
        let replayed = recover(&log);
        prop_assert!(replayed.completions().is_empty());
        for account in replayed.accounts() {
            let live = ledger.account_info(account.id).unwrap();
            prop_assert_eq!(
                (live.balance, live.status, live.holds_open, live.held),
                (account.balance, account.status, account.holds, account.held)
            );
        }
        for decision in replayed.decisions() {
            if let Decision::Single(decided) = decision {
                let again = ledger.transfer(Transfer { id: decided.id, from: decided.from, to: decided.to, amount: decided.amount });
                let matches = match (decided.outcome, again) {
                    (crate::record_lanes::Outcome::Applied, Ok(receipt)) => receipt.repeat,
                    (crate::record_lanes::Outcome::Rejected(reason), Err(TransferError::Rejected { reason: live, repeat })) => {
                        repeat && live == reason
                    }
                    _ => false,
                };
                prop_assert!(matches, "{decided:?}");
            }
        }
    }
}
