//! A Wing–Gong / Lowe (WGL) linearizability checker with memoisation.
//!
//! A history is a set of operations, each with an invocation and a response
//! time from one logical clock (a shared counter bumped just before the call
//! and just after it returns), and the response observed. It is linearizable
//! if some order of the operations (1) respects real time (if A returned
//! before B was invoked, A comes first) and (2) replayed on the sequential
//! specification gives every operation its observed response.
//!
//! Operations may take **several steps** (up to [`STEPS_MAX`]): `Spec::step` is
//! called with phase 0, 1, … until it returns `Stepped::Done`, and each step is
//! linearized separately within the operation's interval. That is how a
//! transfer is specified: a debit leg, then a credit leg (or an undo), then
//! the release of the source's in-flight count. The money and the in-flight
//! count are visible in between.
//!
//! Search: depth-first over "minimal" operations (those invoked before every
//! unfinished operation's response), with a set of visited (progress, state)
//! pairs, so that each reachable configuration is expanded once (Lowe's
//! improvement of WGL).
#![allow(dead_code)]

use std::collections::HashSet;
use std::hash::Hash;

/// What one step of an operation did.
pub enum Stepped<R> {
    /// The operation completed with this response.
    Done(R),
    /// The operation is part-way; its next phase must be linearized later.
    Next,
    /// The operation cannot take this step in this state (it would wait), so
    /// it cannot be linearized here.
    Blocked,
}

/// A sequential specification.
pub trait Spec: Clone + Eq + Hash {
    type Op;
    type Ret: PartialEq;
    fn step(&mut self, op: &Self::Op, phase: u32) -> Stepped<Self::Ret>;
}

/// One completed operation in a history.
#[derive(Debug, Clone)]
pub struct Event<Op, Ret> {
    pub thread: usize,
    pub op: Op,
    pub ret: Ret,
    pub invoked_at: u64,
    pub returned_at: u64,
}

/// Up to this many operations per history (4 bits of progress each in a u128).
pub const EVENTS_MAX: usize = 32;
/// Up to this many steps per operation.
pub const STEPS_MAX: u32 = 15;
const DONE: u128 = 15;

/// Returns a linearization (event indices, each listed when it completes) or `None`.
pub fn check<S: Spec>(initial: &S, history: &[Event<S::Op, S::Ret>]) -> Option<Vec<usize>> {
    assert!(history.len() <= EVENTS_MAX, "history too long for the checker");
    let mut search = Search { history, visited: HashSet::new(), order: Vec::new() };
    if !search.explore(initial, 0) {
        return None;
    }
    // Indices were pushed while the successful search unwound: last first.
    search.order.reverse();
    Some(search.order)
}

struct Search<'h, S: Spec> {
    history: &'h [Event<S::Op, S::Ret>],
    visited: HashSet<(u128, S)>,
    order: Vec<usize>,
}

fn phase_of(progress: u128, index: usize) -> u128 {
    (progress >> (4 * index)) & DONE
}

fn with_phase(progress: u128, index: usize, phase: u128) -> u128 {
    (progress & !(DONE << (4 * index))) | (phase << (4 * index))
}

