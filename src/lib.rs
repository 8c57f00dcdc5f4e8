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
//! * [`algo`]: [`algo::pdq`] (hash, quality, 8 dihedral variants, reference or exact) and
//!   [`algo::imagehash`], both bit-exact with their references, each hash with a quality;
//!   [`algo::Hasher`] decodes once and computes several hashes.
//! * [`list`]: the hash-list file ([`HashList`], [`ListBuilder`]): versioned, checksummed,
//!   read into memory or memory-mapped (an explicit, `unsafe` opt-in:
//!   [`HashList::open_mmap`]), and verified in full before it answers; importers and
//!   exporters for the formats the field exchanges.
//! * [`index`]: exact Hamming search over hash slices: SIMD linear scan (scalar, AVX2,
//!   AVX-512), BK-tree and multi-index hashing behind one [`index::Index`] trait.
//! * [`matching`]: the [`matching::Matcher`] over opened lists (thresholds, quality gates,
//!   dihedral fan-out, batches, atomic list replacement) and deduplication (self-join, clusters).
//! * [`fs`]: [`fs::AtomicFile`], the one atomic writer (temp file, `fsync`, rename) behind every
//!   file the crate and its tool write, with clean-up of temporary files killed writers left.
//! * `eval` (feature `eval`, on with the default `cli`): in-memory edits and the robustness
//!   evaluation (recall, precision and false-match rates per algorithm and edit).
//!
//! End to end: hash an image, build a list, open it, match an edited copy.
//!
//! ```
//! use hashsieve::{algo::Hasher, HashKind, PixelBuffer, PixelLayout};
//!
//! // A synthetic 96x64 RGB pattern stands in for an upload.
//! let rgb: Vec<u8> = (0..96 * 64u32)
//!     .flat_map(|i| {
//!         let (x, y) = (i % 96, i / 96);
//!         let v = ((x * x + 3 * x * y) % 200) as u8;
//!         [v, v / 2 + 20, 200 - v]
//!     })
//!     .collect();
//! let px = PixelBuffer::packed(&rgb, 96, 64, PixelLayout::Rgb8)?;
//! let hasher = Hasher::new();
//! let pdq = hasher.hash_pixels(&px, HashKind::Pdq);
//! let phash = hasher.hash_pixels(&px, HashKind::PHash);
//! assert_eq!((pdq.value.bits(), phash.value.bits()), (256, 64));
//! // Text forms round-trip and parse back to the same value.
//! let again = HashKind::Pdq.parse_hex(&pdq.value.to_hex())?;
//! assert_eq!(again.distance(&pdq.value), Some(0));
//!
//! // Build a list (in memory here; `ListBuilder::write` writes a file atomically) and open it.
//! use hashsieve::list::EntryMeta;
//! use hashsieve::matching::{ListOptions, Matcher, Query};
//! let mut builder = hashsieve::ListBuilder::new(HashKind::Pdq).name("known").min_quality(0);
//! builder.add(pdq.value, EntryMeta::new("case-1/img-7"))?;
//! let list = hashsieve::HashList::from_bytes(builder.to_vec()?)?;
//!
//! // A brightened copy of the image still matches, within PDQ's threshold of 31.
//! let brighter: Vec<u8> = rgb.iter().map(|&v| v.saturating_add(12)).collect();
//! let copy = hasher.hash_pixels(&PixelBuffer::packed(&brighter, 96, 64, PixelLayout::Rgb8)?, HashKind::Pdq);
//! let matcher = Matcher::new();
//! matcher.add_list(list, ListOptions::default())?;
//! let result = matcher.query(&Query::new(HashKind::Pdq, copy.value, copy.quality));
//! assert_eq!(result.matches()[0].entry_ids, ["case-1/img-7"]);
//! # Ok::<(), hashsieve::Error>(())
//! ```
//!
//! ## Memory and privacy
//!
//! Pixels live only for the duration of a hashing call; nothing in the library writes, copies,
//! logs or transmits imagery. Hash values never appear in error messages or `Debug` output.
//!
//! ## Lists are checked before they answer
//!
//! Every [`HashList`] constructor checks every byte (the CRC of every section, padding,
//! structure) before it returns, and the [`matching::Matcher`] validates a persisted search
//! index in full when a list is added: a corrupt list is an error, never a wrong or missed
//! match. Skipping the check takes an explicit call ([`HashList::from_bytes_unverified`]).
//! A list mapped with [`HashList::open_mmap`] must not be modified in place while mapped
//! (`SIGBUS`); replace list files by renaming a new file over them.

#![deny(missing_docs)]
#![warn(
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

pub mod algo;
mod bytes;
mod error;
#[cfg(feature = "eval")]
pub mod eval;
pub mod fs;
pub mod hash;
pub mod image;
pub mod index;
pub mod list;
pub mod matching;

pub use crate::algo::HashOutput;
pub use crate::error::{Error, ErrorKind, Limit, Result};
pub use crate::hash::{Hash256, Hash64, HashKind, HashValue};
pub use crate::image::{DecodeOptions, Limits, Orientation, PixelBuffer, PixelLayout};
pub use crate::list::{HashList, ListBuilder};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
