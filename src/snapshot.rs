//! Consistent snapshots: every account's balance and held amount at one
//! linearization point, taken while operations keep running.
//!
//! # Implementation details
//!
//! A global **epoch** counts snapshots. Each account word carries one `snap`
//! bit: the parity of the last epoch whose snapshot *collected* the account.
//! Only the snapshot flips it (a `fetch_xor`), once per account per epoch.
//! Each account also has a small save slot: a tag `epoch << 2 | state`
//! (claimed, done, sealed) and a saved word and held total.
//!
//! [`crate::Ledger::snapshot`]:
//! 1. takes the **gate**: the directory's insert lock, every transfer-id shard
//!    lock and every hold shard lock, in that order. Every operation that
//!    touches two accounts (transfer, linked batch, hold, post, void, expiry)
//!    runs entirely under one or more of those locks, so none is half-way now;
//! 2. advances the epoch to `e` — **the linearization point** — and releases
//!    the gate (transfers wait for a few lock acquisitions, not for the scan);
//! 3. collects every account opened before `e`, in one pass: flips its bit,
//!    then seals its slot for `e`, unless an operation claimed the slot first,
//!    in which case the value that operation saved is the account's value.
//!    Otherwise the word the flip replaced is.
//!
//! **Operations** (reads included) load the epoch after the account word. If
//! the bit says "not yet collected in the current epoch", they first save the
//! account's value — unless the slot is already claimed, done or sealed for
//! this epoch — by claiming the slot with a CAS and storing the word and held
//! total they read. They then act as usual, keeping the bit as it is. So the
//! first operation on an account after `e` preserves the value at `e` before
//! changing it; the snapshot uses that value, and later changes are not in it.
//!
//! An operation that loaded the epoch *before* `e` and changes an account
//! after `e` began before `e`, so it may be linearized on either side: before
//! `e` if the snapshot's value includes it (the snapshot's flip came later),
//! after `e` if not (a saved value predates it). After the flip its CAS, built
//! on the unflipped word, fails, and it retries in the new epoch.
//!
//! Multi-account operations read the epoch under their gate lock, so all their
//! steps fall on one side of `e`: a snapshot never sees half a transfer, and
//! conserves money exactly.
//!
//! **No ABA.** The bit is 1 bit, but only the snapshot flips it, once per
//! epoch, and epochs are serialized; the slot tag holds the whole 64-bit epoch
//! and only grows, so a claim prepared in an older epoch fails.
//!
//! **Progress.** Debits, credits and reads never wait for a snapshot: the
//! first one on each account after `e` pays one extra CAS (the claim) and
//! three stores; while the snapshot runs, the others on not-yet-collected
//! accounts pay one extra load. Multi-account operations wait only while the
//! gate is held (a few lock acquisitions). A snapshot cannot starve: the flip
//! cannot fail, the seal fails at most once (one claim per account per epoch),
//! and it waits only for the gate's holders (each a few CAS steps) and for a
//! claimant between its claim and its two stores. Snapshots are taken one at
//! a time.

use crate::{AccountId, Asset, Status};

/// One account in a [`Snapshot`].
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, AccountSnapshot, Asset, Ledger, Status};
/// let ledger = Ledger::new();
/// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
/// ledger.credit(AccountId(1), 9).unwrap();
/// let snapshot = ledger.snapshot();
/// let expected = AccountSnapshot { id: AccountId(1), asset: Asset(0), balance: 9, held: 0, status: Status::Open };
/// assert_eq!(snapshot.get(AccountId(1)), Some(&expected));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccountSnapshot {
    /// The account.
    pub id: AccountId,
    /// What its balance counts.
    pub asset: Asset,
    /// Its spendable balance.
    pub balance: i64,
    /// The sum of its open holds (money out of the balance, not yet posted or returned).
    pub held: u64,
    /// Its status.
    pub status: Status,
}

/// Every account's balance and held amount at one instant, from
/// [`crate::Ledger::snapshot`]. Accounts are sorted by id.
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, Transfer, TransferId};
/// let ledger = Ledger::new();
/// for id in 1..=2 {
///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
/// }
/// ledger.credit(AccountId(1), 100).unwrap();
/// ledger.transfer(Transfer { id: TransferId(1), from: AccountId(1), to: AccountId(2), amount: 30 }).unwrap();
/// let snapshot = ledger.snapshot();
/// assert_eq!(snapshot.accounts().len(), 2);
/// assert_eq!(snapshot.total(), 100); // balances plus held amounts
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Snapshot {
    pub(crate) epoch: u64,
    pub(crate) accounts: Vec<AccountSnapshot>,
}