impl<S: Spec> Search<'_, S> {
    /// `progress`: 4 bits per event, the next phase to run or `DONE`.
    fn explore(&mut self, state: &S, progress: u128) -> bool {
        let unfinished: Vec<usize> =
            (0..self.history.len()).filter(|&index| phase_of(progress, index) != DONE).collect();
        if unfinished.is_empty() {
            return true;
        }
        if !self.visited.insert((progress, state.clone())) {
            return false;
        }
        let earliest_return =
            unfinished.iter().map(|&index| self.history[index].returned_at).min().unwrap_or(u64::MAX);
        for &index in &unfinished {
            let event = &self.history[index];
            if event.invoked_at > earliest_return {
                continue;
            }
            let phase = phase_of(progress, index);
            let mut next = state.clone();
            let next_progress = match next.step(&event.op, phase as u32) {
                Stepped::Done(ret) if ret == event.ret => with_phase(progress, index, DONE),
                Stepped::Next => {
                    assert!((phase as u32) + 1 < STEPS_MAX, "operation takes more than {STEPS_MAX} steps");
                    with_phase(progress, index, phase + 1)
                }
                Stepped::Done(_) | Stepped::Blocked => continue,
            };
            if self.explore(&next, next_progress) {
                if phase_of(next_progress, index) == DONE {
                    self.order.push(index);
                }
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register-like counter: `Add(n)` returns the new value, `Take(n)` fails below zero.
    #[derive(Clone, PartialEq, Eq, Hash)]
    struct Counter(i64);

    #[derive(Debug, Clone, Copy)]
    enum CounterOp {
        Take(i64),
        Add(i64),
        Read,
        /// Two steps: subtract now, add back at the end; returns the value after adding back.
        Borrow(i64),
    }

    impl Spec for Counter {
        type Op = CounterOp;
        type Ret = Option<i64>;
        fn step(&mut self, op: &CounterOp, phase: u32) -> Stepped<Option<i64>> {
            match (*op, phase) {
                (CounterOp::Take(n), _) if self.0 >= n => {
                    self.0 -= n;
                    Stepped::Done(Some(self.0))
                }
                (CounterOp::Take(_), _) => Stepped::Done(None),
                (CounterOp::Add(n), _) => {
                    self.0 += n;
                    Stepped::Done(Some(self.0))
                }
                (CounterOp::Read, _) => Stepped::Done(Some(self.0)),
                (CounterOp::Borrow(n), 0) => {
                    self.0 -= n;
                    Stepped::Next
                }
                (CounterOp::Borrow(n), _) => {
                    self.0 += n;
                    Stepped::Done(Some(self.0))
                }
            }
        }
    }

    fn event(
        thread: usize,
        op: CounterOp,
        ret: Option<i64>,
        invoked_at: u64,
        returned_at: u64,
    ) -> Event<CounterOp, Option<i64>> {
        Event { thread, op, ret, invoked_at, returned_at }
    }

    #[test]
    fn accepts_overlapping_operations_in_either_order() {
        // Balance 1; two overlapping takes of 1: exactly one wins.
        let history = [event(0, CounterOp::Take(1), Some(0), 0, 3), event(1, CounterOp::Take(1), None, 1, 2)];
        assert!(check(&Counter(1), &history).is_some());
    }

    #[test]
    fn rejects_a_double_spend() {
        // Both takes of the last unit succeed: no order explains it.
        let history =
            [event(0, CounterOp::Take(1), Some(0), 0, 3), event(1, CounterOp::Take(1), Some(0), 1, 2)];
        assert!(check(&Counter(1), &history).is_none());
    }

    #[test]
    fn rejects_a_stale_read_after_a_completed_write() {
        // The add returned before the read began, yet the read missed it.
        let history = [event(0, CounterOp::Add(5), Some(5), 0, 1), event(1, CounterOp::Read, Some(0), 2, 3)];
        assert!(check(&Counter(0), &history).is_none());
    }

    #[test]
    fn accepts_a_read_concurrent_with_a_write_either_way() {
        for seen in [0, 5] {
            let history =
                [event(0, CounterOp::Add(5), Some(5), 0, 3), event(1, CounterOp::Read, Some(seen), 1, 2)];
            assert!(check(&Counter(0), &history).is_some(), "read {seen}");
        }
    }

    #[test]
    fn two_step_operations_expose_their_middle_state_only_while_running() {
        // A read inside a borrow may see the borrowed state...
        let inside =
            [event(0, CounterOp::Borrow(2), Some(5), 0, 3), event(1, CounterOp::Read, Some(3), 1, 2)];
        assert!(check(&Counter(5), &inside).is_some());
        // ...but not after the borrow returned.
        let after = [event(0, CounterOp::Borrow(2), Some(5), 0, 1), event(1, CounterOp::Read, Some(3), 2, 3)];
        assert!(check(&Counter(5), &after).is_none());
    }

    #[test]
    fn returns_an_order_that_respects_real_time() {
        let history = [
            event(0, CounterOp::Add(1), Some(1), 0, 1),
            event(1, CounterOp::Add(2), Some(3), 2, 5),
            event(2, CounterOp::Take(3), Some(0), 3, 6),
        ];
        assert_eq!(check(&Counter(0), &history), Some(vec![0, 1, 2]));
    }
}
