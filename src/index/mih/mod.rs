//! Multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with
//! Multi-Index Hashing", CVPR 2012): exact range search by the pigeonhole principle.
//!
//! The hash is cut into `m` disjoint substrings, one table per substring. Table `t` is searched
//! with its own radius `s_t`, where the radii satisfy `Σ (s_t + 1) = r + 1`: an entry within `r`
//! of the query differs from it in at most `s_t` bits of *some* substring `t`, so probing every
//! table for substrings within `s_t` finds every match. Candidates are verified with the full
//! distance against the hashes slice and deduplicated, so the answer is exact.
//!
//! # Table layout
//!
//! Each table keys its entries by its substring `key` (up to 32 bits), split from the top into
//! `b` directory bits, `c1 <= 8` inline bits, `c2 <= 8` extra bits and the unchecked rest.
//!
//! * The **directory** maps the top `b` bits to a bucket: a range of entries, in ascending id
//!   order (ids are positions in the hashes slice).
//! * The **inline bytes**, one per entry in their own array, hold the `c1` inline bits. A probe
//!   of a bucket reads only these (about one cache line) and filters them with SIMD.
//! * The **chunk** of each bucket, bit-packed in a second array, holds first the high parts of
//!   its ids as an Elias–Fano unary code and then one record per entry: the `c2` extra bits and
//!   the low `L` bits of the id. Only entries that pass the inline filter touch their chunk,
//!   and only those that also pass the extra bits are verified against the full hash.
//!
//! A query enumerates, per table, the `V(b, j)` directory neighbours at distance `j <= s_t`,
//! keeps entries whose inline bits are within `s_t - j`, then whose inline plus extra bits are
//! within `s_t - j`, and verifies what is left with the full distance. Buckets are prefetched a
//! phase ahead of their use, so the memory system works on many of them at once.
//!
//! The layout is planned per list: the number of tables, `b` and `c2` minimise a cost model
//! (fitted to measurements) within a memory bound, by default 40 bytes per hash; `c1` is 8
//! where the substring allows, and `L` is Elias–Fano's choice. For 10 million PDQ hashes at
//! `r = 31` the planner picks 10 tables (six substrings of 26 bits, four of 25) with `b = 18`,
//! `c1 = 8` (7 for the 25-bit ones), `c2 = 0`, `L = 17`: 361 MB in all, beside the 320 MB of
//! hashes. Two tables search radius 3 and eight radius 2: per query about 3,400 directory
//! probes and 1,500 inline survivors (each a candidate, as `c2 = 0`), where the 8 tables of 32
//! bits that a bound of 32 bytes per hash allows (317 MB) search radius 3 in all eight: 9,300
//! probes, 2,000 inline survivors and 1,100 candidates.
//!
//! # Byte format (version 1)
//!
//! All integers little-endian; offsets are from the start of the section, and every array
//! starts at a multiple of 64 bytes. Readers access the arrays byte-wise, so the section itself
//! may sit at any alignment (the hash-list file aligns sections to 64 bytes).
//!
//! Header, 64 bytes:
//!
//! | offset | type | field |
//! |---|---|---|
//! | 0 | `[u8; 8]` | magic `HSIX-MIH` |
//! | 8 | u32 | format version (1) |
//! | 12 | u32 | hash bits (64 or 256) |
//! | 16 | u64 | `count`: hashes indexed (must equal the hashes slice length, `<= u32::MAX`) |
//! | 24 | u32 | `m`: number of tables (1..=32) |
//! | 28 | u32 | reserved, 0 |
//! | 32 | u64 | section length in bytes |
//! | 40 | 24 bytes | reserved, 0 |
//!
//! Then `m` table descriptors of 64 bytes each:
//!
//! | offset | type | field |
//! |---|---|---|
//! | 0 | u16 | `start`: first bit of the substring (bit `k` of the hash integer is bit `k % 64` of limb `k / 64`) |
//! | 2 | u8 | `len`: substring length (1..=32) |
//! | 3 | u8 | `b`: directory bits (`0..=min(len, 24)`) |
//! | 4 | u8 | `c1`: inline bits (0..=8) |
//! | 5 | u8 | `c2`: extra bits (0..=8); `b + c1 + c2 <= len` |
//! | 6 | u8 | `L`: id low bits (1..=32) |
//! | 7 | u8 | reserved, 0 |
//! | 8 | u64 | offset of the directory: `2^b + 1` × u32 |
//! | 16 | u64 | offset of the inline bytes: `count` bytes when `c1 > 0`, else none |
//! | 24 | u64 | offset of the chunks |
//! | 32 | u64 | length of the chunks in bytes: `ceil(bits / 8) + 8` with `bits = count × (1 + c2 + L) + 2^b × H` |
//! | 40 | 24 bytes | reserved, 0 |
//!
//! Definitions: `key` is the substring (its bit 0 is hash bit `start`); `bucket = key >> (len - b)`;
//! `inline = (key >> (len - b - c1)) mod 2^c1`; `extra = (key >> (len - b - c1 - c2)) mod 2^c2`;
//! `H = ceil(count / 2^L)`, the number of distinct `id >> L` values. The substrings of different
//! tables must not overlap (the pigeonhole bound needs disjoint substrings); a reader rejects
//! overlapping descriptors.
//!
//! * Directory: prefix sums of bucket sizes; bucket `k` holds entries `dir[k] .. dir[k + 1]`
//!   (`dir[0] = 0`, `dir[2^b] = count`), ascending by id.
//! * Inline bytes: entry `e` (in directory order) has byte `inline` at position `e`.
//! * Chunks: a little-endian bit stream (bit `i` is bit `i % 8` of byte `i / 8`). Bucket `k`
//!   with `n` entries starting at entry `lo` has its chunk at bit `lo × (1 + c2 + L) + k × H`:
//!   `n + H` unary bits, where the bucket's `i`-th entry sets bit `i + (id >> L)`, followed by
//!   `n` records of `c2 + L` bits, record `i` being `(extra << L) | (id mod 2^L)`.
//!
//! # Robustness
//!
//! [`Mih::load`] checks everything: the header, the descriptors (whose substrings must tile
//! the hash exactly), every array bound, and then the full O(n) [`Mih::validate`]: every
//! hash of the list is in each table exactly once, in the bucket its bits name. A damaged
//! section is therefore an error, never a missed match. The validation reads the section and
//! the hashes sequentially (a walk of each table and one pass over the hashes, compared
//! through a fingerprint under a fresh random key), never at random (`cargo bench --bench
//! list -- index_load` measures it; figures in the README).
//!
//! A section is validated once, when it is loaded or opened; queries then read it in place.
//! The O(m) checks of parsing alone (`load_unvalidated`, feature `test-util`, for robustness
//! tests) still make sure no byte pattern can make a later
//! query panic or read out of bounds, and a query that meets an impossible bucket range (past
//! the end, or buckets adding up to more than the list) stops using the index and answers with
//! a linear scan; but other damage can then drop matches.
//!
//! # Performance
//!
//! Measured with [`bench::run`](super::bench::run) on a 2-core AMD EPYC Zen 4 VM, one thread,
//! quiet machine, exact (recall 1.0): 10M PDQ hashes at `r = 31`: 2,664 queries per second
//! (8 tables, b=19, c1=8, c2=1; 317 MB; built in 3.4 s on two threads); 1M PDQ: 12,263; 1M
//! 64-bit at `r = 10`: 20,105 (3 tables of 21-22 bits; 9.2 MB). A query costs about 20,000
//! random cache-line reads at 10M, so it is bound by memory latency, not bandwidth: on
//! transparent huge pages (fewer TLB misses) the 10M figure rose to about 3,100. Larger
//! thresholds cost more: at 10M, 9,225 queries per second at `r = 24`, 811 at `r = 36`, 124 at
//! `r = 48` (still above the scan's 73). When the cost model predicts the scan to be cheaper a
//! query runs the scan instead ([`Mih::fallback`]); the index stays exact at every
//! threshold.
//!
//! Those figures are of the 8-table layout of the former default bound (32 bytes per hash).
//! The default bound of 40 was chosen by timing layouts side by side (`cargo run --profile
//! release --example mih_layouts`: one thread, thread CPU time, best of 5 rounds of 2,000
//! queries, layouts interleaved) on a
//! 2-core Intel Xeon (Ice Lake) VM shared with other builds (load average 7-8), 10M PDQ hashes,
//! `r = 31`, relative to the 8-table layout in the same run: 10 tables with `b = 18` (the new
//! default, 361 MB) 1.74-2.07 times as fast (2,555-2,736 against 1,236-1,534 queries per CPU
//! second); `b = 19` (384 MB) 1.73-1.84; `b = 17` 1.62; 9 tables of 29 bits 1.50-1.63; 11 tables
//! of 24 bits (`b = 17`, 377 MB, which the cost model prefers under a bound of 64) 1.38; 12
//! tables 0.8; 16 tables of 16 bits 0.1. At 1M PDQ hashes the bound of 40 moves the 11-table
//! layout from `b = 13` to `b = 15` (`c2 = 1`): 2.07 times as fast (13,638 against 6,588). A
//! deeper prefetch pipeline (32 or 64 probes instead of 16) gained 0-5%, within the noise, and
//! `madvise(MADV_HUGEPAGE)` on the built section and hashes (already touched, so the kernel
//! would have to collapse them later) nothing; huge pages from the first touch are untried.

