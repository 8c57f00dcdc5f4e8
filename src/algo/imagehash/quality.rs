//! PDQ's image-domain quality metric, generalised to any grey grid.
//!
//! PDQ rates its 64x64 downsample by the sum, over every vertically and horizontally adjacent
//! pair of values `(u, v)`, of `|trunc((u - v) * 100 / 255)|`, divided by 90 and capped at 100
//! (ALGORITHM.md §2.6). A 64x64 grid has `2 * 64 * 63 = 8064` such pairs. For a `w x h` grid with
//! `pairs = w * (h - 1) + h * (w - 1)` the same sum is scaled to PDQ's pair count:
//!
//! ```text
//! quality = min(100, floor(sum * 8064 / (90 * pairs)))      (0 when pairs == 0)
//! ```
//!
//! in exact integer arithmetic, so a 64x64 grid gives exactly PDQ's `min(100, sum / 90)`. In words:
//! the mean per-pair gradient, in percent of full scale, times 8064 / 90 = 89.6; a grid whose
//! neighbours differ on average by about 1.1 % of the full range (2.85 grey levels) scores 100.

/// The number of neighbour pairs in a 64x64 grid (PDQ's): `2 * 64 * 63`.
const PDQ_PAIRS: u64 = 8064;

/// PDQ's divisor of the gradient sum.
const PDQ_DIVISOR: u64 = 90;

/// Panics unless the grid holds `width * height` values (a caller bug).
fn check_shape(len: usize, width: usize, height: usize) {
    assert!(
        width.checked_mul(height) == Some(len),
        "grid of {len} values is not {width} x {height}"
    );
}

/// Scales a gradient sum over `pairs` neighbour pairs to PDQ's 0..=100.
fn normalise(sum: u64, width: usize, height: usize) -> u8 {
    let (w, h) = (width as u64, height as u64);
    let pairs = w * h.saturating_sub(1) + h * w.saturating_sub(1);
    if pairs == 0 {
        return 0;
    }
    // sum <= 2^31 per pair (an infinite f32 difference saturates), pairs < 2^33 for any grid
    // that fits in memory: the product stays far below 2^128.
    let q = u128::from(sum) * u128::from(PDQ_PAIRS) / (u128::from(PDQ_DIVISOR) * u128::from(pairs));
    q.min(100) as u8
}

/// The side of the square grid wHash's quality is measured on when its grey image is larger:
/// PDQ's.
pub(super) const WHASH_QUALITY_SIDE: usize = 64;

/// The quality of wHash's `side x side` grey image (`side` a power of two): [`gradient_quality`]
/// of the image itself when `side <= 64`, otherwise of its 64x64 block means (each the mean of a
/// `side/64` square block), with each pair's term `trunc((mean_u - mean_v) * 100 / 255)` computed
/// exactly, as `|sum_u - sum_v| * 100 / (255 * block²)` in integers.
///
/// Adjacent pixels of a large image differ little however much the picture holds, so the metric
/// on wHash's full grid (up to the image's own resolution) falls with resolution and rises with
/// pixel noise; on 64x64 block means it measures what PDQ's 64x64 downsample measures, whatever
/// the image size.
pub(super) fn whash_quality(grid: &[u8], side: usize) -> u8 {
    check_shape(grid.len(), side, side);
    if side <= WHASH_QUALITY_SIDE {
        return gradient_quality(grid, side, side);
    }
    let block = side / WHASH_QUALITY_SIDE;
    let n = WHASH_QUALITY_SIDE;
    let mut sums = vec![0u64; n * n];
    for (y, row) in grid.chunks_exact(side).enumerate() {
        let out = &mut sums[y / block * n..][..n];
        for (o, cells) in out.iter_mut().zip(row.chunks_exact(block)) {
            *o += cells.iter().map(|&v| u64::from(v)).sum::<u64>();
        }
    }
    let denominator = 255 * (block * block) as u64;
    let sum = gradient_sum(&sums, n, |u, v| {
        // At most 100 (a block of 255s next to a block of 0s).
        (u.abs_diff(v) * 100 / denominator) as u32
    });
    normalise(sum, n, n)
}

