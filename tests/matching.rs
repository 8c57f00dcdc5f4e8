//! The Matcher against a brute-force oracle, the quality gate, dihedral fan-out, embedded index
//! sections and atomic list replacement under concurrent queries.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use hashsieve::algo::pdq::{self, Dihedral};
use hashsieve::index::{IndexKind, IndexOptions};
use hashsieve::list::{Category, EntryMeta};
use hashsieve::matching::{
    CategoryFilter, ListOptions, Matcher, MatcherOptions, Query, QueryResult, SkipReason,
};
use hashsieve::ErrorKind;
use hashsieve::{Hash256, Hash64, HashKind, HashList, ListBuilder, PixelBuffer, PixelLayout};

use common::{found, Rng};

/// A PDQ list of `n` random hashes (every 7th one shared by two entries) plus `planted`.
fn pdq_list(
    name: &str,
    version: &str,
    rng: &mut Rng,
    n: usize,
    planted: &[Hash256],
) -> (Vec<u8>, Vec<(Hash256, String)>) {
    let mut b = ListBuilder::new(HashKind::Pdq)
        .name(name)
        .version(version)
        .created(0);
    let mut entries = Vec::new();
    let hashes: Vec<Hash256> = (0..n)
        .map(|_| rng.hash256())
        .chain(planted.iter().copied())
        .collect();
    for (i, h) in hashes.iter().enumerate() {
        let id = format!("{name}-{i}");
        b.add(*h, EntryMeta::new(&id).quality(100)).unwrap();
        entries.push((*h, id));
        if i % 7 == 0 {
            let dup = format!("{name}-{i}-dup");
            b.add(*h, EntryMeta::new(&dup).quality(100)).unwrap();
            entries.push((*h, dup));
        }
    }
    (b.to_vec().unwrap(), entries)
}

/// Every (id, distance) within `t` of any variant, by brute force.
fn oracle(entries: &[(Hash256, String)], q: &Hash256, t: u32) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = entries
        .iter()
        .filter(|(h, _)| h.distance(q) <= t)
        .map(|(h, id)| (id.clone(), h.distance(q)))
        .collect();
    out.sort();
    out
}

#[test]
fn matcher_equals_brute_force_for_every_index() {
    let mut rng = Rng::new(7);
    let centres: Vec<Hash256> = (0..20).map(|_| rng.hash256()).collect();
    let planted: Vec<Hash256> = centres
        .iter()
        .enumerate()
        .map(|(i, c)| rng.near(*c, i as u32 * 2))
        .collect();
    let (bytes, entries) = pdq_list("known", "v1", &mut rng, 5000, &planted);
    for index in [
        IndexKind::Linear,
        IndexKind::Mih,
        IndexKind::BkTree,
        IndexKind::Auto,
    ] {
        for t in [0, 8, 31, 40] {
            let m: Matcher = Matcher::new();
            let opts = ListOptions::default().index(index).threshold(t);
            m.add_list(HashList::from_bytes(bytes.clone()).unwrap(), opts)
                .unwrap();
            let queries: Vec<Query> = centres
                .iter()
                .map(|c| Query::new(HashKind::Pdq, *c, Some(90)))
                .collect();
            for (q, result) in centres.iter().zip(m.query_batch(&queries)) {
                assert_eq!(found(&result), oracle(&entries, q, t), "{index} t={t}");
                let ds: Vec<u32> = result.matches().iter().map(|r| r.distance).collect();
                assert!(ds.windows(2).all(|w| w[0] <= w[1]), "sorted by distance");
                assert!(result
                    .matches()
                    .iter()
                    .all(|r| r.threshold == t && r.list == "known"));
            }
        }
    }
}

#[test]
fn embedded_index_section_is_used_and_agrees() {
    let mut rng = Rng::new(11);
    let centres: Vec<Hash256> = (0..10).map(|_| rng.hash256()).collect();
    let planted: Vec<Hash256> = centres.iter().map(|c| rng.near(*c, 20)).collect();
    let mut b = ListBuilder::new(HashKind::Pdq).name("idx").created(0);
    let mut entries = Vec::new();
    for (i, h) in (0..20_000)
        .map(|_| rng.hash256())
        .chain(planted)
        .enumerate()
    {
        b.add(h, EntryMeta::new(&format!("e{i}"))).unwrap();
        entries.push((h, format!("e{i}")));
    }
    let b = b.index(IndexOptions::new(IndexKind::Mih).threshold(31));
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    assert_eq!(list.index_kind(), Some(IndexKind::Mih));
    list.verify().unwrap();
    assert!(list.section(hashsieve::list::INDEX_SECTION).is_some());
    hashsieve::matching::verify_index_section(&list).unwrap();
    let m: Matcher = Matcher::new();
    m.add_list(list, ListOptions::default()).unwrap();
    for c in &centres {
        let r = m.query(&Query::new(HashKind::Pdq, *c, None));
        assert_eq!(found(&r), oracle(&entries, c, 31));
        assert!(
            !r.matches().is_empty(),
            "the planted neighbour at distance <= 20 is found"
        );
    }
}

