//! Recovery against arbitrary journal bytes: opening must refuse with a
//! typed error or yield a consistent ledger; never a panic.
//!
//! `cargo fuzz run --sanitizer none recovery -- -max_total_time=30`
#![no_main]

#[path = "../../tests/support/recovery_fuzz.rs"]
mod recovery_fuzz;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    recovery_fuzz::run(data);
});
