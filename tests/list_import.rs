//! Importers and exporters: every text format, detection, error reporting (line numbers, never
//! the hash text, `max_errors`), and export -> import round trips.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use hashsieve::list::export::{export, ExportFormat};
use hashsieve::list::import::{import, ImportOptions, ImportReport, InputFormat};
use hashsieve::list::{HashList, ListBuilder};
use hashsieve::{ErrorKind, Hash64, HashKind, HashValue};
use proptest::prelude::*;

use common::entries::{self, rows, Input, Row};
use common::needles;

fn short64() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/list/short64.dat");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn run(kind: HashKind, text: &str, options: &ImportOptions) -> (ImportReport, HashList<Vec<u8>>) {
    let mut b = ListBuilder::new(kind).created(0).min_quality(0);
    let report = import(text.as_bytes(), "input.txt", options, &mut b).unwrap();
    // `from_bytes` verifies every byte.
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    (report, list)
}

fn detect(kind: HashKind, text: &str) -> (ImportReport, HashList<Vec<u8>>) {
    run(kind, text, &ImportOptions::default())
}

/// Imports `input`, named `name`, into a fresh PDQ builder; the import must succeed.
#[track_caller]
fn imported(input: impl AsRef<[u8]>, name: &str, options: &ImportOptions) -> ImportReport {
    let mut b = ListBuilder::new(HashKind::Pdq);
    import(input.as_ref(), name, options, &mut b).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Imports `input`, named `name`, into a fresh PDQ builder; the import must fail.
#[track_caller]
fn refused(input: impl AsRef<[u8]>, name: &str, options: &ImportOptions) -> hashsieve::Error {
    let mut b = ListBuilder::new(HashKind::Pdq);
    match import(input.as_ref(), name, options, &mut b) {
        Ok(report) => panic!(
            "{name}: imported {} records, expected an error",
            report.records
        ),
        Err(e) => e,
    }
}

/// One entry's row, for comparing with [`rows`].
fn row(hex: &str, id: &str, quality: Option<u8>, categories: &[&str], source: Option<&str>) -> Row {
    (
        hex.to_owned(),
        id.to_owned(),
        quality,
        categories.iter().map(|c| c.to_string()).collect(),
        source.map(str::to_owned),
    )
}

fn ids_of(list: &HashList<Vec<u8>>, hex: &str) -> Vec<String> {
    let h = list.kind().parse_hex(hex).unwrap();
    let i = list.position(h).expect("hash present");
    list.entries_of(i).map(|e| e.id().to_owned()).collect()
}

#[test]
fn hex_follows_the_reference_tools() {
    let n = needles();
    // Bare lines: ids idx=<n>, counting from 1 (hashio's counter).
    let text = n.join("\n") + "\n";
    let (report, list) = detect(HashKind::Pdq, &text);
    assert_eq!(report.format, Some(InputFormat::Hex));
    assert_eq!((report.records, report.added), (20, 20));
    for (i, hex) in n.iter().enumerate() {
        assert_eq!(ids_of(&list, hex), [format!("idx={}", i + 1)]);
    }
    // hash= prefix, metadata after the first comma (kept whole), CRLF, BOM, blank lines,
    // upper case.
    let text = format!(
        "\u{feff}hash={},meta,with,commas\r\n\r\n{},second\r\n{}\n",
        n[0],
        n[1].to_uppercase(),
        n[0]
    );
    let (report, list) = detect(HashKind::Pdq, &text);
    assert_eq!(report.records, 3);
    assert_eq!(ids_of(&list, &n[0]), ["meta,with,commas", "idx=3"]);
    assert_eq!(ids_of(&list, &n[1]), ["second"]);
    // 64-bit lists read 16-character hashes.
    let s = short64();
    let (report, list) = detect(HashKind::DHash, &(s.join("\n") + "\n"));
    assert_eq!((report.added, report.rejected), (4, 2));
    assert_eq!(list.len(), 4);
}

#[test]
fn idx_numbering_continues_across_inputs() {
    let n = needles();
    let mut b = ListBuilder::new(HashKind::Pdq);
    import(
        format!("{}\n", n[0]).as_bytes(),
        "a",
        &ImportOptions::default(),
        &mut b,
    )
    .unwrap();
    import(
        format!("{}\n", n[1]).as_bytes(),
        "b",
        &ImportOptions::default(),
        &mut b,
    )
    .unwrap();
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    assert_eq!(ids_of(&list, &n[1]), ["idx=2"]);
}

#[test]
fn pdq_hasher_output_and_details() {
    let n = needles();
    let text = format!("{},100,photos/a.jpg\n{},49,b,with,commas.png\n", n[0], n[1]);
    let (report, list) = detect(HashKind::Pdq, &text);
    assert_eq!(report.format, Some(InputFormat::PdqHasher));
    let r = rows(&list);
    assert!(r.contains(&row(&n[0], "photos/a.jpg", Some(100), &[], None)));
    assert!(r.contains(&row(&n[1], "b,with,commas.png", Some(49), &[], None)));
    // The default PDQ quality floor rejects the second.
    let mut b = ListBuilder::new(HashKind::Pdq);
    let report = import(text.as_bytes(), "x", &ImportOptions::default(), &mut b).unwrap();
    assert_eq!((report.added, report.rejected), (1, 1));
    assert_eq!(b.report().rejected_low_quality, 1);

    let text = format!("hash={},norm=128,delta=0,quality=93,filename=c.png\n", n[2]);
    let (report, list) = detect(HashKind::Pdq, &text);
    assert_eq!(report.format, Some(InputFormat::PdqHasher));
    assert_eq!(rows(&list), [row(&n[2], "c.png", Some(93), &[], None)]);
}

#[test]
fn threatexchange_dataset_csv() {
    let n = needles();
    let text = format!(
        "signal_type,signal_str,collab,category,tags\n\
         pdq,{},Sample Collab,media_priority_samples,tag1 tag2\n\
         video_md5,d41d8cd98f00b204e9800998ecf8427e,Sample Collab,,\n\
         pdq,{},,,\n",
        n[0], n[1]
    );
    let (report, list) = detect(HashKind::Pdq, &text);
    assert_eq!(report.format, Some(InputFormat::PytxCsv));
    assert_eq!((report.records, report.added, report.skipped), (3, 2, 1));
    let r = rows(&list);
    let first = r.iter().find(|x| x.0 == n[0]).unwrap();
    assert_eq!(
        first.3,
        ["category:media_priority_samples", "tag:tag1", "tag:tag2"]
    );
    assert_eq!(first.4.as_deref(), Some("Sample Collab"));
    assert_eq!(first.1, "idx=1");
    let second = r.iter().find(|x| x.0 == n[1]).unwrap();
    assert_eq!((second.3.len(), second.4.as_deref()), (0, None));
}

#[test]
fn threatexchange_signal_lines() {
    let n = needles();
    let text = format!(
        "pdq {}\nvideo_md5 d41d8cd98f00b204e9800998ecf8427e\nROTATE90 pdq {}\npdq {} 'collab' note\n",
        n[0], n[1], n[2]
    );
    let (report, list) = detect(HashKind::Pdq, &text);
    assert_eq!(report.format, Some(InputFormat::PytxSignals));
    assert_eq!((report.added, report.skipped), (3, 1));
    assert_eq!(ids_of(&list, &n[0]), ["idx=1"]);
    assert_eq!(ids_of(&list, &n[2]), ["'collab' note"]);
}

#[test]
fn hashsieve_hash_tsv() {
    let n = needles();
    let s = short64();
    let text = format!(
        "path\talgorithm\thash\tquality\torientation\n\
         a.jpg\tpdq\t{}\t100\t1\n\
         a.jpg\tphash\t{}\t\t1\n\
         broken.jpg\tpdq\t\t\t\n\
         dir/b c.png\tpdq\t{}\t75\t6\n",
        n[0], s[0], n[1]
    );
    let (report, list) = detect(HashKind::Pdq, &text);
    assert_eq!(report.format, Some(InputFormat::Hashsieve));
    assert_eq!((report.added, report.skipped), (2, 2));
    let r = rows(&list);
    assert!(r.contains(&row(&n[1], "dir/b c.png", Some(75), &[], None)));
    let (report, list) = detect(HashKind::PHash, &text);
    assert_eq!((report.added, report.skipped), (1, 3));
    assert_eq!(rows(&list)[0].1, "a.jpg");
}

#[test]
fn generic_csv_tsv_jsonl_with_named_columns() {
    let n = needles();
    // python-threatexchange's state cache, with renamed columns.
    let text = format!(
        "indicator,first_descriptor_id,added_on,labels\n{},1001,2020-07-31,tag1 uk:A\n{},1002,2020-08-01,\n",
        n[0], n[1]
    );
    let mut o = ImportOptions::default();
    o.hash_col = Some("indicator".into());
    o.id_col = Some("first_descriptor_id".into());
    o.category_col = Some("labels".into());
    let (report, list) = run(HashKind::Pdq, &text, &o);
    assert_eq!(report.format, Some(InputFormat::Csv));
    let r = rows(&list);
    assert!(r.contains(&row(&n[0], "1001", None, &["tag:tag1", "uk:A"], None)));
    // Without --hash-col the missing column is named.
    let err = refused(&text, "state.csv", &ImportOptions::default());
    assert!(err.to_string().contains("\"hash\""), "{err}");
    // TSV and JSON lines.
    let text = format!("id\thash\tquality\n7\t{}\t88\n", n[3]);
    let (report, list) = detect(HashKind::Pdq, &text);
    assert_eq!(report.format, Some(InputFormat::Tsv));
    assert_eq!(rows(&list), [row(&n[3], "7", Some(88), &[], None)]);
    let text = format!(
        "{{\"hash\": \"{}\", \"id\": 12, \"categories\": [\"uk:A\", \"vics-us:1\"], \"source\": \"s\"}}\n\
         {{\"hash\": \"{}\", \"quality\": 70, \"categories\": \"x y\"}}\n",
        n[4], n[5]
    );
    let (report, list) = detect(HashKind::Pdq, &text);
    assert_eq!(report.format, Some(InputFormat::JsonLines));
    let r = rows(&list);
    assert!(r.contains(&row(&n[4], "12", None, &["uk:A", "vics-us:1"], Some("s"))));
    assert!(r.contains(&row(&n[5], "idx=2", Some(70), &["tag:x", "tag:y"], None)));
}

#[test]
fn detection_covers_every_format_and_refuses_garbage() {
    let n = needles();
    let cases = [
        (n[0].clone(), InputFormat::Hex),
        (format!("hash={}", n[0]), InputFormat::Hex),
        (format!("{},meta", n[0]), InputFormat::Hex),
        (format!("{},100,f.jpg", n[0]), InputFormat::PdqHasher),
        (format!("pdq {}", n[0]), InputFormat::PytxSignals),
        (
            "signal_type,signal_str,collab,category,tags".into(),
            InputFormat::PytxCsv,
        ),
        (
            "path\talgorithm\thash\tquality".into(),
            InputFormat::Hashsieve,
        ),
        ("hash\tid".into(), InputFormat::Tsv),
        ("hash,id".into(), InputFormat::Csv),
        ("{\"hash\":1}".into(), InputFormat::JsonLines),
    ];
    for (line, f) in cases {
        assert_eq!(InputFormat::detect(&line), Some(f), "{line}");
        assert_eq!(f.name().parse::<InputFormat>().unwrap(), f);
    }
    assert_eq!(InputFormat::detect("hello world"), None);
    let mut b = ListBuilder::new(HashKind::Pdq);
    let err = import(
        &b"just some text\n"[..],
        "notes.txt",
        &ImportOptions::default(),
        &mut b,
    )
    .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InputFormat(_)));
    assert!(err.to_string().contains("notes.txt"));
    // An empty input is an empty import.
    let report = import(&b"\n\n"[..], "empty", &ImportOptions::default(), &mut b).unwrap();
    assert_eq!((report.format, report.records), (None, 0));
}