#[test]
fn corrupt_index_section_fails_the_load_not_a_query() {
    let mut rng = Rng::new(3);
    let mut b = ListBuilder::new(HashKind::Pdq).name("bad").created(0);
    for i in 0..100 {
        b.add(rng.hash256(), EntryMeta::new(&format!("e{i}")))
            .unwrap();
    }
    b.add_section(hashsieve::list::INDEX_SECTION, b"not an index".to_vec())
        .unwrap();
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    assert!(hashsieve::matching::verify_index_section(&list).is_err());
    let m: Matcher = Matcher::new();
    assert!(m.add_list(list, ListOptions::default()).is_err());
    assert!(m.lists().is_empty());
}

/// A list of `n` random PDQ hashes with a multi-index hashing section, and its entries.
fn indexed_pdq_list(name: &str, rng: &mut Rng, n: usize) -> (Vec<u8>, Vec<(Hash256, String)>) {
    let mut b = ListBuilder::new(HashKind::Pdq).name(name).created(0);
    let mut entries = Vec::new();
    for i in 0..n {
        let h = rng.hash256();
        b.add(h, EntryMeta::new(&format!("{name}-{i}"))).unwrap();
        entries.push((h, format!("{name}-{i}")));
    }
    let bytes = b
        .index(IndexOptions::new(IndexKind::Mih).threshold(31))
        .to_vec()
        .unwrap();
    assert_eq!(
        HashList::from_bytes(bytes.clone()).unwrap().index_kind(),
        Some(IndexKind::Mih)
    );
    (bytes, entries)
}

/// Each list's index (the file's section, or one built) is parsed when the list is added and
/// never again: queries use it as it is. (The matcher used to parse the section again, with
/// the constant-time checks, on every query.)
#[test]
fn each_index_is_parsed_once_when_its_list_is_added() {
    use hashsieve::index::sections_parsed_on_this_thread as parsed;
    let mut rng = Rng::new(11);
    let (file, file_entries) = indexed_pdq_list("file", &mut rng, 6000);
    let (plain, plain_entries) = pdq_list("built", "v1", &mut rng, 6000, &[]);
    let m = Matcher::new();
    let before_add = parsed();
    m.add_list(HashList::from_bytes(file).unwrap(), ListOptions::default())
        .unwrap();
    m.add_list(
        HashList::from_bytes(plain).unwrap(),
        ListOptions::default().index(IndexKind::BkTree),
    )
    .unwrap();
    let added = parsed();
    assert!(
        added >= before_add + 2,
        "adding the lists parsed their indexes"
    );
    let infos = m.lists();
    assert_eq!(
        infos
            .iter()
            .map(|l| (l.name.as_str(), l.index, l.index_from_file))
            .collect::<Vec<_>>(),
        [
            ("file", IndexKind::Mih, true),
            ("built", IndexKind::BkTree, false)
        ]
    );
    let mut all: Vec<(Hash256, String)> = file_entries.clone();
    all.extend(plain_entries.iter().cloned());
    for (h, _) in file_entries.iter().chain(&plain_entries).step_by(97) {
        let mut q = *h;
        q.set_bit(5, !q.bit(5));
        let r = m.query(&Query::new(HashKind::Pdq, q, None));
        assert_eq!(found(&r), oracle(&all, &q, 31));
        assert!(!r.matches().is_empty());
    }
    assert_eq!(parsed(), added, "a query parsed an index section");
}

