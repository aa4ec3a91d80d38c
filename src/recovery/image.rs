//! A checkpoint's body: the state replay has reached at a position, and
//! what the id tables remember there, encoded so that replay can start
//! again from it.
//!
//! # Implementation details
//!
//! The id tables are kept as **images** (each shard's low-water mark and
//! its remembered records), not as the decisions that built them: a
//! table's contents are bounded by its limit, the decisions are not. The
//! images come from a table the checkpointer fills with the decisions, in
//! the order the live table took them (see `Ledger::restore`), so they
//! are what the live table held after exactly those decisions.
//!
//! Everything else replay keeps is bounded too: the accounts, credentials
//! and buckets (by the ledger's limits), the operations still in flight at
//! the position (transfers and batches between their first and last record,
//! open holds with a post's credit), and nothing more. Layout, in order,
//! little-endian, each list preceded by its length as a `u64`
//! (`docs/journal.md`, "Checkpoints"): accounts, credentials, buckets,
//! transfers in flight, batches in flight, open holds, the transfer-id
//! image, the hold image. Decoding never panics and never trusts a length
//! to allocate: a body that is short, long or out of range is refused.

use super::{
    Decided, HashMap, HashSet, OpenHold, PendingBatch, PendingTransfer, RecoveredAccount, RecoveredBucket,
    RecoveredCredential, Replayed,
};
use crate::hold::RestoredHold;
use crate::id_table::shard_of;
use crate::journal::{DecodeError, Reader, Writer};
use crate::record_lanes::{Link, Outcome};
use crate::{BucketPolicy, HoldRequest, HoldState, Status};

/// Decode errors name this in place of a record kind.
const BODY: u8 = 0;
/// Room for the largest item (a hold with a rejection: 139 bytes).
const ITEM_BYTES_MAX: usize = 192;
type ItemWriter = Writer<ITEM_BYTES_MAX>;

/// What the id tables remember at a checkpoint: each shard's low-water
/// mark (one per shard of the table that wrote it), and the records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TableImages {
    pub(crate) transfer_marks: Vec<u128>,
    pub(crate) transfers: Vec<Decided>,
    pub(crate) hold_marks: Vec<u128>,
    pub(crate) holds: Vec<RestoredHold>,
}

impl TableImages {
    /// Whether transfer id `id` is at or below its shard's mark: refused by
    /// the table that took the checkpoint's decisions, so never recorded after.
    pub(super) fn transfer_expired(&self, id: u128) -> bool {
        expired(&self.transfer_marks, id)
    }

    pub(super) fn hold_expired(&self, id: u128) -> bool {
        expired(&self.hold_marks, id)
    }
}

fn expired(marks: &[u128], id: u128) -> bool {
    !marks.is_empty() && marks.len().is_power_of_two() && id <= marks[shard_of(id, marks.len())]
}

