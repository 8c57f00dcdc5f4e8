//! Exact Hamming search over slices of hashes: a SIMD linear scan, a BK-tree and multi-index
//! hashing, behind one [`Index`] trait.
//!
//! Every index answers exactly: a range query returns **every** entry within the threshold
//! (inclusive), each with its distance, and nothing else; a k-nearest query returns the `k`
//! smallest by (distance, index). Results are always sorted by distance, then by index (the
//! position in the hashes slice), so every index gives identical output for identical input.
//!
//! An index takes hashes, never a file type, and owns its storage, as `fst`'s `Fst<D>` does:
//! the hashes `S` (anything `AsRef<[H]>`: a borrowed `&[H]`, a `Vec<H>`, an `Arc<[H]>`, a
//! view of a memory-mapped hash list) and, for the two persistent indexes, their serialised
//! section `D` (anything `AsRef<[u8]>`). `build`/`load` borrow slices, zero-copy;
//! `build_over`/`open` take owners, so an index can be kept beside the list it searches and
//! is parsed (and, when loaded, validated) once, never per query. The sections are flat and
//! position-independent ([`BkTree::as_bytes`], [`Mih::as_bytes`]); their byte formats are
//! documented on [`bktree`] and [`mih`], and the hash-list file stores one as its optional
//! [`INDEX_SECTION`](crate::list::INDEX_SECTION).
//!
//! [`join`] finds every pair within a threshold in one set or between two, exactly, on the
//! same kernels and a cost model shared with multi-index hashing's planner.
//!
//! | index | best at | cost per query |
//! |---|---|---|
//! | [`LinearScan`] | large thresholds, small lists | one pass over the list at memory bandwidth; batches are cache blocked and compute bound |
//! | [`Mih`] | thresholds up to about `bits / 6` on lists from ~10,000 hashes | a few thousand directory probes and candidate checks |
//! | [`BkTree`] | very small thresholds only (`r <= 2` for 64-bit, `r <= 4` for 256-bit) | visits a fraction of the nodes that grows quickly with the threshold |
//!
//! # Measured
//!
//! `hashsieve::index::bench::run` (synthetic lists as in the peer harness: uniform random
//! hashes plus one planted copy per query with up to 40 (256-bit) or 13 (64-bit) bits
//! flipped; 1,000 queries; every answer checked against the scan: recall 1.0, no false
//! positives) on a 2-core AMD EPYC (Zen 4) VM with AVX-512 VPOPCNTDQ and about 23-25 GB/s of
//! single-thread read bandwidth, quiet machine, queries per second:
//!
//! | list | threshold | scan, 1 thread | batch scan, 2 threads | MIH, 1 thread | MIH batch, 2 threads | BK-tree, 1 thread | MIH build, size |
//! |---|---|---|---|---|---|---|---|
//! | 10M × 256-bit | 31 | 78 (avx512), 79 (avx2), 44 (scalar) | 887 | 2,664 | 5,324 | 1.5 | 3.4 s, 317 MB |
//! | 1M × 256-bit | 31 | 1,437 | 8,690 | 12,263 | 26,621 | 19 | 0.12 s, 32 MB |
//! | 1M × 64-bit | 10 | 10,478 | 25,015 | 20,105 | 42,005 | 56 | 0.03 s, 9.2 MB |
//!
//! The single-query scan of 10M PDQ hashes reads 320 MB in 12.8 ms, the machine's measured
//! read bandwidth. Multi-index hashing's query is bound by random memory accesses (about
//! 20,000 cache lines): on transparent huge pages it reached about 3,100 queries per second.
//!
//! The MIH figures above are of the layouts of the former default memory bound (32 bytes per
//! hash). Under the default of 40 the 10M list gets 10 tables instead of 8 (361 MB instead of
//! 317 MB; about 9,700 random reads per query instead of 21,600, counting directory entries),
//! which ran 1.7-2.1 times as fast side by side on a loaded 2-core Xeon VM, and the 1M
//! 256-bit list a larger directory, 2.1 times as fast; see the `mih` module docs.
//!
//! ```
//! use hashsieve::Hash64;
//! use hashsieve::index::{Index, IndexKind, IndexOptions, Match, SearchIndex};
//!
//! let hashes: Vec<Hash64> = (0..1000u64).map(|i| Hash64::from_u64(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))).collect();
//! let index = SearchIndex::build(&hashes, &IndexOptions::new(IndexKind::Mih).threshold(10))?;
//! let query = Hash64::from_u64(hashes[42].to_u64() ^ 0b111);
//! let mut found = Vec::new();
//! index.range(&query, 10, &mut found);
//! assert_eq!(found[0], Match::new(42, 3));
//! # Ok::<(), hashsieve::Error>(())
//! ```

