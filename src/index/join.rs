//! Joins: every pair of hashes within a threshold, within one set ([`self_join`]) or between
//! a set and a reference list ([`cross_join`]), exactly and in parallel. The clustering of
//! [`matching`](crate::matching) is built on the self-join.
//!
//! The self-join collapses exact duplicates first (a parallel sort), then runs on the unique
//! hashes with one of two exact methods, chosen by a cost model ([`JoinMethod::Auto`]; the
//! model is shared with the planner of multi-index hashing): pigeonhole buckets, or the
//! cache-blocked SIMD batch scan of [`LinearScan`](super::LinearScan). See
//! [`matching`](crate::matching#algorithm) for the details and measurements.
//!
//! Both joins hold their pairs in memory, so both take a pair limit and refuse early, from a
//! sample of random pairs, a join that would clearly pass it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;

use super::cost::{self, ball};
use super::{HashBits, Index, IndexKind, IndexOptions, SearchIndex};
use crate::arch::{Isa, Simd, WithSimd};
use crate::error::Result;
use crate::util::SplitMix64;

/// Queries per block in the scan join (as in the linear scan's batch).
const SCAN_BLOCK: usize = 256;
/// Hashes the scan join compares a block with at a time, so that one call's pairs stay
/// bounded (at most `SCAN_BLOCK * SCAN_HAY` = 1M) and the pair limit is checked often.
const SCAN_HAY: usize = 4096;
/// Blocks the pigeonhole join compares with the SIMD batch kernel: the larger of two buckets
/// holds at least this many hashes (one AVX-512 group of 256-bit hashes); smaller pairs of
/// buckets are compared directly.
const BLOCK_SIMD: usize = 8;
/// Random pairs a join samples to estimate how many pairs fall within the threshold.
const SAMPLE_PAIRS: u64 = 20_000;

/// The default pair limit of a join ([`DedupOptions::max_pairs`](crate::matching::DedupOptions::max_pairs), [`cross_join`]): 50 million pairs of distinct hashes, about 600 MB
/// of pairs (12 bytes each). Real case sets at PDQ's threshold 31 have a few pairs per
/// near-duplicate group; a threshold near half the bits links most of all `n²/2` pairs.
pub const DEFAULT_MAX_PAIRS: u64 = 50_000_000;
/// Widest part the pigeonhole join uses (its bucket offsets take `4 << bits` bytes).
const MAX_PART_BITS: u32 = 22;
/// Cost model of the pigeonhole join, nanoseconds on one core, measured on the reference
/// machine (2-core VM; see [`matching`](crate::matching#algorithm)). One hash comparison
/// between buckets the SIMD batch kernel compares block against block, the larger of the two
/// holding several register blocks ([`BLOCK_MANY`] hashes or more): 0.3 ns measured at 10M
/// (16 parts of 16 bits, buckets of about 150)...
const C_BLOCK_256: f64 = 0.3;
const C_BLOCK_64: f64 = 0.12;
/// ...with one to a few register blocks ([`BLOCK_FULL`] hashes or more): each pair of buckets
/// loads its blocks again and leaves a scalar tail. Estimated, not measured apart: at 10M a
/// table of 18-bit parts with radius 2 (buckets of about 38) ran at least twice as slow per
/// comparison as the 16-bit tables, under heavier load.
const C_FEW_256: f64 = 0.6;
const C_FEW_64: f64 = 0.25;
/// ...and between smaller buckets, compared mostly lane group by lane group or directly,
/// while the table is cached ([`PROBE_CACHE_BYTES`])...
const C_CMP_256: f64 = 1.0;
const C_CMP_64: f64 = 0.5;
/// ...and once it is not: every few comparisons start with cache misses into another small
/// bucket (about 3 ns a comparison for 20-bit parts with radius 2 at 10M).
const C_CMP_FAR: f64 = 3.0;
/// Visiting one neighbour key of a non-empty bucket while the bucket offsets fit in a core's
/// cache...
const C_PROBE: f64 = 2.0;
/// ...and once they do not: a cache miss into the offsets (10 ns measured: 25 CPU-seconds for
/// the 2.4e9 neighbour keys of 12 parts of 21-22 bits at 1M).
const C_PROBE_FAR: f64 = 10.0;
/// Offsets up to this size (4 bytes a key) count as cached.
const PROBE_CACHE_BYTES: f64 = 1.0e6;
/// Sorting one hash into its bucket (key, count, scatter).
const C_SORT: f64 = 6.0;
/// One empty-bucket check while walking the key space.
const C_KEY: f64 = 0.5;

