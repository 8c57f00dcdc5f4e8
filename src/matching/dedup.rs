//! Deduplication: an exact, parallel self-join of one set of hashes (every pair within a
//! threshold), connected-component clustering with a representative per cluster, and a
//! cross-join of a set against reference lists whose matches mark whole clusters.
//!
//! # Clusters
//!
//! [`cluster`] groups the hashes linked by the threshold in one of two ways ([`Linkage`]):
//!
//! * **Single linkage** (the default): connected components. Clusters *chain*: hashes each
//!   within the threshold of the next form one cluster however far apart its ends are, so a
//!   member can be further than the threshold from its representative.
//!   [`Cluster::max_distance`] reports how far.
//! * **Centre** linkage: greedy leader clustering in representative order; every member is
//!   within the threshold of its representative.
//!
//! A quality gate ([`DedupOptions::min_quality`]) leaves low-quality and degenerate hashes
//! (blank frames hash to all zeros) out of every cluster: they would otherwise all cluster
//! together.
//!
//! # Algorithm
//!
//! Exact duplicates collapse first (a parallel sort), so the join runs on unique hashes. The
//! join then uses one of two exact methods, chosen by a cost model ([`JoinMethod::Auto`]):
//!
//! * **Pigeonhole buckets** ([`JoinMethod::Pigeonhole`]). The bits are cut into `m` parts; two
//!   hashes within distance `r` differ in at most `s = r / m` bits in at least one part. For
//!   each part in turn the unique hashes are counting-sorted by that part (a contiguous copy
//!   in bucket order), and each bucket is compared with itself and with every bucket whose key
//!   differs in `1..=s` bits (only the larger key of the two, so each bucket pair once). A pair
//!   found through part `t` is reported only if no earlier part already qualifies it, so no
//!   pair is reported twice and nothing needs deduplicating afterwards. For 256-bit PDQ at
//!   `r = 31` the planner picks 16 parts of 16 bits with `s = 1`: on uniform hashes about 2,000
//!   comparisons per hash instead of `n / 2`.
//! * **Blocked scan** ([`JoinMethod::Scan`]): each block of 256 queries is compared with every
//!   later hash by the cache-blocked SIMD batch kernel of [`LinearScan`](crate::index::LinearScan).
//!   Quadratic, but the best choice for small sets and high thresholds.
//!
//! The cost model also counts the actual bucket sizes before committing to the pigeonhole
//! method, so skewed data (many hashes sharing a part) falls back to the scan instead of
//! degenerating. Memory: the hashes, one sorted copy of the unique hashes, 4 bytes per hash
//! for the permutation and the pairs found; never anything `n × n`.
//!
//! # Measured
//!
//! Synthetic PDQ sets as in the peer harness ([`planted_clusters`]: `n / 100` planted clusters
//! of 2..=10 members, each the centre with 0..=15 bits flipped), `r = 31`, two threads on the
//! 2-core reference VM (AMD EPYC Zen 4), `cluster` end to end (`examples/investigator_dedup`,
//! `/usr/bin/time -v`):
//!
//! | hashes | wall time | peak RSS (incl. the example's 1 id string per hash) |
//! |---|---|---|
//! | 100,000 | 0.22 s (`dedup/selfjoin/100k/r31`) | 20 MB |
//! | 1,000,000 | 3.3 s | 171 MB |
//! | 10,000,000 | 274 s | 1.7 GB |
//!
//! The 10M figure shows the cost model's probe constant is tuned for sets whose sorted copy
//! fits in cache; wider parts would cut the comparisons there.
//!
//! ```
//! use hashsieve::Hash64;
//! use hashsieve::matching::{cluster, self_join, DedupOptions, Pair};
//!
//! let hashes = [0b1_0000u64, 0b1_0111, 0xffff_0000, 0b1_0001].map(Hash64::from_u64);
//! assert_eq!(
//!     self_join(&hashes, 2),
//!     vec![Pair { a: 0, b: 3, distance: 1 }, Pair { a: 1, b: 3, distance: 2 }]
//! );
//! let clusters = cluster(&hashes, &[Some(50), Some(90), None, Some(90)], &DedupOptions::new(2))?;
//! assert_eq!(clusters.len(), 1);
//! assert_eq!(clusters[0].representative, 1); // highest quality, first in input order
//! let members: Vec<(u32, u32)> = clusters[0].members.iter().map(|m| (m.index, m.distance)).collect();
//! assert_eq!(members, vec![(0, 3), (1, 0), (3, 2)]);
//! # Ok::<(), hashsieve::Error>(())
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;

