//! Resident memory per opened account stays within issue 6's budget of 256
//! bytes, directory included. Measured as the growth of this process's
//! resident set (Linux `/proc/self/statm`; skipped elsewhere) around building
//! a ledger of 200 000 accounts. One test in its own binary, so nothing else
//! allocates meanwhile.

use atomic_ledger::{AccountId, AccountOptions, Ledger};

#[path = "support/resident.rs"]
mod resident;
use resident::resident_bytes;

#[test]
fn an_opened_account_costs_at_most_256_resident_bytes() {
    const ACCOUNTS: usize = 200_000;
    let Some(before) = resident_bytes() else {
        eprintln!("no /proc/self/statm: skipped");
        return;
    };
    let ledger = Ledger::builder().accounts_max(ACCOUNTS).build().unwrap();
    for id in 1..=ACCOUNTS as u128 {
        ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
        ledger.credit(AccountId(id), 1).unwrap();
    }
    let grown = resident_bytes().unwrap().saturating_sub(before);
    let per_account = grown as f64 / ACCOUNTS as f64;
    eprintln!("{per_account:.0} resident bytes per account");
    // The cell is 128 bytes and the directory 16 bytes of slots per unit of
    // capacity; one allocation per cell used to cost 336 in all.
    assert!((128.0..=256.0).contains(&per_account), "{per_account:.0} bytes per account");
    assert_eq!(ledger.audit().balance_total, ACCOUNTS as i128);
}
