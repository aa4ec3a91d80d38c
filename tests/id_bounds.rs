//! The id tables' memory bounds are exact: never more than
//! `transfer_ids_max` transfer ids or `holds_max` holds remembered, at any
//! moment, for any shard count, the uneven splits included.

use atomic_ledger::{
    AccountId, AccountOptions, Floor, HoldId, HoldRequest, Ledger, LinkedError, Transfer, TransferId,
};

const SOURCE: AccountId = AccountId(1);
const SINK: AccountId = AccountId(2);
const EMPTY: AccountId = AccountId(3);

fn ledger(shards: usize, transfer_ids_max: usize, holds_max: usize) -> Ledger {
    let ledger = Ledger::builder()
        .transfer_id_shards(shards)
        .transfer_ids_max(transfer_ids_max)
        .holds_max(holds_max)
        .build()
        .unwrap();
    ledger
        .open_account(SOURCE, AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() })
        .unwrap();
    ledger.open_account(SINK, AccountOptions::default()).unwrap();
    ledger.open_account(EMPTY, AccountOptions::default()).unwrap();
    ledger
}

fn transfer(id: u128, from: AccountId) -> Transfer {
    Transfer { id: TransferId(id), from, to: SINK, amount: 1 }
}

/// Shard counts and, for each, maxima from one per shard up to a few, every
/// remainder included.
fn configurations() -> impl Iterator<Item = (usize, usize)> {
    [1usize, 2, 4, 8, 16]
        .into_iter()
        .flat_map(|shards| (shards..=3 * shards + 1).map(move |max| (shards, max)))
}

#[test]
fn transfer_ids_never_exceed_their_maximum_after_any_operation() {
    for (shards, transfer_ids_max) in configurations() {
        let ledger = ledger(shards, transfer_ids_max, shards);
        let mut peak = 0;
        let mut watch = |ledger: &Ledger| {
            let remembered = ledger.transfer_ids_remembered();
            assert!(
                remembered <= transfer_ids_max,
                "{shards} shards, transfer_ids_max {transfer_ids_max}: {remembered} remembered"
            );
            peak = peak.max(remembered);
        };
        let mut id = 0u128;
        for step in 0..600 {
            id += 1;
            match step % 5 {
                // Applied, rejected (an empty source), and a repeat.
                0 | 1 => assert!(ledger.transfer(transfer(id, SOURCE)).is_ok()),
                2 => assert!(ledger.transfer(transfer(id, EMPTY)).is_err()),
                3 => {
                    let _ = ledger.transfer(transfer(id - 1, EMPTY)); // a repeat, or an expired id
                }
                // A linked batch of three: applied, or refused whole by a shard too small for it.
                _ => {
                    let legs = [transfer(id, SOURCE), transfer(id + 1, SOURCE), transfer(id + 2, SOURCE)];
                    id += 2;
                    match ledger.transfer_all(&legs) {
                        Ok(_) => {}
                        Err(LinkedError::IdShardTooSmall { legs_in_shard, shard_records_max }) => {
                            assert!(legs_in_shard > shard_records_max);
                        }
                        Err(other) => panic!("{other}"),
                    }
                }
            }
            watch(&ledger);
        }
        // The table was used, not merely left empty.
        assert!(peak * 2 >= transfer_ids_max, "{shards} shards, max {transfer_ids_max}: peak {peak}");
        assert!(ledger.audit().is_consistent());
    }
}

#[test]
fn the_reported_overshoots_are_gone() {
    // The configurations in which a rounded-up share per shard let the table hold 16, 8 and 32.
    for (shards, transfer_ids_max) in [(8, 9), (4, 5), (16, 17)] {
        let ledger = ledger(shards, transfer_ids_max, shards);
        for id in 1..=2_000 {
            ledger.transfer(transfer(id, SOURCE)).unwrap();
            assert!(ledger.transfer_ids_remembered() <= transfer_ids_max);
        }
    }
}

#[test]
fn holds_never_exceed_their_maximum_after_any_operation() {
    for (shards, holds_max) in configurations() {
        let ledger = ledger(shards, shards, holds_max);
        let mut peak = 0;
        for n in 1..=400u128 {
            // Spread over the shards: consecutive ids share one, in runs of 64.
            let id = n * 97;
            let request =
                HoldRequest { id: HoldId(id), from: SOURCE, to: SINK, amount: 1, expires_at_ms: u64::MAX };
            let from = if n % 3 == 0 { EMPTY } else { SOURCE };
            let placed = ledger.hold(HoldRequest { from, ..request });
            let remembered = ledger.holds_remembered();
            assert!(remembered <= holds_max, "{shards} shards, holds_max {holds_max}: {remembered}");
            peak = peak.max(remembered);
            if placed.is_ok() {
                // Resolved, so that it may be forgotten; posts and voids in turn.
                if n % 2 == 0 {
                    ledger.post(HoldId(id), 1).unwrap();
                } else {
                    ledger.void(HoldId(id)).unwrap();
                }
                assert!(ledger.holds_remembered() <= holds_max);
            }
        }
        assert!(peak * 2 >= holds_max, "{shards} shards, max {holds_max}: peak {peak}");
        assert!(ledger.audit().is_consistent());
    }
}

#[test]
fn a_batch_too_big_for_its_shard_is_refused_and_changes_nothing() {
    let ledger = ledger(1, 2, 1);
    ledger.transfer(transfer(1, SOURCE)).unwrap();
    let before = (ledger.balance(SOURCE), ledger.balance(SINK), ledger.transfer_ids_remembered());
    let legs = [transfer(10, SOURCE), transfer(11, SOURCE), transfer(12, SOURCE)];
    assert_eq!(
        ledger.transfer_all(&legs),
        Err(LinkedError::IdShardTooSmall { legs_in_shard: 3, shard_records_max: 2 })
    );
    assert_eq!((ledger.balance(SOURCE), ledger.balance(SINK), ledger.transfer_ids_remembered()), before);
    // Nothing was evicted for it either: the earlier id is still answered.
    assert!(ledger.transfer(transfer(1, SOURCE)).unwrap().repeat);
    // Two legs fit.
    assert!(ledger.transfer_all(&legs[..2]).is_ok());
    assert_eq!(ledger.transfer_ids_remembered(), 2);
}
