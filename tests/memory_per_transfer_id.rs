//! Resident memory per remembered transfer id: one 32-byte lane entry (64
//! before the entries named their accounts by directory slot, 290 with the
//! `HashMap` before the lanes). Measured as the growth of this process's
//! resident set (Linux `/proc/self/statm`; skipped elsewhere) while the
//! table fills and then evicts, as in a service that has run a while. One
//! test in its own binary, so nothing else allocates meanwhile.

use atomic_ledger::{AccountId, AccountOptions, Ledger, Transfer, TransferId};

#[path = "support/resident.rs"]
mod resident;
use resident::resident_bytes;

#[test]
fn a_remembered_transfer_id_costs_at_most_40_resident_bytes() {
    const IDS_MAX: usize = 1 << 18;
    let Some(before) = resident_bytes() else {
        eprintln!("no /proc/self/statm: skipped");
        return;
    };
    let ledger = Ledger::builder().accounts_max(2).transfer_ids_max(IDS_MAX).build().unwrap();
    let (from, to) = (AccountId(1), AccountId(2));
    for id in [from, to] {
        ledger.open_account(id, AccountOptions::default()).unwrap();
    }
    ledger.credit(from, 1 << 40).unwrap();
    for id in 1..=(IDS_MAX + IDS_MAX / 2) as u128 {
        ledger.transfer(Transfer { id: TransferId(id), from, to, amount: 1 }).unwrap();
    }
    let remembered = ledger.transfer_ids_remembered();
    assert!(remembered >= IDS_MAX * 7 / 8, "a full table evicts in small batches: {remembered} remembered");
    let grown = resident_bytes().unwrap().saturating_sub(before);
    let per_id = grown as f64 / remembered as f64;
    eprintln!("{per_id:.1} resident bytes per remembered transfer id");
    // 32 bytes of entry, and the lanes' slack: a lane's ring buffer has a
    // power-of-two capacity, here equal to its share of the table.
    assert!(per_id <= 40.0, "{per_id:.1} resident bytes per remembered transfer id");
}
