//! Recovery: the journal's entries, in position order, folded to the state
//! they leave, and the entries that finish what a crash cut. Above the cell
//! (it restores cells) and below the ledger (which opens a journal with it).
//!
//! # Implementation details
//!
//! Each entry's **effect** is applied as recorded; nothing is decided again.
//! For one account word, the successful CASes in position order are its
//! modification order (each read its predecessor's value, and positions are
//! taken between the read and the CAS; `docs/journal.md`), so replay walks
//! every balance through exactly the values it had, and checks every one
//! against the floor: a log that would break a floor is refused as
//! inconsistent rather than opened.
//!
//! **Cut operations.** A prefix may hold a transfer's debit without its
//! credit or undo, or a batch's debits without its end. None of them was
//! acknowledged. [`Replayed::completions`] gives the entries that settle
//! them, which the opener appends to the journal (so that the next recovery
//! sees them too) and applies:
//!
//! | cut | completion | why it is safe |
//! |---|---|---|
//! | transfer debited, neither credited nor undone | `TransferAbandoned`: the debit returns, the id is forgotten | nothing was credited, and a return breaks no floor |
//! | batch with debits and no commit | a `BatchReturned` for every debit not yet returned, then `BatchAbandoned`: the ids are forgotten | nothing was credited |
//! | batch with a commit | `BatchCredited` for every destination not yet credited: the batch is applied | a commit may have been spent; the one commit that can refuse (a ceiling) is made first, so it passed |
//! | post credited, hold not ended | `HoldEnded`: the rest returns to `from`, the hold is posted | the credit may have been spent |
//!
//! A forgotten id is as if never submitted: its client, which got no answer,
//! retries it and it applies once.

use crate::hash::IdHashBuilder;

/// Maps and sets keyed by ids, hashed as the id tables hash them (replay
/// looks up an account, an id or two per entry: SipHash was a third of it).
type HashMap<K, V> = std::collections::HashMap<K, V, IdHashBuilder>;
type HashSet<K> = std::collections::HashSet<K, IdHashBuilder>;

mod image;
pub(crate) use image::TableImages;

use crate::cell::BALANCE_REPR_MAX;
use crate::journal::{Entry, HoldEnd};
use crate::record_lanes::{Link, Outcome};
use crate::{
    AccountId, AccountOptions, BucketId, BucketPolicy, CredentialId, CredentialSpec, HoldId, HoldRequest,
    HoldState, Rejection, Scopes, Status, TransferId, AMOUNT_MAX, HOLDS_OPEN_MAX,
};

/// A log that does not replay: a valid, checksummed entry whose effect is
/// impossible in the state before it. Never produced by this crate's own
/// writes; refused rather than guessed around.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the journal entry at position {position} cannot apply: {reason}")]
pub(crate) struct Inconsistent {
    pub(crate) position: u64,
    pub(crate) reason: &'static str,
}

/// An account as the log leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecoveredAccount {
    pub(crate) id: AccountId,
    pub(crate) options: AccountOptions,
    pub(crate) balance: i64,
    pub(crate) status: Status,
    /// Lifetime external credits and debits, wrapping (as the cell keeps them).
    pub(crate) entered: u64,
    pub(crate) left: u64,
    /// Open holds on the account, and the sum they hold.
    pub(crate) holds: u32,
    pub(crate) held: u64,
}

/// A credential as the log leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecoveredCredential {
    pub(crate) id: CredentialId,
    pub(crate) spec: CredentialSpec,
    pub(crate) scopes: Scopes,
    pub(crate) revoked: bool,
    /// What its uses have counted against the cap. A use the crash cut
    /// keeps its spend: a cap never refills by restarting.
    pub(crate) spent: u64,
}

/// A refilling bucket as the log leaves it: the word its last take or
/// refund wrote (level and time base), `None` if it was never touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecoveredBucket {
    pub(crate) id: BucketId,
    pub(crate) policy: BucketPolicy,
    pub(crate) origin_ms: u64,
    pub(crate) word: Option<u64>,
}

/// A change to the hold table, in the order the table made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoldEvent {
    /// A hold recorded: open (and the credential that paid for it), or rejected.
    Created(HoldRequest, HoldState, Option<CredentialId>),
    /// An open hold resolved.
    Resolved(HoldId, HoldState),
}

