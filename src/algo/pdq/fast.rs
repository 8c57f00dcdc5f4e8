//! The fast PDQ downsample: the reference's four box passes, bit for bit, in one streaming pass
//! over the image with a working set of a few dozen rows.
//!
//! # How it stays bit-exact
//!
//! Every output pixel of a box pass is a running f32 sum whose sequence of adds, subtracts and
//! divisions must be the reference's. Different rows (or columns) are independent, so they can
//! be computed side by side in SIMD lanes without changing any one sum:
//!
//! * Horizontal passes run over a *strip* of [`L`] rows stored transposed (`[x][lane]`), so one
//!   vector holds the same `x` of [`L`] rows and the running sum advances along `x`.
//! * Vertical passes run along `y` over whole rows, one lane per column.
//!
//! # How it saves work
//!
//! * Pass 1 (horizontal) and pass 2 (vertical) produce every pixel, but rows flow through a ring
//!   buffer: pass 2 consumes pass-1 rows as soon as its window has them, so no full-size plane
//!   is ever stored.
//! * Pass 3 (horizontal) runs its sums over every pixel but divides only at the 64 columns the
//!   decimation samples.
//! * Pass 4 (vertical) runs only over those 64 columns and divides only at the 64 sampled rows.
//!
//! The code is portable Rust written so LLVM vectorises it, generic over [`Strips`] (the few
//! pieces that move values between rows and lanes). `x86.rs` implements [`Strips`] for
//! [`crate::arch`]'s AVX2 token and compiles this code a second time with AVX2 enabled;
//! [`downsample`] picks the level from [`Isa`], the crate's one detection. This module does not
//! import `x86.rs` (the token's impl is found through the trait), so there is no import cycle.
//! Lanes never mix, so the instruction set cannot change a result; tests check it against the
//! reference anyway.

use std::ops::Range;

use super::core::{luma_f32, luma_f64, sample_positions, window, Mat64};
use super::LumaMode;
use crate::arch::Isa;
use crate::image::{PixelBuffer, PixelLayout};

/// Rows per strip (SIMD lanes of the horizontal passes).
pub(super) const L: usize = 16;
/// The same `x` of [`L`] consecutive rows.
pub(super) type Lane = [f32; L];

/// The instruction-set-specific pieces of the fast path: moving values between rows and lanes.
/// The provided methods are the portable code ([`Portable`], the oracle for the others); on
/// x86-64, [`crate::arch::x86::Avx2`] overrides them (in `x86.rs`).
pub(super) trait Strips: Copy {
    /// The whole downsample ([`downsample_impl`]) with this set's pieces; an ISA's impl
    /// overrides it with a `#[target_feature]` entry point so the generic code is compiled for
    /// that ISA.
    #[inline(always)]
    fn downsample(self, px: &PixelBuffer<'_>, mode: LumaMode) -> Mat64 {
        downsample_impl(self, px, mode)
    }

    /// One row of pixels to luma (`out.len()` pixels).
    #[inline(always)]
    fn luma_row(self, row: &[u8], layout: PixelLayout, mode: LumaMode, out: &mut [f32]) {
        luma_row_scalar(row, layout, mode, out, 0);
    }

    /// `lanes[x][l] = rows[l * w + x]` for `l < L`, `x < w`.
    #[inline(always)]
    fn rows_to_lanes(self, rows: &[f32], w: usize, lanes: &mut [Lane]) {
        rows_to_lanes_scalar(rows, w, lanes, 0);
    }

    /// Ring row `r` (slot `r` modulo the ring's rows) gets lane `r - rows.start`, for each `r`
    /// of `rows` (at most [`L`] rows).
    #[inline(always)]
    fn lanes_to_ring(self, lanes: &[Lane], rows: Range<usize>, ring: &mut [f32], w: usize) {
        lanes_to_ring_scalar(lanes, rows, ring, w, 0);
    }
}

/// Plain Rust, no instruction-set assumptions: the trait's provided methods.
#[derive(Clone, Copy, Debug)]
pub(super) struct Portable;

impl Strips for Portable {}

