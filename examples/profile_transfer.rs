//! Runs N single-thread operations of one kind, for `valgrind --tool=callgrind`
//! (instructions per operation) or `perf`.
//!
//! `cargo run --release --example profile_transfer -- transfer 100000`, then
//! `valgrind --tool=callgrind --toggle-collect='*run_ops*' target/release/examples/profile_transfer debit-id 100000`
//! counts only the loop: instructions per operation = total ÷ 100 000.
//! (kinds: `debit-id`, `debit-handle`, `debit-as`, `debit-as-rated` (with a
//! rate-limit bucket), `take` (a bucket per account id), `governor` (its
//! keyed limiter on the same keys), `transfer`, `hold-post` (a hold, then
//! its post in full, with the hold table full of resolved holds)).

use std::num::NonZeroU32;

use atomic_ledger::{
    AccountId, AccountOptions, BucketId, BucketPolicy, CredentialId, CredentialSpec, HoldId, HoldRequest,
    Ledger, Scopes, Transfer, TransferId,
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
    let _ = governor.check_key(&0); // calibrates its clock outside the measured loop
    if kind == "transfer" {
        remember_transfers(&ledger, accounts);
    }
    if kind == "hold-post" {
        remember_holds(&ledger, accounts);
    }
    run_ops(&ledger, &handle, &governor, &kind, count);
    println!("{count} {kind} done; audit consistent: {}", ledger.audit().is_consistent());
}

/// Fills the transfer-id table to its default bound (2^20 ids, below every
/// measured one), as in the benchmarks: the measured transfers then run in
/// the steady state, each evicting, not in a table that is still growing.
fn remember_transfers(ledger: &Ledger, accounts: u128) {
    for id in 1..=1u128 << 20 {
        let (from, to) = (id % accounts + 1, (id + 1) % accounts + 1);
        let transfer = Transfer { id: TransferId(id), from: AccountId(from), to: AccountId(to), amount: 1 };
        ledger.transfer(transfer).expect("funded");
    }
}

/// Fills the hold table with resolved holds up to its default bound, as
/// [`remember_transfers`] does for transfer ids.
fn remember_holds(ledger: &Ledger, accounts: u128) {
    for id in 1..=HOLDS_REMEMBERED {
        hold_post(ledger, id, (id % accounts + 1, (id + 1) % accounts + 1));
    }
}

/// The default `holds_max`.
const HOLDS_REMEMBERED: u128 = 1 << 20;

/// A hold of 1 from `from` to `to`, then its post in full.
fn hold_post(ledger: &Ledger, id: u128, (from, to): (u128, u128)) -> bool {
    let request = HoldRequest {
        id: HoldId(id),
        from: AccountId(from),
        to: AccountId(to),
        amount: 1,
        expires_at_ms: u64::MAX,
    };
    ledger.hold(request).is_ok() && ledger.post(HoldId(id), 1).is_ok()
}

/// The measured loop, apart from the setup, so that callgrind can count it
/// alone: `--toggle-collect='*run_ops*'` (governor's clock calibrates itself
/// at first use, with a time-dependent number of instructions).
#[inline(never)]
fn run_ops(
    ledger: &Ledger,
    handle: &atomic_ledger::Account<'_>,
    governor: &governor::DefaultKeyedRateLimiter<u128>,
    kind: &str,
    count: u64,
) {
    let accounts = 10_000u128;
    let mut state = 0x9e37_79b9_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        u128::from(state % accounts as u64) + 1
    };
    // The kind is matched once, outside the loop: a string match per
    // iteration would be counted as the operation's cost.
    let repeat = |op: &mut dyn FnMut(u64) -> bool| (0..count).for_each(|i| assert!(op(i)));
    match kind {
        "debit-id" => repeat(&mut |_| ledger.debit(AccountId(next()), 1).is_ok()),
        "debit-handle" => repeat(&mut |_| handle.debit(1).is_ok()),
        "debit-as" => repeat(&mut |_| ledger.debit_as(CredentialId(1), 1).is_ok()),
        "debit-as-rated" => repeat(&mut |_| ledger.debit_as(CredentialId(2), 1).is_ok()),
        "take" => repeat(&mut |_| ledger.take(BucketId(next()), 1).is_ok()),
        "governor" => repeat(&mut |_| governor.check_key(&next()).is_ok()),
        "hold-post" => repeat(&mut |i| {
            let (from, to) = (next(), next());
            let to = if to == from { from % accounts + 1 } else { to };
            hold_post(ledger, u128::from(i) + HOLDS_REMEMBERED + 1, (from, to))
        }),
        _ => repeat(&mut |i| {
            let (from, to) = (next(), next());
            let to = if to == from { from % accounts + 1 } else { to };
            let transfer = Transfer {
                id: TransferId(u128::from(i) + (1 << 21)),
                from: AccountId(from),
                to: AccountId(to),
                amount: 1,
            };
            ledger.transfer(transfer).is_ok()
        }),
    }
}