/// One matcher holds a memory-mapped list and an in-memory one at once (it used to take one
/// storage type for all its lists), and answers from both.
#[test]
fn one_matcher_mixes_mapped_and_in_memory_lists() {
    let mut rng = Rng::new(12);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mapped.hsl");
    let (mapped, mapped_entries) = indexed_pdq_list("mapped", &mut rng, 5000);
    std::fs::write(&path, &mapped).unwrap();
    let shared = mapped_entries[42].0;
    let (memory, memory_entries) = pdq_list("memory", "v1", &mut rng, 300, &[shared]);
    let m = Matcher::new();
    // SAFETY: the file is this test's own, and nothing writes to it while it is mapped.
    unsafe { m.add_list_file(&path, ListOptions::default()) }.unwrap();
    m.add_list(
        HashList::from_bytes(memory).unwrap(),
        ListOptions::default(),
    )
    .unwrap();
    let r = m.query(&Query::new(HashKind::Pdq, shared, None));
    let lists: Vec<&str> = r.matches().iter().map(|x| x.list.as_str()).collect();
    assert_eq!(lists, ["mapped", "memory"]);
    let mut all = mapped_entries;
    all.extend(memory_entries);
    assert_eq!(found(&r), oracle(&all, &shared, 31));
    assert!(m.remove_list("mapped"));
    let r = m.query(&Query::new(HashKind::Pdq, shared, None));
    assert_eq!(r.matches().len(), 1);
}

#[test]
fn quality_gate_and_kind_mismatch_are_reported() {
    let mut rng = Rng::new(5);
    let (bytes, _) = pdq_list("known", "v1", &mut rng, 10, &[]);
    let m: Matcher = Matcher::new();
    m.add_list(
        HashList::from_bytes(bytes.clone()).unwrap(),
        ListOptions::default(),
    )
    .unwrap();
    let h = rng.hash256();
    assert_eq!(
        m.query(&Query::new(HashKind::Pdq, h, Some(49))),
        QueryResult::Skipped(SkipReason::LowQuality {
            quality: 49,
            min: 50
        })
    );
    assert!(matches!(
        m.query(&Query::new(HashKind::Pdq, h, Some(50))),
        QueryResult::Searched(_)
    ));
    assert_eq!(
        m.query(&Query::new(HashKind::PHash, Hash64::from_u64(1), None)),
        QueryResult::Skipped(SkipReason::NoListOfKind(HashKind::PHash))
    );
    let open: Matcher = Matcher::with_options(MatcherOptions::default().min_pdq_quality(0));
    open.add_list(HashList::from_bytes(bytes).unwrap(), ListOptions::default())
        .unwrap();
    assert!(matches!(
        open.query(&Query::new(HashKind::Pdq, h, Some(0))),
        QueryResult::Searched(_)
    ));
    let too_big = ListOptions::default().threshold(257);
    let (bytes, _) = pdq_list("x", "v1", &mut rng, 1, &[]);
    assert!(open
        .add_list(HashList::from_bytes(bytes).unwrap(), too_big)
        .is_err());
}

#[test]
fn dihedral_fan_out_reports_the_orientation_that_matched() {
    // A synthetic, asymmetric image; the list holds the hash of its pixels rotated 90 degrees.
    let (w, h) = (120u32, 80u32);
    let px: Vec<u8> = (0..w * h)
        .map(|i| ((i % w) * 2 + (i / w) * (i / w) / 30 + (i % 7) * 5) as u8)
        .collect();
    let mut rot = vec![0u8; px.len()];
    for y in 0..h {
        for x in 0..w {
            // 90 degrees counter-clockwise: (x, y) -> (y, w - 1 - x) in an h x w image.
            rot[((w - 1 - x) * h + y) as usize] = px[(y * w + x) as usize];
        }
    }
    let original = PixelBuffer::packed(&px, w, h, PixelLayout::Luma8).unwrap();
    let rotated = PixelBuffer::packed(&rot, h, w, PixelLayout::Luma8).unwrap();
    let mut b = ListBuilder::new(HashKind::Pdq)
        .name("rot")
        .created(0)
        .min_quality(0);
    b.add(pdq::pdq(&rotated).hash, EntryMeta::new("rotated"))
        .unwrap();
    let m: Matcher = Matcher::with_options(MatcherOptions::default().min_pdq_quality(0));
    m.add_list(
        HashList::from_bytes(b.to_vec().unwrap()).unwrap(),
        ListOptions::default(),
    )
    .unwrap();
    let dih = pdq::pdq_dihedral(&original);
    let result = m.query(&Query::pdq_dihedral(&dih));
    let best = &result.matches()[0];
    assert_eq!(best.orientation, Some(Dihedral::Rot90));
    assert_eq!(
        best.distance,
        dih.get(Dihedral::Rot90).distance(&pdq::pdq(&rotated).hash)
    );
    assert_eq!(
        result.matches().len(),
        1,
        "one record per matched hash, best orientation kept"
    );
}

