//! Serialised indexes from untrusted bytes: every truncation is an error; random and targeted
//! corruptions either fail the (validating) load or answer exactly as the linear scan; loaded
//! without validation they may answer wrongly, but never panic or hang.

use hashsieve::index::bench::{synthetic, SplitMix64};
use hashsieve::index::{BkTree, HashBits, Index, LinearScan, Match, Mih, MihOptions, SearchIndex};
use hashsieve::{Hash256, Hash64};

/// Runs every query kind on a loaded index; the answers may be wrong but must come back (a hang
/// would stop the suite).
fn exercise<H: HashBits>(index: &dyn Index<Hash = H>, queries: &[H]) {
    let mut out = Vec::new();
    for q in queries {
        for r in [0, 3, 10, 31, H::BITS] {
            index.range(q, r, &mut out);
            assert!(out.windows(2).all(|w| w[0] <= w[1]), "results stay sorted");
        }
        let _ = index.knn(q, 3);
    }
    let _ = index.range_batch(queries, 8);
}

fn sections<H: HashBits>(list: &[H]) -> Vec<Vec<u8>> {
    vec![
        BkTree::build(list).unwrap().into_bytes(),
        Mih::build(list).unwrap().into_bytes(),
        Mih::build_with(
            list,
            &MihOptions::new().tables(list_tables(H::BITS)).dir_bits(3),
        )
        .unwrap()
        .into_bytes(),
        Mih::build_with(list, &MihOptions::new().dir_bits(0))
            .unwrap()
            .into_bytes(),
    ]
}

fn list_tables(bits: u32) -> u32 {
    if bits == 64 {
        4
    } else {
        9
    }
}

/// A validated index answers every query exactly as the scan.
fn exact<H: HashBits>(index: &dyn Index<Hash = H>, list: &[H], queries: &[H]) {
    let scan = LinearScan::new(list);
    let (mut got, mut want) = (Vec::new(), Vec::new());
    for q in queries {
        for r in [0, 3, 10, 31, H::BITS] {
            index.range(q, r, &mut got);
            scan.range(q, r, &mut want);
            assert_eq!(got, want, "a validated index missed or invented a match");
        }
        assert_eq!(index.knn(q, 3), scan.knn(q, 3));
    }
}

/// Loads through every entry point. The validating loads refuse the bytes or answer exactly;
/// the unvalidated ones may answer wrongly but must come back.
fn load_and_query<H: HashBits>(bytes: &[u8], list: &[H], queries: &[H]) {
    if let Ok(idx) = SearchIndex::load(bytes, list) {
        exact(&idx, list, queries);
    }
    if let Ok(m) = Mih::load(bytes, list) {
        exact(&m.fallback(false), list, queries);
    }
    if let Ok(t) = BkTree::load(bytes, list) {
        exact(&t, list, queries);
    }
    if let Ok(idx) = SearchIndex::load_unvalidated(bytes, list) {
        exercise(&idx, queries);
    }
    if let Ok(m) = Mih::load_unvalidated(bytes, list) {
        let _ = m.validate();
        exercise(&m.fallback(false), queries);
    }
    if let Ok(t) = BkTree::load_unvalidated(bytes, list) {
        let _ = t.validate();
        exercise(&t, queries);
    }
}

fn truncations<H: HashBits>(list: &[H]) {
    for bytes in sections(list) {
        for len in 0..bytes.len() {
            assert!(
                SearchIndex::load(&bytes[..len], list).is_err(),
                "prefix of {len} of {} bytes loaded",
                bytes.len()
            );
        }
        assert!(SearchIndex::load(&bytes, list).is_ok());
    }
}

#[test]
fn every_truncation_is_an_error() {
    truncations(&synthetic::<Hash256>(200, 0, 0, 1).hashes);
    truncations(&synthetic::<Hash64>(200, 0, 0, 2).hashes);
    truncations::<Hash64>(&[]);
}

fn random_flips<H: HashBits>(seed: u64, rounds: usize) {
    let data = synthetic::<H>(300, 6, 12, seed);
    let (list, queries) = (&data.hashes, &data.queries);
    let mut rng = SplitMix64::new(seed ^ 0xabc);
    for bytes in sections(list) {
        for round in 0..rounds {
            let mut b = bytes.clone();
            let flips = 1 + rng.below(8);
            for _ in 0..flips {
                // Half the flips hit the header and descriptors, where they matter most.
                let at = if round % 2 == 0 {
                    rng.below(b.len().min(1024) as u64)
                } else {
                    rng.below(b.len() as u64)
                };
                b[at as usize] ^= 1 << rng.below(8);
            }
            load_and_query(&b, list, queries);
        }
    }
}

#[test]
fn random_byte_flips_never_panic_or_hang() {
    random_flips::<Hash256>(3, 300);
    random_flips::<Hash64>(4, 300);
}

