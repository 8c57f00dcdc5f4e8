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
//! assert_eq!((pdq.value.width(), phash.value.width()), (256, 64));
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
//!
//! ## API conventions
//!
//! The layers depend downwards only: [`hash`] → [`image`] → [`algo`] → [`list`] → [`index`] →
//! [`matching`], with the `hashsieve` command-line tool (and any other front end) on top, holding
//! no logic a second front end would need. An index takes hashes, never a file.
//!
//! * **Constructors** are `new`, `from_*` and `with_*` (`Matcher::with_options(options)`);
//!   `with_*` names nothing else except [`Error::with_path`], which adds context to a value.
//! * **Option and builder types** have setters named by their field, taking and returning
//!   `self`: `IndexOptions::new(kind).threshold(31)`, `ListBuilder::new(kind).name("known")`.
//!   Getters are bare nouns (`list.kind()`).
//! * **Widths**: a hash's width in bits is `width()` on [`HashKind`] and [`HashValue`], and
//!   `BITS` on [`Hash64`] and [`Hash256`] (as `u64::BITS`). Bits are read with
//!   [`Hash256::bit`], [`Hash256::set_bit`] and [`Hash256::ones`]; no third-party types
//!   appear in the API except [`image`](::image) buffers and `memmap2::Mmap`.
//! * **Growth**: public enums and structs that may gain variants or fields are
//!   `#[non_exhaustive]`: match them with a `_` arm and build them with their constructors.
//!   Public tuples are named types.
//! * **Errors**: one [`Error`]; [`Error::kind`] gives an [`ErrorKind`] to match on
//!   (`matches!(err.kind(), ErrorKind::Checksum { .. })`), [`Error::path`] the file, and
//!   `source()` the underlying I/O or decode error. Messages say how to fix the problem and never
//!   contain hash values or image bytes. Functions document their failures under `# Errors`.
//! * **Panics** are for caller bugs only (an out-of-range index, say) and are documented under
//!   `# Panics`; no bytes from a file, the network or an image cause one.
//! * **Threads**: the types a service shares across threads (lists, indexes, the matcher,
//!   hashers, options, errors) are `Send + Sync`, and a test keeps them so.
//! * **Features**: `cli` (default) builds the tool and turns on `eval`; `eval` adds
//!   the robustness evaluation. `test-util` exposes synthetic-data generators and lets tests
//!   and benchmarks force an instruction set: it is for this crate's own tests and benches,
//!   **not** part of the stable API, and may change in any release.
//! * **The API is listed**: `public-api.txt` at the repository root lists every public item
//!   (features `eval`, without `test-util`), and a test fails when the API changes without it.
//!   After a deliberate change: `UPDATE_PUBLIC_API=1 cargo test --test public_api`.

#![deny(missing_docs)]
#![warn(
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

#[macro_use]
mod macros;

pub mod algo;
pub mod arch;
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
pub(crate) mod util;

pub use crate::algo::HashOutput;
pub use crate::error::{Error, ErrorKind, Limit, Result};
pub use crate::hash::{Hash256, Hash64, HashKind, HashValue};
pub use crate::image::{DecodeOptions, Limits, Orientation, PixelBuffer, PixelLayout};
pub use crate::list::{HashList, ListBuilder};

#[cfg(test)]
mod tests {
    /// The types a service shares across threads stay `Send + Sync` (memchr and image test
    /// this too): a change that breaks it fails to compile here.
    #[test]
    fn shared_types_are_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        macro_rules! shared {
            ($($t:ty),+ $(,)?) => { $(shared::<$t>();)+ };
        }
        use crate::{algo, image, index, list, matching};
        use crate::{Error, ErrorKind, Hash256, Hash64, HashKind, HashValue};
        use memmap2::Mmap;

        shared!(Error, ErrorKind, Hash64, Hash256, HashKind, HashValue);
        shared!(image::DecodeOptions, image::Limits, image::DecodeBudget);
        shared!(image::PixelBuffer<'static>, algo::Hasher, algo::HashOutput);
        shared!(algo::pdq::PdqOptions, algo::imagehash::ImageHashOptions);
        shared!(list::HashList<Mmap>, list::HashList<Vec<u8>>);
        shared!(list::HashList<&'static [u8]>, list::ListBuilder);

        for_each_width::<Hash64>();
        for_each_width::<Hash256>();
        fn for_each_width<H: index::HashBits>() {
            // Borrowing the hashes, and owning them (a list's bytes) with the section.
            shared!(index::SearchIndex<H, &'static [H]>, index::SearchIndex<H, Vec<H>, Mmap>);
            shared!(index::LinearScan<H, &'static [H]>, index::BkTree<H, &'static [H]>);
            shared!(index::Mih<H, &'static [H]>);
        }
        shared!(index::IndexOptions, index::Match, matching::Matcher);
        shared!(
            matching::MatcherOptions,
            matching::ListOptions,
            matching::Query
        );
        shared!(matching::QueryResult, matching::DedupOptions);
    }
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
