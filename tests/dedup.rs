//! Deduplication: the self-join against a brute-force oracle, clusters against connected
//! components found by graph search, the representative rule, and `hashsieve dedup` end to end.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::process::Output;

use hashsieve::index::HashBits;
use hashsieve::list::ListBuilder;
use hashsieve::matching::{
    cluster, cluster_report, cross_join, planted_clusters, self_join, self_join_with, DedupOptions,
    JoinMethod, Linkage, Pair,
};
use hashsieve::{ErrorKind, Hash256, Hash64, HashKind};

use crate::common::{cmd, hashsieve};

/// Every pair within `r`, by comparing all of them.
fn brute_pairs<H: HashBits>(h: &[H], r: u32) -> Vec<Pair> {
    let mut out = Vec::new();
    for a in 0..h.len() {
        for b in a + 1..h.len() {
            let d = h[a].hamming(&h[b]);
            if d <= r {
                out.push(Pair::new(a as u32, b as u32, d));
            }
        }
    }
    out
}

/// Connected components by breadth-first search over the brute-force pairs: each hash not yet
/// labelled starts a component, and a queue labels everything reachable from it. Written apart
/// from the library's clustering (and from its unit test's depth-first search) on purpose.
fn brute_components<H: HashBits>(h: &[H], r: u32, min: usize) -> Vec<Vec<u32>> {
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); h.len()];
    for p in brute_pairs(h, r) {
        let (a, b) = (p.a as usize, p.b as usize);
        neighbours[a].push(b);
        neighbours[b].push(a);
    }
    let mut label: Vec<Option<usize>> = vec![None; h.len()];
    let mut labels = 0;
    for start in 0..h.len() {
        if label[start].is_some() {
            continue;
        }
        label[start] = Some(labels);
        let mut queue = VecDeque::from([start]);
        while let Some(x) = queue.pop_front() {
            for &y in &neighbours[x] {
                if label[y].is_none() {
                    label[y] = Some(labels);
                    queue.push_back(y);
                }
            }
        }
        labels += 1;
    }
    // Members are added in index order, so each component comes out sorted.
    let mut components = vec![Vec::new(); labels];
    for (i, l) in label.into_iter().enumerate() {
        components[l.expect("every hash is labelled")].push(i as u32);
    }
    let mut out: Vec<Vec<u32>> = components.into_iter().filter(|c| c.len() >= min).collect();
    out.sort();
    out
}

/// (seed, n, r) for the clustering tests: no hash, one, `mid`, and 3,000 at r 31, then 3,000
/// at `last_r`; the seeds count up from `seed`.
fn cluster_cases(seed: u64, mid: usize, last_r: u32) -> [(u64, usize, u32); 5] {
    [
        (seed, 0, 31),
        (seed + 1, 1, 31),
        (seed + 2, mid, 31),
        (seed + 3, 3000, 31),
        (seed + 4, 3000, last_r),
    ]
}

/// A planted set with some exact duplicates copied in.
fn with_duplicates<H: HashBits + Copy>(n: usize, max_flip: u32, seed: u64) -> Vec<H> {
    let (mut h, _) = planted_clusters::<H>(n, n / 20 + 1, 10, max_flip, seed);
    for i in (0..n).step_by(7).skip(1) {
        h[i] = h[(i * 31 + 3) % n];
    }
    h
}

fn check_join<H: HashBits + Copy>(thresholds: &[u32], max_flip: u32) {
    for (seed, n) in [(1u64, 0usize), (2, 1), (3, 2), (4, 50), (5, 700), (6, 5000)] {
        let h = with_duplicates::<H>(n, max_flip, seed);
        for &r in thresholds {
            let want = brute_pairs(&h, r);
            for method in [JoinMethod::Auto, JoinMethod::Scan, JoinMethod::Pigeonhole] {
                assert_eq!(
                    self_join_with(&h, r, method),
                    want,
                    "n {n}, r {r}, {method:?}"
                );
            }
        }
    }
}

#[test]
fn self_join_matches_brute_force_256() {
    check_join::<Hash256>(&[0, 1, 8, 31, 48, 90], 15);
}