/// 256-bit hashes the batch kernel holds in registers per step (four groups of eight with
/// AVX-512; 64-bit hashes: twice as many).
const BLOCK_FULL: f64 = 32.0;
/// Buckets from this size on amortise loading the blocks of each bucket pair.
const BLOCK_MANY: f64 = 128.0;

/// The cost of one comparison in a table of `1 << len` keys between buckets whose larger
/// holds `larger` hashes.
fn cmp_ns(bits: u32, len: u32, larger: f64) -> f64 {
    let wide = bits >= 256;
    let per_block = if wide { 1.0 } else { 2.0 };
    if larger >= BLOCK_MANY * per_block {
        if wide {
            C_BLOCK_256
        } else {
            C_BLOCK_64
        }
    } else if larger >= BLOCK_FULL * per_block {
        if wide {
            C_FEW_256
        } else {
            C_FEW_64
        }
    } else if !cached(len) {
        C_CMP_FAR
    } else if wide {
        C_CMP_256
    } else {
        C_CMP_64
    }
}

/// Whether the offsets of a table of `1 << len` keys count as cached.
fn cached(len: u32) -> bool {
    4.0 * (1u64 << len) as f64 <= PROBE_CACHE_BYTES
}

/// The cost of one neighbour visit in a table of `1 << len` keys.
fn probe_ns(len: u32) -> f64 {
    if cached(len) {
        C_PROBE
    } else {
        C_PROBE_FAR
    }
}

/// One pair found by a join: `a < b` for a self-join (positions in the input), `a` the query
/// and `b` the reference position for a cross-join.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Pair {
    /// The first position.
    pub a: u32,
    /// The second position.
    pub b: u32,
    /// The Hamming distance between the two hashes.
    pub distance: u32,
}

impl Pair {
    /// The pair of positions `a` and `b` at `distance`.
    pub const fn new(a: u32, b: u32, distance: u32) -> Pair {
        Pair { a, b, distance }
    }
}

/// How [`self_join_with`] finds pairs. Every method returns the same, exact answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JoinMethod {
    /// Choose by the cost model (see [`self_join_with`]).
    #[default]
    Auto,
    /// The blocked SIMD scan of all pairs.
    Scan,
    /// Pigeonhole buckets (the best plan the cost model finds).
    Pigeonhole,
}

/// Every pair `a < b` of `hashes` within `threshold` (inclusive), sorted by `(a, b)`.
///
/// Exact; runs on the rayon pool with [`JoinMethod::Auto`].
///
/// # Panics
///
/// Panics if `hashes` holds more than `u32::MAX` entries.
pub fn self_join<H: HashBits>(hashes: &[H], threshold: u32) -> Vec<Pair> {
    self_join_with(hashes, threshold, JoinMethod::Auto)
}

/// [`self_join`] with a chosen method (for tests and benchmarks; all give the same answer).
///
/// # Panics
///
/// Panics if `hashes` holds more than `u32::MAX` entries.
pub fn self_join_with<H: HashBits>(hashes: &[H], threshold: u32, method: JoinMethod) -> Vec<Pair> {
    let groups = Groups::new(hashes);
    let unique = join_unique(&groups.unique, threshold, method, u64::MAX)
        .expect("an unlimited join cannot pass its limit");
    let mut out: Vec<Pair> = Vec::new();
    for g in 0..groups.unique.len() {
        let m = groups.members(g);
        for (x, &i) in m.iter().enumerate() {
            for &j in &m[x + 1..] {
                out.push(Pair {
                    a: i,
                    b: j,
                    distance: 0,
                });
            }
        }
    }
    for p in &unique {
        for &i in groups.members(p.a as usize) {
            for &j in groups.members(p.b as usize) {
                out.push(Pair {
                    a: i.min(j),
                    b: i.max(j),
                    distance: p.distance,
                });
            }
        }
    }
    out.par_sort_unstable();
    out
}

