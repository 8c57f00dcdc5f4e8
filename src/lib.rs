//! # hashsieve
//!
//! Perceptual image hashes that match the reference tools bit for bit, and exact Hamming search
//! against large, memory-mapped lists of known hashes.
//!
//! ## Tour
//!
//! * [`hash`]: the values, [`Hash256`] (PDQ; imagehash at `hash_size` 16) and [`Hash64`]
//!   (pHash, dHash, aHash, wHash), their Hamming distance and hex forms, and [`HashKind`].
//! * [`image`]: decoding with limits and a documented pixel policy ([`image::decode`]), and
//!   [`PixelBuffer`] for pixels the caller already decoded.
//! * [`algo`]: [`algo::pdq`] (hash, quality, 8 dihedral variants) and [`algo::imagehash`], both
//!   bit-exact with their references; [`algo::Hasher`] decodes once and computes several hashes.
//! * [`list`]: the hash-list file ([`HashList`], [`ListBuilder`]): memory-mapped, versioned,
//!   checksummed; importers and exporters for the formats the field exchanges.
//! * [`index`]: exact Hamming search over hash slices: SIMD linear scan (scalar, AVX2,
//!   AVX-512), BK-tree and multi-index hashing behind one [`index::Index`] trait.
//! * [`matching`]: grouping near-duplicates.
//!
//! ```
//! use hashsieve::{algo::Hasher, HashKind, PixelBuffer, PixelLayout};
//!
//! // A synthetic 96x64 RGB gradient stands in for an upload.
//! let rgb: Vec<u8> = (0..96 * 64).flat_map(|i| [(i % 96) as u8 * 2, (i / 96) as u8 * 3, 90]).collect();
//! let px = PixelBuffer::packed(&rgb, 96, 64, PixelLayout::Rgb8)?;
//! let hasher = Hasher::new();
//! let pdq = hasher.hash_pixels(&px, HashKind::Pdq);
//! let phash = hasher.hash_pixels(&px, HashKind::PHash);
//! assert_eq!((pdq.value.bits(), phash.value.bits()), (256, 64));
//! // Text forms round-trip and parse back to the same value.
//! let again = HashKind::Pdq.parse_hex(&pdq.value.to_hex())?;
//! assert_eq!(again.distance(&pdq.value), Some(0));
//! # Ok::<(), hashsieve::Error>(())
//! ```
//!
//! ## Memory and privacy
//!
//! Pixels live only for the duration of a hashing call; nothing in the library writes, copies,
//! logs or transmits imagery. Hash values never appear in error messages or `Debug` output.

#![deny(missing_docs)]
#![warn(
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

pub mod algo;
mod error;
pub mod hash;
pub mod image;
pub mod index;
pub mod list;
pub mod matching;

pub use crate::algo::HashOutput;
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::hash::{Hash256, Hash64, HashKind, HashValue};
pub use crate::image::{DecodeOptions, Limits, Orientation, PixelBuffer, PixelLayout};
pub use crate::list::{HashList, ListBuilder};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
