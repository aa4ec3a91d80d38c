//! Runs N single-thread operations of one kind, for `valgrind --tool=callgrind`
//! (instructions per operation) or `perf`.
//!
//! `cargo run --release --example profile_transfer -- transfer 100000`
//! (kinds: `debit-id`, `debit-handle`, `debit-as`, `debit-as-rated` (with a
//! rate-limit bucket), `take` (a bucket per account id), `governor` (its
//! keyed limiter on the same keys), `transfer`).

use std::num::NonZeroU32;

use atomic_ledger::{
    AccountId, AccountOptions, BucketId, BucketPolicy, CredentialId, CredentialSpec, Ledger, Scopes,
    Transfer, TransferId,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "transfer".into());
    let count: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let accounts = 10_000u128;
    let ledger = Ledger::builder()
        .accounts_max(accounts as usize)
        .buckets_max(accounts as usize)
        .build()
        .expect("valid config");
    let policy = BucketPolicy { capacity: 1 << 23, refill_amount: 1 << 23, refill_interval_ms: 1_000 };
    for id in 1..=accounts {
        ledger.open_account(AccountId(id), AccountOptions::default()).expect("fresh");
        ledger.credit(AccountId(id), 1 << 40).expect("fits");
        ledger.open_bucket(BucketId(id), policy).expect("fresh");
    }
    let per_second = NonZeroU32::new(1 << 23).expect("positive");
    let governor = governor::RateLimiter::dashmap(governor::Quota::per_second(per_second));
    let handle = ledger.account(AccountId(1)).expect("opened");
    let key = CredentialSpec {
        account: AccountId(1),
        scopes: Scopes::DEBIT,
        amount_max_per_op: Some(10),
        spend_cap: None,
        expires_at_ms: None,
        rate_limit: None,
    };
    ledger.issue_credential(CredentialId(1), key).expect("fresh credential");
    let rated = CredentialSpec { rate_limit: Some(BucketId(1)), ..key };
    ledger.issue_credential(CredentialId(2), rated).expect("fresh credential");
    let mut state = 0x9e37_79b9_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        u128::from(state % accounts as u64) + 1
    };
    for i in 0..count {
        let ok = match kind.as_str() {
            "debit-id" => ledger.debit(AccountId(next()), 1).is_ok(),
            "debit-handle" => handle.debit(1).is_ok(),
            "debit-as" => ledger.debit_as(CredentialId(1), 1).is_ok(),
            "debit-as-rated" => ledger.debit_as(CredentialId(2), 1).is_ok(),
            "take" => ledger.take(BucketId(next()), 1).is_ok(),
            "governor" => governor.check_key(&next()).is_ok(),
            _ => {
                let (from, to) = (next(), next());
                let to = if to == from { from % accounts + 1 } else { to };
                let transfer = Transfer {
                    id: TransferId(u128::from(i) + 1),
                    from: AccountId(from),
                    to: AccountId(to),
                    amount: 1,
                };
                ledger.transfer(transfer).is_ok()
            }
        };
        assert!(ok);
    }
    println!("{count} {kind} done; audit consistent: {}", ledger.audit().is_consistent());
}
