//! What the journal records: one [`Entry`] per step that changed ledger
//! state, and its byte layout.
//!
//! # Implementation details
//!
//! Fixed little-endian layouts, one per kind, documented field by field in
//! `docs/journal.md`: a storage format is a contract that outlives the code,
//! and a fixed layout is one a reader in any language can check against the
//! document. Decoding never panics: a payload of the wrong length, an
//! unknown kind or tag, or a value out of range is a [`DecodeError`], which
//! recovery reports as corruption naming the file and offset.
//!
//! Entries carry **effects**, not requests: recovery applies them without
//! deciding again (`docs/journal.md`, "Recovery").

use crate::{
    AccountId, AccountOptions, Asset, BucketId, BucketPolicy, CredentialId, CredentialSpec, Floor, HoldId,
    Rejection, Scopes, Status, TransferId,
};

use super::ring::SLOT_PAYLOAD_MAX;

/// One journaled step. Kinds are stable numbers: a new entry takes a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Kind 1: an account was opened.
    AccountOpened { account: AccountId, options: AccountOptions },
    /// Kind 2: an external credit.
    Credited { account: AccountId, amount: u64 },
    /// Kind 3: an external debit.
    Debited { account: AccountId, amount: u64 },
    /// Kind 4: freeze, unfreeze or close.
    StatusSet { account: AccountId, status: Status },
    /// Kind 5: a transfer's debit (and pin) of `from`.
    TransferDebited { id: TransferId, from: AccountId, to: AccountId, amount: u64 },
    /// Kind 6: the transfer's credit of `to`: it is applied. It repeats
    /// the debit's accounts and amount, as every entry that moves money
    /// names where it goes: a reader of the change stream decodes each
    /// entry alone (`docs/journal.md`, "Self-contained entries").
    TransferCredited { id: TransferId, from: AccountId, to: AccountId, amount: u64 },
    /// Kind 7: the credit was refused; the debit was returned to `from`.
    TransferUndone { id: TransferId, from: AccountId, to: AccountId, amount: u64, reason: Rejection },
    /// Kind 8: refused before any change (the debit's checks), recorded.
    TransferRejected { id: TransferId, from: AccountId, to: AccountId, amount: u64, reason: Rejection },
    /// Kind 9: a transfer cut by a crash, returned to `from` by recovery
    /// and forgotten (it was never acknowledged).
    TransferAbandoned { id: TransferId, from: AccountId, to: AccountId, amount: u64 },
    /// Kind 10: leg `index` of the linked batch `first` (declared before
    /// the batch changes anything).
    LegDeclared {
        id: TransferId,
        first: TransferId,
        legs: u8,
        index: u8,
        from: AccountId,
        to: AccountId,
        amount: u64,
    },
    /// Kind 11: the batch debited (and pinned) `account`.
    BatchDebited { first: TransferId, account: AccountId, amount: u64 },
    /// Kind 12: the batch returned `amount` to `account` (an undo).
    BatchReturned { first: TransferId, account: AccountId, amount: u64 },
    /// Kind 13: the batch credited `account` (a commit): it is applied.
    BatchCredited { first: TransferId, account: AccountId, amount: u64 },
    /// Kind 14: the batch was refused: every debit has been returned.
    BatchRejected { first: TransferId, failed_index: u8, reason: Rejection },
    /// Kind 15: a batch cut by a crash before any commit, undone by
    /// recovery and forgotten.
    BatchAbandoned { first: TransferId },
    /// Kind 16: a hold debited `from` (and counted an open hold on it);
    /// `charged`: the credential that paid for it ([`crate::Ledger::hold_as`]).
    HoldPlaced {
        id: HoldId,
        from: AccountId,
        to: AccountId,
        amount: u64,
        expires_at_ms: u64,
        charged: Option<CredentialId>,
    },
    /// Kind 17: a hold refused before any change, recorded.
    HoldRejected {
        id: HoldId,
        from: AccountId,
        to: AccountId,
        amount: u64,
        expires_at_ms: u64,
        reason: Rejection,
    },
    /// Kind 18: a post credited `amount` to the hold's `to`.
    HoldPostCredited { id: HoldId, from: AccountId, to: AccountId, amount: u64 },
    /// Kind 19: the hold ended: `returned` went back to `from` and its
    /// open-hold count dropped (a post's end, a void, an expiry; or, written
    /// by recovery, the end of a post the crash cut after its credit).
    HoldEnded { id: HoldId, from: AccountId, to: AccountId, end: HoldEnd, returned: u64 },
    /// Kind 20: a credential was issued.
    CredentialIssued { id: CredentialId, spec: CredentialSpec },
    /// Kind 21: a use counted `amount` against the credential's cap.
    CredentialSpent { id: CredentialId, amount: u64 },
    /// Kind 22: `amount` given back to the credential's cap (its operation
    /// failed, or a hold it paid for returned money).
    CredentialReturned { id: CredentialId, amount: u64 },
    /// Kind 23: the credential was revoked.
    CredentialRevoked { id: CredentialId },
    /// Kind 24: the credential's scopes were narrowed to `scopes`.
    CredentialDowngraded { id: CredentialId, scopes: Scopes },
    /// Kind 25: a refilling bucket was opened at `origin_ms` (ledger clock).
    BucketOpened { id: BucketId, policy: BucketPolicy, origin_ms: u64 },
    /// Kind 26: a take or a refund left the bucket's word (level and time
    /// base) at `word`.
    BucketSet { id: BucketId, word: u64 },
}

