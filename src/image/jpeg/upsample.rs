//! libjpeg's fancy (triangle-filter) chroma upsampling, `h2v1_fancy_upsample` and
//! `h2v2_fancy_upsample` in `jdsample.c`, bit for bit, one output row per call.
//!
//! * [`scalar`]: a line-for-line port of the C; the oracle.
//! * `avx2` (x86-64): 32 input samples (64 output samples) per step in 16-bit lanes, for the
//!   columns of the C's general case; the first and last columns and the tail are the scalar
//!   code's. Tested equal to [`scalar`].
//!
//! libjpeg chooses these methods (`jinit_upsampler`) only when fancy upsampling is on and
//! `downsampled_width > 2`; the code below is also correct for a width of 2 (as the C is), not
//! for 1.
//!
//! The public functions check the slice lengths and dispatch on [`Avx2::new`].

#[cfg(target_arch = "x86_64")]
use crate::arch::x86::Avx2;

/// `h2v1_fancy_upsample` for one row: `input` is the `w_in = input.len()` samples of the input
/// row (`w_in >= 2`; libjpeg uses this method for `w_in > 2`), `out` receives `2 * w_in`
/// samples (bytes past that are left alone).
///
/// # Panics
///
/// If `w_in < 2` or `out` is shorter than `2 * w_in` (a caller bug).
pub(crate) fn h2v1_fancy(input: &[u8], out: &mut [u8]) {
    let w = input.len();
    assert!(w >= 2 && out.len() >= 2 * w, "h2v1_fancy: bad row lengths");
    let out = &mut out[..2 * w];
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = Avx2::new() {
        return avx2::h2v1_fancy(token, input, out);
    }
    scalar::h2v1_fancy(input, out);
}

/// `h2v2_fancy_upsample` for one output row: `near` is the input row the output row belongs to
/// (`w_in = near.len() >= 2` samples), `far` the input row above it (for the upper output row
/// of the pair) or below it (the lower one), at least `w_in` samples. `out` receives `2 * w_in`
/// samples (bytes past that are left alone).
///
/// # Panics
///
/// If `w_in < 2`, or `far` or `out` is too short (a caller bug).
pub(crate) fn h2v2_fancy(near: &[u8], far: &[u8], out: &mut [u8]) {
    let w = near.len();
    assert!(
        w >= 2 && far.len() >= w && out.len() >= 2 * w,
        "h2v2_fancy: bad row lengths"
    );
    let (far, out) = (&far[..w], &mut out[..2 * w]);
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = Avx2::new() {
        return avx2::h2v2_fancy(token, near, far, out);
    }
    scalar::h2v2_fancy(near, far, out);
}

/// The C, ported line for line: the oracle. Rows have exact lengths (`w >= 2` input samples,
/// `2 * w` output samples; `far` as long as `near`).
pub(crate) mod scalar {
    /// `h2v1_fancy_upsample`'s first column.
    #[inline]
    pub(super) fn h2v1_first(input: &[u8], out: &mut [u8]) {
        let invalue = i32::from(input[0]);
        out[0] = invalue as u8;
        out[1] = ((invalue * 3 + i32::from(input[1]) + 2) >> 2) as u8;
    }

    /// `h2v1_fancy_upsample`'s general case, for the input columns `from..w - 1`.
    #[inline]
    pub(super) fn h2v1_middle(input: &[u8], out: &mut [u8], from: usize) {
        let w = input.len();
        for col in from..w - 1 {
            // General case: 3/4 * nearer pixel + 1/4 * further pixel.
            let invalue = i32::from(input[col]) * 3;
            out[2 * col] = ((invalue + i32::from(input[col - 1]) + 1) >> 2) as u8;
            out[2 * col + 1] = ((invalue + i32::from(input[col + 1]) + 2) >> 2) as u8;
        }
    }

    /// `h2v1_fancy_upsample`'s last column.
    #[inline]
    pub(super) fn h2v1_last(input: &[u8], out: &mut [u8]) {
        let w = input.len();
        let invalue = i32::from(input[w - 1]);
        out[2 * w - 2] = ((invalue * 3 + i32::from(input[w - 2]) + 1) >> 2) as u8;
        out[2 * w - 1] = invalue as u8;
    }

    /// [`super::h2v1_fancy`] on exact lengths.
    pub(crate) fn h2v1_fancy(input: &[u8], out: &mut [u8]) {
        h2v1_first(input, out);
        h2v1_middle(input, out, 1);
        h2v1_last(input, out);
    }

    /// `thiscolsum` and friends: `3 * near + far` of one column.
    #[inline(always)]
    fn colsum(near: &[u8], far: &[u8], col: usize) -> i32 {
        i32::from(near[col]) * 3 + i32::from(far[col])
    }

