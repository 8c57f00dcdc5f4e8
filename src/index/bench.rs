//! Search benchmarks on synthetic data, for `hashsieve bench search` and `benches/search.rs`.
//!
//! The data follow the peer harness: `size` uniform random hashes, `queries` uniform random
//! query hashes, and for each query one planted copy with `k` random bits flipped (`k` uniform
//! in `0..=40` for 256-bit, `0..=13` for 64-bit) overwriting a distinct random row. Every
//! result is checked against the linear scan (recall and false positives), so a broken index
//! cannot look fast.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::{BkTree, HashBits, Index, IndexKind, Isa, LinearScan, Match, Mih, MihOptions};
use crate::error::{ErrorKind, Result};
use crate::hash::{Hash256, Hash64};

/// A deterministic splitmix64 generator (for reproducible synthetic data).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

/// A synthetic list with planted near-duplicates.
#[derive(Clone, Debug)]
pub struct Synthetic<H> {
    /// The list.
    pub hashes: Vec<H>,
    /// The queries.
    pub queries: Vec<H>,
    /// For each query (while rows last): the row holding its planted copy and the bits flipped.
    pub planted: Vec<(usize, u32)>,
}

/// Random hashes with one planted copy per query, `0..=kmax` bits flipped, from `seed`.
///
/// ```
/// use hashsieve::Hash256;
/// use hashsieve::index::bench::synthetic;
/// let data = synthetic::<Hash256>(1000, 10, 40, 7);
/// let (row, k) = data.planted[3];
/// assert_eq!(data.hashes[row].distance(&data.queries[3]), k);
/// ```
pub fn synthetic<H: HashBits>(size: usize, queries: usize, kmax: u32, seed: u64) -> Synthetic<H> {
    let mut rng = SplitMix64::new(seed);
    let mut next = || rng.next();
    let hashes: Vec<H> = (0..size).map(|_| H::from_words(&mut next)).collect();
    let qs: Vec<H> = (0..queries).map(|_| H::from_words(&mut next)).collect();
    let mut out = Synthetic {
        hashes,
        queries: qs,
        planted: Vec::new(),
    };
    let mut used = HashSet::new();
    for qi in 0..queries.min(size) {
        let row = loop {
            let r = rng.below(size as u64) as usize;
            if used.insert(r) {
                break r;
            }
        };
        let k = rng.below(u64::from(kmax.min(H::BITS)) + 1) as u32;
        let mut h = out.queries[qi];
        let mut flipped = HashSet::new();
        while flipped.len() < k as usize {
            let bit = rng.below(u64::from(H::BITS)) as u32;
            if flipped.insert(bit) {
                h = h.flip(bit);
            }
        }
        out.hashes[row] = h;
        out.planted.push((row, k));
    }
    out
}

/// One measured configuration.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BenchRow {
    /// `linear/avx512`, `linear-batch/avx512`, `mih`, `bktree`, ...
    pub method: String,
    /// Hash width.
    pub bits: u32,
    /// List size.
    pub size: usize,
    /// Range threshold (inclusive).
    pub threshold: u32,
    /// Queries timed.
    pub queries: usize,
    /// Rayon threads used for the timed region (1 for single-query rows).
    pub threads: usize,
    /// Index build time in seconds (0 for a scan).
    pub build_seconds: f64,
    /// Section size in bytes (0 for a scan).
    pub index_bytes: usize,
    /// Queries per second.
    pub qps: f64,
    /// Fraction of the scan's matches found (1.0 = exact).
    pub recall: f64,
    /// Matches returned that the scan does not return.
    pub false_positives: u64,
}

/// What to measure.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BenchOptions {
    /// List size.
    pub size: usize,
    /// Threshold.
    pub threshold: u32,
    /// 64 or 256.
    pub bits: u32,
    /// Data seed.
    pub seed: u64,
    /// Number of queries (default 1,000).
    pub queries: usize,
    /// Stop timing single queries after this long (default 3 s per method).
    pub budget: Duration,
    /// Methods to run (default all: linear, batch, mih, bktree).
    pub kinds: Vec<IndexKind>,
}