#[test]
fn replacing_a_list_under_load_never_mixes_versions() {
    let mut rng = Rng::new(99);
    let queries: Vec<Hash256> = (0..40).map(|_| rng.hash256()).collect();
    // v1 holds near copies of the even queries, v2 of the odd ones, with version-tagged ids.
    let build = |version: &str, parity: usize, rng: &mut Rng| {
        let planted: Vec<Hash256> = queries
            .iter()
            .skip(parity)
            .step_by(2)
            .map(|q| rng.near(*q, 5))
            .collect();
        pdq_list("daily", version, rng, 2000, &planted).0
    };
    let v1 = build("v1", 0, &mut rng);
    let v2 = build("v2", 1, &mut rng);
    let m: Arc<Matcher> = Arc::new(Matcher::new());
    m.add_list(
        HashList::from_bytes(v1.clone()).unwrap(),
        ListOptions::default(),
    )
    .unwrap();
    let batch: Vec<Query> = queries
        .iter()
        .map(|q| Query::new(HashKind::Pdq, *q, None))
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let checked = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (m, stop, checked, batch) =
                (m.clone(), stop.clone(), checked.clone(), batch.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let results = m.query_batch(&batch);
                    let versions: Vec<&str> = results
                        .iter()
                        .flat_map(|r| r.matches().iter().map(|x| x.list_version.as_str()))
                        .collect();
                    let v = versions[0];
                    assert!(
                        versions.iter().all(|x| *x == v),
                        "one batch saw two versions"
                    );
                    let parity = if v == "v1" { 0 } else { 1 };
                    for (i, r) in results.iter().enumerate() {
                        assert_eq!(
                            !r.matches().is_empty(),
                            i % 2 == parity,
                            "query {i} under {v}"
                        );
                        assert!(r
                            .matches()
                            .iter()
                            .all(|x| x.entry_ids.iter().all(|id| id.starts_with("daily-"))));
                    }
                    checked.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // At least 60 swaps, and on until the workers have checked some batches (a loaded machine
    // may not schedule them during the first 60); a worker that panicked ends the loop too.
    let mut round = 0;
    while round < 60
        || (checked.load(Ordering::Relaxed) < 6 && !workers.iter().any(|w| w.is_finished()))
    {
        round += 1;
        let next = if round % 2 == 1 { &v2 } else { &v1 };
        m.replace_list(
            HashList::from_bytes(next.clone()).unwrap(),
            ListOptions::default(),
        )
        .unwrap();
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("no query failed");
    }
    assert!(checked.load(Ordering::Relaxed) > 0);
    assert_eq!(m.lists().len(), 1);
}

/// Two lists of one name: the second `add_list` is refused (it used to replace the first
/// silently, so a caller who loaded two lists searched one); `replace_list` replaces on purpose.
#[test]
fn a_second_list_of_the_same_name_is_refused() {
    let mut rng = Rng::new(5);
    let a = rng.hash256();
    let b = rng.hash256();
    let (first, _) = pdq_list("same", "1", &mut rng, 10, &[a]);
    let (second, _) = pdq_list("same", "2", &mut rng, 10, &[b]);
    let m: Matcher = Matcher::new();
    m.add_list(HashList::from_bytes(first).unwrap(), ListOptions::default())
        .unwrap();
    let err = m
        .add_list(
            HashList::from_bytes(second.clone()).unwrap(),
            ListOptions::default(),
        )
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::DuplicateList { name } if name == "same"),
        "{err}"
    );
    assert!(err.to_string().contains("already loaded"), "{err}");
    // The first list is still the one searched.
    assert_eq!(m.lists().len(), 1);
    assert_eq!(m.lists()[0].version, "1");
    assert!(!m
        .query(&Query::new(HashKind::Pdq, a, None))
        .matches()
        .is_empty());
    // Replacing it on purpose works, in place.
    m.replace_list(
        HashList::from_bytes(second).unwrap(),
        ListOptions::default(),
    )
    .unwrap();
    assert_eq!(m.lists()[0].version, "2");
    assert!(m
        .query(&Query::new(HashKind::Pdq, a, None))
        .matches()
        .is_empty());
    assert!(!m
        .query(&Query::new(HashKind::Pdq, b, None))
        .matches()
        .is_empty());
}

