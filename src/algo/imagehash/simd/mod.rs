//! Run-time selection of the resampler's kernels, after memchr's pattern: each instruction set
//! has its own module and a zero-sized token that can only be made after the CPU has been checked,
//! the kernels are reached only through the token, and [`Scalar`] is always compiled and is the
//! oracle the tests hold every SIMD kernel to. All kernels compute exact integer results, so every
//! path returns the same bytes.

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
    if let Some(token) = avx2::Avx2::detect() {
        return pillow::grey_resize(token, px, w, h, order);
    }
    pillow::grey_resize(Scalar, px, w, h, order)
}
