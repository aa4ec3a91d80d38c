//! A deliberately broken twin of the bucket's deciding CAS, for
//! `.ci/broken-variants` only: it replaces the real function of the same name
//! when its test-only feature is on, and loom's quota models must reject it.
//! Never enable the feature.

use super::BucketCell;
use crate::sync::Ordering;

impl BucketCell {
    /// `_broken-quota-check-then-write`: stores without comparing, so two
    /// takes that both saw the last unit both get it.
    pub(super) fn install(&self, _word: u64, next: u64) -> Result<(), u64> {
        self.word.store(next, Ordering::Release);
        Ok(())
    }
}
