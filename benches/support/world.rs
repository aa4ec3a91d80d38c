//! The benchmark matrix shared by `benches/ledger.rs` (criterion) and
//! `examples/bench_report.rs` (the interleaved ratio table): the access
//! distributions, one "world" of prepared structures per distribution, and for
//! each operation the variants that do the same work, the crate's and the
//! baselines' side by side.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use atomic_ledger::{
    Account, AccountId, AccountOptions, BucketId, BucketPolicy, CredentialId, CredentialSpec, HoldId,
    HoldRequest, Ledger, MonotonicClock, Scopes, Transfer, TransferId, BUCKET_CAPACITY_MAX,
};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::{cas_debit, debit_in_map, transfer_in_map, Floor};

/// Every balance starts here: every debit in a run succeeds.
pub const BALANCE: u64 = 1 << 40;
/// Transfer ids remembered before timing starts, by the ledger (its default
/// `transfer_ids_max`, so its table is full and evicting) and by the
/// idempotent baselines' sets: what a service that has run a while holds.
pub const REMEMBERED_IDS: usize = 1 << 20;
/// Precomputed access indices per distribution (a power of two).
pub const INDICES: usize = 1 << 20;

/// Which accounts the operations touch.
pub struct Distribution {
    pub name: &'static str,
    pub accounts: usize,
    pub indices: Vec<u32>,
}

impl Distribution {
    pub fn uniform(name: &'static str, accounts: usize) -> Self {
        Self { name, accounts, indices: super::uniform_indices(accounts, INDICES, 7) }
    }

    /// Zipf with exponent 1 over `accounts`: the first account gets about
    /// 1/ln(accounts) of the operations, the first ten about a quarter.
    pub fn zipf(name: &'static str, accounts: usize) -> Self {
        let weights: Vec<f64> = (1..=accounts).map(|rank| 1.0 / rank as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut cumulative = Vec::with_capacity(accounts);
        let mut sum = 0.0;
        for weight in weights {
            sum += weight / total;
            cumulative.push(sum);
        }
        let uniform = super::uniform_indices(1 << 30, INDICES, 13);
        let indices = uniform
            .into_iter()
            .map(|draw| {
                let point = f64::from(draw) / f64::from(1u32 << 30);
                cumulative.partition_point(|&edge| edge < point).min(accounts - 1) as u32
            })
            .collect();
        Self { name, accounts, indices }
    }

    /// Every debit on one account (transfers go from it to a second one).
    pub fn hot(name: &'static str) -> Self {
        Self { name, accounts: 2, indices: vec![0; INDICES] }
    }

    /// The four of issue 6: uniform over 10 000 and 1 000 000, Zipf over
    /// 10 000, one hot account.
    pub fn all() -> Vec<Distribution> {
        vec![
            Self::uniform("uniform 10k", 10_000),
            Self::uniform("uniform 1M", 1_000_000),
            Self::zipf("zipf 10k", 10_000),
            Self::hot("one hot account"),
        ]
    }

    /// Operation `i` of `thread`: an index (threads start at different offsets).
    #[inline]
    pub fn index(&self, thread: usize, i: usize) -> usize {
        self.indices[(i + thread * 7919) & (INDICES - 1)] as usize
    }

    /// Two different accounts for operation `i` of `thread`.
    #[inline]
    pub fn pair(&self, thread: usize, i: usize) -> (usize, usize) {
        let from = self.index(thread, 2 * i);
        let to = self.index(thread, 2 * i + 1);
        (from, if to == from { (from + 1) % self.accounts } else { to })
    }
}

/// What a lock-based service keeps for holds and credentials: everything
/// under one lock, checked and changed in one critical section.
#[derive(Default)]
pub struct Bank {
    balances: HashMap<u128, u64>,
    holds: HashMap<u128, (u128, u128, u64)>,
    /// Credential → (account, revoked).
    credentials: HashMap<u128, (u128, bool)>,
    /// Transfer ids already applied (the idempotent baseline).
    applied: HashSet<u128>,
    /// Hold ids already placed, resolved or not (the idempotent hold baseline).
    placed: HashSet<u128>,
}

impl Bank {
    fn new(accounts: usize) -> Self {
        let ids = 1..=accounts as u128;
        Self {
            balances: ids.clone().map(|id| (id, BALANCE)).collect(),
            credentials: ids.map(|id| (id, (id, false))).collect(),
            // As many ids as the ledger remembers: both start in their steady state.
            applied: (1..=REMEMBERED_IDS as u128).collect(),
            placed: (1..=REMEMBERED_IDS as u128).collect(),
            ..Self::default()
        }
    }