/// Every pair (query position `a`, reference position `b`) within `threshold`, sorted by
/// `(a, b)`: which hashes of a case set match a reference list. Uses the index
/// [`IndexKind::Auto`] picks for a batch of this size. At most [`DEFAULT_MAX_PAIRS`] pairs:
/// [`cross_join_with`] sets another limit.
///
/// # Errors
///
/// As [`cross_join_with`].
pub fn cross_join<H: HashBits>(
    queries: &[H],
    reference: &[H],
    threshold: u32,
) -> Result<Vec<Pair>> {
    cross_join_with(queries, reference, threshold, DEFAULT_MAX_PAIRS)
}

/// [`cross_join`] finding at most `max_pairs` pairs: the same limit, and the same early
/// refusal from a sample of random pairs, as the self-join of
/// [`cluster`](crate::matching::cluster). The queries are searched in blocks, so the pairs
/// held never pass the limit by more than one block's.
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) if either side holds more than `u32::MAX` hashes;
/// [`ErrorKind::Limit`](crate::ErrorKind::Limit) if more than `max_pairs` pairs are within the threshold
/// (estimated from a sample before the join starts, counted during it).
///
/// ```
/// use hashsieve::Hash64;
/// use hashsieve::index::join::{cross_join_with, Pair};
/// let refs = [0b0u64, 0b1, 0b11].map(Hash64::from_u64);
/// let queries = [Hash64::from_u64(0b10)];
/// assert_eq!(cross_join_with(&queries, &refs, 1, 10)?, vec![Pair::new(0, 0, 1), Pair::new(0, 2, 1)]);
/// assert!(cross_join_with(&queries, &refs, 64, 2).is_err());
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn cross_join_with<H: HashBits>(
    queries: &[H],
    reference: &[H],
    threshold: u32,
    max_pairs: u64,
) -> Result<Vec<Pair>> {
    /// Queries searched per block between checks of the limit.
    const BLOCK: usize = 4096;
    check_set_len(queries.len())?;
    check_cross_estimate(queries, reference, threshold, max_pairs)?;
    let index = SearchIndex::build(
        reference,
        &IndexOptions::new(IndexKind::Auto)
            .threshold(threshold)
            .batch(queries.len()),
    )?;
    let mut out: Vec<Pair> = Vec::new();
    for (blk, qs) in queries.chunks(BLOCK).enumerate() {
        let found = index.range_batch(qs, threshold);
        for (i, ms) in found.into_iter().enumerate() {
            let a = (blk * BLOCK + i) as u32;
            out.extend(ms.into_iter().map(|m| Pair::new(a, m.index, m.distance)));
        }
        if out.len() as u64 > max_pairs {
            return Err(too_many_pairs(
                "the cross-join stopped: more pairs are".to_owned(),
                threshold,
                max_pairs,
            ));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Refuses a cross-join when a sample of random pairs shows it would find clearly more than
/// `max` pairs (the lower end of a 3-sigma interval is over it).
fn check_cross_estimate<H: HashBits>(a: &[H], b: &[H], r: u32, max: u64) -> Result<()> {
    let all = a.len() as u128 * b.len() as u128;
    if all <= u128::from(max) {
        return Ok(());
    }
    let mut rng = SplitMix64::new(0x0c05_5e5d);
    let hits = (0..SAMPLE_PAIRS)
        .filter(|_| {
            let x = &a[rng.below(a.len() as u64) as usize];
            let y = &b[rng.below(b.len() as u64) as usize];
            x.hamming(y) <= r
        })
        .count() as u64;
    check_sample(hits, all, "of the queries and the reference", r, max)
}
pub(crate) fn check_set_len(len: usize) -> Result<()> {
    super::check_ids(len, "set")
}

/// Identical hashes grouped: `unique[g]` occurs at positions `members(g)` (ascending).
pub(crate) struct Groups<H> {
    pub(crate) unique: Vec<H>,
    start: Vec<u32>,
    members: Vec<u32>,
}

impl<H: HashBits> Groups<H> {
    pub(crate) fn new(hashes: &[H]) -> Groups<H> {
        assert!(
            hashes.len() <= u32::MAX as usize,
            "more than u32::MAX hashes"
        );
        // Sort (first 32 bits, position): 8 bytes a hash, not a copy of every hash. Runs that
        // share the first word (rare on real sets, except for the duplicates themselves) are
        // then ordered by all the words, so identical hashes end up adjacent.
        let mut keyed: Vec<(u32, u32)> = hashes
            .par_iter()
            .enumerate()
            .map(|(i, h)| (h.key(0, 32), i as u32))
            .collect();
        keyed.par_sort_unstable();
        let words = |i: u32| {
            let h = &hashes[i as usize];
            let mut k = [0u32; 8];
            for (w, slot) in k.iter_mut().enumerate().take((H::BITS / 32) as usize) {
                *slot = h.key(32 * w as u32, 32);
            }
            (k, i)
        };
        for run in keyed.chunk_by_mut(|x, y| x.0 == y.0) {
            if run.len() > 4096 {
                run.par_sort_unstable_by_key(|&(_, i)| words(i));
            } else if run.len() > 1 {
                run.sort_unstable_by_key(|&(_, i)| words(i));
            }
        }
        let same = |i: u32, j: u32| hashes[i as usize] == hashes[j as usize];
        let mut unique = Vec::new();
        let mut start = Vec::new();
        let mut members = Vec::with_capacity(hashes.len());
        for (x, &(_, i)) in keyed.iter().enumerate() {
            if x == 0 || !same(keyed[x - 1].1, i) {
                start.push(members.len() as u32);
                unique.push(hashes[i as usize]);
            }
            members.push(i);
        }
        start.push(members.len() as u32);
        Groups {
            unique,
            start,
            members,
        }
    }

    pub(crate) fn members(&self, g: usize) -> &[u32] {
        &self.members[self.start[g] as usize..self.start[g + 1] as usize]
    }
}

/// The error for a join that finds (or would find) more than `max` pairs.
fn too_many_pairs(what: String, r: u32, max: u64) -> crate::error::Error {
    let mb = max.saturating_mul(std::mem::size_of::<Pair>() as u64) / 1_000_000;
    let size = if mb > 0 {
        format!(" (about {mb} MB)")
    } else {
        String::new()
    };
    crate::error::Error::limit(
        crate::error::Limit::Pairs,
        format!(
            "{what} within threshold {r}, more than the limit of {max} pairs{size}; lower the \
             threshold, or raise the pair limit (`--max-pairs`) if memory allows"
        ),
    )
}

/// Fails early when a sample of random pairs of `unique` shows that clearly more than `max`
/// pairs are within `r` (the lower end of a 3-sigma interval is over the limit), so that a
/// join that must fail does not first run for minutes.
pub(crate) fn check_estimate<H: HashBits>(unique: &[H], r: u32, max: u64) -> Result<()> {
    let n = unique.len() as u64;
    let all = u128::from(n) * u128::from(n.saturating_sub(1)) / 2;
    if all <= u128::from(max) {
        return Ok(());
    }
    let mut rng = SplitMix64::new(0x5eed_d00d);
    let mut hits = 0u64;
    for _ in 0..SAMPLE_PAIRS {
        let a = rng.below(n) as usize;
        let b = (a + 1 + rng.below(n - 1) as usize) % n as usize;
        hits += u64::from(unique[a].hamming(&unique[b]) <= r);
    }
    let what = format!("of {n} distinct hashes");
    check_sample(hits, all, &what, r, max)
}

/// The one estimate behind both joins' early refusal: `hits` of [`SAMPLE_PAIRS`] random pairs
/// out of `all` were within `r`; an error when the lower end of a 3-sigma interval of the
/// pairs within `r` is over `max`.
fn check_sample(hits: u64, all: u128, of: &str, r: u32, max: u64) -> Result<()> {
    let low = (hits as f64 - 3.0 * (hits as f64).sqrt()).max(0.0) / SAMPLE_PAIRS as f64;
    if low * all as f64 > max as f64 {
        let share = hits as f64 / SAMPLE_PAIRS as f64;
        return Err(too_many_pairs(
            format!(
                "about {:.3e} pairs ({:.2}% of all pairs {of}, from a sample) are",
                share * all as f64,
                share * 100.0
            ),
            r,
            max,
        ));
    }
    Ok(())
}

/// Counts the pairs a parallel join has found against its limit.
struct PairBudget {
    max: u64,
    found: AtomicU64,
    over: AtomicBool,
}

impl PairBudget {
    fn new(max: u64) -> PairBudget {
        PairBudget {
            max,
            found: AtomicU64::new(0),
            over: AtomicBool::new(false),
        }
    }

    /// Adds `n` pairs; returns false (and stops every worker) once over the limit.
    fn add(&self, n: usize) -> bool {
        let total = self.found.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.max {
            self.over.store(true, Ordering::Relaxed);
        }
        !self.stopped()
    }

    fn stopped(&self) -> bool {
        self.over.load(Ordering::Relaxed)
    }

    fn check(&self, r: u32) -> Result<()> {
        if self.stopped() {
            return Err(too_many_pairs(
                "the join stopped: more pairs are".to_owned(),
                r,
                self.max,
            ));
        }
        Ok(())
    }
}

/// The pairs of distinct hashes within `r`, `a < b`, unsorted; fails once more than `max`
/// are found.
pub(crate) fn join_unique<H: HashBits>(
    hashes: &[H],
    r: u32,
    method: JoinMethod,
    max: u64,
) -> Result<Vec<Pair>> {
    let n = hashes.len();
    if n < 2 {
        return Ok(Vec::new());
    }
    let budget = PairBudget::new(max);
    let r = r.min(H::BITS);
    let scan_cost = scan_cost(H::BITS, n);
    let plan = match method {
        JoinMethod::Scan => None,
        _ => best_plan(H::BITS, n, r),
    };
    let pairs = match plan {
        Some((plan, predicted))
            if method == JoinMethod::Pigeonhole || predicted < scan_cost && n >= 4096 =>
        {
            // Check the plan against the real bucket sizes before running it.
            if method == JoinMethod::Auto && plan.measured_cost(hashes) >= scan_cost {
                scan_join(hashes, r, &budget)
            } else {
                plan.run(hashes, r, &budget)
            }
        }
        _ => scan_join(hashes, r, &budget),
    };
    budget.check(r)?;
    Ok(pairs)
}

fn scan_cost(bits: u32, n: usize) -> f64 {
    let c = cost::scan_pair_ns(bits);
    let threads = rayon::current_num_threads().max(1) as f64;
    c * (n as f64) * (n as f64) / 2.0 / threads
}

/// All pairs by the blocked SIMD batch kernel; stops early once `budget` is spent.
fn scan_join<H: HashBits>(hashes: &[H], r: u32, budget: &PairBudget) -> Vec<Pair> {
    let isa = Isa::detect();
    let n = hashes.len();
    let blocks = n.div_ceil(SCAN_BLOCK);
    let found: Vec<Vec<Pair>> = (0..blocks)
        .into_par_iter()
        .map(|b| {
            let q0 = b * SCAN_BLOCK;
            let q1 = (q0 + SCAN_BLOCK).min(n);
            let mut pairs = Vec::new();
            let mut found = Vec::new();
            for c0 in (q0..n).step_by(SCAN_HAY) {
                if budget.stopped() {
                    return Vec::new();
                }
                let c1 = (c0 + SCAN_HAY).min(n);
                found.clear();
                H::batch_kernel(
                    isa,
                    &hashes[c0..c1],
                    &hashes[q0..q1],
                    r,
                    c0 as u32,
                    &mut found,
                );
                let before = pairs.len();
                pairs.extend(found.iter().filter_map(|&(qi, m)| {
                    let a = q0 as u32 + qi;
                    (m.index > a).then_some(Pair {
                        a,
                        b: m.index,
                        distance: m.distance,
                    })
                }));
                if !budget.add(pairs.len() - before) {
                    return Vec::new();
                }
            }
            pairs
        })
        .collect();
    found.concat()
}

/// A pigeonhole plan: the parts `(start, len, s)`, each with its own radius `s`, such that
/// `Σ (s + 1) > r`. Two hashes within `r` are then within `s` in at least one part (were
/// each part's distance over its `s`, the total would be over `r`).
#[derive(Clone, Debug)]
struct Plan {
    parts: Vec<(u32, u32, u32)>,
}

impl Plan {
    /// `m` parts of `bits / m` bits (the first `bits % m` one wider) and the smallest radii
    /// with `Σ (s + 1) = r + 1`: the first `(r + 1) % m` parts (the widest) get one more than
    /// the rest. `1 <= m <= r + 1`.
    fn new(bits: u32, r: u32, m: u32) -> Plan {
        let (base, extra) = ((r + 1) / m, (r + 1) % m);
        let mut parts = Vec::with_capacity(m as usize);
        let mut start = 0;
        for t in 0..m {
            let len = bits / m + u32::from(t < bits % m);
            parts.push((start, len, base - 1 + u32::from(t < extra)));
            start += len;
        }
        Plan { parts }
    }
}

/// The cheapest pigeonhole plan by the cost model on uniform hashes, with its predicted cost
/// (ns on the current pool).
fn best_plan(bits: u32, n: usize, r: u32) -> Option<(Plan, f64)> {
    let threads = rayon::current_num_threads().max(1) as f64;
    let nf = n as f64;
    let mut best: Option<(Plan, f64)> = None;
    for m in bits.div_ceil(MAX_PART_BITS)..=bits.min(r + 1) {
        let plan = Plan::new(bits, r, m);
        let mut cost = 0.0;
        for &(_, len, s) in &plan.parts {
            let v = ball(len, i64::from(s));
            let keys = f64::from(1u32 << len);
            // Uniform hashes: buckets of `n / keys`, this many of them non-empty.
            let per = nf / keys;
            let filled = keys * -(-per).exp_m1();
            cost += cmp_ns(bits, len, per) * nf * nf * v / (2.0 * keys)
                + probe_ns(len) * filled * (v - 1.0)
                + C_SORT * nf
                + C_KEY * keys;
        }
        let cost = cost / threads;
        if best.as_ref().is_none_or(|b| cost < b.1) {
            best = Some((plan, cost));
        }
    }
    best
}

/// One part's buckets: the unique hashes counting-sorted by the part's key.
struct Table<'h, H> {
    hashes: &'h [H],
    plan: &'h Plan,
    t: usize,
    r: u32,
    off: Vec<u32>,
    order: Vec<u32>,
    sorted: Vec<H>,
    masks: &'h [u32],
}

impl Plan {
    fn offsets<H: HashBits>(&self, hashes: &[H], t: usize) -> (Vec<u32>, Vec<u32>) {
        let (start, len, _) = self.parts[t];
        let keys: Vec<u32> = hashes.par_iter().map(|h| h.key(start, len)).collect();
        let mut off = vec![0u32; (1usize << len) + 1];
        for &k in &keys {
            off[k as usize + 1] += 1;
        }
        for i in 1..off.len() {
            off[i] += off[i - 1];
        }
        (off, keys)
    }

    /// The cost model on the real bucket sizes.
    fn measured_cost<H: HashBits>(&self, hashes: &[H]) -> f64 {
        let threads = rayon::current_num_threads().max(1) as f64;
        let mut total = 0.0;
        for t in 0..self.parts.len() {
            let (off, _) = self.offsets(hashes, t);
            let (_, len, s) = self.parts[t];
            let masks = masks(len, s);
            let probe = probe_ns(len);
            let size = |k: usize| f64::from(off[k + 1] - off[k]);
            let ns: f64 = (0..1usize << len)
                .into_par_iter()
                .map(|k| {
                    let b = size(k);
                    if b == 0.0 {
                        return 0.0;
                    }
                    let mut c =
                        cmp_ns(H::BITS, len, b) * b * (b - 1.0) / 2.0 + probe * masks.len() as f64;
                    for &m in &masks {
                        let k2 = k ^ m as usize;
                        if k2 > k {
                            let b2 = size(k2);
                            c += cmp_ns(H::BITS, len, b.max(b2)) * b * b2;
                        }
                    }
                    c
                })
                .sum();
            total += ns + C_SORT * hashes.len() as f64 + C_KEY * (1u64 << len) as f64;
        }
        total / threads
    }

    fn run<H: HashBits>(&self, hashes: &[H], r: u32, budget: &PairBudget) -> Vec<Pair> {
        let mut out = Vec::new();
        for t in 0..self.parts.len() {
            if budget.stopped() {
                return Vec::new();
            }
            let (off, keys) = self.offsets(hashes, t);
            let mut fill = off.clone();
            let mut order = vec![0u32; hashes.len()];
            for (i, &k) in keys.iter().enumerate() {
                order[fill[k as usize] as usize] = i as u32;
                fill[k as usize] += 1;
            }
            drop((keys, fill));
            let sorted: Vec<H> = order.par_iter().map(|&i| hashes[i as usize]).collect();
            let masks = masks(self.parts[t].1, self.parts[t].2);
            let table = Table {
                hashes,
                plan: self,
                t,
                r,
                off,
                order,
                sorted,
                masks: &masks,
            };
            let nkeys = 1usize << self.parts[t].1;
            let chunk = nkeys
                .div_ceil(64 * rayon::current_num_threads().max(1))
                .max(1);
            let found: Vec<Vec<Pair>> = (0..nkeys.div_ceil(chunk))
                .into_par_iter()
                .map(|c| {
                    let mut v = Vec::new();
                    if !budget.stopped() {
                        table.scan(c * chunk..((c + 1) * chunk).min(nkeys), &mut v);
                        if !budget.add(v.len()) {
                            v = Vec::new();
                        }
                    }
                    v
                })
                .collect();
            for v in found {
                out.extend_from_slice(&v);
            }
        }
        out
    }
}

/// Every `len`-bit mask with `1..=s` bits set.
fn masks(len: u32, s: u32) -> Vec<u32> {
    if s == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    // Grow by weight: combinations of 1..=s bit positions.
    fn rec(len: u32, from: u32, left: u32, acc: u32, out: &mut Vec<u32>) {
        for b in from..len {
            let m = acc | (1 << b);
            out.push(m);
            if left > 1 {
                rec(len, b + 1, left - 1, m, out);
            }
        }
    }
    rec(len, 0, s.min(len), 0, &mut out);
    out
}

impl<H: HashBits> Table<'_, H> {
    fn scan(&self, keys: std::ops::Range<usize>, out: &mut Vec<Pair>) {
        /// The scan compiled for the detected instruction set (the scalar distances of small
        /// blocks become `popcnt`).
        struct ScanOp<'t, 'a, H> {
            table: &'t Table<'a, H>,
            isa: Isa,
            keys: std::ops::Range<usize>,
            out: &'t mut Vec<Pair>,
        }
        impl<H: HashBits> WithSimd for ScanOp<'_, '_, H> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: Simd>(self, _simd: S) {
                self.table.scan_generic(self.isa, self.keys, self.out)
            }
        }
        let isa = Isa::detect();
        isa.dispatch(ScanOp {
            table: self,
            isa,
            keys,
            out,
        });
    }

    /// Each bucket of `keys` against itself and against every bucket whose key differs in
    /// `1..=s` bits and is larger: block against block in the sorted copy.
    #[inline(always)]
    fn scan_generic(&self, isa: Isa, keys: std::ops::Range<usize>, out: &mut Vec<Pair>) {
        let mut found = Vec::new();
        for k in keys {
            let (b0, b1) = (self.off[k] as usize, self.off[k + 1] as usize);
            if b0 == b1 {
                continue;
            }
            if b1 - b0 > 1 {
                self.block(isa, b0..b1, b0..b1, &mut found, out);
            }
            for &m in self.masks {
                let k2 = k ^ m as usize;
                if k2 <= k {
                    continue;
                }
                let (c0, c1) = (self.off[k2] as usize, self.off[k2 + 1] as usize);
                if c0 < c1 {
                    self.block(isa, b0..b1, c0..c1, &mut found, out);
                }
            }
        }
    }

    /// The pairs within `r` between the sorted positions `a` and `b` (`p < q` only when `a`
    /// and `b` are the same bucket). Blocks of at least [`BLOCK_SIMD`] hashes go to the SIMD
    /// batch kernel, the larger block held in registers; smaller ones are compared directly.
    #[inline(always)]
    fn block(
        &self,
        isa: Isa,
        a: std::ops::Range<usize>,
        b: std::ops::Range<usize>,
        found: &mut Vec<(u32, super::Match)>,
        out: &mut Vec<Pair>,
    ) {
        let same = a == b;
        let (q, h) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        let r = self.r;
        if h.len() < BLOCK_SIMD {
            for p in q.clone() {
                let x = &self.sorted[p];
                let from = if same { p + 1 } else { h.start };
                for (j, y) in self.sorted[from..h.end].iter().enumerate() {
                    let d = x.hamming(y);
                    if d <= r {
                        self.emit(p, from + j, d, out);
                    }
                }
            }
            return;
        }
        found.clear();
        H::batch_kernel(
            isa,
            &self.sorted[h.clone()],
            &self.sorted[q.clone()],
            r,
            h.start as u32,
            found,
        );
        for &(qi, m) in found.iter() {
            let p = q.start + qi as usize;
            let x = m.index as usize;
            if !same || x > p {
                self.emit(p, x, m.distance, out);
            }
        }
    }

    /// Records the pair at sorted positions `p`, `q` unless an earlier part already finds it.
    #[inline(never)]
    fn emit(&self, p: usize, q: usize, d: u32, out: &mut Vec<Pair>) {
        let (a, b) = (self.order[p], self.order[q]);
        let (ha, hb) = (&self.hashes[a as usize], &self.hashes[b as usize]);
        for &(start, len, s) in &self.plan.parts[..self.t] {
            if (ha.key(start, len) ^ hb.key(start, len)).count_ones() <= s {
                return;
            }
        }
        out.push(Pair {
            a: a.min(b),
            b: a.max(b),
            distance: d,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{Hash256, Hash64};
    use crate::matching::planted_clusters;

    #[test]
    fn masks_count_the_ball() {
        for (len, s) in [(16, 1), (16, 2), (11, 3), (5, 5), (8, 0)] {
            let m = masks(len, s);
            assert_eq!(m.len() as f64 + 1.0, ball(len, i64::from(s)));
            assert!(m
                .iter()
                .all(|&x| x < 1 << len && (1..=s).contains(&x.count_ones())));
        }
    }

    #[test]
    fn plan_for_pdq_is_sixteen_parts() {
        let (plan, _) = best_plan(256, 1_000_000, 31).expect("a plan");
        assert_eq!(plan.parts.len(), 16);
        assert!(plan.parts.iter().all(|&(_, len, s)| (len, s) == (16, 1)));
        let (plan, _) = best_plan(64, 1_000_000, 10).expect("a plan");
        assert_eq!(plan.parts.iter().map(|p| p.1).sum::<u32>(), 64);
    }

    #[test]
    fn radii_cover_the_threshold() {
        for (bits, r) in [(256, 31), (256, 40), (64, 10), (64, 3)] {
            for m in 1..=r + 1 {
                let plan = Plan::new(bits, r, m);
                assert_eq!(plan.parts.len(), m as usize);
                assert_eq!(plan.parts.iter().map(|p| p.1).sum::<u32>(), bits);
                assert!(plan.parts.windows(2).all(|w| w[0].0 + w[0].1 == w[1].0));
                // The pigeonhole condition, with no slack.
                assert_eq!(plan.parts.iter().map(|p| p.2 + 1).sum::<u32>(), r + 1);
            }
        }
    }

    #[test]
    fn plan_for_pdq_at_10m_stays_in_big_buckets() {
        // Buckets of about 150 hashes through the SIMD kernel, not 2-5 behind cache misses.
        let (plan, _) = best_plan(256, 10_000_000, 31).expect("a plan");
        assert!(plan.parts.iter().all(|&(_, len, s)| (len, s) == (16, 1)));
    }

    #[test]
    fn methods_agree_on_small_sets() {
        let (h, _) = planted_clusters::<Hash256>(3000, 60, 10, 15, 3);
        let a = self_join_with(&h, 31, JoinMethod::Scan);
        assert_eq!(a, self_join_with(&h, 31, JoinMethod::Pigeonhole));
        let (h, _) = planted_clusters::<Hash64>(3000, 60, 10, 6, 4);
        let a = self_join_with(&h, 10, JoinMethod::Scan);
        assert_eq!(a, self_join_with(&h, 10, JoinMethod::Pigeonhole));
    }
}