/// The 64x64 downsample of `px` (at least 5x5) with the kernels of `isa`.
///
/// `skip_64`: a 64x64 image is used as it is, without filtering (the reference's single-hash
/// entry point does this; its dihedral entry point filters).
///
/// # Panics
///
/// Panics if `isa` is not available on this CPU (see [`Isa::is_available`]).
pub(super) fn downsample(px: &PixelBuffer<'_>, mode: LumaMode, skip_64: bool, isa: Isa) -> Mat64 {
    if skip_64 && px.width() == 64 && px.height() == 64 {
        let mut a = [[0f32; 64]; 64];
        for (y, row) in a.iter_mut().enumerate() {
            luma_row_scalar(px.row(y as u32), px.layout(), mode, row, 0);
        }
        return a;
    }
    match isa {
        Isa::Scalar => Portable.downsample(px, mode),
        // No AVX-512 pieces: the AVX2 ones run there (AVX-512 implies AVX2).
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::Avx512 => crate::arch::x86::Avx2::new()
            .unwrap_or_else(|| crate::arch::unavailable(isa))
            .downsample(px, mode),
        #[cfg(not(target_arch = "x86_64"))]
        _ => crate::arch::unavailable(isa),
    }
}

/// One row of luma into `out` (`out.len()` pixels) with the best pieces this CPU has (for
/// passes that only need the luma, such as `exact.rs`).
#[inline]
pub(super) fn luma_row(row: &[u8], layout: PixelLayout, mode: LumaMode, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(t) = crate::arch::x86::Avx2::new() {
        return t.luma_row(row, layout, mode, out);
    }
    Portable.luma_row(row, layout, mode, out)
}

/// One row of luma into `out` (`width` values), by plain Rust, for pixels `from..`.
#[inline(always)]
pub(super) fn luma_row_scalar(
    row: &[u8],
    layout: PixelLayout,
    mode: LumaMode,
    out: &mut [f32],
    from: usize,
) {
    #[inline(always)]
    fn rgb<const BPP: usize, const R: usize, const G: usize, const B: usize>(
        row: &[u8],
        out: &mut [f32],
        f: impl Fn(u8, u8, u8) -> f32,
    ) {
        for (o, p) in out.iter_mut().zip(row.chunks_exact(BPP)) {
            *o = f(p[R], p[G], p[B]);
        }
    }
    let bpp = layout.bytes_per_pixel();
    let (row, out) = (&row[from * bpp..], &mut out[from..]);
    match (layout, mode) {
        (PixelLayout::Luma8, _) => {
            for (o, &g) in out.iter_mut().zip(row) {
                *o = f32::from(g);
            }
        }
        (PixelLayout::Rgb8, LumaMode::Float64) => rgb::<3, 0, 1, 2>(row, out, luma_f64),
        (PixelLayout::Rgb8, LumaMode::Float32) => rgb::<3, 0, 1, 2>(row, out, luma_f32),
        (PixelLayout::Rgba8, LumaMode::Float64) => rgb::<4, 0, 1, 2>(row, out, luma_f64),
        (PixelLayout::Rgba8, LumaMode::Float32) => rgb::<4, 0, 1, 2>(row, out, luma_f32),
        (PixelLayout::Bgra8, LumaMode::Float64) => rgb::<4, 2, 1, 0>(row, out, luma_f64),
        (PixelLayout::Bgra8, LumaMode::Float32) => rgb::<4, 2, 1, 0>(row, out, luma_f32),
    }
}

/// [`Strips::rows_to_lanes`] for columns `from..w`.
#[inline(always)]
pub(super) fn rows_to_lanes_scalar(rows: &[f32], w: usize, lanes: &mut [Lane], from: usize) {
    let mut x0 = from;
    while x0 < w {
        let n = (w - x0).min(8);
        for l in 0..L {
            let src = &rows[l * w + x0..l * w + x0 + n];
            for (lane, &v) in lanes[x0..x0 + n].iter_mut().zip(src) {
                lane[l] = v;
            }
        }
        x0 += n;
    }
}

/// [`Strips::lanes_to_ring`] for columns `from..w`.
#[inline(always)]
pub(super) fn lanes_to_ring_scalar(
    lanes: &[Lane],
    rows: Range<usize>,
    ring: &mut [f32],
    w: usize,
    from: usize,
) {
    let ring_rows = ring.len() / w;
    for (l, r) in rows.enumerate() {
        let slot = r % ring_rows;
        let dst = &mut ring[slot * w + from..(slot + 1) * w];
        for (d, lane) in dst.iter_mut().zip(&lanes[from..]) {
            *d = lane[l];
        }
    }
}

#[inline(always)]
fn lane_add(acc: &mut Lane, v: &Lane) {
    for (a, &b) in acc.iter_mut().zip(v) {
        *a += b;
    }
}

#[inline(always)]
fn lane_sub(acc: &mut Lane, v: &Lane) {
    for (a, &b) in acc.iter_mut().zip(v) {
        *a -= b;
    }
}

