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
//! (fitted to measurements) within a memory bound, by default 32 bytes per hash; `c1` is 8
//! where the substring allows, and `L` is Elias–Fano's choice. For 10 million PDQ hashes at
//! `r = 31` the planner picks 8 tables of 32-bit substrings with `b = 19`, `c1 = 8`, `c2 = 1`,
//! `L = 18`: 317 MB in all, less than the 320 MB of hashes.
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
//! [`Mih::load_unvalidated`] skips `validate`, for a section that was validated before and
//! cannot have changed. Its O(m) checks still make sure no byte pattern can make a later
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
//! query runs the scan instead ([`Mih::with_fallback`]); the index stays exact at every
//! threshold.

use std::borrow::Cow;
use std::ops::Range;

use rayon::prelude::*;

use super::bytes::{align64, le_u16, le_u32, le_u64, put_u16, put_u32, put_u64, u32_at};
use super::simd::{prefetch, Simd, WithSimd};
use super::{check_len, default_threshold, HashBits, Index, IndexKind, Isa, LinearScan, Match};
use crate::error::{ErrorKind, Result};

/// The magic bytes that open a multi-index hashing section.
pub const MAGIC: &[u8; 8] = b"HSIX-MIH";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

const HEADER: usize = 64;
const DESC: usize = 64;
const MAX_TABLES: usize = 32;
const MAX_DIR_BITS: u32 = 24;

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
    /// Upper bound on the section size in bytes per hash (default 32: no larger than a list
    /// of PDQ hashes). The cheapest layout under the bound is chosen; if none fits, the
    /// smallest.
    pub max_bytes_per_hash: Option<f64>,
}

impl MihOptions {
    /// Default options.
    pub fn new() -> MihOptions {
        MihOptions::default()
    }
    /// Sets the expected threshold.
    pub fn threshold(mut self, t: u32) -> MihOptions {
        self.threshold = Some(t);
        self
    }
    /// Forces the number of tables.
    pub fn tables(mut self, m: u32) -> MihOptions {
        self.tables = Some(m);
        self
    }
    /// Forces the directory bits.
    pub fn dir_bits(mut self, b: u32) -> MihOptions {
        self.dir_bits = Some(b);
        self
    }
    /// Sets the memory bound in bytes per hash.
    pub fn max_bytes_per_hash(mut self, bytes: f64) -> MihOptions {
        self.max_bytes_per_hash = Some(bytes);
        self
    }
}

/// One table's substring split (see the module documentation for the names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Spec {
    start: u32,
    len: u32,
    b: u32,
    c1: u32,
    c2: u32,
    low: u32,
}

impl Spec {
    fn rec_bits(&self) -> u32 {
        self.c2 + self.low
    }
    fn high_span(&self, n: usize) -> u64 {
        (n as u64).div_ceil(1u64 << self.low)
    }
    fn chunk_bits(&self, n: usize) -> Option<u64> {
        (n as u64)
            .checked_mul(u64::from(1 + self.rec_bits()))?
            .checked_add((1u64 << self.b).checked_mul(self.high_span(n))?)
    }
    fn chunk_bytes(&self, n: usize) -> Option<u64> {
        self.chunk_bits(n)?.div_ceil(8).checked_add(8)
    }
    /// Shifts of the directory, inline and extra fields within the key.
    fn shifts(&self) -> (u32, u32, u32) {
        let top = self.len - self.b;
        (top, top - self.c1, top - self.c1 - self.c2)
    }
}

#[derive(Clone, Debug)]
struct Table {
    spec: Spec,
    high_span: u64,
    dir: Range<usize>,
    inline: Range<usize>,
    chunks: Range<usize>,
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
#[derive(Debug)]
pub struct Mih<'a, H> {
    hashes: &'a [H],
    data: Cow<'a, [u8]>,
    tables: Vec<Table>,
    isa: Isa,
    fallback: bool,
}

/// Σ_{j <= s} C(b, j).
fn ball(b: u32, s: i64) -> f64 {
    if s < 0 {
        return 0.0;
    }
    let mut sum = 0.0;
    let mut c = 1.0;
    for j in 0..=(s as u32).min(b) {
        if j > 0 {
            c = c * f64::from(b - j + 1) / f64::from(j);
        }
        sum += c;
    }
    sum
}

/// Per-table radii `s_t` with `Σ (s_t + 1) = r + 1`; `-1` means the table is skipped. Longer
/// substrings (listed first) get the larger radii.
fn radii(m: usize, r: u32) -> Vec<i64> {
    let total = i64::from(r) + 1;
    let (q, rem) = (total / m as i64, total % m as i64);
    (0..m as i64).map(|t| q - 1 + i64::from(t < rem)).collect()
}

/// Cost model, nanoseconds per operation, fitted with least squares to single-thread
/// measurements of seven layouts on 10 million 256-bit hashes (`DRAM`, residuals about 5%) and
/// set from ten layout/threshold pairs on 1 million 64-bit hashes (`CACHED`: index and list
/// fit in the last-level cache; within 10% for the 3-table layouts the planner picks, and
/// pessimistic for layouts whose survivors are read sequentially) on the reference machine
/// (2-core AMD EPYC Zen 4 VM). Fields: per query, per probe (directory entry and inline line),
/// per inline byte scanned, per inline survivor (chunk read and decode), per candidate (hash
/// read and distance).
#[derive(Clone, Copy)]
struct CostModel {
    query: f64,
    probe: f64,
    byte: f64,
    hit: f64,
    cand: f64,
}

const DRAM: CostModel = CostModel {
    query: 1_000.0,
    probe: 24.0,
    byte: 0.055,
    hit: 41.0,
    cand: 58.0,
};
const CACHED: CostModel = CostModel {
    query: 500.0,
    probe: 20.0,
    byte: 0.05,
    hit: 20.0,
    cand: 2.0,
};
/// Index plus list sizes up to this many bytes count as cache resident.
const CACHE_BYTES: f64 = 24.0 * 1024.0 * 1024.0;

/// Estimated nanoseconds of one single-query linear scan over `n` hashes on one core.
pub(crate) fn linear_cost(bits: u32, n: usize) -> f64 {
    let bytes = n as f64 * f64::from(bits / 8);
    // Measured: ~80 GB/s from cache, ~30 GB/s around the cache size, ~15 GB/s from DRAM.
    let gbps = if bytes <= 16e6 {
        80.0
    } else if bytes <= 64e6 {
        30.0
    } else {
        15.0
    };
    bytes / gbps
}

/// Estimated nanoseconds per query of a cache-blocked batch scan on one core (compute bound:
/// measured ~0.23 ns per 256-bit pair and ~0.09 ns per 64-bit pair).
pub(crate) fn batch_linear_cost(bits: u32, n: usize) -> f64 {
    n as f64 * if bits >= 256 { 0.23 } else { 0.09 }
}

