//! A deliberately broken twin of the snapshot's gate, for
//! `.ci/broken-variants` only: it replaces the real function of the same name
//! when its test-only feature is on, and loom and shuttle must reject it.
//! Never enable the feature.

use super::Ledger;

impl Ledger {
    /// `_broken-snapshot-without-gate`: advances the epoch without the
    /// transfer-id and hold shard locks, so a transfer or a hold may be
    /// half-way at the snapshot's instant.
    pub(super) fn advance_epoch_gated(&self) -> (u64, usize) {
        let accounts = self.directory.lock_inserts();
        (self.epoch.advance(), accounts.len())
    }
}
