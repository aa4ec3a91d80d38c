//! A plain sequential reference model of the ledger, and the operations that
//! drive both it and the real `Ledger` (property tests, linearizability
//! histories, the fuzz target).
//!
//! The model is deliberately naive: `BTreeMap`s and `if`s, no atomics, no
//! sharing. Every outcome, error numbers included, must equal the real one's.
//! It does not model eviction of remembered transfer ids: harnesses configure
//! `transfer_ids_max` above the number of operations they run.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;
use std::sync::Arc;

use super::lincheck::{Spec, Stepped};
use arbitrary::Arbitrary;
use atomic_ledger::{
    AccountError, AccountId, AccountInfo, AccountOptions, AccountSnapshot, AsError, Asset, BucketId,
    BucketInfo, BucketPolicy, Clock, CredentialError, CredentialId, CredentialInfo, CredentialSpec, Floor,
    HoldError, HoldField, HoldId, HoldInfo, HoldReceipt, HoldRequest, HoldState, Ledger, LinkedError,
    LinkedReceipt, ManualClock, OpenError, Opened, Posted, QuotaError, Refunded, Rejection, Scopes, Status,
    Transfer, TransferError, TransferField, TransferId, TransferReceipt, AMOUNT_MAX, BALANCE_MAX,
    HOLDS_OPEN_MAX, LINKED_LEGS_MAX,
};

/// Accounts the harnesses may open; one more than they can hold.
pub const ACCOUNTS_MAX: usize = 4;
/// Plenty: the model does not evict.
pub const TRANSFER_IDS_MAX: usize = 1 << 16;

/// Credentials the harnesses may issue (ids 1..=3 are real: one more than fits).
pub const CREDENTIALS_MAX: usize = 2;
/// Buckets the harnesses may open (ids 1..=2 are real: one more than fits).
pub const BUCKETS_MAX: usize = 1;

/// Clock ticks move time by this much.
pub const TICK_MS: u64 = 10;

/// The real ledger under test, with the manual clock it reads.
pub struct Real {
    pub ledger: Ledger,
    pub clock: Arc<ManualClock>,
}

impl Deref for Real {
    type Target = Ledger;
    fn deref(&self) -> &Ledger {
        &self.ledger
    }
}

/// A ledger configured like the model.
pub fn ledger() -> Real {
    let clock = Arc::new(ManualClock::new(0));
    let ledger = builder(&clock).build().expect("valid config");
    Real { ledger, clock }
}

/// The same ledger, durable in `dir` (buffered: the journal's code paths,
/// without a sync per call), reading `clock`: reopening a directory with the
/// clock its ledger had recovers the same state.
pub fn durable_ledger(dir: &std::path::Path, clock: Arc<ManualClock>) -> Real {
    let ledger = builder(&clock)
        .durability(atomic_ledger::Durability::Buffered)
        .open(dir)
        .expect("a journal directory that opens");
    Real { ledger, clock }
}

fn builder(clock: &Arc<ManualClock>) -> atomic_ledger::LedgerBuilder {
    Ledger::builder()
        .accounts_max(ACCOUNTS_MAX)
        .transfer_ids_max(TRANSFER_IDS_MAX)
        .holds_max(TRANSFER_IDS_MAX)
        .credentials_max(CREDENTIALS_MAX)
        .buckets_max(BUCKETS_MAX)
        .transfer_id_shards(4)
        .clock(clock.clone())
}

/// Index into a small account space: 0 and 6 are the reserved ids, 1..=5 real ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct AccountRef(pub u8);

impl AccountRef {
    pub fn id(self) -> AccountId {
        match self.0 % 7 {
            0 => AccountId(0),
            6 => AccountId(u128::MAX),
            n => AccountId(u128::from(n)),
        }
    }
}

/// An amount: mostly small, sometimes at or past the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct Amount(pub u8, pub u16);

impl Amount {
    pub fn value(self) -> u64 {
        match self.0 % 16 {
            0 => 0,
            1 => AMOUNT_MAX,
            2 => AMOUNT_MAX + 1,
            3 => u64::MAX,
            4 => AMOUNT_MAX - u64::from(self.1),
            _ => 1 + u64::from(self.1 % 200),
        }
    }
}

/// Index into a small transfer-id space (so repeats and conflicts are common):
/// 0 and 7 are the reserved ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct TransferRef(pub u8);

impl TransferRef {
    pub fn id(self) -> TransferId {
        match self.0 % 8 {
            0 => TransferId(0),
            7 => TransferId(u128::MAX),
            n => TransferId(u128::from(n)),
        }
    }
}

/// Index into a small hold-id space: 0 and 7 are the reserved ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct HoldRef(pub u8);

impl HoldRef {
    pub fn id(self) -> HoldId {
        match self.0 % 8 {
            0 => HoldId(0),
            7 => HoldId(u128::MAX),
            n => HoldId(u128::from(n)),
        }
    }
}

/// An expiry time: a few ticks around the start (time 0), so that some are
/// already past and later ticks make others due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct Expiry(pub u8);

impl Expiry {
    pub fn at_ms(self) -> u64 {
        match self.0 % 16 {
            15 => u64::MAX,
            n => u64::from(n) * TICK_MS,
        }
    }
}

/// One leg of a linked batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct LegSpec(pub TransferRef, pub AccountRef, pub AccountRef, pub Amount);

impl LegSpec {
    pub fn transfer(self) -> Transfer {
        Transfer { id: self.0.id(), from: self.1.id(), to: self.2.id(), amount: self.3.value() }
    }
}

/// A batch: the first `1 + len % 3` legs (`len % 3 == 0` and `len == 255` give
/// one leg and the empty batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct Batch(pub [LegSpec; 3], pub u8);

