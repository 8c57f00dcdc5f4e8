//! The portable kernels: always compiled, the oracle every SIMD kernel is tested against.

use crate::hash::{Hash256, Hash64};
use crate::index::Match;

/// Appends every `hashes[i]` within `threshold` of `query` as `Match { base + i, distance }`,
/// in index order.
pub(crate) fn range256(
    hashes: &[Hash256],
    query: &Hash256,
    threshold: u32,
    base: u32,
    out: &mut Vec<Match>,
) {
    for (i, h) in hashes.iter().enumerate() {
        let d = h.distance(query);
        if d <= threshold {
            out.push(Match::new(base + i as u32, d));
        }
    }
}

/// The 64-bit form of [`range256`].
pub(crate) fn range64(
    hashes: &[Hash64],
    query: &Hash64,
    threshold: u32,
    base: u32,
    out: &mut Vec<Match>,
) {
    for (i, h) in hashes.iter().enumerate() {
        let d = h.distance(query);
        if d <= threshold {
            out.push(Match::new(base + i as u32, d));
        }
    }
}

/// Appends `(query position, match)` for every pair within `threshold`, list-major order.
pub(crate) fn batch256(
    hashes: &[Hash256],
    queries: &[Hash256],
    threshold: u32,
    base: u32,
    out: &mut Vec<(u32, Match)>,
) {
    for (i, h) in hashes.iter().enumerate() {
        for (qi, q) in queries.iter().enumerate() {
            let d = h.distance(q);
            if d <= threshold {
                out.push((qi as u32, Match::new(base + i as u32, d)));
            }
        }
    }
}

/// The 64-bit form of [`batch256`].
pub(crate) fn batch64(
    hashes: &[Hash64],
    queries: &[Hash64],
    threshold: u32,
    base: u32,
    out: &mut Vec<(u32, Match)>,
) {
    for (i, h) in hashes.iter().enumerate() {
        for (qi, q) in queries.iter().enumerate() {
            let d = h.distance(q);
            if d <= threshold {
                out.push((qi as u32, Match::new(base + i as u32, d)));
            }
        }
    }
}

/// Appends `base + i` for every byte with `popcount(bytes[i] ^ query) <= allowed`.
pub(crate) fn filter_u8(bytes: &[u8], query: u8, allowed: u32, base: u32, out: &mut Vec<u32>) {
    for (i, &b) in bytes.iter().enumerate() {
        if (b ^ query).count_ones() <= allowed {
            out.push(base + i as u32);
        }
    }
}

/// The position of the set bit of rank `r` (0-based) in `w` (64 if there is none).
#[inline(always)]
pub(crate) fn select64(w: u64, r: u32) -> u32 {
    let mut w = w;
    for _ in 0..r {
        w &= w.wrapping_sub(1);
    }
    w.trailing_zeros()
}

/// Bit `i` set for each of the first 64 bytes with `popcount(bytes[i] ^ q) <= allowed`.
#[inline(always)]
pub(crate) fn filter_mask64(bytes: &[u8], q: u8, allowed: u32) -> u64 {
    let mut m = 0u64;
    for (i, &b) in bytes.iter().take(64).enumerate() {
        if (b ^ q).count_ones() <= allowed {
            m |= 1 << i;
        }
    }
    m
}