/// Sums `grad` over every vertical and horizontal neighbour pair of a row-major grid.
fn gradient_sum<T: Copy>(grid: &[T], width: usize, grad: impl Fn(T, T) -> u32) -> u64 {
    if width == 0 {
        return 0;
    }
    let mut sum = 0u64;
    let mut rows = grid.chunks_exact(width);
    let Some(mut upper) = rows.next() else {
        return 0;
    };
    let horizontal = |row: &[T]| -> u64 {
        row.iter()
            .zip(&row[1..])
            .map(|(&u, &v)| u64::from(grad(u, v)))
            .sum()
    };
    sum += horizontal(upper);
    for lower in rows {
        sum += upper
            .iter()
            .zip(lower)
            .map(|(&u, &v)| u64::from(grad(u, v)))
            .sum::<u64>();
        sum += horizontal(lower);
        upper = lower;
    }
    sum
}

/// The gradient quality (0..=100) of a row-major `width x height` grid of grey bytes: PDQ's
/// metric, scaled to the grid's number of neighbour pairs (see *Formula* below).
///
/// This is the quality [`Hasher`](crate::algo::Hasher) reports for pHash, dHash and aHash,
/// computed on the grey grid each algorithm thresholds (and for wHash on its grid's 64x64 block
/// means, see [`whash_with_quality`](super::whash_with_quality)). A flat grid scores 0; a grid
/// of one pixel has no pairs and scores 0.
///
/// # Formula
///
/// With `pairs = width * (height - 1) + height * (width - 1)` and
/// `sum = Σ |trunc((u - v) * 100 / 255)|` over all adjacent pairs `(u, v)`:
/// `quality = min(100, floor(sum * 8064 / (90 * pairs)))`, computed exactly in integers. For a
/// 64x64 grid (8064 pairs) that is PDQ's `min(100, sum / 90)`.
///
/// # Panics
///
/// Panics if `grid.len() != width * height`.
///
/// ```
/// use hashsieve::algo::imagehash::gradient_quality;
/// assert_eq!(gradient_quality(&[128; 9 * 8], 9, 8), 0);
/// // A checkerboard of 0 and 255: every pair differs by 100 % of the range.
/// let board: Vec<u8> = (0..64).map(|i| if (i + i / 8) % 2 == 0 { 0 } else { 255 }).collect();
/// assert_eq!(gradient_quality(&board, 8, 8), 100);
/// // A left-to-right ramp of 3 grey levels per step: each horizontal pair scores
/// // trunc(300 / 255) = 1, each vertical pair 0, so 8064 / (90 * 2) = 44 on any square grid.
/// let ramp: Vec<u8> = (0..32 * 32).map(|i| (i % 32 * 3) as u8).collect();
/// assert_eq!(gradient_quality(&ramp, 32, 32), 44);
/// ```
pub fn gradient_quality(grid: &[u8], width: usize, height: usize) -> u8 {
    check_shape(grid.len(), width, height);
    // For integer u, v the reference's f32 `(u - v) * 100 / 255` is never within an f32 rounding
    // error of an integer it does not equal, so integer division truncates identically.
    let sum = gradient_sum(grid, width, |u, v| u32::from(u.abs_diff(v)) * 100 / 255);
    normalise(sum, width, height)
}