    fn hold(&mut self, id: u128, from: u128, to: u128, amount: u64) -> bool {
        debit_in_map(&mut self.balances, from, amount) && self.holds.insert(id, (from, to, amount)).is_none()
    }

    /// A hold placed at most once per id: a retried id is answered, never
    /// held again, also after its post (what the ledger's hold table does).
    fn hold_once(&mut self, id: u128, from: u128, to: u128, amount: u64) -> bool {
        if !self.placed.insert(id) {
            return true; // a repeat: placed before
        }
        self.hold(id, from, to, amount)
    }

    fn post(&mut self, id: u128) -> bool {
        let Some((_, to, amount)) = self.holds.remove(&id) else { return false };
        *self.balances.get_mut(&to).expect("known") += amount;
        true
    }

    fn debit_as(&mut self, credential: u128, amount: u64) -> bool {
        match self.credentials.get(&credential) {
            Some(&(account, false)) => debit_in_map(&mut self.balances, account, amount),
            _ => false,
        }
    }

    fn transfer_once(&mut self, id: u128, from: u128, to: u128, amount: u64) -> bool {
        if !self.applied.insert(id) {
            return true; // a repeat: applied before
        }
        transfer_in_map(&mut self.balances, from, to, amount)
    }
}

/// Every structure of one distribution, prepared before timing.
pub struct World {
    pub distribution: Distribution,
    pub floor: Floor,
    pub std_map: std::sync::Mutex<HashMap<u128, u64>>,
    pub pl_map: parking_lot::Mutex<HashMap<u128, u64>>,
    pub dash: dashmap::DashMap<u128, u64>,
    pub dash_atomic: dashmap::DashMap<u128, AtomicU64>,
    pub std_bank: std::sync::Mutex<Bank>,
    pub pl_bank: parking_lot::Mutex<Bank>,
    /// One account, credential and bucket per index (ids = index + 1).
    pub ledger: Ledger,
    /// The same buckets on `MonotonicClock`.
    pub fast_ledger: Ledger,
    pub governor: DefaultKeyedRateLimiter<u128>,
    /// Bumped before each measurement: transfer and hold ids are
    /// `round << 64 | thread << 40 | i`: unique, increasing with the round,
    /// and within one a sequence per thread, as a client's ids are (each
    /// thread its own stream; the id tables forget the smallest ids first).
    pub round: AtomicU64,
}

impl World {
    /// Builds the crate's structures and the baselines' on two threads: at a
    /// million accounts each side takes seconds, and the report has a minute.
    pub fn new(distribution: Distribution) -> Self {
        let accounts = distribution.accounts;
        let ((ledger, fast_ledger), baselines) = std::thread::scope(|scope| {
            let ledgers = scope.spawn(|| ledgers(accounts));
            let baselines = Baselines::new(accounts);
            (ledgers.join().expect("ledger setup"), baselines)
        });
        let Baselines { floor, std_map, pl_map, dash, dash_atomic, std_bank, pl_bank, governor } = baselines;
        Self {
            floor,
            std_map,
            pl_map,
            dash,
            dash_atomic,
            std_bank,
            pl_bank,
            ledger,
            fast_ledger,
            governor,
            round: AtomicU64::new(0),
            distribution,
        }
    }

    pub fn handles(&self) -> Vec<Account<'_>> {
        (1..=self.distribution.accounts as u128)
            .map(|id| self.ledger.account(AccountId(id)).expect("opened"))
            .collect()
    }

    #[inline]
    fn id(&self, thread: usize, i: usize) -> u128 {
        self.distribution.index(thread, i) as u128 + 1
    }

