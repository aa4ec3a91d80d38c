//! Deliberately broken twins of a credential's use, for
//! `.ci/broken-variants` only: each replaces the real function of the same
//! name when its test-only feature is on, and loom must reject it. Never
//! enable these features.

use super::{CredentialCell, Ticket, REVOKED, SCOPES_MASK};
use crate::journal::Logging;
use crate::sync::Ordering;
use crate::{CredentialError, Scopes};

#[cfg(all(feature = "_broken-stale-revocation", feature = "_broken-stale-scope"))]
compile_error!("both twins replace `begin`: enable one broken variant at a time");

impl CredentialCell {
    /// `_broken-stale-revocation` and `_broken-stale-scope`: every guard is
    /// checked on the word read before the CAS loop, and the loop's checks
    /// see the revoked bit (or the scopes) of that first read, not of the
    /// word the CAS replaces. A revoke (or a downgrade) that lands in between
    /// makes the first CAS fail, and the retry succeeds anyway: the use
    /// completes after `revoke` (or `downgrade_credential`) returned.
    pub(crate) fn begin(
        &self,
        log: impl Logging,
        needed: Scopes,
        amount: u64,
        spend: u64,
        now_ms: impl Fn() -> u64,
    ) -> Result<Ticket, CredentialError> {
        let first = self.word.load(Ordering::Acquire);
        let stale_mask = if cfg!(feature = "_broken-stale-revocation") { REVOKED } else { SCOPES_MASK };
        let mut word = first;
        loop {
            let seen = (word & !stale_mask) | (first & stale_mask);
            let spend = self.admit(seen, needed, amount, spend, &now_ms)?;
            match self.count_use(log, word, spend) {
                Ok(ticket) => return Ok(ticket),
                Err(actual) => word = actual,
            }
        }
    }
}