#[test]
fn self_join_matches_brute_force_64() {
    check_join::<Hash64>(&[0, 1, 4, 10, 16, 30], 5);
}

#[test]
fn self_join_on_all_equal_hashes() {
    let h = vec![Hash64::from_u64(0xdead_beef); 40];
    assert_eq!(self_join(&h, 3), brute_pairs(&h, 3));
    // Skewed: every hash shares most parts (tiny differences), so buckets are huge.
    let h: Vec<Hash256> = (0..6000u64)
        .map(|i| Hash256::from_limbs([i, 0, 0, 0]))
        .collect();
    assert_eq!(self_join(&h, 2), brute_pairs(&h, 2));
}

/// A planted set whose hashes keep only the bits of `keep` in every limb (the others zero), so
/// that the pigeonhole join's buckets are crowded (with `0x03ff` per 16 bits, a 16-bit part
/// takes 1,024 values: tens to hundreds of hashes a bucket) and its SIMD block path runs,
/// including the tails of each block. Clearing bits moves no planted pair apart.
fn crowded<H: HashBits + Copy + MaskForTest>(n: usize, keep: u64, seed: u64) -> Vec<H> {
    let (h, _) = planted_clusters::<H>(n, n / 50, 10, 15, seed);
    h.into_iter().map(|x| x.mask_for_test(keep)).collect()
}

trait MaskForTest {
    /// The hash with only the bits of `keep` left in each 64-bit word.
    fn mask_for_test(&self, keep: u64) -> Self;
}

impl MaskForTest for Hash256 {
    fn mask_for_test(&self, keep: u64) -> Hash256 {
        Hash256::from_limbs(self.limbs().map(|w| w & keep))
    }
}

impl MaskForTest for Hash64 {
    fn mask_for_test(&self, keep: u64) -> Hash64 {
        Hash64::from_u64(self.to_u64() & keep)
    }
}

#[test]
fn pigeonhole_blocks_match_brute_force_when_buckets_are_crowded() {
    let h = crowded::<Hash256>(20_000, 0x03ff_03ff_03ff_03ff, 21);
    let want = brute_pairs(&h, 31);
    assert!(want.len() > 1000, "the planted pairs are found");
    for method in [JoinMethod::Auto, JoinMethod::Pigeonhole] {
        assert_eq!(self_join_with(&h, 31, method), want, "{method:?}");
    }
    let want = brute_pairs(&h, 40);
    assert_eq!(self_join_with(&h, 40, JoinMethod::Pigeonhole), want);
    let h = crowded::<Hash64>(20_000, 0x0fff_0fff_0fff_0fff, 22);
    for r in [6, 10] {
        let want = brute_pairs(&h, r);
        assert_eq!(
            self_join_with(&h, r, JoinMethod::Pigeonhole),
            want,
            "64-bit r {r}"
        );
    }
}

#[test]
fn pigeonhole_matches_the_all_pairs_scan_at_100k() {
    // Uniform and crowded sets large enough for the planner's wide parts, against the
    // blocked scan of all pairs (itself checked against brute force above).
    let (uniform, _) = planted_clusters::<Hash256>(100_000, 1000, 10, 15, 23);
    let crowded = crowded::<Hash256>(100_000, 0x07ff_07ff_07ff_07ff, 24);
    for (what, h) in [("uniform", &uniform), ("crowded", &crowded)] {
        let want = self_join_with(h, 31, JoinMethod::Scan);
        assert!(want.len() > 1000, "{what}: the planted pairs are found");
        assert_eq!(
            self_join_with(h, 31, JoinMethod::Pigeonhole),
            want,
            "{what}"
        );
        let got = cluster(
            h,
            &[],
            &DedupOptions::new(31).method(JoinMethod::Pigeonhole),
        )
        .expect("cluster");
        let want_clusters =
            cluster(h, &[], &DedupOptions::new(31).method(JoinMethod::Scan)).expect("cluster");
        assert_eq!(got, want_clusters, "{what}");
    }
}

