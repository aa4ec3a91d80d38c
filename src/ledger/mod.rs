//! The ledger: the public API, one `impl Ledger` file per concept.
//!
//! | file | concept |
//! |---|---|
//! | `mod.rs` | the struct, construction, lookup by id |
//! | `config.rs` | [`LedgerBuilder`] and the limits on every table |
//! | `accounts.rs` | open, debit, credit, freeze, unfreeze, close, reads; the [`Account`] handle |
//! | `transfers.rs` | `transfer`, `transfer_all` (validation; the protocols are [`crate::transfer`], [`crate::linked`], [`crate::transfer_ids`]) |
//! | `holds.rs` | `hold`, `post`, `void`, `hold_info`, `expire_due` (the state machine is [`crate::hold_table`]) |
//! | `credentials.rs` | issuing, revoking and downgrading credentials |
//! | `credentialed.rs` | the `*_as` operations (a use is [`crate::credential_cell::InUse`]) |
//! | `quotas.rs` | refilling buckets by id |
//! | `inspect.rs` | `snapshot`, `audit` |
//! | `durable.rs` | opening a durable ledger (recovery), durability modes, `sync`, `synced`, `transfer_many` |
//!
//! # Implementation details
//!
//! What each public operation touches. "Word" means one `AtomicU64` changed
//! only by a CAS loop that decides every check with the change; "lock" means a
//! short `parking_lot` mutex held for a few CAS steps.
//!
//! | operation | atomic words | locks |
//! |---|---|---|
//! | lookup by id (every `*(id, …)` call) | directory slots, `Acquire` loads only | — |
//! | `debit`, `credit` | the account word; its flow counter (`fetch_add`) | — |
//! | `freeze`, `unfreeze`, `close`, reads | the account word | — |
//! | `open_account` | a directory slot (stored once) | directory insert lock |
//! | `transfer` | source word (debit + pin), destination word (credit), source `in_flight` (`fetch_sub`) | the id's transfer-id shard |
//! | `transfer_all` | each source word (debit + pin), each destination word (reserve, then commit) | every leg's transfer-id shard, in index order |
//! | `hold` | the source word (debit + open-hold count), its `held` total | the id's hold shard |
//! | `post`, `void`, expiry | the source's `held` and word, the destination word (post) | the id's hold shard |
//! | `expire_due` | as above, per due hold | each hold shard in turn |
//! | `snapshot` | the epoch (advance); per account the word (`fetch_xor`) and the save slot | gate: directory insert lock, every transfer-id and hold shard; snapshots one at a time |
//! | `audit` | every word, `held`, flow counters (loads) | — |
//! | `*_as` uses | the credential word (begin, charge, end), the bucket word (rate limit), then the operation's own | the operation's own |
//! | `revoke`, `revoke_all`, `downgrade_credential` | the credential word, then waits for earlier uses | credential admin lock |
//! | `take`, `refund`, `bucket_info` | the bucket word | — |
//! | `transfer_ids_remembered`, `holds_remembered` | — | each shard in turn |

mod accounts;
#[cfg(feature = "_broken-snapshot-without-gate")]
mod broken;
mod config;
mod credentialed;
mod credentials;
mod durable;
mod holds;
mod inspect;
mod quotas;
mod transfers;

use std::convert::Infallible;
use std::sync::Arc;

pub use accounts::Account;
pub use config::{
    LedgerBuilder, ACCOUNTS_MAX_LIMIT, BUCKETS_MAX_LIMIT, CREDENTIALS_MAX_LIMIT, HOLDS_MAX_LIMIT,
    IDS_PER_SHARD_MIN, SHARDS_PER_CORE, TRANSFER_IDS_MAX_LIMIT,
};
pub use durable::{Checkpoint, Durability, Recovery, BUFFERED_FLUSH_INTERVAL};
pub use inspect::{AssetAudit, Audit};

use crate::cell::AccountCell;
use crate::credential_cell::{CredentialCell, RateLimits, Refunds};
use crate::directory::{Directory, Slot};
use crate::epoch::Epoch;
use crate::hold_table::Holds;
use crate::quota::BucketCell;
use crate::sync::Mutex;
use crate::transfer_ids::TransferIds;
use crate::{AccountError, AccountId, Clock};