/// How a hold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HoldEnd {
    Posted { amount: u64 },
    Voided,
    Expired,
}

/// A payload that does not decode as its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a record of kind {kind} does not decode: {reason}")]
pub(crate) struct DecodeError {
    pub(crate) kind: u8,
    pub(crate) reason: &'static str,
}

/// Builds a payload in a fixed buffer (no allocation on the hot path).
pub(crate) struct Writer<const N: usize = SLOT_PAYLOAD_MAX> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Writer<N> {
    pub(crate) fn new() -> Self {
        Self { bytes: [0; N], len: 0 }
    }

    /// What was written.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn put(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        self
    }

    pub(crate) fn u8(&mut self, value: u8) -> &mut Self {
        self.put(&[value])
    }

    pub(crate) fn u32(&mut self, value: u32) -> &mut Self {
        self.put(&value.to_le_bytes())
    }

    pub(crate) fn u64(&mut self, value: u64) -> &mut Self {
        self.put(&value.to_le_bytes())
    }

    pub(crate) fn i64(&mut self, value: i64) -> &mut Self {
        self.put(&value.to_le_bytes())
    }

    pub(crate) fn u128(&mut self, value: u128) -> &mut Self {
        self.put(&value.to_le_bytes())
    }

    pub(crate) fn account(&mut self, account: AccountId) -> &mut Self {
        self.u128(account.0)
    }

    pub(crate) fn id(&mut self, id: TransferId) -> &mut Self {
        self.u128(id.0)
    }

    pub(crate) fn hold(&mut self, id: HoldId) -> &mut Self {
        self.u128(id.0)
    }

    pub(crate) fn credential(&mut self, id: CredentialId) -> &mut Self {
        self.u128(id.0)
    }

    pub(crate) fn bucket(&mut self, id: BucketId) -> &mut Self {
        self.u128(id.0)
    }

    pub(crate) fn optional(&mut self, value: Option<u64>) -> &mut Self {
        self.u8(u8::from(value.is_some())).u64(value.unwrap_or(0))
    }

    pub(crate) fn optional_u128(&mut self, value: Option<u128>) -> &mut Self {
        self.u8(u8::from(value.is_some())).u128(value.unwrap_or(0))
    }

    pub(crate) fn status(&mut self, status: Status) -> &mut Self {
        self.u8(status_byte(status))
    }

    pub(crate) fn spec(&mut self, spec: CredentialSpec) -> &mut Self {
        self.account(spec.account)
            .u8(spec.scopes.bits())
            .optional(spec.amount_max_per_op)
            .optional(spec.spend_cap)
            .optional(spec.expires_at_ms);
        match spec.rate_limit {
            Some(bucket) => self.u8(1).bucket(bucket),
            None => self.u8(0).u128(0),
        }
    }

    pub(crate) fn end(&mut self, end: HoldEnd) -> &mut Self {
        match end {
            HoldEnd::Posted { amount } => self.u8(1).u64(amount),
            HoldEnd::Voided => self.u8(2).u64(0),
            HoldEnd::Expired => self.u8(3).u64(0),
        }
    }

    pub(crate) fn rejection(&mut self, reason: Rejection) -> &mut Self {
        match reason {
            Rejection::InsufficientFunds { account, available, requested } => {
                self.u8(1).account(account).u64(available).u64(requested)
            }
            Rejection::AccountFrozen { account } => self.u8(2).account(account),
            Rejection::AccountClosed { account } => self.u8(3).account(account),
            Rejection::BalanceOverflow { account, balance, amount, balance_max } => {
                self.u8(4).account(account).i64(balance).u64(amount).i64(balance_max)
            }
            Rejection::CeilingExceeded { account, balance, amount, ceiling } => {
                self.u8(5).account(account).i64(balance).u64(amount).u64(ceiling)
            }
            Rejection::BalanceNotZero { account, balance } => self.u8(6).account(account).i64(balance),
            Rejection::TransfersInFlight { account, in_flight } => self.u8(7).account(account).u32(in_flight),
            Rejection::HoldsOpen { account, holds } => self.u8(8).account(account).u32(holds),
            Rejection::TooManyHolds { account, holds_open_max } => {
                self.u8(9).account(account).u32(holds_open_max)
            }
        }
    }

    pub(crate) fn options(&mut self, options: AccountOptions) -> &mut Self {
        let (floor_kind, overdraft) = match options.floor {
            Floor::Zero => (0, 0),
            Floor::Overdraft(limit) => (1, limit),
            Floor::Unbounded => (2, 0),
        };
        let (has_ceiling, ceiling) = options.ceiling.map_or((0, 0), |ceiling| (1, ceiling));
        self.u8(floor_kind).u64(overdraft).u32(options.asset.0).u8(has_ceiling).u64(ceiling)
    }
}

