//! Dropping a ledger frees everything it allocated: the directory's cells are
//! raw pointers freed by hand in `Drop`, so this is checked with a counting
//! global allocator (this test binary only).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use atomic_ledger::{AccountId, AccountOptions, Ledger, Transfer, TransferId};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: defers to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn dropping_a_ledger_frees_its_accounts_and_tables() {
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    {
        let ledger = Ledger::builder().accounts_max(1000).transfer_ids_max(4096).build().unwrap();
        for id in 1..=1000 {
            ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
        }
        ledger.credit(AccountId(1), 1000).unwrap();
        for id in 1..=500 {
            ledger
                .transfer(Transfer { id: TransferId(id), from: AccountId(1), to: AccountId(2), amount: 1 })
                .unwrap();
        }
        let during = LIVE_BYTES.load(Ordering::Relaxed) - before;
        assert!(during >= 1000 * 128, "1000 padded cells should be live, {during} bytes are");
    }
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    assert_eq!(after, before, "{} bytes leaked", after - before);
}
