//! The process's resident set, for the memory tests (each in its own binary,
//! which includes only this file: nothing else runs or allocates meanwhile)
//! and for `bench_report`'s memory per account.

/// This process's resident set in bytes (Linux `/proc/self/statm`; `None`
/// elsewhere).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