    #[inline]
    fn ids(&self, thread: usize, i: usize) -> (u128, u128) {
        let (from, to) = self.distribution.pair(thread, i);
        (from as u128 + 1, to as u128 + 1)
    }

    #[inline]
    fn unique(&self, thread: usize, i: usize) -> u128 {
        u128::from(self.round.load(Ordering::Relaxed)) << 64 | (thread as u128) << 40 | i as u128
    }
}

/// The crate's two ledgers (system clock, monotonic clock for the buckets),
/// every account funded and given a credential and a bucket, and the
/// transfer-id and hold tables filled with `REMEMBERED_IDS` ids each.
fn ledgers(accounts: usize) -> (Ledger, Ledger) {
    let ledger = Ledger::builder()
        .accounts_max(accounts)
        .credentials_max(accounts)
        .buckets_max(accounts)
        .build()
        .expect("valid config");
    let fast_ledger = Ledger::builder()
        .buckets_max(accounts)
        .clock(Arc::new(MonotonicClock::new()))
        .build()
        .expect("valid config");
    // Quotas far above any request rate: the runs measure the decision.
    let policy = BucketPolicy {
        capacity: BUCKET_CAPACITY_MAX,
        refill_amount: BUCKET_CAPACITY_MAX,
        refill_interval_ms: 1,
    };
    for id in 1..=accounts as u128 {
        ledger.open_account(AccountId(id), AccountOptions::default()).expect("fresh");
        ledger.credit(AccountId(id), BALANCE).expect("fits");
        let key = CredentialSpec {
            account: AccountId(id),
            scopes: Scopes::DEBIT,
            amount_max_per_op: Some(10),
            spend_cap: None,
            expires_at_ms: None,
            rate_limit: None,
        };
        ledger.issue_credential(CredentialId(id), key).expect("fresh");
        ledger.open_bucket(BucketId(id), policy).expect("fresh");
        fast_ledger.open_bucket(BucketId(id), policy).expect("fresh");
    }
    // Fill the ledger's transfer-id table (ids 1.., below every timed one).
    for step in 0..REMEMBERED_IDS {
        let (from, to) = (step % accounts, (step + 1) % accounts);
        let transfer = Transfer {
            id: TransferId(step as u128 + 1),
            from: AccountId(from as u128 + 1),
            to: AccountId(to as u128 + 1),
            amount: 1,
        };
        ledger.transfer(transfer).expect("funded");
        // And its hold table, with as many resolved holds (its default
        // `holds_max`): holds, too, are measured evicting, not growing.
        let (id, from, to) =
            (HoldId(step as u128 + 1), AccountId(from as u128 + 1), AccountId(to as u128 + 1));
        let expires_at_ms = HoldRequest::NEVER_EXPIRES;
        ledger.hold(HoldRequest { id, from, to, amount: 1, expires_at_ms }).expect("funded");
        ledger.post(id, 1).expect("open");
    }
    (ledger, fast_ledger)
}

/// Everything the baselines use, prepared as the ledgers are.
struct Baselines {
    floor: Floor,
    std_map: std::sync::Mutex<HashMap<u128, u64>>,
    pl_map: parking_lot::Mutex<HashMap<u128, u64>>,
    dash: dashmap::DashMap<u128, u64>,
    dash_atomic: dashmap::DashMap<u128, AtomicU64>,
    std_bank: std::sync::Mutex<Bank>,
    pl_bank: parking_lot::Mutex<Bank>,
    governor: DefaultKeyedRateLimiter<u128>,
}

impl Baselines {
    fn new(accounts: usize) -> Self {
        let per_second = NonZeroU32::MAX;
        let governor = RateLimiter::dashmap(Quota::per_second(per_second).allow_burst(per_second));
        for key in 1..=accounts as u128 {
            let _ = governor.check_key(&key); // every key's state exists before timing
        }
        Self {
            floor: Floor::new(accounts, BALANCE),
            std_map: super::std_mutex_map(accounts, BALANCE),
            pl_map: super::pl_mutex_map(accounts, BALANCE),
            dash: super::dashmap(accounts, BALANCE),
            dash_atomic: super::dashmap_atomics(accounts, BALANCE),
            std_bank: std::sync::Mutex::new(Bank::new(accounts)),
            pl_bank: parking_lot::Mutex::new(Bank::new(accounts)),
            governor,
        }
    }
}