/// Reads a payload, refusing anything short or out of range.
pub(crate) struct Reader<'a> {
    kind: u8,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `bytes`; errors name `kind`.
    pub(crate) fn new(kind: u8, bytes: &'a [u8]) -> Self {
        Self { kind, bytes }
    }

    /// Whether everything was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn error(&self, reason: &'static str) -> DecodeError {
        DecodeError { kind: self.kind, reason }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self.bytes.split_at_checked(N).ok_or_else(|| self.error("payload too short"))?;
        self.bytes = rest;
        Ok(head.try_into().unwrap_or([0; N]))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    pub(crate) fn u128(&mut self) -> Result<u128, DecodeError> {
        Ok(u128::from_le_bytes(self.take()?))
    }

    pub(crate) fn account(&mut self) -> Result<AccountId, DecodeError> {
        self.u128().map(AccountId)
    }

    pub(crate) fn id(&mut self) -> Result<TransferId, DecodeError> {
        self.u128().map(TransferId)
    }

    pub(crate) fn hold(&mut self) -> Result<HoldId, DecodeError> {
        self.u128().map(HoldId)
    }

    pub(crate) fn credential(&mut self) -> Result<CredentialId, DecodeError> {
        self.u128().map(CredentialId)
    }

    pub(crate) fn bucket(&mut self) -> Result<BucketId, DecodeError> {
        self.u128().map(BucketId)
    }

    pub(crate) fn optional(&mut self) -> Result<Option<u64>, DecodeError> {
        match (self.u8()?, self.u64()?) {
            (0, 0) => Ok(None),
            (1, value) => Ok(Some(value)),
            _ => Err(self.error("bad option flag")),
        }
    }

    pub(crate) fn optional_u128(&mut self) -> Result<Option<u128>, DecodeError> {
        match (self.u8()?, self.u128()?) {
            (0, 0) => Ok(None),
            (1, value) => Ok(Some(value)),
            _ => Err(self.error("bad option flag")),
        }
    }

    pub(crate) fn scopes(&mut self) -> Result<Scopes, DecodeError> {
        let bits = self.u8()?;
        let scopes = Scopes::from_bits(bits);
        if scopes.bits() != bits {
            return Err(self.error("unknown scope bits"));
        }
        Ok(scopes)
    }

    pub(crate) fn spec(&mut self) -> Result<CredentialSpec, DecodeError> {
        let account = self.account()?;
        let scopes = self.scopes()?;
        let amount_max_per_op = self.optional()?;
        let spend_cap = self.optional()?;
        let expires_at_ms = self.optional()?;
        let rate_limit = match (self.u8()?, self.u128()?) {
            (0, 0) => None,
            (1, bucket) => Some(BucketId(bucket)),
            _ => return Err(self.error("bad option flag")),
        };
        Ok(CredentialSpec { account, scopes, amount_max_per_op, spend_cap, expires_at_ms, rate_limit })
    }

    pub(crate) fn end(&mut self) -> Result<HoldEnd, DecodeError> {
        match (self.u8()?, self.u64()?) {
            (1, amount) => Ok(HoldEnd::Posted { amount }),
            (2, 0) => Ok(HoldEnd::Voided),
            (3, 0) => Ok(HoldEnd::Expired),
            _ => Err(self.error("unknown hold end")),
        }
    }

    pub(crate) fn status(&mut self) -> Result<Status, DecodeError> {
        match self.u8()? {
            0 => Ok(Status::Open),
            1 => Ok(Status::Frozen),
            2 => Ok(Status::Closed),
            _ => Err(self.error("unknown status")),
        }
    }

    pub(crate) fn rejection(&mut self) -> Result<Rejection, DecodeError> {
        let tag = self.u8()?;
        let account = self.account()?;
        Ok(match tag {
            1 => Rejection::InsufficientFunds { account, available: self.u64()?, requested: self.u64()? },
            2 => Rejection::AccountFrozen { account },
            3 => Rejection::AccountClosed { account },
            4 => Rejection::BalanceOverflow {
                account,
                balance: self.i64()?,
                amount: self.u64()?,
                balance_max: self.i64()?,
            },
            5 => Rejection::CeilingExceeded {
                account,
                balance: self.i64()?,
                amount: self.u64()?,
                ceiling: self.u64()?,
            },
            6 => Rejection::BalanceNotZero { account, balance: self.i64()? },
            7 => Rejection::TransfersInFlight { account, in_flight: self.u32()? },
            8 => Rejection::HoldsOpen { account, holds: self.u32()? },
            9 => Rejection::TooManyHolds { account, holds_open_max: self.u32()? },
            _ => return Err(self.error("unknown rejection")),
        })
    }

    pub(crate) fn options(&mut self) -> Result<AccountOptions, DecodeError> {
        let floor_kind = self.u8()?;
        let overdraft = self.u64()?;
        let asset = Asset(self.u32()?);
        let has_ceiling = self.u8()?;
        let ceiling = self.u64()?;
        let floor = match (floor_kind, overdraft) {
            (0, 0) => Floor::Zero,
            (1, limit) => Floor::Overdraft(limit),
            (2, 0) => Floor::Unbounded,
            _ => return Err(self.error("unknown floor")),
        };
        let ceiling = match (has_ceiling, ceiling) {
            (0, 0) => None,
            (1, ceiling) => Some(ceiling),
            _ => return Err(self.error("bad ceiling flag")),
        };
        Ok(AccountOptions { floor, asset, ceiling })
    }

    pub(crate) fn finish(self, entry: Entry) -> Result<Entry, DecodeError> {
        if self.bytes.is_empty() {
            Ok(entry)
        } else {
            Err(self.error("payload too long"))
        }
    }
}

