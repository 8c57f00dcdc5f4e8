//! Exact dihedral variants: the PDQ hashes of the rotated and flipped *pixels*, from one pass.
//!
//! # Why the reference's variants are not exact
//!
//! The reference derives the seven transformed hashes from the original's DCT by sign flips and
//! transposes, which is exact only if the 64x64 downsample of a flipped image is the flipped
//! downsample. It is not, for two reasons:
//!
//! * The box window along an axis of `n` pixels is `ceil(n / 128)`. When it is even the window
//!   is off-centre (`[o - w/2 + 1, o + w/2]`), so the two-round tent filter sits one pixel to
//!   the right of the sample; on the mirrored image it sits one pixel to the *left* of the
//!   mirrored sample. Point sampling after a light blur aliases, so that pixel moves values.
//! * The sample positions `floor((i + 0.5) * n / 64)` are symmetric (`n - 1 - x_i = x_{63-i}`)
//!   only when 128 does not divide `n`.
//!
//! # How this module is exact and cheap
//!
//! The blur and decimation are linear and separable: the downsample is `A = Wy · L · Wxᵀ` where
//! `L` is the luma plane and row `i` of `Wx` (`Wy`) holds the tent weights of sample `i` along x
//! (y). Hashing a transformed image changes only the weights:
//!
//! * a mirrored axis uses the *mirrored tent of the transformed image's sample*, `R[i][m] =
//!   T[x_i][n - 1 - m]` instead of `F[i][m] = T[x_i][m]`;
//! * a transpose swaps the roles of the axes; since a transposed image has the same side lengths
//!   on swapped axes, its windows and samples are the original's, and its downsample is the
//!   transpose of the original's (separable filters on different axes commute).
//!
//! So four products `M(Y, X) = Y · L · Xᵀ` for `Y ∈ {Fy, Ry}`, `X ∈ {Fx, Rx}` give all eight
//! downsamples, each as `M` or its transpose. One pass over the pixels computes the luma and its
//! dot products with the 128 sparse rows of `Fx` and `Rx` (each `2w - 1` long), about two
//! multiply-adds per pixel; the vertical products touch only those 128 columns.
//!
//! The sums run in a different order from the reference's running box sums, so each downsample
//! equals the reference's on the transformed pixels to within f32 rounding; a hash bit whose DCT
//! coefficient is within rounding of the median can differ (measured: see the tests). The
//! original's hash is computed by the bit-exact path, so [`Dihedral::Orig`] is exactly
//! [`pdq_with`](super::pdq_with).

use super::core::{sample_positions, window, Mat64};
use super::fast::luma_row;
use super::{Dihedral, LumaMode};
use crate::image::PixelBuffer;

/// The 64 tent-weight rows of one axis: row `i` has weights for pixels `start[i]..start[i] + len`.
struct AxisWeights {
    start: [usize; 64],
    len: usize,
    weights: Vec<f32>,
}

impl AxisWeights {
    /// Forward (`reversed == false`) or mirrored tent rows for an axis of `n >= 5` pixels.
    fn new(n: usize, reversed: bool) -> AxisWeights {
        let w = window(n);
        let h = (w + 2) / 2;
        let (back, ahead) = (w - h, h - 1);
        let count = |o: usize| ((o + ahead).min(n - 1) + 1 - o.saturating_sub(back)) as f64;
        let len = (2 * w - 1).min(n);
        let mut start = [0usize; 64];
        let mut weights = vec![0f32; 64 * len];
        let mut row = vec![0f64; n.min(2 * w + 1)];
        for (i, &p) in sample_positions(n).iter().enumerate() {
            // The tent row of sample p covers pixels lo..=hi of the forward axis.
            let lo = p.saturating_sub(2 * back);
            let hi = (p + 2 * ahead).min(n - 1);
            row[..hi + 1 - lo].fill(0.0);
            for j in p.saturating_sub(back)..=(p + ahead).min(n - 1) {
                let wj = 1.0 / (count(p) * count(j));
                for k in j.saturating_sub(back)..=(j + ahead).min(n - 1) {
                    row[k - lo] += wj;
                }
            }
            let span = hi + 1 - lo;
            let s = if reversed {
                // Weight for original pixel m is the tent at n - 1 - m.
                n - 1 - hi
            } else {
                lo
            };
            // Keep every row `len` long and inside the axis.
            let s = s.min(n - len);
            start[i] = s;
            let dst = &mut weights[i * len..(i + 1) * len];
            for (t, &v) in row[..span].iter().enumerate() {
                let m = if reversed { n - 1 - (lo + t) } else { lo + t };
                dst[m - s] = v as f32;
            }
        }
        AxisWeights {
            start,
            len,
            weights,
        }
    }