fn specs_cost(specs: &[Spec], n: usize, r: u32, index_bytes: usize, bits: u32) -> f64 {
    let resident = index_bytes as f64 + n as f64 * f64::from(bits / 8);
    let k = if resident <= CACHE_BYTES {
        CACHED
    } else {
        DRAM
    };
    let nf = n as f64;
    let mut cost = k.query;
    for (spec, s) in specs.iter().zip(radii(specs.len(), r)) {
        if s < 0 {
            continue;
        }
        let frac = |bits: u32| ball(bits, s) / 2f64.powi(bits as i32);
        let probes = ball(spec.b, s);
        let scanned = if spec.c1 > 0 { nf * frac(spec.b) } else { 0.0 };
        let hits = nf * frac(spec.b + spec.c1);
        let cands = nf * frac(spec.b + spec.c1 + spec.c2);
        cost += probes * k.probe + scanned * k.byte + hits * k.hit + cands * k.cand;
    }
    cost
}

/// The estimated nanoseconds per query of the layout [`Mih::build_with`] would choose for
/// `n` hashes of `bits` bits at threshold `r` (default options), for [`choose_kind`].
///
/// [`choose_kind`]: super::choose_kind
pub(crate) fn predicted_cost(bits: u32, n: usize, r: u32) -> f64 {
    let specs = plan(bits, n, r, &MihOptions::new());
    let bytes = layout(n, &specs).map_or(usize::MAX, |l| l.total);
    specs_cost(&specs, n, r, bytes, bits)
}

struct Layout {
    total: usize,
    /// Per table: directory, inline and chunk offsets.
    tables: Vec<(usize, usize, usize)>,
}

fn layout(n: usize, specs: &[Spec]) -> Option<Layout> {
    let mut off = align64(HEADER + DESC * specs.len())?;
    let mut tables = Vec::with_capacity(specs.len());
    for s in specs {
        let dir = off;
        let buckets = 1usize.checked_shl(s.b)?;
        off = align64(off.checked_add(buckets.checked_add(1)?.checked_mul(4)?)?)?;
        let inline = off;
        if s.c1 > 0 {
            off = align64(off.checked_add(n)?)?;
        }
        let chunks = off;
        off = align64(off.checked_add(usize::try_from(s.chunk_bytes(n)?).ok()?)?)?;
        tables.push((dir, inline, chunks));
    }
    Some(Layout { total: off, tables })
}

/// The id low-bit count minimising `L + H / n̄` bits per entry (Elias–Fano's choice).
fn best_low_bits(n: usize, b: u32) -> u32 {
    let per_bucket = (n as f64 / (1u64 << b) as f64).max(1.0);
    (1..=32u32)
        .min_by(|&x, &y| {
            let cost = |l: u32| f64::from(l) + (n as f64 / 2f64.powi(l as i32)).ceil() / per_bucket;
            cost(x).total_cmp(&cost(y))
        })
        .unwrap_or(16)
}

fn split_specs(bits: u32, m: u32, b: u32, c2: u32, n: usize) -> Vec<Spec> {
    let (base, extra) = (bits / m, bits % m);
    let mut start = 0;
    (0..m)
        .map(|t| {
            let len = base + u32::from(t < extra);
            let b = b.min(len).min(MAX_DIR_BITS);
            let c1 = (len - b).min(8);
            let c2 = c2.min(len - b - c1);
            let spec = Spec {
                start,
                len,
                b,
                c1,
                c2,
                low: best_low_bits(n, b),
            };
            start += len;
            spec
        })
        .collect()
}

/// Chooses the layout for `n` hashes of `bits` bits at threshold `r`: the cheapest under the
/// cost model within the memory bound.
fn plan(bits: u32, n: usize, r: u32, opts: &MihOptions) -> Vec<Spec> {
    let min_m = bits.div_ceil(32);
    let max_m = (bits / 2).min(MAX_TABLES as u32);
    let ms: Vec<u32> = match opts.tables {
        Some(m) => vec![m.clamp(min_m, max_m)],
        None => (min_m..=(min_m * 3).min(max_m)).collect(),
    };
    let budget = (opts.max_bytes_per_hash.unwrap_or(32.0) * n as f64).max(65536.0);
    // (fits, cost, size, specs)
    let mut best: Option<(bool, f64, usize, Vec<Spec>)> = None;
    for &m in &ms {
        let len_min = bits / m;
        let bs: Vec<u32> = match opts.dir_bits {
            Some(b) => vec![b.min(len_min).min(MAX_DIR_BITS)],
            None => (0..=len_min.min(MAX_DIR_BITS)).collect(),
        };
        for b in bs {
            for c2 in 0..=8 {
                let specs = split_specs(bits, m, b, c2, n);
                if c2 > 0 && specs.iter().all(|s| s.c2 < c2) {
                    break;
                }
                let Some(lay) = layout(n, &specs) else {
                    continue;
                };
                let fits = lay.total as f64 <= budget;
                let cost = specs_cost(&specs, n, r, lay.total, bits);
                let better = match &best {
                    None => true,
                    Some((bf, bc, bsize, _)) => {
                        if fits != *bf {
                            fits
                        } else if fits {
                            cost < *bc
                        } else {
                            lay.total < *bsize
                        }
                    }
                };
                if better {
                    best = Some((fits, cost, lay.total, specs));
                }
            }
        }
    }
    best.map(|b| b.3)
        .unwrap_or_else(|| split_specs(bits, min_m, 0, 0, n))
}

fn format_err(msg: impl Into<String>) -> crate::Error {
    ErrorKind::Format(format!("multi-index hashing section: {}", msg.into())).into()
}

/// `width <= 56` bits of `b` starting at bit `bit` (little-endian bit stream).
#[inline(always)]
fn bits_at(b: &[u8], bit: u64, width: u32) -> Option<u64> {
    let byte = usize::try_from(bit / 8).ok()?;
    let word = match b.get(byte..byte.checked_add(8)?) {
        Some(s) => u64::from_le_bytes(s.try_into().ok()?),
        None => {
            let need = ((bit % 8) as u32 + width).div_ceil(8) as usize;
            let s = b.get(byte..byte.checked_add(need)?)?;
            let mut w = [0u8; 8];
            w[..s.len()].copy_from_slice(s);
            u64::from_le_bytes(w)
        }
    };
    Some((word >> (bit % 8)) & ((1u64 << width) - 1))
}

/// ORs `width <= 56` bits of `v` into `b` at bit `bit`.
fn put_bits(b: &mut [u8], bit: u64, width: u32, v: u64) {
    let mut v = v << (bit % 8);
    let mut byte = (bit / 8) as usize;
    let mut left = width + (bit % 8) as u32;
    while left > 0 {
        b[byte] |= v as u8;
        v >>= 8;
        byte += 1;
        left = left.saturating_sub(8);
    }
}