/// An open hold, and the amount its post has credited if the crash cut
/// the post between its credit and its end.
#[derive(Debug, Clone, Copy)]
struct OpenHold {
    request: HoldRequest,
    posted: Option<u64>,
}

/// A decided transfer or leg, for the id table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decided {
    pub(crate) id: TransferId,
    pub(crate) from: AccountId,
    pub(crate) to: AccountId,
    pub(crate) amount: u64,
    pub(crate) link: Link,
    pub(crate) outcome: Outcome,
}

/// One decision in the order the id table took it: a single transfer, or a
/// whole batch (whose shards are prepared for all its legs at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Single(Decided),
    Batch(Vec<Decided>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingTransfer {
    from: AccountId,
    to: AccountId,
    amount: u64,
}

#[derive(Debug, Clone, Default)]
struct PendingBatch {
    legs: Vec<Decided>,
    legs_declared: usize,
    /// Per account: debited, returned and credited so far.
    flows: Vec<(AccountId, u64, u64, u64)>,
    committed: bool,
}

impl PendingBatch {
    fn flow(&mut self, account: AccountId) -> &mut (AccountId, u64, u64, u64) {
        if let Some(index) = self.flows.iter().position(|flow| flow.0 == account) {
            return &mut self.flows[index];
        }
        self.flows.push((account, 0, 0, 0));
        self.flows.last_mut().unwrap_or_else(|| unreachable!("just pushed"))
    }

    /// What each destination is owed in all.
    fn incoming(&self) -> Vec<(AccountId, u64)> {
        let mut incoming: Vec<(AccountId, u64)> = Vec::new();
        for leg in &self.legs {
            match incoming.iter_mut().find(|(account, _)| *account == leg.to) {
                Some((_, total)) => *total += leg.amount,
                None => incoming.push((leg.to, leg.amount)),
            }
        }
        incoming
    }

    fn credited(&self, account: AccountId) -> u64 {
        self.flows.iter().find(|flow| flow.0 == account).map_or(0, |flow| flow.3)
    }

    fn complete(&self) -> bool {
        self.committed
            && self.legs_declared == self.legs.len()
            && self.incoming().iter().all(|(account, total)| self.credited(*account) == *total)
    }
}

/// The state a log leaves, built entry by entry.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    accounts: Vec<RecoveredAccount>,
    index: HashMap<AccountId, usize>,
    decisions: Vec<Decision>,
    transfers: HashMap<TransferId, PendingTransfer>,
    batches: HashMap<TransferId, PendingBatch>,
    holds: HashMap<HoldId, OpenHold>,
    hold_events: Vec<HoldEvent>,
    /// Every transfer or leg id that has a record, and every hold id: an
    /// id is decided once (a forgotten one is refused as expired, never
    /// decided again).
    transfer_ids_seen: HashSet<TransferId>,
    hold_ids_seen: HashSet<HoldId>,
    credentials: Vec<RecoveredCredential>,
    credential_index: HashMap<CredentialId, usize>,
    buckets: Vec<RecoveredBucket>,
    bucket_index: HashMap<BucketId, usize>,
    /// Entries applied.
    pub(crate) entries: u64,
    /// The checkpoint replay started from: its position (0 without one),
    /// and its id tables' images, which the ledger installs before the
    /// decisions since.
    base_position: u64,
    base: TableImages,
}

type Step = Result<(), &'static str>;

impl Replayed {
    pub(crate) fn accounts(&self) -> &[RecoveredAccount] {
        &self.accounts
    }

    pub(crate) fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    pub(crate) fn hold_events(&self) -> &[HoldEvent] {
        &self.hold_events
    }

    pub(crate) fn credentials(&self) -> &[RecoveredCredential] {
        &self.credentials
    }

    pub(crate) fn buckets(&self) -> &[RecoveredBucket] {
        &self.buckets
    }

    /// The position of the checkpoint replay started from (0 without one):
    /// the first entry it applies.
    pub(crate) fn base_position(&self) -> u64 {
        self.base_position
    }

