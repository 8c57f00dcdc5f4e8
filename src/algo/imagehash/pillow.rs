//! Pillow's `convert("L")` and `resize(size, Image.LANCZOS)` on 8-bit grey images, bit for bit.
//!
//! imagehash reduces every image with these two Pillow calls before it hashes, so a hash can only
//! match if the reduced pixels match exactly. Pillow (`src/libImaging/Resample.c`) resizes in two
//! separable passes with 8-bit fixed-point arithmetic:
//!
//! * per output pixel it evaluates the Lanczos-3 kernel in `f64` over a support of
//!   `3 * max(scale, 1)` input pixels, normalises the weights to sum to 1 (still `f64`), then
//!   rounds each weight to a signed fixed-point integer with 22 fractional bits;
//! * a pass sums `pixel * weight` in 32-bit integers starting from `1 << 21`, shifts right by 22
//!   and clamps to `0..=255`: the intermediate image between the passes is rounded to `u8`, so the
//!   order of the passes changes the result;
//! * Pillow up to 12.x always ran the horizontal pass first. Pillow 13 runs the vertical pass
//!   first when both passes are needed, the height shrinks and it shrinks by more than twice as
//!   many pixels as the width does: `in_h - out_h > 2 * (in_w - out_w)` (found in the
//!   `ImagingResample` machine code of the Pillow 13.0.0 wheel; upstream pull request 9549).
//!   [`ResizeOrder`] selects the rule.
//!
//! Integer sums are exact, so this module may add the terms in any order (and with SIMD) and still
//! produce Pillow's bytes; only the `f64` weight computation has to follow Pillow's operation
//! order, which it does line for line.

use std::f64::consts::PI;
use std::sync::{Arc, Mutex};

use super::ResizeOrder;
use crate::image::{PixelBuffer, PixelLayout};

/// Fractional bits of Pillow's fixed-point weights (`PRECISION_BITS = 32 - 8 - 2`).
const PRECISION_BITS: u32 = 22;
/// Pillow's rounding bias, added before the final shift.
const HALF: i32 = 1 << (PRECISION_BITS - 1);
/// The weights are split as `w = hi * 2^SPLIT + lo` with `lo` in `0..2^SPLIT` so that both
/// halves fit in `i16` and the products can use 16-bit multiply-add instructions.
const SPLIT: u32 = 11;
/// Taps are processed in blocks of this many (zero weights pad the last block).
pub(crate) const BLOCK: usize = 16;

/// An 8-bit grey image, row-major, `width * height` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GreyImage {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) pixels: Vec<u8>,
}

impl GreyImage {
    pub(crate) fn row(&self, y: usize) -> &[u8] {
        &self.pixels[y * self.width..(y + 1) * self.width]
    }
}

/// Pillow's `sinc`.
fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    let x = x * PI;
    x.sin() / x
}