#[inline(always)]
fn lane_div(acc: &Lane, n: f32) -> Lane {
    let mut out = [0f32; L];
    for (o, &a) in out.iter_mut().zip(acc) {
        *o = a / n;
    }
    out
}

/// The start of a box pass of window `w`: the half-window `h`, the lag `w - h + 1`, and the
/// running sum of the first `h - 1` inputs.
#[inline(always)]
fn box_start(inp: &[Lane], w: usize) -> (usize, usize, Lane) {
    let h = (w + 2) / 2;
    let mut acc = [0f32; L];
    for v in &inp[..h - 1] {
        lane_add(&mut acc, v);
    }
    (h, w - h + 1, acc)
}

/// One horizontal box pass of window `w` over a strip: `out[x] = box(inp)[x]` for every lane.
#[inline(always)]
fn box_lanes(inp: &[Lane], out: &mut [Lane], w: usize) {
    let n = inp.len();
    let (h, lag, mut acc) = box_start(inp, w);
    // Growing window: add only.
    for o in 0..lag {
        lane_add(&mut acc, &inp[o + h - 1]);
        out[o] = lane_div(&acc, (h + o) as f32);
    }
    // Full window: add the entering element, then subtract the leaving one.
    let full = w as f32;
    for o in lag..n + 1 - h {
        lane_add(&mut acc, &inp[o + h - 1]);
        lane_sub(&mut acc, &inp[o - lag]);
        out[o] = lane_div(&acc, full);
    }
    // Shrinking window: subtract only.
    for o in n + 1 - h..n {
        lane_sub(&mut acc, &inp[o - lag]);
        out[o] = lane_div(&acc, (n + w - h - o) as f32);
    }
}

/// Like [`box_lanes`] but divides only at the sample positions `xs` (non-decreasing):
/// `out[c] = box(inp)[xs[c]]`. The running sums stop after the last sample.
#[inline(always)]
fn box_lanes_sampled(inp: &[Lane], w: usize, xs: &[usize; 64], out: &mut [Lane; 64]) {
    let n = inp.len();
    let (h, lag, mut acc) = box_start(inp, w);
    // Output positions before `o` have had their adds and subtracts applied.
    let mut o = 0usize;
    for (c, &x) in xs.iter().enumerate() {
        // Advance to x inclusive, phase by phase (see `box_lanes`).
        let end = x + 1;
        while o < end.min(lag) {
            lane_add(&mut acc, &inp[o + h - 1]);
            o += 1;
        }
        while o < end.min(n + 1 - h) {
            lane_add(&mut acc, &inp[o + h - 1]);
            lane_sub(&mut acc, &inp[o - lag]);
            o += 1;
        }
        while o < end {
            lane_sub(&mut acc, &inp[o - lag]);
            o += 1;
        }
        out[c] = lane_div(&acc, window_count(x, n, w) as f32);
    }
}

/// The number of elements in the window of output `o` of `n`, window `w`:
/// `[o - (w - h), o + h - 1]` clipped to `[0, n - 1]`.
#[inline(always)]
fn window_count(o: usize, n: usize, w: usize) -> usize {
    let h = (w + 2) / 2;
    (o + h - 1).min(n - 1) + 1 - o.saturating_sub(w - h)
}

/// The vertical pass's bookkeeping for output row `o` of `n` rows, window `w`: the row to add,
/// the row to subtract (add first), and the number of rows in the window.
#[inline(always)]
fn vertical_step(o: usize, n: usize, w: usize) -> (Option<usize>, Option<usize>, usize) {
    let h = (w + 2) / 2;
    let lag = w - h + 1;
    let add = (o + h - 1 < n).then_some(o + h - 1);
    let sub = o.checked_sub(lag);
    (add, sub, window_count(o, n, w))
}

/// `acc += add; acc -= sub; out = acc / count`, lane by lane, with absent terms skipped.
#[inline(always)]
fn vertical_row(
    acc: &mut [f32],
    add: Option<&[f32]>,
    sub: Option<&[f32]>,
    count: f32,
    out: &mut [f32],
) {
    match (add, sub) {
        (Some(a), Some(s)) => {
            for (((c, o), &a), &s) in acc.iter_mut().zip(out.iter_mut()).zip(a).zip(s) {
                *c += a;
                *c -= s;
                *o = *c / count;
            }
        }
        (Some(a), None) => {
            for ((c, o), &a) in acc.iter_mut().zip(out.iter_mut()).zip(a) {
                *c += a;
                *o = *c / count;
            }
        }
        (None, Some(s)) => {
            for ((c, o), &s) in acc.iter_mut().zip(out.iter_mut()).zip(s) {
                *c -= s;
                *o = *c / count;
            }
        }
        (None, None) => {
            for (c, o) in acc.iter().zip(out.iter_mut()) {
                *o = *c / count;
            }
        }
    }
}

