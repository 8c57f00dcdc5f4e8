//! libjpeg's YCbCr to RGB conversion (`ycc_rgb_convert` in `jdcolext.c`, tables from
//! `build_ycc_rgb_table` in `jdcolor.c`), bit for bit, plus a variant that goes straight on to
//! Pillow's grey (`convert("L")` of those RGB pixels).
//!
//! * [`scalar`]: a line-for-line, table-driven port of the C; the oracle.
//! * `avx512` (x86-64 with AVX-512BW): the grey variant only, `avx2`'s arithmetic on 32 pixels
//!   per step.
//! * `avx2` (x86-64): 16 pixels per step. The tables are linear in `x = c - 128`, so each entry
//!   is computed with the integer expression and rounding the C uses to fill it
//!   (`(a * x + ONE_HALF) >> 16`, arithmetic shift), split so that `vpmaddwd` does it on 16-bit
//!   lanes exactly (see the module); saturating packs do the range limiting (`0..=255`).
//!   Exhaustively tested equal to [`scalar`] over all 2^24 inputs.
//!
//! The public functions check the slice lengths and dispatch on [`Avx512::new`] (grey) and
//! [`Avx2::new`].

#[cfg(target_arch = "x86_64")]
use crate::arch::x86::{Avx2, Avx512};

/// libjpeg's `SCALEBITS`.
const SCALEBITS: u32 = 16;
/// libjpeg's `ONE_HALF`: `1 << (SCALEBITS - 1)`.
const ONE_HALF: i64 = 1 << (SCALEBITS - 1);
/// `FIX(1.40200)`: `(JLONG)(1.40200 * 65536 + 0.5)`.
const FIX_1_40200: i64 = 91881;
/// `FIX(1.77200)`.
const FIX_1_77200: i64 = 116130;
/// `FIX(0.71414)`.
const FIX_0_71414: i64 = 46802;
/// `FIX(0.34414)`.
const FIX_0_34414: i64 = 22554;

// Pillow's `rgb2l`, the grey the imagehash family converts to.
use crate::algo::imagehash::pillow::luma;

/// Converts one row: `y`, `cb` and `cr` hold the row's samples (`y.len()` pixels; `cb` and `cr`
/// at least as many), `rgb` receives `3 * y.len()` bytes, R, G, B per pixel (bytes past that
/// are left alone).
///
/// # Panics
///
/// If `cb`, `cr` or `rgb` is too short (a caller bug).
pub(crate) fn ycc_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], rgb: &mut [u8]) {
    let n = y.len();
    assert!(
        cb.len() >= n && cr.len() >= n && rgb.len() >= 3 * n,
        "ycc_to_rgb: rows too short"
    );
    let (cb, cr, rgb) = (&cb[..n], &cr[..n], &mut rgb[..3 * n]);
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = Avx2::new() {
        return avx2::ycc_to_rgb(token, y, cb, cr, rgb);
    }
    scalar::ycc_to_rgb(y, cb, cr, rgb);
}

