use proptest::prelude::*;

use super::*;

/// Raw material for one entry: a kind, a rejection tag and every field.
type Fields = (u8, u8, [u128; 3], [u64; 3], i64, u32, [u8; 3]);

fn rejection(tag: u8, account: AccountId, numbers: [u64; 3], balance: i64, small: u32) -> Rejection {
    match tag % 9 {
        0 => Rejection::InsufficientFunds { account, available: numbers[0], requested: numbers[1] },
        1 => Rejection::AccountFrozen { account },
        2 => Rejection::AccountClosed { account },
        3 => Rejection::BalanceOverflow { account, balance, amount: numbers[0], balance_max: balance },
        4 => Rejection::CeilingExceeded { account, balance, amount: numbers[0], ceiling: numbers[2] },
        5 => Rejection::BalanceNotZero { account, balance },
        6 => Rejection::TransfersInFlight { account, in_flight: small },
        7 => Rejection::HoldsOpen { account, holds: small },
        _ => Rejection::TooManyHolds { account, holds_open_max: small },
    }
}

fn entry((kind, tag, ids, numbers, balance, small, bytes): Fields) -> Entry {
    let (id, first) = (TransferId(ids[0]), TransferId(ids[1]));
    let (from, to) = (AccountId(ids[1]), AccountId(ids[2]));
    let amount = numbers[0];
    let reason = rejection(tag, from, numbers, balance, small);
    let floor = match bytes[0] % 3 {
        0 => Floor::Zero,
        1 => Floor::Overdraft(numbers[1]),
        _ => Floor::Unbounded,
    };
    let options =
        AccountOptions { floor, asset: Asset(small), ceiling: (bytes[1] % 2 == 1).then_some(numbers[2]) };
    let status = [Status::Open, Status::Frozen, Status::Closed][usize::from(bytes[2] % 3)];
    let hold = HoldId(ids[0]);
    let end = [HoldEnd::Posted { amount: numbers[1] }, HoldEnd::Voided, HoldEnd::Expired]
        [usize::from(bytes[2] % 3)];
    let credential = CredentialId(ids[1]);
    let option = |flag: u8, value| (flag % 2 == 1).then_some(value);
    let spec = CredentialSpec {
        account: to,
        scopes: Scopes::from_bits(bytes[0]),
        amount_max_per_op: option(bytes[1], numbers[0]),
        spend_cap: option(bytes[2], numbers[1]),
        expires_at_ms: option(bytes[0] >> 1, numbers[2]),
        rate_limit: (bytes[1] & 2 != 0).then_some(BucketId(ids[2])),
    };
    let policy =
        BucketPolicy { capacity: numbers[0], refill_amount: numbers[1], refill_interval_ms: numbers[2] };
    match kind % 26 {
        0 => Entry::AccountOpened { account: from, options },
        1 => Entry::Credited { account: from, amount },
        2 => Entry::Debited { account: from, amount },
        3 => Entry::StatusSet { account: from, status },
        4 => Entry::TransferDebited { id, from, to, amount },
        5 => Entry::TransferCredited { id, from, to, amount },
        6 => Entry::TransferUndone { id, from, to, amount, reason },
        7 => Entry::TransferRejected { id, from, to, amount, reason },
        8 => Entry::TransferAbandoned { id, from, to, amount },
        9 => Entry::LegDeclared { id, first, legs: bytes[0], index: bytes[1], from, to, amount },
        10 => Entry::BatchDebited { first, account: to, amount },
        11 => Entry::BatchReturned { first, account: to, amount },
        12 => Entry::BatchCredited { first, account: to, amount },
        13 => Entry::BatchRejected { first, failed_index: bytes[2], reason },
        14 => Entry::BatchAbandoned { first },
        15 => {
            let charged = (bytes[2] & 2 != 0).then_some(CredentialId(ids[2]));
            Entry::HoldPlaced { id: hold, from, to, amount, expires_at_ms: numbers[2], charged }
        }
        16 => Entry::HoldRejected { id: hold, from, to, amount, expires_at_ms: numbers[2], reason },
        17 => Entry::HoldPostCredited { id: hold, from, to, amount },
        18 => Entry::HoldEnded { id: hold, from, to, end, returned: numbers[2] },
        19 => Entry::CredentialIssued { id: credential, spec },
        20 => Entry::CredentialSpent { id: credential, amount },
        21 => Entry::CredentialReturned { id: credential, amount },
        22 => Entry::CredentialRevoked { id: credential },
        23 => Entry::CredentialDowngraded { id: credential, scopes: Scopes::from_bits(bytes[1]) },
        24 => Entry::BucketOpened { id: BucketId(ids[2]), policy, origin_ms: numbers[1] },
        _ => Entry::BucketSet { id: BucketId(ids[2]), word: numbers[2] },
    }
}

proptest! {
    #[test]
    fn every_entry_round_trips(fields in any::<Fields>()) {
        let entry = entry(fields);
        let (kind, payload) = entry.encode();
        prop_assert_eq!(Entry::decode(kind, payload.as_ref()), Ok(entry));
    }

    #[test]
    fn a_payload_cut_short_or_lengthened_is_refused(fields in any::<Fields>(), extra in 1usize..8) {
        let (kind, payload) = entry(fields).encode();
        let payload = payload.as_ref();
        for len in 0..payload.len() {
            prop_assert!(Entry::decode(kind, &payload[..len]).is_err());
        }
        let mut longer = payload.to_vec();
        longer.extend(std::iter::repeat_n(0, extra));
        prop_assert!(Entry::decode(kind, &longer).is_err());
    }

    #[test]
    fn arbitrary_payloads_never_panic(kind in any::<u8>(), payload in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Ok(entry) = Entry::decode(kind, &payload) {
            // Whatever decodes encodes back to the same bytes: one layout per entry.
            let (again, bytes) = entry.encode();
            prop_assert_eq!((again, bytes.as_ref()), (kind, payload.as_slice()));
        }
    }
}

#[test]
fn the_largest_hold_entry_fits_a_slot() {
    let reason = Rejection::BalanceOverflow { account: AccountId(1), balance: 0, amount: 0, balance_max: 0 };
    let rejected = Entry::HoldRejected {
        id: HoldId(1),
        from: AccountId(1),
        to: AccountId(2),
        amount: 1,
        expires_at_ms: 2,
        reason,
    };
    let (_, payload) = rejected.encode();
    assert_eq!(payload.as_ref().len(), 16 * 3 + 16 + 1 + 16 + 24);
    assert!(payload.as_ref().len() <= SLOT_PAYLOAD_MAX);
}

#[test]
fn the_largest_entry_fits_a_slot() {
    let reason = Rejection::BalanceOverflow { account: AccountId(1), balance: 0, amount: 0, balance_max: 0 };
    let rejected = Entry::TransferRejected {
        id: TransferId(1),
        from: AccountId(1),
        to: AccountId(2),
        amount: 1,
        reason,
    };
    let (_, payload) = rejected.encode();
    assert_eq!(payload.as_ref().len(), 16 * 3 + 8 + 1 + 16 + 24);
    assert!(payload.as_ref().len() <= SLOT_PAYLOAD_MAX);
}

#[test]
fn unknown_kinds_and_tags_are_refused_by_name() {
    assert_eq!(Entry::decode(0, &[]).unwrap_err().reason, "unknown kind");
    assert_eq!(Entry::decode(200, &[]).unwrap_err().reason, "unknown kind");
    let mut status = vec![0u8; 16];
    status.push(3);
    assert_eq!(Entry::decode(4, &status).unwrap_err().reason, "unknown status");
}
