//! Every index against the scalar linear scan (the oracle) on random lists: empty, one entry,
//! duplicates, planted near neighbours; every threshold 0..=bits; both widths. Plus k-nearest
//! against sorted brute force, batches against single queries, and serialise -> load round
//! trips.

use hashsieve::arch::Isa;
use hashsieve::index::bench::SplitMix64;
use hashsieve::index::{
    BkTree, HashBits, Index, IndexKind, IndexOptions, LinearScan, Match, Mih, MihOptions,
    SearchIndex,
};
use hashsieve::{Hash256, Hash64};
use proptest::prelude::*;

/// Test-side constructors for both widths.
trait Gen: HashBits + Copy {
    fn random(rng: &mut SplitMix64) -> Self;
    fn flipped(&self, bit: u32) -> Self;
}

impl Gen for Hash64 {
    fn random(rng: &mut SplitMix64) -> Self {
        Hash64::from_u64(rng.next())
    }
    fn flipped(&self, bit: u32) -> Self {
        Hash64::from_u64(self.to_u64() ^ (1 << bit))
    }
}

impl Gen for Hash256 {
    fn random(rng: &mut SplitMix64) -> Self {
        Hash256::from_limbs([rng.next(), rng.next(), rng.next(), rng.next()])
    }
    fn flipped(&self, bit: u32) -> Self {
        let mut l = self.limbs();
        l[(bit / 64) as usize] ^= 1 << (bit % 64);
        Hash256::from_limbs(l)
    }
}

fn near<H: Gen>(rng: &mut SplitMix64, centre: &H, max_flips: u64) -> H {
    let mut h = *centre;
    for _ in 0..rng.below(max_flips + 1) {
        h = h.flipped(rng.below(u64::from(H::BITS)) as u32);
    }
    h
}

/// A list of `len` hashes: random, duplicates of earlier entries and near neighbours of a few
/// centres; and queries that are near a centre, equal to an entry, or random.
fn make<H: Gen>(len: usize, seed: u64) -> (Vec<H>, Vec<H>) {
    let mut rng = SplitMix64::new(seed);
    let centres: Vec<H> = (0..3).map(|_| H::random(&mut rng)).collect();
    let spread = u64::from(H::BITS) / 6;
    let mut list: Vec<H> = Vec::with_capacity(len);
    for i in 0..len {
        let h = match rng.below(4) {
            0 if i > 0 => list[rng.below(i as u64) as usize],
            1 => {
                let c = centres[rng.below(3) as usize];
                near(&mut rng, &c, spread)
            }
            _ => H::random(&mut rng),
        };
        list.push(h);
    }
    let mut queries: Vec<H> = centres.iter().map(|c| near(&mut rng, c, 3)).collect();
    if let Some(h) = list.first() {
        queries.push(*h);
    }
    queries.push(H::random(&mut rng));
    (list, queries)
}

/// The oracle: the scalar scan.
fn oracle<H: HashBits>(list: &[H], q: &H, r: u32) -> Vec<Match> {
    let mut out = Vec::new();
    LinearScan::with_isa(list, Isa::Scalar).range(q, r, &mut out);
    out
}

fn brute_knn<H: HashBits>(list: &[H], q: &H, k: usize) -> Vec<Match> {
    let mut all: Vec<Match> = list
        .iter()
        .enumerate()
        .map(|(i, h)| Match::new(i as u32, h.hamming(q)))
        .collect();
    all.sort();
    all.truncate(k);
    all
}

/// Layouts to force on multi-index hashing: (tables, directory bits), chosen to cover no
/// directory, no inline bits, extra bits and uneven substrings.
fn mih_variants(bits: u32) -> Vec<MihOptions> {
    let forced: &[(u32, u32)] = if bits == 64 {
        &[(2, 0), (2, 6), (3, 5), (5, 4), (8, 8), (8, 3)]
    } else {
        &[(8, 0), (8, 4), (9, 6), (11, 3), (32, 8), (16, 5)]
    };
    let mut v = vec![MihOptions::new()];
    v.extend(
        forced
            .iter()
            .map(|&(m, b)| MihOptions::new().tables(m).dir_bits(b)),
    );
    v
}

