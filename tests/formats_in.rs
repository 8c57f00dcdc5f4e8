//! Every hash-text format the record reader reads (issue 11, section 2): golden files written
//! from each format's documented shape (tests/data/formats/, with `.expected` records), the
//! real outputs of the PDQ C++ tools and python-threatexchange (tests/data/formats/real/,
//! checked against each other), regressions for the defects of the issue, ambiguity, and a
//! round-trip property over random records in each format's shape.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use hashsieve::algo::pdq::Dihedral;
use hashsieve::list::records::{InputFormat, Item, ReadOptions, Record, RecordReader, SkipReason};
use hashsieve::{ErrorKind, HashKind};
use proptest::prelude::*;

/// Two PDQ hashes (of no image in particular) that the format tests write in their inputs.
const A: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const B: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

fn formats_dir() -> PathBuf {
    common::data("formats")
}

fn read_all(
    text: &[u8],
    options: &ReadOptions,
) -> hashsieve::Result<(Option<InputFormat>, Vec<Item>)> {
    let mut reader = RecordReader::new(text, "input", options)?;
    let mut items = Vec::new();
    while let Some(item) = reader.next_item()? {
        items.push(item);
    }
    Ok((reader.format(), items))
}

fn records(items: &[Item]) -> Vec<Record> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// An item as the `.expected` files write it.
fn expected_item(v: &serde_json::Value) -> String {
    let line = v["line"].as_u64().unwrap();
    if let Some(reason) = v.get("skip") {
        return format!("{line} skip {}", reason.as_str().unwrap());
    }
    if v.get("malformed").is_some() {
        return format!("{line} malformed");
    }
    let r = &v["record"];
    let opt = |k: &str| match &r[k] {
        serde_json::Value::Null => "-".to_owned(),
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    let cats: Vec<String> = r["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    format!(
        "{line} {} {} q={} id={} cats={cats:?} src={} o={}",
        r["kind"].as_str().unwrap(),
        r["hash"].as_str().unwrap(),
        opt("quality"),
        opt("id"),
        opt("source"),
        opt("orientation"),
    )
}

/// The same text for an item read.
fn item_text(item: &Item) -> String {
    match item {
        Item::Skipped { line, reason } => {
            let name = match reason {
                SkipReason::OtherKind => "other-kind",
                SkipReason::OtherSignalType => "other-signal-type",
                SkipReason::NoHash => "no-hash",
                SkipReason::Duplicate => "duplicate",
                _ => "?",
            };
            format!("{line} skip {name}")
        }
        Item::Malformed { line, .. } => format!("{line} malformed"),
        Item::Record(r) => {
            let opt = |o: Option<String>| o.map_or("-".to_owned(), |s| format!("{s:?}"));
            format!(
                "{} {} {} q={} id={} cats={:?} src={} o={}",
                r.line,
                r.kind,
                r.hash.to_hex(),
                r.quality.map_or("-".to_owned(), |q| q.to_string()),
                opt(r.id.clone()),
                r.categories,
                opt(r.source.clone()),
                opt(r.orientation.map(|o| o.name().to_owned())),
            )
        }
        _ => "?".to_owned(),
    }
}

fn golden_inputs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(formats_dir()).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() || dir.ends_with("real") {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e != "expected")
                && f.with_extension(format!(
                    "{}.expected",
                    f.extension().unwrap().to_str().unwrap()
                ))
                .exists()
            {
                out.push(f);
            }
        }
    }
    out.sort();
    out
}