fn status_byte(status: Status) -> u8 {
    match status {
        Status::Open => 0,
        Status::Frozen => 1,
        Status::Closed => 2,
    }
}

impl Entry {
    /// The kind byte and the payload.
    pub(crate) fn encode(&self) -> (u8, impl AsRef<[u8]>) {
        let mut writer = Writer::<SLOT_PAYLOAD_MAX>::new();
        let kind = match *self {
            Entry::AccountOpened { account, options } => {
                writer.account(account).options(options);
                1
            }
            Entry::Credited { account, amount } => {
                writer.account(account).u64(amount);
                2
            }
            Entry::Debited { account, amount } => {
                writer.account(account).u64(amount);
                3
            }
            Entry::StatusSet { account, status } => {
                writer.account(account).u8(status_byte(status));
                4
            }
            Entry::TransferDebited { id, from, to, amount } => {
                writer.id(id).account(from).account(to).u64(amount);
                5
            }
            Entry::TransferCredited { id, from, to, amount } => {
                writer.id(id).account(from).account(to).u64(amount);
                6
            }
            Entry::TransferUndone { id, from, to, amount, reason } => {
                writer.id(id).account(from).account(to).u64(amount).rejection(reason);
                7
            }
            Entry::TransferRejected { id, from, to, amount, reason } => {
                writer.id(id).account(from).account(to).u64(amount).rejection(reason);
                8
            }
            Entry::TransferAbandoned { id, from, to, amount } => {
                writer.id(id).account(from).account(to).u64(amount);
                9
            }
            Entry::LegDeclared { id, first, legs, index, from, to, amount } => {
                writer.id(id).id(first).u8(legs).u8(index).account(from).account(to).u64(amount);
                10
            }
            Entry::BatchDebited { first, account, amount } => {
                writer.id(first).account(account).u64(amount);
                11
            }
            Entry::BatchReturned { first, account, amount } => {
                writer.id(first).account(account).u64(amount);
                12
            }
            Entry::BatchCredited { first, account, amount } => {
                writer.id(first).account(account).u64(amount);
                13
            }
            Entry::BatchRejected { first, failed_index, reason } => {
                writer.id(first).u8(failed_index).rejection(reason);
                14
            }
            Entry::BatchAbandoned { first } => {
                writer.id(first);
                15
            }
            Entry::HoldPlaced { id, from, to, amount, expires_at_ms, charged } => {
                writer.hold(id).account(from).account(to).u64(amount).u64(expires_at_ms);
                match charged {
                    Some(credential) => writer.u8(1).credential(credential),
                    None => writer.u8(0).u128(0),
                };
                16
            }
            Entry::HoldRejected { id, from, to, amount, expires_at_ms, reason } => {
                writer.hold(id).account(from).account(to).u64(amount).u64(expires_at_ms).rejection(reason);
                17
            }
            Entry::HoldPostCredited { id, from, to, amount } => {
                writer.hold(id).account(from).account(to).u64(amount);
                18
            }
            Entry::HoldEnded { id, from, to, end, returned } => {
                writer.hold(id).account(from).account(to).end(end).u64(returned);
                19
            }
            Entry::CredentialIssued { id, spec } => {
                writer.credential(id).spec(spec);
                20
            }
            Entry::CredentialSpent { id, amount } => {
                writer.credential(id).u64(amount);
                21
            }
            Entry::CredentialReturned { id, amount } => {
                writer.credential(id).u64(amount);
                22
            }
            Entry::CredentialRevoked { id } => {
                writer.credential(id);
                23
            }
            Entry::CredentialDowngraded { id, scopes } => {
                writer.credential(id).u8(scopes.bits());
                24
            }
            Entry::BucketOpened { id, policy, origin_ms } => {
                let BucketPolicy { capacity, refill_amount, refill_interval_ms } = policy;
                writer.bucket(id).u64(capacity).u64(refill_amount).u64(refill_interval_ms).u64(origin_ms);
                25
            }
            Entry::BucketSet { id, word } => {
                writer.bucket(id).u64(word);
                26
            }
        };
        let Writer { bytes, len } = writer;
        (kind, Payload { bytes, len })
    }