/// Every malformed line: its file and line number, never its hash text.
#[test]
fn errors_name_the_line_and_never_echo_hashes() {
    let n = needles();
    let short = &n[2][..63];
    let bad_char = format!("{}x", &n[3][..63]);
    let text = format!("{}\n{short}\n\n{}\n{bad_char},id\n", n[0], n[1]);
    let err = refused(
        &text,
        "feed.txt",
        &ImportOptions::new().format(InputFormat::Hex),
    );
    let ErrorKind::Parse { count, line, .. } = err.kind() else {
        panic!("{err}")
    };
    assert_eq!((*count, *line), (1, 2), "{err}");
    assert_eq!(err.path(), Some(std::path::Path::new("feed.txt")));
    assert!(err.to_string().starts_with("feed.txt: "), "{err}");
    let msg = err.to_string();
    for secret in [short, &bad_char[..], &n[0], &n[1], &n[2][..16], &n[3][..16]] {
        assert!(!msg.contains(secret), "error echoes hash text: {msg}");
    }

    // With max_errors the bad lines are skipped and listed.
    let report = imported(&text, "feed.txt", &ImportOptions::new().max_errors(2));
    assert_eq!((report.added, report.malformed), (2, 2));
    assert!(report.messages[0].starts_with("feed.txt:2: "));
    assert!(report.messages[1].starts_with("feed.txt:5: "));
    assert!(report.messages[1].contains("position 64"));
    for m in &report.messages {
        assert!(!m.contains(short) && !m.contains(&bad_char));
    }
    // One more than max_errors fails, counting all so far.
    let err = refused(&text, "feed.txt", &ImportOptions::new().max_errors(1));
    assert!(matches!(err.kind(), ErrorKind::Parse { count: 2, .. }));

    // CSV and JSON lines report rows the same way.
    let text = format!(
        "hash,id,quality\n{},a,5\n{short},b,\n{},c,101\n",
        n[0], n[1]
    );
    let report = imported(&text, "in.csv", &ImportOptions::new().max_errors(9));
    assert_eq!(report.malformed, 2);
    assert!(
        report.messages[0].starts_with("in.csv:3: "),
        "{:?}",
        report.messages
    );
    assert!(report.messages[1].starts_with("in.csv:4: ") && report.messages[1].contains("quality"));
    let text = format!(
        "{{\"hash\": \"{short}\"}}\n{{\"hash\": 5}}\n{{bad json\n[1]\n{{\"hash\": \"{}\"}}\n",
        n[0]
    );
    let report = imported(&text, "in.jsonl", &ImportOptions::new().max_errors(9));
    assert_eq!(report.malformed, 4);
    for (i, m) in report.messages.iter().enumerate() {
        assert!(m.starts_with(&format!("in.jsonl:{}: ", i + 1)), "{m}");
        assert!(!m.contains(short));
    }
    // Invalid UTF-8 and over-long lines are malformed lines too.
    let mut text = format!("{}\n", n[0]).into_bytes();
    text.extend_from_slice(b"\xff\xfe\n");
    let err = refused(
        &text[..],
        "bin",
        &ImportOptions::new().format(InputFormat::Hex),
    );
    assert!(
        matches!(err.kind(), ErrorKind::Parse { line: 2, reason, .. } if reason == "line is not valid UTF-8"),
        "{err}"
    );
    assert!(err.to_string().starts_with("bin: "), "{err}");
    // A malformed category is a malformed line, not a crash.
    let text = format!("hash,id,categories\n{},x,bad:scheme:ok :colon\n", n[0]);
    let err = refused(&text, "c.csv", &ImportOptions::default());
    assert!(
        matches!(err.kind(), ErrorKind::Parse { line: 2, .. }),
        "{err}"
    );
    assert_eq!(err.path(), Some(std::path::Path::new("c.csv")));
}

