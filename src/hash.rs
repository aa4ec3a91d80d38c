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

impl Default for IdHashBuilder {
    fn default() -> Self {
        Self::new()
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

/// Largest partial quotient a multiplier of [`spread_multipliers`] may have
/// (while the convergents' denominators are ≤ the ids spread): the first N
/// multiples then keep at least `1 / ((3 + 2) · N)` of the ring apart, so a
/// directory of 2N or more slots seldom gives two consecutive ids one slot
/// (the golden ratio's quotients are all 1).
const PARTIAL_QUOTIENT_MAX: u128 = 3;
/// Candidates tried before settling for the golden ratio's multiplier. A
/// random odd word passes about one time in 500 at 2^28 ids (Lévy's constant:
/// ~16 quotients to check, each ≤ 3 with probability 0.68), one in 15 at
/// 4096; each check is a few dozen divisions.
const SPREAD_CANDIDATES_MAX: usize = 1 << 16;
/// 2^64 / φ, rounded to odd: every partial quotient is 1.
const GOLDEN_MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// Two random odd multipliers for multiply-shift hashing of up to
/// `consecutive_max` consecutive ids: `a·n mod 2^64` for n = 1, 2, … must
/// spread evenly around the ring. It does when `a / 2^64` has no large
/// partial quotient among its first convergents (three-gap theorem: the gaps
/// between the first N multiples take at most three lengths, within a factor
/// of about the largest such quotient of each other). Random candidates from
/// `seed` are drawn until one passes, so the multipliers stay secret.
pub(crate) fn spread_multipliers(seed: [u64; 2], consecutive_max: usize) -> [u64; 2] {
    let mut state = seed[0] ^ seed[1].rotate_left(32);
    let mut pick = || {
        (0..SPREAD_CANDIDATES_MAX)
            .map(|_| splitmix64(&mut state) | 1)
            .find(|&candidate| largest_partial_quotient(candidate, consecutive_max) <= PARTIAL_QUOTIENT_MAX)
            .unwrap_or(GOLDEN_MULTIPLIER)
    };
    [pick(), pick()]
}

/// The largest partial quotient `a_k` of `multiplier / 2^64` whose preceding
/// convergent's denominator is ≤ `consecutive_max`: the first N multiples
/// come as close as `1 / (a_k · q_{k-1})` only through such a quotient.
fn largest_partial_quotient(multiplier: u64, consecutive_max: usize) -> u128 {
    let bound = consecutive_max as u128;
    let (mut numerator, mut denominator) = (u128::from(multiplier), 1u128 << 64);
    let (mut previous_q, mut q) = (0u128, 1u128);
    let mut largest = 0;
    while numerator != 0 && q <= bound {
        let quotient = denominator / numerator;
        (numerator, denominator) = (denominator - quotient * numerator, numerator);
        largest = largest.max(quotient);
        (previous_q, q) = (q, quotient.saturating_mul(q).saturating_add(previous_q));
    }
    largest
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
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
    fn spread_multipliers_have_small_partial_quotients_and_follow_the_seed() {
        assert_eq!(largest_partial_quotient(GOLDEN_MULTIPLIER, 1 << 28), 1);
        // 2^63 + 1 is about ½: its second quotient is huge.
        assert!(largest_partial_quotient((1 << 63) + 1, 1 << 20) > 1 << 40);
        for seed in [[1, 2], [3, 4], [u64::MAX, 0]] {
            let multipliers = spread_multipliers(seed, 1 << 20);
            assert_eq!(multipliers, spread_multipliers(seed, 1 << 20), "deterministic in the seed");
            for multiplier in multipliers {
                assert_eq!(multiplier % 2, 1);
                assert!(largest_partial_quotient(multiplier, 1 << 20) <= PARTIAL_QUOTIENT_MAX);
            }
        }
        assert_ne!(spread_multipliers([1, 2], 100), spread_multipliers([5, 6], 100), "keyed");
    }

    #[test]
    fn hasher_matches_hash_id_for_u128_keys() {
        let builder = IdHashBuilder { key: [3, 5] };
        assert_eq!(builder.hash_one(42u128), hash_id(42, [3, 5]));
    }
}