impl BenchOptions {
    /// Defaults for the given size, threshold, width and seed.
    pub fn new(size: usize, threshold: u32, bits: u32, seed: u64) -> BenchOptions {
        BenchOptions {
            size,
            threshold,
            bits,
            seed,
            queries: 1000,
            budget: Duration::from_secs(3),
            kinds: vec![IndexKind::Linear, IndexKind::Mih, IndexKind::BkTree],
        }
    }
}

/// Runs the search benchmark with default options: see [`run_with`].
///
/// # Errors
///
/// As [`run_with`].
pub fn run(size: usize, threshold: u32, bits: u32, seed: u64) -> Result<Vec<BenchRow>> {
    run_with(&BenchOptions::new(size, threshold, bits, seed))
}

/// Generates the data, builds each index, times single queries on the calling thread and a
/// batch on the rayon pool, and checks every answer against the linear scan.
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] for a width other than 64 or 256, an empty list, more than
/// `u32::MAX` hashes or a threshold above the width (refused, not clamped);
/// [`ErrorKind::Limit`] when the hashes cannot be allocated, or when the answers
/// (about `queries × size ×` the share of random pairs within the threshold) would take more
/// than [`MAX_BENCH_MATCHES`] matches.
pub fn run_with(opts: &BenchOptions) -> Result<Vec<BenchRow>> {
    if opts.size == 0 {
        return Err(
            ErrorKind::InvalidArgument("benchmark list size must be at least 1".into()).into(),
        );
    }
    if opts.size > u32::MAX as usize || opts.queries > u32::MAX as usize {
        return Err(ErrorKind::InvalidArgument(format!(
            "benchmark list size and query count must be at most {}",
            u32::MAX
        ))
        .into());
    }
    if !matches!(opts.bits, 64 | 256) {
        return Err(ErrorKind::InvalidArgument(format!(
            "hash width {} (expected 64 or 256)",
            opts.bits
        ))
        .into());
    }
    if opts.threshold > opts.bits {
        return Err(ErrorKind::InvalidArgument(format!(
            "threshold {} exceeds the {}-bit hash width; use 0..={}",
            opts.threshold, opts.bits, opts.bits
        ))
        .into());
    }
    let expected = expected_matches(opts.bits, opts.threshold, opts.size, opts.queries);
    if expected > MAX_BENCH_MATCHES as f64 {
        return Err(crate::Error::limit(
            crate::Limit::Matches,
            format!(
                "{} queries against {} random {}-bit hashes at threshold {} would return about \
             {expected:.3e} matches, more than the limit of {MAX_BENCH_MATCHES}; lower the \
             threshold, the size or the number of queries",
                opts.queries, opts.size, opts.bits, opts.threshold
            ),
        ));
    }
    match opts.bits {
        64 => bench_width::<Hash64>(opts, 13),
        256 => bench_width::<Hash256>(opts, 40),
        b => Err(ErrorKind::InvalidArgument(format!("hash width {b} (expected 64 or 256)")).into()),
    }
}

fn score(found: &[Vec<Match>], truth: &[Vec<Match>]) -> (f64, u64) {
    let (mut tp, mut fp, mut all) = (0u64, 0u64, 0u64);
    for (f, t) in found.iter().zip(truth) {
        let t: HashSet<Match> = t.iter().copied().collect();
        all += t.len() as u64;
        for m in f {
            if t.contains(m) {
                tp += 1;
            } else {
                fp += 1;
            }
        }
    }
    (
        if all == 0 {
            1.0
        } else {
            tp as f64 / all as f64
        },
        fp,
    )
}

/// The most matches (8 bytes each, per result set) [`run_with`] lets a benchmark return.
pub const MAX_BENCH_MATCHES: u64 = 1 << 27;

/// The expected number of matches of `queries` uniform random queries against `size` uniform
/// random hashes of `bits` bits within `r` (the planted copies add at most one per query).
fn expected_matches(bits: u32, r: u32, size: usize, queries: usize) -> f64 {
    // P(distance <= r) = sum_{k <= r} C(bits, k) / 2^bits, in f64 (C(256, 128) < 1e77).
    let mut c = 1.0f64;
    let mut total = 0.0f64;
    for k in 0..=r.min(bits) {
        total += c;
        c = c * f64::from(bits - k) / f64::from(k + 1);
    }
    let p = total / 2f64.powi(bits as i32);
    queries as f64 * (size as f64 * p + 1.0)
}

