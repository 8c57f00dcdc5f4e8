//! AVX2 pieces of the fast path: 8x8 f32 transposes between row-major rows and strips of lanes.
//!
//! Everything else of the AVX2 kernel is the portable code of `fast.rs` compiled with AVX2
//! enabled (this module's [`Strips::downsample`]). These functions are reached only through
//! [`Avx2`], [`crate::arch`]'s token that exists only where the cached detection found AVX2, so
//! they never run on a CPU without it. Transposes move values without arithmetic, so they cannot
//! change a result. This module imports `fast.rs`, never the other way round.

use std::ops::Range;

use std::arch::x86_64::{
    __m128i, __m256, _mm256_add_pd, _mm256_add_ps, _mm256_cvtepi32_pd, _mm256_cvtepi32_ps,
    _mm256_cvtpd_ps, _mm256_loadu_ps, _mm256_mul_pd, _mm256_mul_ps, _mm256_permute2f128_ps,
    _mm256_set1_pd, _mm256_set1_ps, _mm256_set_m128i, _mm256_setzero_ps, _mm256_shuffle_ps,
    _mm256_storeu_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps, _mm_loadu_si128, _mm_shuffle_epi8,
    _mm_storeu_ps,
};

use super::core::Mat64;
use super::fast::{
    downsample_impl, lanes_to_ring_scalar, luma_row_scalar, rows_to_lanes_scalar, Lane, Strips, L,
};
use super::LumaMode;
use crate::arch::x86::Avx2;
use crate::image::{PixelBuffer, PixelLayout};

/// [`downsample_impl`] compiled with AVX2.
///
/// # Safety
///
/// The CPU must support AVX2 (the token proves it).
#[target_feature(enable = "avx2")]
unsafe fn downsample_avx2(token: Avx2, px: &PixelBuffer<'_>, mode: LumaMode) -> Mat64 {
    downsample_impl(token, px, mode)
}

impl Strips for Avx2 {
    #[inline(always)]
    fn downsample(self, px: &PixelBuffer<'_>, mode: LumaMode) -> Mat64 {
        // SAFETY: an `Avx2` exists only where the cached detection found AVX2.
        unsafe { downsample_avx2(self, px, mode) }
    }

    #[inline(always)]
    fn luma_row(self, row: &[u8], layout: PixelLayout, mode: LumaMode, out: &mut [f32]) {
        // SAFETY: an `Avx2` exists only where the cached detection found AVX2.
        let done = unsafe {
            match (layout, mode) {
                (PixelLayout::Luma8, _) => 0,
                (PixelLayout::Rgb8, LumaMode::Float64) => luma_avx2::<3, 0, 1, 2, true>(row, out),
                (PixelLayout::Rgb8, LumaMode::Float32) => luma_avx2::<3, 0, 1, 2, false>(row, out),
                (PixelLayout::Rgba8, LumaMode::Float64) => luma_avx2::<4, 0, 1, 2, true>(row, out),
                (PixelLayout::Rgba8, LumaMode::Float32) => luma_avx2::<4, 0, 1, 2, false>(row, out),
                (PixelLayout::Bgra8, LumaMode::Float64) => luma_avx2::<4, 2, 1, 0, true>(row, out),
                (PixelLayout::Bgra8, LumaMode::Float32) => luma_avx2::<4, 2, 1, 0, false>(row, out),
            }
        };
        luma_row_scalar(row, layout, mode, out, done);
    }

    #[inline(always)]
    fn rows_to_lanes(self, rows: &[f32], w: usize, lanes: &mut [Lane]) {
        // SAFETY: an `Avx2` exists only where the cached detection found AVX2.
        unsafe { rows_to_lanes_avx2(rows, w, lanes) }
    }

    #[inline(always)]
    fn lanes_to_ring(self, lanes: &[Lane], rows: Range<usize>, ring: &mut [f32], w: usize) {
        // SAFETY: an `Avx2` exists only where the cached detection found AVX2.
        unsafe { lanes_to_ring_avx2(lanes, rows, ring, w) }
    }
}

/// Transposes eight vectors: output `c` holds element `c` of each input, in input order.
///
/// # Safety
///
/// The CPU must support AVX2.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// `lanes[x][l] = rows[l * w + x]` for `l < L`, `x < w`.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
unsafe fn rows_to_lanes_avx2(rows: &[f32], w: usize, lanes: &mut [Lane]) {
    assert!(rows.len() >= L * w && lanes.len() >= w);
    let full = w / 8 * 8;
    for x0 in (0..full).step_by(8) {
        for half in 0..L / 8 {
            let mut r = [_mm256_setzero_ps(); 8];
            for (i, v) in r.iter_mut().enumerate() {
                let src = &rows[(half * 8 + i) * w + x0..][..8];
                // SAFETY: `src` holds 8 floats.
                *v = unsafe { _mm256_loadu_ps(src.as_ptr()) };
            }
            // SAFETY: this function runs only where AVX2 is present.
            let c = unsafe { transpose8(r) };
            for (i, v) in c.into_iter().enumerate() {
                let dst = &mut lanes[x0 + i][half * 8..half * 8 + 8];
                // SAFETY: `dst` holds 8 floats.
                unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) };
            }
        }
    }
    rows_to_lanes_scalar(rows, w, lanes, full);
}

