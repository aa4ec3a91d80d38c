//! Credentials: issuing, revoking and downgrading them, and reading one.
//! Their use is in [`super::credentialed`] and [`crate::credential_cell`].

use super::durable::durably;
use super::Ledger;
use crate::cell::AccountCell;
use crate::credential_cell::CredentialCell;
use crate::directory::Inserted;
use crate::journal::{Entry, Logging, NoLog};
use crate::{
    AccountId, CredentialError, CredentialId, CredentialInfo, CredentialSpec, JournalFailed, Scopes,
    AMOUNT_MAX,
};

impl Ledger {
    /// Issues credential `id` for `spec.account`. Issuing the same id with the
    /// same spec again is accepted and changes nothing; with another spec it
    /// is [`CredentialError::IdConflict`].
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, CredentialId, CredentialSpec, Ledger, Scopes};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// ledger.credit(AccountId(1), 100).unwrap();
    /// let api_key = CredentialSpec {
    ///     account: AccountId(1),
    ///     scopes: Scopes::DEBIT | Scopes::READ,
    ///     amount_max_per_op: Some(10),
    ///     spend_cap: Some(25),
    ///     expires_at_ms: None,
    ///     rate_limit: None,
    /// };
    /// ledger.issue_credential(CredentialId(42), api_key).unwrap();
    /// assert_eq!(ledger.debit_as(CredentialId(42), 10), Ok(90));
    /// ```
    pub fn issue_credential(&self, id: CredentialId, spec: CredentialSpec) -> Result<(), CredentialError> {
        if id.is_reserved() {
            return Err(CredentialError::ReservedCredentialId(id));
        }
        let Ok((account, _)) = self.find_account(spec.account) else {
            return Err(CredentialError::UnknownAccount(spec.account));
        };
        for cap in [spec.amount_max_per_op, spec.spend_cap].into_iter().flatten() {
            if cap == 0 || cap > AMOUNT_MAX {
                return Err(CredentialError::CapOutOfRange { cap, amount_max: AMOUNT_MAX });
            }
        }
        if let Some(expires_at_ms) = spec.expires_at_ms {
            let now_ms = self.clock.now_ms();
            if expires_at_ms <= now_ms {
                return Err(CredentialError::ExpiryInPast { expires_at_ms, now_ms });
            }
        }
        if let Some(bucket) = spec.rate_limit {
            if bucket.is_reserved() || self.buckets.get(bucket.0).is_none() {
                return Err(CredentialError::UnknownBucket(bucket));
            }
        }
        durably!(self, |log| self.issue_logged(log, id, spec, account))
    }

    fn issue_logged(
        &self,
        log: impl Logging,
        id: CredentialId,
        spec: CredentialSpec,
        account: &AccountCell,
    ) -> Result<(), CredentialError> {
        // Under the directory's insert lock, before the cell is published.
        let make = || {
            log.record(|| Entry::CredentialIssued { id, spec });
            CredentialCell::new(id, spec, account)
        };
        match self.credentials.insert(id.0, make) {
            Inserted::New => Ok(()),
            Inserted::Existing(cell) if cell.spec() == spec => Ok(()),
            Inserted::Existing(_) => Err(CredentialError::IdConflict(id)),
            Inserted::Full => {
                Err(CredentialError::TableFull { credentials_max: self.credentials.entries_max() })
            }
        }
    }

    pub(super) fn credential(&self, id: CredentialId) -> Result<&CredentialCell, CredentialError> {
        if id.is_reserved() {
            return Err(CredentialError::ReservedCredentialId(id));
        }
        self.credentials.get(id.0).ok_or(CredentialError::UnknownCredential(id))
    }

    /// The credential `id` now: scopes, spending, revocation, uses in flight.
    ///
    /// ```
    /// use atomic_ledger::{CredentialError, CredentialId, Ledger};
    /// let ledger = Ledger::new();
    /// assert_eq!(ledger.credential_info(CredentialId(1)), Err(CredentialError::UnknownCredential(CredentialId(1))));
    /// ```
    pub fn credential_info(&self, id: CredentialId) -> Result<CredentialInfo, CredentialError> {
        Ok(self.credential(id)?.info())
    }

    /// Revokes credential `id`. Once this returns, no operation with it
    /// succeeds and none is still in flight: it waits for the uses that began
    /// before the revocation (each one operation long), never for later ones,
    /// which fail. Returns `false` if it was already revoked.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, AsError, CredentialError, CredentialId, CredentialSpec, Ledger, Scopes};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::ALL, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: None };
    /// ledger.issue_credential(CredentialId(1), spec).unwrap();
    /// assert_eq!(ledger.revoke(CredentialId(1)), Ok(true));
    /// assert_eq!(ledger.revoke(CredentialId(1)), Ok(false));
    /// assert_eq!(ledger.credit_as(CredentialId(1), 1), Err(AsError::Denied(CredentialError::Revoked(CredentialId(1)))));
    /// ```
    pub fn revoke(&self, id: CredentialId) -> Result<bool, CredentialError> {
        let cell = self.credential(id)?;
        durably!(self, |log| {
            let _admin = self.credential_admin.lock();
            Ok(cell.revoke(log))
        })
    }

    /// Revokes every credential of `account`, as [`Ledger::revoke`] does each;
    /// returns how many this call revoked. Scans the credential table.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, CredentialId, CredentialSpec, Ledger, Scopes};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::READ, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: None };
    /// for id in 1..=3 {
    ///     ledger.issue_credential(CredentialId(id), spec).unwrap();
    /// }
    /// assert_eq!(ledger.revoke_all(AccountId(1)), 3);
    /// assert!(ledger.credential_info(CredentialId(2)).unwrap().revoked);
    /// ```
    pub fn revoke_all(&self, account: AccountId) -> usize {
        match self.durable() {
            None => self.revoke_all_logged(NoLog, account),
            // Waits for the revocations to be durable. On a failed journal
            // none was made, and the next operation reports the failure.
            Some(durable) => {
                durable.run(|log| Ok::<_, JournalFailed>(self.revoke_all_logged(log, account))).unwrap_or(0)
            }
        }
    }

    fn revoke_all_logged(&self, log: impl Logging, account: AccountId) -> usize {
        let _admin = self.credential_admin.lock();
        let mut revoked = 0;
        self.credentials.for_each(|cell| {
            if cell.account() == account && cell.revoke(log) {
                revoked += 1;
            }
        });
        revoked
    }

    /// Narrows credential `id` to `scopes` (a subset of its scopes now). Once
    /// this returns, no operation needing a removed scope succeeds with it and
    /// none that began under the old scopes is in flight; uses that begin
    /// meanwhile under the new scopes are not waited for.
    ///
    /// ```
    /// use atomic_ledger::{AccountId, AccountOptions, AsError, CredentialError, CredentialId, CredentialSpec, Ledger, Scopes};
    /// let ledger = Ledger::new();
    /// ledger.open_account(AccountId(1), AccountOptions::default()).unwrap();
    /// let spec = CredentialSpec { account: AccountId(1), scopes: Scopes::DEBIT | Scopes::READ, amount_max_per_op: None, spend_cap: None, expires_at_ms: None, rate_limit: None };
    /// ledger.issue_credential(CredentialId(1), spec).unwrap();
    /// ledger.downgrade_credential(CredentialId(1), Scopes::READ).unwrap();
    /// assert!(matches!(ledger.debit_as(CredentialId(1), 1), Err(AsError::Denied(CredentialError::ScopeMissing { .. }))));
    /// assert!(ledger.account_info_as(CredentialId(1)).is_ok());
    /// assert!(matches!(ledger.downgrade_credential(CredentialId(1), Scopes::ALL), Err(CredentialError::NotADowngrade { .. })));
    /// ```
    pub fn downgrade_credential(&self, id: CredentialId, scopes: Scopes) -> Result<(), CredentialError> {
        let cell = self.credential(id)?;
        durably!(self, |log| {
            let _admin = self.credential_admin.lock();
            cell.downgrade(log, scopes)
        })
    }
}