#[test]
fn cr_only_line_ends_read_every_line() {
    let n = needles();
    for (format, lines) in [
        (None, n[..5].to_vec()),
        (
            None,
            n[..5]
                .iter()
                .map(|h| format!("{h},id-{}", &h[..2]))
                .collect(),
        ),
        (None, n[..5].iter().map(|h| format!("pdq {h}")).collect()),
        (
            None,
            std::iter::once("hash,id".to_owned())
                .chain(n[..5].iter().enumerate().map(|(i, h)| format!("{h},e{i}")))
                .collect(),
        ),
        (
            Some(InputFormat::Hex),
            n[..5].iter().map(|h| format!("{h},x")).collect(),
        ),
    ] {
        let text = lines.join("\r") + "\r";
        let mut options = ImportOptions::default();
        options.format = format;
        let (report, list) = run(HashKind::Pdq, &text, &options);
        assert_eq!((report.added, report.malformed), (5, 0), "{lines:?}");
        // Oracle: the same text with LF line ends.
        let (lf_report, lf_list) = run(HashKind::Pdq, &lines.join("\n"), &options);
        assert_eq!(rows(&list), rows(&lf_list));
        assert_eq!(report.format, lf_report.format);
        assert!(rows(&list).iter().all(|r| !r.1.contains('\r')));
    }
    // A CR-only CSV with a bad row names the right line.
    let text = format!("hash,id\r{},a\r{},b\r{},c\r", n[0], &n[1][..10], n[2]);
    let report = imported(&text, "cr.csv", &ImportOptions::new().max_errors(1));
    assert_eq!((report.added, report.malformed), (2, 1));
    assert!(
        report.messages[0].starts_with("cr.csv:3: "),
        "{:?}",
        report.messages
    );
}

