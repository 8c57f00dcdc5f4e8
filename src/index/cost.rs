//! The cost model shared by the planners of multi-index hashing ([`super::mih`]) and the
//! pigeonhole self-join ([`super::join`]): how many keys lie within a Hamming ball, and what a
//! linear scan costs, which both planners weigh their plans against.

/// Nanoseconds per hash pair of the cache-blocked SIMD batch scan on one core (compute bound),
/// measured on the reference machine (2-core AMD EPYC Zen 4 VM, AVX-512 VPOPCNTDQ): 256-bit.
pub(crate) const SCAN_PAIR_NS_256: f64 = 0.23;
/// As [`SCAN_PAIR_NS_256`], for 64-bit hashes.
pub(crate) const SCAN_PAIR_NS_64: f64 = 0.09;

/// Nanoseconds per hash pair of the batch scan for `bits`-bit hashes.
pub(crate) fn scan_pair_ns(bits: u32) -> f64 {
    if bits >= 256 {
        SCAN_PAIR_NS_256
    } else {
        SCAN_PAIR_NS_64
    }
}

/// Σ_{j <= s} C(b, j): the keys of `b` bits within distance `s` of one key (0 for `s < 0`).
pub(crate) fn ball(b: u32, s: i64) -> f64 {
    if s < 0 {
        return 0.0;
    }
    let mut sum = 0.0;
    let mut c = 1.0;
    for j in 0..=(s as u32).min(b) {
        if j > 0 {
            c = c * f64::from(b - j + 1) / f64::from(j);
        }
        sum += c;
    }
    sum
}

/// Estimated nanoseconds of one single-query linear scan over `n` hashes on one core.
pub(crate) fn linear_cost(bits: u32, n: usize) -> f64 {
    let bytes = n as f64 * f64::from(bits / 8);
    // Measured: ~80 GB/s from cache, ~30 GB/s around the cache size, ~15 GB/s from DRAM.
    let gbps = if bytes <= 16e6 {
        80.0
    } else if bytes <= 64e6 {
        30.0
    } else {
        15.0
    };
    bytes / gbps
}

/// Estimated nanoseconds per query of a cache-blocked batch scan over `n` hashes on one core.
pub(crate) fn batch_linear_cost(bits: u32, n: usize) -> f64 {
    n as f64 * scan_pair_ns(bits)
}
