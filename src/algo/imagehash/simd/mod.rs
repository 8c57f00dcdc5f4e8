//! The resampler's kernels per instruction set, chosen here from [`crate::arch`]'s one cached
//! detection: each instruction set has its own module implementing [`pillow::Kernels`] for
//! `arch`'s zero-sized token (which exists only where the CPU has the features), and [`Scalar`]
//! is always compiled and is the oracle the tests hold every SIMD kernel to. All kernels compute
//! exact integer results, so every path returns the same bytes.

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;

use super::pillow::{self, GreyImage, Scalar};
use super::ResizeOrder;
use crate::image::PixelBuffer;

/// `convert("L").resize((w, h), LANCZOS)` with the best kernels this CPU supports.
pub(crate) fn grey_resize(
    px: &PixelBuffer<'_>,
    w: usize,
    h: usize,
    order: ResizeOrder,
) -> GreyImage {
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = crate::arch::x86::Avx2::new() {
        return pillow::grey_resize(token, px, w, h, order);
    }
    pillow::grey_resize(Scalar, px, w, h, order)
}