#[test]
fn clusters_are_connected_components() {
    for (seed, n, r) in cluster_cases(11, 300, 20) {
        let h = with_duplicates::<Hash256>(n, 15, seed);
        for singletons in [false, true] {
            let opts = DedupOptions::new(r).include_singletons(singletons);
            let got = cluster(&h, &[], &opts).expect("cluster");
            let mut comps: Vec<Vec<u32>> = got
                .iter()
                .map(|c| c.members.iter().map(|m| m.index).collect())
                .collect();
            comps.sort();
            assert_eq!(
                comps,
                brute_components(&h, r, if singletons { 1 } else { 2 })
            );
            for c in &got {
                for m in &c.members {
                    let rep = &h[c.representative as usize];
                    assert_eq!(m.distance, h[m.index as usize].hamming(rep));
                }
                let max = c.members.iter().map(|m| m.distance).max();
                assert_eq!(Some(c.max_distance), max);
            }
        }
    }
}

#[test]
fn planted_clusters_are_found() {
    let (h, truth) = planted_clusters::<Hash256>(20_000, 200, 10, 15, 99);
    let got = cluster(&h, &[], &DedupOptions::new(31)).expect("cluster");
    let got: BTreeSet<Vec<u32>> = got
        .iter()
        .map(|c| c.members.iter().map(|m| m.index).collect())
        .collect();
    // Members are within 30 of each other, so every planted cluster is (contained in) a cluster.
    for t in &truth {
        assert!(got.iter().any(|g| t.iter().all(|x| g.contains(x))));
    }
}

#[test]
fn representative_is_highest_quality_then_first() {
    let z = Hash64::from_u64(0);
    let h = [
        z,
        Hash64::from_u64(1),
        Hash64::from_u64(3),
        Hash64::from_u64(7),
    ];
    let cases: [(&[Option<u8>], u32); 5] = [
        (&[None, None, None, None], 0),
        (&[Some(10), Some(90), Some(90), None], 1),
        (&[None, None, Some(0), None], 2),
        (&[Some(100), Some(100), Some(100), Some(100)], 0),
        (&[], 0),
    ];
    for (q, want) in cases {
        // Gate off: the all-zero hash and quality 0 take part here.
        let c = cluster(&h, q, &DedupOptions::new(1).min_quality(0)).expect("cluster");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].representative, want, "{q:?}");
        let rep = h[want as usize];
        assert!(c[0]
            .members
            .iter()
            .all(|m| m.distance == h[m.index as usize].hamming(&rep)));
    }
    let err = cluster(&h, &[None], &DedupOptions::new(1)).expect_err("length mismatch");
    assert!(matches!(
        err.kind(),
        hashsieve::ErrorKind::InvalidArgument(_)
    ));
}

/// Greedy leader clustering, the slow obvious way: the oracle of [`Linkage::Centre`].
/// Returns (sorted members, representative) per cluster of at least `min` members, ordered
/// by the smallest member.
fn brute_centres<H: HashBits>(
    h: &[H],
    q: &[Option<u8>],
    r: u32,
    min: usize,
) -> Vec<(Vec<u32>, u32)> {
    let key = |i: usize| q.get(i).copied().flatten().map_or(0, |v| u16::from(v) + 1);
    let mut order: Vec<usize> = (0..h.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(key(i)), i));
    let mut taken = vec![false; h.len()];
    let mut out = Vec::new();
    for c in order {
        if taken[c] {
            continue;
        }
        let mut comp = Vec::new();
        for j in 0..h.len() {
            if !taken[j] && h[j].hamming(&h[c]) <= r {
                taken[j] = true;
                comp.push(j as u32);
            }
        }
        if comp.len() >= min {
            out.push((comp, c as u32));
        }
    }
    out.sort();
    out
}