use super::UnionFind;
use crate::error::{ErrorKind, Result};
use crate::index::bench::SplitMix64;
use crate::index::{HashBits, Index, IndexKind, IndexOptions, Isa, SearchIndex};

/// Queries per block in the scan join (as in the linear scan's batch).
const SCAN_BLOCK: usize = 256;
/// Hashes the scan join compares a block with at a time, so that one call's pairs stay
/// bounded (at most `SCAN_BLOCK * SCAN_HAY` = 1M) and the pair limit is checked often.
const SCAN_HAY: usize = 4096;
/// Random pairs [`cluster`] samples to estimate how many pairs fall within the threshold.
const SAMPLE_PAIRS: u64 = 20_000;

/// The default [`DedupOptions::max_pairs`]: 50 million pairs of distinct hashes, about 600 MB
/// of pairs (12 bytes each). Real case sets at PDQ's threshold 31 have a few pairs per
/// near-duplicate group; a threshold near half the bits links most of all `n²/2` pairs.
pub const DEFAULT_MAX_PAIRS: u64 = 50_000_000;
/// Widest part the pigeonhole join uses (its bucket offsets take `4 << bits` bytes).
const MAX_PART_BITS: u32 = 22;
/// Cost model, nanoseconds: one hash comparison inside the bucket join.
const C_CMP_256: f64 = 1.0;
const C_CMP_64: f64 = 0.5;
/// One neighbour-bucket lookup.
const C_PROBE: f64 = 2.0;
/// Sorting one hash into its bucket (key, count, scatter).
const C_SORT: f64 = 6.0;
/// One empty-bucket check while walking the key space.
const C_KEY: f64 = 0.5;
/// One pair in the cache-blocked SIMD batch scan, per core (see `LinearScan`).
const C_SCAN_256: f64 = 0.23;
const C_SCAN_64: f64 = 0.09;

/// One pair found by a join: `a < b` for a self-join (positions in the input), `a` the query
/// and `b` the reference position for a cross-join.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pair {
    /// The first position.
    pub a: u32,
    /// The second position.
    pub b: u32,
    /// The Hamming distance between the two hashes.
    pub distance: u32,
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

/// How [`cluster`] groups the hashes linked by the threshold.
///
/// ```
/// use hashsieve::Hash64;
/// use hashsieve::matching::{cluster, DedupOptions, Linkage};
/// // A chain: each hash 2 bits from the next, the ends 6 apart.
/// let hashes = [0b1u64, 0b111, 0b1_1111, 0b111_1111].map(Hash64::from_u64);
/// let single = cluster(&hashes, &[], &DedupOptions::new(2))?;
/// assert_eq!(single.len(), 1); // one chained cluster...
/// assert_eq!(single[0].max_distance, 6); // ...whose far end is 6 from its representative
/// let centre = cluster(&hashes, &[], &DedupOptions::new(2).linkage(Linkage::Centre))?;
/// assert_eq!(centre.len(), 2);
/// assert!(centre.iter().all(|c| c.max_distance <= 2));
/// # Ok::<(), hashsieve::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Linkage {
    /// Single linkage: the connected components of the graph linking every pair within the
    /// threshold. Clusters **chain**: `a` near `b` near `c` puts `a` and `c` in one cluster
    /// however far apart they are, so a member can lie well beyond the threshold from its
    /// representative (see [`Cluster::max_distance`]): a chain of hashes each 20 bits from the
    /// next is one cluster at threshold 31 whose ends are 100 bits apart (the test
    /// `single_linkage_chains_and_centre_linkage_does_not`). Finds every near-duplicate of
    /// every member.
    #[default]
    Single,
    /// Centre (leader) clustering: the hashes are taken in representative order (highest
    /// quality first, then input order); the first not yet in a cluster becomes a centre
    /// and takes every hash not yet in a cluster within the threshold of it. Every member is
    /// within the threshold of its representative, and every hash is in exactly one
    /// cluster; two near-duplicates can end up in different clusters when each is nearer
    /// another centre. Exact and deterministic; needs 8 bytes per pair more than single
    /// linkage (the pairs as adjacency lists).
    Centre,
}