    /// The id tables as the checkpoint left them (empty without one).
    pub(crate) fn base_images(&self) -> &TableImages {
        &self.base
    }

    /// Applies the entry at `position`.
    pub(crate) fn apply(&mut self, position: u64, entry: &Entry) -> Result<(), Inconsistent> {
        if position < self.base_position {
            return Err(Inconsistent { position, reason: "an entry the checkpoint already holds" });
        }
        self.entries += 1;
        self.step(entry).map_err(|reason| Inconsistent { position, reason })
    }

    fn step(&mut self, entry: &Entry) -> Step {
        match *entry {
            Entry::AccountOpened { account, options } => self.open(account, options),
            Entry::Credited { account, amount } => {
                check_amount(amount)?;
                self.add_checked(account, amount)?;
                let account = self.account(account)?;
                account.entered = account.entered.wrapping_add(amount);
                Ok(())
            }
            Entry::Debited { account, amount } => {
                check_amount(amount)?;
                self.subtract(account, amount)?;
                let account = self.account(account)?;
                account.left = account.left.wrapping_add(amount);
                Ok(())
            }
            Entry::StatusSet { account, status } => self.set_status(account, status),
            Entry::TransferDebited { id, from, to, amount } => {
                check_amount(amount)?;
                self.check_pair(from, to)?;
                self.first_sight(id)?;
                if self.transfers.insert(id, PendingTransfer { from, to, amount }).is_some() {
                    return Err("a transfer debited twice");
                }
                self.subtract(from, amount)
            }
            Entry::TransferCredited { id, from, to, amount } => {
                let pending =
                    self.settle(id, PendingTransfer { from, to, amount }, "a credit without its debit")?;
                self.add_checked(pending.to, pending.amount)?;
                self.decide_single(id, pending, Outcome::Applied);
                Ok(())
            }
            Entry::TransferUndone { id, from, to, amount, reason } => {
                let pending =
                    self.settle(id, PendingTransfer { from, to, amount }, "an undo without its debit")?;
                self.add(pending.from, pending.amount)?;
                self.decide_single(id, pending, Outcome::Rejected(reason));
                Ok(())
            }
            Entry::TransferRejected { id, from, to, amount, reason } => {
                check_amount(amount)?;
                self.check_pair(from, to)?;
                self.first_sight(id)?;
                self.decide_single(id, PendingTransfer { from, to, amount }, Outcome::Rejected(reason));
                Ok(())
            }
            Entry::TransferAbandoned { id, from, to, amount } => {
                let pending =
                    self.settle(id, PendingTransfer { from, to, amount }, "an abandon without its debit")?;
                self.transfer_ids_seen.remove(&id); // forgotten: its retry may be recorded
                self.add(pending.from, pending.amount)
            }
            Entry::LegDeclared { id, first, legs, index, from, to, amount } => {
                self.declare_leg(id, first, legs, index, (from, to, amount))
            }
            Entry::BatchDebited { first, account, amount } => {
                self.batch_flow(first, account, amount, |flow| flow.1 += amount)?;
                self.subtract(account, amount)
            }
            Entry::BatchReturned { first, account, amount } => {
                self.batch_flow(first, account, amount, |flow| flow.2 += amount)?;
                self.add(account, amount)
            }
            Entry::BatchCredited { first, account, amount } => {
                self.batch_flow(first, account, amount, |flow| flow.3 += amount)?;
                self.batch(first)?.committed = true;
                // The batch's one commit to an account with a ceiling is the
                // checked one; the others land in the word's headroom.
                if self.account(account)?.options.ceiling.is_some() {
                    self.add_checked(account, amount)?;
                } else {
                    self.add(account, amount)?;
                }
                self.decide_batch_if_complete(first)
            }
            Entry::BatchRejected { first, failed_index, reason } => {
                self.reject_batch(first, failed_index, reason)
            }
            Entry::BatchAbandoned { first } => self.abandon_batch(first),
            Entry::HoldPlaced { id, from, to, amount, expires_at_ms, charged } => {
                if let Some(credential) = charged {
                    self.credential(credential)?;
                }
                self.place_hold(HoldRequest { id, from, to, amount, expires_at_ms }, charged)
            }
            Entry::HoldRejected { id, from, to, amount, expires_at_ms, reason } => {
                check_amount(amount)?;
                self.check_pair(from, to)?;
                if self.base.hold_expired(id.0) || !self.hold_ids_seen.insert(id) {
                    return Err("a hold id recorded twice");
                }
                let request = HoldRequest { id, from, to, amount, expires_at_ms };
                self.hold_events.push(HoldEvent::Created(request, HoldState::Rejected(reason), None));
                Ok(())
            }
            Entry::HoldPostCredited { id, from, to, amount } => {
                let hold = self.holds.get_mut(&id).ok_or("a post of a hold that is not open")?;
                if (from, to) != (hold.request.from, hold.request.to) {
                    return Err("a post names other accounts than its hold");
                }
                if hold.posted.is_some() || amount == 0 || amount > hold.request.amount {
                    return Err("a post credit out of range");
                }
                hold.posted = Some(amount);
                let to = hold.request.to;
                self.add_checked(to, amount)
            }
            Entry::HoldEnded { id, from, to, end, returned } => self.end_hold(id, (from, to), end, returned),
            Entry::CredentialIssued { id, spec } => self.issue(id, spec),
            Entry::CredentialSpent { id, amount } => {
                let credential = self.credential(id)?;
                credential.spent = credential.spent.checked_add(amount).ok_or("a spend out of range")?;
                Ok(())
            }
            Entry::CredentialReturned { id, amount } => {
                let credential = self.credential(id)?;
                credential.spent =
                    credential.spent.checked_sub(amount).ok_or("more given back than spent")?;
                Ok(())
            }
            Entry::CredentialRevoked { id } => {
                self.credential(id)?.revoked = true;
                Ok(())
            }
            Entry::CredentialDowngraded { id, scopes } => {
                let credential = self.credential(id)?;
                if !credential.scopes.contains(scopes) {
                    return Err("a downgrade that widens the scopes");
                }
                credential.scopes = scopes;
                Ok(())
            }
            Entry::BucketOpened { id, policy, origin_ms } => {
                if id.is_reserved() || self.bucket_index.contains_key(&id) {
                    return Err("a bucket opened twice, or a reserved id");
                }
                crate::quota::check_policy(&policy).map_err(|_| "a bucket policy out of range")?;
                self.bucket_index.insert(id, self.buckets.len());
                self.buckets.push(RecoveredBucket { id, policy, origin_ms, word: None });
                Ok(())
            }
            Entry::BucketSet { id, word } => {
                let index = *self.bucket_index.get(&id).ok_or("an entry names a bucket never opened")?;
                self.buckets[index].word = Some(word);
                Ok(())
            }
        }
    }

