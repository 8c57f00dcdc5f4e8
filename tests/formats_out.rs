//! Every export format: golden files from one small fixed list, read back by the importer, and
//! round trips over random lists (export → import → export is the identity for the formats that
//! keep every field; the lossy ones keep the fields they carry).
//!
//! Golden files live in `tests/data/formats/out/`; `HASHSIEVE_BLESS=1 cargo test --test
//! formats_out` rewrites them after a deliberate change (review the diff).

use std::collections::BTreeSet;
use std::path::PathBuf;

use hashsieve::list::export::{export_with, ExportFormat, ExportOptions};
use hashsieve::list::import::{import, ImportOptions, InputFormat};
use hashsieve::list::{Category, EntryMeta, HashList, ListBuilder};
use hashsieve::{ErrorKind, Hash256, Hash64, HashKind, HashValue};
use proptest::prelude::*;

/// One entry of a test list, as plain values.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    hash: String,
    id: String,
    quality: Option<u8>,
    categories: Vec<String>,
    source: Option<String>,
}

fn build(kind: HashKind, rows: &[Row]) -> HashList<Vec<u8>> {
    let mut b = ListBuilder::new(kind).min_quality(0);
    for r in rows {
        let mut meta = EntryMeta::new(&r.id);
        if let Some(q) = r.quality {
            meta = meta.quality(q);
        }
        for c in &r.categories {
            meta = meta.category(Category::parse(c, "tag"));
        }
        if let Some(s) = &r.source {
            meta = meta.source(s);
        }
        let hash = match kind.width() {
            256 => HashValue::from(Hash256::from_hex(&r.hash).unwrap()),
            _ => HashValue::from(Hash64::from_hex(&r.hash).unwrap()),
        };
        b.add(hash, meta).unwrap();
    }
    HashList::from_bytes(b.to_vec().unwrap()).unwrap()
}

fn rows_of(list: &HashList<Vec<u8>>) -> Vec<Row> {
    let mut rows = Vec::new();
    for (hash, entries) in list.iter() {
        for e in entries {
            rows.push(Row {
                hash: hash.to_hex(),
                id: e.id().to_string(),
                quality: e.quality(),
                categories: e.categories().map(|c| c.to_string()).collect(),
                source: e.source().map(str::to_string),
            });
        }
    }
    rows.sort();
    rows
}

fn export_bytes(list: &HashList<Vec<u8>>, format: ExportFormat, opts: &ExportOptions) -> Vec<u8> {
    let mut out = Vec::new();
    export_with(list, format, opts, &mut out).unwrap();
    out
}

/// Imports `text` (format detected unless given) into a list of `kind`.
fn import_back(kind: HashKind, text: &[u8], format: Option<InputFormat>) -> HashList<Vec<u8>> {
    let mut b = ListBuilder::new(kind).min_quality(0);
    let mut opts = ImportOptions::new();
    if let Some(f) = format {
        opts = opts.format(f);
    }
    let report = import(text, "exported", &opts, &mut b).unwrap();
    if let Some(f) = format {
        assert_eq!(report.format, Some(f));
    }
    HashList::from_bytes(b.to_vec().unwrap()).unwrap()
}

/// The small fixed list behind the golden files: ids with commas, quotes, spaces and non-ASCII
/// text, a hash with two entries, entries with and without quality, categories of every kind.
fn fixed_rows() -> Vec<Row> {
    let row = |hash: &str, id: &str, q: Option<u8>, cats: &[&str], src: Option<&str>| Row {
        hash: hash.to_string(),
        id: id.to_string(),
        quality: q,
        categories: cats.iter().map(|c| c.to_string()).collect(),
        source: src.map(str::to_string),
    };
    vec![
        row(
            "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22",
            "bridge-1-original.jpg",
            Some(100),
            &["category:POSITIVE_CLASS", "tag:bridge"],
            Some("Sample Collab"),
        ),
        row(
            "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22",
            "copy, with comma.jpg",
            Some(90),
            &["category:INVESTIGATION_SEED"],
            None,
        ),
        row(
            "b0a10efd71cc3f429413d48d0ffffe12e34e0e17ada952a9d29684210aa9e5af",
            "say \"cheese\" é.png",
            None,
            &["ncmec:A1", "tag:x", "tag:y"],
            Some("other"),
        ),
        row(
            "adad5a64b5a142e55362a09057dacd5ae63b847fc23794b766b319361fc93188",
            "plain",
            Some(49),
            &[],
            None,
        ),
    ]
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/formats/out")
}