/// Pillow's `lanczos_filter` (support 3).
fn lanczos(x: f64) -> f64 {
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// The fixed-point weights of one resampling pass (Pillow's `precompute_coeffs` followed by
/// `normalize_coeffs_8bpc`).
#[derive(Clone, Debug)]
pub(crate) struct Weights {
    /// Per output pixel: the first input pixel and the number of taps.
    pub(crate) bounds: Vec<(usize, usize)>,
    /// Per output pixel `stride` weights, the first `taps` of them meaningful, the rest zero.
    pub(crate) fixed: Vec<i32>,
    /// `fixed` split into `hi * 2^SPLIT + lo`, same layout.
    pub(crate) hi: Vec<i16>,
    pub(crate) lo: Vec<i16>,
    /// Weights per output pixel, a multiple of [`BLOCK`].
    pub(crate) stride: usize,
}

impl Weights {
    /// Pillow's coefficients for resampling `in_size` pixels to `out_size` pixels over the whole
    /// input (`box = (0, in_size)`).
    pub(crate) fn new(in_size: usize, out_size: usize) -> Weights {
        // Pillow receives the box as C floats: round the side through f32 as it does (exact
        // below 2^24 pixels).
        let scale = f64::from(in_size as f32) / out_size as f64;
        let filterscale = if scale < 1.0 { 1.0 } else { scale };
        let support = 3.0 * filterscale;
        let ksize = support.ceil() as usize * 2 + 1;
        let stride = ksize.div_ceil(BLOCK) * BLOCK;
        let mut bounds = Vec::with_capacity(out_size);
        let mut fixed = vec![0i32; out_size * stride];
        let mut k = vec![0f64; ksize];
        let mut args = vec![0f64; ksize];
        // Outputs whose kernel arguments are bit-identical get identical weights (the weights are
        // a pure function of them), so each distinct argument list is evaluated once. With
        // power-of-two output sizes most interior outputs repeat one of a few lists; this saves
        // most of the `sin` calls.
        let mut seen: Vec<(Vec<u64>, usize)> = Vec::new();
        for xx in 0..out_size {
            let center = (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filterscale;
            // C's (int) conversion truncates toward zero, as `as` does.
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) - xmin;
            let taps = xmax.max(0) as usize;
            let xmin = xmin as usize;
            bounds.push((xmin, taps));
            for (x, a) in args.iter_mut().enumerate().take(taps) {
                *a = ((x + xmin) as f64 - center + 0.5) * ss;
            }
            let same = |key: &[u64]| {
                key.len() == taps && key.iter().zip(&args).all(|(&b, a)| b == a.to_bits())
            };
            if let Some(&(_, earlier)) = seen.iter().find(|(key, _)| same(key)) {
                fixed.copy_within(earlier * stride..earlier * stride + taps, xx * stride);
                continue;
            }
            let mut ww = 0.0;
            for (kx, &a) in k.iter_mut().zip(&args).take(taps) {
                let w = lanczos(a);
                *kx = w;
                ww += w;
            }
            let row = &mut fixed[xx * stride..xx * stride + taps];
            for (f, kx) in row.iter_mut().zip(&mut k[..taps]) {
                if ww != 0.0 {
                    *kx /= ww;
                }
                let scaled = *kx * f64::from(1u32 << PRECISION_BITS);
                *f = if *kx < 0.0 {
                    (-0.5 + scaled) as i32
                } else {
                    (0.5 + scaled) as i32
                };
            }
            if seen.len() == 8 {
                seen.remove(0);
            }
            seen.push((args[..taps].iter().map(|a| a.to_bits()).collect(), xx));
        }
        let hi = fixed.iter().map(|&w| (w >> SPLIT) as i16).collect();
        let lo = fixed
            .iter()
            .map(|&w| (w & ((1 << SPLIT) - 1)) as i16)
            .collect();
        Weights {
            bounds,
            fixed,
            hi,
            lo,
            stride,
        }
    }

    /// [`Weights::new`], memoised for the small outputs of pHash, dHash and aHash (at most 64
    /// pixels): hashing many images of one size (a camera's photos, a video's frames) would
    /// otherwise spend a fifth of its time in `sin`. Keeps the last few sizes; wHash's large
    /// outputs are computed each time.
    pub(crate) fn cached(in_size: usize, out_size: usize) -> Arc<Weights> {
        const KEEP: usize = 12;
        if out_size > 64 {
            return Arc::new(Weights::new(in_size, out_size));
        }
        static CACHE: Mutex<Vec<(usize, usize, Arc<Weights>)>> = Mutex::new(Vec::new());
        let lookup = |cache: &mut Vec<(usize, usize, Arc<Weights>)>| {
            let i = cache
                .iter()
                .position(|e| e.0 == in_size && e.1 == out_size)?;
            let entry = cache.remove(i);
            let w = Arc::clone(&entry.2);
            cache.push(entry);
            Some(w)
        };
        // A poisoned lock only means another thread panicked mid-update; the cache holds
        // immutable values, so it is still usable.
        if let Some(w) = lookup(&mut CACHE.lock().unwrap_or_else(|e| e.into_inner())) {
            return w;
        }
        let w = Arc::new(Weights::new(in_size, out_size));
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if lookup(&mut cache).is_none() {
            if cache.len() >= KEEP {
                cache.remove(0);
            }
            cache.push((in_size, out_size, Arc::clone(&w)));
        }
        w
    }

    fn first_and_last_input(&self) -> (usize, usize) {
        let first = self.bounds.first().map_or(0, |b| b.0);
        let last = self.bounds.last().map_or(0, |b| b.0 + b.1);
        (first, last)
    }
}

/// Pillow's `clip8`: drop the fraction and clamp (the accumulator already holds the bias).
#[inline]
pub(crate) fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Recombines split sums `(sum px*hi, sum px*lo)` into `sum px*w`, wrapping like C's `int`.
#[inline]
pub(crate) fn combine(hi: i32, lo: i32) -> i32 {
    hi.wrapping_shl(SPLIT).wrapping_add(lo)
}

/// Pillow's `rgb2l`: `L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16`.
#[inline]
pub(crate) fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

/// The kernels the passes are built from. [`Scalar`] is the oracle; the SIMD versions in
/// `simd` must return identical results for every input.
pub(crate) trait Kernels: Copy {
    /// Converts the first `out.len()` pixels of a row of `layout` pixels to grey.
    fn grey_row(self, src: &[u8], layout: PixelLayout, out: &mut [u8]);

    /// `sum px[i] * w[i]` (wrapping) over `px.len()` taps, a multiple of [`BLOCK`]; `fixed`
    /// holds the weights and `hi`/`lo` the same weights split as `hi * 2^11 + lo`, each at least
    /// `px.len()` long.
    fn dot(self, px: &[u8], fixed: &[i32], hi: &[i16], lo: &[i16]) -> i32;

    /// `acc[x] += px[x] * w` (wrapping) for every `x < px.len()`.
    fn axpy(self, px: &[u8], w: i32, acc: &mut [i32]);

    /// The horizontal pass over one grey row; `padded` holds at least `w.stride` bytes (of any
    /// value) past the row's pixels.
    fn horizontal(self, padded: &[u8], w: &Weights, out: &mut [u8]) {
        horizontal_row(self, padded, w, out);
    }
}

/// Portable kernels, written for clarity: the oracle for the SIMD ones.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scalar;

impl Kernels for Scalar {
    fn grey_row(self, src: &[u8], layout: PixelLayout, out: &mut [u8]) {
        /// One loop per layout, so that the pixel size and channel offsets are constants.
        fn convert<const BPP: usize, const R: usize, const G: usize, const B: usize>(
            src: &[u8],
            out: &mut [u8],
        ) {
            for (o, p) in out.iter_mut().zip(src.chunks_exact(BPP)) {
                *o = luma(p[R], p[G], p[B]);
            }
        }
        match layout {
            PixelLayout::Rgb8 => convert::<3, 0, 1, 2>(src, out),
            PixelLayout::Rgba8 => convert::<4, 0, 1, 2>(src, out),
            PixelLayout::Bgra8 => convert::<4, 2, 1, 0>(src, out),
            PixelLayout::Luma8 => out.copy_from_slice(&src[..out.len()]),
        }
    }

    fn dot(self, px: &[u8], fixed: &[i32], _hi: &[i16], _lo: &[i16]) -> i32 {
        px.iter().zip(fixed).fold(0i32, |acc, (&p, &w)| {
            acc.wrapping_add(i32::from(p).wrapping_mul(w))
        })
    }

    fn axpy(self, px: &[u8], w: i32, acc: &mut [i32]) {
        for (a, &p) in acc.iter_mut().zip(px) {
            *a = a.wrapping_add(i32::from(p).wrapping_mul(w));
        }
    }
}

/// Whether Pillow runs the vertical pass first for this resize under `order`.
pub(crate) fn vertical_first(
    order: ResizeOrder,
    in_w: usize,
    in_h: usize,
    out_w: usize,
    out_h: usize,
) -> bool {
    match order {
        ResizeOrder::Pillow12 => false,
        ResizeOrder::Pillow13 => {
            let (in_w, in_h, out_w, out_h) = (in_w as i64, in_h as i64, out_w as i64, out_h as i64);
            in_w != out_w && in_h != out_h && in_h > out_h && in_h - out_h > 2 * (in_w - out_w)
        }
    }
}

/// Horizontal pass over one grey row (padded with at least `w.stride` bytes past its pixels),
/// built on [`Kernels::dot`].
#[inline(always)]
pub(crate) fn horizontal_row<K: Kernels>(k: K, padded: &[u8], w: &Weights, out: &mut [u8]) {
    for (xx, (o, &(xmin, taps))) in out.iter_mut().zip(&w.bounds).enumerate() {
        let n = taps.div_ceil(BLOCK) * BLOCK;
        let base = xx * w.stride;
        let r = base..base + n;
        let sum = k.dot(
            &padded[xmin..xmin + n],
            &w.fixed[r.clone()],
            &w.hi[r.clone()],
            &w.lo[r],
        );
        *o = clip8(sum.wrapping_add(HALF));
    }
}

/// Vertical pass producing output row `yy` from the input rows `rows(y)`.
fn vertical_row<'r, K: Kernels>(
    k: K,
    rows: impl Fn(usize) -> &'r [u8],
    w: &Weights,
    yy: usize,
    acc: &mut [i32],
    out: &mut [u8],
) {
    let (ymin, taps) = w.bounds[yy];
    acc.fill(HALF);
    for t in 0..taps {
        k.axpy(rows(ymin + t), w.fixed[yy * w.stride + t], acc);
    }
    for (o, &a) in out.iter_mut().zip(acc.iter()) {
        *o = clip8(a);
    }
}