/// Options for [`cluster`] and [`cluster_report`].
///
/// The quality gate: a hash whose quality is known and below [`min_quality`](Self::min_quality),
/// and (unless the gate is 0) a degenerate hash (all zeros or all ones: the hash of a blank
/// frame, which would cluster every blank frame together), is left out of every cluster
/// and listed in [`ClusterReport::gated`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DedupOptions {
    /// The largest Hamming distance (inclusive) that links two hashes.
    pub threshold: u32,
    /// Whether hashes with no near-duplicate come back as clusters of one (default false).
    /// Hashes left out by the quality gate never do.
    pub include_singletons: bool,
    /// The join method (default [`JoinMethod::Auto`]).
    pub method: JoinMethod,
    /// The most pairs of distinct hashes within the threshold the join may find (default
    /// [`DEFAULT_MAX_PAIRS`]); more is an [`ErrorKind::Limit`] error, raised early when
    /// a sample of random pairs already shows the limit will be passed. Bounds the join's
    /// memory, which grows with the pairs found. Exact duplicates do not count: they are
    /// grouped before the join.
    pub max_pairs: u64,
    /// How linked hashes form clusters (default [`Linkage::Single`]).
    pub linkage: Linkage,
    /// The quality gate (default 1, which leaves out flat images of quality 0 and degenerate
    /// hashes; 0 keeps every hash). Use the matcher's gate of the algorithm, e.g. 50 for PDQ
    /// ([`MatcherOptions::min_quality_of`](crate::matching::MatcherOptions::min_quality_of)).
    /// Hashes without a quality are gated only when degenerate.
    pub min_quality: u8,
}

impl DedupOptions {
    /// Options linking hashes within `threshold` by single linkage, without singletons, with
    /// the default quality gate of 1.
    pub fn new(threshold: u32) -> DedupOptions {
        DedupOptions {
            threshold,
            include_singletons: false,
            method: JoinMethod::Auto,
            max_pairs: DEFAULT_MAX_PAIRS,
            linkage: Linkage::Single,
            min_quality: 1,
        }
    }

    /// Sets the most pairs the join may find before it fails.
    pub fn max_pairs(mut self, max_pairs: u64) -> DedupOptions {
        self.max_pairs = max_pairs;
        self
    }

    /// Sets whether singletons are returned.
    pub fn include_singletons(mut self, include: bool) -> DedupOptions {
        self.include_singletons = include;
        self
    }

    /// Sets the join method.
    pub fn method(mut self, method: JoinMethod) -> DedupOptions {
        self.method = method;
        self
    }

    /// Sets the linkage.
    pub fn linkage(mut self, linkage: Linkage) -> DedupOptions {
        self.linkage = linkage;
        self
    }

    /// Sets the quality gate (0 keeps every hash, degenerate ones included).
    pub fn min_quality(mut self, min_quality: u8) -> DedupOptions {
        self.min_quality = min_quality;
        self
    }

    /// Whether the quality gate leaves out `hash` of quality `quality`.
    ///
    /// ```
    /// use hashsieve::Hash64;
    /// use hashsieve::matching::DedupOptions;
    /// let gate = DedupOptions::new(10).min_quality(50);
    /// assert!(gate.gates(&Hash64::from_u64(0), None)); // degenerate
    /// assert!(gate.gates(&Hash64::from_u64(0x1234), Some(49)));
    /// assert!(!gate.gates(&Hash64::from_u64(0x1234), None));
    /// assert!(!DedupOptions::new(10).min_quality(0).gates(&Hash64::from_u64(0), Some(0)));
    /// ```
    pub fn gates<H: HashBits>(&self, hash: &H, quality: Option<u8>) -> bool {
        if self.min_quality == 0 {
            return false;
        }
        quality.is_some_and(|q| q < self.min_quality) || is_degenerate(hash)
    }
}

/// One member of a [`Cluster`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    /// Position in the input.
    pub index: u32,
    /// Hamming distance to the cluster's representative (0 for the representative). With
    /// [`Linkage::Single`] members are linked by chains of near-duplicates, so this can
    /// exceed the threshold; with [`Linkage::Centre`] it never does.
    pub distance: u32,
}

/// A cluster of near-duplicates: a connected component of the "within the threshold" graph
/// ([`Linkage::Single`]) or a centre and the hashes it took ([`Linkage::Centre`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cluster {
    /// Position of the representative: the member with the highest quality (a known quality
    /// beats none), ties broken by the earliest position.
    pub representative: u32,
    /// The members, sorted by position.
    pub members: Vec<Member>,
    /// The largest distance of a member to the representative: above the threshold when a
    /// single-linkage cluster chains.
    pub max_distance: u32,
}