#[test]
fn random_garbage_in_the_arrays_never_panics() {
    // Keep the header valid and fill everything after it with noise.
    let data = synthetic::<Hash256>(400, 6, 12, 9);
    let mut rng = SplitMix64::new(10);
    for bytes in sections(&data.hashes) {
        for _ in 0..20 {
            let mut b = bytes.clone();
            let header = if b.starts_with(b"HSIX-MIH") {
                64 + 64 * 32
            } else {
                128
            };
            let skip = header.min(b.len());
            for x in b.iter_mut().skip(skip) {
                *x = rng.next() as u8;
            }
            load_and_query(&b, &data.hashes, &data.queries);
        }
    }
}

#[test]
fn bktree_cycles_and_backward_children_are_cut_off() {
    let data = synthetic::<Hash64>(500, 4, 5, 21);
    let tree = BkTree::build(&data.hashes).unwrap();
    let mut b = tree.into_bytes();
    let off = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize;
    let (nodes, first_child) = (off(24), off(48));
    // Every node claims all nodes (including itself and its ancestors) as children.
    for i in 0..=nodes {
        let v: u32 = if i == nodes { nodes as u32 } else { 0 };
        b[first_child + 4 * i..first_child + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    assert!(BkTree::load(&b, &data.hashes).is_err());
    let t = BkTree::load_unvalidated(&b, &data.hashes).unwrap();
    assert!(t.validate().is_err());
    exercise(&t, &data.queries);
    // Overlapping forward ranges: node i's children are i+1..nodes (exponential paths
    // without the visit budget).
    for i in 0..=nodes {
        let v = (i + 1).min(nodes) as u32;
        b[first_child + 4 * i..first_child + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    for i in 0..nodes {
        // Make every child range [i+1, nodes) by writing the sentinel as each end: ranges are
        // read as first_child[i]..first_child[i+1], so use a descending then huge pattern.
        let v = if i % 2 == 0 {
            (i + 1) as u32
        } else {
            nodes as u32
        };
        b[first_child + 4 * i..first_child + 4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    assert!(BkTree::load(&b, &data.hashes).is_err());
    let t = BkTree::load_unvalidated(&b, &data.hashes).unwrap();
    exercise(&t, &data.queries);
}

#[test]
fn mih_impossible_directories_fall_back_to_the_scan() {
    let data = synthetic::<Hash256>(2000, 8, 20, 31);
    let mih = Mih::build_with(&data.hashes, &MihOptions::new().tables(8).dir_bits(6)).unwrap();
    let good: Vec<Vec<Match>> = data
        .queries
        .iter()
        .map(|q| {
            let mut o = Vec::new();
            mih.range(q, 20, &mut o);
            o
        })
        .collect();
    let mut b = mih.into_bytes();
    // Point every table's directory at "each bucket holds the whole list".
    for t in 0..8 {
        let d = 64 + 64 * t;
        let dir = u64::from_le_bytes(b[d + 8..d + 16].try_into().unwrap()) as usize;
        for k in 0..=64 {
            let v: u32 = if k % 2 == 0 { 0 } else { 2000 };
            b[dir + 4 * k..dir + 4 * k + 4].copy_from_slice(&v.to_le_bytes());
        }
    }
    assert!(Mih::load(&b, &data.hashes).is_err());
    let m = Mih::load_unvalidated(&b, &data.hashes)
        .unwrap()
        .fallback(false);
    assert!(m.validate().is_err());
    // Detected as corrupt while querying: answered by the scan, hence still exact.
    for (q, want) in data.queries.iter().zip(&good) {
        let mut o = Vec::new();
        m.range(q, 20, &mut o);
        assert_eq!(&o, want);
    }
    exercise(&m, &data.queries);
}

#[test]
fn header_fields_out_of_range_are_rejected() {
    let data = synthetic::<Hash256>(100, 0, 0, 41);
    let bytes = Mih::build(&data.hashes).unwrap().into_bytes();
    let patch = |at: usize, v: &[u8]| {
        let mut b = bytes.clone();
        b[at..at + v.len()].copy_from_slice(v);
        b
    };
    for bad in [
        patch(0, b"HSIX-XXX"),                  // magic
        patch(8, &2u32.to_le_bytes()),          // version
        patch(12, &64u32.to_le_bytes()),        // width
        patch(16, &99u64.to_le_bytes()),        // count
        patch(24, &0u32.to_le_bytes()),         // no tables
        patch(24, &33u32.to_le_bytes()),        // too many tables
        patch(32, &u64::MAX.to_le_bytes()),     // length
        patch(64 + 2, &[40]),                   // substring longer than 32 bits
        patch(64 + 3, &[30]),                   // directory bits past the cap
        patch(64 + 6, &[0]),                    // zero id low bits
        patch(64 + 8, &u64::MAX.to_le_bytes()), // directory offset
        patch(64 + 32, &1u64.to_le_bytes()),    // chunk length
    ] {
        assert!(Mih::load(&bad, &data.hashes).is_err());
    }
    let err = Mih::load(&patch(8, &2u32.to_le_bytes()), &data.hashes).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            hashsieve::ErrorKind::Version {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("format v2"), "{err}");
}
