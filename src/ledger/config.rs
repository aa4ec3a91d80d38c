//! Configuration: every table's capacity, chosen once, and its accepted range.

use std::sync::Arc;

use super::Ledger;
use crate::directory::Directory;
use crate::epoch::Epoch;
use crate::hold_table::Holds;
use crate::sync::Mutex;
use crate::transfer_ids::TransferIds;
use crate::{Clock, ConfigError, SystemClock};

/// Accepted range of [`LedgerBuilder::accounts_max`].
///
/// ```
/// use atomic_ledger::{ConfigError, Ledger, ACCOUNTS_MAX_LIMIT};
/// let too_many = Ledger::builder().accounts_max(ACCOUNTS_MAX_LIMIT + 1).build();
/// assert!(matches!(too_many, Err(ConfigError::OutOfRange { name: "accounts_max", .. })));
/// ```
pub const ACCOUNTS_MAX_LIMIT: usize = 1 << 28;

// A transfer record names its accounts by directory slot, a `u32`.
const _: () = assert!(2 * ACCOUNTS_MAX_LIMIT <= u32::MAX as usize);

/// Accepted range of [`LedgerBuilder::transfer_ids_max`].
///
/// ```
/// use atomic_ledger::{ConfigError, Ledger, TRANSFER_IDS_MAX_LIMIT};
/// let too_many = Ledger::builder().transfer_ids_max(TRANSFER_IDS_MAX_LIMIT + 1).build();
/// assert!(matches!(too_many, Err(ConfigError::OutOfRange { name: "transfer_ids_max", .. })));
/// ```
pub const TRANSFER_IDS_MAX_LIMIT: usize = 1 << 28;

/// Accepted range of [`LedgerBuilder::holds_max`].
///
/// ```
/// use atomic_ledger::{ConfigError, Ledger, HOLDS_MAX_LIMIT};
/// let too_many = Ledger::builder().holds_max(HOLDS_MAX_LIMIT + 1).build();
/// assert!(matches!(too_many, Err(ConfigError::OutOfRange { name: "holds_max", .. })));
/// ```
pub const HOLDS_MAX_LIMIT: usize = 1 << 28;

/// Accepted range of [`LedgerBuilder::credentials_max`].
///
/// ```
/// use atomic_ledger::{ConfigError, Ledger, CREDENTIALS_MAX_LIMIT};
/// let too_many = Ledger::builder().credentials_max(CREDENTIALS_MAX_LIMIT + 1).build();
/// assert!(matches!(too_many, Err(ConfigError::OutOfRange { name: "credentials_max", .. })));
/// ```
pub const CREDENTIALS_MAX_LIMIT: usize = 1 << 28;

/// Accepted range of [`LedgerBuilder::buckets_max`].
///
/// ```
/// use atomic_ledger::{ConfigError, Ledger, BUCKETS_MAX_LIMIT};
/// let too_many = Ledger::builder().buckets_max(BUCKETS_MAX_LIMIT + 1).build();
/// assert!(matches!(too_many, Err(ConfigError::OutOfRange { name: "buckets_max", .. })));
/// ```
pub const BUCKETS_MAX_LIMIT: usize = 1 << 28;

/// Options for a [`Ledger`]. Every table has a fixed capacity, chosen here.
///
/// ```
/// use atomic_ledger::Ledger;
/// let ledger = Ledger::builder().accounts_max(1_000_000).transfer_ids_max(4_000_000).build().unwrap();
/// assert_eq!(ledger.accounts_max(), 1_000_000);
/// ```
#[derive(Debug, Clone)]
pub struct LedgerBuilder {
    accounts_max: usize,
    transfer_ids_max: usize,
    /// `None`: [`default_shards`] for the tables' maxima, at `build`.
    transfer_id_shards: Option<usize>,
    holds_max: usize,
    credentials_max: usize,
    buckets_max: usize,
    clock: Arc<dyn Clock>,
    pub(super) durability: super::Durability,
    pub(super) segment_bytes_max: usize,
}

