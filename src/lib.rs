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
mod cell;
mod directory;
mod error;
mod hash;
mod id;
mod ledger;
mod sync;
mod transfer;
mod transfer_ids;

pub use account::{Account, AccountInfo, AccountOptions, Floor, Opened, Status};
pub use cell::{AMOUNT_MAX, BALANCE_MAX, FLOOR_MIN, IN_FLIGHT_MAX};
pub use error::{AccountError, ConfigError, OpenError, Rejection, TransferError, TransferField};
pub use id::{AccountId, IdGenerator, TransferId};
pub use ledger::{Audit, Ledger, LedgerBuilder, ACCOUNTS_MAX_LIMIT, TRANSFER_IDS_MAX_LIMIT};
pub use transfer::{Transfer, TransferReceipt};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
