//! The stages of PDQ that every path shares: window sizes, sample positions, luma formulas, the
//! DCT, the quality metric, the median threshold and the dihedral transforms of the DCT
//! (ALGORITHM.md §2.2, §2.4–§2.9, §2.11). All arithmetic is plain f32 in the reference's order.

use super::dct_table::DCT_MATRIX_BITS;
use super::{Dihedral, LumaMode};
use crate::hash::Hash256;

/// Images with a side shorter than this get the all-zero hash and quality 0 (§2.3).
pub(super) const MIN_DIM: u32 = 5;

/// A 64x64 f32 matrix, row-major.
pub type Mat64 = [[f32; 64]; 64];
/// A 16x16 f32 matrix, row-major: `[i][j]` is vertical frequency `i + 1`, horizontal `j + 1`.
pub type Mat16 = [[f32; 16]; 16];

/// The Jarosz box window for a pass along an axis of `n` pixels: `ceil(n / 128)`.
#[inline]
pub(super) fn window(n: usize) -> usize {
    n.div_ceil(128)
}

/// The 64 pixel positions the decimation samples along an axis of `n` pixels:
/// `floor((i + 0.5) * n / 64)`, which the reference computes exactly in f64.
pub(super) fn sample_positions(n: usize) -> [usize; 64] {
    let mut out = [0usize; 64];
    for (i, o) in out.iter_mut().enumerate() {
        // (2i + 1) * n < 2^7 * 2^32: no overflow in u64.
        *o = ((2 * i as u64 + 1) * n as u64 / 128) as usize;
    }
    out
}

/// The f64 luma of pdqhash 0.2.8 (numpy: `R*0.299 + G*0.587 + B*0.114` in f64, then f32).
#[inline(always)]
pub(super) fn luma_f64(r: u8, g: u8, b: u8) -> f32 {
    (f64::from(r) * 0.299 + f64::from(g) * 0.587 + f64::from(b) * 0.114) as f32
}

/// The f32 luma of the C++ reference: `((0.299f*R) + (0.587f*G)) + 0.114f*B`.
#[inline(always)]
pub(super) fn luma_f32(r: u8, g: u8, b: u8) -> f32 {
    0.299f32 * f32::from(r) + 0.587f32 * f32::from(g) + 0.114f32 * f32::from(b)
}

/// The luma of one RGB pixel in `mode`.
#[inline(always)]
pub(super) fn luma(mode: LumaMode, r: u8, g: u8, b: u8) -> f32 {
    match mode {
        LumaMode::Float64 => luma_f64(r, g, b),
        LumaMode::Float32 => luma_f32(r, g, b),
    }
}

/// The DCT matrix entry `D[i][k]`.
#[inline(always)]
fn d(i: usize, k: usize) -> f32 {
    f32::from_bits(DCT_MATRIX_BITS[i][k])
}

/// The 16x64 DCT matrix (§2.7).
pub(crate) fn dct_matrix() -> [[f32; 64]; 16] {
    let mut out = [[0f32; 64]; 16];
    for (i, row) in out.iter_mut().enumerate() {
        for (k, v) in row.iter_mut().enumerate() {
            *v = d(i, k);
        }
    }
    out
}

/// `B = D·A·Dᵀ` with every sum in f32, starting at 0 and running k = 0..64 in order, no FMA.
///
/// The loops are arranged so the compiler can vectorise across the output column `j`; each
/// output still sees exactly the reference's sequence of f32 multiplies and adds.
pub(crate) fn dct64_to_16(a: &Mat64) -> Mat16 {
    let mut t = [[0f32; 64]; 16];
    for (i, trow) in t.iter_mut().enumerate() {
        for (k, arow) in a.iter().enumerate() {
            let dik = d(i, k);
            for (tv, &av) in trow.iter_mut().zip(arow.iter()) {
                *tv += dik * av;
            }
        }
    }
    // Dᵀ, so that the second product also runs along contiguous rows.
    let mut dt = [[0f32; 16]; 64];
    for (k, row) in dt.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = d(j, k);
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (brow, trow) in b.iter_mut().zip(t.iter()) {
        for (&tik, dtrow) in trow.iter().zip(dt.iter()) {
            for (bv, &dv) in brow.iter_mut().zip(dtrow.iter()) {
                *bv += tik * dv;
            }
        }
    }
    b
}

/// The image-domain quality metric (§2.6): 0..=100.
pub(crate) fn quality(a: &Mat64) -> u8 {
    #[inline(always)]
    fn grad(u: f32, v: f32) -> i32 {
        // C++: `int d = ((u - v) * 100) / 255;` (truncation), then `abs`.
        ((((u - v) * 100.0) / 255.0) as i32).abs()
    }
    let mut sum: i32 = 0;
    for (upper, lower) in a.iter().zip(&a[1..]) {
        for (&u, &v) in upper.iter().zip(lower) {
            sum += grad(u, v);
        }
    }
    for row in a.iter() {
        for (&u, &v) in row.iter().zip(&row[1..]) {
            sum += grad(u, v);
        }
    }
    (sum / 90).min(100) as u8
}