/// Every golden file is detected as its format and reads to exactly its expected items, with
/// detection and with the format named.
#[test]
fn golden_files_read_to_their_expected_records() {
    let inputs = golden_inputs();
    assert!(inputs.len() >= 30, "golden files missing: {}", inputs.len());
    for path in inputs {
        let text = std::fs::read(&path).unwrap();
        let exp_path = PathBuf::from(format!("{}.expected", path.display()));
        let exp_text = std::fs::read_to_string(&exp_path).unwrap();
        let mut lines = exp_text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap());
        let format: InputFormat = lines.next().unwrap()["format"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let expected: Vec<String> = lines.map(|v| expected_item(&v)).collect();
        let name = path
            .strip_prefix(formats_dir())
            .unwrap()
            .display()
            .to_string();
        let (detected, items) =
            read_all(&text, &ReadOptions::new()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(detected, Some(format), "{name}: detected format");
        let got: Vec<String> = items.iter().map(item_text).collect();
        assert_eq!(got, expected, "{name}");
        let (_, named) = read_all(&text, &ReadOptions::new().format(format)).unwrap();
        assert_eq!(named, items, "{name}: with the format named");
    }
}

/// Reading with `kinds` keeps the rows of those kinds and skips the others as `OtherKind`.
#[test]
fn rows_of_other_kinds_are_skipped_and_counted() {
    let text = std::fs::read(formats_dir().join("hashsieve/hash.tsv")).unwrap();
    let (_, all) = read_all(&text, &ReadOptions::new()).unwrap();
    let (_, pdq) = read_all(&text, &ReadOptions::new().kinds([HashKind::Pdq])).unwrap();
    assert_eq!(all.len(), pdq.len());
    for (a, p) in all.iter().zip(&pdq) {
        match a {
            Item::Record(r) if r.kind != HashKind::Pdq => assert_eq!(
                *p,
                Item::Skipped {
                    line: r.line,
                    reason: SkipReason::OtherKind
                }
            ),
            _ => assert_eq!(a, p),
        }
    }
}

// ---- real outputs, checked against each other ----

fn real(name: &str) -> Vec<u8> {
    std::fs::read(formats_dir().join("real").join(name)).unwrap()
}

/// (file, orientation, hash, quality) of every record.
type Key = (String, Option<Dihedral>, String, Option<u8>);

fn keys(name: &str, format: InputFormat) -> Vec<Key> {
    let (detected, items) = read_all(&real(name), &ReadOptions::new()).unwrap();
    assert_eq!(detected, Some(format), "{name}");
    assert!(
        items.iter().all(|i| !matches!(i, Item::Malformed { .. })),
        "{name}: {items:?}"
    );
    records(&items)
        .into_iter()
        .map(|r| (r.id.unwrap(), r.orientation, r.hash.to_hex(), r.quality))
        .collect()
}

/// The four dihedral modes of `pdq-photo-hasher` give the same 8 hashes per file, with their
/// orientations and the file's quality; the default and `-d` outputs agree.
#[test]
fn real_pdq_hasher_outputs_agree_with_each_other() {
    let across: BTreeSet<Key> = keys("cpp/pdqdih-across.txt", InputFormat::PdqHasher)
        .into_iter()
        .collect();
    assert_eq!(across.len(), 7 * 8);
    assert!(across.iter().all(|k| k.1.is_some()));
    let d_across: BTreeSet<Key> = keys("cpp/d-pdqdih-across.txt", InputFormat::PdqHasher)
        .into_iter()
        .collect();
    assert_eq!(d_across, across);
    // -d --pdqdih: the quality row (no orientation) plus 7 xform rows (the orig row repeats
    // it and is skipped).
    let d_dih = keys("cpp/d-pdqdih.txt", InputFormat::PdqHasher);
    let d_dih: BTreeSet<Key> = d_dih
        .into_iter()
        .map(|(f, o, h, q)| (f, o.or(Some(Dihedral::Orig)), h, q))
        .collect();
    assert_eq!(d_dih, across);
    // --pdqdih: no orientation printed, in the reference order.
    let dih = keys("cpp/pdqdih.txt", InputFormat::PdqHasher);
    let with_order: BTreeSet<Key> = dih
        .chunks(8)
        .flat_map(|c| {
            c.iter()
                .zip(Dihedral::ALL)
                .map(|((f, _, h, q), d)| (f.clone(), Some(d), h.clone(), *q))
        })
        .collect();
    assert_eq!(with_order, across);
    // Default and -d: the same (file, hash, quality), including a file name with a comma.
    let default = keys("cpp/default.txt", InputFormat::PdqHasher);
    assert_eq!(default, keys("cpp/d.txt", InputFormat::PdqHasher));
    assert!(default.iter().any(|k| k.0 == "imgs/my cat, copy.png"));
    for (f, _, h, q) in &default {
        if f != "imgs/my cat, copy.png" {
            assert!(across.contains(&(f.clone(), Some(Dihedral::Orig), h.clone(), *q)));
        }
    }
}

/// pytx's text and CSV dataset outputs give the same PDQ signals; every other signal type is
/// skipped, never a failure.
#[test]
fn real_pytx_outputs_agree_with_each_other() {
    let read = |name: &str| {
        let (f, items) = read_all(&real(name), &ReadOptions::new()).unwrap();
        let malformed = items
            .iter()
            .filter(|i| matches!(i, Item::Malformed { .. }))
            .count();
        let skipped = items
            .iter()
            .filter(|i| {
                matches!(
                    i,
                    Item::Skipped {
                        reason: SkipReason::OtherSignalType,
                        ..
                    }
                )
            })
            .count();
        (f.unwrap(), records(&items), skipped, malformed)
    };
    let (f, p, skipped, bad) = read("pytx/dataset-P.txt");
    assert_eq!(
        (f, p.len(), skipped, bad),
        (InputFormat::PytxSignals, 16, 10, 0)
    );
    let hashes =
        |rs: &[Record]| -> BTreeSet<String> { rs.iter().map(|r| r.hash.to_hex()).collect() };
    let all = hashes(&p);
    for r in &p {
        assert_eq!(r.source.as_deref(), Some("Sample Signals"));
        assert_eq!(r.categories, ["category:INVESTIGATION_SEED"]);
    }
    for (name, format, skip) in [
        ("pytx/dataset-P-S.txt", InputFormat::PytxSignals, 10),
        ("pytx/dataset-P-s-pdq.txt", InputFormat::PytxSignals, 0),
        ("pytx/dataset-P-S-s-pdq.txt", InputFormat::Hex, 0),
        ("pytx/dataset-P-c-collab.txt", InputFormat::PytxSignals, 10),
        ("pytx/dataset-P-csv.csv", InputFormat::PytxCsv, 10),
        ("pytx/dataset-P-csv-s-pdq.csv", InputFormat::PytxCsv, 0),
    ] {
        let (f, rs, skipped, bad) = read(name);
        assert_eq!((f, skipped, bad), (format, skip, 0), "{name}");
        assert_eq!(hashes(&rs), all, "{name}");
    }
    let (_, rs, _, _) = read("pytx/dataset-P-csv.csv");
    assert!(rs
        .iter()
        .all(|r| r.categories == ["category:INVESTIGATION_SEED"]
            && r.source.as_deref() == Some("Sample Signals")));
    // tx hash: one pdq line per image that passes pytx's own quality gate; with rotations,
    // the 8 named orientations.
    let (f, rs, _, _) = read("pytx/hash-photo-multi.txt");
    assert_eq!((f, rs.len()), (InputFormat::PytxSignals, 2));
    let (_, rs, _, _) = read("pytx/hash-photo-rotations.txt");
    let o: Vec<Dihedral> = rs.iter().map(|r| r.orientation.unwrap()).collect();
    assert_eq!(o, Dihedral::ALL);
    assert!(all.contains(&rs[0].hash.to_hex()));
}

/// pytx opinions: the categories (NEGATIVE_CLASS, DISPUTED, ...), tags and a collab that
/// `repr()` prints in double quotes; the CSV's multi-line quoted tag is one record.
#[test]
fn real_pytx_opinions_keep_categories_tags_and_collabs() {
    let (f, items) = read_all(
        &real("pytx/opinions/dataset-P-csv.csv"),
        &ReadOptions::new(),
    )
    .unwrap();
    assert_eq!(f, Some(InputFormat::PytxCsv));
    let rs = records(&items);
    assert_eq!(rs.len(), 6);
    assert_eq!(rs[0].categories, ["category:POSITIVE_CLASS", "tag:bridge"]);
    assert_eq!(rs[1].categories, ["category:NEGATIVE_CLASS"]);
    assert_eq!(
        rs[2].categories,
        ["category:DISPUTED", "tag:false", "tag:positive", "tag:cat"]
    );
    assert_eq!(
        rs[3].categories,
        [
            "category:INVESTIGATION_SEED",
            "tag:two",
            "tag:lines",
            "tag:say",
            "tag:\"hi\"",
            "tag:a,b"
        ]
    );
    assert_eq!(rs[5].source.as_deref(), Some("Bob's List"));
    assert_eq!(rs[4].line, 7, "the line after the two-line record");
    // The text forms: the same hashes, collabs and categories (tags split at commas too).
    for name in [
        "pytx/opinions/dataset-P.txt",
        "pytx/opinions/dataset-P-s-pdq.txt",
    ] {
        let (f, items) = read_all(&real(name), &ReadOptions::new()).unwrap();
        assert_eq!(f, Some(InputFormat::PytxSignals), "{name}");
        let text = records(&items);
        assert_eq!(text.len(), 6, "{name}");
        for (t, c) in text.iter().zip(&rs) {
            assert_eq!((&t.hash, &t.source), (&c.hash, &c.source), "{name}");
            assert_eq!(t.categories[0], c.categories[0], "{name}");
        }
        assert_eq!(text[2].categories, rs[2].categories, "{name}");
        // The tag with a line break splits the text line: its second half is malformed.
        assert_eq!(
            items
                .iter()
                .filter(|i| matches!(i, Item::Malformed { .. }))
                .count(),
            1,
            "{name}"
        );
    }
}

// ---- ambiguity ----

#[test]
fn an_input_that_fits_two_formats_fails_naming_both() {
    let (a, b) = (A, B);
    // Hex lines with an id, and pdq-hasher lines: hex would read `90,b.jpg` as an id.
    let text = format!("{a},first-id\n{b},90,b.jpg\n");
    let err = RecordReader::new(text.as_bytes(), "mixed.txt", &ReadOptions::new()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InputFormat(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("mixed.txt") && msg.contains("hex") && msg.contains("pdq-hasher"),
        "{msg}"
    );
    assert!(msg.contains("--input-format"), "{msg}");
    assert!(!msg.contains(a) && !msg.contains(b));
    // Named, it reads.
    let (_, items) = read_all(
        text.as_bytes(),
        &ReadOptions::new().format(InputFormat::Hex),
    )
    .unwrap();
    assert_eq!(records(&items).len(), 2);
    // A header with the columns of our output and of pytx's CSV.
    let text = format!("path,algorithm,hash,signal_type,signal_str\nx,pdq,{a},pdq,{a}\n");
    let err = RecordReader::new(text.as_bytes(), "both.csv", &ReadOptions::new()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("hashsieve") && msg.contains("pytx-csv"),
        "{msg}"
    );
}

/// Detection looks past the first line: a first line alone would have been read as hex.
#[test]
fn detection_looks_at_several_lines() {
    let (a, b) = (A, B);
    // A bare hash first (hex or pytx), then a pytx line: pytx.
    let text = format!("{a}\npdq {b} 'c' POSITIVE_CLASS\n");
    let (f, items) = read_all(text.as_bytes(), &ReadOptions::new()).unwrap();
    assert_eq!(f, Some(InputFormat::PytxSignals));
    assert_eq!(records(&items).len(), 2);
    assert_eq!(InputFormat::detect(a), Some(InputFormat::Hex));
}

// ---- regressions of issue 11 through the importer (the API that existed before) ----

mod regressions {
    use hashsieve::list::import::{import, ImportOptions, ImportReport};
    use hashsieve::list::{HashList, ListBuilder};
    use hashsieve::HashKind;

    fn data(rel: &str) -> Vec<u8> {
        std::fs::read(crate::common::data(&format!("formats/{rel}"))).unwrap()
    }

    fn build(kind: HashKind, rel: &str) -> (ImportReport, HashList<Vec<u8>>) {
        let mut b = ListBuilder::new(kind).created(0);
        let report = import(&data(rel)[..], rel, &ImportOptions::new(), &mut b)
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        (report, HashList::from_bytes(b.to_vec().unwrap()).unwrap())
    }

    /// (hash, id, quality, categories) of every entry.
    fn entries(list: &HashList<Vec<u8>>) -> Vec<(String, String, Option<u8>, Vec<String>)> {
        crate::common::entries::rows(list)
            .into_iter()
            .map(|(h, id, q, c, _)| (h, id, q, c))
            .collect()
    }

    /// `--pdqdih-across` was read as one hex hash with the other 7, the quality and the file
    /// name as its id, and no quality gate.
    #[test]
    fn pdqdih_across_is_eight_hashes_behind_the_quality_gate() {
        let (report, list) = build(HashKind::Pdq, "real/cpp/pdqdih-across.txt");
        // 7 files: aaa-orig, wee, cat, rocket pass the gate of 50; small, flat-gray,
        // faint-gradient have quality 0.
        assert_eq!((report.added, report.rejected), (4 * 8, 3 * 8), "{report}");
        let e = entries(&list);
        assert!(e.iter().all(|(_, id, q, cats)| id.starts_with("imgs/")
            && !id.contains(',')
            && q.is_some_and(|q| q >= 50)
            && cats.iter().any(|c| c.starts_with("orientation:"))));
    }

    /// `-d --pdqdih` let the 24 xform hashes of the 3 low-quality images in (their rows carry
    /// no quality) and dropped the orientation name.
    #[test]
    fn d_pdqdih_xform_rows_take_the_files_quality_and_keep_their_orientation() {
        let (report, list) = build(HashKind::Pdq, "real/cpp/d-pdqdih.txt");
        let e = entries(&list);
        for low in [
            "imgs/small.jpg",
            "imgs/flat-gray.png",
            "imgs/faint-gradient.png",
        ] {
            assert!(
                e.iter().all(|(_, id, _, _)| id != low),
                "{low} admitted: {report}"
            );
        }
        let aaa: Vec<_> = e
            .iter()
            .filter(|(_, id, _, _)| id == "imgs/aaa-orig.jpg")
            .collect();
        assert_eq!(aaa.len(), 8, "{e:?}");
        assert!(aaa.iter().all(|(_, _, q, _)| *q == Some(100)));
        let orientations: std::collections::BTreeSet<String> = aaa
            .iter()
            .flat_map(|(_, _, _, c)| c.iter().filter(|c| c.starts_with("orientation:")).cloned())
            .collect();
        assert_eq!(
            orientations.len(),
            7,
            "rot90..flipm named: {orientations:?}"
        );
    }

    /// `tx dataset -P -S` failed when its first line was `video_md5 …`.
    #[test]
    fn pytx_signals_with_video_md5_first() {
        let (report, list) = build(HashKind::Pdq, "pytx/dataset-P-S.txt");
        assert_eq!((report.added, report.skipped), (2, 3), "{report}");
        assert_eq!(list.len(), 2);
    }

    /// `tx dataset -P` failed when its first line was `trend_query {…}`.
    #[test]
    fn pytx_dataset_with_trend_query_first() {
        let (report, list) = build(HashKind::Pdq, "pytx/dataset-P.txt");
        assert_eq!((report.added, report.skipped), (3, 4), "{report}");
        let e = entries(&list);
        assert!(e
            .iter()
            .any(|(_, _, _, c)| c.contains(&"category:NEGATIVE_CLASS".to_owned())));
    }

    /// `tx dataset -P -s pdq` (`<hex> '<collab>' <CATEGORY>`) was rejected by every format.
    #[test]
    fn pytx_dataset_one_signal_type() {
        let (report, list) = build(HashKind::Pdq, "real/pytx/dataset-P-s-pdq.txt");
        assert_eq!((report.added, report.malformed), (16, 0), "{report}");
        for (h, es) in list.iter() {
            for e in es {
                assert_eq!(e.source(), Some("Sample Signals"), "{}", h.to_hex().len());
                let cats: Vec<String> = e.categories().map(|c| c.to_string()).collect();
                assert_eq!(cats, ["category:INVESTIGATION_SEED"]);
            }
        }
    }

    /// The pytx dataset CSV with every field quoted (`"pdq","f8f8…"`), its columns in another
    /// order, a BOM, CRLF and a multi-line tag.
    #[test]
    fn pytx_csv_quoted_reordered_with_bom_and_multiline_tags() {
        let (report, _) = build(HashKind::Pdq, "pytx/dataset-reordered-quoted-bom.csv");
        assert_eq!(
            (report.added, report.skipped, report.malformed),
            (3, 1, 0),
            "{report}"
        );
        let (report, _) = build(HashKind::Pdq, "real/pytx/opinions/dataset-P-csv.csv");
        assert_eq!(
            (report.added, report.skipped, report.malformed),
            (6, 1, 0),
            "{report}"
        );
    }

    /// `hashsieve hash` CSV and JSON with several algorithms could not be rebuilt.
    #[test]
    fn multi_algorithm_hash_output_builds_each_algorithm() {
        // (file, PDQ rows, pHash rows)
        for (rel, pdq, phash) in [("hashsieve/hash.csv", 2, 1), ("hashsieve/hash.jsonl", 3, 1)] {
            let (report, list) = build(HashKind::Pdq, rel);
            assert_eq!(
                (report.added, report.skipped, report.malformed),
                (pdq, phash, 0),
                "{rel}: {report}"
            );
            assert!(
                entries(&list).iter().any(|(_, id, _, _)| id == "a.jpg"),
                "{rel}"
            );
            let (report, list) = build(HashKind::PHash, rel);
            assert_eq!(
                (report.added, report.skipped),
                (phash, pdq),
                "{rel}: {report}"
            );
            assert_eq!(entries(&list)[0].1, "a.jpg", "{rel}");
        }
    }

    /// With one algorithm, `hashsieve hash --format csv|json` lost the path for `idx=N`.
    #[test]
    fn single_algorithm_hash_output_keeps_the_path_as_id() {
        let a = super::A;
        let texts = [
            format!("path,algorithm,hash,quality\nphotos/a.jpg,pdq,{a},100\n"),
            format!("{{\"path\":\"photos/a.jpg\",\"algorithm\":\"pdq\",\"hash\":\"{a}\",\"quality\":100}}\n"),
        ];
        for text in texts {
            let mut b = ListBuilder::new(HashKind::Pdq).created(0);
            import(text.as_bytes(), "h", &ImportOptions::new(), &mut b).unwrap();
            let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
            assert_eq!(entries(&list)[0].1, "photos/a.jpg", "{text}");
        }
    }

    /// `pdq-photo-hasher -k` prints an all-zero hash with quality 0 for a file it cannot read
    /// (exit 0): such rows never enter a list.
    #[test]
    fn failed_files_of_the_pdq_hasher_are_never_admitted() {
        let (report, list) = build(HashKind::Pdq, "real/cpp/k-with-error.txt");
        assert_eq!((report.added, report.rejected), (2, 2), "{report}");
        assert!(entries(&list)
            .iter()
            .all(|(h, id, _, _)| !h.starts_with("0000") && !id.contains("missing")));
    }

    /// Scan output, error rows included, builds a list of the files' hashes: one entry per file
    /// and hash however many entries it matched.
    #[test]
    fn scan_output_builds_with_error_rows_skipped() {
        for rel in [
            "hashsieve/scan.tsv",
            "hashsieve/scan.csv",
            "hashsieve/scan.jsonl",
        ] {
            let (report, list) = build(HashKind::Pdq, rel);
            assert_eq!((report.added, report.malformed), (2, 0), "{rel}: {report}");
            assert_eq!(list.entry_count(), 2, "{rel}");
            assert!(
                entries(&list).iter().all(|(_, _, _, c)| c.is_empty()),
                "{rel}"
            );
        }
    }
}

// ---- the tool ----

/// `hashsieve build` reads the real outputs, gates quality, says what it skipped and why, and
/// refuses an input that fits two formats, naming both.
#[cfg(feature = "cli")]
#[test]
fn build_reads_real_outputs_and_refuses_ambiguous_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("l.hsl");
    let out_s = out.to_str().unwrap();
    let input = formats_dir().join("real/cpp/pdqdih-across.txt");
    let o = common::hashsieve(&["build", "-o", out_s, input.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("32 added, 24 rejected"), "{stderr}");
    let input = formats_dir().join("real/pytx/dataset-P.txt");
    let o = common::hashsieve(&["build", "-o", out_s, input.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("16 added")
            && stderr.contains("10 a signal type that is not an image hash"),
        "{stderr}"
    );
    let mixed = dir.path().join("mixed.txt");
    let a = A;
    std::fs::write(&mixed, format!("{a},id\n{a},90,x.jpg\n")).unwrap();
    let o = common::hashsieve(&["build", "-o", out_s, mixed.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("hex") && stderr.contains("pdq-hasher"),
        "{stderr}"
    );
    assert!(!stderr.contains(a), "{stderr}");
    let o = common::hashsieve(&[
        "build",
        "-o",
        out_s,
        "--input-format",
        "pdq-hasher",
        "--min-quality",
        "0",
        mixed.to_str().unwrap(),
        "--max-errors",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

// ---- round trip: random records, written in each format's shape, read back ----

#[derive(Clone, Debug)]
struct Rec {
    kind: HashKind,
    hex: String,
    quality: Option<u8>,
    id: String,
    categories: Vec<String>,
    source: Option<String>,
    orientation: Option<Dihedral>,
}

fn rec_strategy() -> impl Strategy<Value = Rec> {
    let kind = prop::sample::select(vec![HashKind::Pdq, HashKind::PHash, HashKind::DHash]);
    (
        kind,
        any::<[u64; 4]>(),
        prop::option::of(0u8..=100),
        // Ids: printable text with the characters formats escape or quote.
        "[a-zA-Z0-9 ,;\"'\\\\/\t._é-]{1,12}",
        prop::collection::vec("[a-z]{1,4}:[A-Za-z0-9_]{1,6}", 0..3),
        prop::option::of("[A-Za-z][A-Za-z ,']{0,8}"),
        prop::option::of(prop::sample::select(Dihedral::ALL.to_vec())),
    )
        .prop_map(
            |(kind, words, quality, id, categories, source, orientation)| {
                let hex = if kind.width() == 64 {
                    format!("{:016x}", words[0])
                } else {
                    words.iter().map(|w| format!("{w:016x}")).collect()
                };
                Rec {
                    kind,
                    hex,
                    quality,
                    id,
                    categories,
                    source,
                    orientation,
                }
            },
        )
}

impl Rec {
    /// The source as a CSV cell: empty when unknown.
    fn source_cell(&self) -> String {
        csv_cell(self.source.as_deref().unwrap_or(""))
    }

    /// The quality as a text cell: empty when unknown.
    fn quality_cell(&self) -> String {
        self.quality.map(|q| q.to_string()).unwrap_or_default()
    }
}

/// Appends one row to `out`: `cells` joined by `sep`, then `end`.
fn push_row(out: &mut String, cells: &[String], sep: &str, end: &str) {
    out.push_str(&cells.join(sep));
    out.push_str(end);
}

fn tsv_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// What a format keeps of a record.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// `hashsieve hash --dihedral` TSV: kind, hash, quality, path (escaped), orientation.
    OursTsv,
    /// Our CSV: the same, CSV-quoted.
    OursCsv,
    /// Our JSON lines.
    OursJson,
    /// `export --format csv` with an algorithm column: everything but the orientation.
    GenericCsv,
    /// JSON lines with every field.
    GenericJson,
    /// pdq-photo-hasher `hash,quality,filename` (PDQ only; the id has no line break).
    PdqHasher,
    /// pytx dataset CSV: hash, collab, categories (PDQ only).
    PytxCsv,
}

fn write(shape: Shape, recs: &[Rec]) -> String {
    let mut out = String::new();
    match shape {
        Shape::OursTsv | Shape::OursCsv => {
            // The same columns; TSV escapes a path, CSV quotes it.
            let (sep, path): (&str, fn(&str) -> String) = match shape {
                Shape::OursTsv => ("\t", tsv_escape),
                _ => (",", csv_cell),
            };
            out.push_str(&["path", "algorithm", "hash", "quality", "orientation"].join(sep));
            out.push('\n');
            for r in recs {
                let cells = [
                    path(&r.id),
                    r.kind.to_string(),
                    r.hex.clone(),
                    r.quality_cell(),
                    r.orientation.map_or("", |o| o.name()).to_owned(),
                ];
                push_row(&mut out, &cells, sep, "\n");
            }
        }
        Shape::OursJson | Shape::GenericJson => {
            for r in recs {
                let mut o = serde_json::json!({
                    "algorithm": r.kind.name(), "hash": r.hex, "quality": r.quality,
                    "orientation": r.orientation.map(|o| o.name()),
                });
                if matches!(shape, Shape::OursJson) {
                    o["path"] = r.id.clone().into();
                } else {
                    o["id"] = r.id.clone().into();
                    o["categories"] = r.categories.clone().into();
                    o["source"] = r.source.clone().into();
                }
                out.push_str(&o.to_string());
                out.push('\n');
            }
        }
        Shape::GenericCsv => {
            out.push_str("algorithm,hash,id,quality,categories,source\n");
            for r in recs {
                let cells = [
                    r.kind.to_string(),
                    r.hex.clone(),
                    csv_cell(&r.id),
                    r.quality_cell(),
                    csv_cell(&r.categories.join(" ")),
                    r.source_cell(),
                ];
                push_row(&mut out, &cells, ",", "\n");
            }
        }
        Shape::PdqHasher => {
            for r in recs {
                let name = r.id.replace(['\n', '\r'], " ");
                out.push_str(&format!("{},{},{}\n", r.hex, r.quality_cell(), name.trim()));
            }
        }
        Shape::PytxCsv => {
            out.push_str("signal_type,signal_str,collab,category,tags\r\n");
            for r in recs {
                let tags = r.id.split_whitespace().collect::<Vec<_>>().join(" ");
                let cells = [
                    "pdq".to_owned(),
                    r.hex.clone(),
                    r.source_cell(),
                    "POSITIVE_CLASS".to_owned(),
                    csv_cell(&tags),
                ];
                push_row(&mut out, &cells, ",", "\r\n");
            }
        }
    }
    out
}

/// (kind, hex, quality, id, categories, source, orientation) of a record.
type Fields = (
    HashKind,
    String,
    Option<u8>,
    Option<String>,
    Vec<String>,
    Option<String>,
    Option<Dihedral>,
);

/// What reading `shape` must give for `r`.
fn expect(shape: Shape, r: &Rec) -> Fields {
    let source = r.source.clone().filter(|s| !s.is_empty());
    match shape {
        Shape::OursTsv | Shape::OursCsv | Shape::OursJson => (
            r.kind,
            r.hex.clone(),
            r.quality,
            Some(r.id.clone()),
            vec![],
            None,
            r.orientation,
        ),
        Shape::GenericCsv | Shape::GenericJson => (
            r.kind,
            r.hex.clone(),
            r.quality,
            Some(r.id.clone()),
            r.categories.clone(),
            source,
            if matches!(shape, Shape::GenericJson) {
                r.orientation
            } else {
                None
            },
        ),
        Shape::PdqHasher => (
            HashKind::Pdq,
            r.hex.clone(),
            r.quality,
            Some(r.id.replace(['\n', '\r'], " ").trim().to_owned()),
            vec![],
            None,
            None,
        ),
        Shape::PytxCsv => {
            let mut cats = vec!["category:POSITIVE_CLASS".to_owned()];
            cats.extend(r.id.split_whitespace().map(|t| format!("tag:{t}")));
            (HashKind::Pdq, r.hex.clone(), None, None, cats, source, None)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn records_written_in_each_shape_read_back_the_same(
        recs in prop::collection::vec(rec_strategy(), 1..8),
        shape in prop::sample::select(vec![
            Shape::OursTsv, Shape::OursCsv, Shape::OursJson, Shape::GenericCsv,
            Shape::GenericJson, Shape::PdqHasher, Shape::PytxCsv,
        ]),
    ) {
        let recs: Vec<Rec> = match shape {
            // PDQ-only formats.
            Shape::PdqHasher | Shape::PytxCsv => recs
                .into_iter()
                .filter(|r| r.kind == HashKind::Pdq && !r.id.trim().is_empty())
                .collect(),
            _ => recs,
        };
        prop_assume!(!recs.is_empty());
        let text = write(shape, &recs);
        let (_, items) = read_all(text.as_bytes(), &ReadOptions::new())
            .map_err(|e| TestCaseError::fail(format!("{shape:?}: {e}\n{text}")))?;
        let got: Vec<_> = items
            .iter()
            .map(|i| match i {
                Item::Record(r) => Ok((
                    r.kind,
                    r.hash.to_hex(),
                    r.quality,
                    r.id.clone(),
                    r.categories.clone(),
                    r.source.clone(),
                    r.orientation,
                )),
                other => Err(format!("{other:?}")),
            })
            .collect();
        let want: Vec<_> = recs.iter().map(|r| Ok(expect(shape, r))).collect();
        prop_assert_eq!(got, want, "{:?}\n{}", shape, text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any text, with or without a format named: an error or items, never a panic or a hang,
    /// at most 8 items per line (pdqdih-across), and no malformed reason quoting the text.
    #[test]
    fn any_text_reads_cleanly(
        parts in prop::collection::vec(prop::sample::select(vec![
            "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "00000000000000ab",
            ",", "\t", "\n", "\r", "\r\n", "\"", "'", " ", "{", "}", ":", "=", "#", "\\", "x",
            "hash", "path", "algorithm", "signal_type", "signal_str", "pdq", "video_md5", "90",
            "hash=", "xform=rot90", "filename=", "quality=", "POSITIVE_CLASS", "\u{feff}", "\u{ff}",
            "{\"hash\":", "\"type\":\"summary\"", "ROTATE90", "\\xff",
        ]), 0..40),
        format in prop::option::of(prop::sample::select(InputFormat::ALL.to_vec())),
    ) {
        let text: String = parts.concat();
        let mut options = ReadOptions::new();
        options.format = format;
        if let Ok(mut reader) = RecordReader::new(text.as_bytes(), "fuzz", &options) {
            let lines = text.split(['\n', '\r']).count() as u64;
            let mut n = 0u64;
            while let Some(item) = reader.next_item().unwrap() {
                n += 1;
                prop_assert!(n <= 8 * lines + 8, "too many items");
                if let Item::Malformed { reason, .. } = &item {
                    prop_assert!(!reason.contains("f8f8f0cee0f4a84f"), "{}", reason);
                }
            }
        }
    }
}

/// The order of the pdq-hasher dihedral columns and rows is the reference's.
#[test]
fn dihedral_names_map_to_the_reference_order() {
    let names: BTreeMap<&str, Dihedral> = [
        ("orig", Dihedral::Orig),
        ("rot90", Dihedral::Rot90),
        ("rot180", Dihedral::Rot180),
        ("rot270", Dihedral::Rot270),
        ("flipx", Dihedral::FlipX),
        ("flipy", Dihedral::FlipY),
        ("flipp", Dihedral::FlipPlus1),
        ("flipm", Dihedral::FlipMinus1),
    ]
    .into_iter()
    .collect();
    let a = A;
    for (name, d) in names {
        let text = format!("hash={a},quality=90,filename=x\nhash={a},xform={name},filename=x\n");
        let (_, items) = read_all(text.as_bytes(), &ReadOptions::new()).unwrap();
        match &items[1] {
            Item::Record(r) => assert_eq!((r.orientation, r.quality), (Some(d), Some(90))),
            Item::Skipped {
                reason: SkipReason::Duplicate,
                ..
            } => assert_eq!(d, Dihedral::Orig),
            other => panic!("{other:?}"),
        }
    }
}