/// Ring row `r` (slot `r` modulo the ring's rows) gets lane `r - rows.start` of `lanes`, for
/// each `r` of `rows` (at most [`L`] rows).
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
unsafe fn lanes_to_ring_avx2(lanes: &[Lane], rows: Range<usize>, ring: &mut [f32], w: usize) {
    if rows.len() < L {
        lanes_to_ring_scalar(lanes, rows, ring, w, 0);
        return;
    }
    let first_row = rows.start;
    let ring_rows = ring.len() / w;
    assert!(lanes.len() >= w && ring_rows >= L);
    let full = w / 8 * 8;
    let mut slots = [0usize; L];
    for (l, s) in slots.iter_mut().enumerate() {
        *s = (first_row + l) % ring_rows;
    }
    for x0 in (0..full).step_by(8) {
        for half in 0..L / 8 {
            let mut r = [_mm256_setzero_ps(); 8];
            for (i, v) in r.iter_mut().enumerate() {
                let src = &lanes[x0 + i][half * 8..half * 8 + 8];
                // SAFETY: `src` holds 8 floats.
                *v = unsafe { _mm256_loadu_ps(src.as_ptr()) };
            }
            // SAFETY: this function runs only where AVX2 is present.
            let c = unsafe { transpose8(r) };
            for (i, v) in c.into_iter().enumerate() {
                let dst = &mut ring[slots[half * 8 + i] * w + x0..][..8];
                // SAFETY: `dst` holds 8 floats.
                unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), v) };
            }
        }
    }
    lanes_to_ring_scalar(lanes, rows, ring, w, full);
}

/// A `pshufb` mask that gathers channel byte `c` of 4 pixels of `bpp` bytes starting at byte
/// `base` into 4 zero-extended 32-bit integers.
const fn channel_mask(base: usize, bpp: usize, c: usize) -> [u8; 16] {
    let mut m = [0x80u8; 16];
    let mut i = 0;
    while i < 4 {
        m[4 * i] = (base + i * bpp + c) as u8;
        i += 1;
    }
    m
}

/// Luma of the first pixels of an RGB(A) row, 8 at a time, in exactly the arithmetic of
/// `luma_f64` (`F64`) or `luma_f32`; returns how many pixels it did (the rest is for the
/// scalar code).
///
/// Each block of 8 pixels is read as two 16-byte loads, the first at the block start and the
/// second ending at the block end, so no byte past the block is read.
///
/// # Safety
///
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
unsafe fn luma_avx2<
    const BPP: usize,
    const R: usize,
    const G: usize,
    const B: usize,
    const F64: bool,
>(
    row: &[u8],
    out: &mut [f32],
) -> usize {
    // Pixels 0..4 of a block sit at byte 0 of the first load; pixels 4..8 at byte
    // 4 * BPP - (8 * BPP - 16) of the second.
    let hi_base = 16 - 4 * BPP;
    let load = |m: [u8; 16]| {
        // SAFETY: `m` is 16 bytes.
        unsafe { _mm_loadu_si128(m.as_ptr().cast::<__m128i>()) }
    };
    let masks_lo = [
        channel_mask(0, BPP, R),
        channel_mask(0, BPP, G),
        channel_mask(0, BPP, B),
    ]
    .map(load);
    let masks_hi = [
        channel_mask(hi_base, BPP, R),
        channel_mask(hi_base, BPP, G),
        channel_mask(hi_base, BPP, B),
    ]
    .map(load);
    let n = out.len().min(row.len() / BPP) / 8 * 8;
    for (block, o8) in row[..n * BPP]
        .chunks_exact(8 * BPP)
        .zip(out.chunks_exact_mut(8))
    {
        // SAFETY: both loads lie within `block` (8 * BPP >= 24 bytes).
        let (lo, hi) = unsafe {
            (
                _mm_loadu_si128(block.as_ptr().cast::<__m128i>()),
                _mm_loadu_si128(block[8 * BPP - 16..].as_ptr().cast::<__m128i>()),
            )
        };
        let ch = |c: usize| {
            (
                _mm_shuffle_epi8(lo, masks_lo[c]),
                _mm_shuffle_epi8(hi, masks_hi[c]),
            )
        };
        let (r, g, b) = (ch(0), ch(1), ch(2));
        if F64 {
            // (R*0.299 + G*0.587) + B*0.114 in f64, then rounded to f32: 4 pixels at a time.
            let (cr, cg, cb) = (
                _mm256_set1_pd(0.299),
                _mm256_set1_pd(0.587),
                _mm256_set1_pd(0.114),
            );
            let half = |r: __m128i, g: __m128i, b: __m128i| {
                let rg = _mm256_add_pd(
                    _mm256_mul_pd(_mm256_cvtepi32_pd(r), cr),
                    _mm256_mul_pd(_mm256_cvtepi32_pd(g), cg),
                );
                _mm256_cvtpd_ps(_mm256_add_pd(rg, _mm256_mul_pd(_mm256_cvtepi32_pd(b), cb)))
            };
            let (y0, y1) = (half(r.0, g.0, b.0), half(r.1, g.1, b.1));
            // SAFETY: `o8` holds 8 floats.
            unsafe {
                _mm_storeu_ps(o8.as_mut_ptr(), y0);
                _mm_storeu_ps(o8[4..].as_mut_ptr(), y1);
            }
        } else {
            // ((0.299f*R) + (0.587f*G)) + 0.114f*B in f32: 8 pixels at a time.
            let f = |p: (__m128i, __m128i)| _mm256_cvtepi32_ps(_mm256_set_m128i(p.1, p.0));
            let (cr, cg, cb) = (
                _mm256_set1_ps(0.299),
                _mm256_set1_ps(0.587),
                _mm256_set1_ps(0.114),
            );
            let rg = _mm256_add_ps(_mm256_mul_ps(cr, f(r)), _mm256_mul_ps(cg, f(g)));
            let y = _mm256_add_ps(rg, _mm256_mul_ps(cb, f(b)));
            // SAFETY: `o8` holds 8 floats.
            unsafe { _mm256_storeu_ps(o8.as_mut_ptr(), y) };
        }
    }
    n
}
