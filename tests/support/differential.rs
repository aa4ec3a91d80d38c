//! The differential check behind the fuzz target: decode bytes into a sequence
//! of operations, run it on the real ledger and on the model, and panic on the
//! first difference. Shared by `fuzz/fuzz_targets/differential.rs` and
//! `tests/fuzz_corpus.rs` (which replays the committed corpus in `cargo test`).
#![allow(dead_code)]

use arbitrary::{Arbitrary, Unstructured};

use super::model::{self, Model, Op};

/// Longest sequence decoded from one input.
pub const OPS_MAX: usize = 256;

/// Decodes `data` into operations (as many as it holds, up to `OPS_MAX`).
pub fn decode(data: &[u8]) -> Vec<Op> {
    let mut input = Unstructured::new(data);
    let mut ops = Vec::new();
    while ops.len() < OPS_MAX && !input.is_empty() {
        match Op::arbitrary(&mut input) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    ops
}

/// Runs the decoded operations on both; panics on a difference. Returns how many ran.
pub fn run(data: &[u8]) -> usize {
    let ops = decode(data);
    check_ops(&ops, StateChecks::AtEnd);
    ops.len()
}

/// How often [`check_ops`] compares the whole state (outcomes are compared at every step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateChecks {
    /// After every operation: what the property tests use.
    EveryStep,
    /// Once, at the end: keeps the fuzzer fast.
    AtEnd,
}

/// Runs `ops` on a fresh real ledger and on a fresh model; panics with the step
/// at the first difference.
pub fn check_ops(ops: &[Op], state_checks: StateChecks) {
    let ledger = model::ledger();
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let expected = model.apply(op);
        let actual = model::apply_real(&ledger, op);
        assert_eq!(actual, expected, "step {step}: {op:?}");
        if state_checks == StateChecks::EveryStep {
            model.assert_matches(&ledger);
        }
    }
    model.assert_matches(&ledger);
}

/// As [`check_ops`] with every step's state checked, on a durable ledger
/// that is closed and reopened from its journal after every
/// `restart_every`-th operation: what a restart recovers must be exactly
/// what the model holds, and every later answer must still match.
pub fn check_ops_restarting(ops: &[Op], restart_every: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let clock = std::sync::Arc::new(atomic_ledger::ManualClock::new(0));
    let mut ledger = model::durable_ledger(dir.path(), clock.clone());
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let expected = model.apply(op);
        let actual = model::apply_real(&ledger, op);
        assert_eq!(actual, expected, "step {step}: {op:?}");
        if (step + 1) % restart_every == 0 {
            drop(ledger);
            ledger = model::durable_ledger(dir.path(), clock.clone());
            model.restarted();
        }
        model.assert_matches(&ledger);
    }
}