impl Default for LedgerBuilder {
    fn default() -> Self {
        Self {
            accounts_max: 65_536,
            transfer_ids_max: 1 << 20,
            transfer_id_shards: None,
            holds_max: 1 << 20,
            credentials_max: 4_096,
            buckets_max: 4_096,
            clock: Arc::new(SystemClock),
            durability: super::Durability::default(),
            segment_bytes_max: super::durable::SEGMENT_BYTES_MAX,
        }
    }
}

impl LedgerBuilder {
    /// How many accounts the ledger can hold (default 65 536; at most
    /// [`ACCOUNTS_MAX_LIMIT`]). The directory allocates 16 bytes per account of
    /// capacity up front, and 128 bytes per account opened.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger, OpenError};
    /// let ledger = Ledger::builder().accounts_max(2).build().unwrap();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
    /// let third = ledger.open_account(AccountId(3), AccountOptions::default());
    /// assert_eq!(third, Err(OpenError::LedgerFull { accounts_max: 2 }));
    /// ```
    pub fn accounts_max(mut self, accounts_max: usize) -> Self {
        self.accounts_max = accounts_max;
        self
    }

    /// How many transfer ids the ledger remembers at most (default 2^20; at most
    /// [`TRANSFER_IDS_MAX_LIMIT`]). When a shard of the table fills, its
    /// smallest ids are forgotten, up to 64 at once (an eighth of a small
    /// shard), and any unknown id at or below them is refused with
    /// [`crate::TransferError::IdExpired`].
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger, Transfer, TransferError, TransferId};
    /// let ledger = Ledger::builder().transfer_id_shards(1).transfer_ids_max(8).build().unwrap();
    /// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() }).unwrap();
    /// ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
    /// let transfer = |id| Transfer { id: TransferId(id), from: AccountId(1), to: AccountId(2), amount: 1 };
    /// for id in 1..=9 {
    ///     ledger.transfer(transfer(id)).unwrap(); // the ninth makes the table forget the smallest ids
    /// }
    /// assert!(matches!(ledger.transfer(transfer(1)), Err(TransferError::IdExpired { .. })));
    /// ```
    pub fn transfer_ids_max(mut self, transfer_ids_max: usize) -> Self {
        self.transfer_ids_max = transfer_ids_max;
        self
    }

    /// How many holds the ledger remembers at most, open and resolved (default
    /// 2^20; at most [`HOLDS_MAX_LIMIT`]). Resolved holds are forgotten smallest
    /// id first when a shard of the table fills; open holds never are, and a
    /// shard full of open holds refuses new ones with [`crate::HoldError::TableFull`].
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Floor, HoldError, HoldId, HoldRequest, Ledger};
    /// let ledger = Ledger::builder().transfer_id_shards(1).holds_max(2).build().unwrap();
    /// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Unbounded, ..AccountOptions::default() }).unwrap();
    /// ledger.open_account(AccountId(2), AccountOptions::default()).unwrap();
    /// let hold = |id| HoldRequest { id: HoldId(id), from: AccountId(1), to: AccountId(2), amount: 1, expires_at_ms: u64::MAX };
    /// ledger.hold(hold(1)).unwrap();
    /// ledger.hold(hold(2)).unwrap();
    /// assert_eq!(ledger.hold(hold(3)), Err(HoldError::TableFull { holds_max: 2 }));
    /// ledger.void(HoldId(1)).unwrap(); // resolved: may now be forgotten
    /// assert!(ledger.hold(hold(3)).is_ok());
    /// ```
    pub fn holds_max(mut self, holds_max: usize) -> Self {
        self.holds_max = holds_max;
        self
    }

    /// How many credentials the ledger can hold, revoked ones included
    /// (default 4 096; at most [`CREDENTIALS_MAX_LIMIT`]). Like accounts,
    /// credentials are looked up without a lock and never removed; the table
    /// allocates 16 bytes per unit of capacity up front and 128 per credential.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, CredentialError, CredentialId, CredentialSpec, Ledger, Scopes};
    /// let ledger = Ledger::builder().credentials_max(1).build().unwrap();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::READ, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: None };
    /// ledger.issue_credential(CredentialId(1), spec).unwrap();
    /// assert_eq!(ledger.issue_credential(CredentialId(2), spec), Err(CredentialError::TableFull { credentials_max: 1 }));
    /// ```
    pub fn credentials_max(mut self, credentials_max: usize) -> Self {
        self.credentials_max = credentials_max;
        self
    }

    /// How many refilling quota buckets the ledger can hold (default 4 096; at
    /// most [`BUCKETS_MAX_LIMIT`]).
    ///
    /// ```
    /// use atomic_ledger::{BucketId, BucketPolicy, Ledger, QuotaError};
    /// let ledger = Ledger::builder().buckets_max(1).build().unwrap();
    /// let policy = BucketPolicy { capacity: 5, refill_amount: 1, refill_interval_ms: 1_000 };
    /// ledger.open_bucket(BucketId(1), policy).unwrap();
    /// assert_eq!(ledger.open_bucket(BucketId(2), policy), Err(QuotaError::TableFull { buckets_max: 1 }));
    /// ```
    pub fn buckets_max(mut self, buckets_max: usize) -> Self {
        self.buckets_max = buckets_max;
        self
    }

    /// The clock that hold and credential expiry read (default [`SystemClock`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use atomic_ledger::{AccountId, AccountOptions, HoldId, HoldRequest, HoldState, Ledger, ManualClock};
    /// let clock = Arc::new(ManualClock::new(1_000));
    /// let ledger = Ledger::builder().clock(clock.clone()).build().unwrap();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(AccountId(1), 10).unwrap();
    /// let request = HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 10, expires_at_ms: 2_000 };
    /// ledger.hold(request).unwrap();
    /// clock.set_ms(2_000);
    /// assert_eq!(ledger.hold_info(HoldId(1)).unwrap().state, HoldState::Expired); // released when touched
    /// assert_eq!(ledger.balance(AccountId(1)), Ok(10));
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many locks the transfer-id table (and the hold table) is split into (rounded up to a power
    /// of two). The default is [`SHARDS_PER_CORE`] per available core, between 4 and 256, halved
    /// while a shard would remember fewer than [`IDS_PER_SHARD_MIN`] ids of the smaller table:
    /// 64 shards on 2 cores with the default maxima.
    ///
    /// ```
    /// use atomic_ledger::{ConfigError, Ledger};
    /// assert!(Ledger::builder().transfer_id_shards(16).build().is_ok());
    /// // 10 rounds up to 16 shards, and each shard needs room for at least one id.
    /// let result = Ledger::builder().transfer_id_shards(10).transfer_ids_max(8).build();
    /// assert!(matches!(result, Err(ConfigError::OutOfRange { name: "transfer_ids_max", min: 16, .. })));
    /// ```
    pub fn transfer_id_shards(mut self, shards: usize) -> Self {
        self.transfer_id_shards = Some(shards);
        self
    }

    /// Builds the ledger, or says which setting is out of range.
    ///
    /// ```
    /// use atomic_ledger::{ConfigError, Ledger};
    /// let ledger = Ledger::builder().accounts_max(10).build().unwrap();
    /// assert_eq!(ledger.accounts_max(), 10);
    /// let result = Ledger::builder().transfer_id_shards(0).build();
    /// assert!(matches!(result, Err(ConfigError::OutOfRange { name: "transfer_id_shards", value: 0, .. })));
    /// ```
    pub fn build(self) -> Result<Ledger, ConfigError> {
        check_range("accounts_max", self.accounts_max, 1, ACCOUNTS_MAX_LIMIT)?;
        let parallelism = std::thread::available_parallelism().map_or(4, usize::from);
        let ids_max = self.transfer_ids_max.min(self.holds_max);
        let shards = self.transfer_id_shards.unwrap_or_else(|| default_shards(parallelism, ids_max));
        check_range("transfer_id_shards", shards, 1, 1 << 16)?;
        let shards = shards.next_power_of_two();
        check_range("transfer_ids_max", self.transfer_ids_max, shards, TRANSFER_IDS_MAX_LIMIT)?;
        check_range("holds_max", self.holds_max, shards, HOLDS_MAX_LIMIT)?;
        check_range("credentials_max", self.credentials_max, 1, CREDENTIALS_MAX_LIMIT)?;
        check_range("buckets_max", self.buckets_max, 1, BUCKETS_MAX_LIMIT)?;
        check_range("journal_segment_bytes_max", self.segment_bytes_max, 4_096, 1 << 30)?;
        Ok(Ledger {
            directory: Directory::new(self.accounts_max),
            transfer_ids: TransferIds::new(self.transfer_ids_max, shards),
            holds: Holds::new(self.holds_max, shards),
            epoch: Epoch::new(),
            snapshots: Mutex::new(()),
            credentials: Directory::new(self.credentials_max),
            credential_admin: Mutex::new(()),
            buckets: Directory::new(self.buckets_max),
            clock: self.clock,
            durable: None,
        })
    }
}