/// Qualities for a test set: some unknown, the rest spread over 0..=100 with ties.
fn qualities(n: usize, seed: u64) -> Vec<Option<u8>> {
    (0..n as u64)
        .map(|i| {
            let x = (i ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
            (!x.is_multiple_of(5)).then_some((x % 11 * 10) as u8)
        })
        .collect()
}

#[test]
fn centre_linkage_matches_greedy_oracle() {
    for (seed, n, r) in cluster_cases(31, 400, 45) {
        let h = with_duplicates::<Hash256>(n, 25, seed);
        let q = qualities(n, seed);
        for (quality, singletons) in [(&q[..], false), (&q[..], true), (&[][..], true)] {
            let opts = DedupOptions::new(r)
                .linkage(Linkage::Centre)
                .include_singletons(singletons)
                .min_quality(0);
            let got = cluster(&h, quality, &opts).expect("cluster");
            let got: Vec<(Vec<u32>, u32)> = got
                .iter()
                .map(|c| {
                    // Every member within the threshold of its representative.
                    assert!(c.max_distance <= r);
                    for m in &c.members {
                        let d = h[m.index as usize].hamming(&h[c.representative as usize]);
                        assert_eq!(m.distance, d);
                        assert!(d <= r);
                    }
                    (
                        c.members.iter().map(|m| m.index).collect(),
                        c.representative,
                    )
                })
                .collect();
            let want = brute_centres(&h, quality, r, if singletons { 1 } else { 2 });
            assert_eq!(got, want, "seed {seed} r {r}");
            if singletons {
                // Every hash in exactly one cluster.
                let mut all: Vec<u32> = got.iter().flat_map(|c| c.0.clone()).collect();
                all.sort_unstable();
                assert_eq!(all, (0..n as u32).collect::<Vec<_>>());
            }
        }
    }
}

fn flip256(h: Hash256, bit: u32) -> Hash256 {
    let mut l = h.limbs();
    l[(bit / 64) as usize] ^= 1 << (bit % 64);
    Hash256::from_limbs(l)
}

/// A line of hashes, each 20 bits from the one before (fresh bits every step).
fn chain(len: u32) -> Vec<Hash256> {
    let mut h = Hash256::from_limbs([0x5555_5555_5555_5555; 4]);
    let mut out = vec![h];
    for step in 0..len - 1 {
        for b in 0..20 {
            h = flip256(h, step * 20 + b);
        }
        out.push(h);
    }
    out
}

#[test]
fn single_linkage_chains_and_centre_linkage_does_not() {
    let h = chain(6);
    for w in h.windows(2) {
        assert_eq!(w[0].hamming(&w[1]), 20);
    }
    let single = cluster(&h, &[], &DedupOptions::new(31)).expect("cluster");
    assert_eq!(single.len(), 1);
    assert_eq!(single[0].members.len(), 6);
    assert_eq!(single[0].representative, 0);
    // The far end is 100 bits from the representative, far over the threshold.
    assert_eq!(single[0].max_distance, 100);
    let centre =
        cluster(&h, &[], &DedupOptions::new(31).linkage(Linkage::Centre)).expect("cluster");
    let sets: Vec<Vec<u32>> = centre
        .iter()
        .map(|c| c.members.iter().map(|m| m.index).collect())
        .collect();
    assert_eq!(sets, vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
    assert!(centre.iter().all(|c| c.max_distance == 20));
    // Quality picks the centres: the best one takes both neighbours.
    let q = [None, None, Some(90), None, None, None];
    let centre = cluster(&h, &q, &DedupOptions::new(31).linkage(Linkage::Centre)).expect("cluster");
    assert_eq!(centre[0].representative, 2);
    assert_eq!(centre[0].members.len(), 3);
}

/// Blank frames hash to all zeros (or all ones); before the gate they formed a cluster.
#[test]
fn blank_frames_do_not_cluster() {
    let zero = Hash256::from_limbs([0; 4]);
    let ones = Hash256::from_limbs([u64::MAX; 4]);
    let real = Hash256::from_limbs([0x0123_4567_89ab_cdef; 4]);
    let h = vec![zero, real, zero, ones, zero, flip256(real, 3), ones];
    let got = cluster(&h, &[], &DedupOptions::new(31)).expect("cluster");
    let sets: Vec<Vec<u32>> = got
        .iter()
        .map(|c| c.members.iter().map(|m| m.index).collect())
        .collect();
    assert_eq!(sets, vec![vec![1, 5]]);
    let report =
        cluster_report(&h, &[], &DedupOptions::new(31).include_singletons(true)).expect("cluster");
    assert_eq!(report.gated, vec![0, 2, 3, 4, 6]);
    assert_eq!(report.clusters.len(), 1);
    // Gate 0 keeps every hash: the blank frames cluster as they are.
    let all = cluster(&h, &[], &DedupOptions::new(31).min_quality(0)).expect("cluster");
    assert_eq!(all.len(), 3);
}

#[test]
fn quality_gate_matches_oracle() {
    let n = 2000;
    let h = with_duplicates::<Hash256>(n, 15, 77);
    let q = qualities(n, 77);
    for (min, linkage) in [
        (0u8, Linkage::Single),
        (1, Linkage::Single),
        (50, Linkage::Single),
        (50, Linkage::Centre),
        (101, Linkage::Single),
    ] {
        let opts = DedupOptions::new(31)
            .min_quality(min)
            .linkage(linkage)
            .include_singletons(true);
        let report = cluster_report(&h, &q, &opts).expect("cluster");
        let gated: Vec<u32> = (0..n as u32)
            .filter(|&i| min > 0 && q[i as usize].is_some_and(|v| v < min))
            .collect();
        assert_eq!(report.gated, gated, "gate {min}");
        // The rest, clustered on their own, give the same clusters (positions mapped).
        let kept: Vec<u32> = (0..n as u32).filter(|i| !gated.contains(i)).collect();
        let sub_h: Vec<Hash256> = kept.iter().map(|&i| h[i as usize]).collect();
        let sub_q: Vec<Option<u8>> = kept.iter().map(|&i| q[i as usize]).collect();
        let want = cluster(&sub_h, &sub_q, &opts.clone().min_quality(0)).expect("cluster");
        assert_eq!(report.clusters.len(), want.len());
        for (g, w) in report.clusters.iter().zip(&want) {
            assert_eq!(g.representative, kept[w.representative as usize]);
            let wm: Vec<(u32, u32)> = w
                .members
                .iter()
                .map(|m| (kept[m.index as usize], m.distance))
                .collect();
            let gm: Vec<(u32, u32)> = g.members.iter().map(|m| (m.index, m.distance)).collect();
            assert_eq!(gm, wm);
        }
        let distinct: BTreeSet<Hash256> = sub_h.iter().copied().collect();
        assert_eq!(report.distinct, distinct.len() as u64);
        let distinct: Vec<Hash256> = distinct.into_iter().collect();
        assert_eq!(report.pairs, brute_pairs(&distinct, 31).len() as u64);
    }
}

#[test]
fn cross_join_matches_brute_force() {
    let (refs, _) = planted_clusters::<Hash256>(5000, 0, 2, 0, 5);
    let (mut q, _) = planted_clusters::<Hash256>(300, 20, 10, 15, 6);
    for i in 0..20 {
        q[i * 3] = refs[i * 17].flip_for_test(i as u32);
    }
    let mut want = Vec::new();
    for (a, x) in q.iter().enumerate() {
        for (b, y) in refs.iter().enumerate() {
            let d = x.hamming(y);
            if d <= 31 {
                want.push(Pair::new(a as u32, b as u32, d));
            }
        }
    }
    assert_eq!(cross_join(&q, &refs, 31).expect("join"), want);
    assert!(want.len() >= 20);
}

trait FlipForTest {
    fn flip_for_test(&self, k: u32) -> Self;
}

impl FlipForTest for Hash256 {
    fn flip_for_test(&self, k: u32) -> Hash256 {
        let mut l = self.limbs();
        l[0] ^= (1u64 << k) - 1;
        Hash256::from_limbs(l)
    }
}

#[test]
fn the_pair_limit_is_exact_and_fails_cleanly() {
    // Unique hashes only (the limit counts pairs of distinct hashes).
    let (h, _) = planted_clusters::<Hash256>(3000, 150, 10, 15, 41);
    let h: Vec<Hash256> = h.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    for r in [31u32, 60] {
        let true_pairs = brute_pairs(&h, r).len() as u64;
        assert!(true_pairs > 10, "r {r}: {true_pairs}");
        let want = cluster(&h, &[], &DedupOptions::new(r).max_pairs(u64::MAX)).unwrap();
        for method in [JoinMethod::Auto, JoinMethod::Scan, JoinMethod::Pigeonhole] {
            let at = DedupOptions::new(r).method(method).max_pairs(true_pairs);
            assert_eq!(cluster(&h, &[], &at).unwrap(), want, "r {r} {method:?}");
            let under = DedupOptions::new(r)
                .method(method)
                .max_pairs(true_pairs - 1);
            let err = cluster(&h, &[], &under).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::Limit { .. }),
                "r {r} {method:?}: {err}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains("lower the threshold") && msg.contains("max-pairs"),
                "{msg}"
            );
        }
    }
    // A threshold that links nearly every pair is refused from the sample, before the join.
    let (h, _) = planted_clusters::<Hash64>(20_000, 0, 2, 0, 42);
    let err = cluster(&h, &[], &DedupOptions::new(40).max_pairs(1_000_000)).unwrap_err();
    assert!(err.to_string().contains("from a sample"), "{err}");
    // Thresholds beyond the width are refused, not clamped.
    let err = cluster(&h[..10], &[], &DedupOptions::new(65)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");
    let h256 = vec![Hash256::from_limbs([1, 2, 3, 4]); 3];
    assert!(cluster(&h256, &[], &DedupOptions::new(257)).is_err());
    assert!(cluster(&h256, &[], &DedupOptions::new(256)).is_ok());
}

// ---- CLI ----

/// (cluster, id, distance, representative, matched) per TSV row.
fn rows(out: &Output) -> Vec<Vec<String>> {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    for c in "cluster id hash quality distance representative".split(' ') {
        assert!(header.contains(&c), "missing column {c}");
    }
    lines
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The set of clusters (as sets of ids) in TSV output.
fn id_clusters(rows: &[Vec<String>]) -> BTreeSet<BTreeSet<String>> {
    let mut by: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for r in rows {
        by.entry(r[0].clone()).or_default().insert(r[1].clone());
    }
    by.into_values().collect()
}

fn write_hex(path: &Path, h: &[Hash256]) {
    let text: String = h
        .iter()
        .enumerate()
        .map(|(i, x)| format!("{},f{i}\n", x.to_hex()))
        .collect();
    std::fs::write(path, text).expect("write");
}

#[test]
fn cli_hex_clusters_match_oracle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = with_duplicates::<Hash256>(400, 15, 21);
    let input = dir.path().join("case.hex");
    write_hex(&input, &h);
    let out = cmd(["dedup", input.to_str().unwrap()]).assert_exit(0);
    let rows = rows(&out);
    let want: BTreeSet<BTreeSet<String>> = brute_components(&h, 31, 2)
        .into_iter()
        .map(|c| c.into_iter().map(|i| format!("f{i}")).collect())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(id_clusters(&rows), want);
    // One representative per cluster, at distance 0.
    let reps: Vec<&Vec<String>> = rows.iter().filter(|r| r[5] == "true").collect();
    assert_eq!(reps.len(), want.len());
    assert!(reps.iter().all(|r| r[4] == "0"));

    // --all: every input once; a lower threshold changes the clusters as the oracle says.
    let out = hashsieve(&["dedup", input.to_str().unwrap(), "--all", "-t", "8"]);
    let all = super_rows(&out);
    assert_eq!(all.len(), h.len());
    let want8: BTreeSet<BTreeSet<String>> = brute_components(&h, 8, 1)
        .into_iter()
        .map(|c| c.into_iter().map(|i| format!("f{i}")).collect())
        .collect();
    assert_eq!(id_clusters(&all), want8);

    // JSON lines: same rows.
    let out = cmd(["dedup", input.to_str().unwrap(), "--format", "json"]).assert_exit(0);
    let text = String::from_utf8_lossy(&out.stdout);
    let objs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .filter(|o: &serde_json::Value| o.get("type").is_none())
        .collect();
    assert_eq!(objs.len(), rows.len());
    assert!(objs
        .iter()
        .all(|o| o["cluster"].is_u64() && o["distance"].is_u64()));
}

fn super_rows(out: &Output) -> Vec<Vec<String>> {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rows(out)
}

#[test]
fn cli_errors_exit_2_without_echoing_hashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("bad.hex");
    let secret = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678";
    std::fs::write(&input, format!("{}\n{secret},x\n", "00".repeat(32))).expect("write");
    let out = cmd(["dedup", input.to_str().unwrap()]).assert_exit(2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":2:"), "{err}");
    assert!(!err.contains(secret));
    cmd(["dedup", dir.path().join("missing").to_str().unwrap()]).assert_exit(2);
}