    /// `h2v2_fancy_upsample`'s first column.
    #[inline]
    pub(super) fn h2v2_first(near: &[u8], far: &[u8], out: &mut [u8]) {
        let thiscolsum = colsum(near, far, 0);
        let nextcolsum = colsum(near, far, 1);
        out[0] = ((thiscolsum * 4 + 8) >> 4) as u8;
        out[1] = ((thiscolsum * 3 + nextcolsum + 7) >> 4) as u8;
    }

    /// `h2v2_fancy_upsample`'s general case, for the input columns `from..w - 1`.
    #[inline]
    pub(super) fn h2v2_middle(near: &[u8], far: &[u8], out: &mut [u8], from: usize) {
        let w = near.len();
        for col in from..w - 1 {
            // 3/4 * nearer pixel + 1/4 * further pixel in each dimension: 9/16, 3/16, 3/16,
            // 1/16 overall.
            let lastcolsum = colsum(near, far, col - 1);
            let thiscolsum = colsum(near, far, col);
            let nextcolsum = colsum(near, far, col + 1);
            out[2 * col] = ((thiscolsum * 3 + lastcolsum + 8) >> 4) as u8;
            out[2 * col + 1] = ((thiscolsum * 3 + nextcolsum + 7) >> 4) as u8;
        }
    }

    /// `h2v2_fancy_upsample`'s last column.
    #[inline]
    pub(super) fn h2v2_last(near: &[u8], far: &[u8], out: &mut [u8]) {
        let w = near.len();
        let lastcolsum = colsum(near, far, w - 2);
        let thiscolsum = colsum(near, far, w - 1);
        out[2 * w - 2] = ((thiscolsum * 3 + lastcolsum + 8) >> 4) as u8;
        out[2 * w - 1] = ((thiscolsum * 4 + 7) >> 4) as u8;
    }

    /// [`super::h2v2_fancy`] on exact lengths.
    pub(crate) fn h2v2_fancy(near: &[u8], far: &[u8], out: &mut [u8]) {
        h2v2_first(near, far, out);
        h2v2_middle(near, far, out, 1);
        h2v2_last(near, far, out);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::scalar;
    use crate::arch::x86::Avx2;

    /// Input columns per step.
    const STEP: usize = 32;

    pub(super) fn h2v1_fancy(_token: Avx2, input: &[u8], out: &mut [u8]) {
        assert!(input.len() >= 2 && out.len() == 2 * input.len());
        scalar::h2v1_first(input, out);
        // SAFETY: the token proves AVX2; the lengths are checked above.
        let next = unsafe { h2v1_middle(input, out) };
        scalar::h2v1_middle(input, out, next);
        scalar::h2v1_last(input, out);
    }

    pub(super) fn h2v2_fancy(_token: Avx2, near: &[u8], far: &[u8], out: &mut [u8]) {
        assert!(near.len() >= 2 && far.len() == near.len() && out.len() == 2 * near.len());
        scalar::h2v2_first(near, far, out);
        // SAFETY: the token proves AVX2; the lengths are checked above.
        let next = unsafe { h2v2_middle(near, far, out) };
        scalar::h2v2_middle(near, far, out, next);
        scalar::h2v2_last(near, far, out);
    }

    /// The 32 bytes at `p + i` as 16-bit lanes: `(lo, hi)` hold bytes `0..8, 16..24` and
    /// `8..16, 24..32` (the in-lane order of `vpunpck*bw`).
    ///
    /// # Safety
    ///
    /// AVX2 must be available and `p + i .. p + i + 32` readable.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load_wide(p: *const u8, i: usize) -> (__m256i, __m256i) {
        // SAFETY: the caller guarantees the 32 bytes are readable.
        let v = unsafe { _mm256_loadu_si256(p.add(i).cast()) };
        let zero = _mm256_setzero_si256();
        (_mm256_unpacklo_epi8(v, zero), _mm256_unpackhi_epi8(v, zero))
    }