use std::fmt;

use rayon::prelude::*;

use crate::arch::Isa;
use crate::error::{Error, ErrorKind, Result};
use crate::hash::{Hash256, Hash64};

pub mod bench;
pub mod bktree;
pub(crate) mod cost;
pub mod join;
mod linear;
pub mod mih;

pub use self::bktree::BkTree;
pub use self::join::{cross_join, cross_join_with, self_join, self_join_with, JoinMethod, Pair};
pub use self::linear::LinearScan;
pub use self::mih::{Mih, MihOptions};

/// One search result: the position of a hash in the indexed slice and its Hamming distance to
/// the query.
///
/// Ordered by distance, then index: the order every index returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Match {
    /// Position in the hashes slice the index was built over.
    pub index: u32,
    /// Hamming distance to the query.
    pub distance: u32,
}

impl Match {
    /// A match of `hashes[index]` at `distance`.
    pub const fn new(index: u32, distance: u32) -> Match {
        Match { index, distance }
    }
}

impl Ord for Match {
    fn cmp(&self, other: &Match) -> std::cmp::Ordering {
        (self.distance, self.index).cmp(&(other.distance, other.index))
    }
}

impl PartialOrd for Match {
    fn partial_cmp(&self, other: &Match) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

mod sealed {
    use crate::arch::Isa;
    use crate::index::Match;

    pub trait Sealed: Sized + Copy {
        /// Bits `start..start + len` of the hash integer (`len <= 32`) as the low bits of a u32.
        fn key(&self, start: u32, len: u32) -> u32;
        /// A hash from successive 64-bit words (for synthetic data).
        fn from_words(next: &mut dyn FnMut() -> u64) -> Self;
        /// The hash with bit `k` flipped.
        fn flip(&self, k: u32) -> Self;
        /// Whether every bit is 0, or every bit is 1 (the hash of a blank frame).
        fn is_degenerate(&self) -> bool;
        /// The single-query range kernel.
        fn range_kernel(
            isa: Isa,
            hashes: &[Self],
            q: &Self,
            thr: u32,
            base: u32,
            out: &mut Vec<Match>,
        );
        /// The many-query range kernel.
        fn batch_kernel(
            isa: Isa,
            hashes: &[Self],
            queries: &[Self],
            thr: u32,
            base: u32,
            out: &mut Vec<(u32, Match)>,
        );
    }
}

/// A hash width the indexes can search: implemented by [`Hash64`] and [`Hash256`] only.
///
/// ```
/// use hashsieve::index::HashBits;
/// use hashsieve::{Hash256, Hash64};
/// assert_eq!(<Hash64 as HashBits>::BITS + 192, <Hash256 as HashBits>::BITS);
/// ```
pub trait HashBits: sealed::Sealed + Eq + Send + Sync + fmt::Debug + 'static {
    /// The width in bits (64 or 256).
    const BITS: u32;
    /// The Hamming distance.
    fn hamming(&self, other: &Self) -> u32;
}