fn check_all<H: Gen>(list: &[H], queries: &[H], thresholds: &[u32]) {
    let scans: Vec<LinearScan<H, &[H]>> = Isa::available()
        .into_iter()
        .map(|i| LinearScan::with_isa(list, i))
        .collect();
    let tree = BkTree::build(list).unwrap();
    tree.validate().unwrap();
    let tree_bytes = tree.as_bytes().to_vec();
    let tree2 = BkTree::load(&tree_bytes, list).unwrap();
    let mihs: Vec<Mih<H, &[H]>> = mih_variants(H::BITS)
        .iter()
        .map(|o| Mih::build_with(list, o).unwrap().fallback(false))
        .collect();
    let mih_bytes: Vec<Vec<u8>> = mihs.iter().map(|m| m.as_bytes().to_vec()).collect();
    let loaded: Vec<Mih<H, &[H], &[u8]>> = mih_bytes
        .iter()
        .map(|b| Mih::load(b, list).unwrap().fallback(false))
        .collect();
    for m in &mihs {
        m.validate().unwrap();
    }
    let auto = SearchIndex::build(list, &IndexOptions::new(IndexKind::Auto)).unwrap();
    let mut indexes: Vec<&dyn Index<Hash = H>> = Vec::new();
    for s in &scans {
        indexes.push(s);
    }
    indexes.push(&tree);
    indexes.push(&tree2);
    for m in &mihs {
        indexes.push(m);
    }
    for m in &loaded {
        indexes.push(m);
    }
    indexes.push(&auto);

    let mut out = Vec::new();
    for q in queries {
        for &r in thresholds {
            let want = oracle(list, q, r);
            for (n, idx) in indexes.iter().enumerate() {
                idx.range(q, r, &mut out);
                assert_eq!(
                    out,
                    want,
                    "index #{n} ({}) r={r} len={}",
                    idx.kind(),
                    list.len()
                );
            }
        }
        for k in [0, 1, 2, 5, list.len(), list.len() + 3] {
            let want = brute_knn(list, q, k);
            for (n, idx) in indexes.iter().enumerate() {
                assert_eq!(idx.knn(q, k), want, "knn index #{n} ({}) k={k}", idx.kind());
            }
        }
    }
    for &r in thresholds.iter().step_by(7) {
        let want: Vec<Vec<Match>> = queries.iter().map(|q| oracle(list, q, r)).collect();
        for (n, idx) in indexes.iter().enumerate() {
            assert_eq!(
                idx.range_batch(queries, r),
                want,
                "batch index #{n} ({}) r={r}",
                idx.kind()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_index_matches_the_oracle_64(len in 0usize..160, seed in any::<u64>()) {
        let (list, queries) = make::<Hash64>(len, seed);
        let all: Vec<u32> = (0..=64).collect();
        check_all(&list, &queries, &all);
    }

    #[test]
    fn every_index_matches_the_oracle_256(len in 0usize..120, seed in any::<u64>()) {
        let (list, queries) = make::<Hash256>(len, seed);
        // Every threshold up to 64 (where the indexes do their work), then a sweep to 256.
        let thresholds: Vec<u32> = (0..=64).chain((65..=256).step_by(11)).chain([255, 256, 300]).collect();
        check_all(&list, &queries, &thresholds);
    }
}

#[test]
fn every_threshold_to_256_on_a_fixed_list() {
    let (list, queries) = make::<Hash256>(90, 7);
    let all: Vec<u32> = (0..=256).collect();
    check_all(&list, &queries, &all);
}

#[test]
fn empty_and_single_entry_lists() {
    for len in [0, 1] {
        let (list, queries) = make::<Hash256>(len, 3);
        check_all(&list, &queries, &[0, 1, 31, 256]);
        let (list, queries) = make::<Hash64>(len, 3);
        check_all(&list, &queries, &[0, 1, 10, 64]);
    }
}

#[test]
fn all_duplicates_are_all_returned() {
    let h = Hash256::from_limbs([1, 2, 3, 4]);
    let list = vec![h; 500];
    let tree = BkTree::build(&list).unwrap();
    assert_eq!(tree.nodes(), 1);
    let mih = Mih::build(&list).unwrap().fallback(false);
    let mut out = Vec::new();
    for idx in [&tree as &dyn Index<Hash = Hash256>, &mih] {
        idx.range(&h, 0, &mut out);
        assert_eq!(out.len(), 500);
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, m)| *m == Match::new(i as u32, 0)));
    }
}

/// The layout of the MIH each of [`mih_variants`] builds over 100 `bits`-bit hashes.
fn variant_layouts<H: Gen>(bits: u32) -> Vec<String> {
    let (list, _) = make::<H>(100, 1);
    mih_variants(bits)
        .iter()
        .map(|o| Mih::build_with(&list, o).unwrap().describe())
        .collect()
}