#[test]
fn cli_tsv_from_hash_command_and_list_marks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus");
    // Hash the corpus twice (a copy is an exact duplicate of every image).
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).expect("mkdir");
    let mut names = Vec::new();
    for e in std::fs::read_dir(&corpus).expect("corpus") {
        let p = e.expect("entry").path();
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ["png", "jpg", "bmp"].contains(&ext) && names.len() < 6 {
            std::fs::copy(&p, copy.join(p.file_name().unwrap())).expect("copy");
            names.push(p);
        }
    }
    let mut args: Vec<String> = vec!["hash".into(), "--algo".into(), "pdq".into()];
    args.extend(names.iter().map(|p| p.display().to_string()));
    args.push(copy.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = hashsieve(&args);
    let tsv = dir.path().join("case.tsv");
    std::fs::write(&tsv, &out.stdout).expect("write");

    // The oracle: parse the TSV ourselves; the PDQ quality gate (50, not degenerate) applies.
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |c: &str| header.iter().position(|x| *x == c).expect("column");
    let (pc, hc, qc) = (col("path"), col("hash"), col("quality"));
    let mut ids = Vec::new();
    let mut hashes = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split('\t').collect();
        if f[hc].is_empty()
            || f[qc].parse::<u8>().expect("quality") < 50
            || Hash256::from_hex(f[hc]).expect("hex").is_degenerate()
        {
            continue;
        }
        ids.push(f[pc].to_string());
        hashes.push(Hash256::from_hex(f[hc]).expect("hex"));
    }
    assert!(hashes.len() >= 2 * names.len() - 2);
    let want: BTreeSet<BTreeSet<String>> = brute_components(&hashes, 31, 2)
        .into_iter()
        .map(|c| c.into_iter().map(|i| ids[i as usize].clone()).collect())
        .collect();
    let out = hashsieve(&["dedup", tsv.to_str().unwrap()]);
    let got = super_rows(&out);
    assert_eq!(id_clusters(&got), want);

    // A reference list holding the first image's hash marks its whole cluster.
    let mut b = ListBuilder::new(HashKind::Pdq)
        .min_quality(0)
        .allow_degenerate(true)
        .name("ref");
    b.add(hashes[0], hashsieve::list::EntryMeta::new("known-1"))
        .expect("add");
    let list = dir.path().join("ref.hsl");
    b.write(&list).expect("write list");
    let out = hashsieve(&[
        "dedup",
        tsv.to_str().unwrap(),
        "--list",
        list.to_str().unwrap(),
    ]);
    let got = super_rows(&out);
    let matched: BTreeSet<String> = got
        .iter()
        .filter(|r| r[7].contains("ref:known-1"))
        .map(|r| r[1].clone())
        .collect();
    let direct: Vec<u32> = (0..hashes.len() as u32)
        .filter(|&i| hashes[i as usize].distance(&hashes[0]) <= 31)
        .collect();
    let expect: BTreeSet<String> = brute_components(&hashes, 31, 1)
        .into_iter()
        .filter(|c| c.iter().any(|i| direct.contains(i)))
        .flatten()
        .map(|i| ids[i as usize].clone())
        .collect();
    assert!(matched.contains(&ids[0]));
    assert_eq!(matched, expect);

    // The list itself as input: its one entry, a singleton, printed with --all.
    let out = hashsieve(&["dedup", list.to_str().unwrap(), "--all"]);
    let got = super_rows(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0][1], "known-1");
}
