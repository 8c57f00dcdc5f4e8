//! Perceptual hash algorithms: PDQ (with quality and dihedral variants) and the imagehash family
//! (pHash, dHash, aHash, wHash), each bit-exact with its reference on the same decoded pixels.
//!
//! [`Hasher`] bundles decoding and hashing options for the common case (bytes or a path in, hashes
//! out); the per-algorithm modules take a [`PixelBuffer`] for callers that already hold pixels.

mod file;
pub mod imagehash;
pub mod pdq;

pub use file::FileHashes;

use std::path::Path;

use crate::error::Result;
use crate::hash::{HashKind, HashValue};
use crate::image::{decode, decode_path, DecodeOptions, PixelBuffer};

use self::imagehash::{HashSize, ImageHashOptions, ResizeOrder};
use self::pdq::{PdqDihedral, PdqOptions};

/// One computed hash with its quality, where the algorithm has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HashOutput {
    /// The algorithm and width.
    pub kind: HashKind,
    /// The hash.
    pub value: HashValue,
    /// The quality of the image for this algorithm, 0..=100 (0 for a flat image); `Some` for
    /// every hash [`Hasher`] computes.
    ///
    /// For PDQ it is PDQ's own metric (upstream discards hashes below 50). For pHash, dHash,
    /// aHash and wHash it is the same gradient metric on the grey grid the algorithm thresholds,
    /// scaled to PDQ's 64x64 pair count ([`imagehash::gradient_quality`]): pHash's `4n x 4n`
    /// image, dHash's `(n+1) x n`, aHash's `n x n`, and wHash's `scale x scale` image before
    /// the transform, pooled to 64x64 block means when larger
    /// ([`imagehash::whash_with_quality`]). Flat and near-flat images score 0 under every
    /// algorithm, but the scales differ between algorithms (small grids saturate at 100
    /// sooner), so set a gate per algorithm. `None` only where no quality is known (a hash
    /// read from text without one).
    pub quality: Option<u8>,
}

/// Computes one hash of `kind` over `pixels` with default options.
///
/// ```
/// use hashsieve::{algo, HashKind, PixelBuffer, PixelLayout};
/// let grey: Vec<u8> = (0..64 * 64).map(|i| (i % 64 * 4) as u8).collect();
/// let px = PixelBuffer::packed(&grey, 64, 64, PixelLayout::Luma8)?;
/// let out = algo::compute(HashKind::Pdq, &px);
/// assert_eq!(out.value.width(), 256);
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn compute(kind: HashKind, pixels: &PixelBuffer<'_>) -> HashOutput {
    Hasher::new().hash_pixels(pixels, kind)
}

/// Decodes and hashes images with one set of options. Cheap to clone; `Send + Sync`, so one
/// `Hasher` serves every worker thread.
///
/// Decoded pixels live only for the duration of a call.
///
/// ```no_run
/// use hashsieve::{algo::Hasher, HashKind};
/// let hasher = Hasher::new();
/// let bytes = std::fs::read("upload.jpg")?;
/// let out = hasher.hash_bytes(&bytes, &[HashKind::Pdq, HashKind::PHash])?;
/// println!("pdq quality {:?}", out[0].quality);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Hasher {
    /// The decoding options (limits, orientation, 16-bit policy).
    pub decode_options: DecodeOptions,
    /// PDQ's options.
    pub pdq_options: PdqOptions,
    /// The resize order of the imagehash family.
    pub resize_order: ResizeOrder,
}

impl Hasher {
    /// A hasher with the reference tools' defaults: decoding limits on, EXIF orientation
    /// ignored, pdqhash's luma, Pillow 13's resize order.
    pub fn new() -> Hasher {
        Hasher::default()
    }

    setters! {
        -> Hasher;
        /// Sets the decoding options (limits, orientation, 16-bit policy).
        decode_options(options: DecodeOptions);

        /// Sets PDQ's options.
        pdq_options(options: PdqOptions);

        /// Sets the resize order of the imagehash family (use [`ResizeOrder::Pillow12`] to match
        /// lists hashed with Pillow 12 or older).
        resize_order(order: ResizeOrder);
    }

    /// Hashes pixels the caller already decoded.
    ///
    /// # Panics
    ///
    /// Panics if `kind` is exact ([`HashKind::is_exact`]): exact hashes are of file bytes, not
    /// pixels (use [`Hasher::hash_bytes`], [`Hasher::hash_file`] or
    /// [`ExactHasher`](crate::hash::ExactHasher)).
    pub fn hash_pixels(&self, pixels: &PixelBuffer<'_>, kind: HashKind) -> HashOutput {
        let size = if kind.width() == 256 {
            HashSize::Sixteen
        } else {
            HashSize::Eight
        };
        let opts = ImageHashOptions::default()
            .size(size)
            .resize_order(self.resize_order);
        let imagehash_fn = match kind {
            HashKind::Pdq => {
                let p = pdq::pdq_with(pixels, &self.pdq_options);
                return HashOutput {
                    kind,
                    value: HashValue::Bits256(p.hash),
                    quality: Some(p.quality),
                };
            }
            HashKind::PHash | HashKind::PHash256 => imagehash::phash_with_quality,
            HashKind::DHash | HashKind::DHash256 => imagehash::dhash_with_quality,
            HashKind::AHash | HashKind::AHash256 => imagehash::average_hash_with_quality,
            HashKind::WHash | HashKind::WHash256 => imagehash::whash_with_quality,
            HashKind::Md5 | HashKind::Sha1 | HashKind::Sha256 => {
                panic!("{kind} is an exact hash of file bytes, not of pixels")
            }
        };
        let imagehash::ImageHash {
            hash: value,
            quality,
            ..
        } = imagehash_fn(pixels, &opts);
        HashOutput {
            kind,
            value,
            quality: Some(quality),
        }
    }