/// The operations compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Debit,
    /// The crate's transfer is always idempotent; the baselines' here are not.
    Transfer,
    IdempotentTransfer,
    /// The crate's holds are always idempotent; the baselines' here are not.
    HoldPost,
    IdempotentHoldPost,
    CredentialedDebit,
    QuotaConsume,
}

impl Operation {
    pub const ALL: [Operation; 7] = [
        Operation::Debit,
        Operation::Transfer,
        Operation::IdempotentTransfer,
        Operation::HoldPost,
        Operation::IdempotentHoldPost,
        Operation::CredentialedDebit,
        Operation::QuotaConsume,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::Debit => "conditional debit",
            Operation::Transfer => "transfer (baselines not idempotent)",
            Operation::IdempotentTransfer => "idempotent transfer",
            Operation::HoldPost => "hold + post (baselines not idempotent)",
            Operation::IdempotentHoldPost => "idempotent hold + post",
            Operation::CredentialedDebit => "credentialed debit",
            Operation::QuotaConsume => "quota consume",
        }
    }
}

/// A variant: its name, whether it is a baseline (else the floor or the
/// crate), and one operation `(thread, i)`.
pub struct Variant<'w> {
    pub name: &'static str,
    pub kind: Kind,
    pub run: Box<dyn Fn(usize, usize) + Sync + 'w>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Floor,
    Baseline,
    Ledger,
}

fn variant<'w>(name: &'static str, kind: Kind, run: impl Fn(usize, usize) + Sync + 'w) -> Variant<'w> {
    Variant { name, kind, run: Box::new(run) }
}