#[test]
fn a_reference_file_keeps_its_quality_column_even_when_out_of_range() {
    let n = needles();
    // First line quality 101 (out of range), then a low-quality and a good line.
    let text = format!("{},101,a.jpg\n{},10,b.jpg\n{},90,c.jpg\n", n[0], n[1], n[2]);
    assert_eq!(
        InputFormat::detect(text.lines().next().unwrap()),
        Some(InputFormat::PdqHasher)
    );
    let mut b = ListBuilder::new(HashKind::Pdq).created(0);
    let report = import(
        text.as_bytes(),
        "ref.txt",
        &ImportOptions::new().max_errors(5),
        &mut b,
    )
    .unwrap();
    assert_eq!(report.format, Some(InputFormat::PdqHasher));
    // 101 is malformed, 10 is under the PDQ quality gate (50), 90 is kept.
    assert_eq!((report.malformed, report.rejected, report.added), (1, 1, 1));
    assert!(
        report.messages[0].starts_with("ref.txt:1: ") && report.messages[0].contains("quality")
    );
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    let ids: Vec<String> = rows(&list).into_iter().map(|r| r.1).collect();
    assert_eq!(ids, ["c.jpg"]);
}

#[test]
fn an_unterminated_quote_reports_where_it_began_and_what_it_took_in() {
    let n = needles();
    let text = format!(
        "hash,id\n{},a\n{},\"b\n{},c\n{},d\n{},e\n",
        n[0], n[1], n[2], n[3], n[4]
    );
    // Default: fails at line 3, naming the 3 lines it took in (4..=6). Each line is its own
    // malformed record, so the first failure counts 1.
    let err = refused(&text, "q.csv", &ImportOptions::default());
    let ErrorKind::Parse {
        count,
        line,
        reason,
        ..
    } = err.kind()
    else {
        panic!("{err}")
    };
    assert_eq!((*count, *line), (1, 3), "{err}");
    assert_eq!(err.path(), Some(std::path::Path::new("q.csv")));
    assert!(reason.contains("next 3 line(s), to line 6"), "{reason}");
    // The lines taken in count against max_errors: 3 is not enough, 4 is.
    refused(&text, "q.csv", &ImportOptions::new().max_errors(3));
    let report = imported(&text, "q.csv", &ImportOptions::new().max_errors(4));
    assert_eq!((report.added, report.malformed, report.records), (1, 4, 5));
    // A closed quote spanning lines is a field with a line break (pytx writes multi-line
    // tags; issue 11): read as one record.
    let text = format!("hash,id\n{},\"x\ny\"\n{},z\n", n[0], n[1]);
    let mut b = ListBuilder::new(HashKind::Pdq).min_quality(0);
    let report = import(text.as_bytes(), "m.csv", &ImportOptions::new(), &mut b).unwrap();
    assert_eq!((report.added, report.malformed, report.records), (2, 0, 2));
    let list = HashList::from_bytes(b.to_vec().unwrap()).unwrap();
    assert_eq!(ids_of(&list, &n[0]), ["x\ny"]);
}

