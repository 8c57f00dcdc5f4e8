//! Updates (deltas with tombstones) and merges, against a brute-force oracle.

use std::collections::BTreeMap;

use hashsieve::index::{IndexKind, IndexOptions};
use hashsieve::list::update::{merge_into, update, Delta};
use hashsieve::list::{EntryMeta, HashList, ListBuilder, INDEX_SECTION};
use hashsieve::matching::{ListOptions, Matcher, Query};
use hashsieve::{ErrorKind, Hash64, HashKind};
use proptest::prelude::*;

type Content = BTreeMap<u64, Vec<(String, Option<String>)>>;

fn list_from(entries: &[(u64, &str)]) -> HashList<Vec<u8>> {
    let mut b = ListBuilder::new(HashKind::PHash)
        .name("base")
        .version("1")
        .allow_degenerate(true);
    for &(h, id) in entries {
        b.add(Hash64::from_u64(h), EntryMeta::new(id)).unwrap();
    }
    HashList::from_bytes(b.to_vec().unwrap()).unwrap()
}

fn content<D: AsRef<[u8]>>(list: &HashList<D>) -> Content {
    list.iter()
        .map(|(h, es)| {
            let hex = h.to_hex();
            let v = u64::from_str_radix(&hex, 16).unwrap();
            (
                v,
                es.map(|e| (e.id().to_owned(), e.source().map(str::to_owned)))
                    .collect(),
            )
        })
        .collect()
}

fn apply(
    base: &HashList<Vec<u8>>,
    delta_text: &str,
) -> (HashList<Vec<u8>>, hashsieve::list::update::UpdateReport) {
    let delta = Delta::parse(delta_text.as_bytes(), "delta", HashKind::PHash, 0).unwrap();
    let mut b = ListBuilder::new(HashKind::PHash)
        .name(base.name())
        .version("2");
    let report = update(base, &delta, &mut b).unwrap();
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    list.verify().unwrap();
    (list, report)
}

#[test]
fn delta_lines_add_and_remove() {
    let base = list_from(&[(1, "a"), (1, "b"), (2, "c"), (3, "d"), (3, "e")]);
    let delta = "# daily delta\n\
                 -0000000000000001\n\
                 -0000000000000003,d\n\
                 -0000000000000009\n\
                 -0000000000000003,zz\n\
                 +0000000000000003,f\n\
                 +0000000000000004,g\n\
                 +0000000000000005\n";
    let (list, report) = apply(&base, delta);
    assert_eq!(
        (
            report.kept,
            report.removed,
            report.removals_not_found,
            report.added
        ),
        (2, 3, 2, 3)
    );
    let mut expected = Content::new();
    expected.insert(2, vec![("c".into(), None)]);
    expected.insert(3, vec![("e".into(), None), ("f".into(), None)]);
    expected.insert(4, vec![("g".into(), None)]);
    expected.insert(5, vec![("idx=3".into(), None)]);
    assert_eq!(content(&list), expected);
    assert_eq!((list.name(), list.version()), ("base", "2"));
}

#[test]
fn delta_csv_with_op_column() {
    let base = list_from(&[(1, "a"), (2, "b"), (2, "c")]);
    let delta = "op,hash,id,quality,categories,source\n\
                 remove,0000000000000002,b,,,\n\
                 -,0000000000000001,,,,\n\
                 add,0000000000000007,n1,,uk:A,feed\n";
    let (list, report) = apply(&base, delta);
    assert_eq!((report.kept, report.removed, report.added), (1, 2, 1));
    let e = list
        .entries_of(list.position(Hash64::from_u64(7)).unwrap())
        .next()
        .unwrap();
    assert_eq!((e.id(), e.source()), ("n1", Some("feed")));
    assert_eq!(
        e.categories().map(|c| c.to_string()).collect::<Vec<_>>(),
        ["uk:A"]
    );
}

#[test]
fn delta_errors_name_lines_without_hashes() {
    let text = "+0000000000000001,a\n*0000000000000002\n+00000000000000zz\n";
    let err = Delta::parse(text.as_bytes(), "d.txt", HashKind::PHash, 0).unwrap_err();
    let ErrorKind::Parse { line, .. } = err.kind() else {
        panic!("{err}")
    };
    assert_eq!(*line, 2, "{err}");
    assert_eq!(err.path(), Some(std::path::Path::new("d.txt")));
    let delta = Delta::parse(text.as_bytes(), "d.txt", HashKind::PHash, 5).unwrap();
    assert_eq!((delta.additions(), delta.malformed()), (1, 2));
    assert!(delta.messages()[1].starts_with("d.txt:3: "));
    assert!(!delta.messages().join("\n").contains("00000000000000zz"));
    // A CSV delta without an op column is refused as a whole.
    let err = Delta::parse(
        &b"hash,id\n0000000000000001,a\n"[..],
        "d.csv",
        HashKind::PHash,
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"op\""), "{err}");
}