/// The variants of `operation` on `world` (`handles` from [`World::handles`]).
pub fn variants<'w>(world: &'w World, handles: &'w [Account<'w>], operation: Operation) -> Vec<Variant<'w>> {
    use Kind::*;
    let w = world;
    let ok = |done: bool| assert!(done, "every operation of the benchmark succeeds");
    match operation {
        Operation::Debit => vec![
            variant("floor: Vec<AtomicU64> CAS", Floor, move |t, i| {
                ok(w.floor.debit(w.distribution.index(t, i), 1))
            }),
            variant("std Mutex<HashMap>", Baseline, move |t, i| {
                ok(super::std_mutex_debit(&w.std_map, w.id(t, i), 1))
            }),
            variant("parking_lot Mutex<HashMap>", Baseline, move |t, i| {
                ok(super::pl_mutex_debit(&w.pl_map, w.id(t, i), 1))
            }),
            variant("DashMap get_mut", Baseline, move |t, i| {
                ok(super::dashmap_debit(&w.dash, w.id(t, i), 1))
            }),
            variant("DashMap<AtomicU64> get+CAS", Baseline, move |t, i| {
                ok(super::dashmap_atomic_debit(&w.dash_atomic, w.id(t, i), 1))
            }),
            variant("ledger debit by id", Ledger, move |t, i| {
                ok(w.ledger.debit(AccountId(w.id(t, i)), 1).is_ok())
            }),
            variant("ledger debit by handle", Ledger, move |t, i| {
                ok(handles[w.distribution.index(t, i)].debit(1).is_ok())
            }),
        ],
        Operation::Transfer => vec![
            variant("floor: two atomics, CAS + add", Floor, move |t, i| {
                let (from, to) = w.distribution.pair(t, i);
                ok(cas_debit(&w.floor.0[from], 1));
                w.floor.0[to].fetch_add(1, Ordering::AcqRel);
            }),
            variant("std Mutex<HashMap>", Baseline, move |t, i| {
                let (from, to) = w.ids(t, i);
                ok(super::std_mutex_transfer(&w.std_map, from, to, 1))
            }),
            variant("parking_lot Mutex<HashMap>", Baseline, move |t, i| {
                let (from, to) = w.ids(t, i);
                ok(super::pl_mutex_transfer(&w.pl_map, from, to, 1))
            }),
            variant("ledger transfer (idempotent)", Ledger, move |t, i| ok(ledger_transfer(w, t, i))),
        ],
        Operation::IdempotentTransfer => vec![
            variant("std Mutex<(HashMap, HashSet ids)>", Baseline, move |t, i| {
                let (from, to) = w.ids(t, i);
                ok(w.std_bank.lock().unwrap().transfer_once(w.unique(t, i), from, to, 1))
            }),
            variant("parking_lot Mutex<(HashMap, HashSet ids)>", Baseline, move |t, i| {
                let (from, to) = w.ids(t, i);
                ok(w.pl_bank.lock().transfer_once(w.unique(t, i), from, to, 1))
            }),
            variant("ledger transfer", Ledger, move |t, i| ok(ledger_transfer(w, t, i))),
        ],
        Operation::HoldPost => vec![
            variant("std Mutex<(balances, holds)>", Baseline, move |t, i| {
                let ((from, to), id) = (w.ids(t, i), w.unique(t, i));
                ok(w.std_bank.lock().unwrap().hold(id, from, to, 1));
                ok(w.std_bank.lock().unwrap().post(id));
            }),
            variant("parking_lot Mutex<(balances, holds)>", Baseline, move |t, i| {
                let ((from, to), id) = (w.ids(t, i), w.unique(t, i));
                ok(w.pl_bank.lock().hold(id, from, to, 1));
                ok(w.pl_bank.lock().post(id));
            }),
            variant("ledger hold, then post", Ledger, move |t, i| ok(ledger_hold_post(w, t, i))),
        ],
        Operation::IdempotentHoldPost => vec![
            variant("std Mutex<(balances, holds, HashSet ids)>", Baseline, move |t, i| {
                let ((from, to), id) = (w.ids(t, i), w.unique(t, i));
                ok(w.std_bank.lock().unwrap().hold_once(id, from, to, 1));
                ok(w.std_bank.lock().unwrap().post(id));
            }),
            variant("parking_lot Mutex<(balances, holds, HashSet ids)>", Baseline, move |t, i| {
                let ((from, to), id) = (w.ids(t, i), w.unique(t, i));
                ok(w.pl_bank.lock().hold_once(id, from, to, 1));
                ok(w.pl_bank.lock().post(id));
            }),
            variant("ledger hold, then post", Ledger, move |t, i| ok(ledger_hold_post(w, t, i))),
        ],
        Operation::CredentialedDebit => vec![
            variant("std Mutex<(credentials, balances)>", Baseline, move |t, i| {
                ok(w.std_bank.lock().unwrap().debit_as(w.id(t, i), 1))
            }),
            variant("parking_lot Mutex<(credentials, balances)>", Baseline, move |t, i| {
                ok(w.pl_bank.lock().debit_as(w.id(t, i), 1))
            }),
            variant("ledger debit_as", Ledger, move |t, i| {
                ok(w.ledger.debit_as(CredentialId(w.id(t, i)), 1).is_ok())
            }),
        ],
        Operation::QuotaConsume => vec![
            variant("governor keyed (DashMap)", Baseline, move |t, i| {
                ok(w.governor.check_key(&w.id(t, i)).is_ok())
            }),
            variant("ledger take, SystemClock", Ledger, move |t, i| {
                ok(w.ledger.take(BucketId(w.id(t, i)), 1).is_ok())
            }),
            variant("ledger take, MonotonicClock", Ledger, move |t, i| {
                ok(w.fast_ledger.take(BucketId(w.id(t, i)), 1).is_ok())
            }),
        ],
    }
}

fn ledger_hold_post(w: &World, t: usize, i: usize) -> bool {
    let ((from, to), id) = (w.ids(t, i), HoldId(w.unique(t, i)));
    let request =
        HoldRequest { id, from: AccountId(from), to: AccountId(to), amount: 1, expires_at_ms: u64::MAX };
    w.ledger.hold(request).is_ok() && w.ledger.post(id, 1).is_ok()
}

fn ledger_transfer(w: &World, t: usize, i: usize) -> bool {
    let (from, to) = w.ids(t, i);
    let transfer =
        Transfer { id: TransferId(w.unique(t, i)), from: AccountId(from), to: AccountId(to), amount: 1 };
    w.ledger.transfer(transfer).is_ok()
}