/// The offset from `start` of the set bit of rank `rank` within bits `start..end`.
#[inline(always)]
fn select<S: Simd>(s: S, b: &[u8], start: u64, end: u64, rank: u32) -> Option<u64> {
    let mut rank = rank;
    let mut pos = start;
    while pos < end {
        let width = (end - pos).min(56) as u32;
        let w = bits_at(b, pos, width)?;
        let c = w.count_ones();
        if rank < c {
            return Some(pos - start + u64::from(s.select64(w, rank)));
        }
        rank -= c;
        pos += u64::from(width);
    }
    None
}

/// The keyed fingerprint behind [`Mih::validate`].
///
/// The claim to check, per table: the set `T` of entries the table stores, each an `(id,
/// stored)` pair (`stored` being the bucket, inline and extra bits, the top `b + c1 + c2` bits
/// of the key), equals the set `S = {(i, top bits of hashes[i]'s key) : i < n}`. The structural
/// walk already proves that `T` has exactly `n` entries and that no pair repeats (ids strictly
/// ascend within a bucket, and `stored` names the bucket), so `T` and `S` are sets of the same
/// size, and `T = S` exactly when every hash is in the table once, in its bucket, with its
/// bits. Instead of looking each id up at random, both sides are summed in any order:
/// `A = Σ_{x ∈ T} mix(x)` while walking the table, `B = Σ_{x ∈ S} mix(x)` while reading the
/// hashes, both wrapping mod 2^64. If `T ≠ S`, `A - B` is a sum of `±mix(x)` over the non-empty
/// symmetric difference, each `x` with coefficient ±1; for a random function `mix` such a sum
/// is zero with probability 2^-64. `mix` is keyed by 128 bits drawn from the process's random
/// source on every call, so the author of a (crafted) section cannot choose a difference that
/// cancels: they would have to guess the key.
///
/// `mix` is two rounds of the splitmix64 finaliser (a bijection on u64 with full avalanche)
/// with the key mixed in before each round, in the manner of a two-round Even–Mansour cipher:
/// distinct inputs never collide, and outputs under an unknown key look independent. It is not
/// a cryptographic MAC, but the threat here is damage and files crafted without the key, not an
/// attacker who can observe many validations.
#[derive(Clone, Copy, Debug)]
struct Fingerprint {
    key: [u64; 2],
}

impl Fingerprint {
    /// A key from std's per-process random seed, advanced on every call.
    fn random() -> Fingerprint {
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        Fingerprint {
            key: [state.hash_one(1u64), state.hash_one(2u64)],
        }
    }

    /// The splitmix64 finaliser.
    #[inline(always)]
    fn fmix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The keyed image of one entry; `stored < 2^32`, so `(stored, id)` packs injectively.
    #[inline(always)]
    fn mix(self, id: u32, stored: u64) -> u64 {
        let v = stored << 32 | u64::from(id);
        Fingerprint::fmix(Fingerprint::fmix(v ^ self.key[0]) ^ self.key[1])
    }
}

/// A bucket of one table, located.
#[derive(Clone, Copy)]
struct Bucket {
    k: u64,
    lo: usize,
    hi: usize,
}

impl Table {
    #[inline(always)]
    fn chunk_start(&self, bk: Bucket) -> u64 {
        bk.lo as u64 * u64::from(1 + self.spec.rec_bits()) + bk.k * self.high_span
    }

    /// Record `i` of the bucket: `(extra, low id)`.
    #[inline(always)]
    fn record(&self, chunks: &[u8], bk: Bucket, i: usize) -> Option<(u32, u64)> {
        let rb = self.spec.rec_bits();
        let at = self.chunk_start(bk)
            + (bk.hi - bk.lo) as u64
            + self.high_span
            + i as u64 * u64::from(rb);
        let rec = bits_at(chunks, at, rb)?;
        Some((
            (rec >> self.spec.low) as u32,
            rec & ((1u64 << self.spec.low) - 1),
        ))
    }
}

impl<'a, H: HashBits> Mih<'a, H> {
    /// Builds an index over `hashes` tuned for the default threshold of the width (31 for
    /// 256-bit, 10 for 64-bit), within 32 bytes per hash.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the list holds more than `u32::MAX` hashes.
    pub fn build(hashes: &'a [H]) -> Result<Mih<'a, H>> {
        Mih::build_with(hashes, &MihOptions::new())
    }

    /// Builds an index over `hashes` with explicit tuning. Tables are built in parallel on
    /// the rayon pool.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the list holds more than `u32::MAX` hashes or the
    /// layout would not fit in memory.
    pub fn build_with(hashes: &'a [H], opts: &MihOptions) -> Result<Mih<'a, H>> {
        check_len(hashes.len())?;
        let n = hashes.len();
        let r = opts.threshold.unwrap_or(default_threshold(H::BITS));
        let specs = plan(H::BITS, n, r, opts);
        let data = encode(H::BITS, n, &specs, |_, spec, region, inline, chunks| {
            build_table(hashes, spec, region, inline, chunks)
        })?;
        Mih::parse(Cow::Owned(data), hashes)
    }

    /// Loads a section written by [`as_bytes`](Mih::as_bytes) over the same `hashes`,
    /// zero-copy, and checks it fully ([`validate`](Mih::validate), O(n · tables)), so a
    /// damaged section is an error, never a missed match.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Format`] if the bytes are not a valid version-1 section (magic, version,
    /// descriptor or array bounds) or are inconsistent with `hashes`; [`ErrorKind::Mismatch`]
    /// if it was built over a list of another width or length.
    pub fn load(section: &'a [u8], hashes: &'a [H]) -> Result<Mih<'a, H>> {
        let mih = Mih::parse(Cow::Borrowed(section), hashes)?;
        mih.validate()?;
        Ok(mih)
    }

    /// Loads a section like [`load`](Mih::load) but checks only the header, the descriptors
    /// and the array bounds, in O(number of tables): the contents are **not** validated.
    ///
    /// Use it only for a section that passed [`load`](Mih::load) or
    /// [`validate`](Mih::validate) before and cannot have changed since (it is owned, or
    /// borrowed from a list whose bytes are immutable). No byte pattern can make a query over
    /// it panic or loop, but a damaged section can make queries miss matches.
    ///
    /// # Errors
    ///
    /// As [`load`](Mih::load), for the checks it makes.
    pub fn load_unvalidated(section: &'a [u8], hashes: &'a [H]) -> Result<Mih<'a, H>> {
        Mih::parse(Cow::Borrowed(section), hashes)
    }

