//! A deliberately broken twin of the hold's resolution, for
//! `.ci/broken-variants` only: it replaces the real function of the same name
//! when its test-only feature is on, and loom must reject it. Never enable
//! the feature.

use super::{Cells, Holds};
use crate::epoch::Epoch;
use crate::hold_lanes::HoldRecord;
use crate::journal::Logging;
use crate::{HoldError, HoldId, HoldState, Posted};

impl Holds {
    /// `_broken-stale-hold-state`: reads that the hold is open under one
    /// acquisition of its shard lock, and posts it under another, so a void
    /// or an expiry in between resolves it too and its money lands twice.
    pub(crate) fn post<'a>(
        &self,
        epoch: &Epoch,
        log: impl Logging,
        id: HoldId,
        amount: u64,
        cells_of: impl FnOnce(&HoldRecord) -> Cells<'a>,
        now_ms: impl Fn() -> u64 + Copy,
    ) -> Result<Posted, HoldError> {
        let (record, cells) = {
            let mut shard = self.lock(id);
            let read = |record: &HoldRecord, cells| (Ok((*record, cells)), None);
            Self::resolve_open(epoch, log, &mut shard, id, (cells_of, now_ms), read)?
        };
        let mut shard = self.lock(id);
        let posted = Self::post_open(epoch, log, &record, cells, amount)?;
        shard.resolve(id, HoldState::Posted { amount });
        Ok(posted)
    }
}