/// Default shards per available core. Two threads whose current id runs
/// (64 consecutive ids share a shard) fall in one shard share its lock and lines; at
/// 4 per core (the default until 0.1.0) that was one run in 8 on 2 cores,
/// and 32 per core measured 1.25–1.45× the transfers and holds per second
/// on 2 threads, one thread unchanged (BENCHMARKS.md, issue 18).
///
/// ```
/// use atomic_ledger::{Ledger, SHARDS_PER_CORE};
/// assert_eq!(SHARDS_PER_CORE, 32);
/// // Set explicitly, the count is taken as given (rounded up to a power of two).
/// assert!(Ledger::builder().transfer_id_shards(4).build().is_ok());
/// ```
pub const SHARDS_PER_CORE: usize = 32;

/// The fewest ids a default shard is given of the smaller of
/// `transfer_ids_max` and `holds_max` (a linked batch's ids often share a
/// shard: see [`crate::LinkedError::IdShardTooSmall`]).
///
/// ```
/// use atomic_ledger::{Ledger, IDS_PER_SHARD_MIN};
/// // A table this small gets a single default shard, and builds.
/// let small = Ledger::builder().transfer_ids_max(IDS_PER_SHARD_MIN).holds_max(8).build();
/// assert!(small.is_ok());
/// ```
pub const IDS_PER_SHARD_MIN: usize = 16;

/// The default shard count for `parallelism` cores and tables of at least
/// `ids_max` entries.
fn default_shards(parallelism: usize, ids_max: usize) -> usize {
    let mut shards = parallelism.saturating_mul(SHARDS_PER_CORE).next_power_of_two().clamp(4, 256);
    while shards > 1 && ids_max / shards < IDS_PER_SHARD_MIN {
        shards /= 2;
    }
    shards
}

pub(super) fn check_range(
    name: &'static str,
    value: usize,
    min: usize,
    max: usize,
) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange { name, value, min, max })
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::default_shards;

    #[test]
    fn default_shards_scale_with_cores_and_leave_each_shard_sixteen_ids() {
        assert_eq!(default_shards(2, 1 << 20), 64);
        assert_eq!(default_shards(1, 1 << 20), 32);
        assert_eq!(default_shards(64, 1 << 20), 256, "at most 256");
        assert_eq!(default_shards(2, 1_024), 64, "1 024 / 64 = 16 ids each");
        assert_eq!(default_shards(2, 1_023), 32);
        assert_eq!(default_shards(2, 100), 4);
        assert_eq!(default_shards(2, 8), 1, "never below one shard");
    }
}