use std::marker::PhantomData;
use std::ops::Range;

use rayon::prelude::*;

use super::cost::{ball, linear_cost};
use super::{check_len, default_threshold, linear, HashBits, Index, IndexKind, Match};
use crate::arch::{prefetch, Isa, Simd, WithSimd};
use crate::bytes::{align64, le_u16, le_u32, le_u64, put_u16, put_u32, put_u64, u32_at};
use crate::error::{ErrorKind, Result};

mod codec;
mod format;
mod plan;
mod query;
#[cfg(test)]
mod tests;

use self::codec::*;
use self::format::*;
pub(crate) use self::plan::predicted_cost;
use self::plan::*;
use self::query::*;

/// The magic bytes that open a multi-index hashing section.
pub const MAGIC: &[u8; 8] = b"HSIX-MIH";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// Tuning for [`Mih::build_with`].
///
/// ```
/// use hashsieve::index::MihOptions;
/// let opts = MihOptions::new().threshold(31).tables(8);
/// assert_eq!(opts.tables, Some(8));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct MihOptions {
    /// The threshold queries will mostly use (default 31 for 256-bit, 10 for 64-bit): chooses
    /// the layout. Queries at any threshold stay exact.
    pub threshold: Option<u32>,
    /// Force the number of tables (substrings); each substring must be at most 32 bits.
    pub tables: Option<u32>,
    /// Force the directory bits per table (capped at the substring length and 24).
    pub dir_bits: Option<u32>,
    /// Upper bound on the section size in bytes per hash (default 40: at 10 million PDQ
    /// hashes, 361 MB beside the hashes' 320 MB; 32 keeps it no larger than the hashes, at
    /// about 0.55 times the speed). The cheapest layout under the bound is chosen; if none
    /// fits, the smallest.
    pub max_bytes_per_hash: Option<f64>,
}

