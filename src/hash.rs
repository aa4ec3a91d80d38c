//! The one hash of 128-bit ids, used by the directory and the transfer-id table.
//!
//! # Implementation details
//!
//! A folded multiply (the 128-bit product of the id's two halves, each xored with
//! a key word, high half xored into low) keyed by two per-table random words, as
//! in foldhash/aHash. A few instructions instead of SipHash's hundreds; not a
//! cryptographic PRF, but without the key an adversary cannot aim ids at one
//! bucket. Under loom the key is fixed (see [`crate::sync::hash_seed`]).

use std::hash::{BuildHasher, Hasher};

/// Hashes one id under `key`.
#[inline]
pub(crate) fn hash_id(id: u128, key: [u64; 2]) -> u64 {
    let low = (id as u64) ^ key[0];
    // `| 1` keeps the product from collapsing to zero when the high half equals the key.
    let high = ((id >> 64) as u64 ^ key[1]) | 1;
    let product = u128::from(low) * u128::from(high);
    (product as u64) ^ ((product >> 64) as u64)
}

/// `BuildHasher` for maps keyed by `u128` ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdHashBuilder {
    key: [u64; 2],
}

impl IdHashBuilder {
    pub(crate) fn new() -> Self {
        Self { key: crate::sync::hash_seed() }
    }
}

impl BuildHasher for IdHashBuilder {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher { key: self.key, state: 0 }
    }
}

/// Hasher for one `u128` id; other inputs are folded in 16 bytes at a time.
#[derive(Debug, Clone)]
pub(crate) struct IdHasher {
    key: [u64; 2],
    state: u64,
}

impl Hasher for IdHasher {
    #[inline]
    fn write_u128(&mut self, id: u128) {
        self.state = hash_id(id ^ u128::from(self.state), self.key);
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(16) {
            let mut word = [0u8; 16];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u128(u128::from_le_bytes(word));
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.state
    }
}

#[cfg(all(test, not(any(atomic_ledger_loom, atomic_ledger_shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_spread_over_buckets() {
        let key = [0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321];
        let mut buckets = [0u32; 64];
        for id in 1..=64_000u128 {
            buckets[(hash_id(id, key) & 63) as usize] += 1;
        }
        // 1000 expected per bucket; a bad mix would pile ids into few buckets.
        assert!(buckets.iter().all(|&count| (700..1300).contains(&count)), "{buckets:?}");
    }

    #[test]
    fn hasher_matches_hash_id_for_u128_keys() {
        let builder = IdHashBuilder { key: [3, 5] };
        assert_eq!(builder.hash_one(42u128), hash_id(42, [3, 5]));
    }
}