/// Each golden file: its name, the format and options that write it, and the input format that
/// reads it back (detected).
fn goldens() -> Vec<(&'static str, ExportFormat, ExportOptions, InputFormat)> {
    vec![
        (
            "fixed.csv",
            ExportFormat::Csv,
            ExportOptions::new(),
            InputFormat::Csv,
        ),
        (
            "fixed.jsonl",
            ExportFormat::JsonLines,
            ExportOptions::new(),
            InputFormat::JsonLines,
        ),
        (
            "fixed.hex",
            ExportFormat::Hex,
            ExportOptions::new(),
            InputFormat::Hex,
        ),
        (
            "fixed-ids.hex",
            ExportFormat::Hex,
            ExportOptions::new().ids(true),
            InputFormat::Hex,
        ),
        (
            "fixed.pdq-hasher",
            ExportFormat::PdqHasher,
            ExportOptions::new().missing_quality(0),
            InputFormat::PdqHasher,
        ),
        (
            "fixed.pytx.csv",
            ExportFormat::PytxCsv,
            ExportOptions::new(),
            InputFormat::PytxCsv,
        ),
    ]
}

#[test]
fn golden_files_for_every_export_format() {
    let list = build(HashKind::Pdq, &fixed_rows());
    let bless = std::env::var_os("HASHSIEVE_BLESS").is_some();
    let mut covered = BTreeSet::new();
    for (name, format, opts, _) in goldens() {
        covered.insert(format.name());
        let got = export_bytes(&list, format, &opts);
        let path = golden_dir().join(name);
        if bless {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{name}"
        );
    }
    let all: BTreeSet<_> = ExportFormat::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(covered, all, "every format has a golden file");
}