impl Replayed {
    /// The state a checkpoint at `position` holds, with `images` (the id
    /// tables after this replay's decisions), encoded.
    pub(crate) fn encode_checkpoint(&self, images: &TableImages) -> Vec<u8> {
        let mut out = Vec::new();
        list(&mut out, &self.accounts, |w, account| {
            w.account(account.id).options(account.options).i64(account.balance);
            w.status(account.status).u64(account.entered).u64(account.left);
            w.u32(account.holds).u64(account.held);
        });
        list(&mut out, &self.credentials, |w, credential| {
            w.credential(credential.id).spec(credential.spec).u8(credential.scopes.bits());
            w.u8(u8::from(credential.revoked)).u64(credential.spent);
        });
        list(&mut out, &self.buckets, |w, bucket| {
            let BucketPolicy { capacity, refill_amount, refill_interval_ms } = bucket.policy;
            w.bucket(bucket.id).u64(capacity).u64(refill_amount).u64(refill_interval_ms);
            w.u64(bucket.origin_ms).optional(bucket.word);
        });
        let mut transfers: Vec<_> = self.transfers.iter().collect();
        transfers.sort_unstable_by_key(|(id, _)| **id);
        list(&mut out, &transfers, |w, (id, pending)| {
            w.id(**id).account(pending.from).account(pending.to).u64(pending.amount);
        });
        let mut batches: Vec<_> = self.batches.iter().collect();
        batches.sort_unstable_by_key(|(first, _)| **first);
        put_u64(&mut out, batches.len());
        for (first, batch) in batches {
            item(&mut out, |w| {
                w.id(*first).u64(batch.legs_declared as u64).u8(u8::from(batch.committed));
            });
            list(&mut out, &batch.legs, put_decided);
            list(&mut out, &batch.flows, |w, (account, debited, returned, credited)| {
                w.account(*account).u64(*debited).u64(*returned).u64(*credited);
            });
        }
        let mut holds: Vec<_> = self.holds.values().collect();
        holds.sort_unstable_by_key(|hold| hold.request.id);
        list(&mut out, &holds, |w, hold| {
            put_request(w, &hold.request);
            w.optional(hold.posted);
        });
        list(&mut out, &images.transfer_marks, |w, mark| {
            w.u128(*mark);
        });
        list(&mut out, &images.transfers, put_decided);
        list(&mut out, &images.hold_marks, |w, mark| {
            w.u128(*mark);
        });
        list(&mut out, &images.holds, |w, (request, state, charged)| {
            put_request(w, request);
            put_hold_state(w, *state);
            w.optional_u128(charged.map(|credential| credential.0));
        });
        out
    }

    /// Replay's state at a checkpoint whose body is `body`: the state to
    /// continue from, with the checkpoint's id-table images.
    pub(crate) fn decode_checkpoint(position: u64, body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(BODY, body);
        let mut replayed = Replayed { base_position: position, ..Replayed::default() };
        for _ in 0..count(&mut r)? {
            let account = read_account(&mut r)?;
            if replayed.index.insert(account.id, replayed.accounts.len()).is_some() {
                return Err(r.error("an account twice in a checkpoint"));
            }
            replayed.accounts.push(account);
        }
        for _ in 0..count(&mut r)? {
            let id = r.credential()?;
            let spec = r.spec()?;
            let scopes = r.scopes()?;
            let revoked = read_bool(&mut r)?;
            let credential = RecoveredCredential { id, spec, scopes, revoked, spent: r.u64()? };
            if replayed.credential_index.insert(id, replayed.credentials.len()).is_some() {
                return Err(r.error("a credential twice in a checkpoint"));
            }
            replayed.credentials.push(credential);
        }
        for _ in 0..count(&mut r)? {
            let id = r.bucket()?;
            let policy =
                BucketPolicy { capacity: r.u64()?, refill_amount: r.u64()?, refill_interval_ms: r.u64()? };
            let bucket = RecoveredBucket { id, policy, origin_ms: r.u64()?, word: r.optional()? };
            if replayed.bucket_index.insert(id, replayed.buckets.len()).is_some() {
                return Err(r.error("a bucket twice in a checkpoint"));
            }
            replayed.buckets.push(bucket);
        }
        for _ in 0..count(&mut r)? {
            let id = r.id()?;
            let pending = PendingTransfer { from: r.account()?, to: r.account()?, amount: r.u64()? };
            replayed.transfer_ids_seen.insert(id);
            if replayed.transfers.insert(id, pending).is_some() {
                return Err(r.error("a transfer twice in a checkpoint"));
            }
        }
        for _ in 0..count(&mut r)? {
            let first = r.id()?;
            let legs_declared = usize::try_from(r.u64()?).map_err(|_| r.error("a leg count out of range"))?;
            let committed = read_bool(&mut r)?;
            let mut batch = PendingBatch { legs_declared, committed, ..PendingBatch::default() };
            for _ in 0..count(&mut r)? {
                let leg = read_decided(&mut r)?;
                replayed.transfer_ids_seen.insert(leg.id);
                batch.legs.push(leg);
            }
            for _ in 0..count(&mut r)? {
                batch.flows.push((r.account()?, r.u64()?, r.u64()?, r.u64()?));
            }
            if replayed.batches.insert(first, batch).is_some() {
                return Err(r.error("a batch twice in a checkpoint"));
            }
        }
        for _ in 0..count(&mut r)? {
            let request = read_request(&mut r)?;
            let hold = OpenHold { request, posted: r.optional()? };
            if replayed.holds.insert(request.id, hold).is_some() {
                return Err(r.error("a hold twice in a checkpoint"));
            }
        }
        let images = &mut replayed.base;
        for _ in 0..count(&mut r)? {
            images.transfer_marks.push(r.u128()?);
        }
        for _ in 0..count(&mut r)? {
            images.transfers.push(read_decided(&mut r)?);
        }
        for _ in 0..count(&mut r)? {
            images.hold_marks.push(r.u128()?);
        }
        for _ in 0..count(&mut r)? {
            let request = read_request(&mut r)?;
            let state = read_hold_state(&mut r)?;
            let charged = r.optional_u128()?.map(crate::CredentialId);
            images.holds.push((request, state, charged));
        }
        if !r.is_empty() {
            return Err(r.error("bytes after the checkpoint's last list"));
        }
        for marks in [&replayed.base.transfer_marks, &replayed.base.hold_marks] {
            if !marks.is_empty() && !marks.len().is_power_of_two() {
                return Err(r.error("a shard count that is not a power of two"));
            }
        }
        replayed.check_base().map_err(|reason| r.error(reason))?;
        let transfer_ids: Vec<_> = replayed.base.transfers.iter().map(|decided| decided.id).collect();
        replayed.transfer_ids_seen.extend(transfer_ids);
        replayed.hold_ids_seen.extend(replayed.base.holds.iter().map(|(request, ..)| request.id));
        Ok(replayed)
    }
}