    fn parse(data: Cow<'a, [u8]>, hashes: &'a [H]) -> Result<Mih<'a, H>> {
        let b = &data[..];
        if b.len() < HEADER {
            return Err(format_err(format!(
                "{} bytes is shorter than the 64-byte header",
                b.len()
            )));
        }
        if &b[..8] != MAGIC {
            return Err(format_err("bad magic bytes"));
        }
        let version = le_u32(b, 8);
        if version != VERSION {
            return Err(format_err(format!(
                "format v{version} is not supported by this build (v{VERSION}); rebuild the index"
            )));
        }
        let bits = le_u32(b, 12);
        if bits != H::BITS {
            return Err(ErrorKind::Mismatch(format!(
                "index built over {bits}-bit hashes, searched with {}-bit hashes",
                H::BITS
            ))
            .into());
        }
        let count = le_u64(b, 16);
        if count != hashes.len() as u64 {
            return Err(ErrorKind::Mismatch(format!(
                "index built over {count} hashes but the list holds {}; rebuild the index",
                hashes.len()
            ))
            .into());
        }
        check_len(hashes.len())?;
        let n = hashes.len();
        let m = le_u32(b, 24) as usize;
        if m == 0 || m > MAX_TABLES {
            return Err(format_err(format!(
                "{m} tables (expected 1..={MAX_TABLES})"
            )));
        }
        let total = le_u64(b, 32);
        if total > b.len() as u64 {
            return Err(format_err(format!(
                "truncated: {} of {total} bytes present",
                b.len()
            )));
        }
        if (HEADER + DESC * m) as u64 > total {
            return Err(format_err("table descriptors run past the section"));
        }
        let mut tables = Vec::with_capacity(m);
        let mut covered: Vec<(u32, u32)> = Vec::with_capacity(m);
        for t in 0..m {
            let d = HEADER + DESC * t;
            let spec = Spec {
                start: u32::from(le_u16(b, d)),
                len: u32::from(b[d + 2]),
                b: u32::from(b[d + 3]),
                c1: u32::from(b[d + 4]),
                c2: u32::from(b[d + 5]),
                low: u32::from(b[d + 6]),
            };
            if spec.len == 0
                || spec.len > 32
                || spec.start + spec.len > H::BITS
                || spec.b > spec.len.min(MAX_DIR_BITS)
                || spec.c1 > 8
                || spec.c2 > 8
                || spec.b + spec.c1 + spec.c2 > spec.len
                || spec.low == 0
                || spec.low > 32
            {
                return Err(format_err(format!(
                    "table {t} has an invalid substring layout"
                )));
            }
            covered.push((spec.start, spec.start + spec.len));
            let range = |off: u64, len: Option<u64>| -> Result<Range<usize>> {
                match len.and_then(|l| off.checked_add(l)).filter(|&e| e <= total) {
                    Some(e) => Ok(off as usize..e as usize),
                    None => Err(format_err(format!("table {t} arrays run past the section"))),
                }
            };
            let dir = range(le_u64(b, d + 8), ((1u64 << spec.b) + 1).checked_mul(4))?;
            let inline_len = if spec.c1 > 0 { n as u64 } else { 0 };
            let inline = range(le_u64(b, d + 16), Some(inline_len))?;
            let chunk_len = le_u64(b, d + 32);
            if Some(chunk_len) != spec.chunk_bytes(n) {
                return Err(format_err(format!(
                    "table {t} chunk array has the wrong size"
                )));
            }
            let chunks = range(le_u64(b, d + 24), Some(chunk_len))?;
            tables.push(Table {
                spec,
                high_span: spec.high_span(n),
                dir,
                inline,
                chunks,
            });
        }
        covered.sort_unstable();
        if covered.windows(2).any(|w| w[1].0 < w[0].1) {
            return Err(format_err("table substrings overlap"));
        }
        // The pigeonhole argument behind the search needs every bit in exactly one table: a
        // bit in no table could hide differences and drop matches.
        let tiled = covered.first().is_some_and(|c| c.0 == 0)
            && covered.windows(2).all(|w| w[1].0 == w[0].1)
            && covered.last().is_some_and(|c| c.1 == H::BITS);
        if !tiled {
            return Err(format_err("table substrings do not cover the hash"));
        }
        Ok(Mih {
            hashes,
            data,
            tables,
            isa: Isa::detect(),
            fallback: true,
        })
    }

    /// Uses the given kernels instead of the detected best.
    pub fn with_isa(mut self, isa: Isa) -> Mih<'a, H> {
        self.isa = isa;
        self
    }

    /// Whether a query whose threshold makes the index slower than a linear scan (by the cost
    /// model) runs the scan instead; on by default. Turning it off forces every query through
    /// the tables, for tests and benchmarks. Results are identical either way.
    pub fn with_fallback(mut self, enabled: bool) -> Mih<'a, H> {
        self.fallback = enabled;
        self
    }

    /// The serialised section (the format in the [module documentation](self)).
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The serialised section, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.data.into_owned()
    }

    /// The hashes searched.
    pub fn hashes(&self) -> &'a [H] {
        self.hashes
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

    /// The full O(n) consistency check: directories ascend and span the list, every id
    /// decodes and ascends within its bucket, and each table holds every hash of the list
    /// exactly once, in the bucket (with the inline and extra bits) its hash belongs to.
    ///
    /// The check reads the section and the hashes sequentially, never at random: each table
    /// is walked in its stored order and its entries are compared with the hashes through an
    /// order-independent fingerprint under a key drawn afresh for every call (see
    /// `Fingerprint`). A table that passes holds the right entries except with probability
    /// about 2^-64 per table, and a file cannot be crafted to beat the key, which it never
    /// sees.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Format`] naming an inconsistency.
    pub fn validate(&self) -> Result<()> {
        self.validate_with(Fingerprint::random())
    }

    fn validate_with(&self, fp: Fingerprint) -> Result<()> {
        // Both sides are sequential passes: the tables are walked in parallel with each other,
        // and the hashes are read once, in parallel chunks, for every table at once.
        let (walked, expected) = rayon::join(
            || {
                self.tables
                    .par_iter()
                    .enumerate()
                    .map(|(t, table)| self.walk_table(t, table, fp))
                    .collect::<Result<Vec<u64>>>()
            },
            || self.expected_sums(fp),
        );
        for (t, (a, b)) in walked?.iter().zip(&expected).enumerate() {
            if a != b {
                return Err(format_err(format!(
                    "table {t}: its entries do not match the list (an id is missing, repeated, \
                     or in the wrong bucket or with the wrong bits)"
                )));
            }
        }
        Ok(())
    }

    /// Walks one table in its stored order, checking its structure, and returns the sum of
    /// [`Fingerprint::mix`] over its entries: `(id, stored key bits)`.
    fn walk_table(&self, t: usize, table: &Table, fp: Fingerprint) -> Result<u64> {
        let n = self.hashes.len();
        let s = table.spec;
        let dir = &self.data[table.dir.clone()];
        let inline = &self.data[table.inline.clone()];
        let chunks = &self.data[table.chunks.clone()];
        let buckets = 1usize << s.b;
        if u32_at(dir, 0) != Some(0) || u32_at(dir, buckets) != Some(n as u32) {
            return Err(format_err(format!(
                "table {t}: directory does not span the list"
            )));
        }
        let unary_err = || {
            format_err(format!(
                "table {t}: unary id bits do not match bucket sizes"
            ))
        };
        let mut sum = 0u64;
        let mut lo = 0usize;
        for k in 0..buckets {
            let hi = u32_at(dir, k + 1).unwrap_or(0) as usize;
            if hi < lo || hi > n {
                return Err(format_err(format!("table {t}: directory is not ascending")));
            }
            let bk = Bucket {
                k: k as u64,
                lo,
                hi,
            };
            // The bits above the extra bits: the bucket, then the inline bits.
            let top = (k as u64) << (s.c1 + s.c2);
            // Walk the bucket's unary-coded high id bits once (the i-th set bit, at offset p,
            // gives high bits p - i), rather than selecting each id's bit from the bucket
            // start, which is quadratic in the bucket size.
            let start = table.chunk_start(bk);
            let end = start + (hi - lo) as u64 + table.high_span;
            let (mut i, mut pos, mut prev) = (0usize, start, None);
            while pos < end {
                let width = (end - pos).min(56) as u32;
                let mut word = bits_at(chunks, pos, width).ok_or_else(unary_err)?;
                while word != 0 {
                    let p = pos - start + u64::from(word.trailing_zeros());
                    word &= word - 1;
                    if i >= hi - lo {
                        return Err(unary_err());
                    }
                    let decoded = table.record(chunks, bk, i).and_then(|(extra, low)| {
                        let id = ((p - i as u64) << s.low) | low;
                        Some((extra, u32::try_from(id).ok()?))
                    });
                    let Some((extra, id)) = decoded.filter(|&(_, id)| (id as usize) < n) else {
                        return Err(format_err(format!("table {t}: an id does not decode")));
                    };
                    if prev.is_some_and(|p| p >= id) {
                        return Err(format_err(format!(
                            "table {t}: ids are out of order within a bucket"
                        )));
                    }
                    prev = Some(id);
                    // Stray bits above `c1` would alias another bucket's stored bits in the
                    // fingerprint (and the query filter reads the whole byte).
                    let inl = if s.c1 > 0 { inline[lo + i] } else { 0 };
                    if u32::from(inl) >> s.c1 != 0 {
                        return Err(format_err(format!(
                            "table {t}: an inline byte has bits beyond its width"
                        )));
                    }
                    let stored = top | u64::from(inl) << s.c2 | u64::from(extra);
                    sum = sum.wrapping_add(fp.mix(id, stored));
                    i += 1;
                }
                pos += u64::from(width);
            }
            if i != hi - lo {
                return Err(unary_err());
            }
            lo = hi;
        }
        Ok(sum)
    }

    /// Per table, the sum of [`Fingerprint::mix`] over what the table must hold: for each
    /// position `i` of the hashes, `(i, the key bits the table stores for hashes[i])`. One
    /// sequential pass over the hashes, in parallel chunks (the sums commute).
    fn expected_sums(&self, fp: Fingerprint) -> Vec<u64> {
        const CHUNK: usize = 1 << 14;
        let specs: Vec<(Spec, u32)> = self
            .tables
            .iter()
            .map(|t| (t.spec, t.spec.shifts().2))
            .collect();
        let zero = || vec![0u64; specs.len()];
        self.hashes
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let mut sums = zero();
                for (j, h) in chunk.iter().enumerate() {
                    // `check_len` in `parse` keeps ids within u32.
                    let id = (c * CHUNK + j) as u32;
                    for (sum, &(s, sh_ex)) in sums.iter_mut().zip(&specs) {
                        let stored = u64::from(h.key(s.start, s.len)) >> sh_ex;
                        *sum = sum.wrapping_add(fp.mix(id, stored));
                    }
                }
                sums
            })
            .reduce(zero, |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x = x.wrapping_add(y);
                }
                a
            })
    }

    fn use_linear(&self, r: u32) -> bool {
        if !self.fallback {
            return false;
        }
        if r >= H::BITS {
            return true;
        }
        let specs: Vec<Spec> = self.tables.iter().map(|t| t.spec).collect();
        specs_cost(&specs, self.hashes.len(), r, self.data.len(), H::BITS)
            > linear_cost(H::BITS, self.hashes.len())
    }

    /// Appends the (unsorted, possibly repeated) matches to `out`; `false` if the index turned
    /// out to be corrupt.
    #[inline(always)]
    fn query<S: Simd>(&self, s: S, q: &H, r: u32, sc: &mut Scratch, out: &mut Vec<Match>) -> bool {
        sc.cands.clear();
        let radii = radii(self.tables.len(), r);
        for (table, &st) in self.tables.iter().zip(&radii) {
            if st >= 0 && !self.probe(s, table, q, st as u32, sc) {
                return false;
            }
        }
        // The hashes were prefetched as their ids were decoded.
        for &id in &sc.cands {
            let d = self.hashes[id as usize].hamming(q);
            if d <= r {
                out.push(Match::new(id, d));
            }
        }
        true
    }

    /// Probes one table for every bucket within `st` of the query's substring, appending the
    /// candidate ids to `sc.cands`.
    ///
    /// A software pipeline: probe `i`'s directory entry is prefetched `2 × LOOKAHEAD` probes
    /// before its inline bytes are filtered, and the inline bytes `LOOKAHEAD` probes before; the
    /// survivors' chunk lines are prefetched when they are found and read after the probe loop;
    /// the candidates' hashes are prefetched when decoded and read after every table.
    #[inline(always)]
    fn probe<S: Simd>(&self, s: S, table: &Table, q: &H, st: u32, sc: &mut Scratch) -> bool {
        const LOOKAHEAD: usize = 16;
        let n = self.hashes.len();
        let spec = table.spec;
        let dir = &self.data[table.dir.clone()];
        let inline = &self.data[table.inline.clone()];
        let chunks = &self.data[table.chunks.clone()];
        let key = u64::from(q.key(spec.start, spec.len));
        let (sh_top, sh_in, sh_ex) = spec.shifts();
        let top = (key >> sh_top) as u32;
        let q_in = ((key >> sh_in) & ((1 << spec.c1) - 1)) as u8;
        let q_ex = ((key >> sh_ex) & ((1 << spec.c2) - 1)) as u32;
        let rb = spec.rec_bits();
        let unit = u64::from(1 + rb);
        let hs = table.high_span;

        // Every directory mask within the radius, by popcount (Gosper's hack, division-free).
        sc.masks.clear();
        for j in 0..=st.min(spec.b) {
            let mut mask: u32 = (1u32 << j) - 1;
            loop {
                sc.masks.push(mask);
                if j == 0 {
                    break;
                }
                let c = mask & mask.wrapping_neg();
                let next = mask.wrapping_add(c);
                if next == 0 {
                    break;
                }
                mask = (((next ^ mask) >> 2) >> c.trailing_zeros()) | next;
                if mask >> spec.b != 0 {
                    break;
                }
            }
        }
        let np = sc.masks.len();
        sc.ranges.clear();
        sc.ranges.resize(np, (0, 0));
        sc.hits.clear();
        let mut scanned = 0usize;
        let range_of = |k: usize| -> (usize, usize) {
            match dir.get(4 * k..4 * k + 8) {
                Some(w) => (
                    u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as usize,
                    u32::from_le_bytes([w[4], w[5], w[6], w[7]]) as usize,
                ),
                None => (0, 0),
            }
        };
        for i in 0..np + 2 * LOOKAHEAD {
            if let Some(&mask) = sc.masks.get(i) {
                prefetch(dir.as_ptr().wrapping_add(4 * (top ^ mask) as usize));
            }
            if let Some(j) = i.checked_sub(LOOKAHEAD).filter(|&j| j < np) {
                let (lo, hi) = range_of((top ^ sc.masks[j]) as usize);
                if hi > lo {
                    scanned += hi - lo;
                    if hi > n || scanned > n {
                        return false;
                    }
                    let at = if spec.c1 > 0 {
                        inline.as_ptr().wrapping_add(lo)
                    } else {
                        chunks.as_ptr().wrapping_add(
                            ((lo as u64 * unit + u64::from(top ^ sc.masks[j]) * hs) / 8) as usize,
                        )
                    };
                    prefetch(at);
                    if (at as usize & 63) + (hi - lo) > 64 {
                        prefetch(at.wrapping_add(64));
                    }
                    sc.ranges[j] = (lo as u32, hi as u32);
                }
            }
            let Some(j) = i.checked_sub(2 * LOOKAHEAD) else {
                continue;
            };
            let (lo, hi) = sc.ranges[j];
            if hi <= lo {
                continue;
            }
            let (lo, hi) = (lo as usize, hi as usize);
            let allowed = st - sc.masks[j].count_ones();
            let k = u64::from(top ^ sc.masks[j]);
            let recs = lo as u64 * unit + k * hs + (hi - lo) as u64 + hs;
            let mut base = lo;
            let mut first = true;
            while base < hi {
                let mut m = if spec.c1 > 0 {
                    s.filter_mask64(&inline[base..hi], q_in, allowed)
                } else {
                    let w = hi - base;
                    if w >= 64 {
                        u64::MAX
                    } else {
                        (1u64 << w) - 1
                    }
                };
                if m != 0 && first {
                    // The bucket's unary code, read when a survivor's id is decoded.
                    prefetch(
                        chunks
                            .as_ptr()
                            .wrapping_add(((lo as u64 * unit + k * hs) / 8) as usize),
                    );
                    first = false;
                }
                while m != 0 {
                    let e = base + m.trailing_zeros() as usize;
                    m &= m - 1;
                    let used = if spec.c1 > 0 {
                        u32::from(inline[e] ^ q_in).count_ones()
                    } else {
                        0
                    };
                    let i_in = (e - lo) as u64;
                    prefetch(
                        chunks
                            .as_ptr()
                            .wrapping_add(((recs + i_in * u64::from(rb)) / 8) as usize),
                    );
                    sc.hits.push(Hit {
                        k: k as u32,
                        lo: lo as u32,
                        hi: hi as u32,
                        pos: i_in as u32,
                        left: allowed - used,
                    });
                }
                base += 64;
            }
        }

        // Decode the survivors: extra bits, then the id from the unary code and the record.
        let low_mask = (1u64 << spec.low) - 1;
        for h in &sc.hits {
            let (lo, nk, i) = (u64::from(h.lo), u64::from(h.hi - h.lo), u64::from(h.pos));
            let start = lo * unit + u64::from(h.k) * hs;
            let Some(rec) = bits_at(chunks, start + nk + hs + i * u64::from(rb), rb) else {
                continue;
            };
            if ((rec >> spec.low) as u32 ^ q_ex).count_ones() > h.left {
                continue;
            }
            let Some(pos) = select(s, chunks, start, start + nk + hs, h.pos) else {
                continue;
            };
            let Some(high) = pos.checked_sub(i) else {
                continue;
            };
            let id = (high << spec.low) | (rec & low_mask);
            if id < n as u64 {
                prefetch(self.hashes.as_ptr().wrapping_add(id as usize));
                sc.cands.push(id as u32);
            }
        }
        true
    }

    fn range_with(&self, query: &H, threshold: u32, sc: &mut Scratch, out: &mut Vec<Match>) {
        out.clear();
        let r = threshold.min(H::BITS);
        if self.use_linear(r) {
            LinearScan::with_isa(self.hashes, self.isa).range_unsorted(query, r, out);
            out.sort_unstable();
            return;
        }
        let ok = self.isa.dispatch(QueryOp {
            mih: self,
            q: query,
            r,
            sc,
            out: &mut *out,
        });
        if !ok {
            out.clear();
            LinearScan::with_isa(self.hashes, self.isa).range_unsorted(query, r, out);
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// An entry that passed the inline filter: bucket, its range, position and the allowance
/// left for the extra bits.
#[derive(Clone, Copy)]
struct Hit {
    k: u32,
    lo: u32,
    hi: u32,
    pos: u32,
    left: u32,
}

/// Reusable per-query buffers.
#[derive(Default)]
struct Scratch {
    masks: Vec<u32>,
    ranges: Vec<(u32, u32)>,
    hits: Vec<Hit>,
    cands: Vec<u32>,
}

struct QueryOp<'s, 'a, H> {
    mih: &'s Mih<'a, H>,
    q: &'s H,
    r: u32,
    sc: &'s mut Scratch,
    out: &'s mut Vec<Match>,
}

impl<H: HashBits> WithSimd for QueryOp<'_, '_, H> {
    type Output = bool;
    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) -> bool {
        self.mih.query(s, self.q, self.r, self.sc, self.out)
    }
}

/// Lays out a section for `n` hashes of `bits` bits with the given tables: header and
/// descriptors, then each table's region (directory at 0, inline bytes and chunks at the
/// given offsets within it) filled by `fill`, in parallel.
fn encode(
    bits: u32,
    n: usize,
    specs: &[Spec],
    fill: impl Fn(usize, Spec, &mut [u8], usize, usize) + Sync,
) -> Result<Vec<u8>> {
    let lay = layout(n, specs)
        .ok_or_else(|| ErrorKind::InvalidArgument("index layout overflows memory".into()))?;
    let mut data = vec![0u8; lay.total];
    data[..8].copy_from_slice(MAGIC);
    put_u32(&mut data, 8, VERSION);
    put_u32(&mut data, 12, bits);
    put_u64(&mut data, 16, n as u64);
    put_u32(&mut data, 24, specs.len() as u32);
    put_u64(&mut data, 32, lay.total as u64);
    for (t, (s, &(dir, inline, chunks))) in specs.iter().zip(&lay.tables).enumerate() {
        let d = HEADER + DESC * t;
        put_u16(&mut data, d, s.start as u16);
        data[d + 2] = s.len as u8;
        data[d + 3] = s.b as u8;
        data[d + 4] = s.c1 as u8;
        data[d + 5] = s.c2 as u8;
        data[d + 6] = s.low as u8;
        put_u64(&mut data, d + 8, dir as u64);
        put_u64(&mut data, d + 16, inline as u64);
        put_u64(&mut data, d + 24, chunks as u64);
        put_u64(&mut data, d + 32, s.chunk_bytes(n).unwrap_or(0));
    }
    // One disjoint mutable region per table, filled in parallel.
    let mut regions = Vec::with_capacity(specs.len());
    let first = lay.tables.first().map_or(lay.total, |t| t.0);
    let mut rest = &mut data[first..];
    let mut pos = first;
    for (t, &(dir, inline, chunks)) in lay.tables.iter().enumerate() {
        let end = lay.tables.get(t + 1).map_or(lay.total, |t| t.0);
        let (region, tail) = rest.split_at_mut(end - pos);
        regions.push((specs[t], region, inline - dir, chunks - dir));
        rest = tail;
        pos = end;
    }
    regions
        .into_par_iter()
        .enumerate()
        .for_each(|(t, (spec, region, inline, chunks))| fill(t, spec, region, inline, chunks));
    Ok(data)
}

/// Fills one table's region (directory at 0, inline bytes and chunks at the given offsets).
fn build_table<H: HashBits>(
    hashes: &[H],
    s: Spec,
    region: &mut [u8],
    inline: usize,
    chunks: usize,
) {
    let entries = || {
        hashes
            .iter()
            .enumerate()
            .map(|(id, x)| (id as u64, u64::from(x.key(s.start, s.len))))
    };
    fill_table(hashes.len(), s, entries, region, inline, chunks);
}

/// Fills one table's region for a list of `n` hashes from its `(id, key)` entries, in
/// ascending id order (ids `< n`; normally every id once, but tests craft other tables).
fn fill_table<I: Iterator<Item = (u64, u64)>>(
    n: usize,
    s: Spec,
    entries: impl Fn() -> I,
    region: &mut [u8],
    inline: usize,
    chunks: usize,
) {
    let buckets = 1usize << s.b;
    let (sh_top, sh_in, sh_ex) = s.shifts();
    let h = s.high_span(n);
    let rb = s.rec_bits();
    let mut dir = vec![0u32; buckets + 1];
    for (_, key) in entries() {
        dir[(key >> sh_top) as usize + 1] += 1;
    }
    for k in 1..=buckets {
        dir[k] += dir[k - 1];
    }
    for (k, &v) in dir.iter().enumerate() {
        put_u32(region, 4 * k, v);
    }
    let mut cursor = dir[..buckets].to_vec();
    let low_mask = (1u64 << s.low) - 1;
    for (id, key) in entries() {
        let k = (key >> sh_top) as usize;
        let (lo, hi) = (dir[k] as usize, dir[k + 1] as usize);
        let i = cursor[k] as usize - lo;
        cursor[k] += 1;
        if s.c1 > 0 {
            region[inline + lo + i] = ((key >> sh_in) & ((1 << s.c1) - 1)) as u8;
        }
        let start = lo as u64 * u64::from(1 + rb) + k as u64 * h;
        let unary_bit = start + i as u64 + (id >> s.low);
        region[chunks + (unary_bit / 8) as usize] |= 1 << (unary_bit % 8);
        let extra = (key >> sh_ex) & ((1 << s.c2) - 1);
        let rec_at = start + (hi - lo) as u64 + h + i as u64 * u64::from(rb);
        put_bits(
            &mut region[chunks..],
            rec_at,
            rb,
            (extra << s.low) | (id & low_mask),
        );
    }
}

impl<H: HashBits> Index for Mih<'_, H> {
    type Hash = H;

    fn kind(&self) -> IndexKind {
        IndexKind::Mih
    }

    fn len(&self) -> usize {
        self.hashes.len()
    }

    fn index_bytes(&self) -> usize {
        self.data.len()
    }

    fn range(&self, query: &H, threshold: u32, out: &mut Vec<Match>) {
        self.range_with(query, threshold, &mut Scratch::default(), out);
    }

    fn knn(&self, query: &H, k: usize) -> Vec<Match> {
        if k == 0 || self.hashes.is_empty() {
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
                return LinearScan::with_isa(self.hashes, self.isa).knn(query, k);
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

#[cfg(test)]
mod tests {
    //! Sections that are structurally valid (every check of the walk passes) but hold the
    //! wrong entries: the fingerprint in [`Mih::validate`] must refuse each of them.

    use super::*;
    use crate::index::bench::SplitMix64;
    use crate::index::sealed::Sealed as _;
    use crate::index::SearchIndex;
    use crate::Hash64;

    const N: usize = 3000;

    fn list() -> Vec<Hash64> {
        let mut rng = SplitMix64::new(0x5eed);
        (0..N).map(|_| Hash64::from_u64(rng.next())).collect()
    }

    /// Two 32-bit tables; table 0 has every field narrower than its byte so that stray and
    /// aliased bits can be crafted.
    fn specs() -> Vec<Spec> {
        vec![
            Spec {
                start: 0,
                len: 32,
                b: 4,
                c1: 4,
                c2: 3,
                low: best_low_bits(N, 4),
            },
            Spec {
                start: 32,
                len: 32,
                b: 6,
                c1: 8,
                c2: 2,
                low: best_low_bits(N, 6),
            },
        ]
    }

    /// Table 0's `(id, key)` entries for `list`, in id order.
    fn entries(list: &[Hash64]) -> Vec<(u64, u64)> {
        let s = specs()[0];
        list.iter()
            .enumerate()
            .map(|(id, h)| (id as u64, u64::from(h.key(s.start, s.len))))
            .collect()
    }

    /// A section over `list` whose table 0 holds `table0` (sorted by id here) instead.
    fn craft(list: &[Hash64], mut table0: Vec<(u64, u64)>) -> Vec<u8> {
        table0.sort_by_key(|e| e.0);
        encode(
            64,
            list.len(),
            &specs(),
            |t, spec, region, inline, chunks| {
                if t == 0 {
                    fill_table(N, spec, || table0.iter().copied(), region, inline, chunks);
                } else {
                    build_table(list, spec, region, inline, chunks);
                }
            },
        )
        .unwrap()
    }

    fn field(key: u64, shift: u32, bits: u32) -> u64 {
        (key >> shift) & ((1 << bits) - 1)
    }

    /// `key` with its `bits`-wide field at `shift` replaced by that of `from`.
    fn with_field(key: u64, from: u64, shift: u32, bits: u32) -> u64 {
        let mask = ((1u64 << bits) - 1) << shift;
        (key & !mask) | (from & mask)
    }

    /// Two ids in the same bucket whose `bits`-wide fields at `shift` differ.
    fn pair(e: &[(u64, u64)], shift: u32, bits: u32) -> (usize, usize) {
        let (sh_top, ..) = specs()[0].shifts();
        for j in 0..e.len() {
            for l in j + 1..e.len() {
                if e[j].1 >> sh_top == e[l].1 >> sh_top
                    && field(e[j].1, shift, bits) != field(e[l].1, shift, bits)
                {
                    return (j, l);
                }
            }
        }
        unreachable!("3000 random keys in 16 buckets have such a pair")
    }

    /// The walk accepts every table of `bytes`, yet validation refuses it: only the
    /// fingerprint can have caught it.
    fn refused_by_fingerprint(bytes: &[u8], list: &[Hash64], what: &str) {
        let mih = Mih::load_unvalidated(bytes, list).unwrap();
        let fp = Fingerprint::random();
        for (t, table) in mih.tables.iter().enumerate() {
            mih.walk_table(t, table, fp)
                .unwrap_or_else(|e| panic!("{what}: the crafted table {t} should walk: {e}"));
        }
        assert_refused(bytes, list, what);
    }

    fn assert_refused(bytes: &[u8], list: &[Hash64], what: &str) {
        for err in [
            Mih::load(bytes, list).err(),
            SearchIndex::load(bytes, list).err(),
        ] {
            let err = err.unwrap_or_else(|| panic!("{what}: the section was accepted"));
            assert!(matches!(err.kind(), ErrorKind::Format(_)), "{what}: {err}");
        }
    }

    #[test]
    fn the_crafting_is_faithful() {
        let list = list();
        let bytes = craft(&list, entries(&list));
        let mih = Mih::load(&bytes, &list).unwrap();
        let built = encode(64, N, &specs(), |_, spec, region, inline, chunks| {
            build_table(&list, spec, region, inline, chunks)
        })
        .unwrap();
        assert_eq!(mih.as_bytes(), &built[..]);
        let mut out = Vec::new();
        mih.with_fallback(false).range(&list[17], 0, &mut out);
        assert_eq!(out, vec![Match::new(17, 0)]);
    }

    #[test]
    fn an_entry_moved_to_another_bucket_is_refused() {
        let list = list();
        let (sh_top, ..) = specs()[0].shifts();
        let mut e = entries(&list);
        // The directory counts are rebuilt from the entries, so they stay consistent.
        e[100].1 ^= 1 << sh_top;
        refused_by_fingerprint(&craft(&list, e), &list, "moved");
    }

    #[test]
    fn an_id_repeated_and_another_dropped_is_refused() {
        let list = list();
        let (sh_top, ..) = specs()[0].shifts();
        let mut e = entries(&list);
        let a = 5;
        let b = (0..N)
            .find(|&b| e[b].1 >> sh_top != e[a].1 >> sh_top && b > a)
            .unwrap();
        // Id `a` also sits where `b` should, with `b`'s bits; `b` is gone.
        e[b].0 = a as u64;
        refused_by_fingerprint(&craft(&list, e), &list, "repeated and dropped");
    }

    #[test]
    fn swapped_ids_are_refused() {
        let list = list();
        let (sh_top, ..) = specs()[0].shifts();
        let mut e = entries(&list);
        let l = (1..N)
            .find(|&l| e[l].1 >> sh_top != e[0].1 >> sh_top)
            .unwrap();
        let (k0, kl) = (e[0].1, e[l].1);
        e[0].1 = kl;
        e[l].1 = k0;
        refused_by_fingerprint(&craft(&list, e), &list, "swapped ids");
    }

    #[test]
    fn swapped_inline_bits_are_refused() {
        let list = list();
        let (_, sh_in, _) = specs()[0].shifts();
        let mut e = entries(&list);
        let (j, l) = pair(&e, sh_in, 4);
        let (kj, kl) = (e[j].1, e[l].1);
        e[j].1 = with_field(kj, kl, sh_in, 4);
        e[l].1 = with_field(kl, kj, sh_in, 4);
        refused_by_fingerprint(&craft(&list, e), &list, "swapped inline bits");
    }

    #[test]
    fn swapped_extra_bits_are_refused() {
        let list = list();
        let (.., sh_ex) = specs()[0].shifts();
        let mut e = entries(&list);
        let (j, l) = pair(&e, sh_ex, 3);
        let (kj, kl) = (e[j].1, e[l].1);
        e[j].1 = with_field(kj, kl, sh_ex, 3);
        e[l].1 = with_field(kl, kj, sh_ex, 3);
        refused_by_fingerprint(&craft(&list, e), &list, "swapped extra bits");
    }

    /// An inline byte with a bit above its 4-bit field, on an entry moved one bucket down:
    /// read naively, bucket `k` with inline `x | 16` names the same stored bits as bucket
    /// `k + 1` with inline `x`, so the fingerprint alone would accept the moved entry.
    #[test]
    fn inline_bits_beyond_the_width_are_refused() {
        let list = list();
        let s = specs()[0];
        let (sh_top, ..) = s.shifts();
        let mut e = entries(&list);
        let j = (0..N).find(|&j| e[j].1 >> sh_top > 0).unwrap();
        let k = (e[j].1 >> sh_top) - 1;
        e[j].1 -= 1 << sh_top;
        let mut bytes = craft(&list, e.clone());
        // Entry j's position: its bucket's start plus the ids before it in the bucket.
        let mih = Mih::load_unvalidated(&bytes, &list).unwrap();
        let t0 = mih.tables[0].clone();
        drop(mih);
        let lo = u32_at(&bytes[t0.dir.clone()], k as usize).unwrap() as usize;
        let before = e[..j].iter().filter(|x| x.1 >> sh_top == k).count();
        bytes[t0.inline.start + lo + before] |= 1 << s.c1;
        assert_refused(&bytes, &list, "stray inline bit");
    }
}