/// What [`cluster_report`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterReport {
    /// The clusters, ordered by their smallest position (as [`cluster`] returns them).
    pub clusters: Vec<Cluster>,
    /// The positions the quality gate left out ([`DedupOptions::gates`]), ascending.
    pub gated: Vec<u32>,
    /// The distinct hashes among those clustered (exact duplicates counted once).
    pub distinct: u64,
    /// The pairs of distinct hashes within the threshold.
    pub pairs: u64,
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

/// Clusters `hashes`: [`cluster_report`]'s clusters.
///
/// With the default [`Linkage::Single`] the clusters are the connected components of the
/// graph linking every pair within `options.threshold` (they chain: see
/// [`Cluster::max_distance`]); with [`Linkage::Centre`] every member is within the threshold
/// of its representative. Each cluster has its representative (highest `quality`, then
/// earliest) and every member's distance to it. Clusters of one member are left out unless
/// `options.include_singletons`; hashes the quality gate leaves out
/// ([`DedupOptions::gates`]) are in no cluster. Clusters come ordered by their smallest
/// position.
///
/// `quality` holds one value per hash, or is empty (no qualities known).
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] if `quality` is neither empty nor as long as `hashes`, if
/// there are more than `u32::MAX` hashes, or if the threshold exceeds the hash width;
/// [`ErrorKind::Limit`] if more than `options.max_pairs` pairs of distinct hashes are
/// within the threshold (estimated from a sample before the join starts, counted during it).
///
/// ```
/// use hashsieve::Hash64;
/// use hashsieve::matching::{cluster, DedupOptions};
/// use hashsieve::ErrorKind;
/// let hashes: Vec<Hash64> = (1..300u64).map(|i| Hash64::from_u64(i * 0x9e37_79b9)).collect();
/// // At threshold 64 every pair is linked: 44,551 pairs, over a limit of 1,000.
/// let err = cluster(&hashes, &[], &DedupOptions::new(64).max_pairs(1000)).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::Limit { .. }));
/// ```
pub fn cluster<H: HashBits>(
    hashes: &[H],
    quality: &[Option<u8>],
    options: &DedupOptions,
) -> Result<Vec<Cluster>> {
    cluster_report(hashes, quality, options).map(|r| r.clusters)
}