/// The range kernels of one hash width: [`crate::arch::hamming_api`]'s `$range` and `$batch`.
macro_rules! hamming_kernels {
    ($range:ident, $batch:ident) => {
        fn range_kernel(
            isa: Isa,
            hashes: &[Self],
            q: &Self,
            thr: u32,
            base: u32,
            out: &mut Vec<Match>,
        ) {
            crate::arch::hamming_api::$range(isa, hashes, q, thr, base, out)
        }
        fn batch_kernel(
            isa: Isa,
            hashes: &[Self],
            queries: &[Self],
            thr: u32,
            base: u32,
            out: &mut Vec<(u32, Match)>,
        ) {
            crate::arch::hamming_api::$batch(isa, hashes, queries, thr, base, out)
        }
    };
}

impl sealed::Sealed for Hash64 {
    #[inline(always)]
    fn key(&self, start: u32, len: u32) -> u32 {
        let v = self.to_u64() >> start;
        (v & ((1u64 << len) - 1)) as u32
    }
    fn from_words(next: &mut dyn FnMut() -> u64) -> Self {
        Hash64::from_u64(next())
    }
    fn flip(&self, k: u32) -> Self {
        Hash64::from_u64(self.to_u64() ^ (1u64 << k))
    }
    fn is_degenerate(&self) -> bool {
        Hash64::is_degenerate(self)
    }
    hamming_kernels!(range64, batch64);
}

impl sealed::Sealed for Hash256 {
    #[inline(always)]
    fn key(&self, start: u32, len: u32) -> u32 {
        let l = self.limbs();
        let w = (start / 64) as usize;
        let lo = l[w] as u128 | ((if w + 1 < 4 { l[w + 1] } else { 0 }) as u128) << 64;
        ((lo >> (start % 64)) & ((1u128 << len) - 1)) as u32
    }
    fn from_words(next: &mut dyn FnMut() -> u64) -> Self {
        Hash256::from_limbs([next(), next(), next(), next()])
    }
    fn flip(&self, k: u32) -> Self {
        let mut l = self.limbs();
        l[(k / 64) as usize] ^= 1u64 << (k % 64);
        Hash256::from_limbs(l)
    }
    fn is_degenerate(&self) -> bool {
        Hash256::is_degenerate(self)
    }
    hamming_kernels!(range256, batch256);
}

impl HashBits for Hash64 {
    const BITS: u32 = 64;
    #[inline(always)]
    fn hamming(&self, other: &Self) -> u32 {
        self.distance(other)
    }
}

impl HashBits for Hash256 {
    const BITS: u32 = 256;
    #[inline(always)]
    fn hamming(&self, other: &Self) -> u32 {
        self.distance(other)
    }
}

/// Exact Hamming search over a slice of hashes.
///
/// Every implementation returns the same results for the same input: all entries within the
/// threshold (inclusive), sorted by distance then index. Thresholds above the bit width are
/// treated as the bit width (everything matches).
pub trait Index: Send + Sync {
    /// The hash type searched.
    type Hash: HashBits;

    /// Which index this is.
    fn kind(&self) -> IndexKind;

    /// How many hashes are indexed.
    fn len(&self) -> usize;

    /// Whether no hashes are indexed.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the index holds besides the hashes themselves (its section size).
    fn index_bytes(&self) -> usize;

    /// Replaces the contents of `out` with every entry within `threshold` of `query`, sorted by
    /// (distance, index). Reusing `out` across calls avoids allocation.
    fn range(&self, query: &Self::Hash, threshold: u32, out: &mut Vec<Match>);

    /// The `k` nearest entries, sorted by (distance, index); fewer when the list is shorter.
    fn knn(&self, query: &Self::Hash, k: usize) -> Vec<Match>;

    /// [`range`](Index::range) for each query, run in parallel on the rayon pool; `result[i]`
    /// answers `queries[i]`.
    fn range_batch(&self, queries: &[Self::Hash], threshold: u32) -> Vec<Vec<Match>> {
        queries
            .par_iter()
            .map_init(Vec::new, |buf, q| {
                self.range(q, threshold, buf);
                buf.clone()
            })
            .collect()
    }
}

