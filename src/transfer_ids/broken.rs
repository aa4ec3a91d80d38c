//! A deliberately broken twin of the exactly-once decision, for
//! `.ci/broken-variants` only: it replaces the real function of the same name
//! when its test-only feature is on, and loom and shuttle must reject it.
//! Never enable the feature.

use super::{Decision, Guard, TransferIds};
use crate::record_lanes::{Outcome, Record};
use crate::{Rejection, TransferId};

impl TransferIds {
    /// `_broken-split-id-check`: the lookup and the record are two critical
    /// sections, so two submissions of one id can both apply it.
    pub(super) fn apply_fresh<D>(
        &self,
        shard: Guard<'_>,
        id: TransferId,
        fields: Record,
        apply: impl FnOnce() -> Result<Result<(), Rejection>, D>,
    ) -> Result<Decision, D> {
        drop(shard);
        let outcome = apply()?;
        let recorded = outcome.map_or_else(Outcome::Rejected, |()| Outcome::Applied);
        let mut shard = self.lock(id);
        if shard.get(id.0).is_none() {
            shard.make_room(1);
            shard.insert(id.0, Record { outcome: recorded, ..fields });
        }
        Ok(Decision { outcome, repeat: false })
    }
}