    /// PDQ's 8 dihedral hashes of pixels the caller already decoded, computed as the PDQ options'
    /// [`DihedralMode`](pdq::DihedralMode) says.
    pub fn pdq_dihedral_pixels(&self, pixels: &PixelBuffer<'_>) -> PdqDihedral {
        pdq::pdq_dihedral_with(pixels, &self.pdq_options)
    }

    /// PDQ's hash (as [`Hasher::hash_pixels`] gives it) and its 8 dihedral hashes, from one pass
    /// where the reference allows: in [`DihedralMode::Reference`](pdq::DihedralMode) they differ
    /// only for an image of exactly 64x64, where the reference's `compute` skips the blur and
    /// `compute_dihedral` does not (see [`pdq`]).
    pub fn pdq_and_dihedral(&self, pixels: &PixelBuffer<'_>) -> (HashOutput, PdqDihedral) {
        let dihedral = self.pdq_dihedral_pixels(pixels);
        let quirk = self.pdq_options.dihedral_mode() == pdq::DihedralMode::Reference
            && (pixels.width(), pixels.height()) == (64, 64);
        let plain = if quirk {
            self.hash_pixels(pixels, HashKind::Pdq)
        } else {
            HashOutput {
                kind: HashKind::Pdq,
                value: HashValue::Bits256(dihedral.get(pdq::Dihedral::Orig)),
                quality: Some(dihedral.quality),
            }
        };
        (plain, dihedral)
    }

    /// The decoding options, keeping the image's memory reserved in the decode budget until the
    /// hashes are computed (the image is dropped before the call returns, so it is safe).
    /// The options each decode for `kinds` runs with: the reservation kept while hashing, and
    /// grey only when no kind needs colour (PDQ has its own luma).
    fn holding(&self, kinds: &[HashKind]) -> DecodeOptions {
        let grey = !kinds.contains(&HashKind::Pdq);
        self.decode_options.clone().keep_reserved(true).grey(grey)
    }

    /// Decodes `bytes` once and computes each of `kinds`, in order. The decoded image counts
    /// against the decode budget until the hashes are computed. Exact kinds (MD5, SHA-1,
    /// SHA-256) are digests of `bytes`; to get them for bytes that are not an image, use
    /// [`Hasher::hash_reader`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode),
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) or
    /// [`ErrorKind::Limit`](crate::ErrorKind::Limit).
    pub fn hash_bytes(&self, bytes: &[u8], kinds: &[HashKind]) -> Result<Vec<HashOutput>> {
        let image = decode(bytes, &self.holding(kinds))?;
        Ok(kinds
            .iter()
            .map(|&k| {
                if k.is_exact() {
                    HashOutput {
                        kind: k,
                        value: HashValue::Exact(crate::hash::Digest::of(k, bytes)),
                        quality: None,
                    }
                } else {
                    self.hash_pixels(&image.pixels(), k)
                }
            })
            .collect())
    }

    /// Reads and decodes the file at `path` once and computes each of `kinds`, in order.
    ///
    /// # Errors
    ///
    /// As [`Hasher::hash_bytes`], plus I/O errors; the error carries the path.
    ///
    /// # Panics
    ///
    /// Panics if a kind is exact; use [`Hasher::hash_file`], which reads the bytes once for
    /// exact and perceptual hashes.
    pub fn hash_path(&self, path: &Path, kinds: &[HashKind]) -> Result<Vec<HashOutput>> {
        let image = decode_path(path, &self.holding(kinds))?;
        Ok(kinds
            .iter()
            .map(|&k| self.hash_pixels(&image.pixels(), k))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::PixelLayout;

    #[test]
    fn hasher_agrees_with_the_algorithm_functions() {
        let rgb: Vec<u8> = (0..97 * 61 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let px = PixelBuffer::packed(&rgb, 97, 61, PixelLayout::Rgb8).unwrap();
        let h = Hasher::new();
        assert_eq!(
            h.hash_pixels(&px, HashKind::Pdq).value,
            HashValue::Bits256(pdq::pdq(&px).hash)
        );
        let big = ImageHashOptions::default().size(HashSize::Sixteen);
        assert_eq!(
            h.hash_pixels(&px, HashKind::DHash256).value,
            imagehash::dhash(&px, &big)
        );
        assert_eq!(
            h.hash_pixels(&px, HashKind::WHash).value,
            imagehash::whash(&px, &ImageHashOptions::default())
        );
        for kind in HashKind::PERCEPTUAL {
            assert_eq!(h.hash_pixels(&px, kind).value.width(), kind.width());
        }
        // One pass for both, equal to the separate calls, also at the 64x64 quirk, in both
        // dihedral modes.
        let exact = Hasher::new()
            .pdq_options(pdq::PdqOptions::default().dihedral(pdq::DihedralMode::Exact));
        for h in [&h, &exact] {
            for (w, hgt) in [(97u32, 61u32), (64, 64)] {
                let len = (w * hgt * 3) as usize;
                let px = PixelBuffer::packed(&rgb[..len], w, hgt, PixelLayout::Rgb8).unwrap();
                let (plain, dih) = h.pdq_and_dihedral(&px);
                assert_eq!(plain, h.hash_pixels(&px, HashKind::Pdq));
                assert_eq!(dih, h.pdq_dihedral_pixels(&px));
            }
        }
    }
}