#[test]
fn mih_variants_cover_the_layout_features() {
    // The forced layouts above must exercise: no directory, no inline bits, extra bits.
    let descs = variant_layouts::<Hash256>(256);
    assert!(descs.iter().any(|d| d.contains("b=0 ")), "{descs:?}");
    assert!(descs.iter().any(|d| d.contains("c1=0 ")), "{descs:?}");
    assert!(descs.iter().any(|d| !d.contains("c2=0 ")), "{descs:?}");
    let descs = variant_layouts::<Hash64>(64);
    assert!(descs.iter().any(|d| d.contains("c1=0 ")), "{descs:?}");
}

#[test]
fn larger_lists_with_planted_neighbours_match_the_scan() {
    // Big enough that the planner picks real directories and the BK-tree and scan split work
    // across threads.
    use hashsieve::index::bench::synthetic;
    let data = synthetic::<Hash256>(300_000, 40, 40, 11);
    let scan = LinearScan::new(&data.hashes);
    let mih = Mih::build(&data.hashes).unwrap();
    mih.validate().unwrap();
    for r in [0, 8, 16, 31, 40] {
        let want = scan.range_batch(&data.queries, r);
        assert_eq!(mih.range_batch(&data.queries, r), want, "r={r}");
        let forced = Mih::load(mih.as_bytes(), &data.hashes)
            .unwrap()
            .fallback(false);
        assert_eq!(forced.range_batch(&data.queries, r), want, "forced r={r}");
    }
    // Every planted copy within 31 is found.
    let found = mih.range_batch(&data.queries, 31);
    for (q, &(row, k)) in data.planted.iter().enumerate() {
        assert_eq!(
            found[q].iter().any(|m| m.index as usize == row),
            k <= 31,
            "query {q}"
        );
    }
    let data = synthetic::<Hash64>(300_000, 40, 13, 12);
    let scan = LinearScan::new(&data.hashes);
    let mih = Mih::build(&data.hashes).unwrap();
    mih.validate().unwrap();
    let tree = BkTree::build(&data.hashes).unwrap();
    for r in [0, 4, 10, 16] {
        let want = scan.range_batch(&data.queries, r);
        assert_eq!(mih.range_batch(&data.queries, r), want, "r={r}");
        let mut out = Vec::new();
        for (q, w) in data.queries.iter().zip(&want).take(5) {
            tree.range(q, r, &mut out);
            assert_eq!(&out, w, "bktree r={r}");
        }
    }
    for q in data.queries.iter().take(5) {
        assert_eq!(mih.knn(q, 7), scan.knn(q, 7));
        assert_eq!(tree.knn(q, 7), scan.knn(q, 7));
    }
}

#[test]
fn load_rejects_the_wrong_list() {
    let (list, _) = make::<Hash256>(50, 5);
    let mih = Mih::build(&list).unwrap();
    let tree = BkTree::build(&list).unwrap();
    let shorter = &list[..49];
    assert!(matches!(
        Mih::load(mih.as_bytes(), shorter).unwrap_err().kind(),
        hashsieve::ErrorKind::Mismatch(_)
    ));
    assert!(matches!(
        BkTree::load(tree.as_bytes(), shorter).unwrap_err().kind(),
        hashsieve::ErrorKind::Mismatch(_)
    ));
    let (list64, _) = make::<Hash64>(50, 5);
    assert!(Mih::load(mih.as_bytes(), &list64).is_err());
    assert!(matches!(
        SearchIndex::load(b"not an index section at all, no magic here", &list)
            .unwrap_err()
            .kind(),
        hashsieve::ErrorKind::Unsupported(_)
    ));
    // A section from a newer writer says so (upgrade), and one cut short says that.
    for bytes in [mih.as_bytes(), tree.as_bytes()] {
        let mut newer = bytes.to_vec();
        newer[8..12].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(
            SearchIndex::load(&newer, &list).unwrap_err().kind(),
            hashsieve::ErrorKind::Version {
                found: 2,
                supported: 1,
                ..
            }
        ));
        let cut = &bytes[..bytes.len() - 64];
        assert!(matches!(
            SearchIndex::load(cut, &list).unwrap_err().kind(),
            hashsieve::ErrorKind::Truncated { .. }
        ));
    }
    let any = SearchIndex::load(mih.as_bytes(), &list).unwrap();
    assert_eq!(any.kind(), IndexKind::Mih);
    let any = SearchIndex::load(tree.as_bytes(), &list).unwrap();
    assert_eq!(any.kind(), IndexKind::BkTree);
}