    /// The entry of kind `kind` with payload `payload`.
    pub(crate) fn decode(kind: u8, payload: &[u8]) -> Result<Entry, DecodeError> {
        let mut reader = Reader { kind, bytes: payload };
        let r = &mut reader;
        let entry = match kind {
            1 => Entry::AccountOpened { account: r.account()?, options: r.options()? },
            2 => Entry::Credited { account: r.account()?, amount: r.u64()? },
            3 => Entry::Debited { account: r.account()?, amount: r.u64()? },
            4 => Entry::StatusSet { account: r.account()?, status: r.status()? },
            5 => {
                Entry::TransferDebited { id: r.id()?, from: r.account()?, to: r.account()?, amount: r.u64()? }
            }
            6 => Entry::TransferCredited {
                id: r.id()?,
                from: r.account()?,
                to: r.account()?,
                amount: r.u64()?,
            },
            7 => Entry::TransferUndone {
                id: r.id()?,
                from: r.account()?,
                to: r.account()?,
                amount: r.u64()?,
                reason: r.rejection()?,
            },
            8 => Entry::TransferRejected {
                id: r.id()?,
                from: r.account()?,
                to: r.account()?,
                amount: r.u64()?,
                reason: r.rejection()?,
            },
            9 => Entry::TransferAbandoned {
                id: r.id()?,
                from: r.account()?,
                to: r.account()?,
                amount: r.u64()?,
            },
            10 => Entry::LegDeclared {
                id: r.id()?,
                first: r.id()?,
                legs: r.u8()?,
                index: r.u8()?,
                from: r.account()?,
                to: r.account()?,
                amount: r.u64()?,
            },
            11 => Entry::BatchDebited { first: r.id()?, account: r.account()?, amount: r.u64()? },
            12 => Entry::BatchReturned { first: r.id()?, account: r.account()?, amount: r.u64()? },
            13 => Entry::BatchCredited { first: r.id()?, account: r.account()?, amount: r.u64()? },
            14 => Entry::BatchRejected { first: r.id()?, failed_index: r.u8()?, reason: r.rejection()? },
            15 => Entry::BatchAbandoned { first: r.id()? },
            16 => Entry::HoldPlaced {
                id: r.hold()?,
                from: r.account()?,
                to: r.account()?,
                amount: r.u64()?,
                expires_at_ms: r.u64()?,
                charged: match (r.u8()?, r.u128()?) {
                    (0, 0) => None,
                    (1, credential) => Some(CredentialId(credential)),
                    _ => return Err(r.error("bad option flag")),
                },
            },
            17 => Entry::HoldRejected {
                id: r.hold()?,
                from: r.account()?,
                to: r.account()?,
                amount: r.u64()?,
                expires_at_ms: r.u64()?,
                reason: r.rejection()?,
            },
            18 => Entry::HoldPostCredited {
                id: r.hold()?,
                from: r.account()?,
                to: r.account()?,
                amount: r.u64()?,
            },
            19 => Entry::HoldEnded {
                id: r.hold()?,
                from: r.account()?,
                to: r.account()?,
                end: r.end()?,
                returned: r.u64()?,
            },
            20 => Entry::CredentialIssued { id: r.credential()?, spec: r.spec()? },
            21 => Entry::CredentialSpent { id: r.credential()?, amount: r.u64()? },
            22 => Entry::CredentialReturned { id: r.credential()?, amount: r.u64()? },
            23 => Entry::CredentialRevoked { id: r.credential()? },
            24 => Entry::CredentialDowngraded { id: r.credential()?, scopes: r.scopes()? },
            25 => Entry::BucketOpened {
                id: r.bucket()?,
                policy: BucketPolicy {
                    capacity: r.u64()?,
                    refill_amount: r.u64()?,
                    refill_interval_ms: r.u64()?,
                },
                origin_ms: r.u64()?,
            },
            26 => Entry::BucketSet { id: r.bucket()?, word: r.u64()? },
            _ => return Err(r.error("unknown kind")),
        };
        reader.finish(entry)
    }
}

/// An encoded payload, on the stack.
struct Payload {
    bytes: [u8; SLOT_PAYLOAD_MAX],
    len: usize,
}

impl AsRef<[u8]> for Payload {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests;
