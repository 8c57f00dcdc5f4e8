//! The straightforward PDQ downsample: a line-by-line transcription of the reference's full-plane
//! algorithm (two f32 luma planes, four 1-D box passes over every pixel, then point sampling).
//!
//! It is slow and simple on purpose: it is the oracle the fast path is tested against.

use super::core::{luma, sample_positions, window, Mat64};
use super::LumaMode;
use crate::image::PixelBuffer;

/// The full-resolution f32 luma plane, row-major (`Luma8` pixels are used as they are).
pub(super) fn luma_plane(px: &PixelBuffer<'_>, mode: LumaMode) -> Vec<f32> {
    let (w, h) = (px.width() as usize, px.height() as usize);
    let mut out = Vec::with_capacity(w * h);
    for y in 0..px.height() {
        let row = px.row(y);
        match px.layout().rgb_offsets() {
            None => out.extend(row.iter().map(|&g| f32::from(g))),
            Some([r, g, b]) => {
                let bpp = px.layout().bytes_per_pixel();
                out.extend(row.chunks_exact(bpp).map(|p| luma(mode, p[r], p[g], p[b])));
            }
        }
    }
    out
}

/// One 1-D box pass of window `w` over `len` elements `stride` apart: the running f32 sum in
/// the reference's four phases (add before subtract; divide by the current count).
fn box_1d(inp: &[f32], out: &mut [f32], len: usize, stride: usize, w: usize) {
    let half = (w + 2) / 2;
    let phase1 = half - 1;
    let phase2 = w - half + 1;
    let phase3 = len - w;
    let phase4 = half - 1;
    let (mut li, mut ri, mut oi) = (0usize, 0usize, 0usize);
    let mut sum = 0.0f32;
    let mut count = 0u32;
    for _ in 0..phase1 {
        sum += inp[ri];
        count += 1;
        ri += stride;
    }
    for _ in 0..phase2 {
        sum += inp[ri];
        count += 1;
        out[oi] = sum / count as f32;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase3 {
        sum += inp[ri];
        sum -= inp[li];
        out[oi] = sum / count as f32;
        li += stride;
        ri += stride;
        oi += stride;
    }
    for _ in 0..phase4 {
        sum -= inp[li];
        count -= 1;
        out[oi] = sum / count as f32;
        li += stride;
        oi += stride;
    }
}

/// Blurs and decimates a `w` x `h` luma plane to 64x64, or copies it when `skip_64` and it is
/// already 64x64 (what the reference's single-hash entry point does).
pub(super) fn downsample_plane(mut buf1: Vec<f32>, w: usize, h: usize, skip_64: bool) -> Mat64 {
    let mut a = [[0f32; 64]; 64];
    if skip_64 && w == 64 && h == 64 {
        for (row, src) in a.iter_mut().zip(buf1.chunks_exact(64)) {
            row.copy_from_slice(src);
        }
        return a;
    }
    let mut buf2 = vec![0f32; w * h];
    let (wr, wc) = (window(w), window(h));
    for _ in 0..2 {
        for y in 0..h {
            let r = y * w..(y + 1) * w;
            box_1d(&buf1[r.clone()], &mut buf2[r], w, 1, wr);
        }
        for x in 0..w {
            box_1d(&buf2[x..], &mut buf1[x..], h, w, wc);
        }
    }
    let (xs, ys) = (sample_positions(w), sample_positions(h));
    for (row, &y) in a.iter_mut().zip(ys.iter()) {
        for (v, &x) in row.iter_mut().zip(xs.iter()) {
            *v = buf1[y * w + x];
        }
    }
    a
}

/// The 64x64 downsample of `px` by the straightforward algorithm.
pub(super) fn downsample(px: &PixelBuffer<'_>, mode: LumaMode, skip_64: bool) -> Mat64 {
    let plane = luma_plane(px, mode);
    downsample_plane(plane, px.width() as usize, px.height() as usize, skip_64)
}
