//! Decoding image bytes with limits. (Stub: being implemented.)

use std::path::Path;

use super::pixels::{PixelBuffer, PixelLayout};
use crate::error::{ErrorKind, Result};

/// Decoding limits: a decompression bomb or a huge header is a clean error, fast.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Limits {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest accepted width x height.
    pub max_pixels: u64,
    /// Largest total allocation the decoder may make, in bytes.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_width: 65_535,
            max_height: 65_535,
            max_pixels: 178_956_970,
            max_alloc: 1 << 30,
        }
    }
}

/// What to do with an EXIF orientation tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Orientation {
    /// Hash the pixels as stored, ignoring the tag (what the reference tools do).
    #[default]
    Ignore,
    /// Rotate / flip the pixels as the tag says before hashing.
    Apply,
}

/// Options for [`decode`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Size and allocation limits.
    pub limits: Limits,
    /// EXIF orientation policy.
    pub orientation: Orientation,
}

/// A decoded image, held only as long as the caller keeps it.
#[derive(Debug)]
pub struct DecodedImage {
    data: Vec<u8>,
    width: u32,
    height: u32,
    layout: PixelLayout,
}

impl DecodedImage {
    /// The pixels, for hashing.
    pub fn pixels(&self) -> PixelBuffer<'_> {
        PixelBuffer::packed(&self.data, self.width, self.height, self.layout)
            .expect("decoded image has a valid shape")
    }
}

/// Decodes image bytes.
///
/// # Errors
///
/// [`ErrorKind::Decode`] or [`ErrorKind::LimitsExceeded`].
pub fn decode(_bytes: &[u8], _opts: &DecodeOptions) -> Result<DecodedImage> {
    Err(ErrorKind::Decode("not implemented yet".into()).into())
}

/// Reads and decodes an image file.
///
/// # Errors
///
/// As [`decode`], plus I/O errors.
pub fn decode_path(path: &Path, opts: &DecodeOptions) -> Result<DecodedImage> {
    let bytes = std::fs::read(path).map_err(|e| crate::Error::from(e).with_path(path))?;
    decode(&bytes, opts).map_err(|e| e.with_path(path))
}
