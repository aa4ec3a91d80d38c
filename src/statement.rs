//! Account statements: each account's history with its balance after every
//! entry, folded from the change stream ([`crate::Ledger::subscribe`]).
//!
//! # Implementation details
//!
//! [`Statements`] is a plain fold over [`Event`]s, owned by one consumer:
//! it keeps, per account, the balance so far and the newest
//! `entries_per_account_max` entries in a ring (`VecDeque`), so its memory
//! is bounded by the number of accounts times that limit times
//! `size_of::<StatementEntry>()` (the figure is [`Statements::memory_bound`]),
//! whatever the history's length. Older entries are dropped from the front
//! and a page that asks for them says so ([`StatementPage::oldest_kept`]).
//! Events at positions it has already applied are ignored, so a consumer
//! may replay a stream over it after a restart without counting twice.
//! Balances are absolute when the fold starts at the journal's beginning
//! (`Since::Position(0)`); a fold that starts later counts from zero at its
//! start.

use std::collections::{HashMap, VecDeque};

use crate::event::{Change, Event};
use crate::AccountId;

/// The largest page [`Statements::statement`] returns.
pub const STATEMENT_PAGE_MAX: usize = 1_000;

/// One line of a statement: an event that concerns the account, what it
/// did to the balance, and the balance after it.
///
/// ```
/// use atomic_ledger::{AccountId, Change, Event, Statements};
///
/// let mut statements = Statements::new(16);
/// statements.apply(&Event { position: 3, change: Change::Credited { account: AccountId(1), amount: 5 } });
/// let page = statements.statement(AccountId(1), 0, 10)?;
/// assert_eq!((page.entries[0].amount, page.entries[0].balance), (5, 5));
/// # Ok::<(), atomic_ledger::StatementError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StatementEntry {
    /// The event's position in the journal.
    pub position: u64,
    /// The event.
    pub change: Change,
    /// The change to this account's balance (zero for a rejection, a
    /// status change, a declared leg).
    pub amount: i64,
    /// The balance after it.
    pub balance: i64,
}

/// A page of one account's statement.
///
/// ```
/// use atomic_ledger::{AccountId, Change, Event, Statements};
///
/// let mut statements = Statements::new(16);
/// for position in 0..5 {
///     statements.apply(&Event { position, change: Change::Credited { account: AccountId(1), amount: 1 } });
/// }
/// let first = statements.statement(AccountId(1), 0, 2)?;
/// assert_eq!(first.entries.len(), 2);
/// let second = statements.statement(AccountId(1), first.next.unwrap(), 10)?;
/// assert_eq!(second.entries.last().unwrap().balance, 5);
/// assert_eq!(second.next, None, "the last page");
/// # Ok::<(), atomic_ledger::StatementError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StatementPage {
    /// The account.
    pub account: AccountId,
    /// Its entries at or after the page's `from`, oldest first.
    pub entries: Vec<StatementEntry>,
    /// The `from` of the next page, if there are more entries.
    pub next: Option<u64>,
    /// The oldest position still kept for the account, if entries before
    /// it were dropped (the per-account limit): a page asked from before
    /// it starts here.
    pub oldest_kept: Option<u64>,
    /// The account's balance after every event applied so far.
    pub balance: i64,
}

/// Why a statement cannot be given.
///
/// ```
/// use atomic_ledger::{AccountId, StatementError, Statements};
///
/// let statements = Statements::new(16);
/// assert_eq!(statements.statement(AccountId(9), 0, 10), Err(StatementError::UnknownAccount(AccountId(9))));
/// assert_eq!(
///     statements.statement(AccountId(9), 0, 0),
///     Err(StatementError::PageSize { limit: 0, max: atomic_ledger::STATEMENT_PAGE_MAX })
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum StatementError {
    /// No event applied so far concerns this account.
    #[error("no event concerns account {0}")]
    UnknownAccount(AccountId),
    /// The page size is out of range.
    #[error("a page holds 1..={max} entries, not {limit}")]
    PageSize {
        /// The size asked for.
        limit: usize,
        /// [`STATEMENT_PAGE_MAX`].
        max: usize,
    },
}

/// One account's history.
#[derive(Debug, Default)]
struct History {
    balance: i64,
    /// The newest entries, oldest first.
    entries: VecDeque<StatementEntry>,
    /// Whether older entries were dropped.
    dropped: bool,
}

/// Account statements folded from the change stream, with a bounded
/// memory (module docs).
///
/// ```
/// use atomic_ledger::{AccountId, AccountOptions, Ledger, Since, Statements, Transfer, TransferId};
///
/// let dir = tempfile::tempdir()?;
/// let ledger = Ledger::builder().accounts_max(8).open(dir.path())?;
/// let (a, b) = (AccountId(1), AccountId(2));
/// ledger.open_account(a, AccountOptions::default())?;
/// ledger.open_account(b, AccountOptions::default())?;
/// ledger.credit(a, 10)?;
/// ledger.transfer(Transfer { id: TransferId(1), from: a, to: b, amount: 4 })?;
/// let events = ledger.subscribe(Since::Position(0))?;
/// drop(ledger); // here, so that the stream ends; a service follows it on a thread
/// let mut statements = Statements::new(1_000);
/// for event in events {
///     statements.apply(&event?);
/// }
/// let page = statements.statement(a, 0, 100)?;
/// let amounts: Vec<(i64, i64)> = page.entries.iter().map(|entry| (entry.amount, entry.balance)).collect();
/// assert_eq!(amounts, [(0, 0), (10, 10), (-4, 6)]); // opened, credited, transferred
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Statements {
    entries_per_account_max: usize,
    accounts: HashMap<AccountId, History>,
    /// Events below this position were applied.
    next_position: u64,
}