    fn row(&self, i: usize) -> (usize, &[f32]) {
        (
            self.start[i],
            &self.weights[i * self.len..(i + 1) * self.len],
        )
    }
}

/// `Σ a[k] * b[k]` with eight partial sums, so the compiler can vectorise it.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    acc.iter().sum::<f32>() + tail
}

/// The four downsamples `M(Y, X)`, in the order `(Fy, Fx), (Fy, Rx), (Ry, Fx), (Ry, Rx)`.
fn products(px: &PixelBuffer<'_>, mode: LumaMode) -> Vec<Mat64> {
    let (w, h) = (px.width() as usize, px.height() as usize);
    let xs = [AxisWeights::new(w, false), AxisWeights::new(w, true)];
    let ys = [AxisWeights::new(h, false), AxisWeights::new(h, true)];
    // cols[y][c]: row y's dot product with x-weight row c (c < 64 forward, else mirrored).
    let mut cols = vec![[0f32; 128]; h];
    let mut luma = vec![0f32; w];
    for (y, out) in cols.iter_mut().enumerate() {
        luma_row(px.row(y as u32), px.layout(), mode, &mut luma);
        for (c, o) in out.iter_mut().enumerate() {
            let (s, wt) = xs[c / 64].row(c % 64);
            *o = dot(&luma[s..s + wt.len()], wt);
        }
    }
    let mut out = vec![[[0f32; 64]; 64]; 4];
    for (k, m) in out.iter_mut().enumerate() {
        let (yr, xr) = (k / 2, k % 2);
        {
            for (i, mrow) in m.iter_mut().enumerate() {
                let (s, wt) = ys[yr].row(i);
                let mut acc = [0f64; 64];
                for (&wy, crow) in wt.iter().zip(&cols[s..s + wt.len()]) {
                    for (a, &v) in acc.iter_mut().zip(&crow[64 * xr..64 * xr + 64]) {
                        *a += f64::from(wy) * f64::from(v);
                    }
                }
                for (d, a) in mrow.iter_mut().zip(acc) {
                    *d = a as f32;
                }
            }
        }
    }
    out
}

fn transpose(m: &Mat64) -> Mat64 {
    let mut t = [[0f32; 64]; 64];
    for (i, row) in m.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            t[j][i] = v;
        }
    }
    t
}

/// The 64x64 downsample of the image transformed by `t`, for each `t` of `wanted`, in order.
///
/// `px` is at least 5x5.
pub(super) fn downsamples(px: &PixelBuffer<'_>, mode: LumaMode, wanted: &[Dihedral]) -> Vec<Mat64> {
    let m = products(px, mode);
    let (ff, fr, rf, rr) = (&m[0], &m[1], &m[2], &m[3]);
    wanted
        .iter()
        .map(|t| match t {
            Dihedral::Orig => *ff,
            Dihedral::FlipY => *fr,
            Dihedral::FlipX => *rf,
            Dihedral::Rot180 => *rr,
            Dihedral::FlipPlus1 => transpose(ff),
            Dihedral::Rot90 => transpose(fr),
            Dihedral::Rot270 => transpose(rf),
            Dihedral::FlipMinus1 => transpose(rr),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each tent row sums to 1 (the filter is normalised at the edges) and a mirrored row is the
    /// forward row of the mirrored axis read backwards.
    #[test]
    fn tent_rows_are_normalised_and_mirrored() {
        for n in [
            5usize, 6, 63, 64, 100, 128, 129, 256, 300, 451, 1000, 1024, 4000,
        ] {
            let (f, r) = (AxisWeights::new(n, false), AxisWeights::new(n, true));
            for i in 0..64 {
                for a in [&f, &r] {
                    let (s, wt) = a.row(i);
                    assert!(s + wt.len() <= n);
                    let sum: f32 = wt.iter().sum();
                    assert!((sum - 1.0).abs() < 1e-5, "n={n} i={i} sum={sum}");
                }
                let dense = |a: &AxisWeights| {
                    let mut v = vec![0f32; n];
                    let (s, wt) = a.row(i);
                    v[s..s + wt.len()].copy_from_slice(wt);
                    v
                };
                let (df, mut dr) = (dense(&f), dense(&r));
                dr.reverse();
                assert_eq!(df, dr, "n={n} i={i}");
            }
        }
    }
}