    /// The first record of transfer (or leg) `id`.
    fn first_sight(&mut self, id: TransferId) -> Step {
        if id.is_reserved() || self.base.transfer_expired(id.0) || !self.transfer_ids_seen.insert(id) {
            return Err("a transfer id recorded twice, or a reserved one");
        }
        Ok(())
    }

    /// Two accounts money may move between: both opened, distinct, of one asset.
    fn check_pair(&mut self, from: AccountId, to: AccountId) -> Step {
        let from_asset = self.account(from)?.options.asset;
        if from == to || self.account(to)?.options.asset != from_asset {
            return Err("money moved between one account, or across assets");
        }
        Ok(())
    }

    fn account(&mut self, id: AccountId) -> Result<&mut RecoveredAccount, &'static str> {
        let index = *self.index.get(&id).ok_or("an entry names an account never opened")?;
        Ok(&mut self.accounts[index])
    }

    fn open(&mut self, id: AccountId, options: AccountOptions) -> Step {
        if id.is_reserved() || self.index.contains_key(&id) {
            return Err("an account opened twice, or a reserved id");
        }
        if options.floor.lowest_balance() < crate::FLOOR_MIN
            || options.ceiling.is_some_and(|ceiling| ceiling > crate::BALANCE_MAX as u64)
        {
            return Err("account options out of range");
        }
        self.index.insert(id, self.accounts.len());
        let status = Status::Open;
        self.accounts.push(RecoveredAccount {
            id,
            options,
            balance: 0,
            status,
            entered: 0,
            left: 0,
            holds: 0,
            held: 0,
        });
        Ok(())
    }

    fn add(&mut self, id: AccountId, amount: u64) -> Step {
        let account = self.account(id)?;
        if account.status == Status::Closed {
            return Err("a credit to a closed account");
        }
        let balance = account.balance + amount as i64; // amount ≤ AMOUNT_MAX: no overflow
        if balance > BALANCE_REPR_MAX {
            return Err("a balance above what an account can hold");
        }
        account.balance = balance;
        Ok(())
    }

    /// A credit the cell checks against the ceiling ([`crate::BALANCE_MAX`]
    /// without one): an external credit, a transfer's credit, a batch's
    /// checked commit. Returns (undos, voids, a batch's unchecked commits)
    /// are not checked, as the cell does not check them.
    fn add_checked(&mut self, id: AccountId, amount: u64) -> Step {
        let account = self.account(id)?;
        let ceiling = account.options.ceiling.map_or(crate::BALANCE_MAX, |ceiling| ceiling as i64);
        if account.balance + amount as i64 > ceiling {
            return Err("a checked credit above the ceiling");
        }
        self.add(id, amount)
    }

    fn subtract(&mut self, id: AccountId, amount: u64) -> Step {
        let account = self.account(id)?;
        if account.status != Status::Open {
            return Err("a debit of a frozen or closed account");
        }
        let balance = account.balance - amount as i64;
        if balance < account.options.floor.lowest_balance() {
            return Err("a debit below the floor");
        }
        account.balance = balance;
        Ok(())
    }

    fn set_status(&mut self, id: AccountId, status: Status) -> Step {
        let pinned = self.pinned(id);
        let account = self.account(id)?;
        if account.status == Status::Closed {
            return Err("a status change of a closed account");
        }
        if status == Status::Closed && (account.balance != 0 || pinned || account.holds > 0) {
            return Err("a close with money, a transfer or an open hold in the account");
        }
        account.status = status;
        Ok(())
    }

    /// Whether a pending transfer or batch has money out of `id` (a close
    /// then would strand it; the word's pin forbids it). A destination is
    /// not checked: a transfer's may close before its credit, which is then
    /// refused, and a credit to a closed account is refused by replay.
    fn pinned(&self, id: AccountId) -> bool {
        self.transfers.values().any(|pending| pending.from == id)
            || self
                .batches
                .values()
                .any(|batch| batch.flows.iter().any(|flow| flow.0 == id && flow.1 > flow.2))
    }

    fn credential(&mut self, id: CredentialId) -> Result<&mut RecoveredCredential, &'static str> {
        let index = *self.credential_index.get(&id).ok_or("an entry names a credential never issued")?;
        Ok(&mut self.credentials[index])
    }

    fn issue(&mut self, id: CredentialId, spec: CredentialSpec) -> Step {
        if id.is_reserved() || self.credential_index.contains_key(&id) {
            return Err("a credential issued twice, or a reserved id");
        }
        self.account(spec.account)?;
        if [spec.amount_max_per_op, spec.spend_cap]
            .into_iter()
            .flatten()
            .any(|cap| cap == 0 || cap > AMOUNT_MAX)
        {
            return Err("a credential cap out of range");
        }
        if spec.rate_limit.is_some_and(|bucket| !self.bucket_index.contains_key(&bucket)) {
            return Err("a credential limited by a bucket never opened");
        }
        self.credential_index.insert(id, self.credentials.len());
        let scopes = spec.scopes;
        self.credentials.push(RecoveredCredential { id, spec, scopes, revoked: false, spent: 0 });
        Ok(())
    }

    fn place_hold(&mut self, request: HoldRequest, charged: Option<CredentialId>) -> Step {
        check_amount(request.amount)?;
        self.check_pair(request.from, request.to)?;
        if self.base.hold_expired(request.id.0) || !self.hold_ids_seen.insert(request.id) {
            return Err("a hold id recorded twice");
        }
        self.subtract(request.from, request.amount)?;
        let account = self.account(request.from)?;
        if account.holds >= HOLDS_OPEN_MAX {
            return Err("more open holds than an account may have");
        }
        account.holds += 1;
        account.held += request.amount;
        self.holds.insert(request.id, OpenHold { request, posted: None });
        self.hold_events.push(HoldEvent::Created(request, HoldState::Open, charged));
        Ok(())
    }

    fn end_hold(
        &mut self,
        id: HoldId,
        accounts: (AccountId, AccountId),
        end: HoldEnd,
        returned: u64,
    ) -> Step {
        let hold = self.holds.remove(&id).ok_or("the end of a hold that is not open")?;
        if accounts != (hold.request.from, hold.request.to) {
            return Err("a hold's end names other accounts than the hold");
        }
        let amount = hold.request.amount;
        let state = match (end, hold.posted) {
            (HoldEnd::Posted { amount: posted }, Some(credited)) if posted == credited => {
                HoldState::Posted { amount: posted }
            }
            (HoldEnd::Voided, None) => HoldState::Voided,
            (HoldEnd::Expired, None) => HoldState::Expired,
            _ => return Err("a hold's end does not match its post"),
        };
        let posted = if let HoldState::Posted { amount } = state { amount } else { 0 };
        if returned != amount - posted {
            return Err("a hold returned other than what it held less what it posted");
        }
        let account = self.account(hold.request.from)?;
        account.holds -= 1;
        account.held -= amount;
        if returned > 0 {
            self.add(hold.request.from, returned)?;
        }
        self.hold_events.push(HoldEvent::Resolved(id, state));
        Ok(())
    }

    /// Takes transfer `id` out of those in flight; its settling entry must
    /// repeat the debit's accounts and amount.
    fn settle(
        &mut self,
        id: TransferId,
        named: PendingTransfer,
        missing: &'static str,
    ) -> Result<PendingTransfer, &'static str> {
        let pending = self.transfers.remove(&id).ok_or(missing)?;
        if pending != named {
            return Err("a transfer settled with other accounts or amount than its debit");
        }
        Ok(pending)
    }

    fn decide_single(&mut self, id: TransferId, pending: PendingTransfer, outcome: Outcome) {
        let PendingTransfer { from, to, amount } = pending;
        self.decisions.push(Decision::Single(Decided { id, from, to, amount, link: Link::Single, outcome }));
    }

    fn batch(&mut self, first: TransferId) -> Result<&mut PendingBatch, &'static str> {
        self.batches.get_mut(&first).ok_or("a batch step before the batch was declared")
    }

    fn declare_leg(
        &mut self,
        id: TransferId,
        first: TransferId,
        legs: u8,
        index: u8,
        (from, to, amount): (AccountId, AccountId, u64),
    ) -> Step {
        check_amount(amount)?;
        self.check_pair(from, to)?;
        self.first_sight(id)?;
        if legs == 0 || usize::from(legs) > crate::LINKED_LEGS_MAX || index >= legs {
            return Err("a leg out of range");
        }
        if index == 0 && (id != first || self.batches.contains_key(&first)) {
            return Err("a batch declared twice, or not by its first leg");
        }
        let batch = self.batches.entry(first).or_default();
        if usize::from(index) != batch.legs_declared {
            return Err("legs declared out of order");
        }
        let link = Link::Leg { first, legs, index };
        batch.legs.push(Decided { id, from, to, amount, link, outcome: Outcome::Applied });
        batch.legs_declared += 1;
        Ok(())
    }

    fn batch_flow(
        &mut self,
        first: TransferId,
        account: AccountId,
        amount: u64,
        change: impl FnOnce(&mut (AccountId, u64, u64, u64)),
    ) -> Step {
        if amount > AMOUNT_MAX {
            return Err("an amount out of range");
        }
        let batch = self.batch(first)?;
        if batch.legs_declared != batch.legs.first().map_or(0, |leg| leg_count(leg.link)) {
            return Err("a batch step before every leg was declared");
        }
        if !batch.legs.iter().any(|leg| leg.from == account || leg.to == account) {
            return Err("a batch step on an account no leg names");
        }
        let flow = batch.flow(account);
        change(flow);
        let (_, debited, returned, credited) = *flow;
        if returned > debited || debited.max(credited) > AMOUNT_MAX {
            return Err("a batch moved more than it may");
        }
        Ok(())
    }

    fn decide_batch_if_complete(&mut self, first: TransferId) -> Step {
        if self.batch(first)?.complete() {
            let batch = self.batches.remove(&first).ok_or("a batch vanished")?;
            self.decisions.push(Decision::Batch(batch.legs));
        }
        Ok(())
    }

    fn reject_batch(&mut self, first: TransferId, failed_index: u8, reason: Rejection) -> Step {
        let batch = self.batches.remove(&first).ok_or("a batch rejected before it was declared")?;
        if batch.committed || batch.flows.iter().any(|flow| flow.1 != flow.2) {
            return Err("a batch rejected with money still out");
        }
        if usize::from(failed_index) >= batch.legs.len() || batch.legs_declared != batch.legs.len() {
            return Err("a rejected batch's failing leg is out of range");
        }
        let legs = batch
            .legs
            .into_iter()
            .enumerate()
            .map(|(index, leg)| {
                let outcome = if index == usize::from(failed_index) {
                    Outcome::Rejected(reason)
                } else {
                    Outcome::LinkedLegFailed { failed_index }
                };
                Decided { outcome, ..leg }
            })
            .collect();
        self.decisions.push(Decision::Batch(legs));
        Ok(())
    }

    fn abandon_batch(&mut self, first: TransferId) -> Step {
        let batch = self.batches.remove(&first).ok_or("an abandoned batch was never declared")?;
        if batch.committed {
            return Err("a committed batch abandoned");
        }
        for leg in &batch.legs {
            self.transfer_ids_seen.remove(&leg.id); // forgotten: a retry may be recorded
        }
        // Recovery returns each debit in its own `BatchReturned` first (every
        // entry names the money it moves): money still out is a bad log.
        if batch.flows.iter().any(|&(_, debited, returned, _)| debited != returned) {
            return Err("a batch abandoned with debits not returned");
        }
        Ok(())
    }

    /// The entries that settle every operation the log leaves cut (module
    /// docs), in a deterministic order.
    pub(crate) fn completions(&self) -> Vec<Entry> {
        let mut transfers: Vec<(&TransferId, &PendingTransfer)> = self.transfers.iter().collect();
        transfers.sort_unstable_by_key(|(id, _)| **id);
        let mut completions: Vec<Entry> = transfers
            .into_iter()
            .map(|(&id, &PendingTransfer { from, to, amount })| Entry::TransferAbandoned {
                id,
                from,
                to,
                amount,
            })
            .collect();
        let mut batches: Vec<(&TransferId, &PendingBatch)> = self.batches.iter().collect();
        batches.sort_unstable_by_key(|(first, _)| **first);
        for (&first, batch) in batches {
            if !batch.committed {
                // Each debit's return recorded on its own, so that every
                // entry names the money it moves (the change stream's rule).
                for &(account, debited, returned, _) in &batch.flows {
                    if debited > returned {
                        completions.push(Entry::BatchReturned { first, account, amount: debited - returned });
                    }
                }
                completions.push(Entry::BatchAbandoned { first });
                continue;
            }
            for (account, total) in batch.incoming() {
                let owed = total - batch.credited(account).min(total);
                if owed > 0 {
                    completions.push(Entry::BatchCredited { first, account, amount: owed });
                }
            }
        }
        let mut posts: Vec<(&HoldId, &OpenHold)> =
            self.holds.iter().filter(|(_, hold)| hold.posted.is_some()).collect();
        posts.sort_unstable_by_key(|(id, _)| **id);
        for (&id, hold) in posts {
            let amount = hold.posted.unwrap_or(0);
            let returned = hold.request.amount - amount;
            let HoldRequest { from, to, .. } = hold.request;
            completions.push(Entry::HoldEnded { id, from, to, end: HoldEnd::Posted { amount }, returned });
        }
        completions
    }
}

fn leg_count(link: Link) -> usize {
    match link {
        Link::Leg { legs, .. } => usize::from(legs),
        Link::Single => 1,
    }
}

fn check_amount(amount: u64) -> Step {
    if amount == 0 || amount > AMOUNT_MAX {
        return Err("an amount out of range");
    }
    Ok(())
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