    /// Stores the 64 output bytes of 32 input columns, given the even and odd outputs in the
    /// layout [`load_wide`] gives (each lane `0..=255`), interleaved, at `dst`.
    ///
    /// # Safety
    ///
    /// AVX2 must be available and `dst` valid for writing 64 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store_pairs(even: (__m256i, __m256i), odd: (__m256i, __m256i), dst: *mut u8) {
        // Each 16-bit lane becomes the byte pair (even, odd): columns 0..8, 16..24 and 8..16,
        // 24..32.
        let lo = _mm256_or_si256(even.0, _mm256_slli_epi16::<8>(odd.0));
        let hi = _mm256_or_si256(even.1, _mm256_slli_epi16::<8>(odd.1));
        // SAFETY: the caller guarantees 64 writable bytes at `dst`.
        unsafe {
            _mm256_storeu_si256(dst.cast(), _mm256_permute2x128_si256::<0x20>(lo, hi));
            _mm256_storeu_si256(
                dst.add(32).cast(),
                _mm256_permute2x128_si256::<0x31>(lo, hi),
            );
        }
    }

    /// The general case for input columns `1..next` (32 per step); returns `next`, the first
    /// column left to the scalar code.
    ///
    /// # Safety
    ///
    /// AVX2 must be available and `out.len() == 2 * input.len()`.
    #[target_feature(enable = "avx2")]
    unsafe fn h2v1_middle(input: &[u8], out: &mut [u8]) -> usize {
        let w = input.len();
        let (one, two) = (_mm256_set1_epi16(1), _mm256_set1_epi16(2));
        let p = input.as_ptr();
        let mut i = 1;
        // Reads input[i - 1..i + 33], writes out[2 * i..2 * i + 64].
        while i + STEP < w {
            // SAFETY: i >= 1 and i + 33 <= w: the three loads are within `input`; the store is
            // within `out` (2 * i + 64 <= 2 * w).
            unsafe {
                let prev = load_wide(p, i - 1);
                let cur = load_wide(p, i);
                let next = load_wide(p, i + 1);
                let three = |v: __m256i| _mm256_add_epi16(v, _mm256_add_epi16(v, v));
                let (c0, c1) = (three(cur.0), three(cur.1));
                let even = |c: __m256i, v: __m256i| {
                    _mm256_srli_epi16::<2>(_mm256_add_epi16(_mm256_add_epi16(c, v), one))
                };
                let odd = |c: __m256i, v: __m256i| {
                    _mm256_srli_epi16::<2>(_mm256_add_epi16(_mm256_add_epi16(c, v), two))
                };
                store_pairs(
                    (even(c0, prev.0), even(c1, prev.1)),
                    (odd(c0, next.0), odd(c1, next.1)),
                    out.as_mut_ptr().add(2 * i),
                );
            }
            i += STEP;
        }
        i
    }

    /// The general case for input columns `1..next` (32 per step); returns `next`, the first
    /// column left to the scalar code.
    ///
    /// # Safety
    ///
    /// AVX2 must be available, `far.len() == near.len()` and `out.len() == 2 * near.len()`.
    #[target_feature(enable = "avx2")]
    unsafe fn h2v2_middle(near: &[u8], far: &[u8], out: &mut [u8]) -> usize {
        let w = near.len();
        let (seven, eight) = (_mm256_set1_epi16(7), _mm256_set1_epi16(8));
        let (n, f) = (near.as_ptr(), far.as_ptr());
        // 3 * near + far of the 32 columns at `i`, in 16-bit lanes (at most 1020).
        let colsum = |i: usize| {
            // SAFETY: the callers below keep `i + 32 <= w`, within both rows.
            let ((n0, n1), (f0, f1)) = unsafe { (load_wide(n, i), load_wide(f, i)) };
            let three = |v: __m256i| _mm256_add_epi16(v, _mm256_add_epi16(v, v));
            (
                _mm256_add_epi16(three(n0), f0),
                _mm256_add_epi16(three(n1), f1),
            )
        };
        let mut i = 1;
        // Reads columns i - 1..i + 33 of both rows, writes out[2 * i..2 * i + 64].
        while i + STEP < w {
            let last = colsum(i - 1);
            let this = colsum(i);
            let next = colsum(i + 1);
            let three = |v: __m256i| _mm256_add_epi16(v, _mm256_add_epi16(v, v));
            let (t0, t1) = (three(this.0), three(this.1));
            // At most 3 * 1020 + 1020 + 8 = 4088: no 16-bit overflow.
            let even = |t: __m256i, v: __m256i| {
                _mm256_srli_epi16::<4>(_mm256_add_epi16(_mm256_add_epi16(t, v), eight))
            };
            let odd = |t: __m256i, v: __m256i| {
                _mm256_srli_epi16::<4>(_mm256_add_epi16(_mm256_add_epi16(t, v), seven))
            };
            // SAFETY: 2 * i + 64 <= 2 * w = out.len().
            unsafe {
                store_pairs(
                    (even(t0, last.0), even(t1, last.1)),
                    (odd(t0, next.0), odd(t1, next.1)),
                    out.as_mut_ptr().add(2 * i),
                );
            }
            i += STEP;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filters written from their definition: the output sample `2c + j` (`j` 0 or 1) is
    /// `(3 * s[c] + s[c ± 1] + bias) / 4` with the neighbour toward it (`-` for `j` 0), the
    /// edge samples replicated, and libjpeg's biases (h2v1: 1 then 2; h2v2, on column sums
    /// `3 * near + far` over 16: 8 then 7).
    fn reference_h2v1(s: &[u8]) -> Vec<u8> {
        let w = s.len() as isize;
        let at = |c: isize| u32::from(s[c.clamp(0, w - 1) as usize]);
        (0..2 * w)
            .map(|o| {
                let (c, j) = (o / 2, o % 2);
                let nb = if j == 0 { c - 1 } else { c + 1 };
                ((3 * at(c) + at(nb) + 1 + j as u32) / 4) as u8
            })
            .collect()
    }

    fn reference_h2v2(near: &[u8], far: &[u8]) -> Vec<u8> {
        let w = near.len() as isize;
        let at = |c: isize| {
            let c = c.clamp(0, w - 1) as usize;
            3 * u32::from(near[c]) + u32::from(far[c])
        };
        (0..2 * w)
            .map(|o| {
                let (c, j) = (o / 2, o % 2);
                let nb = if j == 0 { c - 1 } else { c + 1 };
                ((3 * at(c) + at(nb) + 8 - j as u32) / 16) as u8
            })
            .collect()
    }

    use crate::util::SplitMix64 as Rng;

    /// A row of `w` samples: random, constant 0 or 255, or alternating 0 / 255.
    fn row(rng: &mut Rng, w: usize, kind: usize) -> Vec<u8> {
        match kind % 5 {
            0 => vec![0; w],
            1 => vec![255; w],
            2 => (0..w).map(|i| if i % 2 == 0 { 0 } else { 255 }).collect(),
            _ => (0..w).map(|_| (rng.next() >> 56) as u8).collect(),
        }
    }

    fn widths() -> impl Iterator<Item = usize> {
        (2..=300).chain([1023, 1024, 1025, 1920, 4095, 4097])
    }

    #[test]
    fn h2v1_simd_equals_scalar_equals_reference() {
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
        for w in widths() {
            for kind in 0..8 {
                let input = row(&mut rng, w, kind);
                let mut want = vec![0; 2 * w];
                scalar::h2v1_fancy(&input, &mut want);
                assert_eq!(want, reference_h2v1(&input), "w {w} kind {kind}");
                // One spare byte that must stay untouched.
                let mut got = vec![0x5a; 2 * w + 1];
                h2v1_fancy(&input, &mut got);
                assert_eq!(got[..2 * w], want[..], "w {w} kind {kind}");
                assert_eq!(got[2 * w], 0x5a);
            }
        }
    }

    #[test]
    fn h2v2_simd_equals_scalar_equals_reference() {
        let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
        for w in widths() {
            for kind in 0..10 {
                let near = row(&mut rng, w, kind);
                let far = row(&mut rng, w + 3, kind / 2 + 1);
                let mut want = vec![0; 2 * w];
                scalar::h2v2_fancy(&near, &far[..w], &mut want);
                assert_eq!(want, reference_h2v2(&near, &far[..w]), "w {w} kind {kind}");
                let mut got = vec![0x5a; 2 * w + 1];
                h2v2_fancy(&near, &far, &mut got);
                assert_eq!(got[..2 * w], want[..], "w {w} kind {kind}");
                assert_eq!(got[2 * w], 0x5a);
            }
        }
    }

    /// Spot values of the C code's output, worked by hand.
    #[test]
    fn known_values() {
        let mut out = [0; 6];
        scalar::h2v1_fancy(&[0, 4, 8], &mut out);
        // (0, (0+4+2)/4), ((12+0+1)/4, (12+8+2)/4), ((24+4+1)/4, 8)
        assert_eq!(out, [0, 1, 3, 5, 7, 8]);
        scalar::h2v2_fancy(&[16, 16, 16], &[0, 0, 0], &mut out);
        // colsums 48: (192+8)/16 = 12, (192+7)/16 = 12, ... (192+7)/16 = 12.
        assert_eq!(out, [12; 6]);
        scalar::h2v2_fancy(&[255; 3], &[255; 3], &mut out);
        assert_eq!(out, [255; 6]);
    }

    #[test]
    fn lengths_are_checked() {
        assert!(std::panic::catch_unwind(|| h2v1_fancy(&[1], &mut [0; 2])).is_err());
        assert!(std::panic::catch_unwind(|| h2v1_fancy(&[1, 2, 3], &mut [0; 5])).is_err());
        assert!(std::panic::catch_unwind(|| h2v2_fancy(&[1; 4], &[1; 3], &mut [0; 8])).is_err());
        assert!(std::panic::catch_unwind(|| h2v2_fancy(&[1; 4], &[1; 4], &mut [0; 7])).is_err());
    }
}