/// Entries with the pytx opinions NEGATIVE_CLASS or DISPUTED are hidden by default; the filter
/// (show hidden, only, exclude) is checked against a brute-force oracle over random lists whose
/// hashes carry one to three entries with random categories.
#[test]
fn category_filter_agrees_with_brute_force() {
    const CATS: [&str; 5] = [
        "category:POSITIVE_CLASS",
        "category:NEGATIVE_CLASS",
        "category:DISPUTED",
        "category:INVESTIGATION_SEED",
        "tag:ncmec",
    ];
    let mut rng = Rng::new(77);
    let queries: Vec<Hash256> = (0..20).map(|_| rng.hash256()).collect();
    // (hash, id, categories) for every entry.
    let mut entries: Vec<(Hash256, String, Vec<&str>)> = Vec::new();
    let mut b = ListBuilder::new(HashKind::Pdq).name("cats").created(0);
    for (i, q) in queries.iter().enumerate() {
        let h = rng.near(*q, 4);
        for e in 0..1 + (rng.next() % 3) as usize {
            let id = format!("e{i}-{e}");
            let cats: Vec<&str> = CATS
                .iter()
                .copied()
                .filter(|_| rng.next().is_multiple_of(3))
                .collect();
            let mut meta = EntryMeta::new(&id);
            for c in &cats {
                let (scheme, code) = c.split_once(':').unwrap();
                meta = meta.category(Category::new(scheme, code));
            }
            b.add(h, meta).unwrap();
            entries.push((h, id.clone(), cats));
        }
    }
    let bytes = b.to_vec().unwrap();
    let filters = [
        CategoryFilter::default(),
        CategoryFilter::default().show_hidden(true),
        CategoryFilter::default().only(["tag:ncmec"]),
        CategoryFilter::default().only(["category:disputed"]),
        CategoryFilter::default().exclude(["category:POSITIVE_CLASS"]),
        CategoryFilter::default()
            .show_hidden(true)
            .exclude(["tag:ncmec"]),
    ];
    let mut totals = Vec::new();
    for (n, filter) in filters.iter().enumerate() {
        let mut total = 0;
        let has = |cats: &[&str], set: &[String]| {
            cats.iter()
                .any(|c| set.iter().any(|s| s.eq_ignore_ascii_case(c)))
        };
        // The oracle: the rules of the filter, entry by entry.
        let shown = |cats: &[&str]| {
            let hidden = cats
                .iter()
                .any(|c| has(&[c], &filter.hidden) && !has(&[c], &filter.only));
            !has(cats, &filter.exclude)
                && (filter.only.is_empty() || has(cats, &filter.only))
                && (!hidden || filter.show_hidden)
        };
        let m: Matcher =
            Matcher::with_options(MatcherOptions::default().categories(filter.clone()));
        m.add_list(
            HashList::from_bytes(bytes.clone()).unwrap(),
            ListOptions::default(),
        )
        .unwrap();
        for q in &queries {
            let result = m.query(&Query::new(HashKind::Pdq, *q, None));
            let mut want: Vec<(String, u32)> = entries
                .iter()
                .filter(|(h, _, cats)| h.distance(q) <= 31 && shown(cats))
                .map(|(h, id, _)| (id.clone(), h.distance(q)))
                .collect();
            want.sort();
            total += want.len();
            assert_eq!(found(&result), want, "filter {n}");
            // The categories reported are those of the entries reported.
            for r in result.matches() {
                let mut cats: Vec<String> = entries
                    .iter()
                    .filter(|(_, id, _)| r.entry_ids.contains(id))
                    .flat_map(|(_, _, c)| c.iter().map(|c| c.to_string()))
                    .collect();
                cats.sort();
                cats.dedup();
                assert_eq!(r.categories, cats, "filter {n}");
            }
        }
        totals.push(total);
    }
    // The random categories exercise every filter: showing the hidden ones reports every
    // entry, and each other filter some but not all.
    assert_eq!(totals[1], entries.len());
    assert!(
        totals
            .iter()
            .enumerate()
            .all(|(i, &t)| i == 1 || (t > 0 && t < entries.len())),
        "{totals:?}"
    );
    // By default an entry whose only opinion is NEGATIVE_CLASS is not reported.
    assert!(!CategoryFilter::default().reports(["category:NEGATIVE_CLASS"]));
}