impl Replayed {
    /// Checks a decoded checkpoint as replay checks entries: every value in
    /// range, every name known. Its checksum verified, so this refuses only
    /// a body this crate did not write, but bytes from disk never reach an
    /// assertion unchecked.
    fn check_base(&mut self) -> Result<(), &'static str> {
        let accounts = std::mem::take(&mut self.accounts);
        self.index.clear();
        for account in &accounts {
            self.open(account.id, account.options)?;
            let lowest = account.options.floor.lowest_balance();
            if !(lowest..=crate::cell::BALANCE_REPR_MAX).contains(&account.balance)
                || account.holds > crate::HOLDS_OPEN_MAX
                || (account.status == Status::Closed && (account.balance != 0 || account.holds > 0))
            {
                return Err("an account's balance, holds or status out of range");
            }
        }
        self.accounts = accounts;
        for bucket in &self.buckets {
            crate::quota::check_policy(&bucket.policy).map_err(|_| "a bucket policy out of range")?;
        }
        for index in 0..self.credentials.len() {
            let RecoveredCredential { spec, scopes, spent, .. } = self.credentials[index];
            self.account(spec.account)?;
            if spec.rate_limit.is_some_and(|bucket| !self.bucket_index.contains_key(&bucket))
                || [spec.amount_max_per_op, spec.spend_cap]
                    .into_iter()
                    .flatten()
                    .any(|cap| cap == 0 || cap > crate::AMOUNT_MAX)
                || !spec.scopes.contains(scopes)
                || spent > crate::AMOUNT_MAX
            {
                return Err("a credential out of range");
            }
        }
        let pairs: Vec<_> = self
            .transfers
            .values()
            .map(|pending| (pending.from, pending.to, pending.amount))
            .chain(
                self.batches
                    .values()
                    .flat_map(|batch| batch.legs.iter().map(|leg| (leg.from, leg.to, leg.amount))),
            )
            .chain(self.holds.values().map(|hold| (hold.request.from, hold.request.to, hold.request.amount)))
            .chain(self.base.transfers.iter().map(|decided| (decided.from, decided.to, decided.amount)))
            .chain(self.base.holds.iter().map(|(request, ..)| (request.from, request.to, request.amount)))
            .collect();
        for (from, to, amount) in pairs {
            super::check_amount(amount)?;
            self.check_pair(from, to)?;
        }
        for batch in self.batches.values() {
            let legs_max = batch.legs.first().map_or(0, |leg| super::leg_count(leg.link));
            if batch.legs_declared != batch.legs.len() || batch.legs.len() > legs_max {
                return Err("a batch's legs out of range");
            }
            for &(account, debited, returned, credited) in &batch.flows {
                if !self.index.contains_key(&account)
                    || returned > debited
                    || debited.max(credited) > crate::AMOUNT_MAX
                {
                    return Err("a batch moved more than it may");
                }
            }
        }
        for hold in self.holds.values() {
            if hold.posted.is_some_and(|posted| posted == 0 || posted > hold.request.amount) {
                return Err("a post credit out of range");
            }
        }
        self.check_holds()?;
        self.check_conservation()
    }

    /// Every id once; the open holds are the image's open records, and each
    /// account's open-hold count and held sum are theirs.
    fn check_holds(&self) -> Result<(), &'static str> {
        let mut transfer_ids = HashSet::default();
        let pending = self.transfers.keys().copied();
        let legs = self.batches.values().flat_map(|batch| batch.legs.iter().map(|leg| leg.id));
        for id in pending.chain(legs).chain(self.base.transfers.iter().map(|decided| decided.id)) {
            if id.is_reserved() || !transfer_ids.insert(id) {
                return Err("a transfer id twice in a checkpoint, or a reserved one");
            }
        }
        let mut hold_ids = HashSet::default();
        let mut open = 0;
        for (request, state, _) in &self.base.holds {
            if request.id.is_reserved() || !hold_ids.insert(request.id) {
                return Err("a hold id twice in a checkpoint, or a reserved one");
            }
            let is_open = *state == HoldState::Open;
            if is_open != self.holds.contains_key(&request.id) {
                return Err("an open hold the hold table does not hold open");
            }
            open += usize::from(is_open);
        }
        if open != self.holds.len() {
            return Err("an open hold the hold table does not remember");
        }
        let mut per_account: HashMap<crate::AccountId, (u32, u64)> = HashMap::default();
        for hold in self.holds.values() {
            let (count, held) = per_account.entry(hold.request.from).or_default();
            *count += 1;
            *held = held.checked_add(hold.request.amount).ok_or("holds out of range")?;
        }
        for account in &self.accounts {
            if per_account.get(&account.id).copied().unwrap_or_default() != (account.holds, account.held) {
                return Err("an account's open holds are not the holds open on it");
            }
        }
        Ok(())
    }

    /// Per asset: the money in the accounts (balances and holds) and in
    /// flight (debited, not yet credited or returned) is what entered less
    /// what left, as replay keeps it (wrapping, as the counters do).
    fn check_conservation(&self) -> Result<(), &'static str> {
        let mut net: HashMap<crate::Asset, u64> = HashMap::default();
        let asset = |id| self.index.get(&id).map(|&index| self.accounts[index].options.asset);
        let mut add = |account, amount: u64| {
            if let Some(asset) = asset(account) {
                let total = net.entry(asset).or_default();
                *total = total.wrapping_add(amount);
            }
        };
        for account in &self.accounts {
            add(
                account.id,
                (account.balance as u64).wrapping_add(account.held).wrapping_sub(account.entered),
            );
            add(account.id, account.left);
        }
        for pending in self.transfers.values() {
            add(pending.from, pending.amount);
        }
        for hold in self.holds.values() {
            // A post's credit is in `to`, and still in `from`'s held sum.
            add(hold.request.to, 0u64.wrapping_sub(hold.posted.unwrap_or(0)));
        }
        for batch in self.batches.values() {
            for &(account, debited, returned, credited) in &batch.flows {
                add(account, debited.wrapping_sub(returned).wrapping_sub(credited));
            }
        }
        if net.values().any(|&total| total != 0) {
            return Err("money not conserved: the accounts do not hold what entered less what left");
        }
        Ok(())
    }
}