#[test]
fn an_input_with_every_record_malformed_fails_whatever_max_errors() {
    let n = needles();
    for (name, format, text) in [
        (
            "h.txt",
            InputFormat::Hex,
            format!("{}\n{}\n", &n[0][..20], &n[1][..30]),
        ),
        (
            "j.jsonl",
            InputFormat::JsonLines,
            "{\"hash\": 1}\n{\"hash\": 2}\n".to_owned(),
        ),
        (
            "c.csv",
            InputFormat::Csv,
            format!("hash,id\n{},a\n", &n[0][..9]),
        ),
    ] {
        let mut b = ListBuilder::new(HashKind::Pdq);
        let options = ImportOptions::new().max_errors(1000).format(format);
        let err = import(text.as_bytes(), name, &options, &mut b).unwrap_err();
        let ErrorKind::Parse { reason, .. } = err.kind() else {
            panic!("{err}")
        };
        assert!(reason.contains("every record"), "{reason}");
        assert_eq!(b.entry_count(), 0);
    }
}

// ---- export -> import round trips ----

fn inputs(wide: bool) -> impl Strategy<Value = Vec<Input>> {
    let hash = if wide {
        entries::hashes_256(vec![[1u64, 2, 3, 4], [4, 3, 2, 1]])
    } else {
        entries::hashes_64(vec![1u64, 2, 1 << 63])
    };
    let cat = (
        prop::sample::select(vec!["uk", "vics-us", "tag"]),
        "[A-Za-z0-9:_-]{1,6}",
    )
        .prop_map(|(s, c)| (s.to_owned(), c));
    // Ids: anything, including commas, quotes, newlines and non-ASCII.
    entries::inputs(
        hash,
        any::<String>().boxed(),
        cat.boxed(),
        prop::option::of("[a-z ,\"]{1,8}").boxed(),
        30,
    )
}

