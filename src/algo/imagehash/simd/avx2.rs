//! AVX2 kernels for the resampler (x86-64).
//!
//! * grey: 8 pixels per step; byte shuffles gather each channel into 32-bit lanes, combined with
//!   Pillow's integer weights.
//! * dot: 16 taps per step with `vpmaddwd`, on the weights split into two 16-bit halves
//!   (`w = hi * 2^11 + lo`), recombined exactly at the end.
//! * axpy: 8 pixels per step with 32-bit multiplies.
//!
//! All arithmetic is exact integer arithmetic (wrapping where Pillow's C `int` would), so the
//! results equal [`Scalar`](super::super::pillow::Scalar)'s. The trait methods check slice bounds
//! before calling the `unsafe` functions, which never access memory outside the slices they get.

use std::arch::x86_64::*;

use super::super::pillow::{combine, horizontal_row, luma, Kernels, Weights};
use crate::arch::x86::Avx2;
use crate::image::PixelLayout;

impl Kernels for Avx2 {
    fn grey_row(self, src: &[u8], layout: PixelLayout, out: &mut [u8]) {
        match layout.rgb_offsets() {
            Some(offsets) if layout.bytes_per_pixel() == 3 => {
                assert!(src.len() >= out.len() * 3, "source row too short");
                // SAFETY: the token proves AVX2; `src` holds 3 bytes per output pixel.
                unsafe { grey_rgb::<3>(src, offsets, out) }
            }
            Some(offsets) => {
                assert!(src.len() >= out.len() * 4, "source row too short");
                // SAFETY: the token proves AVX2; `src` holds 4 bytes per output pixel.
                unsafe { grey_rgb::<4>(src, offsets, out) }
            }
            None => out.copy_from_slice(&src[..out.len()]),
        }
    }

    #[inline]
    fn dot(self, px: &[u8], _fixed: &[i32], hi: &[i16], lo: &[i16]) -> i32 {
        let n = px.len();
        assert!(
            n.is_multiple_of(16) && hi.len() >= n && lo.len() >= n,
            "dot: bad lengths"
        );
        // SAFETY: the token proves AVX2; `px`, `hi` and `lo` hold at least `n` elements.
        let (h, l) = unsafe { dot16(px, hi, lo) };
        combine(h, l)
    }

    fn axpy(self, px: &[u8], w: i32, acc: &mut [i32]) {
        assert!(acc.len() >= px.len(), "axpy: accumulator too short");
        // SAFETY: the token proves AVX2; `acc` holds at least `px.len()` elements.
        unsafe { axpy8(px, w, acc) }
    }

    fn horizontal(self, padded: &[u8], w: &Weights, out: &mut [u8]) {
        // SAFETY: the token proves AVX2.
        unsafe { horizontal(self, padded, w, out) }
    }
}

/// The horizontal pass compiled for AVX2, so that [`dot16`] inlines into its loop.
///
/// # Safety
///
/// AVX2 must be available.
#[target_feature(enable = "avx2")]
unsafe fn horizontal(token: Avx2, padded: &[u8], w: &Weights, out: &mut [u8]) {
    horizontal_row(token, padded, w, out);
}

/// A byte-shuffle mask that moves byte `stride * j + channel` of each 128-bit lane into the low
/// byte of 32-bit lane `j` (`j < 4`) and zeroes the other bytes.
///
/// # Safety
///
/// AVX2 must be available.
#[target_feature(enable = "avx2")]
unsafe fn channel_mask(stride: usize, channel: usize) -> __m256i {
    let mut m = [0x80u8; 32];
    for lane in 0..2 {
        for j in 0..4 {
            m[lane * 16 + j * 4] = (stride * j + channel) as u8;
        }
    }
    // SAFETY: `m` is 32 readable bytes; the load is unaligned.
    unsafe { _mm256_loadu_si256(m.as_ptr().cast()) }
}

/// Pillow's `rgb2l` on eight 32-bit lanes holding r, g and b (each `0..=255`).
///
/// # Safety
///
/// AVX2 must be available.
#[target_feature(enable = "avx2")]
unsafe fn luma8(r: __m256i, g: __m256i, b: __m256i) -> __m256i {
    let rg = _mm256_add_epi32(
        _mm256_mullo_epi32(r, _mm256_set1_epi32(19595)),
        _mm256_mullo_epi32(g, _mm256_set1_epi32(38470)),
    );
    let b = _mm256_add_epi32(
        _mm256_mullo_epi32(b, _mm256_set1_epi32(7471)),
        _mm256_set1_epi32(0x8000),
    );
    _mm256_srli_epi32::<16>(_mm256_add_epi32(rg, b))
}