/// The outcome of a decision whose admission cannot decline (no credential).
fn never_declined<T>(decided: Result<T, Infallible>) -> T {
    match decided {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

/// An in-process ledger: accounts whose balances change only by compare-and-swap.
///
/// `Send + Sync`: share it by reference (scoped threads) or in an `Arc`.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, Transfer, TransferId};
/// let ledger = Ledger::new();
/// let (alice, bob) = (AccountId(1), AccountId(2));
/// ledger.open_account(alice, AccountOptions::default()).unwrap();
/// ledger.open_account(bob, AccountOptions::default()).unwrap();
/// ledger.credit(alice, 100).unwrap();
///
/// let transfer = Transfer { id: TransferId(1), from: alice, to: bob, amount: 60 };
/// assert!(!ledger.transfer(transfer).unwrap().repeat);
/// assert!(ledger.transfer(transfer).unwrap().repeat); // applied once
/// assert_eq!(ledger.balance(alice).unwrap(), 40);
/// assert_eq!(ledger.balance(bob).unwrap(), 60);
/// assert!(ledger.audit().is_consistent());
/// ```
pub struct Ledger {
    directory: Directory<AccountCell>,
    transfer_ids: TransferIds,
    holds: Holds,
    epoch: Epoch,
    /// Snapshots are taken one at a time (each epoch's collection must end
    /// before the next epoch begins; see [`crate::snapshot`]).
    snapshots: Mutex<()>,
    credentials: Directory<CredentialCell>,
    /// Serializes revocations and downgrades (see [`crate::credential`]).
    credential_admin: Mutex<()>,
    pub(crate) buckets: Directory<BucketCell>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The journal of a durable ledger; `None` in memory. Boxed: the
    /// in-memory test is then a null check, which needs no constant in a
    /// register on the hot path.
    durable: Option<Box<durable::Durable>>,
}

impl Default for Ledger {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("accounts", &self.directory.len())
            .field("accounts_max", &self.directory.entries_max())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// A ledger with the default limits (see [`LedgerBuilder`]).
    ///
    /// ```
    /// use atomic_ledger::Ledger;
    /// let ledger = Ledger::new();
    /// assert_eq!(ledger.accounts_max(), 65_536);
    /// assert_eq!(ledger.audit().accounts, 0);
    /// assert_eq!(ledger.transfer_ids_remembered(), 0);
    /// ```
    pub fn new() -> Self {
        // The defaults are in range by construction.
        Self::builder().build().unwrap_or_else(|error| unreachable!("default config invalid: {error}"))
    }

    /// Starts configuring a ledger.
    ///
    /// ```
    /// use atomic_ledger::Ledger;
    /// let ledger = Ledger::builder().accounts_max(100).transfer_ids_max(1_000).build().unwrap();
    /// assert_eq!(ledger.accounts_max(), 100);
    /// ```
    pub fn builder() -> LedgerBuilder {
        LedgerBuilder::default()
    }

    /// The configured account capacity.
    ///
    /// ```
    /// use atomic_ledger::Ledger;
    /// assert_eq!(Ledger::new().accounts_max(), 65_536);
    /// assert_eq!(Ledger::builder().accounts_max(500).build().unwrap().accounts_max(), 500);
    /// ```
    pub fn accounts_max(&self) -> usize {
        self.directory.entries_max()
    }

    /// The lookup behind [`Ledger::account`] and transfers: the account's
    /// cell, and its directory slot (what a transfer record keeps).
    #[inline]
    fn find_account(&self, id: AccountId) -> Result<(&AccountCell, Slot), AccountError> {
        self.directory.find(id.0).ok_or_else(|| Self::no_account(id))
    }

    /// The buckets and the clock that credentials' rate limits draw on.
    fn rates(&self) -> RateLimits<'_> {
        RateLimits {
            buckets: &self.buckets,
            clock: &*self.clock,
            log: self.durable().map(|durable| durable.log()),
        }
    }

    /// Where a resolved hold gives back what its credential paid.
    fn refunds(&self) -> Refunds<'_> {
        Refunds { credentials: &self.credentials, rates: self.rates() }
    }

    /// Why `id` has no cell. Reserved ids are never inserted, so the hit path
    /// need not test for them; only a miss asks which error it is.
    #[cold]
    fn no_account(id: AccountId) -> AccountError {
        if id.is_reserved() {
            AccountError::ReservedAccountId(id)
        } else {
            AccountError::UnknownAccount(id)
        }
    }
}