/// Converts one row to Pillow's grey of the RGB [`ycc_to_rgb`] gives: `grey` receives
/// `y.len()` bytes; `cb` and `cr` hold at least `y.len()` samples.
///
/// # Panics
///
/// If `cb`, `cr` or `grey` is too short (a caller bug).
pub(crate) fn ycc_to_luma(y: &[u8], cb: &[u8], cr: &[u8], grey: &mut [u8]) {
    let n = y.len();
    assert!(
        cb.len() >= n && cr.len() >= n && grey.len() >= n,
        "ycc_to_luma: rows too short"
    );
    let (cb, cr, grey) = (&cb[..n], &cr[..n], &mut grey[..n]);
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = Avx512::new() {
        return avx512::ycc_to_luma(token, y, cb, cr, grey);
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = Avx2::new() {
        return avx2::ycc_to_luma(token, y, cb, cr, grey);
    }
    scalar::ycc_to_luma(y, cb, cr, grey);
}

/// The C, ported line for line: the oracle.
pub(crate) mod scalar {
    use super::{luma, FIX_0_34414, FIX_0_71414, FIX_1_40200, FIX_1_77200, ONE_HALF, SCALEBITS};

    /// `MAXJSAMPLE + 1`.
    const N: usize = 256;
    /// `CENTERJSAMPLE`.
    const CENTER: i64 = 128;

    /// The four tables of `build_ycc_rgb_table` (`int` and `JLONG` as on LP64).
    struct Tables {
        cr_r: [i32; N],
        cb_b: [i32; N],
        cr_g: [i64; N],
        cb_g: [i64; N],
    }

    const fn build_ycc_rgb_table() -> Tables {
        let mut t = Tables {
            cr_r: [0; N],
            cb_b: [0; N],
            cr_g: [0; N],
            cb_g: [0; N],
        };
        let mut i = 0;
        let mut x = -CENTER;
        while i < N {
            t.cr_r[i] = ((FIX_1_40200 * x + ONE_HALF) >> SCALEBITS) as i32;
            t.cb_b[i] = ((FIX_1_77200 * x + ONE_HALF) >> SCALEBITS) as i32;
            t.cr_g[i] = (-FIX_0_71414) * x;
            t.cb_g[i] = (-FIX_0_34414) * x + ONE_HALF;
            i += 1;
            x += 1;
        }
        t
    }

    static TABLES: Tables = build_ycc_rgb_table();

    /// Offset of index 0 in [`RANGE_LIMIT`] (`MAXJSAMPLE + 1` negative subscripts).
    const LIMIT_ZERO: usize = N;

    /// The "simple" part of `prepare_range_limit_table` (`jdmaster.c`): `limit[x]` is 0 for
    /// `-256 <= x < 0`, `x` for `0..=255`, 255 for `256 <= x < 640`.
    const fn prepare_range_limit_table() -> [u8; N + N + 3 * N / 2] {
        let mut t = [0u8; N + N + 3 * N / 2];
        let mut i = 0;
        while i < N {
            t[LIMIT_ZERO + i] = i as u8;
            i += 1;
        }
        let mut i = LIMIT_ZERO + N;
        while i < t.len() {
            t[i] = 255;
            i += 1;
        }
        t
    }

    static RANGE_LIMIT: [u8; N + N + 3 * N / 2] = prepare_range_limit_table();

    /// `range_limit[v]`; `v` is in `-256..640` for every input (it is in `-227..=481`).
    #[inline(always)]
    fn limit(v: i32) -> u8 {
        RANGE_LIMIT[(LIMIT_ZERO as i32 + v) as usize]
    }

    /// One pixel of `ycc_rgb_convert_internal`.
    #[inline(always)]
    pub(crate) fn pixel(y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let t = &TABLES;
        let (y, cb, cr) = (i32::from(y), usize::from(cb), usize::from(cr));
        [
            limit(y + t.cr_r[cr]),
            limit(y + ((t.cb_g[cb] + t.cr_g[cr]) >> SCALEBITS) as i32),
            limit(y + t.cb_b[cb]),
        ]
    }

    /// [`super::ycc_to_rgb`] for equal-length rows (`rgb` 3 bytes a pixel).
    pub(crate) fn ycc_to_rgb(y: &[u8], cb: &[u8], cr: &[u8], rgb: &mut [u8]) {
        for (((out, &y), &cb), &cr) in rgb.chunks_exact_mut(3).zip(y).zip(cb).zip(cr) {
            out.copy_from_slice(&pixel(y, cb, cr));
        }
    }

    /// [`super::ycc_to_luma`] for equal-length rows.
    pub(crate) fn ycc_to_luma(y: &[u8], cb: &[u8], cr: &[u8], grey: &mut [u8]) {
        for (((out, &y), &cb), &cr) in grey.iter_mut().zip(y).zip(cb).zip(cr) {
            let [r, g, b] = pixel(y, cb, cr);
            *out = luma(r, g, b);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{scalar, FIX_0_34414, FIX_0_71414, FIX_1_40200, FIX_1_77200, ONE_HALF};
    use crate::arch::x86::Avx2;

    /// Pixels per step.
    const STEP: usize = 16;

    // The tables, split so that `vpmaddwd` computes them from 16-bit `x` exactly. For an
    // integer `k`, `(65536 * k * x + v) >> 16 == k * x + (v >> 16)` (arithmetic shift), so
    // with each constant written `65536 * k + c` (`c` a 16-bit multiplier):
    //
    // * `Cr_r_tab[cr] = xr + ((CR_R * xr + ONE_HALF) >> 16)`, `FIX(1.40200) = 65536 + CR_R`;
    // * `Cb_b_tab[cb] = 2 * xb + ((CB_B * xb + ONE_HALF) >> 16)`, `FIX(1.77200) = 131072 + CB_B`;
    // * `(Cb_g_tab[cb] + Cr_g_tab[cr]) >> 16 = -xr + ((G_B * xb + G_R * xr + ONE_HALF) >> 16)`,
    //   `-FIX(0.71414) = -65536 + G_R`, `G_B = -FIX(0.34414)`.
    pub(super) const CR_R: i16 = (FIX_1_40200 - 65536) as i16;
    pub(super) const CB_B: i16 = (FIX_1_77200 - 131072) as i16;
    pub(super) const G_B: i16 = -FIX_0_34414 as i16;
    pub(super) const G_R: i16 = (65536 - FIX_0_71414) as i16;
    // Pillow's grey likewise: `19595 * r + 38470 * g + 7471 * b + 0x8000 =
    // 65536 * g + (19595 * r + L_G * g + 7471 * b + 0x8000)`, `L_G = 38470 - 65536`.
    pub(super) const L_G: i16 = (38470 - 65536) as i16;

    pub(super) fn ycc_to_rgb(_token: Avx2, y: &[u8], cb: &[u8], cr: &[u8], rgb: &mut [u8]) {
        assert!(cb.len() == y.len() && cr.len() == y.len() && rgb.len() == 3 * y.len());
        // SAFETY: the token proves AVX2; the lengths are checked above.
        unsafe { rgb_rows(y, cb, cr, rgb) }
    }

    pub(super) fn ycc_to_luma(_token: Avx2, y: &[u8], cb: &[u8], cr: &[u8], grey: &mut [u8]) {
        assert!(cb.len() == y.len() && cr.len() == y.len() && grey.len() == y.len());
        // SAFETY: the token proves AVX2; the lengths are checked above.
        unsafe { luma_rows(y, cb, cr, grey) }
    }

    /// Two 16-bit multipliers as the `vpmaddwd` operand `(a, b)` for pairs `(p, q)`:
    /// `a * p + b * q` in each 32-bit lane.
    #[inline(always)]
    pub(super) fn pair(a: i16, b: i16) -> i32 {
        i32::from(a as u16) | (i32::from(b) << 16)
    }

    /// `(a * p + b * q + ONE_HALF) >> 16` for the 16 pixels whose pairs `(p, q)` are in `lo`
    /// (`vpunpcklwd` of them) and `hi` (`vpunpckhwd`), back in 16-bit lanes in pixel order
    /// (`vpackssdw` undoes the unpacking; the values fit in 16 bits).
    ///
    /// # Safety
    ///
    /// AVX2 must be available.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn madd_round(lo: __m256i, hi: __m256i, ab: i32) -> __m256i {
        let (ab, half) = (_mm256_set1_epi32(ab), _mm256_set1_epi32(ONE_HALF as i32));
        let f =
            |v: __m256i| _mm256_srai_epi32::<16>(_mm256_add_epi32(_mm256_madd_epi16(v, ab), half));
        _mm256_packs_epi32(f(lo), f(hi))
    }

    /// The unclamped R, G and B (`y + table value`, in `-227..=481`) of the 16 pixels at `i`,
    /// in 16-bit lanes in pixel order.
    ///
    /// # Safety
    ///
    /// AVX2 must be available and `i + 16` at most each row's length.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn rgb16(y: &[u8], cb: &[u8], cr: &[u8], i: usize) -> [__m256i; 3] {
        // SAFETY: `i + 16 <= len` for each row (the caller's guarantee).
        let (y, cb, cr) = unsafe {
            (
                _mm_loadu_si128(y.as_ptr().add(i).cast()),
                _mm_loadu_si128(cb.as_ptr().add(i).cast()),
                _mm_loadu_si128(cr.as_ptr().add(i).cast()),
            )
        };
        let center = _mm256_set1_epi16(128);
        let y = _mm256_cvtepu8_epi16(y);
        let xb = _mm256_sub_epi16(_mm256_cvtepu8_epi16(cb), center);
        let xr = _mm256_sub_epi16(_mm256_cvtepu8_epi16(cr), center);
        let (lo, hi) = (_mm256_unpacklo_epi16(xb, xr), _mm256_unpackhi_epi16(xb, xr));
        // SAFETY: AVX2 is available (this function's contract).
        let (r, g, b) = unsafe {
            (
                madd_round(lo, hi, pair(0, CR_R)),
                madd_round(lo, hi, pair(G_B, G_R)),
                madd_round(lo, hi, pair(CB_B, 0)),
            )
        };
        [
            _mm256_add_epi16(_mm256_add_epi16(y, xr), r),
            _mm256_add_epi16(_mm256_sub_epi16(y, xr), g),
            _mm256_add_epi16(_mm256_add_epi16(y, _mm256_add_epi16(xb, xb)), b),
        ]
    }

    /// The `pshufb` masks that interleave 16 R, G and B bytes into 48 RGB bytes: `[chunk]
    /// [channel]` moves the bytes of `channel` that belong in output bytes
    /// `16 * chunk..16 * chunk + 16` and zeroes the others.
    const INTERLEAVE: [[[u8; 16]; 3]; 3] = {
        let mut m = [[[0x80u8; 16]; 3]; 3];
        let mut k = 0;
        while k < 48 {
            m[k / 16][k % 3][k % 16] = (k / 3) as u8;
            k += 1;
        }
        m
    };

    /// Clamps the 16-bit lanes of R, G and B to `0..=255` (libjpeg's range limit), interleaves
    /// them and stores the 48 bytes at `dst`.
    ///
    /// # Safety
    ///
    /// AVX2 must be available and `dst` valid for writing 48 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store_rgb48([r, g, b]: [__m256i; 3], dst: *mut u8) {
        // Saturating packs: R0-7, B0-7 | R8-15, B8-15 and G0-7, G0-7 | G8-15, G8-15, then the
        // 64-bit quarters put in order.
        let rb = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi16(r, b));
        let gg = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi16(g, g));
        let (r, g, b) = (
            _mm256_castsi256_si128(rb),
            _mm256_castsi256_si128(gg),
            _mm256_extracti128_si256::<1>(rb),
        );
        for (chunk, masks) in INTERLEAVE.iter().enumerate() {
            // SAFETY: each mask is 16 readable bytes (unaligned loads); `dst + 16 * chunk` is
            // valid for 16 bytes as `chunk < 3` and `dst` for 48 (the caller's guarantee).
            unsafe {
                let m = |c: usize| _mm_loadu_si128(masks[c].as_ptr().cast());
                let v = _mm_or_si128(
                    _mm_or_si128(_mm_shuffle_epi8(r, m(0)), _mm_shuffle_epi8(g, m(1))),
                    _mm_shuffle_epi8(b, m(2)),
                );
                _mm_storeu_si128(dst.add(16 * chunk).cast(), v);
            }
        }
    }

    /// # Safety
    ///
    /// AVX2 must be available; `cb`, `cr` as long as `y`, `rgb` three times as long.
    #[target_feature(enable = "avx2")]
    unsafe fn rgb_rows(y: &[u8], cb: &[u8], cr: &[u8], rgb: &mut [u8]) {
        let n = y.len();
        let mut i = 0;
        while i + STEP <= n {
            // SAFETY: i + 16 <= n, the length of each input row; rgb holds 3 * n >= 3 * i + 48
            // bytes.
            unsafe { store_rgb48(rgb16(y, cb, cr, i), rgb.as_mut_ptr().add(3 * i)) };
            i += STEP;
        }
        scalar::ycc_to_rgb(&y[i..], &cb[i..], &cr[i..], &mut rgb[3 * i..]);
    }

    /// # Safety
    ///
    /// AVX2 must be available; `cb`, `cr` and `grey` as long as `y`.
    #[target_feature(enable = "avx2")]
    unsafe fn luma_rows(y: &[u8], cb: &[u8], cr: &[u8], grey: &mut [u8]) {
        let n = y.len();
        let (zero, max) = (_mm256_setzero_si256(), _mm256_set1_epi16(255));
        let clamp = |v: __m256i| _mm256_min_epi16(_mm256_max_epi16(v, zero), max);
        // (b, 2) pairs times (7471, 16384): 7471 * b + 0x8000.
        let (two, rg, b1) = (
            _mm256_set1_epi16(2),
            _mm256_set1_epi32(pair(19595, L_G)),
            _mm256_set1_epi32(pair(7471, 16384)),
        );
        let mut i = 0;
        while i + STEP <= n {
            // SAFETY: i + 16 <= n, the length of each row, input and output.
            unsafe {
                let [r, g, b] = rgb16(y, cb, cr, i).map(clamp);
                let part = |p: __m256i, q: __m256i| {
                    _mm256_srai_epi32::<16>(_mm256_add_epi32(
                        _mm256_madd_epi16(p, rg),
                        _mm256_madd_epi16(q, b1),
                    ))
                };
                let lo = part(_mm256_unpacklo_epi16(r, g), _mm256_unpacklo_epi16(b, two));
                let hi = part(_mm256_unpackhi_epi16(r, g), _mm256_unpackhi_epi16(b, two));
                // g + (19595 r + L_G g + 7471 b + 0x8000) >> 16, in 0..=255.
                let l = _mm256_add_epi16(_mm256_packs_epi32(lo, hi), g);
                let l = _mm256_permute4x64_epi64::<0b00_00_10_00>(_mm256_packus_epi16(l, l));
                _mm_storeu_si128(grey.as_mut_ptr().add(i).cast(), _mm256_castsi256_si128(l));
            }
            i += STEP;
        }
        scalar::ycc_to_luma(&y[i..], &cb[i..], &cr[i..], &mut grey[i..]);
    }
}