impl Snapshot {
    /// The snapshot's epoch: 1 for a ledger's first snapshot, then increasing.
    /// Epochs are not journaled: a durable ledger counts them again from 1
    /// each time it is opened.
    ///
    /// ```
    /// let ledger = atomic_ledger::Ledger::new();
    /// let first = ledger.snapshot().epoch();
    /// assert!(ledger.snapshot().epoch() > first);
    /// ```
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Every account opened before the snapshot, sorted by id.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger};
    /// let ledger = Ledger::new();
    /// for id in [3, 1, 2] {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// let ids: Vec<u128> = ledger.snapshot().accounts().iter().map(|account| account.id.0).collect();
    /// assert_eq!(ids, [1, 2, 3]);
    /// ```
    pub fn accounts(&self) -> &[AccountSnapshot] {
        &self.accounts
    }

    /// One account, by binary search.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(5), AccountOptions::default()).unwrap();
    /// let snapshot = ledger.snapshot();
    /// assert_eq!(snapshot.get(AccountId(5)).map(|account| account.balance), Some(0));
    /// assert_eq!(snapshot.get(AccountId(6)), None);
    /// ```
    pub fn get(&self, id: AccountId) -> Option<&AccountSnapshot> {
        let index = self.accounts.binary_search_by_key(&id, |account| account.id).ok()?;
        self.accounts.get(index)
    }

    /// Sum of the balances.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Floor, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions { floor: Floor::Overdraft(10), ..AccountOptions::default() }).unwrap();
    /// ledger.debit(AccountId(1), 4).unwrap();
    /// assert_eq!(ledger.snapshot().balance_total(), -4);
    /// ```
    pub fn balance_total(&self) -> i128 {
        self.accounts.iter().map(|account| i128::from(account.balance)).sum()
    }

    /// Sum of the held amounts.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, HoldId, HoldRequest, Ledger};
    /// let ledger = Ledger::new();
    /// for id in 1..=2 {
    ///     ledger.open_account(AccountId(id), AccountOptions::default()).unwrap();
    /// }
    /// ledger.credit(AccountId(1), 10).unwrap();
    /// let request = HoldRequest { id: HoldId(1), from: AccountId(1), to: AccountId(2), amount: 6, expires_at_ms: u64::MAX };
    /// ledger.hold(request).unwrap();
    /// let snapshot = ledger.snapshot();
    /// assert_eq!((snapshot.balance_total(), snapshot.held_total()), (4, 6));
    /// ```
    pub fn held_total(&self) -> i128 {
        self.accounts.iter().map(|account| i128::from(account.held)).sum()
    }

    /// Balances plus held amounts: all the money in the ledger at the snapshot.
    /// Transfers, linked batches and holds never change it; only external
    /// credits and debits do.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// ledger.credit(AccountId(1), 10).unwrap();
    /// ledger.debit(AccountId(1), 3).unwrap();
    /// assert_eq!(ledger.snapshot().total(), 7);
    /// ```
    pub fn total(&self) -> i128 {
        self.balance_total() + self.held_total()
    }

    /// [`Self::total`] for each asset, sorted by asset: what conserves within
    /// each asset (the sum over assets adds up different units).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, Asset, Ledger};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// ledger.open_account(AccountId(2), AccountOptions { asset: Asset(2), ..AccountOptions::default() }).unwrap();
    /// ledger.credit(AccountId(1), 3).unwrap();
    /// ledger.credit(AccountId(2), 4).unwrap();
    /// assert_eq!(ledger.snapshot().asset_totals(), vec![(Asset(0), 3), (Asset(2), 4)]);
    /// ```
    pub fn asset_totals(&self) -> Vec<(Asset, i128)> {
        let mut totals: Vec<(Asset, i128)> = Vec::new();
        for account in &self.accounts {
            let money = i128::from(account.balance) + i128::from(account.held);
            match totals.binary_search_by_key(&account.asset, |(asset, _)| *asset) {
                Ok(index) => totals[index].1 += money,
                Err(index) => totals.insert(index, (account.asset, money)),
            }
        }
        totals
    }
}