impl MihOptions {
    /// Default options.
    pub fn new() -> MihOptions {
        MihOptions::default()
    }
    setters! {
        -> MihOptions;
        /// Sets the expected threshold.
        threshold(t: u32) => threshold = Some(t);

        /// Forces the number of tables.
        tables(m: u32) => tables = Some(m);

        /// Forces the directory bits.
        dir_bits(b: u32) => dir_bits = Some(b);

        /// Sets the memory bound in bytes per hash.
        max_bytes_per_hash(bytes: f64) => max_bytes_per_hash = Some(bytes);
    }
}

/// Multi-index hashing: exact range and k-nearest search in time that grows with the
/// threshold, not the list.
///
/// See the [module documentation](self) for the method, the byte format and measurements.
///
/// ```
/// use hashsieve::Hash256;
/// use hashsieve::index::{Index, Match, Mih};
/// let hashes: Vec<Hash256> = (0..5000u64)
///     .map(|i| Hash256::from_limbs([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), !i, i << 7, i ^ 0x55]))
///     .collect();
/// let mih = Mih::build(&hashes)?;
/// let bytes = mih.as_bytes().to_vec();
/// let loaded = Mih::load(&bytes, &hashes)?;
/// let mut out = Vec::new();
/// loaded.range(&hashes[7], 0, &mut out);
/// assert_eq!(out, vec![Match::new(7, 0)]);
/// # Ok::<(), hashsieve::Error>(())
/// ```
///
/// The index owns its storage: the hashes `S` (anything `AsRef<[H]>`: a borrowed `&[H]`, a
/// `Vec<H>`, a view of a hash list) and its section bytes `D` (`Vec<u8>` when built here,
/// `&[u8]` or a list's section when loaded). It is parsed and validated once, when built or
/// opened; queries then read the bytes in place and allocate nothing beyond their scratch
/// buffers.
#[derive(Debug)]
pub struct Mih<H, S, D = Vec<u8>> {
    hashes: S,
    data: D,
    tables: Vec<Table>,
    isa: Isa,
    fallback: bool,
    _hash: PhantomData<fn() -> H>,
}