/// Appends one item, built in a payload-sized writer.
fn item(out: &mut Vec<u8>, write: impl FnOnce(&mut ItemWriter)) {
    let mut writer = ItemWriter::new();
    write(&mut writer);
    out.extend_from_slice(writer.bytes());
}

fn put_u64(out: &mut Vec<u8>, value: usize) {
    out.extend_from_slice(&(value as u64).to_le_bytes());
}

/// Appends `items`' length, then each item.
fn list<T>(out: &mut Vec<u8>, items: &[T], mut write: impl FnMut(&mut ItemWriter, &T)) {
    put_u64(out, items.len());
    for element in items {
        item(out, |writer| write(writer, element));
    }
}

fn count(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    r.u64()
}

fn read_bool(r: &mut Reader<'_>) -> Result<bool, DecodeError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(r.error("a flag other than 0 or 1")),
    }
}

fn read_account(r: &mut Reader<'_>) -> Result<RecoveredAccount, DecodeError> {
    let id = r.account()?;
    let options = r.options()?;
    let balance = r.i64()?;
    let status: Status = r.status()?;
    Ok(RecoveredAccount {
        id,
        options,
        balance,
        status,
        entered: r.u64()?,
        left: r.u64()?,
        holds: r.u32()?,
        held: r.u64()?,
    })
}