#[test]
fn updates_copy_entries_without_refiltering_but_filter_additions() {
    // A base built with the quality floor off keeps its low-quality entry through updates.
    let mut b = ListBuilder::new(HashKind::Pdq).min_quality(0);
    let h = hashsieve::Hash256::from_limbs([1, 2, 3, 4]);
    b.add(h, EntryMeta::new("low").quality(10)).unwrap();
    let base = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    let delta = Delta::parse(
        &b"+0000000000000000000000000000000000000000000000000000000000000000,blank\n"[..],
        "d",
        HashKind::Pdq,
        0,
    )
    .unwrap();
    let mut next = ListBuilder::new(HashKind::Pdq);
    let report = update(&base, &delta, &mut next).unwrap();
    assert_eq!((report.kept, report.added, report.rejected), (1, 0, 1));
    let list = HashList::from_bytes(next.to_vec().unwrap()).unwrap();
    assert_eq!(list.entries_of(0).next().unwrap().quality(), Some(10));
    // Kinds must agree.
    let mut wrong = ListBuilder::new(HashKind::PHash);
    assert!(matches!(
        update(&base, &delta, &mut wrong).unwrap_err().kind(),
        ErrorKind::Mismatch(_)
    ));
}

#[test]
fn merge_records_sources_and_keeps_earlier_ones() {
    let a = list_from(&[(1, "a1"), (2, "a2")]);
    let b = list_from(&[(2, "b2"), (3, "b3")]);
    let mut m = ListBuilder::new(HashKind::PHash).name("ab");
    merge_into(&mut m, &a, "list-a").unwrap();
    merge_into(&mut m, &b, "list-b").unwrap();
    let ab = HashList::from_bytes(m.to_vec().unwrap()).unwrap();
    let c = list_from(&[(2, "c2")]);
    let mut m = ListBuilder::new(HashKind::PHash).name("abc");
    merge_into(&mut m, &ab, "ab").unwrap();
    merge_into(&mut m, &c, "list-c").unwrap();
    let abc = HashList::from_bytes(m.to_vec().unwrap()).unwrap();
    abc.verify().unwrap();
    let got = content(&abc);
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(got[&1], [("a1".into(), s("list-a"))]);
    assert_eq!(
        got[&2],
        [
            ("a2".into(), s("list-a")),
            ("b2".into(), s("list-b")),
            ("c2".into(), s("list-c"))
        ]
    );
    assert_eq!(got[&3], [("b3".into(), s("list-b"))]);
    let mut wrong = ListBuilder::new(HashKind::Pdq);
    assert!(merge_into(&mut wrong, &a, "x").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Oracle: apply the delta to a plain map.
    #[test]
    fn update_matches_a_brute_force_model(
        base in prop::collection::vec((0u64..6, "[a-c]"), 0..20),
        ops in prop::collection::vec((any::<bool>(), 0u64..8, prop::option::of("[a-d]")), 0..12),
    ) {
        let base_refs: Vec<(u64, &str)> = base.iter().map(|(h, id)| (*h, id.as_str())).collect();
        let list = list_from(&base_refs);
        let mut text = String::new();
        for (add, h, id) in &ops {
            let sign = if *add { '+' } else { '-' };
            match id {
                Some(id) => text.push_str(&format!("{sign}{h:016x},{id}\n")),
                None if *add => text.push_str(&format!("{sign}{h:016x},x\n")),
                None => text.push_str(&format!("{sign}{h:016x}\n")),
            }
        }
        let (got, _) = apply(&list, &text);
        // Model: removals against the base, then additions in order.
        let mut model: Vec<(u64, String)> = base.clone();
        for (add, h, id) in &ops {
            if !*add {
                model.retain(|(mh, mid)| !(mh == h && id.as_ref().is_none_or(|id| id == mid)));
            }
        }
        for (add, h, id) in &ops {
            // Additions go through the builder's rules: the all-zero hash is rejected.
            if *add && *h != 0 {
                model.push((*h, id.clone().unwrap_or_else(|| "x".into())));
            }
        }
        let mut expected = Content::new();
        for (h, id) in model {
            expected.entry(h).or_default().push((id, None));
        }
        prop_assert_eq!(content(&got), expected);
    }
}

/// Fuzz regression (import_delta): an addition with a malformed category used to pass the
/// delta parser and fail later in `update`; it is now a malformed line of the delta.
#[test]
fn delta_rejects_malformed_categories_at_their_line() {
    let text =
        b"op,hash,categories,source\nadd,b1946ac92492d234,x\0\0,s\nremove,0000000000000001,,\n";
    let err = Delta::parse(&text[..], "d.csv", HashKind::PHash, 0).unwrap_err();
    let ErrorKind::Parse { line, reason, .. } = err.kind() else {
        panic!("{err}")
    };
    assert_eq!(*line, 2, "{err}");
    assert!(reason.starts_with("malformed category"), "{reason}");
    let delta = Delta::parse(&text[..], "d.csv", HashKind::PHash, 1).unwrap();
    assert_eq!(
        (delta.additions(), delta.removals(), delta.malformed()),
        (0, 1, 1)
    );
    let base = list_from(&[(1, "a")]);
    let mut b = ListBuilder::new(HashKind::PHash);
    update(&base, &delta, &mut b).unwrap();
}

#[test]
fn delta_with_cr_only_line_ends_reads_every_line() {
    let base = list_from(&[(1, "a"), (2, "b")]);
    let lf = "# comment\n-0000000000000001\n+0000000000000003,c\n+0000000000000004,d\n";
    let cr = lf.replace('\n', "\r");
    let (from_cr, cr_report) = apply(&base, &cr);
    let (from_lf, lf_report) = apply(&base, lf);
    assert_eq!(content(&from_cr), content(&from_lf));
    assert_eq!(cr_report, lf_report);
    assert_eq!(content(&from_cr).len(), 3);
    // The CSV form too.
    let csv = "op,hash,id\r-,0000000000000001,\r+,0000000000000003,c\r+,0000000000000004,d\r";
    let (from_csv, _) = apply(&base, csv);
    assert_eq!(content(&from_csv), content(&from_lf));
}

#[test]
fn delta_every_line_malformed_fails_whatever_max_errors() {
    for text in [
        "+00000000000000zz,a\n-12\n",
        "op,hash\n+,0000zz\n",
        "op,hash,id\n+,0000000000000001,\"a\n+,0000000000000002,b\n",
    ] {
        let err = Delta::parse(text.as_bytes(), "d.txt", HashKind::PHash, 100).unwrap_err();
        let ErrorKind::Parse { reason, .. } = err.kind() else {
            panic!("{err}")
        };
        assert!(reason.contains("every record"), "{reason}");
    }
    // An unterminated quote names its line and span.
    let text = "op,hash,id\n+,0000000000000001,a\n+,0000000000000002,\"b\n+,0000000000000003,c\n";
    let delta = Delta::parse(text.as_bytes(), "d.csv", HashKind::PHash, 5).unwrap();
    assert_eq!((delta.additions(), delta.malformed()), (1, 2));
    assert!(
        delta.messages()[0].starts_with("d.csv:3: "),
        "{:?}",
        delta.messages()
    );
    assert!(delta.messages()[0].contains("to line 4"));
}

/// A fixed-seed generator of 64-bit hashes (SplitMix64), local so the test's lists never change.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A list of random hashes plus near neighbours of `centres`, with an index of `kind`.
fn indexed_list(
    seed: u64,
    centres: &[u64],
    kind: IndexKind,
) -> (HashList<Vec<u8>>, Vec<(u64, String)>) {
    let mut g = Gen(seed);
    let mut b = ListBuilder::new(HashKind::PHash)
        .name(format!("list-{seed}"))
        .index(IndexOptions::new(kind).threshold(10));
    let mut entries = Vec::new();
    for i in 0..5000u64 {
        let h = if i < centres.len() as u64 * 4 {
            // Planted: within 2·(i % 4) bits of a centre.
            let c = centres[(i / 4) as usize];
            let flips = (0..2 * (i % 4)).fold(0u64, |m, _| m | 1 << (g.next() % 64));
            c ^ flips
        } else {
            g.next()
        };
        let id = format!("s{seed}-e{i}");
        b.add(Hash64::from_u64(h), EntryMeta::new(&id)).unwrap();
        entries.push((h, id));
    }
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    assert_eq!(list.index_kind(), Some(kind));
    (list, entries)
}

/// Every query near a centre, answered by a matcher over `list` (which searches with the list's
/// index section when it has one), equals a brute-force scan of `entries`.
fn assert_answers_equal_brute_force<D: AsRef<[u8]> + Send + Sync + 'static>(
    list: HashList<D>,
    entries: &[(u64, String)],
    centres: &[u64],
) {
    let m = Matcher::new();
    m.add_list(list, ListOptions::default().threshold(10))
        .unwrap();
    for &c in centres {
        let result = m.query(&Query::new(HashKind::PHash, Hash64::from_u64(c), None));
        let found = crate::common::found(&result);
        let mut expected: Vec<(String, u32)> = entries
            .iter()
            .map(|(h, id)| (id.clone(), (h ^ c).count_ones()))
            .filter(|&(_, d)| d <= 10)
            .collect();
        expected.sort();
        assert!(!expected.is_empty());
        assert_eq!(found, expected);
    }
}