/// The lower median (the 128th smallest of 256) that the reference's Torben median returns.
fn median(b: &Mat16) -> f32 {
    let mut v = [0f32; 256];
    for (chunk, row) in v.chunks_exact_mut(16).zip(b.iter()) {
        chunk.copy_from_slice(row);
    }
    *v.select_nth_unstable_by(127, |x, y| x.total_cmp(y)).1
}

/// Thresholds a DCT output at its median: bit `16i + j` is set iff `B[i][j] > median`.
pub(crate) fn bits(b: &Mat16) -> Hash256 {
    let m = median(b);
    let mut limbs = [0u64; 4];
    for (i, row) in b.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > m {
                let k = 16 * i + j;
                limbs[k / 64] |= 1u64 << (k % 64);
            }
        }
    }
    Hash256::from_limbs(limbs)
}

/// The DCT output of the transformed image, from the original's (the reference's
/// `dct16OriginalTo*`).
pub(crate) fn dihedral_dct(b: &Mat16, t: Dihedral) -> Mat16 {
    let mut out = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let v = b[i][j];
            match t {
                Dihedral::Orig => out[i][j] = v,
                Dihedral::Rot90 => out[j][i] = if j & 1 == 1 { v } else { -v },
                Dihedral::Rot180 => out[i][j] = if (i + j) & 1 == 1 { -v } else { v },
                Dihedral::Rot270 => out[j][i] = if i & 1 == 1 { v } else { -v },
                Dihedral::FlipX => out[i][j] = if i & 1 == 1 { v } else { -v },
                Dihedral::FlipY => out[i][j] = if j & 1 == 1 { v } else { -v },
                Dihedral::FlipPlus1 => out[j][i] = v,
                Dihedral::FlipMinus1 => out[j][i] = if (i + j) & 1 == 1 { -v } else { v },
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored table is the reference's formula: the f32 scale times an f64 cosine, rounded
    /// once. (The integration tests compare it with the fixture table too.)
    #[test]
    fn dct_matrix_matches_formula() {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let pi = std::f64::consts::PI;
        for (i, row) in DCT_MATRIX_BITS.iter().enumerate() {
            for (j, &bits) in row.iter().enumerate() {
                let angle = (pi / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                let v = (f64::from(scale) * angle.cos()) as f32;
                assert_eq!(v.to_bits(), bits, "D[{i}][{j}]");
            }
        }
    }

    #[test]
    fn windows_and_samples() {
        assert_eq!(
            [1, 128, 129, 256, 257, 1004, 1600].map(window),
            [1, 1, 2, 2, 3, 8, 13]
        );
        // Exactly floor((i + 0.5) * n / 64) in f64, as the reference computes it.
        for n in [5usize, 26, 63, 64, 65, 100, 1004, 1600, 4000, 65_535] {
            let s = sample_positions(n);
            for (i, &x) in s.iter().enumerate() {
                assert_eq!(
                    x,
                    (((i as f64) + 0.5) * n as f64 / 64.0) as usize,
                    "n={n} i={i}"
                );
                assert!(x < n);
            }
        }
    }

    #[test]
    fn median_is_the_128th_smallest() {
        let mut b = [[0f32; 16]; 16];
        for (k, v) in b.iter_mut().flatten().enumerate() {
            *v = ((k * 37) % 256) as f32;
        }
        // Values 0..=255 each once: the 128th smallest is 127; 128 values exceed it.
        assert_eq!(median(&b), 127.0);
        assert_eq!(bits(&b).count_ones(), 128);
        // Ties at the median are not set.
        let flat = [[1.0f32; 16]; 16];
        assert_eq!(bits(&flat).count_ones(), 0);
    }

    #[test]
    fn dihedral_dct_is_an_involution_or_a_rotation() {
        let mut b = [[0f32; 16]; 16];
        for (k, v) in b.iter_mut().flatten().enumerate() {
            *v = k as f32 - 100.5;
        }
        // Flips and transposes undo themselves; rot90 four times is the identity.
        for t in [
            Dihedral::Rot180,
            Dihedral::FlipX,
            Dihedral::FlipY,
            Dihedral::FlipPlus1,
            Dihedral::FlipMinus1,
        ] {
            assert_eq!(dihedral_dct(&dihedral_dct(&b, t), t), b, "{t}");
        }
        let mut r = b;
        for _ in 0..4 {
            r = dihedral_dct(&r, Dihedral::Rot90);
        }
        assert_eq!(r, b);
        let r270 = dihedral_dct(
            &dihedral_dct(&dihedral_dct(&b, Dihedral::Rot90), Dihedral::Rot90),
            Dihedral::Rot90,
        );
        assert_eq!(r270, dihedral_dct(&b, Dihedral::Rot270));
    }
}
