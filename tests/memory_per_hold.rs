//! Resident memory per remembered hold: one 48-byte lane entry (about 290
//! with the `HashMap` of whole records before the hold lanes). Measured as
//! the growth of this process's resident set (Linux `/proc/self/statm`;
//! skipped elsewhere) while the table fills and then evicts, as in a service
//! that has run a while. One test in its own binary, so nothing else
//! allocates meanwhile.

use atomic_ledger::{AccountId, AccountOptions, HoldId, HoldRequest, Ledger};

#[path = "support/resident.rs"]
mod resident;
use resident::resident_bytes;

#[test]
fn a_remembered_hold_costs_at_most_64_resident_bytes() {
    const HOLDS_MAX: usize = 1 << 18;
    let Some(before) = resident_bytes() else {
        eprintln!("no /proc/self/statm: skipped");
        return;
    };
    // Enough sources that the open holds stay under each one's HOLDS_OPEN_MAX.
    const SOURCES: u128 = 1000;
    let ledger = Ledger::builder().accounts_max(SOURCES as usize + 1).holds_max(HOLDS_MAX).build().unwrap();
    let to = AccountId(SOURCES + 1);
    for id in 1..=SOURCES + 1 {
        ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
        ledger.credit(AccountId(id), 1 << 30).unwrap();
    }
    for id in 1..=(HOLDS_MAX + HOLDS_MAX / 2) as u128 {
        let from = AccountId(id / 16 % SOURCES + 1);
        let request = HoldRequest { id: HoldId(id), from, to, amount: 2, expires_at_ms: u64::MAX };
        ledger.hold(request).unwrap();
        // Most holds resolved, as they are in a service; every 16th stays open.
        if id % 16 != 0 {
            ledger.post(HoldId(id), 1).unwrap();
        }
    }
    let remembered = ledger.holds_remembered();
    assert!(remembered >= HOLDS_MAX * 7 / 8, "a full table evicts in small batches: {remembered} remembered");
    let held: u64 = (1..=SOURCES).map(|id| ledger.account_info(AccountId(id)).unwrap().held).sum();
    assert_eq!(held, 2 * (HOLDS_MAX + HOLDS_MAX / 2) as u64 / 16, "every open hold still holds");
    let grown = resident_bytes().unwrap().saturating_sub(before);
    let per_hold = grown as f64 / remembered as f64;
    eprintln!("{per_hold:.1} resident bytes per remembered hold");
    // 48 bytes of entry, the lanes' slack (a ring buffer's power-of-two
    // capacity), and the open holds moved aside into a hash map.
    assert!(per_hold <= 64.0, "{per_hold:.1} resident bytes per remembered hold");
}