fn bench_width<H: HashBits>(opts: &BenchOptions, kmax: u32) -> Result<Vec<BenchRow>> {
    // Fail cleanly, not abort, when the hashes cannot be allocated at all.
    let mut probe: Vec<H> = Vec::new();
    probe
        .try_reserve_exact(opts.size.saturating_add(opts.queries))
        .map_err(|_| {
            crate::Error::limit(
                crate::Limit::Memory,
                format!(
                    "cannot allocate {} {}-bit hashes; lower the size",
                    opts.size,
                    H::BITS
                ),
            )
        })?;
    drop(probe);
    let data = synthetic::<H>(opts.size, opts.queries, kmax, opts.seed);
    let r = opts.threshold;
    let scan = LinearScan::new(&data.hashes);
    let truth = scan.range_batch(&data.queries, r);
    let mut rows = Vec::new();
    let row =
        |method: String, threads, build: f64, bytes, n: usize, secs: f64, found: &[Vec<Match>]| {
            let (recall, fp) = score(found, &truth[..found.len()]);
            BenchRow {
                method,
                bits: H::BITS,
                size: opts.size,
                threshold: r,
                queries: n,
                threads,
                build_seconds: build,
                index_bytes: bytes,
                qps: n as f64 / secs.max(1e-9),
                recall,
                false_positives: fp,
            }
        };
    let single = |index: &dyn Index<Hash = H>| -> (usize, f64, Vec<Vec<Match>>) {
        let mut found = Vec::new();
        let t = Instant::now();
        for q in &data.queries {
            let mut out = Vec::new();
            index.range(q, r, &mut out);
            found.push(out);
            if t.elapsed() > opts.budget {
                break;
            }
        }
        (found.len(), t.elapsed().as_secs_f64(), found)
    };
    let pool1 = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| ErrorKind::InvalidArgument(format!("thread pool: {e}")))?;
    let threads = rayon::current_num_threads();
    for &kind in &opts.kinds {
        match kind {
            IndexKind::Linear => {
                for isa in Isa::available() {
                    let s = LinearScan::with_isa(&data.hashes, isa);
                    let (n, secs, found) = pool1.install(|| single(&s));
                    rows.push(row(
                        format!("linear/{}", isa.name()),
                        1,
                        0.0,
                        0,
                        n,
                        secs,
                        &found,
                    ));
                }
                let t = Instant::now();
                let found = scan.range_batch(&data.queries, r);
                let secs = t.elapsed().as_secs_f64();
                rows.push(row(
                    format!("linear-batch/{}", scan.isa().name()),
                    threads,
                    0.0,
                    0,
                    found.len(),
                    secs,
                    &found,
                ));
            }
            IndexKind::Mih => {
                let t = Instant::now();
                let mih = Mih::build_with(&data.hashes, &MihOptions::new().threshold(r))?;
                let build = t.elapsed().as_secs_f64();
                let bytes = mih.as_bytes().len();
                let (n, secs, found) = pool1.install(|| single(&mih));
                rows.push(row("mih".into(), 1, build, bytes, n, secs, &found));
                let t = Instant::now();
                let found = mih.range_batch(&data.queries, r);
                let secs = t.elapsed().as_secs_f64();
                rows.push(row(
                    "mih-batch".into(),
                    threads,
                    build,
                    bytes,
                    found.len(),
                    secs,
                    &found,
                ));
            }
            IndexKind::BkTree => {
                let t = Instant::now();
                let tree = BkTree::build(&data.hashes)?;
                let build = t.elapsed().as_secs_f64();
                let bytes = tree.as_bytes().len();
                let (n, secs, found) = pool1.install(|| single(&tree));
                rows.push(row("bktree".into(), 1, build, bytes, n, secs, &found));
            }
            _ => {}
        }
    }
    Ok(rows)
}