impl Batch {
    pub fn legs(self) -> Vec<Transfer> {
        let len = if self.1 == 255 { 0 } else { 1 + usize::from(self.1 % 3) };
        self.0[..len].iter().map(|leg| leg.transfer()).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub enum FloorKind {
    Zero,
    Overdraft(Amount),
    Unbounded,
}

impl FloorKind {
    pub fn options(self, asset: ShapeRef) -> AccountOptions {
        let floor = match self {
            FloorKind::Zero => Floor::Zero,
            FloorKind::Overdraft(limit) => Floor::Overdraft(limit.value()),
            FloorKind::Unbounded => Floor::Unbounded,
        };
        AccountOptions { floor, asset: asset.asset(), ceiling: asset.ceiling() }
    }
}

/// An account's asset and ceiling: mostly the default asset and none, sometimes
/// a second asset (so that transfers, batches and holds across assets occur),
/// a low ceiling of 6 (so that credits race for its room), or one too large.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct ShapeRef(pub u8);

impl ShapeRef {
    pub fn asset(self) -> Asset {
        Asset(u32::from(self.0 % 4 == 3))
    }

    pub fn ceiling(self) -> Option<u64> {
        match (self.0 / 4) % 8 {
            5 | 6 => Some(6),
            7 => Some(BALANCE_MAX as u64 + 1),
            _ => None,
        }
    }
}

/// Index into a small credential-id space: 0 and 4 are the reserved ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct CredentialRef(pub u8);

impl CredentialRef {
    pub fn id(self) -> CredentialId {
        match self.0 % 5 {
            0 => CredentialId(0),
            4 => CredentialId(u128::MAX),
            n => CredentialId(u128::from(n)),
        }
    }
}

/// Index into a small bucket-id space: 0 and 3 are the reserved ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct BucketRef(pub u8);

impl BucketRef {
    pub fn id(self) -> BucketId {
        match self.0 % 4 {
            0 => BucketId(0),
            3 => BucketId(u128::MAX),
            n => BucketId(u128::from(n)),
        }
    }
}

/// A credential to issue: its account, scope bits, and which limits it has
/// (bit 0: at most 3 per operation; bit 1: a spending cap of 6; bit 2: rate
/// limit bucket 1; bit 3: expires at `2 × TICK_MS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct CredentialKind(pub AccountRef, pub u8, pub u8);

impl CredentialKind {
    pub fn spec(self) -> CredentialSpec {
        let CredentialKind(account, scope_bits, limits) = self;
        let scopes =
            [Scopes::DEBIT, Scopes::HOLD, Scopes::RESOLVE, Scopes::CREDIT, Scopes::READ, Scopes::ADMIN]
                .into_iter()
                .enumerate()
                .filter(|(bit, _)| scope_bits & (1 << bit) != 0)
                .fold(Scopes::NONE, |scopes, (_, scope)| scopes | scope);
        CredentialSpec {
            account: account.id(),
            scopes,
            amount_max_per_op: (limits & 1 != 0).then_some(3),
            spend_cap: (limits & 2 != 0).then_some(6),
            rate_limit: (limits & 4 != 0).then_some(BucketId(1)),
            expires_at_ms: (limits & 8 != 0).then_some(2 * TICK_MS),
        }
    }
}

/// A bucket policy: three valid ones, and one out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct PolicyKind(pub u8);

impl PolicyKind {
    pub fn policy(self) -> BucketPolicy {
        let (capacity, refill_amount, refill_interval_ms) = match self.0 % 4 {
            0 => (3, 1, TICK_MS),
            1 => (5, 2, 2 * TICK_MS),
            2 => (4, 4, 3 * TICK_MS),
            _ => (2, 3, TICK_MS), // refill above capacity: refused
        };
        BucketPolicy { capacity, refill_amount, refill_interval_ms }
    }
}

/// Units for a bucket: 0..=7 (capacities are 3..=5, so some are out of range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct Units(pub u8);

impl Units {
    pub fn value(self) -> u64 {
        u64::from(self.0 % 8)
    }
}

/// Tells concurrent uses of a credential apart in the model (the real ledger
/// ignores it): harnesses give each event of a history its own tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Arbitrary)]
pub struct Tag(pub u8);

/// One call of the public API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub enum Op {
    Open(AccountRef, FloorKind, ShapeRef),
    Credit(AccountRef, Amount),
    Debit(AccountRef, Amount),
    /// Like `Debit`, through an `Account` handle.
    DebitByHandle(AccountRef, Amount),
    Freeze(AccountRef),
    Unfreeze(AccountRef),
    Close(AccountRef),
    Transfer(TransferRef, AccountRef, AccountRef, Amount),
    Read(AccountRef),
    /// `account_info` without `held` (which is read apart from the word): for
    /// concurrent histories.
    ReadWord(AccountRef),
    Linked(Batch),
    Hold(HoldRef, AccountRef, AccountRef, Amount, Expiry),
    Post(HoldRef, Amount),
    Void(HoldRef),
    HoldInfo(HoldRef),
    /// `expire_due` at the clock's time.
    ExpireDue,
    /// Moves the clock forward by `TICK_MS`.
    Tick,
    Snapshot,
    IssueCredential(CredentialRef, CredentialKind),
    /// `debit_as`: credential checks, rate limit, debit, give-backs, end.
    DebitAs(CredentialRef, Amount, Tag),
    /// `hold_as` (one step in the model: sequential harnesses only).
    HoldAs(CredentialRef, HoldRef, AccountRef, Amount, Expiry),
    /// `transfer_as` (one step in the model: sequential harnesses only).
    TransferAs(CredentialRef, TransferRef, AccountRef, AccountRef, Amount),
    Revoke(CredentialRef),
    CredentialInfo(CredentialRef),
    OpenBucket(BucketRef, PolicyKind),
    Take(BucketRef, Units),
    Refund(BucketRef, Units),
    BucketInfo(BucketRef),
}

/// What a call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Open(Result<Opened, OpenError>),
    Money(Result<i64, AccountError>),
    Status(Result<(), AccountError>),
    Transfer(Result<TransferReceipt, TransferError>),
    Read(Result<AccountInfo, AccountError>),
    Linked(Result<LinkedReceipt, LinkedError>),
    Hold(Result<HoldReceipt, HoldError>),
    Post(Result<Posted, HoldError>),
    Void(Result<u64, HoldError>),
    HoldInfo(Result<HoldInfo, HoldError>),
    Expired(usize),
    Tick,
    Snapshot(u64, Vec<AccountSnapshot>),
    Issued(Result<(), CredentialError>),
    DebitAs(Result<i64, AsError<AccountError>>),
    HoldAs(Result<HoldReceipt, AsError<HoldError>>),
    TransferAs(Result<TransferReceipt, AsError<TransferError>>),
    Revoked(Result<bool, CredentialError>),
    CredentialInfo(Result<CredentialInfo, CredentialError>),
    Bucket(Result<(), QuotaError>),
    Take(Result<u64, QuotaError>),
    Refund(Result<Refunded, QuotaError>),
    BucketInfo(Result<BucketInfo, QuotaError>),
}

fn without_held(info: Result<AccountInfo, AccountError>) -> Result<AccountInfo, AccountError> {
    info.map(|info| AccountInfo { held: 0, ..info })
}

