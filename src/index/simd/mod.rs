//! The Hamming kernels moved to [`crate::arch`]; these names keep the index modules compiling
//! until they import from there. Removed at integration.

pub(crate) use crate::arch::hamming_api as raw;
pub use crate::arch::Isa;
pub(crate) use crate::arch::{prefetch, Simd, WithSimd};