#[test]
fn golden_shapes_are_what_the_other_tools_read() {
    let read = |name: &str| std::fs::read_to_string(golden_dir().join(name)).unwrap();
    // The C++ tools: `hash,metadata` lines, 64 hex digits first, no header, LF only.
    for name in ["fixed.pdq-hasher", "fixed-ids.hex", "fixed.hex"] {
        let text = read(name);
        assert!(!text.contains('\r') && text.ends_with('\n'), "{name}");
        for line in text.lines() {
            let hex = line.split(',').next().unwrap();
            assert_eq!(hex.len(), 64, "{name}: {line}");
            assert!(hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        }
    }
    // pdq-photo-hasher's `%s,%d,%s`: the quality is always an integer.
    for line in read("fixed.pdq-hasher").lines() {
        let mut f = line.splitn(3, ',');
        f.next();
        let q: u8 = f.next().unwrap().parse().unwrap();
        assert!(q <= 100);
    }
    // python-threatexchange's csv.DictWriter: that header, CRLF after every record.
    let pytx = read("fixed.pytx.csv");
    assert!(pytx.starts_with("signal_type,signal_str,collab,category,tags\r\n"));
    assert_eq!(pytx.matches("\r\n").count(), pytx.matches('\n').count());
}

#[test]
fn golden_files_read_back_with_the_fields_they_carry() {
    let rows = fixed_rows();
    for (name, format, opts, input) in goldens() {
        let text = std::fs::read(golden_dir().join(name)).unwrap();
        // The format is detected from the file itself.
        let back = rows_of(&import_back(HashKind::Pdq, &text, None));
        let mut b = ListBuilder::new(HashKind::Pdq).min_quality(0);
        let report = import(&text[..], name, &ImportOptions::new(), &mut b).unwrap();
        assert_eq!(report.format, Some(input), "{name}: detected format");
        assert_eq!(
            back.iter().map(|r| &r.hash).collect::<BTreeSet<_>>(),
            rows.iter().map(|r| &r.hash).collect::<BTreeSet<_>>(),
            "{name}: the hashes"
        );
        match (format, opts.ids) {
            (ExportFormat::Csv | ExportFormat::JsonLines, _) => {
                assert_eq!(back, rows_of(&build(HashKind::Pdq, &rows)), "{name}")
            }
            (ExportFormat::Hex, false) => assert_eq!(back.len(), 3, "{name}: unique hashes"),
            (ExportFormat::Hex, true) => assert_eq!(
                carried(&back, |r| (r.hash.clone(), r.id.clone())),
                carried(&rows, |r| (r.hash.clone(), r.id.clone())),
                "{name}"
            ),
            (ExportFormat::PdqHasher, _) => assert_eq!(
                carried(&back, |r| (r.hash.clone(), r.id.clone(), r.quality)),
                carried(&rows, |r| (
                    r.hash.clone(),
                    r.id.clone(),
                    Some(r.quality.unwrap_or(0))
                )),
                "{name}"
            ),
            (ExportFormat::PytxCsv, _) => assert_eq!(
                carried(&back, pytx_fields),
                carried(&rows, pytx_fields),
                "{name}"
            ),
            (other, _) => panic!("no check for {other}"),
        }
    }
}

fn carried<T: Ord>(rows: &[Row], f: impl Fn(&Row) -> T) -> Vec<T> {
    let mut v: Vec<T> = rows.iter().map(f).collect();
    v.sort();
    v
}

/// What pytx-csv carries: hash, source (collab; empty = none), and categories, those of other
/// schemes than `category` and `tag` turned into tags.
fn pytx_fields(r: &Row) -> (String, Option<String>, BTreeSet<String>) {
    let cats = r
        .categories
        .iter()
        .map(|c| match c.split_once(':') {
            Some(("category" | "tag", _)) => c.clone(),
            _ => format!("tag:{c}"),
        })
        .collect();
    (r.hash.clone(), r.source.clone(), cats)
}

#[test]
fn formats_that_cannot_hold_a_list_fail_before_writing() {
    let fails = |list: &HashList<Vec<u8>>, format, opts: &ExportOptions| {
        let mut out = Vec::new();
        let err = export_with(list, format, opts, &mut out).unwrap_err();
        assert!(out.is_empty(), "{format}: nothing written before the error");
        assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");
        let msg = err.to_string();
        assert!(!msg.contains("f8f8f0cc"), "no hash in the message: {msg}");
        msg
    };
    let fixed = build(HashKind::Pdq, &fixed_rows());
    // An entry without quality, and no quality to write for it.
    let msg = fails(&fixed, ExportFormat::PdqHasher, &ExportOptions::new());
    assert!(
        msg.contains("1 entries") && msg.contains("quality"),
        "{msg}"
    );
    // Not PDQ.
    let dhash = build(
        HashKind::DHash,
        &[Row {
            hash: "0123456789abcdef".into(),
            id: "a".into(),
            quality: Some(100),
            categories: vec![],
            source: None,
        }],
    );
    for format in [ExportFormat::PdqHasher, ExportFormat::PytxCsv] {
        let msg = fails(&dhash, format, &ExportOptions::new().missing_quality(0));
        assert!(msg.contains("dhash"), "{msg}");
    }
    // An id with a line break in a line format.
    let mut rows = fixed_rows();
    rows[3].id = "two\nlines".into();
    let broken = build(HashKind::Pdq, &rows);
    fails(&broken, ExportFormat::Hex, &ExportOptions::new().ids(true));
    fails(
        &broken,
        ExportFormat::PdqHasher,
        &ExportOptions::new().missing_quality(0),
    );
    // ...which JSON lines carries. (CSV quotes it; the importer refuses quoted line breaks.)
    let text = export_bytes(&broken, ExportFormat::JsonLines, &ExportOptions::new());
    assert_eq!(
        rows_of(&import_back(HashKind::Pdq, &text, None)),
        rows_of(&broken)
    );
    // Two pytx categories for one entry.
    let mut rows = fixed_rows();
    rows[0].categories.push("category:NEGATIVE_CLASS".into());
    fails(
        &build(HashKind::Pdq, &rows),
        ExportFormat::PytxCsv,
        &ExportOptions::new(),
    );
}

fn arb_rows(kind: HashKind) -> impl Strategy<Value = Vec<Row>> {
    let digits = kind.width() as usize / 4;
    // Ids: printable text with commas, quotes, spaces, backslashes and non-ASCII letters, no
    // line breaks and no space at either end.
    let id = "[a-zA-Z0-9é_.\\-][a-zA-Z0-9é_.,\"'\\\\ \\-]{0,12}[a-zA-Z0-9é_.\\-]";
    let cat = prop_oneof![
        "(POSITIVE_CLASS|NEGATIVE_CLASS|INVESTIGATION_SEED)".prop_map(|c| format!("category:{c}")),
        "[a-z][a-z0-9_]{0,6}".prop_map(|t| format!("tag:{t}")),
        "[a-z]{2,5}:[A-Z][0-9]".prop_map(|c| c),
    ];
    let row = (
        proptest::collection::vec(any::<u8>(), digits / 2),
        id,
        proptest::option::of(0u8..=100),
        proptest::collection::btree_set(cat, 0..4),
        proptest::option::of("[A-Za-z][A-Za-z ]{0,10}[a-z]"),
    )
        .prop_map(|(bytes, id, quality, cats, source)| {
            let mut categories: Vec<String> = cats.into_iter().collect();
            // At most one pytx category per entry, as pytx has.
            let mut seen = false;
            categories
                .retain(|c| !c.starts_with("category:") || !std::mem::replace(&mut seen, true));
            Row {
                hash: bytes.iter().map(|b| format!("{b:02x}")).collect(),
                id,
                quality,
                categories,
                source,
            }
        });
    proptest::collection::vec(row, 0..12).prop_map(|mut rows| {
        // Ids unique per list, so that entries are told apart after a lossy round trip; a
        // duplicate hash now and then (two entries of one hash).
        for (i, r) in rows.iter_mut().enumerate() {
            r.id = format!("{}#{i}", r.id);
        }
        if rows.len() > 2 {
            rows[1].hash = rows[0].hash.clone();
        }
        rows
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// CSV and JSON lines: export → import → export gives the same bytes (and the same list).
    #[test]
    fn lossless_formats_round_trip(
        (kind, rows) in prop_oneof![
            arb_rows(HashKind::Pdq).prop_map(|r| (HashKind::Pdq, r)),
            arb_rows(HashKind::PHash).prop_map(|r| (HashKind::PHash, r)),
        ],
    ) {
        let list = build(kind, &rows);
        for format in ExportFormat::ALL.into_iter().filter(|f| f.is_lossless()) {
            let first = export_bytes(&list, format, &ExportOptions::new());
            let back = import_back(kind, &first, None);
            prop_assert_eq!(rows_of(&back), rows_of(&list));
            let second = export_bytes(&back, format, &ExportOptions::new());
            prop_assert_eq!(first, second);
        }
    }

    /// hex, hex with ids, pdq-hasher and pytx-csv keep the fields they carry.
    #[test]
    fn lossy_formats_keep_what_they_carry(rows in arb_rows(HashKind::Pdq), missing in 0u8..=100) {
        let list = build(HashKind::Pdq, &rows);
        let rows = rows_of(&list);

        let hex = export_bytes(&list, ExportFormat::Hex, &ExportOptions::new());
        let back = rows_of(&import_back(HashKind::Pdq, &hex, Some(InputFormat::Hex)));
        prop_assert_eq!(
            back.iter().map(|r| r.hash.clone()).collect::<Vec<_>>(),
            rows.iter().map(|r| r.hash.clone()).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>()
        );

        let hex_ids = export_bytes(&list, ExportFormat::Hex, &ExportOptions::new().ids(true));
        let back = rows_of(&import_back(HashKind::Pdq, &hex_ids, Some(InputFormat::Hex)));
        prop_assert_eq!(
            carried(&back, |r| (r.hash.clone(), r.id.clone())),
            carried(&rows, |r| (r.hash.clone(), r.id.clone()))
        );

        let opts = ExportOptions::new().missing_quality(missing);
        let pdq = export_bytes(&list, ExportFormat::PdqHasher, &opts);
        let back = rows_of(&import_back(HashKind::Pdq, &pdq, Some(InputFormat::PdqHasher)));
        prop_assert_eq!(
            carried(&back, |r| (r.hash.clone(), r.id.clone(), r.quality)),
            carried(&rows, |r| (r.hash.clone(), r.id.clone(), Some(r.quality.unwrap_or(missing))))
        );

        let pytx = export_bytes(&list, ExportFormat::PytxCsv, &ExportOptions::new());
        let back = rows_of(&import_back(HashKind::Pdq, &pytx, Some(InputFormat::PytxCsv)));
        prop_assert_eq!(carried(&back, pytx_fields), carried(&rows, pytx_fields));
    }
}
