//! Differential fuzzing: arbitrary bytes → a sequence of ledger operations, run
//! on the real `Ledger` and on the sequential reference model; any difference
//! in a result or in the final state panics. The ledger itself must never
//! panic, whatever the input.
//!
//! `cargo fuzz run --sanitizer none differential -- -max_total_time=60`
#![no_main]

#[path = "../../tests/support/lincheck.rs"]
mod lincheck;
#[path = "../../tests/support/model.rs"]
mod model;
#[path = "../../tests/support/differential.rs"]
mod differential;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    differential::run(data);
});
