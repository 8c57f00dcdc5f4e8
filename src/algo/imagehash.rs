//! The imagehash family (stub: being implemented).

use crate::hash::{Hash64, HashValue};
use crate::image::PixelBuffer;

/// Options.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ImageHashOptions {
    /// 8 or 16.
    pub hash_size: u32,
}

impl Default for ImageHashOptions {
    fn default() -> Self {
        ImageHashOptions { hash_size: 8 }
    }
}

impl ImageHashOptions {
    /// Sets the hash size.
    pub fn hash_size(mut self, n: u32) -> Self {
        self.hash_size = n;
        self
    }
}

/// pHash.
pub fn phash(_p: &PixelBuffer<'_>, _o: &ImageHashOptions) -> HashValue {
    HashValue::Bits64(Hash64::default())
}
/// dHash.
pub fn dhash(_p: &PixelBuffer<'_>, _o: &ImageHashOptions) -> HashValue {
    HashValue::Bits64(Hash64::default())
}
/// aHash.
pub fn average_hash(_p: &PixelBuffer<'_>, _o: &ImageHashOptions) -> HashValue {
    HashValue::Bits64(Hash64::default())
}
/// wHash.
pub fn whash(_p: &PixelBuffer<'_>, _o: &ImageHashOptions) -> HashValue {
    HashValue::Bits64(Hash64::default())
}