/// Clusters `hashes` as [`cluster`] does, and says which hashes the quality gate left out
/// and how many pairs linked the rest.
///
/// # Errors
///
/// As [`cluster`].
///
/// ```
/// use hashsieve::Hash64;
/// use hashsieve::matching::{cluster_report, DedupOptions};
/// // Three blank frames (all-zero hashes) and two near-duplicates of quality 80 and 30.
/// let hashes = [0u64, 0, 0, 0xf0f0, 0xf0f1].map(Hash64::from_u64);
/// let quality = [Some(0), Some(0), None, Some(80), Some(30)];
/// let report = cluster_report(&hashes, &quality, &DedupOptions::new(4).min_quality(20))?;
/// assert_eq!(report.gated, vec![0, 1, 2]); // blank frames do not cluster together
/// assert_eq!(report.clusters.len(), 1);
/// assert_eq!(report.clusters[0].representative, 3);
/// assert_eq!((report.distinct, report.pairs), (2, 1));
/// // Quality 30 is under a gate of 50: no cluster is left.
/// let report = cluster_report(&hashes, &quality, &DedupOptions::new(4).min_quality(50))?;
/// assert_eq!((report.gated.len(), report.clusters.len()), (4, 0));
/// # Ok::<(), hashsieve::Error>(())
/// ```
pub fn cluster_report<H: HashBits>(
    hashes: &[H],
    quality: &[Option<u8>],
    options: &DedupOptions,
) -> Result<ClusterReport> {
    if !quality.is_empty() && quality.len() != hashes.len() {
        return Err(ErrorKind::InvalidArgument(format!(
            "{} qualities for {} hashes; give one per hash or none",
            quality.len(),
            hashes.len()
        ))
        .into());
    }
    check_len(hashes.len())?;
    if options.threshold > H::BITS {
        return Err(ErrorKind::InvalidArgument(format!(
            "threshold {} exceeds the {}-bit hash width; use 0..={}",
            options.threshold,
            H::BITS,
            H::BITS
        ))
        .into());
    }
    let q = |i: usize| quality.get(i).copied().flatten();
    // The gate: `kept[k]` is the input position of the `k`-th hash clustered.
    let (gated, kept): (Vec<u32>, Vec<u32>) =
        (0..hashes.len() as u32).partition(|&i| options.gates(&hashes[i as usize], q(i as usize)));
    let sub: std::borrow::Cow<'_, [H]> = if gated.is_empty() {
        hashes.into()
    } else {
        kept.iter()
            .map(|&i| hashes[i as usize])
            .collect::<Vec<H>>()
            .into()
    };
    let groups = Groups::new(&sub);
    check_estimate(&groups.unique, options.threshold, options.max_pairs)?;
    let pairs = join_unique(
        &groups.unique,
        options.threshold,
        options.method,
        options.max_pairs,
    )?;
    // Representative order: highest quality (a known quality beats none), then earliest.
    let rank = |k: u32| {
        let i = kept[k as usize];
        (
            std::cmp::Reverse(q(i as usize).map_or(0, |v| u16::from(v) + 1)),
            i,
        )
    };
    let min = if options.include_singletons { 1 } else { 2 };
    // Components as (members, representative), in positions of `sub`.
    let comps: Vec<(Vec<u32>, u32)> = match options.linkage {
        Linkage::Single => {
            let mut uf = UnionFind::new(sub.len());
            for g in 0..groups.unique.len() {
                let m = groups.members(g);
                for w in m.windows(2) {
                    uf.union(w[0], w[1]);
                }
            }
            for p in &pairs {
                uf.union(
                    groups.members(p.a as usize)[0],
                    groups.members(p.b as usize)[0],
                );
            }
            uf.components(min)
                .into_par_iter()
                .map(|comp| {
                    let rep = *comp
                        .iter()
                        .min_by_key(|&&k| rank(k))
                        .expect("components are non-empty");
                    (comp, rep)
                })
                .collect()
        }
        Linkage::Centre => centres(&groups, &pairs, rank, min),
    };
    let clusters = comps
        .into_par_iter()
        .map(|(comp, rep)| {
            let rh = &sub[rep as usize];
            let members: Vec<Member> = comp
                .iter()
                .map(|&k| Member {
                    index: kept[k as usize],
                    distance: sub[k as usize].hamming(rh),
                })
                .collect();
            Cluster {
                representative: kept[rep as usize],
                max_distance: members.iter().map(|m| m.distance).max().unwrap_or(0),
                members,
            }
        })
        .collect();
    Ok(ClusterReport {
        clusters,
        gated,
        distinct: groups.unique.len() as u64,
        pairs: pairs.len() as u64,
    })
}

/// Centre (leader) clustering over the groups of identical hashes and the pairs of distinct
/// ones: groups in the order of their best member by `rank`; each group not yet taken becomes
/// a centre (its best member the representative) and takes every group not yet taken that a
/// pair links to it. Returns the clusters of at least `min` members, each sorted, ordered
/// by their smallest member.
fn centres<H: HashBits, R: Ord + Send, F: Fn(u32) -> R + Sync>(
    groups: &Groups<H>,
    pairs: &[Pair],
    rank: F,
    min_size: usize,
) -> Vec<(Vec<u32>, u32)> {
    let g = groups.unique.len();
    // Adjacency of the groups (compressed rows).
    let mut start = vec![0u32; g + 1];
    for p in pairs {
        start[p.a as usize + 1] += 1;
        start[p.b as usize + 1] += 1;
    }
    for i in 1..=g {
        start[i] += start[i - 1];
    }
    let mut fill = start.clone();
    let mut adj = vec![0u32; start[g] as usize];
    for p in pairs {
        for (x, y) in [(p.a, p.b), (p.b, p.a)] {
            adj[fill[x as usize] as usize] = y;
            fill[x as usize] += 1;
        }
    }
    drop(fill);
    let best: Vec<u32> = (0..g)
        .into_par_iter()
        .map(|x| {
            *groups
                .members(x)
                .iter()
                .min_by_key(|&&k| rank(k))
                .expect("groups are non-empty")
        })
        .collect();
    let mut order: Vec<u32> = (0..g as u32).collect();
    order.par_sort_unstable_by_key(|&x| rank(best[x as usize]));
    let mut taken = vec![false; g];
    let mut out = Vec::new();
    for x in order {
        if std::mem::replace(&mut taken[x as usize], true) {
            continue;
        }
        let mut comp = groups.members(x as usize).to_vec();
        for &y in &adj[start[x as usize] as usize..start[x as usize + 1] as usize] {
            if !std::mem::replace(&mut taken[y as usize], true) {
                comp.extend_from_slice(groups.members(y as usize));
            }
        }
        if comp.len() >= min_size {
            comp.sort_unstable();
            out.push((comp, best[x as usize]));
        }
    }
    out.par_sort_unstable_by_key(|(comp, _)| comp[0]);
    out
}