/// The whole streaming downsample (see the module docs). Inlined into each kernel.
#[inline(always)]
pub(super) fn downsample_impl<I: Strips>(isa: I, px: &PixelBuffer<'_>, mode: LumaMode) -> Mat64 {
    let (w, h) = (px.width() as usize, px.height() as usize);
    let (wr, wc) = (window(w), window(h));
    let (xs, ys) = (sample_positions(w), sample_positions(h));
    let hc = (wc + 2) / 2;

    // Pass-1 rows enter the ring; pass 2 frees a slot once it has subtracted that row, at most
    // `wc` rows behind the newest row it has added, and a strip adds L rows at a time.
    let ring_rows = (wc + L).min(h);
    let mut rows = vec![0f32; L * w]; // luma rows of a strip
    let mut lanes_a = vec![[0f32; L]; w];
    let mut lanes_b = vec![[0f32; L]; w];
    let mut ring = vec![0f32; ring_rows * w];
    let mut acc = vec![0f32; w];
    let mut cols = vec![[0f32; 64]; h]; // pass-3 output at the 64 sampled columns
    let mut sampled = [[0f32; L]; 64];
    // Pass-2 output rows wait here until a strip of L is complete.
    let mut vrows = vec![0f32; L * w];

    let mut next_out = 0usize; // next pass-2 output row
    for y0 in (0..h).step_by(L) {
        let n_rows = L.min(h - y0);
        // Luma and pass 1 for rows y0..y0 + n_rows (unused lanes hold stale, finite values).
        for l in 0..n_rows {
            isa.luma_row(
                px.row((y0 + l) as u32),
                px.layout(),
                mode,
                &mut rows[l * w..(l + 1) * w],
            );
        }
        isa.rows_to_lanes(&rows, w, &mut lanes_a);
        box_lanes(&lanes_a, &mut lanes_b, wr);
        isa.lanes_to_ring(&lanes_b, y0..y0 + n_rows, &mut ring, w);
        let available = y0 + n_rows;

        // Pass 2 for every output row whose window is now complete.
        while next_out < h && (next_out + hc - 1 < available || available == h) {
            let o = next_out;
            let slot_row = |r: usize| &ring[(r % ring_rows) * w..(r % ring_rows + 1) * w];
            if o == 0 {
                // The window's first h - 1 rows, before the first output (see `box_lanes`).
                for r in 0..hc - 1 {
                    for (c, &v) in acc.iter_mut().zip(slot_row(r)) {
                        *c += v;
                    }
                }
            }
            let (add, sub, count) = vertical_step(o, h, wc);
            let out = &mut vrows[(o % L) * w..(o % L + 1) * w];
            vertical_row(
                &mut acc,
                add.map(slot_row),
                sub.map(slot_row),
                count as f32,
                out,
            );
            next_out += 1;

            // Pass 3 on each complete strip of pass-2 rows.
            if next_out.is_multiple_of(L) || next_out == h {
                let first = (next_out - 1) / L * L;
                isa.rows_to_lanes(&vrows, w, &mut lanes_a);
                box_lanes_sampled(&lanes_a, wr, &xs, &mut sampled);
                for (l, crow) in cols[first..next_out].iter_mut().enumerate() {
                    for (c, v) in crow.iter_mut().zip(sampled.iter()) {
                        *c = v[l];
                    }
                }
            }
        }
    }
    debug_assert_eq!(next_out, h);

    // Pass 4 over the 64 sampled columns, dividing only at the 64 sampled rows.
    let mut a = [[0f32; 64]; 64];
    let mut acc64 = [0f32; 64];
    for row in &cols[..hc - 1] {
        for (c, &v) in acc64.iter_mut().zip(row) {
            *c += v;
        }
    }
    let mut next = 0usize;
    for o in 0..=ys[63] {
        let (add, sub, count) = vertical_step(o, h, wc);
        if let Some(r) = add {
            for (c, &v) in acc64.iter_mut().zip(&cols[r]) {
                *c += v;
            }
        }
        if let Some(r) = sub {
            for (c, &v) in acc64.iter_mut().zip(&cols[r]) {
                *c -= v;
            }
        }
        while next < 64 && ys[next] == o {
            for (d, &c) in a[next].iter_mut().zip(&acc64) {
                *d = c / count as f32;
            }
            next += 1;
        }
    }
    a
}