/// Stores the low byte of each of eight 32-bit lanes to `dst[..8]`.
///
/// # Safety
///
/// AVX2 must be available and `dst` valid for writing 8 bytes.
#[target_feature(enable = "avx2")]
unsafe fn store8(v: __m256i, dst: *mut u8) {
    let gather = _mm256_setr_epi8(
        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, //
        0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    );
    let bytes = _mm256_shuffle_epi8(v, gather);
    let packed = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
    // SAFETY: the caller guarantees 8 writable bytes at `dst`.
    unsafe { _mm_storel_epi64(dst.cast(), _mm256_castsi256_si128(packed)) };
}

/// Grey conversion of `BPP`-byte pixels (3 or 4) with the given channel offsets.
///
/// # Safety
///
/// AVX2 must be available and `src.len() >= BPP * out.len()`.
#[target_feature(enable = "avx2")]
unsafe fn grey_rgb<const BPP: usize>(src: &[u8], [r, g, b]: [usize; 3], out: &mut [u8]) {
    // SAFETY: AVX2 is available (this function's contract).
    let (mr, mg, mb) = unsafe {
        (
            channel_mask(BPP, r),
            channel_mask(BPP, g),
            channel_mask(BPP, b),
        )
    };
    // 3-byte pixels: lane 0 gets source bytes 0..16, lane 1 bytes 12..28 (pixels 0..4, 4..8).
    let spread = _mm256_setr_epi32(0, 1, 2, 3, 3, 4, 5, 6);
    let n = out.len();
    let mut i = 0;
    // Each step reads 32 bytes from byte BPP*i and writes 8 bytes at i.
    while i + 8 <= n && BPP * i + 32 <= src.len() {
        // SAFETY: BPP*i + 32 <= src.len() and i + 8 <= out.len() (loop condition).
        unsafe {
            let v = _mm256_loadu_si256(src.as_ptr().add(BPP * i).cast());
            let v = if BPP == 3 {
                _mm256_permutevar8x32_epi32(v, spread)
            } else {
                v
            };
            let l = luma8(
                _mm256_shuffle_epi8(v, mr),
                _mm256_shuffle_epi8(v, mg),
                _mm256_shuffle_epi8(v, mb),
            );
            store8(l, out.as_mut_ptr().add(i));
        }
        i += 8;
    }
    for (o, p) in out[i..].iter_mut().zip(src[BPP * i..].chunks_exact(BPP)) {
        *o = luma(p[r], p[g], p[b]);
    }
}

/// Sum of the eight 32-bit lanes, wrapping.
///
/// # Safety
///
/// AVX2 must be available.
#[target_feature(enable = "avx2")]
unsafe fn hsum(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// The split dot products `(sum px*hi, sum px*lo)` over `px.len()` taps (a multiple of 16).
///
/// # Safety
///
/// AVX2 must be available; `hi` and `lo` must hold at least `px.len()` elements.
#[target_feature(enable = "avx2")]
unsafe fn dot16(px: &[u8], hi: &[i16], lo: &[i16]) -> (i32, i32) {
    let (mut ah, mut al) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    let mut i = 0;
    while i + 16 <= px.len() {
        // SAFETY: i + 16 <= px.len() <= hi.len(), lo.len().
        unsafe {
            let p = _mm256_cvtepu8_epi16(_mm_loadu_si128(px.as_ptr().add(i).cast()));
            let h = _mm256_loadu_si256(hi.as_ptr().add(i).cast());
            let l = _mm256_loadu_si256(lo.as_ptr().add(i).cast());
            ah = _mm256_add_epi32(ah, _mm256_madd_epi16(p, h));
            al = _mm256_add_epi32(al, _mm256_madd_epi16(p, l));
        }
        i += 16;
    }
    // SAFETY: AVX2 is available (this function's contract).
    unsafe { (hsum(ah), hsum(al)) }
}

/// `acc[x] += px[x] * w` over `px.len()` pixels.
///
/// # Safety
///
/// AVX2 must be available; `acc` must hold at least `px.len()` elements.
#[target_feature(enable = "avx2")]
unsafe fn axpy8(px: &[u8], w: i32, acc: &mut [i32]) {
    let k = _mm256_set1_epi32(w);
    let n = px.len();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n <= acc.len().
        unsafe {
            let p = _mm256_cvtepu8_epi32(_mm_loadl_epi64(px.as_ptr().add(i).cast()));
            let a = acc.as_mut_ptr().add(i).cast::<__m256i>();
            _mm256_storeu_si256(
                a,
                _mm256_add_epi32(_mm256_loadu_si256(a), _mm256_mullo_epi32(p, k)),
            );
        }
        i += 8;
    }
    for (a, &p) in acc[i..].iter_mut().zip(&px[i..]) {
        *a = a.wrapping_add(i32::from(p).wrapping_mul(w));
    }
}