/// Whether `hash` is all zeros or all ones.
fn is_degenerate<H: HashBits>(hash: &H) -> bool {
    let zero = H::from_words(&mut || 0);
    let d = hash.hamming(&zero);
    d == 0 || d == H::BITS
}

/// Every pair (query position `a`, reference position `b`) within `threshold`, sorted by
/// `(a, b)`: which hashes of a case set match a reference list. Uses the index
/// [`IndexKind::Auto`] picks for a batch of this size.
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] if either side holds more than `u32::MAX` hashes.
pub fn cross_join<H: HashBits>(
    queries: &[H],
    reference: &[H],
    threshold: u32,
) -> Result<Vec<Pair>> {
    check_len(queries.len())?;
    let index = SearchIndex::build(
        reference,
        &IndexOptions::new(IndexKind::Auto)
            .threshold(threshold)
            .batch(queries.len()),
    )?;
    let found = index.range_batch(queries, threshold);
    let mut out: Vec<Pair> = found
        .into_iter()
        .enumerate()
        .flat_map(|(a, ms)| {
            ms.into_iter().map(move |m| Pair {
                a: a as u32,
                b: m.index,
                distance: m.distance,
            })
        })
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// For each cluster, the cross-join pairs (from [`cross_join`]) of all its members, sorted:
/// a match of one member marks the whole cluster.
pub fn cluster_matches(clusters: &[Cluster], matches: &[Pair]) -> Vec<Vec<Pair>> {
    let mut of: HashMap<u32, usize> = HashMap::new();
    for (c, cl) in clusters.iter().enumerate() {
        for m in &cl.members {
            of.insert(m.index, c);
        }
    }
    let mut out = vec![Vec::new(); clusters.len()];
    for p in matches {
        if let Some(&c) = of.get(&p.a) {
            out[c].push(*p);
        }
    }
    for v in &mut out {
        v.sort_unstable();
    }
    out
}

/// A synthetic set with planted near-duplicate clusters, as the peer harness builds it:
/// `n` uniform random hashes, of which the first rows are overwritten by `clusters` clusters
/// of `2..=max_members` members, each member its cluster's random centre with `0..=max_flip`
/// random bits flipped, at random distinct positions. Returns the hashes and, per cluster,
/// the positions of its members (sorted).
///
/// ```
/// use hashsieve::Hash256;
/// use hashsieve::matching::planted_clusters;
/// let (hashes, truth) = planted_clusters::<Hash256>(1000, 10, 10, 15, 1);
/// assert_eq!(hashes.len(), 1000);
/// assert_eq!(truth.len(), 10);
/// assert!(truth.iter().all(|c| (2..=10).contains(&c.len())));
/// ```
pub fn planted_clusters<H: HashBits>(
    n: usize,
    clusters: usize,
    max_members: usize,
    max_flip: u32,
    seed: u64,
) -> (Vec<H>, Vec<Vec<u32>>) {
    let mut rng = SplitMix64::new(seed);
    let mut hashes: Vec<H> = {
        let mut next = || rng.next();
        (0..n).map(|_| H::from_words(&mut next)).collect()
    };
    // A random permutation prefix gives distinct positions.
    let mut perm: Vec<u32> = (0..n as u32).collect();
    let mut used = 0usize;
    let mut truth = Vec::new();
    for _ in 0..clusters {
        let size = 2 + rng.below(max_members.max(2) as u64 - 1) as usize;
        if used + size > n {
            break;
        }
        let centre = {
            let mut next = || rng.next();
            H::from_words(&mut next)
        };
        let mut members = Vec::with_capacity(size);
        for _ in 0..size {
            let k = used + rng.below((n - used) as u64) as usize;
            perm.swap(used, k);
            let pos = perm[used];
            used += 1;
            let flips = rng.below(u64::from(max_flip.min(H::BITS)) + 1) as u32;
            let mut h = centre;
            let mut done = Vec::new();
            while done.len() < flips as usize {
                let bit = rng.below(u64::from(H::BITS)) as u32;
                if !done.contains(&bit) {
                    done.push(bit);
                    h = h.flip(bit);
                }
            }
            hashes[pos as usize] = h;
            members.push(pos);
        }
        members.sort_unstable();
        truth.push(members);
    }
    (hashes, truth)
}

fn check_len(len: usize) -> Result<()> {
    if len > u32::MAX as usize {
        return Err(ErrorKind::InvalidArgument(format!(
            "{len} hashes exceed the limit of {} per set; split the set",
            u32::MAX
        ))
        .into());
    }
    Ok(())
}

/// Identical hashes grouped: `unique[g]` occurs at positions `members(g)` (ascending).
struct Groups<H> {
    unique: Vec<H>,
    start: Vec<u32>,
    members: Vec<u32>,
}

impl<H: HashBits> Groups<H> {
    fn new(hashes: &[H]) -> Groups<H> {
        assert!(
            hashes.len() <= u32::MAX as usize,
            "more than u32::MAX hashes"
        );
        let words = (H::BITS / 32) as usize;
        let mut keyed: Vec<([u32; 8], u32)> = hashes
            .par_iter()
            .enumerate()
            .map(|(i, h)| {
                let mut k = [0u32; 8];
                for (w, slot) in k.iter_mut().enumerate().take(words) {
                    *slot = h.key(32 * w as u32, 32);
                }
                (k, i as u32)
            })
            .collect();
        keyed.par_sort_unstable();
        let mut unique = Vec::new();
        let mut start = Vec::new();
        let mut members = Vec::with_capacity(hashes.len());
        for (x, (k, i)) in keyed.iter().enumerate() {
            if x == 0 || keyed[x - 1].0 != *k {
                start.push(members.len() as u32);
                unique.push(hashes[*i as usize]);
            }
            members.push(*i);
        }
        start.push(members.len() as u32);
        Groups {
            unique,
            start,
            members,
        }
    }

    fn members(&self, g: usize) -> &[u32] {
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
fn check_estimate<H: HashBits>(unique: &[H], r: u32, max: u64) -> Result<()> {
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
    let low = (hits as f64 - 3.0 * (hits as f64).sqrt()).max(0.0) / SAMPLE_PAIRS as f64;
    let estimate = low * all as f64;
    if estimate > max as f64 {
        let share = hits as f64 / SAMPLE_PAIRS as f64;
        return Err(too_many_pairs(
            format!(
                "about {:.3e} pairs ({:.2}% of all pairs of {n} distinct hashes, from a sample) \
                 are",
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
fn join_unique<H: HashBits>(
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
    let c = if bits >= 256 { C_SCAN_256 } else { C_SCAN_64 };
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

/// Binomial sum `sum_{k<=s} C(w, k)`: keys within `s` bits of a `w`-bit key.
fn ball(w: u32, s: u32) -> f64 {
    let mut total = 0.0;
    let mut c = 1.0;
    for k in 0..=s.min(w) {
        total += c;
        c = c * f64::from(w - k) / f64::from(k + 1);
    }
    total
}

/// A pigeonhole plan: the parts `(start, len)` and the per-part radius.
#[derive(Clone, Debug)]
struct Plan {
    parts: Vec<(u32, u32)>,
    s: u32,
}

/// The cheapest pigeonhole plan by the cost model on uniform hashes, with its predicted cost
/// (ns on the current pool).
fn best_plan(bits: u32, n: usize, r: u32) -> Option<(Plan, f64)> {
    let c_cmp = if bits >= 256 { C_CMP_256 } else { C_CMP_64 };
    let threads = rayon::current_num_threads().max(1) as f64;
    let nf = n as f64;
    let mut best: Option<(Plan, f64)> = None;
    for m in bits.div_ceil(MAX_PART_BITS)..=bits.min(r + 1) {
        let s = r / m;
        let mut parts = Vec::with_capacity(m as usize);
        let mut start = 0;
        let mut cost = 0.0;
        for t in 0..m {
            let len = bits / m + u32::from(t < bits % m);
            parts.push((start, len));
            start += len;
            let v = ball(len, s);
            let keys = f64::from(1u32 << len);
            cost += c_cmp * nf * nf * v / (2.0 * keys)
                + C_PROBE * nf.min(keys) * v
                + C_SORT * nf
                + C_KEY * keys;
        }
        let cost = cost / threads;
        if best.as_ref().is_none_or(|b| cost < b.1) {
            best = Some((Plan { parts, s }, cost));
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
        let (start, len) = self.parts[t];
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
        let c_cmp = if H::BITS >= 256 { C_CMP_256 } else { C_CMP_64 };
        let threads = rayon::current_num_threads().max(1) as f64;
        let mut total = 0.0;
        for t in 0..self.parts.len() {
            let (off, _) = self.offsets(hashes, t);
            let len = self.parts[t].1;
            let masks = masks(len, self.s);
            let size = |k: usize| f64::from(off[k + 1] - off[k]);
            let cmps: f64 = (0..1usize << len)
                .into_par_iter()
                .map(|k| {
                    let b = size(k);
                    if b == 0.0 {
                        return 0.0;
                    }
                    let mut c = b * (b - 1.0) / 2.0;
                    for &m in &masks {
                        let k2 = k ^ m as usize;
                        if k2 > k {
                            c += b * size(k2) + C_PROBE / c_cmp;
                        }
                    }
                    c
                })
                .sum();
            total += c_cmp * cmps + C_SORT * hashes.len() as f64 + C_KEY * (1u64 << len) as f64;
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
            let masks = masks(self.parts[t].1, self.s);
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
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the CPU supports POPCNT (detected just above), the only feature
                // `scan_popcnt` is compiled for.
                unsafe { self.scan_popcnt(keys, out) };
                return;
            }
        }
        self.scan_generic(keys, out);
    }

    /// # Safety
    ///
    /// The CPU must support POPCNT.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn scan_popcnt(&self, keys: std::ops::Range<usize>, out: &mut Vec<Pair>) {
        self.scan_generic(keys, out);
    }

    #[inline(always)]
    fn scan_generic(&self, keys: std::ops::Range<usize>, out: &mut Vec<Pair>) {
        let r = self.r;
        for k in keys {
            let (b0, b1) = (self.off[k] as usize, self.off[k + 1] as usize);
            if b0 == b1 {
                continue;
            }
            let bucket = &self.sorted[b0..b1];
            for (i, x) in bucket.iter().enumerate() {
                for (j, y) in bucket[i + 1..].iter().enumerate() {
                    let d = x.hamming(y);
                    if d <= r {
                        self.emit(b0 + i, b0 + i + 1 + j, d, out);
                    }
                }
            }
            for &m in self.masks {
                let k2 = k ^ m as usize;
                if k2 <= k {
                    continue;
                }
                let (c0, c1) = (self.off[k2] as usize, self.off[k2 + 1] as usize);
                if c0 == c1 {
                    continue;
                }
                let other = &self.sorted[c0..c1];
                for (i, x) in bucket.iter().enumerate() {
                    for (j, y) in other.iter().enumerate() {
                        let d = x.hamming(y);
                        if d <= r {
                            self.emit(b0 + i, c0 + j, d, out);
                        }
                    }
                }
            }
        }
    }

    /// Records the pair at sorted positions `p`, `q` unless an earlier part already finds it.
    #[inline(never)]
    fn emit(&self, p: usize, q: usize, d: u32, out: &mut Vec<Pair>) {
        let (a, b) = (self.order[p], self.order[q]);
        let (ha, hb) = (&self.hashes[a as usize], &self.hashes[b as usize]);
        for &(start, len) in &self.plan.parts[..self.t] {
            if (ha.key(start, len) ^ hb.key(start, len)).count_ones() <= self.plan.s {
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

    #[test]
    fn masks_count_the_ball() {
        for (len, s) in [(16, 1), (16, 2), (11, 3), (5, 5), (8, 0)] {
            let m = masks(len, s);
            assert_eq!(m.len() as f64 + 1.0, ball(len, s));
            assert!(m
                .iter()
                .all(|&x| x < 1 << len && (1..=s).contains(&x.count_ones())));
        }
    }

    #[test]
    fn plan_for_pdq_is_sixteen_parts() {
        let (plan, _) = best_plan(256, 1_000_000, 31).expect("a plan");
        assert_eq!((plan.parts.len(), plan.s), (16, 1));
        let (plan, _) = best_plan(64, 1_000_000, 10).expect("a plan");
        assert_eq!(plan.parts.iter().map(|p| p.1).sum::<u32>(), 64);
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
