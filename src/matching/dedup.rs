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
//! * **Pigeonhole buckets** ([`JoinMethod::Pigeonhole`]). The bits are cut into `m` parts,
//!   part `t` with its own radius `s_t`, such that `Σ (s_t + 1) = r + 1`: two hashes within
//!   distance `r` are within `s_t` in at least one part `t` (were every part further, the
//!   total would pass `r`). For each part in turn the unique hashes are counting-sorted by
//!   that part (a contiguous copy in bucket order), and each bucket is compared with itself
//!   and with every bucket whose key differs in `1..=s_t` bits (only the larger key of the
//!   two, so each bucket pair once), **block against block**: the larger bucket goes through
//!   the SIMD batch kernel of the linear scan, buckets of fewer than 8 hashes are compared
//!   directly. A pair found through part `t` is reported only if no earlier part already
//!   qualifies it (the "first matching part" rule), so no pair is reported twice and no set
//!   of pairs is needed to deduplicate them.
//!
//!   The planner weighs, for each `m`, the comparisons (cheap in blocks of 128 hashes or more,
//!   dearer in small buckets, dearest when small buckets lie outside the cache), the
//!   neighbour keys visited (a cache miss each once a table's offsets outgrow a core's cache)
//!   and the sorting. For 256-bit PDQ at `r = 31` it picks 16 parts of 16 bits with `s = 1`
//!   from 100,000 to past 10 million hashes: `17 / 65536` of all pairs per part, about
//!   `n / 480` comparisons a hash. (Before, a model that took every bucket to be cached
//!   picked 12 parts of 21-22 bits with `s = 2` at 10M: a quarter of the comparisons, but
//!   in buckets of 2-5 hashes behind 230 cache misses each: 2.7 times the CPU time.)
//! * **Blocked scan** ([`JoinMethod::Scan`]): each block of 256 queries is compared with every
//!   later hash by the cache-blocked SIMD batch kernel of [`LinearScan`](crate::index::LinearScan).
//!   Quadratic, but the best choice for small sets and high thresholds.
//!
//! The cost model also counts the actual bucket sizes before committing to the pigeonhole
//! method, so skewed data (many hashes sharing a part) falls back to the scan instead of
//! degenerating. Memory: the hashes, the unique hashes and one copy of them sorted by the
//! current part, 8 bytes per hash while grouping exact duplicates (a sort of the first 32
//! bits and positions), 4 bytes per hash for the permutation, and the pairs found; never
//! anything `n × n`.
//!
//! # Measured
//!
//! Synthetic PDQ sets as in the peer harness ([`planted_clusters`]: planted clusters of
//! 2..=10 members, each the centre with 0..=15 bits flipped; `n / 100` clusters, 20,000 at
//! 10M), `r = 31`, two threads, `cluster` end to end (`examples/investigator_dedup`,
//! `/usr/bin/time -v`; peak RSS includes the example's id string per hash). The 2-core VM
//! (Intel Xeon, AVX-512) was shared with other sessions' builds (load 8 to 19), so wall times
//! were 2-10 times the CPU time; the CPU time (user + system) is the comparable figure, and
//! each pair of runs below was made under the same load:
//!
//! | hashes | CPU, before | CPU, now | peak RSS (both) | same clusters |
//! |---|---|---|---|---|
//! | 1,000,000 | 4.4 s | 3.0 s | 176 MB | yes (digest of every cluster) |
//! | 10,000,000 | 240 s | 90 s (2.7x less) | 1.70 GB before, 1.65 GB now | yes |
//!
//! Earlier, on a quiet machine, the old planner took 3.3 s at 1M and 92 s at 10M (274 s
//! while busy). The time now grows about as `n²` (the comparisons, `n / 480` a hash) plus
//! `n log n` sorting: 3.0 CPU-seconds at 1M, 90 at 10M (30 times for 10 times the hashes), of
//! which the 16 tables' comparisons are an estimated 65 (2.1e11 at 0.3 ns). Wall time on a
//! quiet machine was not measurable in this session; with both threads busy it is at best
//! half the CPU time.
//!
//! ```
//! use hashsieve::Hash64;
//! use hashsieve::matching::{cluster, self_join, DedupOptions, Pair};
//!
//! let hashes = [0b1_0000u64, 0b1_0111, 0xffff_0000, 0b1_0001].map(Hash64::from_u64);
//! assert_eq!(
//!     self_join(&hashes, 2),
//!     vec![Pair::new(0, 3, 1), Pair::new(1, 3, 2)]
//! );
//! let clusters = cluster(&hashes, &[Some(50), Some(90), None, Some(90)], &DedupOptions::new(2))?;
//! assert_eq!(clusters.len(), 1);
//! assert_eq!(clusters[0].representative, 1); // highest quality, first in input order
//! let members: Vec<(u32, u32)> = clusters[0].members.iter().map(|m| (m.index, m.distance)).collect();
//! assert_eq!(members, vec![(0, 3), (1, 0), (3, 2)]);
//! # Ok::<(), hashsieve::Error>(())
//! ```

use std::collections::HashMap;

use rayon::prelude::*;

use super::UnionFind;
use crate::error::{ErrorKind, Result};
use crate::index::join::{
    check_estimate, check_set_len, join_unique, Groups, JoinMethod, Pair, DEFAULT_MAX_PAIRS,
};
use crate::index::HashBits;

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

    setters! {
        -> DedupOptions;
        /// Sets the most pairs the join may find before it fails.
        max_pairs(max_pairs: u64);

        /// Sets whether singletons are returned.
        include_singletons(include: bool);

        /// Sets the join method.
        method(method: JoinMethod);

        /// Sets the linkage.
        linkage(linkage: Linkage);

        /// Sets the quality gate (0 keeps every hash, degenerate ones included).
        min_quality(min_quality: u8);
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
        quality.is_some_and(|q| q < self.min_quality) || hash.is_degenerate()
    }
}

/// One member of a [`Cluster`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    check_set_len(hashes.len())?;
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
/// the positions of its members (sorted). For tests and benchmarks (feature `test-util`).
///
/// ```
/// use hashsieve::Hash256;
/// use hashsieve::matching::planted_clusters;
/// let (hashes, truth) = planted_clusters::<Hash256>(1000, 10, 10, 15, 1);
/// assert_eq!(hashes.len(), 1000);
/// assert_eq!(truth.len(), 10);
/// assert!(truth.iter().all(|c| (2..=10).contains(&c.len())));
/// ```
#[cfg(feature = "test-util")]
pub fn planted_clusters<H: HashBits>(
    n: usize,
    clusters: usize,
    max_members: usize,
    max_flip: u32,
    seed: u64,
) -> (Vec<H>, Vec<Vec<u32>>) {
    let mut rng = crate::util::SplitMix64::new(seed);
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