/// `image.convert("L").resize((out_w, out_h), Image.LANCZOS)` as Pillow computes it.
///
/// `out_w` and `out_h` must be non-zero.
pub(crate) fn grey_resize<K: Kernels>(
    k: K,
    px: &PixelBuffer<'_>,
    out_w: usize,
    out_h: usize,
    order: ResizeOrder,
) -> GreyImage {
    let (in_w, in_h) = (px.width() as usize, px.height() as usize);
    let layout = px.layout();
    let need_h = out_w != in_w;
    let need_v = out_h != in_h;
    if !need_h && !need_v {
        // Image.resize returns a copy when the size is unchanged.
        let mut pixels = vec![0u8; in_w * in_h];
        for (y, row) in pixels.chunks_exact_mut(in_w).enumerate() {
            k.grey_row(px.row(y as u32), layout, row);
        }
        return GreyImage {
            width: in_w,
            height: in_h,
            pixels,
        };
    }
    let vw = Weights::cached(in_h, out_h);
    if vertical_first(order, in_w, in_h, out_w, out_h) {
        // Pillow 13: vertical pass over the full width, then the horizontal pass.
        let (first, last) = vw.first_and_last_input();
        let grey = grey_rows(k, px, first, last);
        let row = |y: usize| &grey[(y - first) * in_w..(y - first + 1) * in_w];
        let hw = Weights::cached(in_w, out_w);
        let mut acc = vec![0i32; in_w];
        let mut padded = vec![0u8; in_w + hw.stride];
        let mut pixels = vec![0u8; out_w * out_h];
        for (yy, out) in pixels.chunks_exact_mut(out_w).enumerate() {
            vertical_row(k, row, &vw, yy, &mut acc, &mut padded[..in_w]);
            k.horizontal(&padded, &hw, out);
        }
        return GreyImage {
            width: out_w,
            height: out_h,
            pixels,
        };
    }
    // Horizontal pass first (every Pillow version), over the rows the vertical pass reads.
    let (first, last) = if need_v {
        vw.first_and_last_input()
    } else {
        (0, in_h)
    };
    let mid_w = out_w;
    let mid: Vec<u8> = if need_h {
        let hw = Weights::cached(in_w, out_w);
        let mut padded = vec![0u8; in_w + hw.stride];
        let mut mid = vec![0u8; mid_w * (last - first)];
        for (y, out) in (first..last).zip(mid.chunks_exact_mut(mid_w)) {
            k.grey_row(px.row(y as u32), layout, &mut padded[..in_w]);
            k.horizontal(&padded, &hw, out);
        }
        mid
    } else {
        grey_rows(k, px, first, last)
    };
    if !need_v {
        return GreyImage {
            width: out_w,
            height: out_h,
            pixels: mid,
        };
    }
    let row = |y: usize| &mid[(y - first) * mid_w..(y - first + 1) * mid_w];
    let mut acc = vec![0i32; mid_w];
    let mut pixels = vec![0u8; out_w * out_h];
    for (yy, out) in pixels.chunks_exact_mut(out_w).enumerate() {
        vertical_row(k, row, &vw, yy, &mut acc, out);
    }
    GreyImage {
        width: out_w,
        height: out_h,
        pixels,
    }
}

/// Grey rows `first..last` of the image, packed.
fn grey_rows<K: Kernels>(k: K, px: &PixelBuffer<'_>, first: usize, last: usize) -> Vec<u8> {
    let w = px.width() as usize;
    let mut grey = vec![0u8; w * (last - first)];
    for (y, row) in (first..last).zip(grey.chunks_exact_mut(w)) {
        k.grey_row(px.row(y as u32), px.layout(), row);
    }
    grey
}
