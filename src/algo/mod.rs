//! Perceptual hash algorithms: PDQ (with quality and dihedral variants) and the imagehash family
//! (pHash, dHash, aHash, wHash), each bit-exact with its reference on the same decoded pixels.

pub mod imagehash;
pub mod pdq;

use crate::hash::{HashKind, HashValue};
use crate::image::PixelBuffer;

/// One computed hash with its quality, where the algorithm has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HashOutput {
    /// The algorithm and width.
    pub kind: HashKind,
    /// The hash.
    pub value: HashValue,
    /// PDQ's quality (0..=100); `None` for algorithms without one.
    pub quality: Option<u8>,
}

/// Computes one hash of `kind` over `pixels` with default options.
///
/// ```
/// use hashsieve::{algo, HashKind, PixelBuffer, PixelLayout};
/// let grey: Vec<u8> = (0..64 * 64).map(|i| (i % 64 * 4) as u8).collect();
/// let px = PixelBuffer::packed(&grey, 64, 64, PixelLayout::Luma8)?;
/// let out = algo::compute(HashKind::Pdq, &px);
/// assert_eq!(out.value.bits(), 256);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn compute(kind: HashKind, pixels: &PixelBuffer<'_>) -> HashOutput {
    use imagehash::ImageHashOptions;
    let big = ImageHashOptions::default().hash_size(16);
    let small = ImageHashOptions::default();
    let (value, quality) = match kind {
        HashKind::Pdq => {
            let p = pdq::pdq(pixels);
            (HashValue::Bits256(p.hash), Some(p.quality))
        }
        HashKind::PHash => (imagehash::phash(pixels, &small), None),
        HashKind::DHash => (imagehash::dhash(pixels, &small), None),
        HashKind::AHash => (imagehash::average_hash(pixels, &small), None),
        HashKind::WHash => (imagehash::whash(pixels, &small), None),
        HashKind::PHash256 => (imagehash::phash(pixels, &big), None),
        HashKind::DHash256 => (imagehash::dhash(pixels, &big), None),
        HashKind::AHash256 => (imagehash::average_hash(pixels, &big), None),
        HashKind::WHash256 => (imagehash::whash(pixels, &big), None),
    };
    HashOutput {
        kind,
        value,
        quality,
    }
}