/// Which index to use. [`IndexKind::Auto`] applies [`choose_kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum IndexKind {
    /// Choose from the bit width, list size, threshold and batch size ([`choose_kind`]).
    #[default]
    Auto,
    /// [`LinearScan`]: no index at all; SIMD scan of the hashes.
    Linear,
    /// [`BkTree`].
    BkTree,
    /// [`Mih`]: multi-index hashing.
    Mih,
}

impl IndexKind {
    /// The name used on the command line and in benchmark rows.
    pub const fn name(self) -> &'static str {
        match self {
            IndexKind::Auto => "auto",
            IndexKind::Linear => "linear",
            IndexKind::BkTree => "bktree",
            IndexKind::Mih => "mih",
        }
    }
}

display_by!(IndexKind);

from_str_by_name! {
    IndexKind: "index kind",
    all [IndexKind::Auto, IndexKind::Linear, IndexKind::BkTree, IndexKind::Mih],
    expected "auto, linear, bktree, mih",
    aliases {
        "scan" => "linear",
        "flat" => "linear",
        "bk-tree" => "bktree",
        "bk" => "bktree",
        "multi-index" => "mih",
    }
}

/// The index [`IndexKind::Auto`] picks for a list of `len` hashes of `bits` bits (64 or 256),
/// queried at `threshold` in batches of `batch` queries per call. Never returns `Auto`.
///
/// The rule compares predicted nanoseconds per query, from cost models fitted to
/// measurements on the reference machine (2-core AMD EPYC Zen 4 VM, AVX-512 VPOPCNTDQ;
/// uniform random hashes with planted near-duplicates):
///
/// * lists under 4,096 hashes, or a threshold of the full width: [`IndexKind::Linear`];
/// * otherwise multi-index hashing's predicted cost (its layout planner's model: directory
///   probes, inline bytes scanned, survivors decoded, candidates verified, with DRAM or cache
///   constants depending on the index size) against the linear scan's: one pass at memory
///   bandwidth for single queries (`batch < 64`), or the cache-blocked batch scan's compute
///   cost per query (0.23 ns per 256-bit pair, 0.09 ns per 64-bit pair) for batches;
/// * [`IndexKind::Mih`] when it is predicted cheaper, else [`IndexKind::Linear`].
///
/// Measured crossovers (single queries, one thread, index built for the threshold queried):
/// 1M 256-bit hashes between `r = 40` (MIH 2,516 q/s, scan 1,161) and `r = 48` (615 against
/// 755); 1M 64-bit between `r = 10` (MIH 18,565, scan 9,904) and `r = 12` (7,928 against
/// 10,001); 10M 256-bit beyond `r = 48` (MIH 124, scan 73). The rule reproduces each of these.
///
/// The BK-tree is never chosen: where it beats the scan (`r <= 1` for 64-bit, `r <= 4` for
/// 256-bit) multi-index hashing is faster still (see [`bktree`]).
///
/// ```
/// use hashsieve::index::{choose_kind, IndexKind};
/// assert_eq!(choose_kind(256, 10_000_000, 31, 1), IndexKind::Mih);
/// assert_eq!(choose_kind(64, 1_000_000, 10, 1000), IndexKind::Mih);
/// assert_eq!(choose_kind(256, 1_000, 31, 1), IndexKind::Linear);
/// assert_eq!(choose_kind(256, 10_000_000, 100, 1), IndexKind::Linear);
/// ```
pub fn choose_kind(bits: u32, len: usize, threshold: u32, batch: usize) -> IndexKind {
    if len < 4096 || threshold >= bits {
        return IndexKind::Linear;
    }
    let linear = if batch >= 64 {
        cost::batch_linear_cost(bits, len)
    } else {
        cost::linear_cost(bits, len)
    };
    if mih::predicted_cost(bits, len, threshold) < linear {
        IndexKind::Mih
    } else {
        IndexKind::Linear
    }
}

