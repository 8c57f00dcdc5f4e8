//! PDQ (stub: being implemented).

use crate::hash::Hash256;
use crate::image::PixelBuffer;

/// A PDQ hash and its quality.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PdqHash {
    /// The hash.
    pub hash: Hash256,
    /// Quality, 0..=100.
    pub quality: u8,
}

/// Computes PDQ.
pub fn pdq(_pixels: &PixelBuffer<'_>) -> PdqHash {
    PdqHash {
        hash: Hash256::default(),
        quality: 0,
    }
}