fn put_decided(w: &mut ItemWriter, decided: &Decided) {
    w.id(decided.id).account(decided.from).account(decided.to).u64(decided.amount);
    match decided.link {
        Link::Single => w.u8(0).u128(0).u8(0).u8(0),
        Link::Leg { first, legs, index } => w.u8(1).id(first).u8(legs).u8(index),
    };
    match decided.outcome {
        Outcome::Applied => w.u8(0),
        Outcome::Rejected(reason) => w.u8(1).rejection(reason),
        Outcome::LinkedLegFailed { failed_index } => w.u8(2).u8(failed_index),
    };
}

fn read_decided(r: &mut Reader<'_>) -> Result<Decided, DecodeError> {
    let (id, from, to, amount) = (r.id()?, r.account()?, r.account()?, r.u64()?);
    let link = match (r.u8()?, r.id()?, r.u8()?, r.u8()?) {
        (0, first, 0, 0) if first.0 == 0 => Link::Single,
        (1, first, legs, index) if index < legs => Link::Leg { first, legs, index },
        _ => return Err(r.error("an unknown link")),
    };
    let outcome = match r.u8()? {
        0 => Outcome::Applied,
        1 => Outcome::Rejected(r.rejection()?),
        2 => Outcome::LinkedLegFailed { failed_index: r.u8()? },
        _ => return Err(r.error("an unknown outcome")),
    };
    Ok(Decided { id, from, to, amount, link, outcome })
}

fn put_request(w: &mut ItemWriter, request: &HoldRequest) {
    w.hold(request.id)
        .account(request.from)
        .account(request.to)
        .u64(request.amount)
        .u64(request.expires_at_ms);
}

fn read_request(r: &mut Reader<'_>) -> Result<HoldRequest, DecodeError> {
    Ok(HoldRequest {
        id: r.hold()?,
        from: r.account()?,
        to: r.account()?,
        amount: r.u64()?,
        expires_at_ms: r.u64()?,
    })
}

fn put_hold_state(w: &mut ItemWriter, state: HoldState) {
    match state {
        HoldState::Open => w.u8(0).u64(0),
        HoldState::Posted { amount } => w.u8(1).u64(amount),
        HoldState::Voided => w.u8(2).u64(0),
        HoldState::Expired => w.u8(3).u64(0),
        HoldState::Rejected(reason) => w.u8(4).u64(0).rejection(reason),
    };
}

fn read_hold_state(r: &mut Reader<'_>) -> Result<HoldState, DecodeError> {
    Ok(match (r.u8()?, r.u64()?) {
        (0, 0) => HoldState::Open,
        (1, amount) => HoldState::Posted { amount },
        (2, 0) => HoldState::Voided,
        (3, 0) => HoldState::Expired,
        (4, 0) => HoldState::Rejected(r.rejection()?),
        _ => return Err(r.error("an unknown hold state")),
    })
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