/// How to build a [`SearchIndex`].
///
/// ```
/// use hashsieve::index::{IndexKind, IndexOptions};
/// let opts = IndexOptions::new(IndexKind::Auto).threshold(31).batch(1);
/// assert_eq!(opts.kind, IndexKind::Auto);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IndexOptions {
    /// Which index; `Auto` by default.
    pub kind: IndexKind,
    /// The threshold queries will mostly use (`None`: 31 for 256-bit, 10 for 64-bit). Any
    /// threshold still answers exactly; this only tunes the choice and the layout.
    pub threshold: Option<u32>,
    /// How many queries a typical call will carry (1 for single lookups).
    pub batch: usize,
    /// A forced instruction set (default: the best detected); set only with the feature
    /// `test-util`.
    pub(crate) isa: Option<Isa>,
}

impl Default for IndexOptions {
    fn default() -> IndexOptions {
        IndexOptions {
            kind: IndexKind::Auto,
            threshold: None,
            batch: 1,
            isa: None,
        }
    }
}

impl IndexOptions {
    /// Options for `kind`, the rest default.
    pub fn new(kind: IndexKind) -> IndexOptions {
        IndexOptions {
            kind,
            ..IndexOptions::default()
        }
    }
    /// Sets the expected threshold.
    pub fn threshold(mut self, threshold: u32) -> IndexOptions {
        self.threshold = Some(threshold);
        self
    }
    /// Sets the expected batch size.
    pub fn batch(mut self, batch: usize) -> IndexOptions {
        self.batch = batch.max(1);
        self
    }
    /// Forces an instruction set (tests and benchmarks only: feature `test-util`).
    #[cfg(feature = "test-util")]
    pub fn isa(mut self, isa: Isa) -> IndexOptions {
        self.isa = Some(isa);
        self
    }
}

pub(crate) fn default_threshold(bits: u32) -> u32 {
    if bits >= 256 {
        31
    } else {
        10
    }
}

