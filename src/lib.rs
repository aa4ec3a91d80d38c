//! # atomic-ledger
//!
//! An embedded, in-process ledger whose per-account balances change only by
//! compare-and-swap, so that no interleaving of threads can overdraw an account
//! or apply the same transfer twice.
//!
//! * [`Ledger::debit`] / [`Ledger::credit`]: one CAS on one 64-bit word decides the
//!   floor check, the account's status and the new balance together. Lock-free;
//!   the directory lookup writes no shared memory.
//! * [`Ledger::transfer`]: double entry (debit, then credit; the debit is undone
//!   if the credit cannot land), exactly once per [`TransferId`].
//! * [`Ledger::transfer_all`]: linked transfers, all legs or none.
//! * [`Ledger::hold`], [`Ledger::post`], [`Ledger::void`], [`Ledger::expire_due`]:
//!   two-phase transfers; post, void and expiry race and exactly one wins.
//! * Credentials ([`Ledger::issue_credential`], [`Ledger::debit_as`],
//!   [`Ledger::transfer_as`], [`Ledger::revoke`], …): scopes and caps checked
//!   atomically with the action; a revocation cannot be outrun.
//! * Quotas: an allowance is an account; refilling buckets ([`Ledger::take`],
//!   [`Ledger::refund`]) move level and time base in one CAS, and a credential
//!   can carry one as its rate limit, decided together with its action.
//! * [`guide`]: the three check-then-act races, each with the call that
//!   replaces it and the test that proves the fix.
//! * [`Ledger::snapshot`]: every balance and held amount at one linearization
//!   point, while writers keep going.
//! * [`Ledger::audit`]: conservation, floors and statuses, checked at quiescence.
//!
//! See `README.md` for the guarantees and how each is tested, and
//! `ARCHITECTURE.md` for the atomic words and invariants.
//!
//! ```
//! use atomic_ledger::{AccountId, AccountOptions, Ledger};
//! let ledger = Ledger::new();
//! ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
//! ledger.credit(AccountId(1), 5).unwrap();
//! std::thread::scope(|scope| {
//!     for _ in 0..8 {
//!         scope.spawn(|| { let _ = ledger.debit(AccountId(1), 1); });
//!     }
//! });
//! assert_eq!(ledger.balance(AccountId(1)), Ok(0)); // exactly five debits won
//! assert!(ledger.audit().is_consistent());
//! ```
#![deny(unsafe_op_in_unsafe_fn)]

mod account;
mod bucket;
mod cell;
mod clock;
mod credential;
mod credential_cell;
mod directory;
mod epoch;
mod error;
mod event;
mod hash;
mod hold;
mod hold_lanes;
mod hold_table;
mod id;
mod id_lanes;
mod id_table;
mod journal;
mod journal_failed;
mod ledger;
mod linked;
mod quota;
mod record_lanes;
mod recovery;
mod snapshot;
mod statement;
mod stream;
mod sync;
mod transfer;
mod transfer_ids;

pub use account::{
    AccountInfo, AccountOptions, Asset, Floor, Opened, Rejection, Status, AMOUNT_MAX, BALANCE_MAX, FLOOR_MIN,
};
pub use bucket::{BucketInfo, BucketPolicy, QuotaError, Refunded, BUCKET_CAPACITY_MAX};
pub use cell::{HOLDS_OPEN_MAX, IN_FLIGHT_MAX};
pub use clock::{Clock, ManualClock, MonotonicClock, SystemClock};
pub use credential::{AccountAction, CredentialError, CredentialInfo, CredentialSpec, Scopes};
pub use error::{
    AccountError, AsError, ConfigError, HoldError, HoldField, LinkedError, OpenError, TransferError,
    TransferField,
};
pub use event::{Change, Event};
pub use hold::{HoldInfo, HoldReceipt, HoldRequest, HoldState, Posted};
pub use id::{AccountId, BucketId, CredentialId, HoldId, IdGenerator, TransferId};
pub use journal::{FormatError, JournalError, JournalStats, Synced};
pub use journal_failed::{JournalAction, JournalFailed};
pub use ledger::{
    Account, AssetAudit, Audit, Checkpoint, Durability, Ledger, LedgerBuilder, Recovery, ACCOUNTS_MAX_LIMIT,
    BUCKETS_MAX_LIMIT, BUFFERED_FLUSH_INTERVAL, CREDENTIALS_MAX_LIMIT, HOLDS_MAX_LIMIT, IDS_PER_SHARD_MIN,
    SHARDS_PER_CORE, TRANSFER_IDS_MAX_LIMIT,
};
pub use linked::{LinkedReceipt, LINKED_LEGS_MAX};
pub use snapshot::{AccountSnapshot, Snapshot};
pub use statement::{StatementEntry, StatementError, StatementPage, Statements, STATEMENT_PAGE_MAX};
pub use stream::{EventStream, Since, SubscribeError, Subscription};
pub use transfer::{Transfer, TransferReceipt};

#[doc = include_str!("../docs/guide.md")]
pub mod guide {}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