/// Regression: `update` and `merge` wrote the new list without the base's index section, so
/// every process had to rebuild the index at load. They now re-derive the kind the input had,
/// over the new hashes.
#[test]
fn update_and_merge_keep_the_index_kind_and_it_answers_exactly() {
    let centres: Vec<u64> = {
        let mut g = Gen(99);
        (0..8).map(|_| g.next()).collect()
    };
    for kind in [IndexKind::BkTree, IndexKind::Mih] {
        let (base, mut entries) = indexed_list(1, &centres, kind);

        // update: remove two planted entries (one whole hash, one by id), add new neighbours.
        let removed_hash = entries[1].0;
        let mut text = format!(
            "-{removed_hash:016x}\n-{:016x},{}\n",
            entries[6].0, entries[6].1
        );
        for (i, c) in centres.iter().enumerate() {
            text += &format!("+{:016x},new-{i}\n", c ^ 0b101);
        }
        let delta = Delta::parse(text.as_bytes(), "d", HashKind::PHash, 0).unwrap();
        let mut b = ListBuilder::new(HashKind::PHash).name("next");
        update(&base, &delta, &mut b).unwrap();
        let next = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
        assert_eq!(
            next.index_kind(),
            Some(kind),
            "update kept the {kind} index"
        );
        let removed_id = entries[6].1.clone();
        entries.retain(|(h, id)| *h != removed_hash && *id != removed_id);
        for (i, c) in centres.iter().enumerate() {
            entries.push((c ^ 0b101, format!("new-{i}")));
        }
        assert_answers_equal_brute_force(next, &entries, &centres);

        // merge: an unindexed list first, then the indexed one; the index kind is kept.
        let plain = list_from(&[(centres[0] ^ 1, "plain")]);
        let (indexed, indexed_entries) = indexed_list(2, &centres, kind);
        let mut b = ListBuilder::new(HashKind::PHash).name("merged");
        merge_into(&mut b, &plain, "plain").unwrap();
        merge_into(&mut b, &indexed, "indexed").unwrap();
        let merged = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
        assert_eq!(
            merged.index_kind(),
            Some(kind),
            "merge kept the {kind} index"
        );
        let mut all = indexed_entries;
        all.push((centres[0] ^ 1, "plain".to_owned()));
        assert_answers_equal_brute_force(merged, &all, &centres);
    }
}

/// The builder's own index options win over the input's: another kind, or none (`Linear`).
#[test]
fn update_with_explicit_index_options_overrides_the_base() {
    let (base, _) = indexed_list(3, &[], IndexKind::Mih);
    let delta = Delta::parse(&b"+00000000000000ab,x\n"[..], "d", HashKind::PHash, 0).unwrap();
    for (asked, expected) in [
        (IndexKind::BkTree, Some(IndexKind::BkTree)),
        (IndexKind::Linear, None),
    ] {
        let mut b = ListBuilder::new(HashKind::PHash).index(IndexOptions::new(asked));
        update(&base, &delta, &mut b).unwrap();
        let next = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
        assert_eq!(next.index_kind(), expected);
        assert_eq!(next.section(INDEX_SECTION).is_some(), expected.is_some());
    }
    // Without an index in the base, none is added.
    let plain = list_from(&[(1, "a")]);
    let mut b = ListBuilder::new(HashKind::PHash).allow_degenerate(true);
    update(&plain, &delta, &mut b).unwrap();
    assert_eq!(
        HashList::from_bytes(b.to_vec().unwrap())
            .unwrap()
            .index_kind(),
        None
    );
}