#[cfg(feature = "test-util")]
thread_local! {
    static PARSES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many persistent index sections (BK-tree or multi-index hashing) the calling thread has
/// parsed so far, built ones included (feature `test-util`): a test that a section is parsed
/// once, when it is opened, and never per query.
#[cfg(feature = "test-util")]
pub fn sections_parsed_on_this_thread() -> u64 {
    PARSES.with(|c| c.get())
}

/// Counts one section parse for [`sections_parsed_on_this_thread`].
#[inline]
pub(crate) fn count_parse() {
    #[cfg(feature = "test-util")]
    PARSES.with(|c| c.set(c.get() + 1));
}

/// Checks that a list fits the `u32` positions of [`Match`].
pub(crate) fn check_len(len: usize) -> Result<()> {
    check_ids(len, "list")
}

/// Fails with `InvalidArgument` unless `len` hashes (of a `unit`: list, set) fit u32 ids.
pub(crate) fn check_ids(len: usize, unit: &str) -> Result<()> {
    if len > u32::MAX as usize {
        return Err(ErrorKind::InvalidArgument(format!(
            "{len} hashes exceed the limit of {} per {unit}; split the {unit}",
            u32::MAX
        ))
        .into());
    }
    Ok(())
}

/// Checks the header every persisted index section starts with ([`crate::bytes::index_header`]:
/// length, magic, version, total length) and that it was built over `len` hashes of `H`'s width:
/// an index over other hashes would give wrong answers, so that is a `Mismatch`.
pub(crate) fn section_header<H: HashBits>(
    b: &[u8],
    magic: &[u8; 8],
    header_len: usize,
    version: u32,
    what: &'static str,
    len: usize,
) -> Result<crate::bytes::IndexHeader> {
    let header = crate::bytes::index_header(b, magic, header_len, version, what)?;
    if header.bits != H::BITS {
        return Err(ErrorKind::Mismatch(format!(
            "index built over {}-bit hashes, searched with {}-bit hashes",
            header.bits,
            H::BITS
        ))
        .into());
    }
    if header.count != len as u64 {
        return Err(ErrorKind::Mismatch(format!(
            "index built over {} hashes but the list holds {len}; rebuild the index",
            header.count
        ))
        .into());
    }
    check_len(len)?;
    Ok(header)
}

fn unknown_magic() -> Error {
    Error::unsupported(
        "unknown index section (bad magic bytes): written by a newer hashsieve, or not an index",
    )
}

/// Runs `$e` on whichever index `$self` holds, bound to `$i`: the one dispatch of
/// [`SearchIndex`] to the index it wraps.
macro_rules! each_index {
    ($self:expr, $i:ident => $e:expr) => {
        match $self {
            SearchIndex::Linear($i) => $e,
            SearchIndex::BkTree($i) => $e,
            SearchIndex::Mih($i) => $e,
        }
    };
}

/// Any of the three indexes, chosen at build time (possibly automatically).
///
/// Like each index, it owns its storage: the hashes `S` (anything `AsRef<[H]>`) and the
/// section bytes `D` of a persistent index. [`SearchIndex::build`] and [`SearchIndex::load`]
/// borrow both (`S = &[H]`); [`SearchIndex::build_over`] and [`SearchIndex::open`] take any
/// owner, so an index can live beside the list it searches (as in the
/// [`Matcher`](crate::matching::Matcher), which opens each list's index once, when the list is
/// added).
#[derive(Debug)]
#[non_exhaustive]
pub enum SearchIndex<H, S, D = Vec<u8>> {
    /// A linear scan.
    Linear(LinearScan<H, S>),
    /// A BK-tree.
    BkTree(BkTree<H, S, D>),
    /// Multi-index hashing.
    Mih(Mih<H, S, D>),
}

impl<'a, H: HashBits> SearchIndex<H, &'a [H]> {
    /// Builds the index `options` ask for over `hashes` (borrowed), resolving
    /// [`IndexKind::Auto`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the list holds more than `u32::MAX` hashes.
    pub fn build(hashes: &'a [H], options: &IndexOptions) -> Result<SearchIndex<H, &'a [H]>> {
        SearchIndex::build_over(hashes, options)
    }

    /// Loads a persistent index section written by [`BkTree::as_bytes`] or [`Mih::as_bytes`],
    /// recognised by its magic bytes, over the same hashes it was built from (both borrowed),
    /// and validates it fully ([`BkTree::load`], [`Mih::load`]: O(n)), so a damaged section is
    /// an error, never a missed match.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] for an unknown index section (bad magic),
    /// [`ErrorKind::Version`] for one a newer hashsieve wrote, [`ErrorKind::Truncated`] /
    /// [`ErrorKind::Corrupt`] for a damaged one; [`ErrorKind::Mismatch`] when the section was
    /// built over a list of another size or width.
    pub fn load(section: &'a [u8], hashes: &'a [H]) -> Result<SearchIndex<H, &'a [H], &'a [u8]>> {
        SearchIndex::open(section, hashes)
    }

    /// Loads a persistent index section like [`load`](SearchIndex::load), with only the
    /// constant-time checks: the contents are **not** validated. For robustness tests of the
    /// query code (feature `test-util`): a damaged section loaded this way cannot cause a
    /// panic, but can make queries miss matches.
    ///
    /// # Errors
    ///
    /// As [`load`](SearchIndex::load), for the checks it makes.
    #[cfg(feature = "test-util")]
    pub fn load_unvalidated(
        section: &'a [u8],
        hashes: &'a [H],
    ) -> Result<SearchIndex<H, &'a [H], &'a [u8]>> {
        if section.starts_with(bktree::MAGIC) {
            BkTree::load_unvalidated(section, hashes).map(SearchIndex::BkTree)
        } else if section.starts_with(mih::MAGIC) {
            Mih::load_unvalidated(section, hashes).map(SearchIndex::Mih)
        } else {
            Err(unknown_magic())
        }
    }
}

impl<H: HashBits, S: AsRef<[H]>> SearchIndex<H, S> {
    /// Builds the index `options` ask for over `hashes`, which it keeps (a `Vec<H>`, an
    /// `Arc<[H]>`, a list view), resolving [`IndexKind::Auto`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the list holds more than `u32::MAX` hashes.
    pub fn build_over(hashes: S, options: &IndexOptions) -> Result<SearchIndex<H, S>> {
        let len = hashes.as_ref().len();
        check_len(len)?;
        let threshold = options.threshold.unwrap_or(default_threshold(H::BITS));
        let kind = match options.kind {
            IndexKind::Auto => choose_kind(H::BITS, len, threshold, options.batch),
            k => k,
        };
        let isa = options.isa.unwrap_or_else(Isa::detect);
        Ok(match kind {
            IndexKind::BkTree => SearchIndex::BkTree(BkTree::build_over(hashes)?.kernels(isa)),
            IndexKind::Mih => SearchIndex::Mih(
                Mih::build_over(hashes, &MihOptions::new().threshold(threshold))?.kernels(isa),
            ),
            _ => SearchIndex::Linear(LinearScan::over(hashes).kernels(isa)),
        })
    }
}

impl<H: HashBits, S: AsRef<[H]>, D: AsRef<[u8]>> SearchIndex<H, S, D> {
    /// Opens a persistent index section (a BK-tree or multi-index hashing, recognised by its
    /// magic bytes) over the hashes it was built from, both owned by the index, and validates
    /// it fully, once, here ([`BkTree::open`], [`Mih::open`]).
    ///
    /// # Errors
    ///
    /// As [`load`](SearchIndex::load).
    pub fn open(section: D, hashes: S) -> Result<SearchIndex<H, S, D>> {
        let b = section.as_ref();
        if b.starts_with(bktree::MAGIC) {
            BkTree::open(section, hashes).map(SearchIndex::BkTree)
        } else if b.starts_with(mih::MAGIC) {
            Mih::open(section, hashes).map(SearchIndex::Mih)
        } else {
            Err(unknown_magic())
        }
    }

    /// The serialised section of a persistent index (`None` for a linear scan).
    pub fn section_bytes(&self) -> Option<&[u8]> {
        match self {
            SearchIndex::Linear(_) => None,
            SearchIndex::BkTree(t) => Some(t.as_bytes()),
            SearchIndex::Mih(m) => Some(m.as_bytes()),
        }
    }

    /// The hashes searched.
    pub fn hashes(&self) -> &[H] {
        each_index!(self, i => i.hashes())
    }

    /// The same index with its section storage changed by `f`, which must hand back the same
    /// bytes (in another owner): nothing is parsed again.
    pub(crate) fn map_section<D2: AsRef<[u8]>>(
        self,
        f: impl FnOnce(D) -> D2,
    ) -> SearchIndex<H, S, D2> {
        match self {
            SearchIndex::Linear(i) => SearchIndex::Linear(i),
            SearchIndex::BkTree(t) => SearchIndex::BkTree(t.map_section(f)),
            SearchIndex::Mih(m) => SearchIndex::Mih(m.map_section(f)),
        }
    }
}

impl<H: HashBits, S: AsRef<[H]> + Send + Sync, D: AsRef<[u8]> + Send + Sync> Index
    for SearchIndex<H, S, D>
{
    type Hash = H;
    fn kind(&self) -> IndexKind {
        each_index!(self, i => i.kind())
    }
    fn len(&self) -> usize {
        each_index!(self, i => i.len())
    }
    fn index_bytes(&self) -> usize {
        each_index!(self, i => i.index_bytes())
    }
    fn range(&self, query: &H, threshold: u32, out: &mut Vec<Match>) {
        each_index!(self, i => i.range(query, threshold, out))
    }
    fn knn(&self, query: &H, k: usize) -> Vec<Match> {
        each_index!(self, i => i.knn(query, k))
    }
    fn range_batch(&self, queries: &[H], threshold: u32) -> Vec<Vec<Match>> {
        each_index!(self, i => i.range_batch(queries, threshold))
    }
}