/// [`gradient_quality`] of a grid of `f32` grey values on PDQ's 0..=255 scale, each pair's term
/// computed in `f32` exactly as PDQ does (`((u - v) * 100) / 255`, truncated to an integer).
///
/// On a 64x64 grid this is PDQ's quality of that downsample.
///
/// # Panics
///
/// Panics if `grid.len() != width * height`.
///
/// ```
/// use hashsieve::algo::imagehash::gradient_quality_f32;
/// let ramp: Vec<f32> = (0..64 * 64).map(|i| (i % 64) as f32 * 2.6).collect();
/// // Each horizontal step is 1.0196 % of the range (1 after truncation); vertical steps are 0.
/// assert_eq!(gradient_quality_f32(&ramp, 64, 64), (64 * 63 / 90) as u8);
/// ```
pub fn gradient_quality_f32(grid: &[f32], width: usize, height: usize) -> u8 {
    check_shape(grid.len(), width, height);
    // `as i32` truncates toward zero and saturates (NaN gives 0), as the C++ cast does for
    // in-range values; `unsigned_abs` cannot overflow at i32::MIN.
    let sum = gradient_sum(grid, width, |u, v| {
        ((((u - v) * 100.0) / 255.0) as i32).unsigned_abs()
    });
    normalise(sum, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The metric written out as directly as possible: every pair, signed f64 arithmetic.
    fn brute(grid: &[u8], w: usize, h: usize) -> u8 {
        let at = |x: usize, y: usize| f64::from(grid[y * w + x]);
        let term = |u: f64, v: f64| ((u - v) * 100.0 / 255.0).trunc().abs() as u64;
        let mut sum = 0u64;
        let mut pairs = 0u64;
        for y in 0..h {
            for x in 0..w {
                if x + 1 < w {
                    sum += term(at(x, y), at(x + 1, y));
                    pairs += 1;
                }
                if y + 1 < h {
                    sum += term(at(x, y), at(x, y + 1));
                    pairs += 1;
                }
            }
        }
        if pairs == 0 {
            0
        } else {
            (sum * 8064 / (90 * pairs)).min(100) as u8
        }
    }

    #[test]
    fn agrees_with_the_brute_force_sum_on_every_shape() {
        let mut rng = crate::util::SplitMix64::new(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        for (w, h) in [
            (1, 1),
            (1, 7),
            (7, 1),
            (2, 2),
            (9, 8),
            (8, 8),
            (17, 16),
            (16, 16),
            (32, 32),
            (64, 64),
            (3, 50),
        ] {
            for amplitude in [0u64, 1, 3, 8, 40, 256] {
                // Values 60 + [0, amplitude), or any byte for 256.
                let grid: Vec<u8> = (0..w * h)
                    .map(|_| match amplitude {
                        256 => next() as u8,
                        a => (next() % a.max(1)) as u8 + 60,
                    })
                    .collect();
                let floats: Vec<f32> = grid.iter().map(|&v| f32::from(v)).collect();
                let want = brute(&grid, w, h);
                assert_eq!(gradient_quality(&grid, w, h), want, "{w}x{h} a={amplitude}");
                assert_eq!(
                    gradient_quality_f32(&floats, w, h),
                    want,
                    "{w}x{h} a={amplitude}"
                );
            }
        }
    }

    #[test]
    fn whash_quality_is_the_metric_of_64x64_block_means() {
        let mut rng = crate::util::SplitMix64::new(0x2545_f491_4f6c_dd1d);
        let mut next = || rng.next();
        for side in [8usize, 16, 32, 64, 128, 256, 512] {
            for amplitude in [1u64, 2, 5, 20, 256] {
                // Smooth structure plus noise, so block means differ by small fractions.
                let grid: Vec<u8> = (0..side * side)
                    .map(|i| {
                        let (x, y) = (i % side, i / side);
                        let base = (x * 97 / side + y * 31 / side) as u64;
                        ((base + next() % amplitude) % 256) as u8
                    })
                    .collect();
                let want = if side <= 64 {
                    brute(&grid, side, side)
                } else {
                    let b = side / 64;
                    let mean = |bx: usize, by: usize| {
                        let mut s = 0f64;
                        for y in by * b..(by + 1) * b {
                            for x in bx * b..(bx + 1) * b {
                                s += f64::from(grid[y * side + x]);
                            }
                        }
                        s / (b * b) as f64
                    };
                    let term = |u: f64, v: f64| ((u - v) * 100.0 / 255.0).trunc().abs() as u64;
                    let mut sum = 0u64;
                    for by in 0..64 {
                        for bx in 0..64 {
                            if bx + 1 < 64 {
                                sum += term(mean(bx, by), mean(bx + 1, by));
                            }
                            if by + 1 < 64 {
                                sum += term(mean(bx, by), mean(bx, by + 1));
                            }
                        }
                    }
                    (sum / 90).min(100) as u8
                };
                assert_eq!(
                    whash_quality(&grid, side),
                    want,
                    "side {side} a={amplitude}"
                );
            }
        }
    }

    #[test]
    fn extreme_floats_do_not_overflow() {
        let grid = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0];
        assert_eq!(gradient_quality_f32(&grid, 2, 2), 100);
        assert_eq!(gradient_quality_f32(&[], 0, 0), 0);
        assert_eq!(gradient_quality(&[], 0, 5), 0);
    }

    #[test]
    #[should_panic(expected = "is not")]
    fn wrong_shape_panics() {
        gradient_quality(&[0; 10], 3, 3);
    }
}