impl Statements {
    /// An empty fold keeping at most `entries_per_account_max` entries per
    /// account (at least one).
    ///
    /// ```
    /// let statements = atomic_ledger::Statements::new(100);
    /// assert_eq!(statements.next_position(), 0);
    /// ```
    pub fn new(entries_per_account_max: usize) -> Self {
        Self {
            entries_per_account_max: entries_per_account_max.max(1),
            accounts: HashMap::new(),
            next_position: 0,
        }
    }

    /// The most memory the entries take for `accounts` accounts, in bytes.
    ///
    /// ```
    /// use atomic_ledger::{StatementEntry, Statements};
    ///
    /// let statements = Statements::new(100);
    /// assert_eq!(statements.memory_bound(1_000), 1_000 * 100 * size_of::<StatementEntry>());
    /// assert!(size_of::<StatementEntry>() <= 160);
    /// ```
    pub fn memory_bound(&self, accounts: usize) -> usize {
        accounts.saturating_mul(self.entries_per_account_max).saturating_mul(size_of::<StatementEntry>())
    }

    /// The position after the last event applied: where a consumer resumes
    /// its subscription (`Since::Position(next_position)`).
    ///
    /// ```
    /// use atomic_ledger::{AccountId, Change, Event, Statements};
    ///
    /// let mut statements = Statements::new(4);
    /// statements.apply(&Event { position: 7, change: Change::Debited { account: AccountId(1), amount: 1 } });
    /// assert_eq!(statements.next_position(), 8);
    /// ```
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    /// Folds in `event`; one at a position already applied is ignored.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, Change, Event, Statements};
    ///
    /// let mut statements = Statements::new(4);
    /// let event = Event { position: 0, change: Change::Credited { account: AccountId(1), amount: 2 } };
    /// statements.apply(&event);
    /// statements.apply(&event); // a replay: not counted twice
    /// assert_eq!(statements.balance(AccountId(1)), Some(2));
    /// ```
    pub fn apply(&mut self, event: &Event) {
        if event.position < self.next_position {
            return;
        }
        self.next_position = event.position + 1;
        for account in event.change.accounts() {
            let amount: i64 =
                event.movements().filter(|(moved, _)| *moved == account).map(|(_, delta)| delta).sum();
            let history = self.accounts.entry(account).or_default();
            history.balance += amount;
            let entry = StatementEntry {
                position: event.position,
                change: event.change,
                amount,
                balance: history.balance,
            };
            if history.entries.len() == self.entries_per_account_max {
                history.entries.pop_front();
                history.dropped = true;
            }
            history.entries.push_back(entry);
        }
    }

    /// The account's balance after every event applied, if any concerned it.
    ///
    /// ```
    /// assert_eq!(atomic_ledger::Statements::new(4).balance(atomic_ledger::AccountId(1)), None);
    /// ```
    pub fn balance(&self, account: AccountId) -> Option<i64> {
        self.accounts.get(&account).map(|history| history.balance)
    }

    /// Up to `limit` (1..=[`STATEMENT_PAGE_MAX`]) entries of `account`'s
    /// statement at or after position `from`, oldest first.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, Change, Event, Statements};
    ///
    /// let mut statements = Statements::new(2); // keeps the newest 2 entries
    /// for position in 0..3 {
    ///     statements.apply(&Event { position, change: Change::Credited { account: AccountId(1), amount: 1 } });
    /// }
    /// let page = statements.statement(AccountId(1), 0, 10)?;
    /// assert_eq!(page.oldest_kept, Some(1), "position 0 was dropped");
    /// assert_eq!(page.entries.len(), 2);
    /// # Ok::<(), atomic_ledger::StatementError>(())
    /// ```
    pub fn statement(
        &self,
        account: AccountId,
        from: u64,
        limit: usize,
    ) -> Result<StatementPage, StatementError> {
        if !(1..=STATEMENT_PAGE_MAX).contains(&limit) {
            return Err(StatementError::PageSize { limit, max: STATEMENT_PAGE_MAX });
        }
        let history = self.accounts.get(&account).ok_or(StatementError::UnknownAccount(account))?;
        let start = history.entries.partition_point(|entry| entry.position < from);
        let entries: Vec<StatementEntry> = history.entries.range(start..).take(limit).copied().collect();
        let next = history.entries.get(start + limit).map(|entry| entry.position);
        let oldest_kept =
            history.dropped.then(|| history.entries.front().map(|entry| entry.position)).flatten();
        Ok(StatementPage { account, entries, next, oldest_kept, balance: history.balance })
    }
}