fn build(kind: HashKind, inputs: &[Input]) -> Vec<u8> {
    let mut b = ListBuilder::new(kind)
        .name("rt")
        .created(1)
        .min_quality(0)
        .allow_degenerate(true);
    entries::add_all(&mut b, inputs);
    b.to_vec().unwrap()
}

fn reimport(kind: HashKind, text: &[u8], format: InputFormat) -> Vec<u8> {
    let mut b = ListBuilder::new(kind)
        .name("rt")
        .created(1)
        .min_quality(0)
        .allow_degenerate(true);
    import(text, "export", &ImportOptions::new().format(format), &mut b).unwrap();
    b.to_vec().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// CSV and JSON lines are lossless: re-importing the export rebuilds the same bytes.
    #[test]
    fn csv_and_jsonl_exports_import_to_the_same_list(inputs in inputs(true), wide in any::<bool>()) {
        let kind = if wide { HashKind::Pdq } else { HashKind::PHash };
        let inputs: Vec<Input> = if wide {
            inputs
        } else {
            inputs.into_iter().map(|mut i| {
                if let HashValue::Bits256(h) = i.hash {
                    i.hash = Hash64::from_u64(h.limbs()[0] % 7).into();
                }
                i
            }).collect()
        };
        let bytes = build(kind, &inputs);
        let list = HashList::from_bytes(bytes.clone()).unwrap();
        for (format, input_format) in [(ExportFormat::Csv, InputFormat::Csv), (ExportFormat::JsonLines, InputFormat::JsonLines)] {
            let mut text = Vec::new();
            let lines = export(&list, format, &mut text).unwrap();
            prop_assert_eq!(lines as usize, list.entry_count());
            let again = reimport(kind, &text, input_format);
            prop_assert!(again == bytes, "{} export did not round-trip", format);
            // Detection picks the same format.
            if !text.is_empty() && list.entry_count() > 0 {
                let first = text.split(|&b| b == b'\n').next().unwrap();
                prop_assert_eq!(InputFormat::detect(&String::from_utf8_lossy(first)), Some(input_format));
            }
        }
    }

    /// Hex keeps the hashes.
    #[test]
    fn hex_export_keeps_the_hashes(inputs in inputs(false)) {
        let bytes = build(HashKind::AHash, &inputs);
        let list = HashList::from_bytes(bytes).unwrap();
        let mut text = Vec::new();
        export(&list, ExportFormat::Hex, &mut text).unwrap();
        let again = HashList::from_bytes(reimport(HashKind::AHash, &text, InputFormat::Hex)).unwrap();
        prop_assert_eq!(again.hashes64(), list.hashes64());
        let expected: BTreeSet<String> = inputs.iter().map(|i| i.hash.to_hex()).collect();
        let got: BTreeSet<String> = String::from_utf8(text).unwrap().lines().map(str::to_owned).collect();
        prop_assert_eq!(got, expected);
    }

    /// No input makes an importer panic; errors are always clean.
    #[test]
    fn importers_never_panic(text in ".{0,300}", fmt in 0usize..9) {
        let mut o = ImportOptions::new().max_errors(3);
        o.format = InputFormat::ALL.get(fmt).copied();
        for kind in [HashKind::Pdq, HashKind::PHash] {
            let mut b = ListBuilder::new(kind);
            let _ = import(text.as_bytes(), "fuzz", &o, &mut b);
            // `from_bytes` verifies every byte.
            HashList::from_bytes(b.to_vec().unwrap()).unwrap();
        }
    }
}

#[test]
fn export_formats_parse_and_display() {
    for f in ExportFormat::ALL {
        assert_eq!(f.name().parse::<ExportFormat>().unwrap(), f);
    }
    assert!("xml".parse::<ExportFormat>().is_err());
}