/// [`avx2`]'s grey conversion on 512-bit vectors: the same lane-wise arithmetic (unpacks and
/// packs work within 128-bit lanes alike), 32 pixels a step.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::avx2::{pair, CB_B, CR_R, G_B, G_R, L_G};
    use super::{scalar, ONE_HALF};
    use crate::arch::x86::Avx512;

    /// Pixels per step.
    const STEP: usize = 32;

    pub(super) fn ycc_to_luma(_token: Avx512, y: &[u8], cb: &[u8], cr: &[u8], grey: &mut [u8]) {
        assert!(cb.len() == y.len() && cr.len() == y.len() && grey.len() == y.len());
        // SAFETY: the token proves AVX-512F/BW; the lengths are checked above.
        unsafe { luma_rows(y, cb, cr, grey) }
    }

    /// # Safety
    ///
    /// AVX-512F and BW must be available; `cb`, `cr` and `grey` as long as `y`.
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn luma_rows(y: &[u8], cb: &[u8], cr: &[u8], grey: &mut [u8]) {
        let n = y.len();
        let (zero, max) = (_mm512_setzero_si512(), _mm512_set1_epi16(255));
        let half = _mm512_set1_epi32(ONE_HALF as i32);
        let center = _mm512_set1_epi16(128);
        // `(a * p + b * q + ONE_HALF) >> 16` of the pairs in `lo` and `hi`, packed back.
        let madd_round = |lo: __m512i, hi: __m512i, ab: i32| {
            let ab = _mm512_set1_epi32(ab);
            let f = |v| _mm512_srai_epi32::<16>(_mm512_add_epi32(_mm512_madd_epi16(v, ab), half));
            _mm512_packs_epi32(f(lo), f(hi))
        };
        let (two, rg, b1) = (
            _mm512_set1_epi16(2),
            _mm512_set1_epi32(pair(19595, L_G)),
            _mm512_set1_epi32(pair(7471, 16384)),
        );
        let mut i = 0;
        while i + STEP <= n {
            // SAFETY: i + 32 <= n, the length of each row, input and output.
            unsafe {
                let load =
                    |s: &[u8]| _mm512_cvtepu8_epi16(_mm256_loadu_si256(s.as_ptr().add(i).cast()));
                let yv = load(y);
                let xb = _mm512_sub_epi16(load(cb), center);
                let xr = _mm512_sub_epi16(load(cr), center);
                let (lo, hi) = (_mm512_unpacklo_epi16(xb, xr), _mm512_unpackhi_epi16(xb, xr));
                let clamp = |v| _mm512_min_epi16(_mm512_max_epi16(v, zero), max);
                let r = clamp(_mm512_add_epi16(
                    _mm512_add_epi16(yv, xr),
                    madd_round(lo, hi, pair(0, CR_R)),
                ));
                let g = clamp(_mm512_add_epi16(
                    _mm512_sub_epi16(yv, xr),
                    madd_round(lo, hi, pair(G_B, G_R)),
                ));
                let b = clamp(_mm512_add_epi16(
                    _mm512_add_epi16(yv, _mm512_add_epi16(xb, xb)),
                    madd_round(lo, hi, pair(CB_B, 0)),
                ));
                let part = |p, q| {
                    _mm512_srai_epi32::<16>(_mm512_add_epi32(
                        _mm512_madd_epi16(p, rg),
                        _mm512_madd_epi16(q, b1),
                    ))
                };
                let lo = part(_mm512_unpacklo_epi16(r, g), _mm512_unpacklo_epi16(b, two));
                let hi = part(_mm512_unpackhi_epi16(r, g), _mm512_unpackhi_epi16(b, two));
                // g + (19595 r + L_G g + 7471 b + 0x8000) >> 16, in 0..=255.
                let l = _mm512_add_epi16(_mm512_packs_epi32(lo, hi), g);
                _mm256_storeu_si256(grey.as_mut_ptr().add(i).cast(), _mm512_cvtepi16_epi8(l));
            }
            i += STEP;
        }
        scalar::ycc_to_luma(&y[i..], &cb[i..], &cr[i..], &mut grey[i..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `FIX(x)` as the C macro computes it.
    fn fix(x: f64) -> i64 {
        (x * 65536.0 + 0.5) as i64
    }

    #[test]
    fn constants_are_the_c_macros() {
        assert_eq!(FIX_1_40200, fix(1.40200));
        assert_eq!(FIX_1_77200, fix(1.77200));
        assert_eq!(FIX_0_71414, fix(0.71414));
        assert_eq!(FIX_0_34414, fix(0.34414));
        assert_eq!(ONE_HALF, 32768);
    }

    /// The conversion written out directly from the C expressions, without tables.
    fn reference(y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let (y, xb, xr) = (i64::from(y), i64::from(cb) - 128, i64::from(cr) - 128);
        let clamp = |v: i64| v.clamp(0, 255) as u8;
        let r = y + ((fix(1.402) * xr + 32768) >> 16);
        let g = y + ((-fix(0.34414) * xb + 32768 - fix(0.71414) * xr) >> 16);
        let b = y + ((fix(1.772) * xb + 32768) >> 16);
        [clamp(r), clamp(g), clamp(b)]
    }

    fn reference_luma(y: u8, cb: u8, cr: u8) -> u8 {
        let [r, g, b] = reference(y, cb, cr).map(u64::from);
        ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) as u8
    }

    /// Spot values of the C code's output (computed by hand from the tables).
    #[test]
    fn scalar_known_values() {
        assert_eq!(scalar::pixel(128, 128, 128), [128, 128, 128]);
        assert_eq!(scalar::pixel(0, 128, 128), [0, 0, 0]);
        assert_eq!(scalar::pixel(255, 128, 128), [255, 255, 255]);
        // Cr = 255: x = 127, Cr_r = (91881 * 127 + 32768) >> 16 = 178.
        assert_eq!(scalar::pixel(50, 128, 255), [228, 0, 50]);
        // Cb = 0: x = -128, Cb_b = (-116130 * 128 + 32768) >> 16 = -227 (floor).
        assert_eq!(scalar::pixel(250, 0, 128), [250, 255, 23]);
    }

    /// Every (y, cb, cr) in rows of varying lengths (so that the SIMD tails run too): the
    /// public functions (AVX-512 or AVX2 where the CPU has it) and the AVX2 grey equal the
    /// scalar port.
    /// A pixel's index in the cube is `y << 16 | cb << 8 | cr`.
    #[test]
    fn exhaustive_all_inputs() {
        const TOTAL: usize = 1 << 24;
        const LENS: [usize; 6] = [4096, 4093, 15, 4095, 17, 1];
        let (mut y, mut cb, mut cr) = (vec![0; 4096], vec![0; 4096], vec![0; 4096]);
        let (mut want_rgb, mut got_rgb) = (vec![0; 3 * 4096], vec![0; 3 * 4096]);
        let (mut want_l, mut got_l) = (vec![0; 4096], vec![0; 4096]);
        let (mut start, mut step) = (0, 0);
        while start < TOTAL {
            let n = LENS[step % LENS.len()].min(TOTAL - start);
            step += 1;
            for (k, idx) in (start..start + n).enumerate() {
                y[k] = (idx >> 16) as u8;
                cb[k] = (idx >> 8) as u8;
                cr[k] = idx as u8;
            }
            let (y, cb, cr) = (&y[..n], &cb[..n], &cr[..n]);
            scalar::ycc_to_rgb(y, cb, cr, &mut want_rgb[..3 * n]);
            ycc_to_rgb(y, cb, cr, &mut got_rgb[..3 * n]);
            scalar::ycc_to_luma(y, cb, cr, &mut want_l[..n]);
            ycc_to_luma(y, cb, cr, &mut got_l[..n]);
            // The AVX2 grey too where the public function takes the AVX-512 one.
            #[cfg(target_arch = "x86_64")]
            if let (Some(_), Some(token)) = (Avx512::new(), Avx2::new()) {
                let mut l2 = vec![0; n];
                avx2::ycc_to_luma(token, y, cb, cr, &mut l2);
                assert!(l2 == want_l[..n], "AVX2 grey, a row of {n} at {start}");
            }
            if got_rgb[..3 * n] != want_rgb[..3 * n] || got_l[..n] != want_l[..n] {
                for k in 0..n {
                    assert_eq!(
                        (&got_rgb[3 * k..3 * k + 3], got_l[k]),
                        (&want_rgb[3 * k..3 * k + 3], want_l[k]),
                        "pixel {k} of a row of {n}: ycc {} {} {}",
                        y[k],
                        cb[k],
                        cr[k]
                    );
                }
            }
            start += n;
        }
    }

    /// The scalar port (rows of 65536 pixels: one `y`, every `cb`, `cr`) equals the formula
    /// on the whole cube.
    #[test]
    fn scalar_is_the_formula() {
        let cb: Vec<u8> = (0..1 << 16).map(|i| (i >> 8) as u8).collect();
        let cr: Vec<u8> = (0..1 << 16).map(|i| i as u8).collect();
        let (mut rgb, mut grey) = (vec![0; 3 << 16], vec![0; 1 << 16]);
        for y in 0..=255u8 {
            let ys = vec![y; 1 << 16];
            scalar::ycc_to_rgb(&ys, &cb, &cr, &mut rgb);
            scalar::ycc_to_luma(&ys, &cb, &cr, &mut grey);
            for k in 0..1 << 16 {
                let (b, r) = (cb[k], cr[k]);
                assert_eq!(rgb[3 * k..3 * k + 3], reference(y, b, r), "ycc {y} {b} {r}");
                assert_eq!(grey[k], reference_luma(y, b, r), "ycc {y} {b} {r}");
            }
        }
    }

    #[test]
    fn lengths_are_checked_and_extra_bytes_untouched() {
        let (y, c) = ([10u8; 20], [200u8; 25]);
        let mut rgb = [7u8; 70];
        ycc_to_rgb(&y, &c, &c, &mut rgb);
        assert!(rgb[60..].iter().all(|&b| b == 7));
        let mut grey = [7u8; 21];
        ycc_to_luma(&y, &c, &c, &mut grey);
        assert_eq!(grey[20], 7);
        ycc_to_rgb(&[], &[], &[], &mut []);
        assert!(std::panic::catch_unwind(|| ycc_to_rgb(&y, &c, &c, &mut [0; 59])).is_err());
        assert!(std::panic::catch_unwind(|| ycc_to_luma(&y, &c[..19], &c, &mut [0; 20])).is_err());
    }
}
