//! Deliberately broken twins of the cell's protocol steps, for
//! `.ci/broken-variants` only: each replaces the real function of the same
//! name when its test-only feature is on, and loom and shuttle must reject
//! it. Never enable these features.

use super::AccountCell;
#[cfg(feature = "_broken-check-then-write")]
use super::{State, SNAP_BIT};
#[cfg(feature = "_broken-check-then-write")]
use crate::{epoch::Epoch, sync::Ordering};

impl AccountCell {
    /// `_broken-check-then-write`: reads, checks, then stores, with no CAS,
    /// so two changes that both pass their checks both land.
    #[cfg(feature = "_broken-check-then-write")]
    pub(super) fn update<E>(
        &self,
        epoch: &Epoch,
        mut decide: impl FnMut(State) -> Result<State, E>,
    ) -> Result<State, E> {
        let current = epoch.load();
        let word = self.word.load(Ordering::Acquire);
        self.save_if_due(current, word);
        let next = decide(State::decode(word))?;
        self.word.store(next.encode(word & SNAP_BIT), Ordering::Release);
        Ok(next)
    }

    /// `_broken-snapshot-without-capture`: never saves an account's value for
    /// a running snapshot, which then reads whatever each account holds when
    /// its scan reaches it.
    #[cfg(feature = "_broken-snapshot-without-capture")]
    pub(super) fn save_if_due(&self, _current: u64, _word: u64) {}
}