impl<'a, H: HashBits> Mih<H, &'a [H]> {
    /// Builds an index over `hashes` (borrowed) tuned for the default threshold of the width
    /// (31 for 256-bit, 10 for 64-bit), within 40 bytes per hash.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the list holds more than `u32::MAX` hashes.
    pub fn build(hashes: &'a [H]) -> Result<Mih<H, &'a [H]>> {
        Mih::build_over(hashes, &MihOptions::new())
    }

    /// Builds an index over `hashes` (borrowed) with explicit tuning. Tables are built in
    /// parallel on the rayon pool.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the list holds more than `u32::MAX` hashes or the
    /// layout would not fit in memory.
    pub fn build_with(hashes: &'a [H], opts: &MihOptions) -> Result<Mih<H, &'a [H]>> {
        Mih::build_over(hashes, opts)
    }

    /// Loads a section written by [`as_bytes`](Mih::as_bytes) over the same `hashes`,
    /// zero-copy, and checks it fully ([`validate`](Mih::validate), O(n · tables)), so a
    /// damaged section is an error, never a missed match. [`Mih::open`] does the same for
    /// owned storage.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Corrupt`] if the section is inconsistent (descriptors, array bounds, or
    /// with `hashes`), [`ErrorKind::Truncated`] if it is cut short, [`ErrorKind::Version`] if
    /// a newer hashsieve wrote it, [`ErrorKind::Unsupported`] if it is no multi-index hashing
    /// section; [`ErrorKind::Mismatch`] if it was built over a list of another width or
    /// length.
    pub fn load(section: &'a [u8], hashes: &'a [H]) -> Result<Mih<H, &'a [H], &'a [u8]>> {
        Mih::open(section, hashes)
    }

    /// Loads a section like [`load`](Mih::load) but checks only the header, the descriptors
    /// and the array bounds, in O(number of tables): the contents are **not** validated. For
    /// robustness tests of the query code (feature `test-util`): no byte pattern can make a
    /// query over it panic or loop, but a damaged section can make queries miss matches.
    ///
    /// # Errors
    ///
    /// As [`load`](Mih::load), for the checks it makes.
    #[cfg(feature = "test-util")]
    pub fn load_unvalidated(
        section: &'a [u8],
        hashes: &'a [H],
    ) -> Result<Mih<H, &'a [H], &'a [u8]>> {
        Mih::parse(section, hashes)
    }
}

impl<H: HashBits, S: AsRef<[H]>> Mih<H, S> {
    /// Builds an index over `hashes`, which it keeps (owned storage: a `Vec<H>`, an `Arc`, a
    /// list view), with explicit tuning; [`Mih::build_with`] borrows instead.
    ///
    /// # Errors
    ///
    /// As [`Mih::build_with`].
    pub fn build_over(storage: S, opts: &MihOptions) -> Result<Mih<H, S>> {
        let hashes = storage.as_ref();
        check_len(hashes.len())?;
        let n = hashes.len();
        let r = opts.threshold.unwrap_or(default_threshold(H::BITS));
        let specs = plan(H::BITS, n, r, opts);
        let data = encode(H::BITS, n, &specs, |_, spec, region, inline, chunks| {
            build_table(hashes, spec, region, inline, chunks)
        })?;
        // Built here, from these hashes: the O(m) checks suffice.
        Mih::parse(data, storage)
    }
}

impl<H: HashBits, S: AsRef<[H]>, D: AsRef<[u8]>> Mih<H, S, D> {
    /// Opens a section written by [`as_bytes`](Mih::as_bytes) over the same hashes, both
    /// owned by the index (a list's section and its hashes, a `Vec<u8>` and a `Vec<H>`), and
    /// checks it fully ([`validate`](Mih::validate)) once, here: queries then use it as it
    /// is.
    ///
    /// # Errors
    ///
    /// As [`load`](Mih::load).
    pub fn open(section: D, hashes: S) -> Result<Mih<H, S, D>> {
        let mih = Mih::parse(section, hashes)?;
        mih.validate()?;
        Ok(mih)
    }

    /// Uses the given kernels instead of the detected best (tests and benchmarks only:
    /// feature `test-util`).
    #[cfg(feature = "test-util")]
    pub fn isa(mut self, isa: Isa) -> Mih<H, S, D> {
        self.isa = isa;
        self
    }

    /// Uses the given kernels (the caller picked an available one).
    pub(crate) fn kernels(mut self, isa: Isa) -> Mih<H, S, D> {
        self.isa = isa;
        self
    }

    /// Whether a query whose threshold makes the index slower than a linear scan (by the cost
    /// model) runs the scan instead; on by default. Turning it off forces every query through
    /// the tables, for tests and benchmarks. Results are identical either way.
    pub fn fallback(mut self, enabled: bool) -> Mih<H, S, D> {
        self.fallback = enabled;
        self
    }

    /// The serialised section (the format in the [module documentation](self)).
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// The same index with its section storage changed by `f`, which must hand back the same
    /// bytes: nothing is parsed again.
    pub(crate) fn map_section<D2: AsRef<[u8]>>(self, f: impl FnOnce(D) -> D2) -> Mih<H, S, D2> {
        Mih {
            data: f(self.data),
            hashes: self.hashes,
            _hash: PhantomData,
            tables: self.tables,
            isa: self.isa,
            fallback: self.fallback,
        }
    }

    /// The section's storage, giving the index up (a `Vec<u8>` for one built here).
    pub fn into_bytes(self) -> D {
        self.data
    }

    /// The section's storage and the hashes' storage, giving the index up.
    pub fn into_parts(self) -> (D, S) {
        (self.data, self.hashes)
    }

    /// The hashes searched.
    pub fn hashes(&self) -> &[H] {
        self.hashes.as_ref()
    }

    /// The number of tables (substrings).
    pub fn tables(&self) -> usize {
        self.tables.len()
    }

    /// A one-line description of the layout, e.g. `8 tables x 32 bits, b=18 c1=8 c2=2 L=18`.
    pub fn describe(&self) -> String {
        match self.tables.first() {
            None => "no tables".into(),
            Some(t) => {
                let s = t.spec;
                format!(
                    "{} tables x {} bits, b={} c1={} c2={} L={}",
                    self.tables.len(),
                    s.len,
                    s.b,
                    s.c1,
                    s.c2,
                    s.low
                )
            }
        }
    }
}

impl<H: HashBits, S: AsRef<[H]> + Send + Sync, D: AsRef<[u8]> + Send + Sync> Index
    for Mih<H, S, D>
{
    type Hash = H;

    fn kind(&self) -> IndexKind {
        IndexKind::Mih
    }

    fn len(&self) -> usize {
        self.hashes.as_ref().len()
    }

    fn index_bytes(&self) -> usize {
        self.data.as_ref().len()
    }

    fn range(&self, query: &H, threshold: u32, out: &mut Vec<Match>) {
        self.range_with(query, threshold, &mut Scratch::default(), out);
    }

    fn knn(&self, query: &H, k: usize) -> Vec<Match> {
        if k == 0 || self.hashes.as_ref().is_empty() {
            return Vec::new();
        }
        // Grow the radius one substring flip at a time until k matches are inside it: then
        // the k best overall are exactly the k best within the radius.
        let m = self.tables.len() as u32;
        let mut r = m - 1;
        let mut sc = Scratch::default();
        let mut out = Vec::new();
        loop {
            if r >= H::BITS || self.use_linear(r) {
                return linear::knn(self.isa, self.hashes.as_ref(), query, k);
            }
            self.range_with(query, r, &mut sc, &mut out);
            if out.len() >= k {
                out.truncate(k);
                return out;
            }
            r += m;
        }
    }

    fn range_batch(&self, queries: &[H], threshold: u32) -> Vec<Vec<Match>> {
        queries
            .par_iter()
            .map_init(Scratch::default, |sc, q| {
                let mut out = Vec::new();
                self.range_with(q, threshold, sc, &mut out);
                out
            })
            .collect()
    }
}