/// Runs `op` on the real ledger.
pub fn apply_real(real: &Real, op: &Op) -> Outcome {
    let ledger = &real.ledger;
    match *op {
        Op::Open(account, floor, asset) => {
            Outcome::Open(ledger.open_account(account.id(), floor.options(asset)))
        }
        Op::Credit(account, amount) => Outcome::Money(ledger.credit(account.id(), amount.value())),
        Op::Debit(account, amount) => Outcome::Money(ledger.debit(account.id(), amount.value())),
        Op::DebitByHandle(account, amount) => {
            Outcome::Money(ledger.account(account.id()).and_then(|handle| handle.debit(amount.value())))
        }
        Op::Freeze(account) => Outcome::Status(ledger.freeze(account.id())),
        Op::Unfreeze(account) => Outcome::Status(ledger.unfreeze(account.id())),
        Op::Close(account) => Outcome::Status(ledger.close(account.id())),
        Op::Transfer(id, from, to, amount) => Outcome::Transfer(ledger.transfer(Transfer {
            id: id.id(),
            from: from.id(),
            to: to.id(),
            amount: amount.value(),
        })),
        Op::Read(account) => Outcome::Read(ledger.account_info(account.id())),
        Op::ReadWord(account) => Outcome::Read(without_held(ledger.account_info(account.id()))),
        Op::Linked(batch) => Outcome::Linked(ledger.transfer_all(&batch.legs())),
        Op::Hold(id, from, to, amount, expiry) => Outcome::Hold(ledger.hold(HoldRequest {
            id: id.id(),
            from: from.id(),
            to: to.id(),
            amount: amount.value(),
            expires_at_ms: expiry.at_ms(),
        })),
        Op::Post(id, amount) => Outcome::Post(ledger.post(id.id(), amount.value())),
        Op::Void(id) => Outcome::Void(ledger.void(id.id())),
        Op::HoldInfo(id) => Outcome::HoldInfo(ledger.hold_info(id.id())),
        Op::ExpireDue => Outcome::Expired(ledger.expire_due(real.clock.now_ms())),
        Op::Tick => {
            real.clock.advance_ms(TICK_MS);
            Outcome::Tick
        }
        Op::Snapshot => {
            let snapshot = ledger.snapshot();
            Outcome::Snapshot(snapshot.epoch(), snapshot.accounts().to_vec())
        }
        Op::IssueCredential(id, kind) => Outcome::Issued(ledger.issue_credential(id.id(), kind.spec())),
        Op::DebitAs(id, amount, _) => Outcome::DebitAs(ledger.debit_as(id.id(), amount.value())),
        Op::HoldAs(id, hold, to, amount, expiry) => {
            let from = ledger.credential_info(id.id()).map_or(AccountId(1), |info| info.spec.account);
            let request = HoldRequest {
                id: hold.id(),
                from,
                to: to.id(),
                amount: amount.value(),
                expires_at_ms: expiry.at_ms(),
            };
            Outcome::HoldAs(ledger.hold_as(id.id(), request))
        }
        Op::TransferAs(key, id, from, to, amount) => {
            let transfer = Transfer { id: id.id(), from: from.id(), to: to.id(), amount: amount.value() };
            Outcome::TransferAs(ledger.transfer_as(key.id(), transfer))
        }
        Op::Revoke(id) => Outcome::Revoked(ledger.revoke(id.id())),
        Op::CredentialInfo(id) => Outcome::CredentialInfo(ledger.credential_info(id.id())),
        Op::OpenBucket(id, policy) => Outcome::Bucket(ledger.open_bucket(id.id(), policy.policy())),
        Op::Take(id, units) => Outcome::Take(ledger.take(id.id(), units.value())),
        Op::Refund(id, units) => Outcome::Refund(ledger.refund(id.id(), units.value())),
        Op::BucketInfo(id) => Outcome::BucketInfo(ledger.bucket_info(id.id())),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountModel {
    pub options: AccountOptions,
    pub floor: i64,
    /// The option, or `BALANCE_MAX`.
    pub ceiling: i64,
    pub balance: i64,
    pub status: Status,
    /// Transfers and batches pinning this account.
    pub in_flight: u32,
    pub holds: u32,
    pub held: u64,
}

/// A transfer's batch: `None` alone, else (first leg's id, legs, index).
type LinkModel = Option<(TransferId, usize, usize)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Decided {
    Applied,
    Rejected(Rejection),
    LinkedLegFailed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TransferModel {
    from: AccountId,
    to: AccountId,
    amount: u64,
    link: LinkModel,
    outcome: Decided,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct HoldModel {
    request: HoldRequest,
    state: HoldState,
    /// The credential `hold_as` charged: what is not posted goes back to it.
    charged: Option<CredentialId>,
}

/// A linked batch between its steps (see `linked_step`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LinkedRun {
    legs: Vec<Transfer>,
    /// Next reservation: leg index and half (0 = debit `from`, 1 = reserve `to`).
    next: (usize, u8),
    /// Pinned accounts in pin order, with what was debited and what is owed.
    pinned: Vec<(AccountId, u64, u64)>,
    /// Set once every reservation is made (`None`) or one failed (`Some`).
    finishing: Option<Option<(usize, Rejection)>>,
    /// Whether the checked commit to the one destination with a ceiling (if
    /// any) has been tried: the first commit step.
    checked: bool,
}

/// The sequential specification. A transfer takes three steps, each atomic:
/// 1. validate, look the id up, debit `from` and count it in flight;
/// 2. credit `to`, or undo the debit (and finish, rejected);
/// 3. release `from`'s in-flight count (and finish, applied).
///
/// While a transfer is between steps, its id is pending: a duplicate cannot be
/// decided until it finishes (the real ledger holds the id's shard lock).
/// Linked batches and hold operations take several steps the same way (see
/// their functions). A snapshot is one step, and cannot be taken while any
/// multi-account operation is between steps: that is the claim under test.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Model {
    pub accounts: BTreeMap<AccountId, AccountModel>,
    transfers: BTreeMap<TransferId, TransferModel>,
    pending: BTreeMap<TransferId, TransferModel>,
    linked: BTreeMap<TransferId, LinkedRun>,
    holds: BTreeMap<HoldId, HoldModel>,
    busy_holds: BTreeSet<HoldId>,
    pub now_ms: u64,
    snapshots: u64,
    pub entered: u128,
    pub left: u128,
    credentials: BTreeMap<CredentialId, CredentialModel>,
    /// Credentialed uses between their steps, by the op's tag.
    uses: BTreeMap<Tag, UseModel>,
    /// A revocation waiting for uses to drain, and whether it revoked (the
    /// admin lock lets one run at a time).
    revoking: Option<(CredentialId, bool)>,
    buckets: BTreeMap<BucketId, BucketModel>,
    /// Set while a sequential `hold_as` creates its hold.
    charging: Option<CredentialId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CredentialModel {
    spec: CredentialSpec,
    scopes: Scopes,
    spent: u64,
    revoked: bool,
    in_use: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct BucketModel {
    policy: BucketPolicy,
    origin_ms: u64,
    level: u64,
    /// Whole intervals since `origin_ms` that the level accounts for.
    tick: u64,
}

/// A sequential credentialed use in progress.
struct InUseModel {
    credential: CredentialId,
    /// Counted against the cap.
    counted: u64,
    /// Units taken from the rate limit.
    charged: Option<u64>,
}

/// A `debit_as` between its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct UseModel {
    credential: CredentialId,
    amount: u64,
    /// Counted against the cap (0 without one).
    counted: u64,
    /// Taken from the rate-limit bucket.
    charged: bool,
    refusal: Option<QuotaError>,
    result: Option<Result<i64, AccountError>>,
}

fn check_amount(amount: u64) -> Result<(), AccountError> {
    match amount {
        0 => Err(AccountError::ZeroAmount),
        amount if amount > AMOUNT_MAX => Err(AccountError::AmountTooLarge { amount, amount_max: AMOUNT_MAX }),
        _ => Ok(()),
    }
}

impl AccountModel {
    fn can_debit(&self, id: AccountId, amount: u64) -> Result<i64, Rejection> {
        match self.status {
            Status::Frozen => return Err(Rejection::AccountFrozen { account: id }),
            Status::Closed => return Err(Rejection::AccountClosed { account: id }),
            Status::Open => {}
        }
        let balance = self.balance - amount as i64;
        if balance < self.floor {
            let available = (self.balance - self.floor) as u64;
            return Err(Rejection::InsufficientFunds { account: id, available, requested: amount });
        }
        Ok(balance)
    }

    fn can_credit(&self, id: AccountId, amount: u64) -> Result<i64, Rejection> {
        if self.status == Status::Closed {
            return Err(Rejection::AccountClosed { account: id });
        }
        let balance = self.balance + amount as i64;
        if balance > self.ceiling {
            return Err(match self.options.ceiling {
                Some(ceiling) => {
                    Rejection::CeilingExceeded { account: id, balance: self.balance, amount, ceiling }
                }
                None => Rejection::BalanceOverflow {
                    account: id,
                    balance: self.balance,
                    amount,
                    balance_max: BALANCE_MAX,
                },
            });
        }
        Ok(balance)
    }
}

impl Model {
    fn lookup(&self, id: AccountId) -> Result<&AccountModel, AccountError> {
        if id.is_reserved() {
            return Err(AccountError::ReservedAccountId(id));
        }
        self.accounts.get(&id).ok_or(AccountError::UnknownAccount(id))
    }

    fn account_mut(&mut self, id: AccountId) -> Result<&mut AccountModel, AccountError> {
        self.lookup(id)?;
        Ok(self.accounts.get_mut(&id).expect("looked up"))
    }

    fn get(&mut self, id: AccountId) -> &mut AccountModel {
        self.accounts.get_mut(&id).expect("validated")
    }

    /// Runs `op` to completion (sequentially no step is ever blocked).
    pub fn apply(&mut self, op: &Op) -> Outcome {
        for phase in 0..super::lincheck::STEPS_MAX {
            match self.step(op, phase) {
                Stepped::Done(outcome) => return outcome,
                Stepped::Next => {}
                Stepped::Blocked => unreachable!("sequentially, nothing is pending"),
            }
        }
        unreachable!("{op:?} takes more than {} steps", super::lincheck::STEPS_MAX)
    }

    fn apply_single(&mut self, op: &Op) -> Outcome {
        match *op {
            Op::Open(account, floor, asset) => Outcome::Open(self.open(account.id(), floor.options(asset))),
            Op::Credit(account, amount) => Outcome::Money(self.credit(account.id(), amount.value())),
            Op::Debit(account, amount) | Op::DebitByHandle(account, amount) => {
                Outcome::Money(self.debit(account.id(), amount.value()))
            }
            Op::Freeze(account) => Outcome::Status(self.set_status(account.id(), Status::Frozen)),
            Op::Unfreeze(account) => Outcome::Status(self.set_status(account.id(), Status::Open)),
            Op::Close(account) => Outcome::Status(self.close(account.id())),
            Op::Read(account) => Outcome::Read(self.read(account.id())),
            Op::ReadWord(account) => Outcome::Read(without_held(self.read(account.id()))),
            Op::HoldInfo(id) => Outcome::HoldInfo(self.hold_info(id.id())),
            Op::ExpireDue => Outcome::Expired(self.expire_due()),
            Op::Tick => {
                self.now_ms += TICK_MS;
                Outcome::Tick
            }
            Op::Snapshot | Op::DebitAs(..) | Op::Revoke(..) => unreachable!("stepped"),
            Op::IssueCredential(id, kind) => Outcome::Issued(self.issue_credential(id.id(), kind.spec())),
            Op::HoldAs(id, hold, to, amount, expiry) => {
                Outcome::HoldAs(self.hold_as(id.id(), hold.id(), to.id(), amount.value(), expiry.at_ms()))
            }
            Op::TransferAs(key, id, from, to, amount) => {
                let transfer = Transfer { id: id.id(), from: from.id(), to: to.id(), amount: amount.value() };
                Outcome::TransferAs(self.transfer_as(key.id(), transfer))
            }
            Op::CredentialInfo(id) => Outcome::CredentialInfo(self.credential_info(id.id())),
            Op::OpenBucket(id, policy) => Outcome::Bucket(self.open_bucket(id.id(), policy.policy())),
            Op::Take(id, units) => Outcome::Take(self.take(id.id(), units.value())),
            Op::Refund(id, units) => Outcome::Refund(self.refund(id.id(), units.value())),
            Op::BucketInfo(id) => Outcome::BucketInfo(self.bucket_info(id.id())),
            Op::Transfer(..) | Op::Linked(..) | Op::Hold(..) | Op::Post(..) | Op::Void(..) => {
                unreachable!("multi-step")
            }
        }
    }

    fn open(&mut self, id: AccountId, options: AccountOptions) -> Result<Opened, OpenError> {
        if id.is_reserved() {
            return Err(OpenError::ReservedAccountId(id));
        }
        if let Floor::Overdraft(limit) = options.floor {
            if limit > BALANCE_MAX as u64 {
                return Err(OpenError::OverdraftTooLarge { limit, limit_max: BALANCE_MAX as u64 });
            }
        }
        if let Some(ceiling) = options.ceiling.filter(|&ceiling| ceiling > BALANCE_MAX as u64) {
            return Err(OpenError::CeilingTooLarge { ceiling, ceiling_max: BALANCE_MAX as u64 });
        }
        if let Some(existing) = self.accounts.get(&id) {
            return if existing.options == options {
                Ok(Opened::AlreadyExists)
            } else {
                Err(OpenError::OptionsConflict {
                    account: id,
                    existing: existing.options,
                    requested: options,
                })
            };
        }
        if self.accounts.len() == ACCOUNTS_MAX {
            return Err(OpenError::LedgerFull { accounts_max: ACCOUNTS_MAX });
        }
        let floor = options.floor.lowest_balance();
        let account = AccountModel {
            options,
            floor,
            ceiling: options.ceiling.map_or(BALANCE_MAX, |ceiling| ceiling as i64),
            balance: 0,
            status: Status::Open,
            in_flight: 0,
            holds: 0,
            held: 0,
        };
        self.accounts.insert(id, account);
        Ok(Opened::Created)
    }

    fn credit(&mut self, id: AccountId, amount: u64) -> Result<i64, AccountError> {
        self.lookup(id)?;
        check_amount(amount)?;
        let account = self.account_mut(id)?;
        account.balance = account.can_credit(id, amount)?;
        let balance = account.balance;
        self.entered += u128::from(amount);
        Ok(balance)
    }

    fn debit(&mut self, id: AccountId, amount: u64) -> Result<i64, AccountError> {
        self.lookup(id)?;
        check_amount(amount)?;
        let account = self.account_mut(id)?;
        account.balance = account.can_debit(id, amount)?;
        let balance = account.balance;
        self.left += u128::from(amount);
        Ok(balance)
    }

    fn set_status(&mut self, id: AccountId, status: Status) -> Result<(), AccountError> {
        let account = self.account_mut(id)?;
        if account.status == status {
            return Ok(());
        }
        if account.status == Status::Closed {
            return Err(Rejection::AccountClosed { account: id }.into());
        }
        account.status = status;
        Ok(())
    }

    fn close(&mut self, id: AccountId) -> Result<(), AccountError> {
        let account = self.account_mut(id)?;
        if account.status == Status::Closed {
            return Err(Rejection::AccountClosed { account: id }.into());
        }
        if account.balance != 0 {
            return Err(Rejection::BalanceNotZero { account: id, balance: account.balance }.into());
        }
        if account.in_flight != 0 {
            return Err(Rejection::TransfersInFlight { account: id, in_flight: account.in_flight }.into());
        }
        if account.holds != 0 {
            return Err(Rejection::HoldsOpen { account: id, holds: account.holds }.into());
        }
        account.status = Status::Closed;
        Ok(())
    }

    fn transfer_lookup(&self, id: AccountId) -> Result<&AccountModel, TransferError> {
        self.lookup(id).map_err(|error| match error {
            AccountError::ReservedAccountId(id) => TransferError::ReservedAccountId(id),
            _ => TransferError::UnknownAccount(id),
        })
    }

    /// The real `resolve_transfer`: validation that records nothing.
    fn validate_transfer(&self, transfer: &Transfer) -> Result<(), TransferError> {
        let Transfer { id, from, to, amount } = *transfer;
        if id.is_reserved() {
            return Err(TransferError::ReservedTransferId(id));
        }
        self.transfer_lookup(from)?;
        self.transfer_lookup(to)?;
        check_amount(amount).map_err(|error| match error {
            AccountError::AmountTooLarge { amount, amount_max } => {
                TransferError::AmountTooLarge { amount, amount_max }
            }
            _ => TransferError::ZeroAmount,
        })?;
        if from == to {
            return Err(TransferError::SameAccount(from));
        }
        let (from_asset, to_asset) = (self.asset_of(from), self.asset_of(to));
        if from_asset != to_asset {
            return Err(TransferError::AssetMismatch { from, from_asset, to, to_asset });
        }
        Ok(())
    }

    /// The asset of an account known to exist.
    fn asset_of(&self, id: AccountId) -> Asset {
        self.accounts[&id].options.asset
    }

    /// Whether `id` is being decided right now (its shard lock is held).
    fn transfer_id_pending(&self, id: TransferId) -> bool {
        self.pending.contains_key(&id)
            || self.linked.values().any(|run| run.legs.iter().any(|leg| leg.id == id))
    }

    /// The real `classify`: `Ok(Some)` for a repeat, `Ok(None)` for a fresh id.
    fn classify(&self, transfer: &Transfer, link: LinkModel) -> Result<Option<Decided>, TransferError> {
        let Some(seen) = self.transfers.get(&transfer.id) else { return Ok(None) };
        let field = if seen.from != transfer.from {
            TransferField::From
        } else if seen.to != transfer.to {
            TransferField::To
        } else if seen.amount != transfer.amount {
            TransferField::Amount
        } else if seen.link != link {
            TransferField::Link
        } else {
            return Ok(Some(seen.outcome));
        };
        Err(TransferError::IdConflict { id: transfer.id, field })
    }

    /// Step 1 of a transfer: everything up to and including the debit leg.
    fn transfer_begin(&mut self, transfer: Transfer) -> Stepped<Result<TransferReceipt, TransferError>> {
        let Transfer { id, from, to, amount } = transfer;
        if let Err(error) = self.validate_transfer(&transfer) {
            return Stepped::Done(Err(error));
        }
        if self.transfer_id_pending(id) {
            return Stepped::Blocked;
        }
        match self.classify(&transfer, None) {
            Err(error) => return Stepped::Done(Err(error)),
            Ok(Some(Decided::Applied)) => return Stepped::Done(Ok(TransferReceipt { id, repeat: true })),
            Ok(Some(Decided::Rejected(reason))) => {
                return Stepped::Done(Err(TransferError::Rejected { reason, repeat: true }))
            }
            Ok(Some(Decided::LinkedLegFailed)) => unreachable!("link compared"),
            Ok(None) => {}
        }
        let record = TransferModel { from, to, amount, link: None, outcome: Decided::Applied };
        let source = self.get(from);
        match source.can_debit(from, amount) {
            Ok(balance) => {
                source.balance = balance;
                source.in_flight += 1;
                self.pending.insert(id, record);
                Stepped::Next
            }
            Err(reason) => {
                self.transfers.insert(id, TransferModel { outcome: Decided::Rejected(reason), ..record });
                Stepped::Done(Err(TransferError::Rejected { reason, repeat: false }))
            }
        }
    }

    /// Step 2: credit the destination, or undo the debit and finish rejected.
    fn transfer_credit(&mut self, id: TransferId) -> Stepped<Result<TransferReceipt, TransferError>> {
        let record = self.pending[&id];
        let destination = self.get(record.to);
        match destination.can_credit(record.to, record.amount) {
            Ok(balance) => {
                destination.balance = balance;
                Stepped::Next
            }
            Err(reason) => {
                let source = self.get(record.from);
                source.balance += record.amount as i64;
                source.in_flight -= 1;
                self.pending.remove(&id);
                self.transfers.insert(id, TransferModel { outcome: Decided::Rejected(reason), ..record });
                Stepped::Done(Err(TransferError::Rejected { reason, repeat: false }))
            }
        }
    }

    /// Step 3: release the source's in-flight count and finish applied.
    fn transfer_finish(&mut self, id: TransferId) -> Stepped<Result<TransferReceipt, TransferError>> {
        let record = self.pending.remove(&id).expect("begun");
        self.get(record.from).in_flight -= 1;
        self.transfers.insert(id, record);
        Stepped::Done(Ok(TransferReceipt { id, repeat: false }))
    }

    /// Step 1 of a linked batch: validation and the id decision (no account
    /// changes). Then one step per CAS of `crate::linked`.
    fn linked_begin(&mut self, legs: Vec<Transfer>) -> Stepped<Result<LinkedReceipt, LinkedError>> {
        if legs.is_empty() || legs.len() > LINKED_LEGS_MAX {
            return Stepped::Done(Err(LinkedError::LegCount { legs: legs.len(), legs_max: LINKED_LEGS_MAX }));
        }
        let len = legs.len();
        let fail = |index: usize, error: TransferError| {
            let errors = (0..len)
                .map(|leg| {
                    if leg == index {
                        error
                    } else {
                        TransferError::LinkedLegFailed { failed_index: index }
                    }
                })
                .collect();
            Stepped::Done(Err(LinkedError::LegFailed { index, legs: errors }))
        };
        for (index, leg) in legs.iter().enumerate() {
            if let Err(error) = self.validate_transfer(leg) {
                return fail(index, error);
            }
            if let Some(first_index) = legs[..index].iter().position(|earlier| earlier.id == leg.id) {
                return fail(index, TransferError::DuplicateLegId { id: leg.id, first_index });
            }
            let out: u128 =
                legs[..=index].iter().filter(|l| l.from == leg.from).map(|l| u128::from(l.amount)).sum();
            let incoming: u128 =
                legs[..=index].iter().filter(|l| l.to == leg.to).map(|l| u128::from(l.amount)).sum();
            for moved in [out, incoming] {
                if moved > u128::from(AMOUNT_MAX) {
                    let amount = u64::try_from(moved).unwrap_or(u64::MAX);
                    return fail(index, TransferError::AmountTooLarge { amount, amount_max: AMOUNT_MAX });
                }
            }
        }
        let ceilinged: Vec<AccountId> =
            legs.iter().map(|leg| leg.to).filter(|to| self.accounts[to].options.ceiling.is_some()).collect();
        if let Some(&second) = ceilinged.iter().find(|&&to| to != ceilinged[0]) {
            return Stepped::Done(Err(LinkedError::TwoCeilings { first: ceilinged[0], second }));
        }
        if legs.iter().any(|leg| self.transfer_id_pending(leg.id)) {
            return Stepped::Blocked;
        }
        let first = legs[0].id;
        let mut seen = Vec::new();
        for (index, leg) in legs.iter().enumerate() {
            match self.classify(leg, Some((first, len, index))) {
                Ok(outcome) => seen.push(outcome),
                Err(error) => return fail(index, error),
            }
        }
        if let Some(first_known) = seen.iter().position(Option::is_some) {
            if seen.iter().any(Option::is_none) {
                let field = TransferField::Link;
                return fail(first_known, TransferError::IdConflict { id: legs[first_known].id, field });
            }
            let failed = seen.iter().enumerate().find_map(|(index, outcome)| match outcome {
                Some(Decided::Rejected(reason)) => Some((index, *reason)),
                _ => None,
            });
            return match failed {
                None => Stepped::Done(Ok(LinkedReceipt { legs: len, repeat: true })),
                Some((index, reason)) => fail(index, TransferError::Rejected { reason, repeat: true }),
            };
        }
        self.linked.insert(
            first,
            LinkedRun { legs, next: (0, 0), pinned: Vec::new(), finishing: None, checked: false },
        );
        Stepped::Next
    }

    /// One CAS of a running batch.
    fn linked_step(&mut self, first: TransferId) -> Stepped<Result<LinkedReceipt, LinkedError>> {
        let mut run = self.linked.remove(&first).expect("begun");
        if let (Some(None), false) = (run.finishing, run.checked) {
            run.checked = true;
            let ceilinged = |(id, _, incoming): &(AccountId, u64, u64)| {
                *incoming > 0 && self.accounts[id].options.ceiling.is_some()
            };
            if let Some(slot) = run.pinned.iter().position(ceilinged) {
                // The real `commit_checked`: one CAS, first, that may refuse.
                let (account, _, incoming) = run.pinned[slot];
                let model = self.get(account);
                match model.can_credit(account, incoming) {
                    Ok(balance) => {
                        model.balance = balance;
                        model.in_flight -= 1;
                        run.pinned.remove(slot);
                    }
                    Err(reason) => {
                        let leg =
                            run.legs.iter().position(|leg| leg.to == account).expect("credited by a leg");
                        run.finishing = Some(Some((leg, reason)));
                    }
                }
                if run.pinned.is_empty() {
                    return Stepped::Done(self.linked_finish(&run.legs, run.finishing.expect("finishing")));
                }
                self.linked.insert(first, run);
                return Stepped::Next;
            }
        }
        if let Some(failure) = run.finishing {
            // Commit (or undo) the first pinned account left.
            let (account, debited, incoming) = run.pinned.remove(0);
            let returned = if failure.is_some() { debited } else { incoming };
            let model = self.get(account);
            model.balance += returned as i64;
            model.in_flight -= 1;
            if !run.pinned.is_empty() {
                self.linked.insert(first, run);
                return Stepped::Next;
            }
            return Stepped::Done(self.linked_finish(&run.legs, failure));
        }
        let (index, half) = run.next;
        let leg = run.legs[index];
        let position =
            |account: AccountId, run: &LinkedRun| run.pinned.iter().position(|(id, _, _)| *id == account);
        let refused = if half == 0 {
            let pinned = position(leg.from, &run);
            let model = self.get(leg.from);
            match model.can_debit(leg.from, leg.amount) {
                Ok(balance) => {
                    model.balance = balance;
                    if pinned.is_none() {
                        model.in_flight += 1;
                        run.pinned.push((leg.from, 0, 0));
                    }
                    let slot = position(leg.from, &run).expect("pinned");
                    run.pinned[slot].1 += leg.amount;
                    None
                }
                Err(reason) => Some(reason),
            }
        } else {
            let pinned = position(leg.to, &run);
            let incoming = pinned.map_or(0, |slot| run.pinned[slot].2) + leg.amount;
            let model = self.get(leg.to);
            match model.can_credit(leg.to, incoming) {
                Ok(_) => {
                    if pinned.is_none() {
                        model.in_flight += 1;
                        run.pinned.push((leg.to, 0, 0));
                    }
                    let slot = position(leg.to, &run).expect("pinned");
                    run.pinned[slot].2 = incoming;
                    None
                }
                Err(reason) => Some(reason),
            }
        };
        if let Some(reason) = refused {
            run.finishing = Some(Some((index, reason)));
        } else if half == 0 {
            run.next = (index, 1);
        } else if index + 1 < run.legs.len() {
            run.next = (index + 1, 0);
        } else {
            run.finishing = Some(None);
        }
        if let (Some(failure), true) = (run.finishing, run.pinned.is_empty()) {
            return Stepped::Done(self.linked_finish(&run.legs, failure));
        }
        self.linked.insert(first, run);
        Stepped::Next
    }

    fn linked_finish(
        &mut self,
        legs: &[Transfer],
        failure: Option<(usize, Rejection)>,
    ) -> Result<LinkedReceipt, LinkedError> {
        let first = legs[0].id;
        for (index, leg) in legs.iter().enumerate() {
            let outcome = match failure {
                None => Decided::Applied,
                Some((failed, reason)) if failed == index => Decided::Rejected(reason),
                Some(_) => Decided::LinkedLegFailed,
            };
            let record = TransferModel {
                from: leg.from,
                to: leg.to,
                amount: leg.amount,
                link: Some((first, legs.len(), index)),
                outcome,
            };
            self.transfers.insert(leg.id, record);
        }
        match failure {
            None => Ok(LinkedReceipt { legs: legs.len(), repeat: false }),
            Some((index, reason)) => {
                let errors = (0..legs.len())
                    .map(|leg| {
                        if leg == index {
                            TransferError::Rejected { reason, repeat: false }
                        } else {
                            TransferError::LinkedLegFailed { failed_index: index }
                        }
                    })
                    .collect();
                Err(LinkedError::LegFailed { index, legs: errors })
            }
        }
    }

    fn hold_account(&self, id: AccountId) -> Result<(), HoldError> {
        self.lookup(id).map(drop).map_err(|error| match error {
            AccountError::ReservedAccountId(id) => HoldError::ReservedAccountId(id),
            _ => HoldError::UnknownAccount(id),
        })
    }

    fn hold_amount(amount: u64) -> Result<(), HoldError> {
        check_amount(amount).map_err(|error| match error {
            AccountError::AmountTooLarge { amount, amount_max } => {
                HoldError::AmountTooLarge { amount, amount_max }
            }
            _ => HoldError::ZeroAmount,
        })
    }

    /// Expires hold `id` if it is open and due (atomically here: harnesses that
    /// check concurrent histories never move the clock). Returns its state.
    fn settle_if_due(&mut self, id: HoldId) -> HoldState {
        let hold = self.holds[&id];
        if hold.state.is_open() && self.now_ms >= hold.request.expires_at_ms {
            let source = self.get(hold.request.from);
            source.held -= hold.request.amount;
            source.balance += hold.request.amount as i64;
            source.holds -= 1;
            self.holds.insert(id, HoldModel { state: HoldState::Expired, ..hold });
            self.give_back(hold.charged, hold.request.amount);
            return HoldState::Expired;
        }
        hold.state
    }

    /// Hold, step 1: validation, the id, and the debit CAS. Step 2: `held` grows.
    fn hold_begin(&mut self, request: HoldRequest) -> Stepped<Result<HoldReceipt, HoldError>> {
        match self.hold_check(request) {
            Some(stepped) => stepped,
            None => self.hold_debit(request),
        }
    }

    /// Validation and the id: `Some` if decided without a debit (an error, a
    /// repeat, or blocked), `None` for a fresh id.
    fn hold_check(&mut self, request: HoldRequest) -> Option<Stepped<Result<HoldReceipt, HoldError>>> {
        match self.hold_check_inner(request) {
            Stepped::Next => None,
            other => Some(other),
        }
    }

    fn hold_check_inner(&mut self, request: HoldRequest) -> Stepped<Result<HoldReceipt, HoldError>> {
        let HoldRequest { id, from, to, amount, expires_at_ms } = request;
        if id.is_reserved() {
            return Stepped::Done(Err(HoldError::ReservedHoldId(id)));
        }
        let now_ms = self.now_ms;
        let validated = (|| {
            self.hold_account(from)?;
            self.hold_account(to)?;
            Self::hold_amount(amount)?;
            if from == to {
                return Err(HoldError::SameAccount(from));
            }
            let (from_asset, to_asset) = (self.asset_of(from), self.asset_of(to));
            if from_asset != to_asset {
                return Err(HoldError::AssetMismatch { from, from_asset, to, to_asset });
            }
            if expires_at_ms <= now_ms {
                return Err(HoldError::ExpiryInPast { expires_at_ms, now_ms });
            }
            Ok(())
        })();
        if let Err(error) = validated {
            return Stepped::Done(Err(error));
        }
        if self.busy_holds.contains(&id) {
            return Stepped::Blocked;
        }
        if let Some(seen) = self.holds.get(&id) {
            let seen = seen.request;
            let field = if seen.from != from {
                Some(HoldField::From)
            } else if seen.to != to {
                Some(HoldField::To)
            } else if seen.amount != amount {
                Some(HoldField::Amount)
            } else if seen.expires_at_ms != expires_at_ms {
                Some(HoldField::ExpiresAt)
            } else {
                None
            };
            if let Some(field) = field {
                return Stepped::Done(Err(HoldError::IdConflict { id, field }));
            }
            return Stepped::Done(match self.settle_if_due(id) {
                HoldState::Rejected(reason) => Err(HoldError::Rejected { reason, repeat: true }),
                _ => Ok(HoldReceipt { id, repeat: true }),
            });
        }
        Stepped::Next
    }

    /// The hold's debit CAS, for a fresh id.
    fn hold_debit(&mut self, request: HoldRequest) -> Stepped<Result<HoldReceipt, HoldError>> {
        let HoldRequest { id, from, amount, .. } = request;
        let source = self.get(from);
        let decided = source.can_debit(from, amount).and_then(|balance| {
            if source.holds == HOLDS_OPEN_MAX {
                Err(Rejection::TooManyHolds { account: from, holds_open_max: HOLDS_OPEN_MAX })
            } else {
                Ok(balance)
            }
        });
        match decided {
            Ok(balance) => {
                source.balance = balance;
                source.holds += 1;
                self.holds.insert(id, HoldModel { request, state: HoldState::Open, charged: self.charging });
                self.busy_holds.insert(id);
                Stepped::Next
            }
            Err(reason) => {
                self.holds
                    .insert(id, HoldModel { request, state: HoldState::Rejected(reason), charged: None });
                Stepped::Done(Err(HoldError::Rejected { reason, repeat: false }))
            }
        }
    }

    fn hold_finish(&mut self, id: HoldId) -> Stepped<Result<HoldReceipt, HoldError>> {
        let request = self.holds[&id].request;
        self.get(request.from).held += request.amount;
        self.busy_holds.remove(&id);
        Stepped::Done(Ok(HoldReceipt { id, repeat: false }))
    }

    /// The checks shared by post and void; `Ok` with the open hold.
    fn open_hold(&mut self, id: HoldId) -> Stepped<Result<HoldModel, HoldError>> {
        if self.busy_holds.contains(&id) {
            return Stepped::Blocked;
        }
        if !self.holds.contains_key(&id) {
            return Stepped::Done(Err(HoldError::UnknownHold(id)));
        }
        match self.settle_if_due(id) {
            HoldState::Open => Stepped::Done(Ok(self.holds[&id])),
            state => Stepped::Done(Err(HoldError::AlreadyResolved { id, state })),
        }
    }

    /// Post: (1) checks, `held` shrinks; (2) credit `to` or restore `held` and
    /// fail; (3) the rest returns to `from`.
    fn post_step(&mut self, id: HoldId, amount: u64, phase: u32) -> Stepped<Result<Posted, HoldError>> {
        match phase {
            0 => {
                if id.is_reserved() {
                    return Stepped::Done(Err(HoldError::ReservedHoldId(id)));
                }
                if let Err(error) = Self::hold_amount(amount) {
                    return Stepped::Done(Err(error));
                }
                let hold = match self.open_hold(id) {
                    Stepped::Done(Ok(hold)) => hold,
                    Stepped::Done(Err(error)) => return Stepped::Done(Err(error)),
                    _ => return Stepped::Blocked,
                };
                let held = hold.request.amount;
                if amount > held {
                    return Stepped::Done(Err(HoldError::ExceedsHold { id, held, requested: amount }));
                }
                self.get(hold.request.from).held -= held;
                self.busy_holds.insert(id);
                Stepped::Next
            }
            1 => {
                let request = self.holds[&id].request;
                let destination = self.get(request.to);
                match destination.can_credit(request.to, amount) {
                    Ok(balance) => {
                        destination.balance = balance;
                        Stepped::Next
                    }
                    Err(reason) => {
                        self.get(request.from).held += request.amount;
                        self.busy_holds.remove(&id);
                        Stepped::Done(Err(HoldError::Rejected { reason, repeat: false }))
                    }
                }
            }
            _ => {
                let hold = self.holds[&id];
                let returned = hold.request.amount - amount;
                let source = self.get(hold.request.from);
                source.balance += returned as i64;
                source.holds -= 1;
                self.holds.insert(id, HoldModel { state: HoldState::Posted { amount }, ..hold });
                self.busy_holds.remove(&id);
                if returned > 0 {
                    self.give_back(hold.charged, returned);
                }
                Stepped::Done(Ok(Posted { posted: amount, returned }))
            }
        }
    }

    /// Void: (1) checks, `held` shrinks; (2) everything returns to `from`.
    fn void_step(&mut self, id: HoldId, phase: u32) -> Stepped<Result<u64, HoldError>> {
        if phase == 0 {
            if id.is_reserved() {
                return Stepped::Done(Err(HoldError::ReservedHoldId(id)));
            }
            let hold = match self.open_hold(id) {
                Stepped::Done(Ok(hold)) => hold,
                Stepped::Done(Err(error)) => return Stepped::Done(Err(error)),
                _ => return Stepped::Blocked,
            };
            self.get(hold.request.from).held -= hold.request.amount;
            self.busy_holds.insert(id);
            return Stepped::Next;
        }
        let hold = self.holds[&id];
        let source = self.get(hold.request.from);
        source.balance += hold.request.amount as i64;
        source.holds -= 1;
        self.holds.insert(id, HoldModel { state: HoldState::Voided, ..hold });
        self.busy_holds.remove(&id);
        self.give_back(hold.charged, hold.request.amount);
        Stepped::Done(Ok(hold.request.amount))
    }

    fn hold_info(&mut self, id: HoldId) -> Result<HoldInfo, HoldError> {
        if id.is_reserved() {
            return Err(HoldError::ReservedHoldId(id));
        }
        if !self.holds.contains_key(&id) {
            return Err(HoldError::UnknownHold(id));
        }
        let state = self.settle_if_due(id);
        Ok(HoldInfo { request: self.holds[&id].request, state })
    }

    fn expire_due(&mut self) -> usize {
        let due: Vec<HoldId> = self
            .holds
            .iter()
            .filter(|(_, hold)| hold.state.is_open() && self.now_ms >= hold.request.expires_at_ms)
            .map(|(&id, _)| id)
            .collect();
        for &id in &due {
            self.settle_if_due(id);
        }
        due.len()
    }

    /// One step, and only when no multi-account operation is between steps.
    fn snapshot(&mut self) -> Stepped<Outcome> {
        if !self.pending.is_empty() || !self.linked.is_empty() || !self.busy_holds.is_empty() {
            return Stepped::Blocked;
        }
        self.snapshots += 1;
        let accounts = self
            .accounts
            .iter()
            .map(|(&id, account)| AccountSnapshot {
                id,
                asset: account.options.asset,
                balance: account.balance,
                held: account.held,
                status: account.status,
            })
            .collect();
        Stepped::Done(Outcome::Snapshot(self.snapshots, accounts))
    }

    fn read(&self, id: AccountId) -> Result<AccountInfo, AccountError> {
        let account = self.lookup(id)?;
        Ok(AccountInfo {
            id,
            asset: account.options.asset,
            balance: account.balance,
            status: account.status,
            floor: account.floor,
            ceiling: account.ceiling,
            in_flight: account.in_flight,
            holds_open: account.holds,
            held: account.held,
        })
    }

    /// What a restart of a durable ledger resets: the snapshot epochs,
    /// which are counted per opening, not journaled.
    pub fn restarted(&mut self) {
        self.snapshots = 0;
    }

    /// Asserts that the real ledger's state equals the model's.
    pub fn assert_matches(&self, ledger: &Ledger) {
        for raw in 0..5u8 {
            let id = CredentialRef(raw).id();
            assert_eq!(ledger.credential_info(id), self.credential_info(id), "credential {id}");
        }
        for raw in 0..4u8 {
            let id = BucketRef(raw).id();
            assert_eq!(ledger.bucket_info(id), self.clone().bucket_info(id), "bucket {id}");
        }
        for raw in 0..7u8 {
            let id = AccountRef(raw).id();
            assert_eq!(ledger.account_info(id), self.read(id), "state of account {id}");
        }
        let audit = ledger.audit();
        assert_eq!(audit.accounts, self.accounts.len());
        assert_eq!(
            audit.balance_total,
            self.accounts.values().map(|account| i128::from(account.balance)).sum::<i128>()
        );
        assert_eq!(
            audit.held_total,
            self.accounts.values().map(|account| i128::from(account.held)).sum::<i128>()
        );
        assert_eq!((audit.entered_total, audit.left_total), (self.entered, self.left));
        assert!(audit.is_consistent(), "{audit:?}");
        assert_eq!(ledger.transfer_ids_remembered(), self.transfers.len());
        assert_eq!(ledger.holds_remembered(), self.holds.len());
    }
}

fn map_step<R>(stepped: Stepped<R>, outcome: impl FnOnce(R) -> Outcome) -> Stepped<Outcome> {
    match stepped {
        Stepped::Done(result) => Stepped::Done(outcome(result)),
        Stepped::Next => Stepped::Next,
        Stepped::Blocked => Stepped::Blocked,
    }
}

impl Spec for Model {
    type Op = Op;
    type Ret = Outcome;

    fn step(&mut self, op: &Op, phase: u32) -> Stepped<Outcome> {
        match *op {
            Op::Transfer(id, from, to, amount) => {
                let transfer = Transfer { id: id.id(), from: from.id(), to: to.id(), amount: amount.value() };
                let stepped = match phase {
                    0 => self.transfer_begin(transfer),
                    1 => self.transfer_credit(transfer.id),
                    _ => self.transfer_finish(transfer.id),
                };
                map_step(stepped, Outcome::Transfer)
            }
            Op::Linked(batch) => {
                let legs = batch.legs();
                let stepped = if phase == 0 { self.linked_begin(legs) } else { self.linked_step(legs[0].id) };
                map_step(stepped, Outcome::Linked)
            }
            Op::Hold(id, from, to, amount, expiry) => {
                let request = HoldRequest {
                    id: id.id(),
                    from: from.id(),
                    to: to.id(),
                    amount: amount.value(),
                    expires_at_ms: expiry.at_ms(),
                };
                let stepped =
                    if phase == 0 { self.hold_begin(request) } else { self.hold_finish(request.id) };
                map_step(stepped, Outcome::Hold)
            }
            Op::Post(id, amount) => map_step(self.post_step(id.id(), amount.value(), phase), Outcome::Post),
            Op::Void(id) => map_step(self.void_step(id.id(), phase), Outcome::Void),
            Op::HoldInfo(id) if self.busy_holds.contains(&id.id()) => Stepped::Blocked,
            Op::Snapshot => self.snapshot(),
            Op::DebitAs(id, amount, tag) => {
                map_step(self.debit_as_step(id.id(), amount.value(), tag, phase), Outcome::DebitAs)
            }
            Op::Revoke(id) => map_step(self.revoke_step(id.id(), phase), Outcome::Revoked),
            _ => Stepped::Done(self.apply_single(op)),
        }
    }
}

/// Credentials and quota buckets.
impl Model {
    fn credential(&self, id: CredentialId) -> Result<CredentialModel, CredentialError> {
        if id.is_reserved() {
            return Err(CredentialError::ReservedCredentialId(id));
        }
        self.credentials.get(&id).copied().ok_or(CredentialError::UnknownCredential(id))
    }

    fn credential_info(&self, id: CredentialId) -> Result<CredentialInfo, CredentialError> {
        let credential = self.credential(id)?;
        Ok(CredentialInfo {
            id,
            spec: credential.spec,
            scopes: credential.scopes,
            spent: credential.spent,
            revoked: credential.revoked,
            in_use: credential.in_use,
        })
    }

    fn issue_credential(&mut self, id: CredentialId, spec: CredentialSpec) -> Result<(), CredentialError> {
        if id.is_reserved() {
            return Err(CredentialError::ReservedCredentialId(id));
        }
        if self.lookup(spec.account).is_err() {
            return Err(CredentialError::UnknownAccount(spec.account));
        }
        if let Some(expires_at_ms) = spec.expires_at_ms {
            if expires_at_ms <= self.now_ms {
                return Err(CredentialError::ExpiryInPast { expires_at_ms, now_ms: self.now_ms });
            }
        }
        if let Some(bucket) = spec.rate_limit {
            if !self.buckets.contains_key(&bucket) {
                return Err(CredentialError::UnknownBucket(bucket));
            }
        }
        if let Some(existing) = self.credentials.get(&id) {
            return if existing.spec == spec { Ok(()) } else { Err(CredentialError::IdConflict(id)) };
        }
        if self.credentials.len() == CREDENTIALS_MAX {
            return Err(CredentialError::TableFull { credentials_max: CREDENTIALS_MAX });
        }
        let credential = CredentialModel { spec, scopes: spec.scopes, spent: 0, revoked: false, in_use: 0 };
        self.credentials.insert(id, credential);
        Ok(())
    }

    /// The credential checks of a use, in the real order; on success the use
    /// is counted and `spend` counted against a cap (no rate limit yet).
    fn begin_use(
        &mut self,
        id: CredentialId,
        needed: Scopes,
        amount: u64,
        spend: u64,
    ) -> Result<InUseModel, CredentialError> {
        let credential = self.credential(id)?;
        if credential.revoked {
            return Err(CredentialError::Revoked(id));
        }
        if let Some(expires_at_ms) = credential.spec.expires_at_ms {
            if self.now_ms >= expires_at_ms {
                return Err(CredentialError::Expired { id, expires_at_ms, now_ms: self.now_ms });
            }
        }
        if !credential.scopes.contains(needed) {
            return Err(CredentialError::ScopeMissing { id, needed, granted: credential.scopes });
        }
        if let Some(amount_max) = credential.spec.amount_max_per_op {
            if amount > amount_max {
                return Err(CredentialError::PerOpCapExceeded { id, amount, amount_max });
            }
        }
        let counted = self.count_spend(id, spend)?;
        self.credentials.get_mut(&id).expect("looked up").in_use += 1;
        Ok(InUseModel { credential: id, counted, charged: None })
    }

    /// `spend` against the cap, if there is one: what was counted.
    fn count_spend(&mut self, id: CredentialId, spend: u64) -> Result<u64, CredentialError> {
        let credential = self.credentials.get_mut(&id).expect("looked up");
        match credential.spec.spend_cap {
            Some(cap) if credential.spent.checked_add(spend).is_none_or(|total| total > cap) => {
                Err(CredentialError::SpendCapExceeded { id, cap, spent: credential.spent, requested: spend })
            }
            Some(_) => {
                credential.spent += spend;
                Ok(spend)
            }
            None => Ok(0),
        }
    }

    /// The charge of `transfer_as` and `hold_as` for a fresh id: the cap, then the rate limit.
    fn charge(&mut self, in_use: &mut InUseModel, spend: u64) -> Result<(), CredentialError> {
        let id = in_use.credential;
        in_use.counted += self.count_spend(id, spend)?;
        match self.charge_rate(id, spend) {
            Ok(true) => in_use.charged = Some(spend),
            Ok(false) => {}
            Err(error) => return Err(rate_limited(id, error)),
        }
        Ok(())
    }

    fn end_use(&mut self, in_use: InUseModel, took_effect: bool) {
        let id = in_use.credential;
        if let (Some(units), false) = (in_use.charged, took_effect) {
            let bucket = self.credentials[&id].spec.rate_limit.expect("charged");
            self.put_back(bucket, units);
        }
        let credential = self.credentials.get_mut(&id).expect("in use");
        credential.in_use -= 1;
        if !took_effect {
            credential.spent -= in_use.counted;
        }
    }

    /// Takes `amount` from the credential's rate limit, if it has one and the
    /// amount is not zero. `Ok(true)` if units were taken.
    fn charge_rate(&mut self, id: CredentialId, amount: u64) -> Result<bool, QuotaError> {
        match self.credentials[&id].spec.rate_limit {
            Some(bucket) if amount > 0 => self.take(bucket, amount).map(|_| true),
            _ => Ok(false),
        }
    }

    /// The unposted part of a charged hold goes back to its credential.
    fn give_back(&mut self, charged: Option<CredentialId>, amount: u64) {
        let Some(id) = charged else { return };
        let credential = self.credentials.get_mut(&id).expect("charged credentials exist");
        if credential.spec.spend_cap.is_some() {
            credential.spent -= amount;
        }
        if let Some(bucket) = credential.spec.rate_limit {
            self.put_back(bucket, amount);
        }
    }

    /// `debit_as`: (0) credential checks and counting; (1) the rate-limit
    /// take; (2) the debit, or the end of a refused use; (3) the rate-limit
    /// units back if the debit failed; (4) the end of the use.
    fn debit_as_step(
        &mut self,
        id: CredentialId,
        amount: u64,
        tag: Tag,
        phase: u32,
    ) -> Stepped<Result<i64, AsError<AccountError>>> {
        match phase {
            0 => match self.begin_use(id, Scopes::DEBIT, amount, amount) {
                Err(error) => Stepped::Done(Err(AsError::Denied(error))),
                Ok(InUseModel { counted, .. }) => {
                    let new = UseModel {
                        credential: id,
                        amount,
                        counted,
                        charged: false,
                        refusal: None,
                        result: None,
                    };
                    assert!(self.uses.insert(tag, new).is_none(), "tags are unique among concurrent uses");
                    Stepped::Next
                }
            },
            1 => {
                let charged = self.charge_rate(id, amount);
                let used = self.uses.get_mut(&tag).expect("begun");
                match charged {
                    Ok(charged) => used.charged = charged,
                    Err(error) => used.refusal = Some(error),
                }
                Stepped::Next
            }
            2 => {
                let used = self.uses[&tag];
                if let Some(error) = used.refusal {
                    self.uses.remove(&tag);
                    self.end_use(InUseModel { credential: id, counted: used.counted, charged: None }, false);
                    return Stepped::Done(Err(AsError::Denied(rate_limited(id, error))));
                }
                let account = self.credentials[&id].spec.account;
                let result = self.debit(account, amount);
                self.uses.get_mut(&tag).expect("begun").result = Some(result);
                Stepped::Next
            }
            3 => {
                let used = self.uses[&tag];
                if used.charged && used.result.is_some_and(|result| result.is_err()) {
                    let bucket = self.credentials[&id].spec.rate_limit.expect("charged");
                    self.put_back(bucket, used.amount);
                }
                Stepped::Next
            }
            _ => {
                let used = self.uses.remove(&tag).expect("begun");
                let result = used.result.expect("debited");
                // The rate-limit units went back in step 3.
                self.end_use(
                    InUseModel { credential: id, counted: used.counted, charged: None },
                    result.is_ok(),
                );
                Stepped::Done(result.map_err(AsError::Failed))
            }
        }
    }

    /// `hold_as`, all at once (harnesses with concurrent histories leave it
    /// out): the credential's checks; then the hold's validation and id; for a
    /// fresh id only, the charge (cap, then rate limit) and the debit.
    fn hold_as(
        &mut self,
        id: CredentialId,
        hold: HoldId,
        to: AccountId,
        amount: u64,
        expires_at_ms: u64,
    ) -> Result<HoldReceipt, AsError<HoldError>> {
        let credential = self.credential(id).map_err(AsError::Denied)?;
        let request = HoldRequest { id: hold, from: credential.spec.account, to, amount, expires_at_ms };
        let mut in_use = self.begin_use(id, Scopes::HOLD, amount, 0).map_err(AsError::Denied)?;
        let result = match self.hold_check(request) {
            Some(Stepped::Done(result)) => result.map_err(AsError::Failed),
            Some(_) => unreachable!("sequential"),
            None => match self.charge(&mut in_use, amount) {
                Err(denied) => Err(AsError::Denied(denied)),
                Ok(()) => {
                    let charges = credential.spec.spend_cap.is_some() || credential.spec.rate_limit.is_some();
                    self.charging = charges.then_some(id);
                    let result = match self.hold_debit(request) {
                        Stepped::Done(result) => result,
                        Stepped::Next => match self.hold_finish(hold) {
                            Stepped::Done(result) => result,
                            _ => unreachable!("a hold finishes in two steps"),
                        },
                        Stepped::Blocked => unreachable!("sequential"),
                    };
                    self.charging = None;
                    result.map_err(AsError::Failed)
                }
            },
        };
        self.end_use(in_use, matches!(result, Ok(receipt) if !receipt.repeat));
        result
    }

    /// `transfer_as`, all at once (sequential harnesses only), in the same
    /// order as `hold_as`.
    fn transfer_as(
        &mut self,
        id: CredentialId,
        transfer: Transfer,
    ) -> Result<TransferReceipt, AsError<TransferError>> {
        let credential = self.credential(id).map_err(AsError::Denied)?;
        if transfer.from != credential.spec.account {
            let error = CredentialError::WrongAccount {
                id,
                account: credential.spec.account,
                requested: transfer.from,
            };
            return Err(AsError::Denied(error));
        }
        let mut in_use = self.begin_use(id, Scopes::DEBIT, transfer.amount, 0).map_err(AsError::Denied)?;
        let result = self.transfer_as_inner(&mut in_use, transfer);
        self.end_use(in_use, matches!(result, Ok(receipt) if !receipt.repeat));
        result
    }

    fn transfer_as_inner(
        &mut self,
        in_use: &mut InUseModel,
        transfer: Transfer,
    ) -> Result<TransferReceipt, AsError<TransferError>> {
        self.validate_transfer(&transfer).map_err(AsError::Failed)?;
        let repeat = match self.classify(&transfer, None).map_err(AsError::Failed)? {
            Some(Decided::Applied) => Ok(TransferReceipt { id: transfer.id, repeat: true }),
            Some(Decided::Rejected(reason)) => Err(TransferError::Rejected { reason, repeat: true }),
            Some(Decided::LinkedLegFailed) => unreachable!("link compared"),
            None => {
                self.charge(in_use, transfer.amount).map_err(AsError::Denied)?;
                let mut stepped = self.transfer_begin(transfer);
                for phase in 1..=2 {
                    stepped = match stepped {
                        Stepped::Done(result) => return result.map_err(AsError::Failed),
                        Stepped::Next if phase == 1 => self.transfer_credit(transfer.id),
                        Stepped::Next => self.transfer_finish(transfer.id),
                        Stepped::Blocked => unreachable!("sequential"),
                    };
                }
                match stepped {
                    Stepped::Done(result) => return result.map_err(AsError::Failed),
                    _ => unreachable!("a transfer finishes in three steps"),
                }
            }
        };
        repeat.map_err(AsError::Failed)
    }

    /// Revoke: (0) mark revoked (one revocation at a time); (1) wait for the
    /// uses in flight, then answer whether this call revoked it.
    fn revoke_step(&mut self, id: CredentialId, phase: u32) -> Stepped<Result<bool, CredentialError>> {
        if phase == 0 {
            if let Err(error) = self.credential(id) {
                return Stepped::Done(Err(error));
            }
            if self.revoking.is_some() {
                return Stepped::Blocked;
            }
            let credential = self.credentials.get_mut(&id).expect("looked up");
            self.revoking = Some((id, !credential.revoked));
            credential.revoked = true;
            return Stepped::Next;
        }
        if self.credentials[&id].in_use > 0 {
            return Stepped::Blocked;
        }
        let (_, revoked_now) = self.revoking.take().expect("revoking");
        Stepped::Done(Ok(revoked_now))
    }

    fn bucket(&mut self, id: BucketId) -> Result<&mut BucketModel, QuotaError> {
        if id.is_reserved() {
            return Err(QuotaError::ReservedBucketId(id));
        }
        let now_ms = self.now_ms;
        let bucket = self.buckets.get_mut(&id).ok_or(QuotaError::UnknownBucket(id))?;
        // Refill up to now: `refill_amount` per whole interval since `origin_ms`.
        let now_tick = now_ms.saturating_sub(bucket.origin_ms) / bucket.policy.refill_interval_ms;
        if now_tick > bucket.tick {
            let gained = (now_tick - bucket.tick) * bucket.policy.refill_amount;
            bucket.level = (bucket.level + gained).min(bucket.policy.capacity);
            bucket.tick = now_tick;
        }
        Ok(bucket)
    }

    fn open_bucket(&mut self, id: BucketId, policy: BucketPolicy) -> Result<(), QuotaError> {
        if id.is_reserved() {
            return Err(QuotaError::ReservedBucketId(id));
        }
        let BucketPolicy { capacity, refill_amount, refill_interval_ms } = policy;
        let out_of_range =
            |field, value, max| Err(QuotaError::PolicyOutOfRange { field, value, min: 1, max });
        if capacity == 0 || capacity > atomic_ledger::BUCKET_CAPACITY_MAX {
            return out_of_range("capacity", capacity, atomic_ledger::BUCKET_CAPACITY_MAX);
        }
        if refill_amount == 0 || refill_amount > capacity {
            return out_of_range("refill_amount", refill_amount, capacity);
        }
        if refill_interval_ms == 0 {
            return out_of_range("refill_interval_ms", 0, u64::MAX);
        }
        if let Some(existing) = self.buckets.get(&id) {
            return if existing.policy == policy { Ok(()) } else { Err(QuotaError::IdConflict(id)) };
        }
        if self.buckets.len() == BUCKETS_MAX {
            return Err(QuotaError::TableFull { buckets_max: BUCKETS_MAX });
        }
        self.buckets.insert(id, BucketModel { policy, origin_ms: self.now_ms, level: capacity, tick: 0 });
        Ok(())
    }

    fn take(&mut self, id: BucketId, units: u64) -> Result<u64, QuotaError> {
        let now_ms = self.now_ms;
        let bucket = self.bucket(id)?;
        let BucketPolicy { capacity, refill_amount, refill_interval_ms } = bucket.policy;
        if units == 0 || units > capacity {
            return Err(QuotaError::UnitsOutOfRange { id, units, capacity });
        }
        if bucket.level < units {
            // Enough arrives at the boundary that ends the interval bringing the last missing unit.
            let intervals = (units - bucket.level).div_ceil(refill_amount);
            let due_ms = bucket.origin_ms + (bucket.tick + intervals) * refill_interval_ms;
            let retry_after_ms = due_ms.saturating_sub(now_ms).max(1);
            return Err(QuotaError::Exhausted {
                id,
                requested: units,
                available: bucket.level,
                retry_after_ms,
            });
        }
        bucket.level -= units;
        Ok(bucket.level)
    }

    fn refund(&mut self, id: BucketId, units: u64) -> Result<Refunded, QuotaError> {
        let bucket = self.bucket(id)?;
        let capacity = bucket.policy.capacity;
        if units == 0 || units > capacity {
            return Err(QuotaError::UnitsOutOfRange { id, units, capacity });
        }
        let before = bucket.level;
        bucket.level = (before + units).min(capacity);
        Ok(Refunded { restored: bucket.level - before, level: bucket.level })
    }

    fn put_back(&mut self, id: BucketId, units: u64) {
        self.refund(id, units).expect("units this model took fit the bucket");
    }

    fn bucket_info(&mut self, id: BucketId) -> Result<BucketInfo, QuotaError> {
        let bucket = *self.bucket(id)?;
        Ok(BucketInfo { id, policy: bucket.policy, level: bucket.level })
    }
}

/// A credential's refusal for its rate-limit bucket's error.
fn rate_limited(id: CredentialId, error: QuotaError) -> CredentialError {
    match error {
        QuotaError::Exhausted { id: bucket, requested, available, retry_after_ms } => {
            CredentialError::RateLimited { id, bucket, requested, available, retry_after_ms }
        }
        QuotaError::UnitsOutOfRange { id: bucket, units, capacity } => {
            CredentialError::ExceedsRateLimit { id, bucket, amount: units, capacity }
        }
        other => unreachable!("a take from an open bucket cannot fail with {other:?}"),
    }
}
